//! `allow_missing_subnet`: LifeKeeper's "restore and recover disabled" for
//! multi-site clusters. On a node with no interface on the VIP's subnet (a
//! disaster-recovery site), start succeeds without the address so that the
//! resources depending on it can run, and records that in HA_RSCTMP:
//!
//! - monitor reports running while the record exists and the subnet is
//!   still absent; once the subnet appears it reports the address's real
//!   state (not running, until Pacemaker restarts it and start adds it);
//! - stop removes the record and succeeds;
//! - validate-all warns instead of failing.
//!
//! The record lives in HA_RSCTMP, which does not survive a reboot, just as
//! an address does not.

use super::{Invocation, run_dir, state_file_name};
use crate::discover;
use crate::error::{AgentError, AgentResult, Doing};
use crate::netlink::Netlink;
use crate::ocf::log;
use crate::params::Params;

/// Whether this node has an interface on the VIP's subnet (on `nic` when
/// one is configured), or holds the VIP already.
pub(super) fn subnet_present(nl: &Netlink, params: &Params) -> AgentResult<bool> {
    if nl.local_address_holder(params.ip).doing(|| format!("looking for {}", params.ip))?.is_some() {
        return Ok(true);
    }
    let only = match &params.nic {
        Some(name) => match nl.link_by_name(name).doing(|| format!("looking up nic {name}"))? {
            Some(link) => Some(link.ifindex),
            None => return Ok(false),
        },
        None => None,
    };
    Ok(discover::find_route(nl, params, only)?.is_some())
}

fn record(params: &Params) -> String {
    state_file_name("nosubnet", params)
}

/// Whether start left the VIP unconfigured here for lack of its subnet.
pub(super) fn standing_in(inv: &Invocation, params: &Params) -> bool {
    matches!(run_dir(inv).read(&record(params)), Ok(Some(_)))
}

/// Start on a node without the subnet: succeed without the address.
pub(super) fn stand_in(inv: &Invocation, params: &Params) -> AgentResult<()> {
    run_dir(inv)
        .write(&record(params), "no interface on the subnet\n")
        .doing(|| format!("recording that {} runs without its address", params.ip))?;
    log::warn(format!(
        "no interface of this node is on the subnet of {}: started without configuring it (allow_missing_subnet)",
        params.ip
    ));
    Ok(())
}

/// Ends the stand-in state (stop, or a start that configures the address).
pub(super) fn clear(inv: &Invocation, params: &Params) -> AgentResult<()> {
    run_dir(inv)
        .remove(&record(params))
        .map_err(|err| AgentError::generic(format!("removing the stand-in record of {}: {err}", params.ip)))
}
