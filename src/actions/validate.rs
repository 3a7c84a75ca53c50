//! `validate-all`: every check start would make, without changing anything.
//! At `OCF_CHECK_LEVEL` 0 (OCF 1.1, `crm_resource --validate=0`) the
//! configuration alone; at 10, or unset as IPaddr2 is called, this node too.

use super::{Invocation, node_lacks, prepare};
use crate::error::AgentResult;
use crate::ocf::ExitCode;
use crate::ocf::log::{self, printable};
use crate::params::Strictness;
use crate::vip::Spot;
use crate::vip::{Placement, Target, Vip, Whereabouts};

pub(super) fn run(inv: &Invocation) -> AgentResult<ExitCode> {
    if inv.env.check_level_given && inv.env.check_level == 0 {
        crate::vip::check_configuration_alone(inv)?;
        warn_unknown(inv);
        log::debug("OCF_CHECK_LEVEL 0: the configuration alone; level 10 also checks this node".to_string());
        return Ok(ExitCode::Success);
    }
    let prepared = match prepare(inv, Strictness::Strict)? {
        Ok(prepared) => prepared,
        Err(code) => return Ok(code),
    };
    warn_unknown(inv);
    let vip = prepared.vip(inv);
    let params = vip.params;
    if let Some(cip) = &params.cluster_ip {
        vip.cluster_member(cip).check_installed()?;
    }
    if params.allow_missing_subnet && !vip.missing_subnet().subnet_present()? {
        log::warn(format!(
            "this node has no interface on the subnet of {}: start will succeed without configuring it (allow_missing_subnet)",
            params.ip
        ));
        return Ok(ExitCode::Success);
    }
    let (placement, now) = vip.placement()?;
    let target = match placement {
        Placement::Target(target) => target,
        Placement::Unplaced(lack) => return node_lacks(inv, lack),
    };
    if let Whereabouts::Foreign(foreign) = &now {
        log::warn(format!("{}: start will refuse to add a second copy", foreign.describe(params.ip)));
    }
    vip.checks().maintenance_address(&target)?;
    ping_list_check(&vip, &target)?;
    log::debug(format!("{} would go on {} as /{}", params.ip, target.nic(), target.prefix));
    Ok(ExitCode::Success)
}

fn warn_unknown(inv: &Invocation) {
    for name in &inv.raw.unknown {
        log::warn(format!("unknown parameter {} is ignored", printable(name)));
    }
}

/// The reachability check needs someone else to answer: a listed address
/// of this node answers whatever the network does (LifeKeeper's advice).
fn ping_list_check(vip: &Vip, target: &Target) -> AgentResult<()> {
    if vip.params.ping.is_configured() {
        vip.checks().ping_targets(Spot { site: &target.site, prefix: target.prefix })?;
    }
    for host in &vip.params.ping.hosts {
        if let Some(nic) = vip.lookup().interface_holding(*host) {
            log::warn(format!(
                "ping_list host {host} is an address of this node ({nic}): its answer proves nothing about the network"
            ));
        }
    }
    Ok(())
}
