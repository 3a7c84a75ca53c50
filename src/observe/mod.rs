//! What every VIP went through, with no daemon: an event history in the run
//! directory (always) and Prometheus metrics for node_exporter's textfile
//! collector (when `metrics_dir` names a directory).
//!
//! The layers below report what they did (`count`, `event`, `conflict`, …)
//! into one tally for this process, which runs one action; `finish`
//! records it once the action's result is known. Nothing here ever fails
//! an action: a directory that is full, read-only or missing costs a
//! warning.

pub mod history;
pub mod metrics;

use crate::invocation::{Action, Invocation};
use crate::ocf::{ExitCode, log};
use crate::vip::record::RecordKey;
use history::Event;
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The VIP this process acts on, once its parameters are known.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The VIP's record key, which names its history and lock files.
    pub key: RecordKey,
    pub ip: String,
    pub nic: String,
    pub metrics_dir: Option<PathBuf>,
}

/// What the action did, as the layers below report it.
#[derive(Debug, Default)]
struct Tally {
    identity: Option<Identity>,
    started: Option<Instant>,
    counts: Vec<(&'static str, u64)>,
    events: Vec<(f64, Event)>,
    conflict: Option<String>,
    probe: Option<Duration>,
    first_announcement: Option<Duration>,
}

static TALLY: Mutex<Tally> = Mutex::new(Tally {
    identity: None,
    started: None,
    counts: Vec::new(),
    events: Vec::new(),
    conflict: None,
    probe: None,
    first_announcement: None,
});

fn with_tally(f: impl FnOnce(&mut Tally)) {
    // A poisoned lock only means another thread panicked mid-update; the
    // tally is still usable (and the agent is single-threaded anyway).
    let mut tally = TALLY.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    f(&mut tally);
}

fn now() -> f64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0)
}

/// Marks when the action began (for its duration and the start latencies).
pub fn begin(at: Instant) {
    with_tally(|t| t.started = Some(at));
}

/// Names the VIP; the nic is refined later by `located_on` when known.
pub fn identify(identity: Identity) {
    with_tally(|t| t.identity = Some(identity));
}

/// The interface the VIP is (or was) on.
pub fn located_on(nic: &str) {
    with_tally(|t| {
        if let Some(identity) = &mut t.identity {
            identity.nic = nic.to_string();
        }
    });
}

pub fn count(counter: &'static str, n: u64) {
    with_tally(|t| t.counts.push((counter, n)));
}

pub fn event(event: Event) {
    with_tally(|t| t.events.push((now(), event)));
}

/// Another MAC answered for the VIP.
pub fn conflict(mac: &str) {
    count("conflicts", 1);
    event(Event::ConflictSeen { mac: mac.to_string() });
    with_tally(|t| t.conflict = Some(mac.to_string()));
}

/// Start's duplicate-address probing took `took`.
pub fn start_probe_took(took: Duration) {
    with_tally(|t| t.probe = Some(took));
}

/// The first announcement of this action went out now.
pub fn first_announcement() {
    with_tally(|t| {
        if t.first_announcement.is_none() {
            t.first_announcement = t.started.map(|s| s.elapsed());
        }
    });
}

/// The history file of the VIP `key` names.
pub fn history_file(key: &RecordKey) -> String {
    key.companion("history")
}

/// Records the action's outcome: the events in the history, and the
/// metrics when enabled. Only actions that change or observe the VIP count.
pub fn finish(inv: &Invocation, code: ExitCode) {
    let mut tally = std::mem::take(&mut *TALLY.lock().unwrap_or_else(|poisoned| poisoned.into_inner()));
    let Some(identity) = tally.identity.take() else { return };
    let action = match inv.action {
        Action::Start => "start",
        Action::Stop => "stop",
        Action::Monitor | Action::Status => "monitor",
        Action::Recover => "recover",
        Action::AnnounceWorker => "announce",
        _ => return,
    };
    let mut events = std::mem::take(&mut tally.events);
    let success = code == ExitCode::Success;
    match (inv.action, success) {
        (Action::Start, true) => events.push((now(), Event::Started { nic: identity.nic.clone() })),
        (Action::Stop, true) => events.push((now(), Event::Stopped)),
        (Action::Recover, true) => events.push((now(), Event::Recovered)),
        _ => {}
    }
    let run_dir = inv.run_dir();
    if events.is_empty() && identity.metrics_dir.is_none() {
        return;
    }
    // Instances of one VIP (a monitor racing a stop) take turns.
    let lock = identity.key.companion("observe-lock");
    let _turn = match run_dir.lock(&lock, inv.budget.deadline()) {
        Ok(turn) => turn,
        Err(err) => {
            log::warn(format!("not recording what happened to {}: {err}", identity.ip));
            return;
        }
    };
    if !events.is_empty() {
        if let Err(err) = history::append(&run_dir, &history_file(&identity.key), &events) {
            log::warn(format!(
                "recording the history of {} in {}: {err}",
                identity.ip,
                run_dir.path().display()
            ));
        }
    }
    if let Some(dir) = &identity.metrics_dir {
        if let Err(err) = update_metrics(inv, &identity, action, code, &tally) {
            log::warn(format!("writing the metrics of {} to {}: {err}", identity.ip, dir.display()));
        }
    }
}

/// Adds the tally to what the VIP's textfile in its metrics directory
/// shows and rewrites it (the caller holds the VIP's turn).
fn update_metrics(
    inv: &Invocation,
    identity: &Identity,
    action: &str,
    code: ExitCode,
    tally: &Tally,
) -> std::io::Result<()> {
    let Some(dir) = &identity.metrics_dir else { return Ok(()) };
    let resource = inv.env.instance.clone().unwrap_or_else(|| identity.key.file_name().to_string());
    let file = metrics::file_name(&resource);
    let mut state = metrics::State::parse(&metrics::read_back(dir, &file)?.unwrap_or_default());
    for (name, n) in &tally.counts {
        *state.counters.entry(name).or_insert(0) += n;
    }
    let success = code == ExitCode::Success;
    let counted = match (action, code) {
        ("start", ExitCode::Success) => Some("starts"),
        ("stop", ExitCode::Success) => Some("stops"),
        ("recover", ExitCode::Success) => Some("recoveries"),
        ("monitor", ExitCode::Success | ExitCode::NotRunning) => None,
        ("monitor", _) => Some("monitor_failures"),
        _ => None,
    };
    if let Some(name) = counted {
        *state.counters.entry(name).or_insert(0) += 1;
    }
    if action != "announce" {
        let took = tally.started.map(|s| s.elapsed().as_secs_f64()).unwrap_or(0.0);
        state.last_actions.insert(action.to_string(), (code.code(), took, now()));
        state.up = match (action, code) {
            ("stop", ExitCode::Success) | (_, ExitCode::NotRunning) => Some(false),
            ("start" | "monitor" | "recover", _) => Some(success || code == ExitCode::Degraded),
            _ => state.up,
        };
    }
    if let Some(mac) = &tally.conflict {
        state.last_conflict = Some((mac.clone(), now()));
    }
    if action == "start" && success {
        state.start_probe_seconds = tally.probe.map(|d| d.as_secs_f64());
        state.start_first_announcement_seconds = tally.first_announcement.map(|d| d.as_secs_f64());
    }
    if !identity.nic.is_empty() {
        state.nic = identity.nic.clone();
    }
    metrics::write_atomically(dir, &file, &metrics::render(&resource, &identity.ip, &state))
}
