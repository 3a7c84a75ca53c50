//! The detached announcer: a second process of this same binary that sends
//! announcement rounds after start has returned. It is tracked by a file
//! holding its pid and start time, so that a stale or forged file can never
//! make the agent signal an unrelated process.

use crate::ocf::log;
use crate::rundir::RunDir;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The hidden action the detached process runs.
pub const WORKER_ACTION: &str = "__announce";
/// Tells the worker how many rounds to send.
pub const COUNT_VAR: &str = "OCF_IPADDR_ANNOUNCE_COUNT";
/// Tells the worker which inherited descriptor is its raw socket.
pub const SOCKET_VAR: &str = "OCF_IPADDR_ANNOUNCE_FD";

/// A live process identified beyond its pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tracked {
    pub pid: i32,
    /// Field 22 of /proc/PID/stat: when the process started, in clock ticks.
    pub start_time: u64,
}

/// The start time of `pid`, or `None` if there is no such process.
pub fn start_time(pid: i32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces; the fields after it do not.
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(19)?.parse().ok()
}

/// Whether the tracked process is still the announcer we started: same
/// start time, and running our worker action.
fn is_our_worker(tracked: Tracked) -> bool {
    if start_time(tracked.pid) != Some(tracked.start_time) {
        return false;
    }
    std::fs::read(format!("/proc/{}/cmdline", tracked.pid))
        .is_ok_and(|cmdline| cmdline.split(|b| *b == 0).any(|arg| arg == WORKER_ACTION.as_bytes()))
}

fn parse_record(text: &str) -> Option<Tracked> {
    let mut fields = text.split_whitespace();
    let pid: i32 = fields.next()?.parse().ok().filter(|pid| *pid > 1)?;
    let start_time = fields.next()?.parse().ok()?;
    fields.next().is_none().then_some(Tracked { pid, start_time })
}

/// Starts a detached worker that sends `count` rounds, the first one
/// interval from now, replacing any earlier worker for the same address.
/// `socket` is an inheritable raw socket for it to use; `env` are the
/// OCF_RESKEY_* pairs the worker needs to find the address again.
pub fn spawn(
    run_dir: &RunDir,
    file: &str,
    count: u64,
    socket: Option<i32>,
    env: &[(String, String)],
) -> std::io::Result<Tracked> {
    stop(run_dir, file, Instant::now() + Duration::from_secs(1));
    let mut command = Command::new("/proc/self/exe");
    command
        .arg0("IPaddr")
        .arg(WORKER_ACTION)
        .env(COUNT_VAR, count.to_string())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .envs(socket.map(|fd| (SOCKET_VAR, fd.to_string())))
        // The caller reading our output must see end-of-file when the
        // agent exits, so the worker keeps none of its descriptors.
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Own process group: signals for the agent's group skip it.
        .process_group(0);
    let child = command.spawn()?;
    let pid = i32::try_from(child.id()).map_err(|_| std::io::Error::other("pid out of range"))?;
    let tracked = Tracked { pid, start_time: start_time(pid).unwrap_or(0) };
    run_dir.write(file, &format!("{} {}\n", tracked.pid, tracked.start_time))?;
    // The child is not waited for: when the agent exits, init adopts and reaps it.
    drop(child);
    Ok(tracked)
}

/// Ends the worker tracked in `file`, if it is still ours, waiting for it
/// until `deadline` at most; removes the file in every case.
pub fn stop(run_dir: &RunDir, file: &str, deadline: Instant) {
    let record = match run_dir.read(file) {
        Ok(Some(record)) => record,
        Ok(None) => {
            // Still sweep up what a writer killed mid-write may have left.
            let _ = run_dir.remove(file);
            return;
        }
        Err(err) => {
            log::warn(format!("ignoring unreadable announcer record {file}: {err}"));
            let _ = run_dir.remove(file);
            return;
        }
    };
    match parse_record(&record) {
        Some(tracked) if is_our_worker(tracked) => terminate(tracked, deadline),
        Some(_) => log::debug(format!("announcer record {file} is stale")),
        None => log::warn(format!("ignoring corrupt announcer record {file}")),
    }
    let _ = run_dir.remove(file);
}

fn terminate(tracked: Tracked, deadline: Instant) {
    use nix::sys::signal::{Signal, kill};
    use nix::unistd::Pid;
    let pid = Pid::from_raw(tracked.pid);
    log::debug(format!("stopping announcer {}", tracked.pid));
    if kill(pid, Signal::SIGTERM).is_err() {
        return;
    }
    while Instant::now() < deadline {
        if !is_alive(tracked) {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    if is_alive(tracked) {
        let _ = kill(pid, Signal::SIGKILL);
    }
}

/// Alive and not yet a zombie (a zombie no longer sends anything).
fn is_alive(tracked: Tracked) -> bool {
    if start_time(tracked.pid) != Some(tracked.start_time) {
        return false;
    }
    std::fs::read_to_string(format!("/proc/{}/stat", tracked.pid))
        .ok()
        .and_then(|stat| stat.rfind(')').map(|i| stat[i + 1..].trim_start().starts_with('Z')))
        .is_some_and(|zombie| !zombie)
}

/// Closes every descriptor above stderr but `keep`: the worker must not
/// keep the caller's pipes or sockets open.
pub fn close_inherited_descriptors(keep: Option<i32>) {
    let keep = keep.and_then(|fd| u32::try_from(fd).ok()).filter(|fd| *fd >= 3);
    // SAFETY: called first thing in the worker, before it opens anything;
    // no Rust object owns a descriptor above 2 at that point.
    unsafe {
        match keep {
            Some(fd) => {
                nix::libc::close_range(3, fd - 1, 0);
                nix::libc::close_range(fd + 1, u32::MAX, 0);
            }
            None => {
                nix::libc::close_range(3, u32::MAX, 0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_are_strict() {
        assert_eq!(parse_record("123 456\n"), Some(Tracked { pid: 123, start_time: 456 }));
        for bad in ["", "123", "1 5", "0 5", "-4 5", "12 x", "12 5 6", "99999999999 1"] {
            assert_eq!(parse_record(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn our_own_start_time_is_readable_and_we_are_not_a_worker() {
        let me = std::process::id() as i32;
        let tracked = Tracked { pid: me, start_time: start_time(me).unwrap() };
        assert!(is_alive(tracked));
        assert!(!is_our_worker(tracked), "a test process is not an announcer");
        assert!(!is_alive(Tracked { pid: me, start_time: tracked.start_time + 1 }));
    }
}
