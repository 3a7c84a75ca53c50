//! The deep checks of a VIP that is up: reachability (OCF_CHECK_LEVEL 10,
//! and the end of start with `ping_on_start`) and the conflict watch
//! (OCF_CHECK_LEVEL 20). The address itself is fine when these run; what
//! they find is reported as OCF 1.1's "degraded" where Pacemaker
//! understands it.

use super::Invocation;
use super::announcing::{self, Wire};
use crate::error::{AgentError, AgentResult, Doing};
use crate::inspect::Target;
use crate::netlink::Netlink;
use crate::ocf::{ExitCode, log};
use crate::packet::mac_string;
use crate::params::Params;
use crate::probe::{ProbeOutcome, ProbePlan};
use crate::reach::{self, PingPlan, Reach};
use ipnetwork::IpNetwork;
use std::net::{IpAddr, Ipv6Addr};
use std::time::Duration;

/// The monitor depth that adds the reachability check.
pub(super) const LEVEL_REACHABILITY: u32 = 10;
/// The monitor depth that adds the conflict watch.
pub(super) const LEVEL_CONFLICTS: u32 = 20;
/// The shortest time the conflict watch listens after its last probe: an
/// answer from across a switch takes well under this.
const CONFLICT_LISTEN: Duration = Duration::from_millis(100);

/// Runs the checks the monitor's depth asks for on a VIP that is up, with
/// `prefix` as configured on `target`.
pub(super) fn run(
    nl: &Netlink,
    params: &Params,
    target: &Target,
    prefix: u8,
    inv: &Invocation,
) -> AgentResult<()> {
    let level = inv.env.check_level;
    // In a cluster IP every node answers for the VIP: no conflict to watch.
    if level >= LEVEL_CONFLICTS && params.cluster_ip.is_none() {
        conflict_watch(nl, params, target, inv)?;
    }
    if level >= LEVEL_REACHABILITY {
        if !params.ping.is_configured() {
            // Depth 20 may be meant for the conflict watch alone.
            if level < LEVEL_CONFLICTS {
                log::warn(format!(
                    "OCF_CHECK_LEVEL {level} asks for a reachability check, but neither ping_list nor ping_broadcast is set"
                ));
            }
            return Ok(());
        }
        if let Some(problem) = unreachable(nl, params, target, prefix, inv)? {
            return Err(degraded(inv, problem));
        }
    }
    Ok(())
}

/// A check failed while the address is fine: OCF_DEGRADED for a cluster
/// that understands it, a plain failure otherwise.
fn degraded(inv: &Invocation, problem: String) -> AgentError {
    let exit = if inv.env.degraded_supported { ExitCode::Degraded } else { ExitCode::ErrGeneric };
    AgentError::new(exit, problem)
}

/// Pings from the VIP; `None` when a host other than this node answered,
/// otherwise who did not answer.
pub(super) fn unreachable(
    nl: &Netlink,
    params: &Params,
    target: &Target,
    prefix: u8,
    inv: &Invocation,
) -> AgentResult<Option<String>> {
    let (targets, described) = ping_targets(params, target, prefix)?;
    let plan = PingPlan { targets, ifindex: target.ifindex, timeout: params.ping.timeout };
    // Read only once an answer comes, which a silent network never sends.
    let own = std::cell::OnceCell::new();
    let is_local = |ip: IpAddr| {
        own.get_or_init(|| nl.addresses(target.ifindex, params.is_ipv4()).unwrap_or_default())
            .iter()
            .any(|a| a.ip == ip)
            || nl.local_address_holder(ip).is_ok_and(|holder| holder.is_some())
    };
    let outcome = reach::ping(params.ip, &plan, inv.budget.deadline(), is_local)
        .doing(|| format!("pinging {described} from {}", params.ip))?;
    Ok(match outcome {
        Reach::Answered { by } => {
            log::debug(format!("{by} answered a ping from {}", params.ip));
            None
        }
        Reach::Silent => Some(format!(
            "{} is up on {}, but {described} did not answer a ping from it within {} ms",
            params.ip,
            target.nic,
            params.ping.timeout.as_millis()
        )),
    })
}

/// The addresses to ping and how to name them in a reason.
pub(super) fn ping_targets(
    params: &Params,
    target: &Target,
    prefix: u8,
) -> AgentResult<(Vec<IpAddr>, String)> {
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
        IpAddr::V4(_) if prefix >= 31 => return Err(no_broadcast(params, prefix)),
        IpAddr::V4(v4) => match (target.broadcast, IpNetwork::new(IpAddr::V4(v4), prefix)) {
            (Some(broadcast), _) => IpAddr::V4(broadcast),
            (None, Ok(IpNetwork::V4(net))) => IpAddr::V4(net.broadcast()),
            (None, _) => return Err(no_broadcast(params, prefix)),
        },
    };
    Ok((vec![broadcast], format!("nobody on the broadcast address {broadcast}")))
}

fn no_broadcast(params: &Params, prefix: u8) -> AgentError {
    AgentError::configured(format!(
        "ping_broadcast: {}/{prefix} has no broadcast address; set ping_list instead",
        params.ip
    ))
}

/// Asks the link whether another MAC claims the VIP; on a conflict,
/// announces this node again and fails naming the other MAC.
fn conflict_watch(nl: &Netlink, params: &Params, target: &Target, inv: &Invocation) -> AgentResult<()> {
    let Some(wire) = Wire::open(nl, params, target)? else {
        log::debug(format!("no ARP/NDP on {}: nothing to watch for conflicts", target.nic));
        return Ok(());
    };
    let plan = ProbePlan {
        initial_delay: Duration::ZERO,
        count: params.probe.count.max(1),
        interval: params.probe.interval,
        wait: params.probe.wait.max(CONFLICT_LISTEN),
    };
    let ProbeOutcome::InUse { mac } = announcing::run_probe(nl, params, &wire, &plan, inv)? else {
        return Ok(());
    };
    let other = mac_string(&mac);
    log::error(format!(
        "{other} claims {} on the link of {}; announcing this node again",
        params.ip, target.nic
    ));
    if let Err(err) = announcing::announce(nl, params, target, inv, params.announce.count, Some(wire)) {
        log::warn(format!("re-announcing {}: {}", params.ip, err.reason));
    }
    Err(AgentError::generic(format!(
        "address conflict: {other} also claims {} on the link of {} (split brain or a rogue host); this node announced itself again",
        params.ip, target.nic
    )))
}
