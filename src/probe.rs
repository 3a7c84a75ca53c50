//! Duplicate-address probing before an address is added: send probes on
//! the link and listen for anyone claiming the address (RFC 5227 for IPv4,
//! RFC 4862 DAD-style Neighbor Solicitations for IPv6).

use crate::packet::{self, Mac, arp, ndp};
use crate::params::ProbeParams;
use crate::rawsock::PacketSocket;
use std::io;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// What probing found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// Nobody answered within the probing window.
    Free,
    /// Another host answered for, or probed for, the address.
    InUse { mac: Mac },
    /// The action's time budget ended the probing early; nobody answered so far.
    CutShort,
    /// The announcement budget had no slot for the next probe before the
    /// action's deadline; nobody answered the `sent` probes that went out.
    NoSlot { sent: u64 },
}

/// When probes go out and how long to listen after the last one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbePlan {
    pub initial_delay: Duration,
    pub count: u64,
    pub interval: Duration,
    pub wait: Duration,
}

impl ProbePlan {
    /// The plan for the parameters; RFC 5227's timing when asked for
    /// (PROBE_WAIT 1 s, PROBE_NUM 3, PROBE_MIN/MAX 1-2 s, ANNOUNCE_WAIT 2 s).
    pub fn from_params(params: &ProbeParams) -> ProbePlan {
        if params.rfc5227 {
            ProbePlan {
                initial_delay: Duration::from_millis(random_below(1000)),
                count: 3,
                interval: Duration::from_millis(1000 + random_below(1000)),
                wait: Duration::from_secs(2),
            }
        } else {
            ProbePlan {
                initial_delay: Duration::ZERO,
                count: params.count,
                interval: params.interval,
                wait: params.wait,
            }
        }
    }

    /// How long the whole plan takes when nobody answers.
    pub fn duration(&self) -> Duration {
        let gaps = u32::try_from(self.count.saturating_sub(1)).unwrap_or(u32::MAX);
        self.initial_delay + self.interval * gaps + self.wait
    }
}

/// A number in `0..bound` that differs between runs; RFC 5227's jitter
/// only has to keep hosts from probing in lockstep.
fn random_below(bound: u64) -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(Instant::now()) % bound.max(1)
}

/// Who is listening: which answers are this host's own.
#[derive(Debug, Clone, Copy)]
pub struct Listener<'a> {
    /// The MAC the probes are sent from.
    pub our_mac: Mac,
    /// This host's interfaces: their answers are not conflicts.
    pub own_macs: &'a [Mac],
    /// The VIP's own MAC (`virtual_mac`), heard from the wire by a socket
    /// on its parent: any frame from it comes from another host holding it.
    pub virtual_mac: Option<Mac>,
}

/// Probes for `ip` on the socket's interface, sending through `send`,
/// listening on `sock`. Never runs past `deadline`.
pub fn run(
    sock: &PacketSocket,
    send: &mut dyn FnMut(&[u8]) -> io::Result<bool>,
    listener: &Listener,
    ip: IpAddr,
    plan: &ProbePlan,
    deadline: Instant,
) -> io::Result<ProbeOutcome> {
    let probe_frame: Vec<u8> = match ip {
        IpAddr::V4(v4) => arp::probe(listener.our_mac, v4).to_vec(),
        IpAddr::V6(v6) => ndp::dad_solicitation(listener.our_mac, v6).to_vec(),
    };
    let claimant = |frame: &[u8]| -> Option<Mac> {
        if let Some(virtual_mac) = listener.virtual_mac.filter(|mac| source_mac(frame) == Some(*mac)) {
            return Some(virtual_mac);
        }
        let mac = match ip {
            IpAddr::V4(v4) => arp::parse(frame).filter(|m| arp::claims(m, v4)).map(|m| m.sender_mac),
            IpAddr::V6(v6) => {
                ndp::parse(frame).filter(|m| ndp::claims(m, v6)).map(|m| m.link_layer.unwrap_or(m.eth_source))
            }
        }?;
        (!listener.own_macs.contains(&mac)).then_some(mac)
    };
    let mut buf = [0u8; 2048];
    let mut listen_until = |until: Instant| -> io::Result<Option<Mac>> {
        while let Some(len) = sock.receive_until(until.min(deadline), &mut buf)? {
            if let Some(mac) = claimant(&buf[..len]) {
                return Ok(Some(mac));
            }
        }
        Ok(None)
    };
    if let Some(mac) = listen_until(Instant::now() + plan.initial_delay)? {
        return Ok(ProbeOutcome::InUse { mac });
    }
    for sent in 1..=plan.count {
        if Instant::now() >= deadline {
            return Ok(ProbeOutcome::CutShort);
        }
        // The interface's announcement budget may have no slot in time.
        if !send(&probe_frame)? {
            return Ok(ProbeOutcome::NoSlot { sent: sent - 1 });
        }
        let pause = if sent == plan.count { plan.wait } else { plan.interval };
        if let Some(mac) = listen_until(Instant::now() + pause)? {
            return Ok(ProbeOutcome::InUse { mac });
        }
    }
    if Instant::now() >= deadline { Ok(ProbeOutcome::CutShort) } else { Ok(ProbeOutcome::Free) }
}

/// The ethertype to open the probing socket for.
pub fn ethertype_for(ip: IpAddr) -> u16 {
    if ip.is_ipv4() { packet::ETHERTYPE_ARP } else { packet::ETHERTYPE_IPV6 }
}

/// The Ethernet source of a frame.
fn source_mac(frame: &[u8]) -> Option<Mac> {
    let octets: [u8; 6] = frame.get(6..12)?.try_into().ok()?;
    Some(Mac::from(octets))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(count: u64, interval: u64, wait: u64, rfc5227: bool) -> ProbeParams {
        ProbeParams {
            count,
            interval: Duration::from_millis(interval),
            wait: Duration::from_millis(wait),
            rfc5227,
        }
    }

    #[test]
    fn default_plan_is_a_few_tens_of_milliseconds() {
        let plan = ProbePlan::from_params(&params(2, 5, 10, false));
        assert_eq!(plan.duration(), Duration::from_millis(15));
        assert_eq!(ProbePlan::from_params(&params(0, 5, 10, false)).count, 0);
    }

    #[test]
    fn rfc5227_plan_stays_within_the_rfc_bounds() {
        for _ in 0..50 {
            let plan = ProbePlan::from_params(&params(2, 5, 10, true));
            assert_eq!(plan.count, 3);
            assert!(plan.initial_delay < Duration::from_secs(1));
            assert!((Duration::from_secs(1)..Duration::from_secs(2)).contains(&plan.interval));
            assert_eq!(plan.wait, Duration::from_secs(2));
        }
    }
}
