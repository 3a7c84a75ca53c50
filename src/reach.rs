//! The reachability check (LifeKeeper's ping list and broadcast ping):
//! ICMP echo requests sent from the VIP to every target at once over one
//! raw ICMP socket bound to the VIP, and the first answer from a host other
//! than this one. No `ping` binary.

use crate::packet::icmp::{self, EchoId};
use crate::rawsock::IcmpSocket;
use std::io;
use std::net::IpAddr;
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
    let sock = IcmpSocket::open(vip)?;
    let identifier = echo_identifier();
    let started = Instant::now();
    let until = (started + plan.timeout).min(deadline);
    // A second round halfway through, so one lost request fails nothing.
    let resend_at = started + plan.timeout / 2;
    send_round(&sock, vip, plan, EchoId { identifier, sequence: 1 })?;
    let mut resent = false;
    let mut buf = [0u8; 1500];
    loop {
        if Instant::now() >= until {
            return Ok(Reach::Silent);
        }
        if !resent && Instant::now() >= resend_at {
            send_round(&sock, vip, plan, EchoId { identifier, sequence: 2 })?;
            resent = true;
        }
        let wake = if resent { until } else { resend_at.min(until) };
        while let Some((len, from)) = sock.receive_until(wake, &mut buf)? {
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

/// One echo request to every target.
fn send_round(sock: &IcmpSocket, vip: IpAddr, plan: &PingPlan, id: EchoId) -> io::Result<()> {
    let mut last_error = None;
    let mut sent_any = false;
    for target in plan.targets.iter().filter(|t| t.is_ipv4() == vip.is_ipv4()) {
        let (message, scope) = match target {
            IpAddr::V4(_) => (icmp::echo_request_v4(id), 0),
            IpAddr::V6(dst) => {
                let scoped = dst.is_multicast() || dst.is_unicast_link_local();
                (icmp::echo_request_v6(id), if scoped { plan.ifindex } else { 0 })
            }
        };
        match sock.send_to(&message, *target, scope) {
            Ok(()) => sent_any = true,
            // One unroutable host must not keep the others from being asked.
            Err(err) => last_error = Some(err),
        }
    }
    match last_error {
        Some(err) if !sent_any => Err(err),
        _ => Ok(()),
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
