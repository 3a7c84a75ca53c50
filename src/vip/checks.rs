//! The checks of a VIP beyond its place (`Checks`): reachability
//! (OCF_CHECK_LEVEL 10, and the end of start with `ping_on_start`), the
//! conflict watch (OCF_CHECK_LEVEL 20), and a start's maintenance-address
//! rule. The address itself is fine when the deep checks run; what they
//! find, and what the parts report as drifted, is answered as OCF 1.1's
//! "degraded" where Pacemaker understands it.

use super::context::Vip;
use super::place::{Site, Spot, Target};
use super::wire::Wire;
use crate::error::{AgentError, AgentResult, Doing};
use crate::netlink::IpFamily;
use crate::observe::history::Event;
use crate::ocf::{ExitCode, log};
use crate::probe::{ProbeOutcome, ProbePlan};
use crate::reach::{self, PingPlan, Reach};
use crate::store::Kind;
use ipnetwork::IpNetwork;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

/// The monitor depth that adds the reachability check.
pub const LEVEL_REACHABILITY: u32 = 10;
/// The monitor depth that adds the conflict watch.
pub const LEVEL_CONFLICTS: u32 = 20;
/// The shortest time the conflict watch listens after its last probe: an
/// answer from across a switch takes well under this.
const CONFLICT_LISTEN: Duration = Duration::from_millis(100);

impl<'a> Vip<'a> {
    /// The checks of this VIP beyond its place: reachability, conflicts,
    /// the maintenance address, and how monitor reports what they find.
    pub fn checks(&self) -> Checks<'a> {
        Checks { vip: *self }
    }
}

/// The checks of one VIP beyond its place, and the monitor's verdicts on
/// what they and the parts find.
pub struct Checks<'a> {
    vip: Vip<'a>,
}

impl Checks<'_> {
    /// `ping_on_start`: the VIP must reach the network before start succeeds.
    pub fn ping_after_start(&self, spot: Spot) -> AgentResult<()> {
        match self.unreachable(spot)? {
            None => Ok(()),
            Some(problem) => Err(AgentError::generic(format!("{problem}; ping_on_start fails the start"))),
        }
    }

    /// Runs the checks the monitor's depth asks for on a VIP that is up at `spot`.
    pub fn deep(&self, spot: Spot) -> AgentResult<()> {
        let level = self.vip.inv.env.check_level;
        // In a cluster IP every node answers for the VIP: no conflict to watch.
        if level >= LEVEL_CONFLICTS && self.vip.params.cluster_ip.is_none() {
            self.conflict_watch(spot)?;
        }
        if level >= LEVEL_REACHABILITY {
            self.vip.neighbours().check(spot)?;
            if !self.vip.params.ping.is_configured() {
                // Depth 20 may be meant for the conflict watch alone.
                if level < LEVEL_CONFLICTS {
                    log::warn(format!(
                        "OCF_CHECK_LEVEL {level} asks for a reachability check, but neither ping_list nor ping_broadcast is set"
                    ));
                }
                return Ok(());
            }
            if let Some(problem) = self.unreachable(spot)? {
                return Err(self.degraded(problem));
            }
        }
        Ok(())
    }

    /// What drifted since start while the VIP still serves (each part says
    /// whether it was put back): recorded, and OCF_DEGRADED for a cluster
    /// that understands it; for others a warning and success, since a
    /// plain failure would make Pacemaker restart a VIP that serves.
    pub fn report_drift(&self, drifted: &[String]) -> AgentResult<ExitCode> {
        let reason = format!("{}: {}", self.vip.params.ip, drifted.join("; "));
        crate::observe::event(Event::Drifted { detail: drifted.join("; ") });
        if self.vip.inv.env.degraded_supported {
            return Err(AgentError::new(ExitCode::Degraded, reason));
        }
        log::warn(reason);
        Ok(ExitCode::Success)
    }

    /// The watcher put the address back since the last monitor: said once,
    /// as OCF_DEGRADED to a caller that understands it (Pacemaker records
    /// it without a recovery), else as a warning.
    pub fn report_repair(&self, notice: String) -> AgentResult<ExitCode> {
        if self.vip.inv.env.degraded_supported {
            return Err(AgentError::new(ExitCode::Degraded, notice));
        }
        log::warn(notice);
        Ok(ExitCode::Success)
    }

    /// A check failed while the address is fine: OCF_DEGRADED for a cluster
    /// that understands it, a plain failure otherwise.
    fn degraded(&self, problem: String) -> AgentError {
        let exit =
            if self.vip.inv.env.degraded_supported { ExitCode::Degraded } else { ExitCode::ErrGeneric };
        AgentError::new(exit, problem)
    }

    /// Pings from the VIP; `None` when a host other than this node
    /// answered, otherwise who did not answer.
    pub fn unreachable(&self, spot: Spot) -> AgentResult<Option<String>> {
        let params = self.vip.params;
        let (targets, described) = self.ping_targets(spot)?;
        let plan = PingPlan { targets, ifindex: spot.site.ifindex, timeout: params.ping.timeout };
        // Asked only when an answer comes, which a silent network never sends.
        let is_local = |ip: IpAddr| {
            self.vip.nl.address_entries(spot.site.ifindex, ip).is_ok_and(|entries| !entries.is_empty())
                || self.vip.nl.local_address_holder(ip).is_ok_and(|holder| holder.is_some())
        };
        let outcome = reach::ping(params.ip, &plan, self.vip.inv.budget.deadline(), is_local)
            .doing(|| format!("pinging {described} from {}", params.ip))?;
        let unreachable = match outcome {
            Reach::Answered { by } => {
                log::debug(format!("{by} answered a ping from {}", params.ip));
                None
            }
            Reach::Silent => Some(format!(
                "{} is up on {}, but {described} did not answer a ping from it within {} ms",
                params.ip,
                spot.site.nic,
                params.ping.timeout.as_millis()
            )),
        };
        self.note_reachability(unreachable.as_deref());
        Ok(unreachable)
    }

    /// Counts a failed check, and records in the history when reachability
    /// changed since the last check that recorded it.
    fn note_reachability(&self, unreachable: Option<&str>) {
        if unreachable.is_some() {
            crate::observe::count("reachability_failures", 1);
        }
        let was_lost = crate::observe::reachability_was_lost(&self.vip.run_dir(), self.vip.key);
        match (unreachable, was_lost) {
            (Some(detail), false) => {
                crate::observe::event(Event::ReachabilityLost { detail: detail.to_string() })
            }
            (None, true) => crate::observe::event(Event::ReachabilityRegained),
            _ => {}
        }
    }

    /// The addresses to ping and how to name them in a reason.
    pub fn ping_targets(&self, spot: Spot) -> AgentResult<(Vec<IpAddr>, String)> {
        let params = self.vip.params;
        if !params.ping.hosts.is_empty() {
            let names: Vec<String> = params.ping.hosts.iter().map(IpAddr::to_string).collect();
            let described = match names.len() {
                1 => format!("ping_list host {}", names[0]),
                _ => format!("none of the ping_list hosts ({})", names.join(", ")),
            };
            return Ok((params.ping.hosts.clone(), described));
        }
        let broadcast = match params.ip {
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1)),
            // /31 and /32 have no broadcast address, whatever is configured.
            IpAddr::V4(_) if spot.prefix >= 31 => return Err(self.no_broadcast(spot.prefix)),
            IpAddr::V4(v4) => match self.configured_broadcast(spot) {
                Some(broadcast) => IpAddr::V4(broadcast),
                None => match IpNetwork::new(IpAddr::V4(v4), spot.prefix) {
                    Ok(IpNetwork::V4(net)) => IpAddr::V4(net.broadcast()),
                    _ => return Err(self.no_broadcast(spot.prefix)),
                },
            },
        };
        Ok((vec![broadcast], format!("nobody on the broadcast address {broadcast}")))
    }

    /// The broadcast the address carries on its interface, if it is up.
    fn configured_broadcast(&self, spot: Spot) -> Option<std::net::Ipv4Addr> {
        let on_nic = self.vip.nl.addresses(spot.site.ifindex, IpFamily::V4).ok()?;
        on_nic
            .iter()
            .find(|a| a.ip == self.vip.params.ip && a.prefix == spot.prefix)
            .and_then(|a| a.broadcast)
    }

    fn no_broadcast(&self, prefix: u8) -> AgentError {
        AgentError::configured(format!(
            "ping_broadcast: {}/{prefix} has no broadcast address; set ping_list instead",
            self.vip.params.ip
        ))
    }

    /// Microsoft's and ClusterCATS' rule: a node keeps an address of its own
    /// beside the VIP. A warning, or an error with require_maintenance_address.
    pub fn maintenance_address(&self, target: &Target) -> AgentResult<()> {
        let params = self.vip.params;
        let subnet =
            IpNetwork::new(params.ip, target.prefix).map_err(|e| AgentError::generic(e.to_string()))?;
        let addresses = self
            .vip
            .nl
            .addresses(target.ifindex(), params.family())
            .doing(|| format!("listing the addresses of {}", target.nic()))?;
        if addresses.iter().any(|a| a.ip != params.ip && subnet.contains(a.ip)) {
            return Ok(());
        }
        let problem = format!(
            "{} would be the only address of {} in its subnet: without a maintenance address of its own the node is unreachable there whenever the VIP moves",
            params.ip,
            target.nic()
        );
        if params.require_maintenance_address {
            return Err(AgentError::configured(problem));
        }
        log::warn(problem);
        Ok(())
    }

    /// Asks the link whether another MAC claims the VIP; on a conflict,
    /// announces this node again and fails naming the other MAC. The first
    /// watch that hears no other claimant after one did announces this node
    /// once more: neighbours that followed the other claimant's last word
    /// (a split brain that healed with this node keeping the VIP, a rogue
    /// host gone) would otherwise keep sending to a MAC that no longer
    /// answers until their own cache gives up, seconds later.
    fn conflict_watch(&self, spot: Spot) -> AgentResult<()> {
        let probing = self.vip.virtual_interface().probing_site(spot.site)?;
        let Some(wire) = Wire::open(&self.vip, &probing)? else {
            log::debug(format!("no ARP/NDP on {}: nothing to watch for conflicts", probing.nic));
            return Ok(());
        };
        let probe = &self.vip.params.probe;
        let plan = ProbePlan {
            initial_delay: Duration::ZERO,
            count: probe.count.max(1),
            interval: probe.interval,
            wait: probe.wait.max(CONFLICT_LISTEN),
        };
        let (ip, run_dir, heard) =
            (self.vip.params.ip, self.vip.run_dir(), self.vip.key.file(Kind::Conflict));
        let ProbeOutcome::InUse { mac } = self.vip.probing().run(&wire, &plan)? else {
            let Ok(Some(other)) = run_dir.read_capped(&heard, 64) else { return Ok(()) };
            log::info(format!(
                "{other} no longer claims {ip} on the link of {}; announcing this node again for the neighbours that followed it",
                spot.site.nic
            ));
            self.announce_again(spot, &probing, wire);
            if let Err(err) = run_dir.remove(&heard) {
                log::warn(format!("forgetting the conflict over {ip}: {err}"));
            }
            return Ok(());
        };
        let other = mac.to_string();
        log::error(format!(
            "{other} claims {ip} on the link of {}; announcing this node again",
            spot.site.nic
        ));
        if let Err(err) = run_dir.write(&heard, &other) {
            log::warn(format!("recording the conflict over {ip}: {err}"));
        }
        self.announce_again(spot, &probing, wire);
        Err(AgentError::generic(format!(
            "address conflict: {other} also claims {ip} on the link of {} (split brain or a rogue host); this node announced itself again",
            spot.site.nic
        )))
    }

    /// Announces the VIP at `spot` again, from its own interface when it has
    /// one (the probes' `wire`, on `probing`, is then its parent's).
    fn announce_again(&self, spot: Spot, probing: &Site, wire: Wire) {
        let wire = if probing.ifindex == spot.site.ifindex {
            Ok(Some(wire))
        } else {
            Wire::open(&self.vip, spot.site)
        };
        let count = self.vip.params.announce.count;
        if let Err(err) = wire.and_then(|wire| self.vip.announcing().announce(spot, count, wire)) {
            log::warn(format!("re-announcing {}: {}", self.vip.params.ip, err.reason));
        }
    }
}
