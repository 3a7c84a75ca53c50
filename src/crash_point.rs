//! Crash points: every effect the agent has on the node (a netlink change,
//! a setting written, a file written, renamed or removed, a connection
//! reset, a program run, a worker spawned) first passes through `before`.
//! In a test build (`--features crash-points`) the agent can be stopped
//! dead there, right before its k-th effect, so that the tests can kill an
//! action at every point it can be killed instead of at random instants
//! (tests/crash_points.rs). The agent's state lives in the kernel and in
//! files written by rename, so "killed before effect k, for every k" is the
//! whole set of its crashes.
//!
//! `OCF_IPADDR_CRASH_AT=<action>:<k>` arms it: the process running
//! `<action>` (`start`, `stop`, or a worker such as `__announce`, which
//! inherits the variable) counts its effects, writes each one to stderr as
//! `crash point N: <effect> <object>`, and raises SIGKILL before the k-th.
//! `OCF_IPADDR_CRASH_LOG=<file>` appends the same lines to a file, for
//! workers, whose stderr goes nowhere. In a normal build `before` is empty
//! and the variables mean nothing.

/// Marks the process as running `action` (once, from main).
#[cfg(feature = "crash-points")]
pub fn arm(action: &str) {
    armed::arm(action)
}

#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn arm(_action: &str) {}

/// Called right before an effect on the node: `effect` says what is done,
/// `object` to what.
#[cfg(feature = "crash-points")]
pub fn before(effect: &str, object: &dyn std::fmt::Display) {
    armed::before(effect, object)
}

#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn before(_effect: &str, _object: &dyn std::fmt::Display) {}

/// A named instant where a test may hold the process still:
/// `OCF_IPADDR_PAUSE_AT=<action>:<name>` with `OCF_IPADDR_PAUSE_GATE=<file>`
/// makes the process running `<action>` write its pid to `<file>.held` there
/// and wait while `<file>` exists, so that a race the test needs (something
/// changing in that instant) is made, not waited for. (Not SIGSTOP: a
/// worker stopped while its parent exits is sent SIGHUP, as the member of a
/// newly orphaned process group, and dies.)
#[cfg(feature = "crash-points")]
pub fn pause(name: &str) {
    armed::pause(name)
}

#[cfg(not(feature = "crash-points"))]
#[inline(always)]
pub fn pause(_name: &str) {}

#[cfg(feature = "crash-points")]
mod armed {
    use std::io::Write;
    use std::sync::OnceLock;
    use std::sync::atomic::{AtomicU32, Ordering};

    /// The step to die before, when this process's action is the one named.
    static AT: OnceLock<Option<u32>> = OnceLock::new();
    static STEP: AtomicU32 = AtomicU32::new(0);
    static ACTION: OnceLock<String> = OnceLock::new();

    pub fn pause(name: &str) {
        let Some(action) = ACTION.get() else { return };
        if !std::env::var("OCF_IPADDR_PAUSE_AT").is_ok_and(|spec| spec == format!("{action}:{name}")) {
            return;
        }
        let Some(gate) = std::env::var_os("OCF_IPADDR_PAUSE_GATE").map(std::path::PathBuf::from) else {
            return;
        };
        let mut held = gate.clone().into_os_string();
        held.push(".held");
        let _ = std::fs::write(held, std::process::id().to_string());
        while gate.exists() {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    pub fn arm(action: &str) {
        let _ = ACTION.set(action.to_string());
        let plan = std::env::var("OCF_IPADDR_CRASH_AT").ok().and_then(|spec| {
            let (named, step) = spec.rsplit_once(':')?;
            (named == action).then(|| step.parse().ok()).flatten()
        });
        let _ = AT.set(plan);
    }

    pub fn before(effect: &str, object: &dyn std::fmt::Display) {
        let Some(Some(at)) = AT.get() else { return };
        let step = STEP.fetch_add(1, Ordering::SeqCst) + 1;
        let line = format!("crash point {step}: {effect} {object}\n");
        let _ = std::io::stderr().write_all(line.as_bytes());
        if let Some(log) = std::env::var_os("OCF_IPADDR_CRASH_LOG") {
            let opened = std::fs::OpenOptions::new().append(true).create(true).open(log);
            let _ = opened.and_then(|mut file| file.write_all(line.as_bytes()));
        }
        if step == *at {
            let _ = nix::sys::signal::raise(nix::sys::signal::Signal::SIGKILL);
        }
    }
}
