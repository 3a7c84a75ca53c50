//! What Rust's runtime does before `main`, cut to what the agent needs.
//! std's set-up also finds the main thread's stack guard (glibc reads and
//! parses /proc/self/maps for it) and installs a signal stack for
//! stack-overflow messages: 14 system calls and 0.025 to 0.07 ms of CPU
//! measured per run, on every monitor of every VIP, for a message the
//! agent never needs (it does not recurse; an overflow still ends it, by
//! SIGSEGV instead of SIGABRT). The agent's entry point (in main.rs) calls
//! `prepare` instead.

use nix::fcntl::{OFlag, open};
use nix::libc;
use nix::sys::signal::{SigHandler, SigSet, Signal, signal};
use nix::sys::stat::Mode;
use std::os::fd::IntoRawFd;

/// Makes the process ready to run an action, as std would have: writes to
/// a closed pipe fail with EPIPE instead of killing the agent, and the
/// standard streams are open, so that a file the agent opens never takes
/// descriptor 1 or 2 and receives its output. What a caller may leave
/// behind is reset (see `reset_inherited_signals`).
pub fn prepare() {
    // SAFETY: sets the disposition to "ignore", which runs no code of ours
    // in signal context; no other thread exists yet.
    let _ = unsafe { signal(Signal::SIGPIPE, SigHandler::SigIgn) };
    reset_inherited_signals();
    open_closed_standard_streams();
}

/// An ignored SIGCHLD and a blocked signal survive exec: a caller that
/// left them (some process managers do; Pacemaker does not) would make
/// the kernel reap the agent's children itself, so waiting for `nft` fails
/// with ECHILD and a stop fails, and would hand the announcer a blocked
/// SIGTERM, so stop must wait for SIGKILL. Two system calls.
fn reset_inherited_signals() {
    // SAFETY: sets the default disposition, which runs no code of ours in
    // signal context; no other thread exists yet.
    let _ = unsafe { signal(Signal::SIGCHLD, SigHandler::SigDfl) };
    let _ = SigSet::empty().thread_set_mask();
}

fn open_closed_standard_streams() {
    let mut streams = [0, 1, 2].map(|fd| libc::pollfd { fd, events: 0, revents: 0 });
    // SAFETY: `streams` is a valid array of three pollfd for the call's
    // duration; a zero timeout makes it return at once.
    if unsafe { libc::poll(streams.as_mut_ptr(), streams.len() as libc::nfds_t, 0) } < 0 {
        return;
    }
    for _closed in streams.iter().filter(|stream| stream.revents & libc::POLLNVAL != 0) {
        // Descriptors are handed out lowest first, and the streams are
        // visited in order: /dev/null becomes the closed stream, for good
        // (kept across exec, as a stream is).
        if let Ok(null) = open("/dev/null", OFlag::O_RDWR, Mode::empty()) {
            let _stream = null.into_raw_fd();
        }
    }
}
