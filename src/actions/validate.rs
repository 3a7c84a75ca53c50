//! `validate-all`: every check start would make, without changing anything.

use super::{Invocation, connect, node_lacks, parse_params};
use crate::discover;
use crate::error::AgentResult;
use crate::inspect::{self, Lookup, Need};
use crate::ocf::{ExitCode, log};
use crate::params::Strictness;

pub(super) fn run(inv: &Invocation) -> AgentResult<ExitCode> {
    let params = parse_params(inv, Strictness::Strict)?;
    for name in &inv.raw.unknown {
        log::warn(format!("unknown parameter {} is ignored", crate::ocf::log::printable(name)));
    }
    if params.cluster_ip.is_some() {
        log::warn("cluster IP (clone) mode is not implemented yet: start will refuse it");
    }
    let nl = match connect(inv, &params)? {
        Ok(nl) => nl,
        Err(code) => return Ok(code),
    };
    match inspect::lookup(&nl, &params, Need::FullTarget)? {
        Lookup::NicMissing(nic) => node_lacks(inv, format!("nic {nic} does not exist on this node")),
        Lookup::NoNetwork => node_lacks(inv, discover::no_network_error(&params).reason),
        Lookup::Found { target, .. } => {
            log::debug(format!(
                "{} would go on {} as /{}",
                params.ip,
                target.nic,
                target.prefix.unwrap_or_default()
            ));
            Ok(ExitCode::Success)
        }
    }
}
