//! Whether the neighbours followed the VIP (see `crate::convergence`): which
//! gateways to ask, and the state that outlives the action. Start asks with
//! its first announcement and never waits for the answer; the rounds that
//! follow (the background announcer's, or start's own without `arp_bg`)
//! listen between rounds; a level-10 monitor asks again until every gateway
//! has answered, and reports degraded meanwhile.

use super::context::Vip;
use super::place::Spot;
use super::wire::Wire;
use crate::convergence::Asking;
use crate::error::{AgentError, AgentResult};
use crate::netlink::{IpFamily, RouteFilter};
use crate::observe::{self, history::Event};
use crate::ocf::{ExitCode, log};
use crate::store::Kind;
use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The longest a level-10 monitor listens for a gateway's answer: one
/// across a switch takes well under this.
const MONITOR_LISTEN: Duration = Duration::from_millis(200);

/// Since the address was added: who was asked, who has not answered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Convergence {
    pub gateways: Vec<IpAddr>,
    /// When the address was added, in milliseconds since the epoch (whole
    /// milliseconds: the state file must read back exactly as written).
    pub since_ms: u64,
    pub pending: Vec<IpAddr>,
    /// From the add to the last gateway's answer, once every one answered.
    pub after_ms: Option<u64>,
    /// The announcement window ended with a gateway silent (reported once).
    pub window_ended: bool,
}

impl Convergence {
    pub fn is_proven(&self) -> bool {
        self.after_ms.is_some()
    }

    /// The gateways still silent, for a message.
    pub fn silent(&self) -> String {
        self.pending.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", ")
    }

    /// The question still to be asked, if any.
    pub fn asking(&self, vip: IpAddr) -> Option<Asking> {
        (!self.is_proven()).then(|| Asking::new(vip, &self.pending))
    }

    fn elapsed_ms(&self) -> u64 {
        unix_now_ms().saturating_sub(self.since_ms)
    }
}

fn unix_now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0)
}

/// How a series of announcement rounds stands to the announcement window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Window {
    /// More rounds follow (start's first round, before the announcer's).
    Opens,
    /// The last rounds: listen `tail` after the last one, then report a
    /// gateway still silent.
    Closes { tail: Duration },
}

impl<'a> Vip<'a> {
    /// Whether the neighbours followed this VIP.
    pub fn neighbours(&self) -> Neighbours<'a> {
        Neighbours { vip: *self }
    }
}

/// Whether the neighbours followed one VIP: the gateways it asks, and the
/// state of their answers across start, the announcer and the level-10
/// monitor.
pub struct Neighbours<'a> {
    vip: Vip<'a>,
}

impl Neighbours<'_> {
    /// The address was just added at `spot`: the gateways to ask from now
    /// on. With none to ask, says so once.
    pub fn begin(&self, spot: Spot) {
        if self.vip.params.cluster_ip.is_some() {
            // Every node answers for a cluster IP: nothing moves.
            return;
        }
        let gateways = self.gateways(spot);
        let ip = self.vip.params.ip;
        let name = self.vip.key.file(Kind::Convergence);
        if gateways.is_empty() {
            log::info(format!(
                "{ip}: no gateway on {} to ask whether neighbours follow it (set arp_target, or route via a gateway in its subnet)",
                spot.site.nic
            ));
            if let Err(err) = self.vip.run_dir().remove(&name) {
                log::warn(format!("removing the convergence state of {ip}: {err}"));
            }
            return;
        }
        let state = Convergence {
            pending: gateways.clone(),
            gateways,
            since_ms: unix_now_ms(),
            after_ms: None,
            window_ended: false,
        };
        observe::convergence_unproven();
        self.save(&state);
    }

    /// `arp_target`, else the gateways of routes through the VIP's
    /// interface that are in its subnet (or, for IPv6, link-local).
    fn gateways(&self, spot: Spot) -> Vec<IpAddr> {
        let ip = self.vip.params.ip;
        if let (IpAddr::V4(_), Some(target)) = (ip, self.vip.params.announce.target) {
            return vec![IpAddr::V4(target)];
        }
        let Ok(subnet) = IpNetwork::new(ip, spot.prefix) else { return Vec::new() };
        // virtual_mac's interface has no routes of its own: its parent's are the link's.
        let filter = RouteFilter::main(IpFamily::of(ip))
            .leaving_by(Some(self.vip.virtual_interface().link_ifindex(spot.site)));
        let routes = match self.vip.nl.routes(&filter) {
            Ok(routes) => routes,
            Err(err) => {
                log::warn(format!(
                    "reading the routes through {} to find its gateways: {err}",
                    spot.site.nic
                ));
                return Vec::new();
            }
        };
        let mut gateways: Vec<IpAddr> = routes
            .iter()
            .filter_map(|route| route.gateway)
            .filter(|gateway| subnet.contains(*gateway) || is_link_local(*gateway))
            .filter(|gateway| *gateway != ip)
            .collect();
        gateways.sort();
        gateways.dedup();
        gateways
    }

    /// This resource's convergence state, if it has one.
    pub fn state(&self) -> Option<Convergence> {
        match self.vip.run_dir().load::<Convergence>(&self.vip.key.file(Kind::Convergence)) {
            Ok(state) => state,
            Err(err) => {
                log::debug(format!("reading the convergence state of {}: {err}", self.vip.params.ip));
                None
            }
        }
    }

    fn save(&self, state: &Convergence) {
        if let Err(err) = self.vip.run_dir().save(&self.vip.key.file(Kind::Convergence), state) {
            log::warn(format!("recording which gateways {} asked: {err}", self.vip.params.ip));
        }
    }

    /// Records what `asking` heard since `state` was read.
    pub fn heard(&self, state: &mut Convergence, asking: &Asking) {
        if asking.pending() == state.pending.as_slice() {
            return;
        }
        state.pending = asking.pending().to_vec();
        if asking.is_done() {
            let after_ms = state.elapsed_ms();
            state.after_ms = Some(after_ms);
            let gateways = state.gateways.iter().map(IpAddr::to_string).collect::<Vec<_>>().join(", ");
            log::debug(format!(
                "{}: neighbours converged after {after_ms} ms ({gateways} answered)",
                self.vip.params.ip
            ));
            observe::converged(Duration::from_millis(after_ms), gateways);
        }
        self.save(state);
    }

    /// The announcement window ended: a gateway still silent is reported
    /// once, in the history and as a warning.
    pub fn window_ended(&self, state: &mut Convergence) {
        if state.is_proven() || state.window_ended {
            return;
        }
        state.window_ended = true;
        let silent = state.silent();
        log::warn(format!(
            "{}: no answer from {silent} within {} ms of the move: that gateway may still send the VIP's traffic to its previous node",
            self.vip.params.ip,
            state.elapsed_ms()
        ));
        observe::event(Event::Unconverged { silent });
        self.save(state);
    }

    /// OCF_CHECK_LEVEL 10: asks the gateways still silent once more, and
    /// reports degraded while one stays silent.
    pub fn check(&self, spot: Spot) -> AgentResult<()> {
        let Some(mut state) = self.state() else { return Ok(()) };
        let Some(mut asking) = state.asking(self.vip.params.ip) else { return Ok(()) };
        if let Some(wire) = Wire::open(&self.vip, spot.site)? {
            let listen = MONITOR_LISTEN.min(self.vip.inv.budget.remaining());
            let pacer = self.vip.pacer(spot.site.ifindex, &spot.site.nic);
            wire.ask(&pacer, &mut asking, Instant::now() + listen)?;
            self.heard(&mut state, &asking);
        }
        if state.is_proven() {
            return Ok(());
        }
        let problem = format!(
            "{} is up on {}, but {} has not answered it since the move {} ms ago: neighbours may still send its traffic to the previous node",
            self.vip.params.ip,
            spot.site.nic,
            state.silent(),
            state.elapsed_ms()
        );
        if !self.vip.inv.env.degraded_supported {
            // A plain failure would restart a VIP that is up.
            log::warn(problem);
            return Ok(());
        }
        Err(AgentError::new(ExitCode::Degraded, problem))
    }
}

fn is_link_local(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.segments()[0] & 0xffc0 == 0xfe80)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state(pending: &[&str]) -> Convergence {
        let pending: Vec<IpAddr> = pending.iter().map(|p| p.parse().unwrap()).collect();
        Convergence {
            gateways: pending.clone(),
            since_ms: unix_now_ms() - 1500,
            pending,
            after_ms: None,
            window_ended: false,
        }
    }

    #[test]
    fn the_state_reads_back_as_written() {
        let mut written = state(&["192.0.2.254", "192.0.2.253"]);
        written.after_ms = Some(12);
        let text = serde_json::to_string(&written).unwrap();
        assert_eq!(serde_json::from_str::<Convergence>(&text).unwrap(), written);
    }

    #[test]
    fn a_proven_state_asks_nothing_and_an_unproven_one_asks_the_silent_gateways() {
        let vip: IpAddr = "192.0.2.50".parse().unwrap();
        let unproven = state(&["192.0.2.254"]);
        assert_eq!(unproven.asking(vip).map(|a| a.pending().to_vec()), Some(unproven.pending.clone()));
        assert_eq!(unproven.silent(), "192.0.2.254");
        let elapsed = unproven.elapsed_ms();
        assert!((1500..60_000).contains(&elapsed), "{elapsed}");
        let proven = Convergence { after_ms: Some(3), ..unproven };
        assert!(proven.asking(vip).is_none());
    }

    #[test]
    fn only_ipv6_gateways_in_fe80_10_are_link_local() {
        assert!(is_link_local("fe80::1".parse().unwrap()));
        assert!(is_link_local("febf::1".parse().unwrap()));
        assert!(!is_link_local("fec0::1".parse().unwrap()));
        assert!(!is_link_local("2001:db8::1".parse().unwrap()));
        assert!(!is_link_local("169.254.0.1".parse().unwrap()));
    }
}
