//! `monitor` (and IPaddr2's `status`): is the VIP whole on this node? It
//! reads the VIP's own NIC only, so its cost does not grow with unrelated
//! addresses, and never depends on route discovery while the VIP is up.

use super::{
    Invocation, announcing, checks, connect, multisite, node_lacks, parse_params, start::link_problem,
};
use crate::error::{AgentError, AgentResult};
use crate::inspect::{self, Lookup, Need, State};
use crate::ocf::{ExitCode, log};
use crate::params::Strictness;

/// Runs monitor; with `as_status`, prints `running`/`stopped` as Heartbeat
/// and IPaddr2's `status` do and reports anything but running as stopped.
pub(super) fn run(inv: &Invocation, as_status: bool) -> AgentResult<ExitCode> {
    let result = check(inv);
    if !as_status {
        return result;
    }
    match result {
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
    let params = parse_params(inv, Strictness::Strict)?;
    let nl = match connect(inv, &params)? {
        Ok(nl) => nl,
        Err(code) => return Ok(code),
    };
    if params.allow_missing_subnet && multisite::standing_in(inv, &params) {
        if !multisite::subnet_present(&nl, &params)? {
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
    let (target, state) = match inspect::lookup(&nl, &params, Need::StateOnly)? {
        Lookup::NicMissing(nic) => return node_lacks(inv, format!("nic {nic} does not exist on this node")),
        // Not a local address anywhere and no route says where it would be.
        Lookup::NoNetwork => return Ok(ExitCode::NotRunning),
        Lookup::Found { target, state } => (target, state),
    };
    let entry = match state {
        State::Configured(entry) => entry,
        State::Absent => return Ok(ExitCode::NotRunning),
        State::WrongPrefix(entry) => {
            return Err(AgentError::generic(format!(
                "{} is on {} with prefix /{}, but this resource wants /{}",
                params.ip,
                target.nic,
                entry.prefix,
                target.prefix.map(|p| p.to_string()).unwrap_or_else(|| "?".into())
            )));
        }
        State::Elsewhere { nic } => {
            return Err(AgentError::generic(format!(
                "{} is on {nic}, but this resource wants it on {}",
                params.ip, target.nic
            )));
        }
    };
    if entry.is_dad_failed() {
        return Err(AgentError::generic(format!(
            "{} on {} failed duplicate address detection: another host uses it",
            params.ip, target.nic
        )));
    }
    if let Some(label) = target.missing_label(&entry) {
        return Err(AgentError::generic(format!(
            "{} is on {} but without its label {label} (partly configured)",
            params.ip, target.nic
        )));
    }
    if params.check_link_status {
        let problem = match &target.link {
            Some(link) => crate::inspect::link_problem(link),
            None => link_problem(&nl, &target)?,
        };
        if let Some(problem) = problem {
            return Err(AgentError::generic(format!("{} is configured, but {problem}", params.ip)));
        }
    }
    if let Some(cip) = &params.cluster_ip {
        if !super::clone::serves_bucket(&params, cip, &target)? {
            log::debug(format!("{} is up, but this instance's bucket is not served here", params.ip));
            return Ok(ExitCode::NotRunning);
        }
    }
    log::debug(format!("{}/{} is up on {}", entry.ip, entry.prefix, target.nic));
    // Re-announcing heals caches a lost announcement left stale; a failure
    // to send is no reason to fail a VIP that is up.
    let refresh = params.announce.count_refresh;
    let announced = match refresh {
        0 => Ok(()),
        _ => announcing::Wire::open(&nl, &params, &target)
            .and_then(|wire| announcing::announce(&nl, &params, &target, inv, refresh, wire)),
    };
    if let Err(err) = announced {
        log::warn(format!("refreshing the announcement of {}: {}", params.ip, err.reason));
    }
    checks::run(&nl, &params, &target, entry.prefix, inv)?;
    Ok(ExitCode::Success)
}
