//! Prometheus metrics for node_exporter's textfile collector: one `.prom`
//! file per resource in the directory `metrics_dir` names, rendered from
//! the resource's state record by every action that changes or observes
//! the VIP (`store::textfile` writes it).

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};

/// The counters, in the order they are printed: (name, help).
pub const COUNTERS: [(&str, &str); 10] = [
    ("starts", "Successful starts."),
    ("stops", "Successful stops."),
    ("monitor_failures", "Monitors that found the VIP failed (any result but running or not running)."),
    ("recoveries", "Successful recover actions."),
    ("announcements_sent", "Announcement rounds sent (gratuitous ARP or unsolicited NA)."),
    ("probes_sent", "Duplicate-address probes sent."),
    ("conflicts", "Times another MAC answered for the VIP (start's probe or the level-20 watch)."),
    ("reachability_failures", "Level-10 monitors whose ping from the VIP nobody answered."),
    ("connections_reset", "TCP connections of the VIP stop reset (kill_connections_on_stop)."),
    ("repairs", "Times the watcher put the VIP back after another process removed it (repair_removed)."),
];

/// What one resource's metrics remember between invocations: everything
/// its textfile shows, kept in the run directory (`store::Kind::Metrics`)
/// and rendered to the textfile, never read back from it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// By the names of `COUNTERS`.
    pub counters: BTreeMap<String, u64>,
    /// Per action: its last run.
    pub last_actions: BTreeMap<String, LastRun>,
    pub up: Option<bool>,
    pub last_conflict: Option<Conflict>,
    pub start_probe_seconds: Option<f64>,
    pub start_first_announcement_seconds: Option<f64>,
    /// Whether a gateway asked since the last add has not answered yet.
    pub neighbours_unproven: Option<bool>,
    /// From the last add to the last gateway's answer.
    pub neighbours_converged_seconds: Option<f64>,
    pub nic: String,
}

/// How an action last ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct LastRun {
    pub exit_code: u8,
    pub seconds: f64,
    /// When it ended, in seconds since the epoch.
    pub at: f64,
}

/// The last MAC that answered for the VIP from another host, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Conflict {
    pub mac: String,
    pub at: f64,
}

/// A label value written in the exposition format: backslash, quote and
/// newline escaped.
pub struct Escaped<'a>(pub &'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['\\', '"', '\n']) {
            out.write_str(&rest[..at])?;
            out.write_str(match rest.as_bytes()[at] {
                b'\\' => "\\\\",
                b'"' => "\\\"",
                _ => "\\n",
            })?;
            rest = &rest[at + 1..];
        }
        out.write_str(rest)
    }
}

/// A textfile being written: families, each declared before its samples,
/// every sample with the VIP's labels.
struct Exposition {
    out: String,
    labels: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP ocf_ipaddr_{name} {help}\n# TYPE ocf_ipaddr_{name} {kind}");
    }

    /// A sample with one more label (`("", "")` for none).
    fn sample(&mut self, name: &str, (label, value): (&str, &str), sample: impl fmt::Display) {
        let _ = match label {
            "" => writeln!(self.out, "ocf_ipaddr_{name}{{{}}} {sample}", self.labels),
            _ => writeln!(
                self.out,
                "ocf_ipaddr_{name}{{{},{label}=\"{}\"}} {sample}",
                self.labels,
                Escaped(value)
            ),
        };
    }

    /// A family of one sample, or none when there is no value.
    fn single(&mut self, name: &str, kind: &str, help: &str, sample: Option<impl fmt::Display>) {
        if let Some(sample) = sample {
            self.family(name, kind, help);
            self.sample(name, ("", ""), sample);
        }
    }

    /// A family with one sample per action, or none when no action ran.
    fn per_action(&mut self, state: &State, name: &str, help: &str, pick: fn(&LastRun) -> Value) {
        if state.last_actions.is_empty() {
            return;
        }
        self.family(name, "gauge", help);
        for (action, last) in &state.last_actions {
            self.sample(name, ("action", action), pick(last));
        }
    }
}

/// A sample's value as printed: a whole number or seconds to `digits`.
enum Value {
    Whole(u64),
    Seconds(f64, usize),
}

impl fmt::Display for Value {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Value::Whole(n) => write!(out, "{n}"),
            Value::Seconds(s, digits) => write!(out, "{s:.digits$}"),
        }
    }
}

/// The textfile for one resource.
pub fn render(resource: &str, ip: &str, state: &State) -> String {
    let labels =
        format!("resource=\"{}\",ip=\"{}\",nic=\"{}\"", Escaped(resource), Escaped(ip), Escaped(&state.nic));
    let mut file = Exposition { out: String::with_capacity(4096), labels };
    file.single(
        "up",
        "gauge",
        "Whether the VIP was running when an action last looked (1) or not (0).",
        state.up.map(u8::from),
    );
    file.per_action(state, "last_action_exit_code", "OCF exit code of the last run of each action.", |v| {
        Value::Whole(v.exit_code.into())
    });
    file.per_action(
        state,
        "last_action_duration_seconds",
        "How long the last run of each action took.",
        |v| Value::Seconds(v.seconds, 6),
    );
    file.per_action(
        state,
        "last_action_timestamp_seconds",
        "When the last run of each action ended, in seconds since the epoch.",
        |v| Value::Seconds(v.at, 3),
    );
    for (name, help) in COUNTERS {
        let total = format!("{name}_total");
        file.single(&total, "counter", help, Some(state.counters.get(name).copied().unwrap_or(0)));
    }
    if let Some(conflict) = &state.last_conflict {
        let name = "last_conflict_info";
        file.family(name, "gauge", "The MAC that last answered for the VIP from another host.");
        file.sample(name, ("mac", &conflict.mac), 1);
        file.single(
            "last_conflict_timestamp_seconds",
            "gauge",
            "When another MAC last answered for the VIP, in seconds since the epoch.",
            Some(Value::Seconds(conflict.at, 3)),
        );
    }
    file.single(
        "last_start_probe_seconds",
        "gauge",
        "How long the last start probed for a duplicate address.",
        state.start_probe_seconds.map(|s| Value::Seconds(s, 6)),
    );
    file.single(
        "last_start_first_announcement_seconds",
        "gauge",
        "Time from the last start's beginning to its first announcement.",
        state.start_first_announcement_seconds.map(|s| Value::Seconds(s, 6)),
    );
    file.single(
        "neighbours_unproven",
        "gauge",
        "1 while a gateway asked from the VIP since it was last added has not answered it.",
        state.neighbours_unproven.map(u8::from),
    );
    file.single(
        "neighbours_converged_seconds",
        "gauge",
        "Time from the VIP's last add until every gateway asked had answered it.",
        state.neighbours_converged_seconds.map(|s| Value::Seconds(s, 6)),
    );
    file.out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        let mut state = State { up: Some(true), nic: "eth0".into(), ..State::default() };
        for (n, (name, _)) in COUNTERS.iter().enumerate() {
            state.counters.insert(name.to_string(), n as u64 * 3);
        }
        state.counters.insert("starts".into(), 3);
        state
            .last_actions
            .insert("monitor".into(), LastRun { exit_code: 0, seconds: 0.0012, at: 1_700_000_000.5 });
        state.last_conflict = Some(Conflict { mac: "02:00:00:00:00:99".into(), at: 1_700_000_001.0 });
        state.start_probe_seconds = Some(0.015);
        state
    }

    #[test]
    fn the_state_record_reads_back_as_written() {
        let text = serde_json::to_string(&state()).unwrap();
        assert_eq!(serde_json::from_str::<State>(&text).unwrap(), state());
    }

    #[test]
    fn the_textfile_names_every_series_with_its_labels() {
        let text = render("vip:1", "192.0.2.50", &state());
        assert!(
            text.contains("ocf_ipaddr_up{resource=\"vip:1\",ip=\"192.0.2.50\",nic=\"eth0\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("ocf_ipaddr_starts_total{resource=\"vip:1\",ip=\"192.0.2.50\",nic=\"eth0\"} 3\n")
        );
        assert!(
            text.contains("ocf_ipaddr_stops_total{resource=\"vip:1\",ip=\"192.0.2.50\",nic=\"eth0\"} 3\n")
        );
        let bare = render("vip:1", "192.0.2.50", &State::default());
        assert!(bare.contains("ocf_ipaddr_stops_total{resource=\"vip:1\",ip=\"192.0.2.50\",nic=\"\"} 0\n"));
        assert!(text.contains(",action=\"monitor\"} 0\n"));
        assert!(text.contains("ocf_ipaddr_last_conflict_info{resource=\"vip:1\",ip=\"192.0.2.50\",nic=\"eth0\",mac=\"02:00:00:00:00:99\"} 1\n"));
        assert!(!text.contains("first_announcement"), "no sample, no family");
        // Every sample line belongs to a family declared just before it.
        let mut declared = String::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                declared = rest.split(' ').next().unwrap().to_string();
            } else if !line.starts_with('#') {
                assert!(line.starts_with(&format!("{declared}{{")), "{line} outside {declared}");
            }
        }
    }

    #[test]
    fn label_values_are_escaped() {
        let text = render("a\"b\\c\nd", "192.0.2.50", &State::default());
        assert!(text.contains("resource=\"a\\\"b\\\\c\\nd\""), "{text}");
    }
}
