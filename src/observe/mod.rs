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
use crate::store::{Kind, ResourceKey, RunDir, legacy, textfile};
use history::{Entry, Event};
use metrics::{Conflict, LastRun};
use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The VIP this process acts on, once its parameters are known.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The resource's key, which names its files.
    pub key: ResourceKey,
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
    events: Vec<Entry>,
    conflict: Option<String>,
    probe: Option<Duration>,
    first_announcement: Option<Duration>,
    neighbours: Option<Neighbours>,
}

/// What the action learnt of the gateways asked from the VIP.
#[derive(Debug, Clone, Copy)]
enum Neighbours {
    /// Asked afresh: none has answered yet.
    Unproven,
    /// Every one answered, this long after the add.
    Converged(Duration),
}

static TALLY: Mutex<Tally> = Mutex::new(Tally {
    identity: None,
    started: None,
    counts: Vec::new(),
    events: Vec::new(),
    conflict: None,
    probe: None,
    first_announcement: None,
    neighbours: None,
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
    with_tally(|t| t.events.push(Entry { time: now(), event }));
}

/// Stop reset `n` TCP connections of the VIP: counted, and one history
/// event per action whatever the number of passes.
pub fn connections_reset(n: u64) {
    count("connections_reset", n);
    with_tally(|t| {
        let earlier = t.events.iter_mut().find_map(|entry| match &mut entry.event {
            Event::ConnectionsReset { count } => Some(count),
            _ => None,
        });
        match earlier {
            Some(count) => *count += n,
            None => t.events.push(Entry { time: now(), event: Event::ConnectionsReset { count: n } }),
        }
    });
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

/// The VIP was added: the gateways asked have not answered yet.
pub fn convergence_unproven() {
    with_tally(|t| t.neighbours = Some(Neighbours::Unproven));
}

/// Every gateway asked (`gateways`) answered the VIP, `after` its add.
pub fn converged(after: Duration, gateways: String) {
    let after_ms = u64::try_from(after.as_millis()).unwrap_or(u64::MAX);
    event(Event::Converged { after_ms, gateways });
    with_tally(|t| t.neighbours = Some(Neighbours::Converged(after)));
}

/// The history file of the resource `key` names.
pub fn history_file(key: &ResourceKey) -> String {
    key.file(Kind::History)
}

/// Whether the last reachability check that changed anything found the
/// network gone: a check's result is news only when it differs.
pub fn reachability_was_lost(run_dir: &RunDir, key: &ResourceKey) -> bool {
    history::last(run_dir, &history_file(key), history::KEEP)
        .iter()
        .rev()
        .find_map(|entry| match entry.event {
            Event::ReachabilityLost { .. } => Some(true),
            Event::ReachabilityRegained => Some(false),
            _ => None,
        })
        .unwrap_or(false)
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
        Action::Repair => "repair",
        _ => return,
    };
    let mut events = std::mem::take(&mut tally.events);
    let success = code == ExitCode::Success;
    let ended = match (inv.action, success) {
        (Action::Start, true) => Some(Event::Started { nic: identity.nic.clone() }),
        (Action::Stop, true) => Some(Event::Stopped),
        (Action::Recover, true) => Some(Event::Recovered),
        _ => None,
    };
    events.extend(ended.map(|event| Entry { time: now(), event }));
    let run_dir = inv.run_dir();
    if events.is_empty() && identity.metrics_dir.is_none() {
        return;
    }
    // Instances of one VIP (a monitor racing a stop) take turns.
    let lock = identity.key.file(Kind::ObserveLock);
    let _turn = match run_dir.lock(&lock, inv.budget.deadline()) {
        Ok(turn) => turn,
        Err(err) => {
            log::warn(format!("not recording what happened to {}: {err}", identity.ip));
            return;
        }
    };
    if !events.is_empty() {
        if let Err(err) = history::append(&run_dir, &history_file(&identity.key), events) {
            log::warn(format!("recording the history of {}: {err}", identity.ip));
        }
    }
    if let Some(dir) = &identity.metrics_dir {
        if let Err(err) = update_metrics(inv, &run_dir, &identity, action, code, &tally) {
            log::warn(format!("writing the metrics of {} to {}: {err}", identity.ip, dir.display()));
        }
    }
}

/// Adds the tally to the resource's metrics state and renders its textfile
/// in its metrics directory (the caller holds the resource's turn).
fn update_metrics(
    inv: &Invocation,
    run_dir: &RunDir,
    identity: &Identity,
    action: &str,
    code: ExitCode,
    tally: &Tally,
) -> std::io::Result<()> {
    let Some(dir) = &identity.metrics_dir else { return Ok(()) };
    // By hand there is no resource name: the record's file name stands in.
    let resource = inv.env.instance.clone().unwrap_or_else(|| identity.key.file(Kind::Record));
    let (state_file, loaded) =
        run_dir.load_rewritable::<metrics::State>(&identity.key.file(Kind::Metrics))?;
    let mut state = match loaded {
        Ok(Some(state)) => state,
        // The first write under this layout: the previous release's
        // textfile, where its name was spelled otherwise, goes, or
        // node_exporter would serve its series twice.
        Ok(None) => {
            let previous = legacy::textfile(&resource);
            if previous != textfile::name(&resource) {
                textfile::remove_if_of(dir, &previous, &metrics::Escaped(&resource).to_string());
            }
            metrics::State::default()
        }
        Err(err) => {
            log::warn(format!("starting the metrics of {} afresh: {err}", identity.ip));
            metrics::State::default()
        }
    };
    for (name, n) in &tally.counts {
        *state.counters.entry(name.to_string()).or_insert(0) += n;
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
        *state.counters.entry(name.to_string()).or_insert(0) += 1;
    }
    if action != "announce" {
        let seconds = tally.started.map(|s| s.elapsed().as_secs_f64()).unwrap_or(0.0);
        state.last_actions.insert(action.to_string(), LastRun { exit_code: code.code(), seconds, at: now() });
        state.up = match (action, code) {
            ("stop", ExitCode::Success) | (_, ExitCode::NotRunning) => Some(false),
            ("start" | "monitor" | "recover", _) => Some(success || code == ExitCode::Degraded),
            _ => state.up,
        };
    }
    if let Some(mac) = &tally.conflict {
        state.last_conflict = Some(Conflict { mac: mac.clone(), at: now() });
    }
    if action == "start" && success {
        state.start_probe_seconds = tally.probe.map(|d| d.as_secs_f64());
        state.start_first_announcement_seconds = tally.first_announcement.map(|d| d.as_secs_f64());
    }
    match tally.neighbours {
        Some(Neighbours::Unproven) => {
            state.neighbours_unproven = Some(true);
            state.neighbours_converged_seconds = None;
        }
        Some(Neighbours::Converged(after)) => {
            state.neighbours_unproven = Some(false);
            state.neighbours_converged_seconds = Some(after.as_secs_f64());
        }
        None => {}
    }
    if !identity.nic.is_empty() {
        state.nic = identity.nic.clone();
    }
    state_file.save(&state)?;
    textfile::write(dir, &textfile::name(&resource), &metrics::render(&resource, &identity.ip, &state))
}
