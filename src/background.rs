//! The detached workers: second processes of this same binary that go on
//! after the action that started them has returned: the announcer, which
//! sends announcement rounds, and the watcher, which puts back what
//! another process removes while the resource runs (`watch`).
//!
//! Every worker of a VIP holds a POSIX read lock on its lock file in the
//! run directory, taken in the child before it executes, so no worker is
//! ever untracked: not when two starts race, not when a start is killed
//! the instant after spawning one. Stop asks the kernel who holds the lock
//! (the lock's owner pid cannot be forged like a pid file's contents),
//! checks that it is this binary's worker of that file, and ends it
//! through a pidfd, which cannot hit a process that reused the pid.

use crate::ocf::log;
use crate::process;
use crate::store::RunDir;
use nix::libc;
use std::fs::File;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The hidden action the detached announcer runs.
pub const WORKER_ACTION: &str = "__announce";
/// The hidden action the detached watcher runs.
pub const WATCHER_ACTION: &str = "__watch";
/// The hidden action the watcher runs for each repair, in a process of its own.
pub const REPAIR_ACTION: &str = "__repair";

/// Whether `action` is one of the hidden actions a worker runs: its
/// command line names the file it belongs to after the action.
pub fn is_worker_action(action: &str) -> bool {
    [WORKER_ACTION, WATCHER_ACTION, REPAIR_ACTION].contains(&action)
}
/// Tells the worker how many rounds to send.
pub const COUNT_VAR: &str = "OCF_IPADDR_ANNOUNCE_COUNT";
/// Tells the announcer the slots its start booked for the first
/// announcement it defers: `PID:MS,MS` (the start's pid, then the slots in
/// ms since the epoch).
pub const SLOTS_VAR: &str = "OCF_IPADDR_ANNOUNCE_SLOTS";
/// Tells the worker which inherited descriptor is its socket: the
/// announcer's raw socket, the watcher's subscription.
pub const SOCKET_VAR: &str = "OCF_IPADDR_WORKER_SOCKET_FD";
/// Tells the worker which inherited descriptor holds its lock.
pub const LOCK_VAR: &str = "OCF_IPADDR_WORKER_LOCK_FD";

/// A whole-file POSIX lock request of `kind` (F_RDLCK, F_WRLCK).
fn whole_file(kind: libc::c_short) -> libc::flock {
    // SAFETY: flock is plain old data; all-zero is a valid value.
    let mut lock: libc::flock = unsafe { std::mem::zeroed() };
    lock.l_type = kind;
    lock.l_whence = libc::SEEK_SET as libc::c_short;
    lock
}

/// The pid of a process holding a lock on `file`, if any (F_GETLK).
fn lock_holder(file: &File) -> io::Result<Option<i32>> {
    let mut probe = whole_file(libc::F_WRLCK as libc::c_short);
    // SAFETY: a valid descriptor and a live flock the kernel fills in.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut probe) };
    if rc < 0 {
        return Err(io::Error::last_os_error());
    }
    Ok((probe.l_type != libc::F_UNLCK as libc::c_short).then_some(probe.l_pid))
}

/// Starts a detached worker running the hidden `action` for the VIP whose
/// lock file is `file`, ending any earlier worker of that file first.
/// `socket` is a socket for it to take over (made inheritable here); `env` are the
/// OCF_RESKEY_* pairs the worker needs to find the address again, and what
/// else it is told. When the lock file cannot be made, no worker is
/// started: one that stop could not find must never run. Returns the
/// worker's pid.
pub fn spawn(
    run_dir: &RunDir,
    action: &'static str,
    file: &str,
    socket: Option<i32>,
    env: &[(String, String)],
) -> io::Result<u32> {
    let deadline = Instant::now() + Duration::from_secs(1);
    stop(run_dir, file, deadline);
    crate::crash_point::before("create", &file);
    let lock = open_for_spawn(run_dir, file, deadline)?;
    let lock_fd = lock.as_raw_fd();
    let mut command = Command::new("/proc/self/exe");
    command
        .arg0("IPaddr")
        .arg(action)
        .arg(file)
        .env(LOCK_VAR, lock_fd.to_string())
        .envs(env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .envs(socket.map(|fd| (SOCKET_VAR, fd.to_string())))
        // The caller reading our output must see end-of-file when the
        // agent exits, so the worker keeps none of its descriptors.
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        // Own process group: signals for the agent's group skip it.
        .process_group(0);
    // SAFETY: runs in the forked child before exec, and only calls fcntl,
    // which is async-signal-safe, on descriptors the child inherited.
    unsafe {
        command.pre_exec(move || {
            let lock = whole_file(libc::F_RDLCK as libc::c_short);
            // Locked before exec: from the moment the child exists, stop finds it.
            if libc::fcntl(lock_fd, libc::F_SETLK, &lock) < 0 || libc::fcntl(lock_fd, libc::F_SETFD, 0) < 0 {
                return Err(io::Error::last_os_error());
            }
            // Kept across exec in this child only: no other child inherits it.
            if let Some(fd) = socket {
                if libc::fcntl(fd, libc::F_SETFD, 0) < 0 {
                    return Err(io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
    // Returns once the child has executed, holding its lock. It is not
    // waited for: when the agent exits, init adopts and reaps it.
    crate::crash_point::before("spawn", &action);
    command.spawn().map(|child| child.id())
}

/// Opens the lock file of `file` for a new worker, holding a shared
/// `flock` on it that the worker inherits: stop removes the file only while
/// it holds that `flock` exclusively, so a file being handed to a new worker
/// is never removed under it. If stop removed the file meanwhile, the new
/// one is taken.
fn open_for_spawn(run_dir: &RunDir, file: &str, deadline: Instant) -> io::Result<File> {
    loop {
        let lock = run_dir.open_lock_file(file)?;
        while !try_flock(&lock, libc::LOCK_SH) {
            if Instant::now() >= deadline {
                return Err(io::Error::new(io::ErrorKind::TimedOut, format!("{file} is being removed")));
            }
            std::thread::sleep(Duration::from_millis(1));
        }
        if is_still(&lock, &run_dir.file(file)) {
            return Ok(lock);
        }
    }
}

/// Takes a `flock` of `kind` without waiting; true when taken.
fn try_flock(file: &File, kind: libc::c_int) -> bool {
    // SAFETY: flock on a valid descriptor.
    unsafe { libc::flock(file.as_raw_fd(), kind | libc::LOCK_NB) == 0 }
}

/// Whether `path` still names the file `file` has open.
fn is_still(file: &File, path: &std::path::Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::symlink_metadata(path)) {
        (Ok(open), Ok(named)) => (open.dev(), open.ino()) == (named.dev(), named.ino()),
        _ => false,
    }
}

/// Ends every worker that holds the lock of `file`, waiting for each until
/// `deadline` at most, then removes the lock file. A lock holder that is
/// not this binary announcing this VIP is never signalled: it may be a
/// spawner's child between its fork and its exec (it takes the lock
/// first, so that no announcer is ever untracked, and its command line is
/// still the spawner's), which is waited for to become the announcer; one
/// that never does by `deadline` is reported.
pub fn stop(run_dir: &RunDir, file: &str, deadline: Instant) {
    let lock = match run_dir.open_existing_lock_file(file) {
        Ok(Some(lock)) => lock,
        Ok(None) => return,
        Err(err) => {
            log::warn(format!("cannot check the announcers of {file}: {err}"));
            return;
        }
    };
    let mut signalled = Vec::new();
    let mut stranger = None;
    loop {
        match lock_holder(&lock) {
            Err(err) => {
                log::warn(format!("cannot check the announcers of {file}: {err}"));
                return;
            }
            Ok(Some(pid)) if !signalled.contains(&pid) => {
                if end_worker(pid, file) {
                    signalled.push(pid);
                    stranger = None;
                    // Ended: look at the lock again at once.
                    continue;
                }
                stranger = Some(pid);
            }
            Ok(Some(_)) => {}
            // No worker, and nobody handing the file to a new one: remove it.
            Ok(None) if try_flock(&lock, libc::LOCK_EX) => {
                if matches!(lock_holder(&lock), Ok(None)) && is_still(&lock, &run_dir.file(file)) {
                    let _ = run_dir.remove(file);
                }
                return;
            }
            Ok(None) => {}
        }
        if Instant::now() >= deadline {
            match stranger {
                Some(pid) => log::warn(format!(
                    "process {pid} holds the announcer lock of {file} but is no announcer of it"
                )),
                None => log::warn(format!("an announcer of {file} outlived the time stop had for it")),
            }
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Whether `pid` is the worker of `file`, by its command line. The caller
/// found it holding the lock on `file`, which only a process that could
/// open that root-only file holds. Which binary it runs is not asked: a
/// package upgrade replaces the binary under a running worker, and stop
/// must still end it.
fn is_worker_of(pid: i32, file: &str) -> bool {
    let args = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let mut args = args.split(|b| *b == 0).skip(1);
    let action = args.next().and_then(|a| std::str::from_utf8(a).ok());
    action.is_some_and(is_worker_action) && args.next() == Some(file.as_bytes())
}

/// Whether a process holds the lock of `file`: its worker, or the child
/// about to become it (from fork to exec it holds the lock under its
/// parent's command line). Only the agent, as root, can open the file to
/// lock it. Unlike `stop`, which must not signal a stranger, this reads no
/// command line: a monitor asks it every interval, only to know whether a
/// worker must be started.
pub fn is_held(run_dir: &RunDir, file: &str) -> io::Result<bool> {
    let Some(lock) = run_dir.open_existing_lock_file(file)? else { return Ok(false) };
    Ok(lock_holder(&lock)?.is_some())
}

/// Sends SIGTERM to `pid` if it is the announcer of `file`: through a
/// pidfd opened before the check, so the signal reaches the process that
/// was checked even if the pid is reused meanwhile. SIGKILL follows if
/// SIGTERM is not enough (the caller waits).
fn end_worker(pid: i32, file: &str) -> bool {
    // SAFETY: pidfd_open takes a pid and flags and returns a new descriptor or -1.
    let raw = unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) };
    if raw < 0 {
        // Gone already: nothing to end.
        return true;
    }
    // SAFETY: a fresh descriptor that nothing else owns.
    let pidfd = unsafe { OwnedFd::from_raw_fd(raw as i32) };
    if !is_worker_of(pid, file) {
        return false;
    }
    log::debug(format!("stopping worker {pid} of {file}"));
    crate::crash_point::before("end worker of", &file);
    for signal in [libc::SIGTERM, libc::SIGKILL] {
        // SAFETY: pidfd_send_signal with a live pidfd and no siginfo.
        let rc = unsafe {
            libc::syscall(libc::SYS_pidfd_send_signal, pidfd.as_raw_fd(), signal, std::ptr::null::<u8>(), 0)
        };
        if rc < 0 {
            return true;
        }
        if signal == libc::SIGTERM {
            // The pidfd turns readable the moment the worker exits (its
            // locks released by then): no polling interval added to stop.
            use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
            use std::os::fd::AsFd;
            let mut exited = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
            let _ = poll(&mut exited, PollTimeout::from(200u8));
            if !process::is_running(pid) {
                return true;
            }
        }
    }
    true
}

/// Closes every descriptor above stderr but those in `keep`: the worker
/// must not keep the caller's pipes or sockets open.
pub fn close_inherited_descriptors(keep: &[i32]) {
    let mut keep: Vec<u32> =
        keep.iter().filter_map(|fd| u32::try_from(*fd).ok()).filter(|fd| *fd >= 3).collect();
    keep.sort_unstable();
    let mut from = 3u32;
    // SAFETY: called first thing in the worker, before it opens anything;
    // no Rust object owns a descriptor above 2 at that point but those kept.
    unsafe {
        for fd in keep {
            if fd > from {
                libc::close_range(from, fd - 1, 0);
            }
            from = fd + 1;
        }
        libc::close_range(from, u32::MAX, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_test_process_is_no_announcer() {
        let me = std::process::id() as i32;
        assert!(!is_worker_of(me, "IPaddr-announce-192.0.2.50"));
    }
}
