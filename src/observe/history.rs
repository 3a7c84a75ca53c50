//! The event history of one VIP: a bounded file in the run directory, one
//! JSON object per line (time, event and its fields), oldest dropped.
//! Written only when something happens, so a quiet monitor costs nothing.

use crate::store::RunDir;
use serde::{Deserialize, Serialize};
use std::io;

/// How many events a VIP's history keeps.
pub const KEEP: usize = 300;
/// The longest a history file may grow before it is trimmed back.
pub const MAX_BYTES: u64 = 64 * 1024;

/// What happened to a VIP, as the history and `explain` show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum Event {
    Started {
        nic: String,
    },
    Stopped,
    /// Found on another interface of this node than start put it on.
    MovedAway {
        to: String,
    },
    /// Gone from this node while start's record said it was here.
    Vanished,
    ConflictSeen {
        mac: String,
    },
    Recovered,
    Announced {
        rounds: u64,
    },
    ReachabilityLost {
        detail: String,
    },
    ReachabilityRegained,
    /// Stop reset the VIP's TCP connections (`kill_connections_on_stop`).
    ConnectionsReset {
        count: u64,
    },
    /// Every gateway asked from the VIP answered it, `after_ms` after the add.
    Converged {
        after_ms: u64,
        gateways: String,
    },
    /// The announcement window ended with these gateways silent.
    Unconverged {
        silent: String,
    },
    /// Something the resource set drifted since start (what, and whether
    /// it was put back).
    Drifted {
        detail: String,
    },
    /// Another process removed the address and the watcher put it back.
    Repaired {
        by: String,
        after_ms: u64,
    },
    /// Another process removed the address and the watcher left it so.
    NotRepaired {
        by: String,
        why: String,
    },
    /// `announce_rate_limit` cut the start's probes or deferred its first
    /// announcement past the start (a burst of VIPs on one interface).
    Paced {
        detail: String,
    },
}

impl Event {
    pub fn name(&self) -> &'static str {
        match self {
            Event::Started { .. } => "started",
            Event::Stopped => "stopped",
            Event::MovedAway { .. } => "moved-away",
            Event::Vanished => "vanished",
            Event::ConflictSeen { .. } => "conflict-seen",
            Event::Recovered => "recovered",
            Event::Announced { .. } => "announced",
            Event::ReachabilityLost { .. } => "reachability-lost",
            Event::ReachabilityRegained => "reachability-regained",
            Event::ConnectionsReset { .. } => "connections-reset",
            Event::Converged { .. } => "converged",
            Event::Unconverged { .. } => "unconverged",
            Event::Drifted { .. } => "drifted",
            Event::Repaired { .. } => "repaired",
            Event::NotRepaired { .. } => "not-repaired",
            Event::Paced { .. } => "paced",
        }
    }

    pub fn detail(&self) -> String {
        match self {
            Event::Started { nic } => format!("on {nic}"),
            Event::MovedAway { to } => format!("now on {to}"),
            Event::ConflictSeen { mac } => format!("claimed by {mac}"),
            Event::Announced { rounds } => format!("{rounds} rounds"),
            Event::ReachabilityLost { detail } | Event::Drifted { detail } => detail.clone(),
            Event::ConnectionsReset { count } => format!("{count} TCP connections"),
            Event::Converged { after_ms, gateways } => {
                format!("neighbours converged after {after_ms} ms ({gateways} answered the VIP)")
            }
            Event::Unconverged { silent } => {
                format!("no answer from {silent} within the announcement window")
            }
            Event::Repaired { by, after_ms } => format!("removed by {by}, put back after {after_ms} ms"),
            Event::NotRepaired { by, why } => format!("removed by {by}, not put back: {why}"),
            Event::Paced { detail } => detail.clone(),
            Event::Stopped | Event::Vanished | Event::Recovered | Event::ReachabilityRegained => {
                String::new()
            }
        }
    }
}

/// One event of a history, with its time (seconds since the epoch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub time: f64,
    #[serde(flatten)]
    pub event: Event,
}

/// `time` (seconds since the epoch) as `YYYY-MM-DD HH:MM:SS UTC`.
pub fn utc(time: f64) -> String {
    let secs = time.max(0.0) as i64;
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Howard Hinnant's days-to-civil algorithm.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02} {:02}:{:02}:{:02} UTC", rest / 3600, rest % 3600 / 60, rest % 60)
}

/// The entries of a history's text; a line that is no entry is skipped.
fn parse(text: &str) -> Vec<Entry> {
    text.lines().filter_map(|line| serde_json::from_str(line).ok()).collect()
}

/// Writes `entries`, the newest `KEEP`, as the history in `file`.
pub fn write(run_dir: &RunDir, file: &str, entries: &[Entry]) -> io::Result<()> {
    let skip = entries.len().saturating_sub(KEEP);
    let mut text = String::new();
    for entry in &entries[skip..] {
        text.push_str(&serde_json::to_string(entry).map_err(io::Error::other)?);
        text.push('\n');
    }
    run_dir.write(file, &text)
}

/// Appends `events` (with their times) to the history in `file`, keeping the last `KEEP`.
pub fn append(run_dir: &RunDir, file: &str, events: Vec<Entry>) -> io::Result<()> {
    let mut entries = last(run_dir, file, usize::MAX);
    entries.extend(events);
    write(run_dir, file, &entries)
}

/// The last `n` entries of the history in `file`.
pub fn last(run_dir: &RunDir, file: &str, n: usize) -> Vec<Entry> {
    let text = run_dir.read_capped(file, MAX_BYTES).ok().flatten().unwrap_or_default();
    let entries = parse(&text);
    let skip = entries.len().saturating_sub(n);
    entries[skip..].to_vec()
}

/// The entries of a history the previous release kept as text, one line an
/// event (`<time> <event> <detail>`).
pub fn previous(text: &str) -> Vec<Entry> {
    let event = |name: &str, detail: &str| {
        let after = |prefix: &str| detail.strip_prefix(prefix).unwrap_or(detail).to_string();
        Some(match name {
            "started" => Event::Started { nic: after("on ") },
            "stopped" => Event::Stopped,
            "moved-away" => Event::MovedAway { to: after("now on ") },
            "vanished" => Event::Vanished,
            "conflict-seen" => Event::ConflictSeen { mac: after("claimed by ") },
            "recovered" => Event::Recovered,
            "announced" => Event::Announced { rounds: after("").trim_end_matches(" rounds").parse().ok()? },
            "reachability-lost" => Event::ReachabilityLost { detail: detail.to_string() },
            "reachability-regained" => Event::ReachabilityRegained,
            _ => return None,
        })
    };
    text.lines()
        .filter_map(|line| {
            let mut parts = line.splitn(3, ' ');
            let time = parts.next()?.parse().ok()?;
            let name = parts.next()?;
            Some(Entry { time, event: event(name, parts.next().unwrap_or(""))? })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(tag: &str) -> RunDir {
        RunDir::new(std::env::temp_dir().join(format!("ocf-ipaddr-history-{tag}-{}", std::process::id())))
    }

    #[test]
    fn entries_read_back_and_cannot_be_forged() {
        let dir = dir("forge");
        let forged = Event::ReachabilityLost {
            detail: "x\n{\"time\":1.0,\"event\":\"started\",\"nic\":\"eth9\"}".into(),
        };
        let entries = vec![
            Entry { time: 12.5, event: Event::Started { nic: "eth0".into() } },
            Entry { time: 13.0, event: forged.clone() },
        ];
        append(&dir, "h", entries.clone()).unwrap();
        assert_eq!(last(&dir, "h", usize::MAX), entries, "a detail with a line break stays one entry");
        std::fs::remove_dir_all(dir.path()).unwrap();
    }

    #[test]
    fn the_previous_releases_lines_read_as_events() {
        let text = "12.500 started on eth0\n13.000 announced 5 rounds\n14.000 reachability-lost nobody answered\n\
                    15.000 conflict-seen claimed by 02:00:00:00:00:99\nrubbish\n16.000 unknown-event x\n";
        assert_eq!(
            previous(text),
            vec![
                Entry { time: 12.5, event: Event::Started { nic: "eth0".into() } },
                Entry { time: 13.0, event: Event::Announced { rounds: 5 } },
                Entry { time: 14.0, event: Event::ReachabilityLost { detail: "nobody answered".into() } },
                Entry { time: 15.0, event: Event::ConflictSeen { mac: "02:00:00:00:00:99".into() } },
            ]
        );
    }

    #[test]
    fn times_show_as_utc() {
        assert_eq!(utc(0.0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400.0), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_795_997_106.9), "2026-11-30 00:05:06 UTC");
    }

    #[test]
    fn the_history_keeps_the_newest_events() {
        let dir = dir("keep");
        let batch: Vec<Entry> =
            (0..KEEP + 20).map(|i| Entry { time: i as f64, event: Event::Stopped }).collect();
        append(&dir, "h", batch[..10].to_vec()).unwrap();
        append(&dir, "h", batch[10..].to_vec()).unwrap();
        let all = last(&dir, "h", usize::MAX);
        assert_eq!(all.len(), KEEP);
        assert_eq!(all.first().map(|e| e.time), Some(20.0), "the oldest were dropped");
        assert_eq!(last(&dir, "h", 3).iter().map(|e| e.time).collect::<Vec<_>>(), [317.0, 318.0, 319.0]);
        std::fs::remove_dir_all(dir.path()).unwrap();
    }
}
