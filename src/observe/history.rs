//! The event history of one VIP: a bounded file in the run directory, one
//! line per event (`<unix seconds> <event> <detail>`), oldest dropped.
//! Written only when something happens, so a quiet monitor costs nothing.

use crate::rundir::RunDir;
use std::fmt::Write as _;
use std::io;

/// How many events a VIP's history keeps.
pub const KEEP: usize = 300;
/// The longest a history file may grow before it is trimmed back.
pub const MAX_BYTES: u64 = 64 * 1024;

/// The names of the reachability events, which decide whether a check's
/// result is news.
pub const REACHABILITY_LOST: &str = "reachability-lost";
pub const REACHABILITY_REGAINED: &str = "reachability-regained";

/// What happened to a VIP, as the history and `explain` show it.
#[derive(Debug, Clone, PartialEq, Eq)]
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
            Event::ReachabilityLost { .. } => REACHABILITY_LOST,
            Event::ReachabilityRegained => REACHABILITY_REGAINED,
        }
    }

    pub fn detail(&self) -> String {
        match self {
            Event::Started { nic } => format!("on {nic}"),
            Event::MovedAway { to } => format!("now on {to}"),
            Event::ConflictSeen { mac } => format!("claimed by {mac}"),
            Event::Announced { rounds } => format!("{rounds} rounds"),
            Event::ReachabilityLost { detail } => detail.clone(),
            Event::Stopped | Event::Vanished | Event::Recovered | Event::ReachabilityRegained => {
                String::new()
            }
        }
    }
}

/// One line of a history as read back.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub time: f64,
    pub event: String,
    pub detail: String,
}

/// One line: time, event name, detail on one line (control characters
/// would forge lines, so they become spaces).
pub fn line(time: f64, event: &Event) -> String {
    let detail: String = event.detail().chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let mut out = format!("{time:.3} {}", event.name());
    if !detail.is_empty() {
        let _ = write!(out, " {detail}");
    }
    out
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

pub fn parse(text: &str) -> Vec<Entry> {
    text.lines()
        .filter_map(|l| {
            let mut parts = l.splitn(3, ' ');
            let time = parts.next()?.parse().ok()?;
            let event = parts.next()?.to_string();
            Some(Entry { time, event, detail: parts.next().unwrap_or("").to_string() })
        })
        .collect()
}

/// Appends `events` (with their times) to the history in `file`, keeping the last `KEEP`.
pub fn append(run_dir: &RunDir, file: &str, events: &[(f64, Event)]) -> io::Result<()> {
    let old = run_dir.read_capped(file, MAX_BYTES).unwrap_or(None).unwrap_or_default();
    let mut lines: Vec<String> = old.lines().map(str::to_string).collect();
    lines.extend(events.iter().map(|(time, event)| line(*time, event)));
    let skip = lines.len().saturating_sub(KEEP);
    let mut text = lines[skip..].join("\n");
    text.push('\n');
    run_dir.write(file, &text)
}

/// The last `n` entries of the history in `file`.
pub fn last(run_dir: &RunDir, file: &str, n: usize) -> Vec<Entry> {
    let text = run_dir.read_capped(file, MAX_BYTES).ok().flatten().unwrap_or_default();
    let entries = parse(&text);
    let skip = entries.len().saturating_sub(n);
    entries[skip..].to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_read_back_and_cannot_be_forged() {
        let forged = Event::ReachabilityLost { detail: "x\n1.0 started on eth9".into() };
        let text =
            format!("{}\n{}\n", line(12.5, &Event::Started { nic: "eth0".into() }), line(13.0, &forged));
        let entries = parse(&text);
        assert_eq!(entries.len(), 2, "{text}");
        assert_eq!(entries[0], Entry { time: 12.5, event: "started".into(), detail: "on eth0".into() });
        assert_eq!(entries[1].event, "reachability-lost");
        assert_eq!(entries[1].detail, "x 1.0 started on eth9");
    }

    #[test]
    fn times_show_as_utc() {
        assert_eq!(utc(0.0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400.0), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_795_997_106.9), "2026-11-30 00:05:06 UTC");
    }

    #[test]
    fn the_history_keeps_the_newest_events() {
        let dir =
            RunDir::new(std::env::temp_dir().join(format!("ocf-ipaddr-history-{}", std::process::id())));
        let batch: Vec<(f64, Event)> = (0..KEEP + 20).map(|i| (i as f64, Event::Stopped)).collect();
        append(&dir, "h", &batch[..10]).unwrap();
        append(&dir, "h", &batch[10..]).unwrap();
        let all = last(&dir, "h", usize::MAX);
        assert_eq!(all.len(), KEEP);
        assert_eq!(all.first().map(|e| e.time), Some(20.0), "the oldest were dropped");
        assert_eq!(last(&dir, "h", 3).iter().map(|e| e.time).collect::<Vec<_>>(), [317.0, 318.0, 319.0]);
        std::fs::remove_dir_all(dir.path()).unwrap();
    }
}
