//! `stop`: remove exactly the address this resource added, then undo its
//! side effects (with `kill_connections_on_stop`, reset the VIP's TCP
//! connections around the removal). It exits 0 only when that address is
//! on no interface of this node; a copy it did not add is neither deleted
//! nor hidden.

use super::{Invocation, node_lacks, require_root};
use crate::error::AgentResult;
use crate::invocation::Action;
use crate::ocf::{ExitCode, log};
use crate::params::Strictness;
use crate::vip::owned::Removal;
use crate::vip::parts::Part;

pub(super) fn run(inv: &Invocation) -> AgentResult<ExitCode> {
    require_root(Action::Stop)?;
    let prepared = match crate::vip::prepare(inv, Strictness::Lenient) {
        Ok(Ok(prepared)) => prepared,
        Ok(Err(lack)) => return node_lacks(inv, lack),
        // Nothing could have been started with such parameters, and no
        // record says anything was.
        Err(err) if err.exit == ExitCode::ErrConfigured => {
            log::warn(format!("{}; nothing to stop", err.reason));
            return Ok(ExitCode::Success);
        }
        Err(err) => return Err(err),
    };
    let vip = prepared.vip(inv);
    if vip.params.allow_missing_subnet {
        // A leftover record must not fail a stop (and get the node fenced).
        if let Err(err) = vip.missing_subnet().end() {
            log::warn(err.reason);
        }
    }
    let stopped = match &vip.params.cluster_ip {
        Some(cip) => {
            // First, so that nothing stop removes is put back, and no
            // announcement follows the removal; the instances' shared
            // address and rule are the cluster IP's to take down.
            for part in [Part::Watcher, Part::Announcer] {
                if let Err(err) = vip.remove_part(part, Removal::Stop) {
                    log::warn(err.reason);
                }
            }
            vip.cluster_member(cip).stop()
        }
        None => vip.tear_down().map(|()| ExitCode::Success),
    };
    // What the address took with it can no longer be told by a reset; the
    // sockets still go, so that local servers see the end.
    vip.reset_connections(None);
    stopped
}
