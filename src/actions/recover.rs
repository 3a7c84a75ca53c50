//! `recover` (OCF 1.1): put the VIP right in place before Pacemaker has to
//! move it — re-add it if it was removed, take it back from another NIC it
//! was moved to, and announce it again either way.

use super::start::{self, Prepared};
use super::{Invocation, announcing};
use crate::error::{AgentError, AgentResult, Doing};
use crate::inspect::State;
use crate::ocf::{ExitCode, log};

pub(super) fn run(inv: &Invocation) -> AgentResult<ExitCode> {
    let Prepared { params, nl, target, state, prefix } = match start::prepare(inv)? {
        Ok(prepared) => prepared,
        Err(code) => return Ok(code),
    };
    match state {
        State::Configured(entry) => {
            start::already_running(&nl, &params, &target, &entry)?;
            log::info(format!("{} is in place on {}; announcing it again", params.ip, target.nic));
            let wire = announcing::Wire::open(&nl, &params, &target)?;
            announcing::announce(&nl, &params, &target, inv, params.announce.count, wire)?;
            Ok(ExitCode::Success)
        }
        State::Absent => {
            log::info(format!("{} is gone from {}; adding it again", params.ip, target.nic));
            start::add_and_announce(&nl, &params, &target, prefix, inv)
        }
        State::Elsewhere { nic } => {
            let other = nl
                .link_by_name(&nic)
                .doing(|| format!("looking up nic {nic}"))?
                .ok_or_else(|| AgentError::generic(format!("nic {nic} disappeared")))?;
            let copies = nl
                .addresses(other.ifindex, params.is_ipv4())
                .doing(|| format!("listing the addresses of {nic}"))?;
            for copy in copies.iter().filter(|a| a.ip == params.ip) {
                log::info(format!(
                    "{} was moved to {nic}; taking {}/{} back to {}",
                    params.ip, copy.ip, copy.prefix, target.nic
                ));
                nl.delete_address(copy.ip, copy.prefix, other.ifindex)
                    .doing(|| format!("removing {}/{} from {nic}", copy.ip, copy.prefix))?;
            }
            start::add_and_announce(&nl, &params, &target, prefix, inv)
        }
        State::WrongPrefix(entry) => Err(AgentError::generic(format!(
            "{} is on {} as /{}, not /{prefix}; recover does not change another prefix",
            params.ip, target.nic, entry.prefix
        ))),
    }
}
