//! `reload-agent` (OCF 1.1): Pacemaker calls it instead of a restart when
//! only reloadable parameters changed. The agent keeps no state between
//! actions, so every action reads the announcement, probing and check
//! parameters afresh: reloading means checking the new values, and never
//! touching the address.

use super::{Invocation, parse_params};
use crate::error::AgentResult;
use crate::ocf::{ExitCode, log};
use crate::params::Strictness;

pub(super) fn run(inv: &Invocation) -> AgentResult<ExitCode> {
    let params = parse_params(inv, Strictness::Strict)?;
    log::debug(format!("reloaded the parameters of {}: the next actions use them", params.ip));
    Ok(ExitCode::Success)
}
