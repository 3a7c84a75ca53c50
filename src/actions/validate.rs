//! `validate-all`: every check start would make, without changing anything.

use super::{Invocation, connect, node_lacks, parse_params};
use crate::discover;
use crate::error::AgentError;
use crate::error::AgentResult;
use crate::inspect::{self, Lookup, Need, Target};
use crate::netlink::Netlink;
use crate::ocf::{ExitCode, log};
use crate::params::Params;
use crate::params::Strictness;

pub(super) fn run(inv: &Invocation) -> AgentResult<ExitCode> {
    let params = parse_params(inv, Strictness::Strict)?;
    for name in &inv.raw.unknown {
        log::warn(format!("unknown parameter {} is ignored", crate::ocf::log::printable(name)));
    }
    if let Some(cip) = &params.cluster_ip {
        super::clone::check_installed(&params, cip)?;
    }
    let nl = match connect(inv, &params)? {
        Ok(nl) => nl,
        Err(code) => return Ok(code),
    };
    if params.allow_missing_subnet && !super::multisite::subnet_present(&nl, &params)? {
        log::warn(format!(
            "this node has no interface on the subnet of {}: start will succeed without configuring it (allow_missing_subnet)",
            params.ip
        ));
        return Ok(ExitCode::Success);
    }
    match inspect::lookup(&nl, &params, Need::FullTarget)? {
        Lookup::NicMissing(nic) => node_lacks(inv, format!("nic {nic} does not exist on this node")),
        Lookup::NoNetwork => node_lacks(inv, discover::no_network_error(&params).reason),
        Lookup::Found { target, .. } => {
            maintenance_address_check(&nl, &params, &target)?;
            ping_list_check(&nl, &params, &target)?;
            log::debug(format!(
                "{} would go on {} as /{}",
                params.ip,
                target.nic,
                target.prefix.unwrap_or_default()
            ));
            Ok(ExitCode::Success)
        }
    }
}

/// Microsoft's and ClusterCATS' rule: a node keeps an address of its own
/// beside the VIP. A warning, or an error with require_maintenance_address.
pub(super) fn maintenance_address_check(nl: &Netlink, params: &Params, target: &Target) -> AgentResult<()> {
    if inspect::has_maintenance_address(nl, params, target)? {
        return Ok(());
    }
    let problem = format!(
        "{} would be the only address of {} in its subnet: without a maintenance address of its own the node is unreachable there whenever the VIP moves",
        params.ip, target.nic
    );
    if params.require_maintenance_address {
        return Err(AgentError::configured(problem));
    }
    log::warn(problem);
    Ok(())
}

/// The reachability check needs someone else to answer: a listed address
/// of this node answers whatever the network does (LifeKeeper's advice).
fn ping_list_check(nl: &Netlink, params: &Params, target: &Target) -> AgentResult<()> {
    if params.ping.is_configured() {
        super::checks::ping_targets(params, target, target.prefix.unwrap_or_default())?;
    }
    for host in &params.ping.hosts {
        if let Ok(Some(ifindex)) = nl.local_address_holder(*host) {
            log::warn(format!(
                "ping_list host {host} is an address of this node ({}): its answer proves nothing about the network",
                crate::discover::ifname_of(ifindex)
            ));
        }
    }
    Ok(())
}
