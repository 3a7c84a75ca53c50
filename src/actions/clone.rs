//! The cluster IP (a clone with clone-max > 1, IPaddr2's load sharing):
//! each instance serves one hash bucket of the VIP's traffic. All
//! instances on a node share the address and the filter's common rules;
//! the first to start creates them, the last to stop removes them, under a
//! lock, so that instances moving between nodes only add and remove their
//! own bucket rule.

use super::start::{self, Prepared};
use super::{Invocation, run_dir, state_file_name};
use crate::cluster_ip::{Plan, find_program};
use crate::error::{AgentError, AgentResult, Doing};
use crate::inspect::{self, Lookup, Need, State, Target};
use crate::netlink::Netlink;
use crate::ocf::{ExitCode, log};
use crate::params::{ClusterHash, ClusterIpParams, Params};

/// The plan for this instance, with the VIP on `nic`.
pub(super) fn plan(params: &Params, cip: &ClusterIpParams, nic: &str) -> Plan {
    Plan::new(params.ip, nic, cip, find_program("nft").is_some())
}

/// Serialises the instances of one VIP on this node. The lock is inherited
/// by the filter programs we run: if this agent is killed while `nft` runs,
/// the next instance waits until that `nft` has finished too, instead of
/// racing it (two setups would leave two drop rules).
fn lock(inv: &Invocation, params: &Params) -> AgentResult<nix::fcntl::Flock<std::fs::File>> {
    use nix::fcntl::{FcntlArg, FdFlag, fcntl};
    let lock = run_dir(inv)
        .lock(&state_file_name("clusterip-lock", params))
        .doing(|| format!("locking the cluster IP {}", params.ip))?;
    fcntl(&*lock, FcntlArg::F_SETFD(FdFlag::empty()))
        .doing(|| format!("sharing the lock of {} with the filter programs", params.ip))?;
    Ok(lock)
}

/// Whether the filter program this plan needs is installed.
pub(super) fn check_installed(params: &Params, cip: &ClusterIpParams) -> AgentResult<()> {
    let program = plan(params, cip, "").program();
    if find_program(program).is_none() {
        return Err(AgentError::installed(format!(
            "{program} is not installed: the cluster IP {} needs it (clusterip_firewall)",
            params.ip
        )));
    }
    Ok(())
}

/// Start: the shared filter if this is the node's first instance, this
/// instance's bucket, then the address (added once per node).
pub(super) fn start(prepared: Prepared, cip: &ClusterIpParams, inv: &Invocation) -> AgentResult<ExitCode> {
    let Prepared { mut params, nl, target, state, prefix } = prepared;
    check_installed(&params, cip)?;
    let _lock = lock(inv, &params)?;
    let plan = plan(&params, cip, &target.nic);
    let listed = plan.served().doing(|| format!("reading the {} rules of {}", plan.program(), params.ip))?;
    let mut served = match listed {
        Some(buckets) => buckets,
        None => {
            log::info(format!(
                "Setting up cluster IP {} on {}: {} buckets, shared MAC {}",
                params.ip,
                target.nic,
                plan.total,
                crate::packet::mac_string(&plan.mac)
            ));
            plan.set_up().doing(|| format!("setting up the {} rules of {}", plan.program(), params.ip))?;
            if plan.backend == crate::cluster_ip::Backend::Iptables && plan.hash != ClusterHash::SourceIp {
                log::info(
                    "iptables' cluster match hashes source addresses only: clusterip_hash has no effect",
                );
            }
            Vec::new()
        }
    };
    if !served.contains(&plan.bucket) {
        log::info(format!("Serving bucket {} of {} for {}", plan.bucket, plan.total, params.ip));
        let added =
            plan.add_bucket(plan.bucket).doing(|| format!("adding bucket {} of {}", plan.bucket, params.ip));
        if let Err(err) = added {
            // Leave no bucket-less filter behind that this start created.
            release_bucket(&plan, &params, &served);
            return Err(err);
        }
        served.push(plan.bucket);
    }
    // Every node holds the VIP: probing would find the others, and IPv6
    // duplicate address detection would fail on them.
    params.probe.count = 0;
    params.nodad |= params.ip.is_ipv6();
    let outcome = match state {
        State::Configured(entry) => start::already_running(&nl, &params, &target, &entry),
        State::Absent => start::add_and_announce(&nl, &params, &target, prefix, inv),
        State::WrongPrefix(entry) => Err(AgentError::generic(format!(
            "{} is already configured on {} as /{}, not /{prefix}",
            params.ip, target.nic, entry.prefix
        ))),
        State::Elsewhere { nic } => Err(AgentError::generic(format!(
            "{} is already configured on {nic}, not on {}",
            params.ip, target.nic
        ))),
    };
    if outcome.is_err() {
        release_bucket(&plan, &params, &served);
    }
    outcome
}

/// Stop: this instance's bucket; the address and the shared filter only
/// when no other instance on this node still serves a bucket.
pub(super) fn stop(
    nl: &Netlink,
    params: &Params,
    cip: &ClusterIpParams,
    inv: &Invocation,
) -> AgentResult<ExitCode> {
    let _lock = lock(inv, params)?;
    let found = match inspect::lookup(nl, params, Need::StateOnly)? {
        Lookup::Found { target, state } => Some((target, state)),
        Lookup::NicMissing(_) | Lookup::NoNetwork => None,
    };
    // The rules are found by the VIP alone (nft) or with its NIC (iptables):
    // look for them even when the address is gone.
    let nic = found.as_ref().map(|(target, _)| target.nic.clone()).or_else(|| params.nic.clone());
    let plan = plan(params, cip, nic.as_deref().unwrap_or_default());
    if find_program(plan.program()).is_none() {
        log::warn(format!("{} is not installed: no {} rules to remove", plan.program(), params.ip));
    } else {
        let listed = plan.served().unwrap_or_else(|err| {
            log::error(format!("reading the {} rules of {}: {err}", plan.program(), params.ip));
            None
        });
        if let Some(served) = listed {
            if !release_bucket(&plan, params, &served) {
                log::info(format!(
                    "other instances still serve {} on this node; keeping the address",
                    params.ip
                ));
                return Ok(ExitCode::Success);
            }
        }
    }
    let Some((target, state)) = found else {
        log::info(format!("{} is not configured on this node; nothing more to stop", params.ip));
        return Ok(ExitCode::Success);
    };
    if let Some(value) = params.lvs.ipv6_label {
        let _ = nl.address_label(false, params.ip, value);
    }
    remove_address(nl, &target, state)
}

/// Drops this instance's bucket rule from `served` (the buckets listed under
/// the lock); tears the shared filter down when it was the last one. True
/// when no bucket is served here any more.
fn release_bucket(plan: &Plan, params: &Params, served: &[u32]) -> bool {
    if served.contains(&plan.bucket) {
        if let Err(err) = plan.delete_bucket(plan.bucket) {
            // Our rule may still be there: the filter must stay with it.
            log::error(format!("removing bucket {} of {}: {err}", plan.bucket, params.ip));
            return false;
        }
    }
    if served.iter().any(|bucket| *bucket != plan.bucket) {
        return false;
    }
    log::info(format!("Removing the cluster IP rules of {}", params.ip));
    if let Err(err) = plan.tear_down() {
        log::error(format!("removing the {} rules of {}: {err}", plan.program(), params.ip));
    }
    true
}

fn remove_address(nl: &Netlink, target: &Target, state: State) -> AgentResult<ExitCode> {
    let State::Configured(entry) = state else { return Ok(ExitCode::Success) };
    log::info(format!("Removing {}/{} from {}", entry.ip, entry.prefix, target.nic));
    match nl.delete_address(entry.ip, entry.prefix, target.ifindex) {
        Err(err) if err.errno() != Some(crate::netlink::libc_errno::EADDRNOTAVAIL) => {
            Err(AgentError::generic(format!(
                "Unable to remove IP [{}/{}] from interface [{}]: {err}",
                entry.ip, entry.prefix, target.nic
            )))
        }
        _ => Ok(ExitCode::Success),
    }
}

/// Monitor: the address is whole (checked by the caller); is this
/// instance's bucket served here?
pub(super) fn serves_bucket(params: &Params, cip: &ClusterIpParams, target: &Target) -> AgentResult<bool> {
    let plan = plan(params, cip, &target.nic);
    if find_program(plan.program()).is_none() {
        return Err(AgentError::installed(format!("{} is not installed", plan.program())));
    }
    let served = plan.served().doing(|| format!("reading the buckets of {}", params.ip))?;
    Ok(served.is_some_and(|buckets| buckets.contains(&plan.bucket)))
}
