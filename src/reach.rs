//! The reachability check (LifeKeeper's ping list and broadcast ping):
//! ICMP echo requests sent from the VIP to every target at once over one
//! raw ICMP socket bound to the VIP, and the first answer from a host other
//! than this one. No `ping` binary.

use crate::packet::icmp::{self, EchoId};
use nix::poll::{PollFd, PollFlags, PollTimeout, poll};
use nix::sys::socket::{
    AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn, SockaddrIn6, SockaddrStorage,
    bind, recvfrom, sendto, setsockopt, socket, sockopt,
};
use std::io;
use std::net::{IpAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// What the check found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reach {
    /// A host other than this node answered.
    Answered { by: IpAddr },
    /// Nobody but this node answered within the timeout.
    Silent,
}

/// Where the echo requests go.
#[derive(Debug, Clone)]
pub struct PingPlan {
    pub targets: Vec<IpAddr>,
    /// The VIP's interface: the scope of link-local and multicast targets.
    pub ifindex: u32,
    pub timeout: Duration,
}

/// Pings the plan's targets from `vip`; `is_local` says whether an answering
/// address belongs to this node (its answer proves nothing). Never runs past
/// `deadline`.
pub fn ping(
    vip: IpAddr,
    plan: &PingPlan,
    deadline: Instant,
    is_local: impl Fn(IpAddr) -> bool,
) -> io::Result<Reach> {
    let sock = open(vip)?;
    let identifier = echo_identifier();
    let started = Instant::now();
    let until = (started + plan.timeout).min(deadline);
    // A second round halfway through, so one lost request fails nothing.
    let resend_at = started + plan.timeout / 2;
    send_round(&sock, vip, plan, EchoId { identifier, sequence: 1 })?;
    let mut resent = false;
    let mut buf = [0u8; 1500];
    loop {
        let now = Instant::now();
        if now >= until {
            return Ok(Reach::Silent);
        }
        if !resent && now >= resend_at {
            send_round(&sock, vip, plan, EchoId { identifier, sequence: 2 })?;
            resent = true;
        }
        let wake = if resent { until } else { resend_at.min(until) };
        if !readable(&sock, wake.saturating_duration_since(now))? {
            continue;
        }
        while let Some((len, from)) = receive(&sock, &mut buf)? {
            let echo = match vip {
                IpAddr::V4(_) => icmp::parse_reply_v4(&buf[..len]),
                IpAddr::V6(_) => icmp::parse_reply_v6(&buf[..len]),
            };
            if echo.is_some_and(|id| id.identifier == identifier) && !is_local(from) {
                return Ok(Reach::Answered { by: from });
            }
        }
    }
}

/// A raw ICMP socket whose requests leave with the VIP as their source and
/// which only sees datagrams addressed to the VIP.
fn open(vip: IpAddr) -> io::Result<OwnedFd> {
    let flags = SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK;
    let sock = match vip {
        IpAddr::V4(v4) => {
            let sock = socket(AddressFamily::Inet, SockType::Raw, flags, SockProtocol::Icmp)?;
            setsockopt(&sock, sockopt::Broadcast, &true)?;
            bind(sock.as_raw_fd(), &SockaddrIn::from(SocketAddrV4::new(v4, 0)))?;
            sock
        }
        IpAddr::V6(v6) => {
            let sock = socket(AddressFamily::Inet6, SockType::Raw, flags, SockProtocol::IcmpV6)?;
            bind(sock.as_raw_fd(), &SockaddrIn6::from(SocketAddrV6::new(v6, 0, 0, 0)))?;
            sock
        }
    };
    Ok(sock)
}

/// One echo request to every target.
fn send_round(sock: &OwnedFd, vip: IpAddr, plan: &PingPlan, id: EchoId) -> io::Result<()> {
    let fd = sock.as_raw_fd();
    let mut last_error = None;
    let mut sent_any = false;
    for target in &plan.targets {
        let result = match (vip, target) {
            (IpAddr::V4(_), IpAddr::V4(dst)) => sendto(
                fd,
                &icmp::echo_request_v4(id),
                &SockaddrIn::from(SocketAddrV4::new(*dst, 0)),
                MsgFlags::empty(),
            ),
            (IpAddr::V6(_), IpAddr::V6(dst)) => {
                let scoped = dst.is_multicast() || dst.is_unicast_link_local();
                let scope = if scoped { plan.ifindex } else { 0 };
                let addr = SockaddrIn6::from(SocketAddrV6::new(*dst, 0, 0, scope));
                sendto(fd, &icmp::echo_request_v6(id), &addr, MsgFlags::empty())
            }
            _ => continue,
        };
        match result {
            Ok(_) => sent_any = true,
            // One unroutable host must not keep the others from being asked.
            Err(err) => last_error = Some(io::Error::from(err)),
        }
    }
    match last_error {
        Some(err) if !sent_any => Err(err),
        _ => Ok(()),
    }
}

fn readable(sock: &OwnedFd, wait: Duration) -> io::Result<bool> {
    let millis = u16::try_from(wait.as_millis().max(1)).unwrap_or(u16::MAX);
    let mut fds = [PollFd::new(sock.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::from(millis)) {
        Ok(ready) => Ok(ready > 0),
        Err(nix::errno::Errno::EINTR) => Ok(false),
        Err(err) => Err(err.into()),
    }
}

/// The next queued datagram and its source, or `None` when none is queued.
fn receive(sock: &OwnedFd, buf: &mut [u8]) -> io::Result<Option<(usize, IpAddr)>> {
    let fd = sock.as_raw_fd();
    loop {
        match recvfrom::<SockaddrStorage>(fd, buf) {
            Ok((len, Some(from))) => {
                let ip = from
                    .as_sockaddr_in()
                    .map(|a| IpAddr::V4(a.ip()))
                    .or_else(|| from.as_sockaddr_in6().map(|a| IpAddr::V6(a.ip())));
                if let Some(ip) = ip {
                    return Ok(Some((len, ip)));
                }
            }
            Ok((_, None)) => {}
            Err(nix::errno::Errno::EAGAIN) => return Ok(None),
            Err(nix::errno::Errno::EINTR) => {}
            Err(err) => return Err(err.into()),
        }
    }
}

/// An echo identifier that differs between concurrent checks (ours and
/// other instances'), so each takes only its own answers.
fn echo_identifier() -> u16 {
    use std::hash::BuildHasher;
    let hashed =
        std::collections::hash_map::RandomState::new().hash_one((std::process::id(), Instant::now()));
    (hashed & 0xffff) as u16
}
