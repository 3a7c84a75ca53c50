//! `monitor` (and IPaddr2's `status`): is the VIP whole on this node? It
//! says 0 when the address is where this resource put it, 7 only when it
//! is on no interface here, and an error naming where when a copy sits
//! somewhere this resource did not put it. It reads one link and its own
//! address there (see address_lookup for what IPv4 costs), never the
//! host's other links.

use super::{Invocation, node_lacks, prepare};
use crate::error::{AgentError, AgentResult};
use crate::observe::{self, history::Event};
use crate::ocf::{ExitCode, log};
use crate::params::Strictness;
use crate::vip::place::site_problem;
use crate::vip::wire::Wire;
use crate::vip::{Lack, Spot, Whereabouts};

pub(super) fn run(inv: &Invocation) -> AgentResult<ExitCode> {
    check(inv)
}

/// IPaddr2's and Heartbeat's `status`: prints `running` or `stopped`, and
/// reports anything but running as stopped.
pub(super) fn status(inv: &Invocation) -> AgentResult<ExitCode> {
    match check(inv) {
        Ok(ExitCode::Success) => {
            println!("running");
            Ok(ExitCode::Success)
        }
        Err(err) if err.exit == ExitCode::ErrConfigured => Err(err),
        // Heartbeat's status knows only running and stopped; degraded runs.
        Err(err) if err.exit == ExitCode::Degraded => {
            log::warn(err.reason);
            println!("running");
            Ok(ExitCode::Success)
        }
        Ok(_) | Err(_) => {
            println!("stopped");
            Ok(ExitCode::NotRunning)
        }
    }
}

fn check(inv: &Invocation) -> AgentResult<ExitCode> {
    let prepared = match prepare(inv, Strictness::Strict)? {
        Ok(prepared) => prepared,
        Err(code) => return Ok(code),
    };
    let vip = prepared.vip(inv);
    let params = vip.params;
    if params.allow_missing_subnet && vip.missing_subnet().is_standing_in() {
        if !vip.missing_subnet().subnet_present()? {
            log::debug(format!(
                "{} runs without its address: this node has no interface on its subnet",
                params.ip
            ));
            return Ok(ExitCode::Success);
        }
        log::info(format!(
            "{} was started without its address, but its subnet is here now: reporting the address's real state",
            params.ip
        ));
    }
    let (site, entry) = match vip.whereabouts()? {
        Whereabouts::InPlace { site, entry } => (site, entry),
        Whereabouts::Absent => {
            if vip.record.is_some() {
                observe::event(Event::Vanished);
            }
            // Why the watcher left it so, when it did.
            return match vip.watcher().take_notice() {
                Some(notice) => Err(AgentError::new(ExitCode::NotRunning, notice)),
                None => Ok(ExitCode::NotRunning),
            };
        }
        Whereabouts::Foreign(foreign) => {
            observe::event(Event::MovedAway { to: foreign.nic.clone() });
            return Err(AgentError::generic(foreign.describe(params.ip)));
        }
        // A node allowed to lack the subnet is not failing without it.
        Whereabouts::Unplaced(Lack::Network(_)) if params.allow_missing_subnet => {
            return Ok(ExitCode::NotRunning);
        }
        Whereabouts::Unplaced(lack) => return node_lacks(inv, lack),
    };
    if entry.is_dad_failed() {
        return Err(AgentError::generic(format!(
            "{} on {} failed duplicate address detection: another host uses it",
            params.ip, site.nic
        )));
    }
    // Whether the link counts is asked only of a link with a problem: the
    // default depends on the distribution, read from a file.
    if let Some(problem) = site_problem(&site).filter(|_| params.link_checked()) {
        return Err(AgentError::generic(format!("{} is configured, but {problem}", params.ip)));
    }
    if let Some(cip) = &params.cluster_ip {
        if !vip.cluster_member(cip).serves_bucket(&site.nic)? {
            // A probe cannot tell a rule removed from one this instance
            // never had (another instance keeps the address here); a
            // recurring monitor can: the instance runs here, clients of
            // its bucket get no answer (IPaddr2 4.16+ answers 1 to both).
            if inv.env.is_probe_interval() {
                log::debug(format!("{} is up, but this instance's bucket is not served here", params.ip));
                return Ok(ExitCode::NotRunning);
            }
            return Err(AgentError::generic(format!(
                "{} is up on {}, but the rule of bucket {} of {} is gone: its clients get no answer",
                params.ip, site.nic, cip.local_node, cip.total_nodes
            )));
        }
    }
    log::debug(format!("{}/{} is up on {}", entry.ip, entry.prefix, site.nic));
    let mut drifted = vip.verify_parts(&site, &entry)?;
    let spot = Spot { site: &site, prefix: entry.prefix };
    // Re-announcing heals caches a lost announcement left stale; a failure
    // to send is no reason to fail a VIP that is up.
    let refresh = params.announce.count_refresh;
    if refresh > 0 {
        let announced =
            Wire::open(&vip, &site).and_then(|wire| vip.announcing().announce(spot, refresh, wire));
        if let Err(err) = announced {
            log::warn(format!("refreshing the announcement of {}: {}", params.ip, err.reason));
        }
    }
    vip.checks().deep(spot)?;
    if vip.record.is_some() && !inv.env.is_probe_interval() {
        // Started by a release without watchers, or its watcher was killed.
        vip.watcher().ensure();
    }
    let repaired = vip.watcher().take_notice();
    if !drifted.is_empty() {
        drifted.extend(repaired);
        return vip.checks().report_drift(&drifted);
    }
    match repaired {
        Some(notice) => vip.checks().report_repair(notice),
        None => Ok(ExitCode::Success),
    }
}
