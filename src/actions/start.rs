//! `start`: bring the VIP up on its NIC, exactly once, and leave nothing
//! half-done if it cannot.

use super::{Invocation, node_lacks, prepare, require_root};
use crate::error::{AgentError, AgentResult};
use crate::ocf::{ExitCode, log};
use crate::params::Strictness;
use crate::vip::owned::Removal;
use crate::vip::{Placement, Vip, Whereabouts};

pub(super) fn run(inv: &Invocation) -> AgentResult<ExitCode> {
    require_root(inv.action)?;
    let prepared = match prepare(inv, Strictness::Strict)? {
        Ok(prepared) => prepared,
        Err(code) => return Ok(code),
    };
    let vip = prepared.vip(inv);
    let params = vip.params;
    if params.allow_missing_subnet {
        if !vip.missing_subnet().subnet_present()? {
            vip.missing_subnet().stand_in()?;
            return Ok(ExitCode::Success);
        }
        vip.missing_subnet().end()?;
    }
    let started = start(&vip, inv)?;
    // From here until stop, what another process removes comes back.
    vip.watcher().ensure();
    Ok(started)
}

/// Puts the address in place (its stand-in, for multi-site, is done).
fn start(vip: &Vip, inv: &Invocation) -> AgentResult<ExitCode> {
    let params = vip.params;
    // What this resource added and still holds: start has nothing to do.
    // (A cluster IP's other instances share the address: each still needs its bucket.)
    if let (Some(_), None) = (vip.record, &params.cluster_ip) {
        if let Whereabouts::InPlace { site, entry } = vip.whereabouts()? {
            return vip.confirm_running(&site, &entry);
        }
    }
    let (placement, now) = vip.placement()?;
    let target = match placement {
        Placement::Target(target) => target,
        Placement::Unplaced(lack) => return node_lacks(inv, lack),
    };
    if let Some(cip) = &params.cluster_ip {
        return vip.cluster_member(cip).start(&target, now);
    }
    match now {
        Whereabouts::Absent => vip.bring_up(&target),
        Whereabouts::InPlace { site, entry } if vip.virtual_mac().is_some() => {
            // Left on the NIC by IPaddr2 during a migration, or by hand: it
            // answers with the NIC's MAC, which virtual_mac exists to avoid.
            // Moved onto the resource's own interface; killed in between,
            // nothing is left that stop must find.
            log::info(format!(
                "{}/{} is on {} already, with the node's MAC; moving it onto its own interface for virtual_mac",
                entry.ip, entry.prefix, site.nic
            ));
            vip.own_address().remove_entry(&site, &entry, Removal::TakeBack)?;
            vip.bring_up(&target)
        }
        Whereabouts::InPlace { site, entry } => {
            // Exactly where the configuration puts it, with no record:
            // started before the records existed (an upgrade), or by hand.
            log::info(format!(
                "{}/{} is on {} already; this resource takes it over",
                entry.ip, entry.prefix, site.nic
            ));
            vip.write_record(&target, crate::vip::identity::carries_tag(&entry), entry.created)?;
            vip.confirm_running(&site, &entry)
        }
        Whereabouts::Foreign(foreign) => Err(AgentError::generic(format!(
            "{}; refusing to add a second copy on {}",
            foreign.describe(params.ip),
            target.nic()
        ))),
        Whereabouts::Unplaced(lack) => node_lacks(inv, lack),
    }
}
