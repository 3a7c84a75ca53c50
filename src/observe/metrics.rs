//! Prometheus metrics for node_exporter's textfile collector: one `.prom`
//! file per resource in the directory `metrics_dir` names, rewritten
//! atomically (a hidden temporary file, then a rename) by every action
//! that changes or observes the VIP. Counters persist across invocations
//! in a small state file in the run directory.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write as _};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The counters, in the order they are printed: (name, help).
pub const COUNTERS: [(&str, &str); 8] = [
    ("starts", "Successful starts."),
    ("stops", "Successful stops."),
    ("monitor_failures", "Monitors that found the VIP failed (any result but running or not running)."),
    ("recoveries", "Successful recover actions."),
    ("announcements_sent", "Announcement rounds sent (gratuitous ARP or unsolicited NA)."),
    ("probes_sent", "Duplicate-address probes sent."),
    ("conflicts", "Times another MAC answered for the VIP (start's probe or the level-20 watch)."),
    ("reachability_failures", "Level-10 monitors whose ping from the VIP nobody answered."),
];

/// What one VIP's metrics remember between invocations.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    pub counters: BTreeMap<String, u64>,
    /// Per action: (exit code, duration in seconds, unix time).
    pub last_actions: BTreeMap<String, (u8, f64, f64)>,
    pub up: Option<bool>,
    pub last_conflict: Option<(String, f64)>,
    pub start_probe_seconds: Option<f64>,
    pub start_first_announcement_seconds: Option<f64>,
    pub nic: String,
}

impl State {
    pub fn encode(&self) -> String {
        let mut out = String::new();
        for (name, value) in &self.counters {
            let _ = writeln!(out, "counter {name} {value}");
        }
        for (action, (code, took, at)) in &self.last_actions {
            let _ = writeln!(out, "action {action} {code} {took} {at}");
        }
        if let Some(up) = self.up {
            let _ = writeln!(out, "up {}", u8::from(up));
        }
        if let Some((mac, at)) = &self.last_conflict {
            let _ = writeln!(out, "conflict {mac} {at}");
        }
        if let Some(s) = self.start_probe_seconds {
            let _ = writeln!(out, "probe {s}");
        }
        if let Some(s) = self.start_first_announcement_seconds {
            let _ = writeln!(out, "announce {s}");
        }
        if !self.nic.is_empty() {
            let _ = writeln!(out, "nic {}", self.nic);
        }
        out
    }

    /// Reads a state back; lines that do not parse are dropped (a counter
    /// restarting is something Prometheus handles, a failed action is not).
    pub fn decode(text: &str) -> State {
        let mut state = State::default();
        for line in text.lines() {
            let fields: Vec<&str> = line.split(' ').collect();
            match fields.as_slice() {
                ["counter", name, value] => {
                    if let Ok(v) = value.parse() {
                        state.counters.insert((*name).to_string(), v);
                    }
                }
                ["action", action, code, took, at] => {
                    if let (Ok(c), Ok(t), Ok(a)) = (code.parse(), took.parse(), at.parse()) {
                        state.last_actions.insert((*action).to_string(), (c, t, a));
                    }
                }
                ["up", up] => state.up = Some(*up == "1"),
                ["conflict", mac, at] => {
                    state.last_conflict = at.parse().ok().map(|a| ((*mac).to_string(), a))
                }
                ["probe", s] => state.start_probe_seconds = s.parse().ok(),
                ["announce", s] => state.start_first_announcement_seconds = s.parse().ok(),
                ["nic", nic] => state.nic = (*nic).to_string(),
                _ => {}
            }
        }
        state
    }
}

/// A label value in the exposition format: backslash, quote and newline escaped.
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

/// The textfile for one resource.
pub fn render(resource: &str, ip: &str, state: &State) -> String {
    let labels =
        format!("resource=\"{}\",ip=\"{}\",nic=\"{}\"", escape(resource), escape(ip), escape(&state.nic));
    let mut out = String::new();
    let mut family = |name: &str, kind: &str, help: &str, samples: &[(String, String)]| {
        if samples.is_empty() {
            return;
        }
        let _ = writeln!(out, "# HELP ocf_ipaddr_{name} {help}\n# TYPE ocf_ipaddr_{name} {kind}");
        for (extra, value) in samples {
            let _ = writeln!(out, "ocf_ipaddr_{name}{{{labels}{extra}}} {value}");
        }
    };
    let up: Vec<(String, String)> =
        state.up.map(|up| (String::new(), u8::from(up).to_string())).into_iter().collect();
    family("up", "gauge", "Whether the VIP was running when an action last looked (1) or not (0).", &up);
    let per_action = |pick: fn(&(u8, f64, f64)) -> String| -> Vec<(String, String)> {
        state
            .last_actions
            .iter()
            .map(|(action, v)| (format!(",action=\"{}\"", escape(action)), pick(v)))
            .collect()
    };
    family(
        "last_action_exit_code",
        "gauge",
        "OCF exit code of the last run of each action.",
        &per_action(|v| v.0.to_string()),
    );
    family(
        "last_action_duration_seconds",
        "gauge",
        "How long the last run of each action took.",
        &per_action(|v| format!("{:.6}", v.1)),
    );
    family(
        "last_action_timestamp_seconds",
        "gauge",
        "When the last run of each action ended, in seconds since the epoch.",
        &per_action(|v| format!("{:.3}", v.2)),
    );
    for (name, help) in COUNTERS {
        let value = state.counters.get(name).copied().unwrap_or(0);
        family(&format!("{name}_total"), "counter", help, &[(String::new(), value.to_string())]);
    }
    if let Some((mac, at)) = &state.last_conflict {
        family(
            "last_conflict_info",
            "gauge",
            "The MAC that last answered for the VIP from another host.",
            &[(format!(",mac=\"{}\"", escape(mac)), "1".into())],
        );
        family(
            "last_conflict_timestamp_seconds",
            "gauge",
            "When another MAC last answered for the VIP, in seconds since the epoch.",
            &[(String::new(), format!("{at:.3}"))],
        );
    }
    let latency = |v: Option<f64>| -> Vec<(String, String)> {
        v.map(|s| (String::new(), format!("{s:.6}"))).into_iter().collect()
    };
    family(
        "last_start_probe_seconds",
        "gauge",
        "How long the last start probed for a duplicate address.",
        &latency(state.start_probe_seconds),
    );
    family(
        "last_start_first_announcement_seconds",
        "gauge",
        "Time from the last start's beginning to its first announcement.",
        &latency(state.start_first_announcement_seconds),
    );
    out
}

/// The file name of a resource's textfile: node_exporter reads `*.prom`.
pub fn file_name(resource: &str) -> String {
    let safe: String = resource
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .collect();
    format!("ocf_ipaddr_{safe}.prom")
}

/// Writes `text` as `dir/name` atomically, readable by node_exporter's
/// user: a hidden temporary file (not `*.prom`, so never collected half
/// written) renamed into place.
pub fn write_atomically(dir: &Path, name: &str, text: &str) -> io::Result<()> {
    let temp = dir.join(format!(".{name}.{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(&temp)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .and_then(|()| std::fs::rename(&temp, dir.join(name)));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        let mut state = State { up: Some(true), nic: "eth0".into(), ..State::default() };
        state.counters.insert("starts".into(), 3);
        state.counters.insert("conflicts".into(), 1);
        state.last_actions.insert("monitor".into(), (0, 0.0012, 1_700_000_000.5));
        state.last_conflict = Some(("02:00:00:00:00:99".into(), 1_700_000_001.0));
        state.start_probe_seconds = Some(0.015);
        state
    }

    #[test]
    fn state_round_trips() {
        assert_eq!(State::decode(&state().encode()), state());
        assert_eq!(State::decode("counter starts lots\nup 1\n").counters.get("starts"), None);
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
            text.contains("ocf_ipaddr_stops_total{resource=\"vip:1\",ip=\"192.0.2.50\",nic=\"eth0\"} 0\n")
        );
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
    fn label_values_and_file_names_are_safe() {
        let text = render("a\"b\\c\nd", "192.0.2.50", &State::default());
        assert!(text.contains("resource=\"a\\\"b\\\\c\\nd\""), "{text}");
        assert_eq!(file_name("vip:1"), "ocf_ipaddr_vip_1.prom");
        assert_eq!(file_name("../x"), "ocf_ipaddr____x.prom");
    }
}
