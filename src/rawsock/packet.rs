//! A raw Ethernet (AF_PACKET) socket bound to one interface and one
//! ethertype, for the ARP and neighbor discovery frames the agent sends
//! and listens for.

use super::readable_before;
use nix::libc;
use std::io;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Instant;

/// The kernel's pkttype for frames this host sent itself.
const PACKET_OUTGOING: u8 = 4;
/// The kernel's pkttype for frames addressed to another host. It also
/// gives it to a frame tagged for a VLAN this interface has no device for,
/// after stripping the tag: such a frame belongs to another network.
const PACKET_OTHERHOST: u8 = 3;

/// A packet socket on one interface for one ethertype.
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: i32,
}

fn link_address(ifindex: u32, ethertype: u16) -> io::Result<libc::sockaddr_ll> {
    // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
    let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    addr.sll_family = libc::AF_PACKET as u16;
    addr.sll_protocol = ethertype.to_be();
    addr.sll_ifindex = i32::try_from(ifindex).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    Ok(addr)
}

/// What the kernel says about one received frame.
struct Received {
    len: usize,
    pkttype: u8,
    ifindex: i32,
}

/// What `background::spawn` hands to the announcer: the child keeps it
/// across exec at the same number. Closing a packet socket waits for an RCU
/// grace period, and the last holder pays it, off the critical path.
impl AsRawFd for PacketSocket {
    fn as_raw_fd(&self) -> i32 {
        self.fd.as_raw_fd()
    }
}

impl PacketSocket {
    /// Opens a non-blocking packet socket that sends and receives whole
    /// Ethernet frames of `ethertype` on interface `ifindex`.
    pub fn open(ifindex: u32, ethertype: u16) -> io::Result<PacketSocket> {
        // Protocol 0 at creation, the ethertype only at bind: a socket
        // created with a protocol hooks into every interface, and moving
        // that hook to one interface at bind waits for an RCU grace period.
        // SAFETY: socket(2) with constant arguments; the result is checked.
        let raw = unsafe {
            libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK, 0)
        };
        if raw < 0 {
            return Err(io::Error::last_os_error());
        }
        // SAFETY: `raw` is a fresh descriptor that nothing else owns.
        let fd = unsafe { OwnedFd::from_raw_fd(raw) };
        let addr = link_address(ifindex, ethertype)?;
        // SAFETY: `addr` is a valid sockaddr_ll and the length is its size.
        let rc = unsafe {
            libc::bind(
                fd.as_raw_fd(),
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if rc < 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(PacketSocket { fd, ifindex: addr.sll_ifindex })
    }

    /// Takes over a packet socket inherited from the agent as descriptor
    /// `fd`; anything that is not a packet socket bound to an interface is
    /// refused.
    pub fn adopt(fd: i32) -> io::Result<PacketSocket> {
        let not_ours = || {
            io::Error::new(io::ErrorKind::InvalidInput, "inherited descriptor is not a bound packet socket")
        };
        // SAFETY: sockaddr_ll is plain old data; all-zero is a valid value.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
        // SAFETY: getsockname writes at most `len` bytes into `addr`; a bad
        // descriptor or another kind of socket only makes it fail or report
        // another family.
        let rc = unsafe { libc::getsockname(fd, (&mut addr as *mut libc::sockaddr_ll).cast(), &mut len) };
        if rc < 0 || i32::from(addr.sll_family) != libc::AF_PACKET || addr.sll_ifindex <= 0 {
            return Err(not_ours());
        }
        // SAFETY: the descriptor was handed to this process to own and is a packet socket.
        let fd = unsafe { OwnedFd::from_raw_fd(fd) };
        nix::fcntl::fcntl(&fd, nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC))?;
        Ok(PacketSocket { fd, ifindex: addr.sll_ifindex })
    }

    /// Sends one complete Ethernet frame on the bound interface.
    pub fn send(&self, frame: &[u8]) -> io::Result<()> {
        // SAFETY: the buffer pointer and length come from a live slice.
        let sent = unsafe { libc::send(self.fd.as_raw_fd(), frame.as_ptr().cast(), frame.len(), 0) };
        match sent {
            n if n < 0 => Err(io::Error::last_os_error()),
            n if n as usize != frame.len() => Err(io::Error::new(io::ErrorKind::WriteZero, "short send")),
            _ => Ok(()),
        }
    }

    /// Waits until `deadline` for the next frame another host sent on this
    /// interface's own network; returns its length in `buf`, or `None` when
    /// the deadline passed. Skipped: frames this host sent, frames another
    /// interface received, and frames addressed to other hosts, which
    /// include frames tagged for a VLAN this interface does not carry.
    /// (Every claim the agent looks for is broadcast, multicast or
    /// addressed to this host.)
    pub fn receive_until(&self, deadline: Instant, buf: &mut [u8]) -> io::Result<Option<usize>> {
        while readable_before(&self.fd, deadline)? {
            while let Some(frame) = self.receive(buf)? {
                let ours = frame.ifindex == self.ifindex
                    && frame.pkttype != PACKET_OUTGOING
                    && frame.pkttype != PACKET_OTHERHOST;
                if ours {
                    return Ok(Some(frame.len));
                }
            }
        }
        Ok(None)
    }

    /// The next queued frame, or `None` when none is queued.
    fn receive(&self, buf: &mut [u8]) -> io::Result<Option<Received>> {
        loop {
            // SAFETY: sockaddr_ll is plain old data; all-zero is valid.
            let mut from: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
            let mut from_len = std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            // SAFETY: buffer and address pointers come from live locals whose sizes are passed.
            let got = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr().cast(),
                    buf.len(),
                    0,
                    (&mut from as *mut libc::sockaddr_ll).cast(),
                    &mut from_len,
                )
            };
            if got >= 0 {
                let len = (got as usize).min(buf.len());
                return Ok(Some(Received { len, pkttype: from.sll_pkttype, ifindex: from.sll_ifindex }));
            }
            let err = io::Error::last_os_error();
            match err.kind() {
                io::ErrorKind::WouldBlock => return Ok(None),
                io::ErrorKind::Interrupted => continue,
                _ => return Err(err),
            }
        }
    }
}
