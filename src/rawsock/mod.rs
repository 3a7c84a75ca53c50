//! The raw sockets: an AF_PACKET socket for ARP and neighbor discovery
//! frames (`packet`, which makes the system calls nix does not wrap for
//! packet sockets), and a raw ICMP socket for the reachability check
//! (`icmp`, through nix alone). Both wait with one helper that never runs
//! past the action's deadline.

mod icmp;
mod packet;

pub use icmp::IcmpSocket;
pub use packet::PacketSocket;

use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use std::io;
use std::os::fd::AsFd;
use std::time::Instant;

/// Waits until `fd` has something to read or `deadline` passes; true when
/// it is readable. A signal only cuts one wait short, never the deadline.
fn readable_before(fd: impl AsFd, deadline: Instant) -> io::Result<bool> {
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Ok(false);
        }
        let millis = u16::try_from(left.as_millis().max(1)).unwrap_or(u16::MAX);
        let mut fds = [PollFd::new(fd.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, PollTimeout::from(millis)) {
            Ok(0) => continue,
            Ok(_) => return Ok(true),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(err) => return Err(err.into()),
        }
    }
}
