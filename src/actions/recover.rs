//! `recover` (OCF 1.1): put the VIP right in place before Pacemaker has to
//! move it: re-add it if it was removed, take it back from another NIC it
//! was moved to (only when its record proves it is this resource's), and
//! announce it again either way.

use super::{Invocation, node_lacks, prepare, require_root};
use crate::error::{AgentError, AgentResult};
use crate::ocf::{ExitCode, log};
use crate::params::Strictness;
use crate::vip::Spot;
use crate::vip::announcing::FirstRound;
use crate::vip::owned::Removal;
use crate::vip::wire::Wire;
use crate::vip::{Foreign, Placement, Vip, Whereabouts};

pub(super) fn run(inv: &Invocation) -> AgentResult<ExitCode> {
    require_root(inv.action)?;
    let prepared = match prepare(inv, Strictness::Strict)? {
        Ok(prepared) => prepared,
        Err(code) => return Ok(code),
    };
    let vip = prepared.vip(inv);
    let recovered = recover(&vip, inv)?;
    vip.watcher().ensure();
    Ok(recovered)
}

fn recover(vip: &Vip, inv: &Invocation) -> AgentResult<ExitCode> {
    let ip = vip.params.ip;
    match vip.whereabouts()? {
        Whereabouts::InPlace { site, entry } => {
            vip.confirm_running(&site, &entry)?;
            log::info(format!("{ip} is in place on {}; announcing it again", site.nic));
            let spot = Spot { site: &site, prefix: entry.prefix };
            let wire = Wire::open(vip, &site)?;
            vip.neighbours().begin(spot);
            if vip.announcing().announce(spot, vip.params.announce.count, wire)? == FirstRound::NoSlot {
                return Err(vip.announcing().no_slot(spot));
            }
            return Ok(ExitCode::Success);
        }
        Whereabouts::Foreign(foreign) if vip.record.is_some() && foreign.prefix.is_none() => {
            take_back(vip, &foreign)?;
        }
        Whereabouts::Foreign(foreign) => {
            return Err(AgentError::generic(format!(
                "{}; recover takes back only an address its record proves is this resource's",
                foreign.describe(ip)
            )));
        }
        Whereabouts::Unplaced(lack) => return node_lacks(inv, lack),
        Whereabouts::Absent => log::info(format!("{ip} is gone; adding it again")),
    }
    let (placement, _) = vip.placement()?;
    match placement {
        Placement::Target(target) => vip.bring_up(&target),
        Placement::Unplaced(lack) => node_lacks(inv, lack),
    }
}

/// Removes this resource's address from the interface it was moved to,
/// the way stop removes it (the other addresses of its subnet there stay).
fn take_back(vip: &Vip, foreign: &Foreign) -> AgentResult<()> {
    let ip = vip.params.ip;
    let site = vip.lookup().site_by_index(foreign.ifindex, &foreign.nic)?;
    for copy in vip.lookup().own_entries_on(&site)? {
        log::info(format!("{ip} was moved to {}; taking {}/{} back", foreign.nic, copy.ip, copy.prefix));
        vip.own_address().remove_entry(&site, &copy, Removal::TakeBack)?;
    }
    Ok(())
}
