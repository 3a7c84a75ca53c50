//! `reload-agent` (OCF 1.1): Pacemaker calls it instead of a restart when
//! only reloadable parameters changed. The agent keeps no state between
//! actions, so every action reads the announcement, probing and check
//! parameters afresh: reloading means checking the new values, and never
//! touching the address.

use super::Invocation;
use crate::error::{AgentError, AgentResult};
use crate::ocf::{ExitCode, log};
use crate::params::Strictness;

pub(super) fn run(inv: &Invocation) -> AgentResult<ExitCode> {
    let config = crate::vip::configuration(inv, Strictness::Strict)?
        .map_err(|lack| AgentError::installed(lack.reason().to_string()))?;
    log::debug(format!("reloaded the parameters of {}: the next actions use them", config.params.ip));
    Ok(ExitCode::Success)
}
