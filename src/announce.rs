//! Announcing a moved address: gratuitous ARP for IPv4, unsolicited
//! Neighbor Advertisements for IPv6, in rounds, each round only if the
//! address is still ours.

use crate::packet::{Mac, arp, ndp};
use crate::params::{AnnounceParams, ArpMode};
use crate::rawsock::PacketSocket;
use std::io;
use std::net::IpAddr;
use std::time::{Duration, Instant};

/// The frames one announcement round sends for `ip` at `mac`.
pub fn round_frames(ip: IpAddr, mac: Mac, params: &AnnounceParams) -> Vec<Vec<u8>> {
    match ip {
        IpAddr::V4(v4) => {
            let mut frames = Vec::new();
            if params.mode != ArpMode::Reply {
                frames.push(arp::gratuitous_request(mac, v4, None).to_vec());
            }
            if params.mode != ArpMode::Request {
                frames.push(arp::gratuitous_reply(mac, v4).to_vec());
            }
            if let Some(target) = params.target {
                frames.push(arp::gratuitous_request(mac, v4, Some(target)).to_vec());
            }
            frames
        }
        IpAddr::V6(v6) => vec![ndp::unsolicited_advertisement(mac, v6).to_vec()],
    }
}

/// How a series of rounds ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoundsEnded {
    Done,
    /// The address left the interface: announcing it now would mislead.
    AddressGone {
        sent: u64,
    },
    /// The deadline came first.
    OutOfTime {
        sent: u64,
    },
}

/// When a series of rounds goes out.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub count: u64,
    /// Before the first round.
    pub first_delay: Duration,
    /// Between rounds.
    pub interval: Duration,
    /// No round starts after this.
    pub deadline: Instant,
}

/// What a series of rounds sends, and what it does between rounds.
pub trait Rounds {
    /// The frames of the next round, built afresh (the NIC's MAC may have
    /// changed), or `None` when the address is no longer on the interface.
    fn next_round(&mut self) -> Option<Vec<Vec<u8>>>;

    /// Passes the time until `due` (listening, when answers are awaited).
    fn wait_until(&mut self, due: Instant) {
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }

    /// Sends one round's `frames` (`first` for the series' first round);
    /// `false` when they could not go out in the time left.
    fn send(&mut self, sock: &PacketSocket, frames: &[Vec<u8>], _first: bool) -> io::Result<bool> {
        for frame in frames {
            sock.send(frame)?;
        }
        Ok(true)
    }
}

/// Sends the rounds `timing` describes.
pub fn send_rounds(
    sock: &PacketSocket,
    timing: &Timing,
    rounds: &mut impl Rounds,
) -> io::Result<RoundsEnded> {
    let started = Instant::now() + timing.first_delay;
    for round in 0..timing.count {
        let due = started + timing.interval * u32::try_from(round).unwrap_or(u32::MAX);
        if due > timing.deadline {
            return Ok(RoundsEnded::OutOfTime { sent: round });
        }
        rounds.wait_until(due);
        let Some(frames) = rounds.next_round() else {
            return Ok(RoundsEnded::AddressGone { sent: round });
        };
        if !rounds.send(sock, &frames, round == 0)? {
            return Ok(RoundsEnded::OutOfTime { sent: round });
        }
    }
    Ok(RoundsEnded::Done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(mode: ArpMode, target: Option<&str>) -> AnnounceParams {
        AnnounceParams {
            interval: Duration::from_millis(200),
            count: 5,
            count_refresh: 0,
            background: false,
            mode,
            target: target.map(|t| t.parse().unwrap()),
            rate_limit: 0,
        }
    }

    const MAC: Mac = Mac(2, 0, 0, 0, 0, 1);

    #[test]
    fn ipv4_rounds_follow_arp_mode_and_target() {
        let ip: IpAddr = "192.0.2.50".parse().unwrap();
        let kinds = |p: &AnnounceParams| -> Vec<(bool, String)> {
            round_frames(ip, MAC, p)
                .iter()
                .map(|f| arp::parse(f).unwrap())
                .map(|m| (m.is_reply, m.target_ip.to_string()))
                .collect()
        };
        let both = kinds(&params(ArpMode::Both, None));
        assert_eq!(both, vec![(false, "192.0.2.50".into()), (true, "192.0.2.50".into())]);
        assert_eq!(kinds(&params(ArpMode::Request, None)), vec![(false, "192.0.2.50".into())]);
        assert_eq!(kinds(&params(ArpMode::Reply, None)), vec![(true, "192.0.2.50".into())]);
        let aimed = kinds(&params(ArpMode::Reply, Some("192.0.2.1")));
        assert_eq!(aimed, vec![(true, "192.0.2.50".into()), (false, "192.0.2.1".into())]);
    }

    #[test]
    fn ipv6_rounds_are_one_advertisement() {
        let ip: IpAddr = "2001:db8::50".parse().unwrap();
        let frames = round_frames(ip, MAC, &params(ArpMode::Both, None));
        assert_eq!(frames.len(), 1);
        assert_eq!(ndp::parse(&frames[0]).unwrap().target.to_string(), "2001:db8::50");
    }
}
