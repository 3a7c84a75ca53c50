//! `stop`: remove exactly the address this resource manages, then undo
//! its side effects. Every step is tried even if an earlier one failed, and
//! all failures are reported together.

use super::{
    Action, Invocation, announcing, connect, lvs, multisite, node_lacks, parse_params, require_root, run_dir,
    source_routes,
};
use crate::error::{AgentError, AgentResult};
use crate::inspect::{self, Lookup, Need, State, Target};
use crate::netlink::{AddressEntry, Netlink, libc_errno};
use crate::ocf::{ExitCode, log};
use crate::params::{Params, Strictness};
use ipnetwork::IpNetwork;

pub(super) fn run(inv: &Invocation) -> AgentResult<ExitCode> {
    require_root(Action::Stop)?;
    let params = match parse_params(inv, Strictness::Lenient) {
        Ok(params) => params,
        // Nothing could have been started with such parameters.
        Err(err) if err.exit == ExitCode::ErrConfigured => {
            log::warn(format!("{}; nothing to stop", err.reason));
            return Ok(ExitCode::Success);
        }
        Err(err) => return Err(err),
    };
    // First, so that no announcement can follow the removal.
    announcing::stop_background(&params, inv);
    if params.allow_missing_subnet {
        // A leftover record must not fail a stop (and get the node fenced).
        if let Err(err) = multisite::clear(inv, &params) {
            log::warn(err.reason);
        }
    }
    let nl = match connect(inv, &params)? {
        Ok(nl) => nl,
        Err(code) => return Ok(code),
    };
    // Before the address goes, or the kernel deletes those routes with it;
    // and also when it is gone already, which took them away.
    source_routes::give_back(&nl, &params, inv);
    if let Some(cip) = &params.cluster_ip {
        return super::clone::stop(&nl, &params, cip, inv);
    }
    let mut failures = Vec::new();
    match inspect::lookup(&nl, &params, Need::StateOnly)? {
        Lookup::NicMissing(nic) => return node_lacks(inv, format!("nic {nic} does not exist on this node")),
        Lookup::NoNetwork => log::debug(format!("{} is not configured on this node", params.ip)),
        Lookup::Found { target, state } => match state {
            State::Configured(entry) => {
                if let Err(err) = remove(&nl, &params, &target, &entry) {
                    failures.push(err.reason);
                }
            }
            State::Absent => log::debug(format!("{} is not configured on {}", params.ip, target.nic)),
            State::WrongPrefix(entry) => log::warn(format!(
                "{}/{} on {} has another prefix than this resource's; leaving it alone",
                entry.ip, entry.prefix, target.nic
            )),
            State::Elsewhere { nic } => log::warn(format!(
                "{} is configured on {nic}, not on this resource's nic {}; leaving it alone",
                params.ip, target.nic
            )),
        },
    }
    if let Some(value) = params.lvs.ipv6_label {
        match nl.address_label(false, params.ip, value) {
            Err(err) if !matches!(err.errno(), Some(libc_errno::ESRCH) | Some(libc_errno::ENOENT)) => {
                log::debug(format!("removing the IPv6 address label of {}: {err}", params.ip));
            }
            _ => {}
        }
    }
    if params.lvs.support {
        if let Err(err) = lvs::give_back_to_loopback(&nl, &params, &run_dir(inv)) {
            failures.push(err.reason);
        }
    }
    if failures.is_empty() { Ok(ExitCode::Success) } else { Err(AgentError::generic(failures.join("; "))) }
}

/// Deletes the VIP from its NIC and flushes the route cache if asked.
fn remove(nl: &Netlink, params: &Params, target: &Target, entry: &AddressEntry) -> AgentResult<()> {
    if entry.ip.is_ipv4() && !entry.is_secondary() {
        keep_secondaries_alive(nl, target, entry);
    }
    log::info(format!("Removing {}/{} from {}", entry.ip, entry.prefix, target.nic));
    match nl.delete_address(entry.ip, entry.prefix, target.ifindex) {
        Ok(()) => {}
        // Someone removed it between our look and our delete: it is gone, as wanted.
        Err(err) if err.errno() == Some(libc_errno::EADDRNOTAVAIL) => {}
        Err(err) => {
            return Err(AgentError::generic(format!(
                "Unable to remove IP [{}/{}] from interface [{}]: {err}",
                entry.ip, entry.prefix, target.nic
            )));
        }
    }
    if params.flush_routes {
        flush_route_cache(params);
    }
    Ok(())
}

/// Deleting a primary IPv4 address makes the kernel delete the secondary
/// addresses of its subnet too — possibly other resources' VIPs — unless
/// promote_secondaries is on. Turn it on for this NIC in that case.
fn keep_secondaries_alive(nl: &Netlink, target: &Target, entry: &AddressEntry) {
    let Ok(subnet) = IpNetwork::new(entry.ip, entry.prefix) else { return };
    let Ok(addresses) = nl.addresses(target.ifindex, true) else { return };
    let has_secondaries =
        addresses.iter().any(|a| a.ip != entry.ip && a.is_secondary() && subnet.contains(a.ip));
    if !has_secondaries {
        return;
    }
    let sysctl = |scope: &str| format!("/proc/sys/net/ipv4/conf/{scope}/promote_secondaries");
    let enabled = |scope: &str| std::fs::read_to_string(sysctl(scope)).is_ok_and(|v| v.trim() == "1");
    if enabled("all") || enabled(&target.nic) {
        return;
    }
    log::info(format!(
        "{} is the primary address of its subnet on {}; enabling promote_secondaries there so the other addresses survive its removal",
        entry.ip, target.nic
    ));
    if let Err(err) = std::fs::write(sysctl(&target.nic), "1") {
        log::warn(format!("could not enable promote_secondaries on {}: {err}", target.nic));
    }
}

/// `flush_routes`: what `ip route flush cache` does, for the VIP's family.
fn flush_route_cache(params: &Params) {
    let family = if params.is_ipv4() { "ipv4" } else { "ipv6" };
    let path = format!("/proc/sys/net/{family}/route/flush");
    if let Err(err) = std::fs::write(&path, "-1") {
        log::warn(format!("flushing the route cache ({path}) failed: {err}"));
    }
}
