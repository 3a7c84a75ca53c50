//! `preferred_source`: while the VIP runs it is the preferred source
//! address of the routes onto its subnet (LifeKeeper's "source address"
//! setting), so connections this node opens there come from the VIP.
//!
//! The kernel deletes every route whose preferred source is an address
//! being removed, so the routes must be given back before the VIP goes.
//! Start saves each route's original message in HA_RSCTMP before changing
//! it; stop puts back, byte for byte, those that still carry the VIP (or
//! that the VIP's removal took away), and leaves alone any route someone
//! changed since.

use super::{Invocation, run_dir, state_file_name};
use crate::error::{AgentError, AgentResult, Doing};
use crate::inspect::Target;
use crate::netlink::{Netlink, SavedRoute};
use crate::ocf::log;
use crate::params::Params;
use ipnetwork::IpNetwork;

fn record(params: &Params) -> String {
    state_file_name("srcroutes", params)
}

/// Makes the VIP the preferred source of its subnet's routes on its NIC.
pub(super) fn take_over(
    nl: &Netlink,
    params: &Params,
    target: &Target,
    prefix: u8,
    inv: &Invocation,
) -> AgentResult<()> {
    let subnet = IpNetwork::new(params.ip, prefix)
        .map_err(|err| AgentError::configured(format!("{}/{prefix}: {err}", params.ip)))?;
    let routes = nl
        .subnet_routes(target.ifindex, subnet)
        .doing(|| format!("reading the routes onto {subnet} on {}", target.nic))?;
    if routes.is_empty() {
        log::warn(format!("no route onto {subnet} on {}: {} is the source of none", target.nic, params.ip));
        return Ok(());
    }
    let to_change: Vec<SavedRoute> =
        routes.into_iter().filter(|route| route.preferred_source() != Some(params.ip)).collect();
    if to_change.is_empty() {
        return Ok(());
    }
    // Saved before anything changes: a start killed half-way still leaves
    // stop what it needs. Originals from an earlier start are kept.
    let dir = run_dir(inv);
    let mut saved = load(inv, params)?;
    for route in &to_change {
        if !saved.iter().any(|kept| kept.same_route(route)) {
            saved.push(route.clone());
        }
    }
    let text: String = saved.iter().map(|route| route.encode() + "\n").collect();
    dir.write(&record(params), &text).doing(|| format!("saving the routes onto {subnet}"))?;
    for route in &to_change {
        nl.replace_route(&route.with_preferred_source(Some(params.ip)))
            .doing(|| format!("making {} the source of route {}", params.ip, route.describe()))?;
        log::info(format!("{} is the preferred source of route {} now", params.ip, route.describe()));
    }
    Ok(())
}

/// Puts back the routes `take_over` changed. Never fails: the address must
/// go whatever happens to the routes; what cannot be restored is logged.
pub(super) fn give_back(nl: &Netlink, params: &Params, inv: &Invocation) {
    let saved = match load(inv, params) {
        Ok(saved) if saved.is_empty() => return,
        Ok(saved) => saved,
        Err(err) => {
            log::error(err.reason);
            return;
        }
    };
    for original in &saved {
        if let Err(err) = restore(nl, params, original) {
            log::error(err.reason);
        }
    }
    if let Err(err) = run_dir(inv).remove(&record(params)) {
        log::warn(format!("removing the saved routes of {}: {err}", params.ip));
    }
}

fn restore(nl: &Netlink, params: &Params, original: &SavedRoute) -> AgentResult<()> {
    let current = match (original.oif(), original.network()) {
        (Some(oif), Some(network)) => nl
            .subnet_routes(oif, network)
            .doing(|| format!("reading route {}", original.describe()))?
            .into_iter()
            .find(|route| route.same_route(original)),
        _ => None,
    };
    match current {
        Some(route) if route.preferred_source() != Some(params.ip) => {
            log::info(format!(
                "route {} was changed since {} started; leaving it as it is",
                original.describe(),
                params.ip
            ));
            Ok(())
        }
        _ => {
            let restored = nl.replace_route(original).or_else(|_| {
                // Its old source may be gone meanwhile: let the kernel choose.
                nl.replace_route(&original.with_preferred_source(None))
            });
            restored.doing(|| format!("restoring route {}", original.describe()))?;
            log::info(format!("restored route {}", original.describe()));
            Ok(())
        }
    }
}

fn load(inv: &Invocation, params: &Params) -> AgentResult<Vec<SavedRoute>> {
    let text = run_dir(inv)
        .read(&record(params))
        .doing(|| format!("reading the saved routes of {}", params.ip))?
        .unwrap_or_default();
    text.lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| SavedRoute::decode(line).doing(|| format!("reading the saved routes of {}", params.ip)))
        .collect()
}
