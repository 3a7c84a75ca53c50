//! The clone meta-attributes Pacemaker passes (`CRM_meta_clone_max`,
//! `CRM_meta_clone`, `CRM_meta_globally_unique`) and `unique_clone_address`,
//! which together say whether this instance is one bucket of a shared
//! cluster IP or has an address of its own.

use super::reader::Reader;
use super::values;
use crate::error::{AgentError, AgentResult};
use crate::ocf::OcfEnv;
use crate::ocf::log::printable;

/// This instance's place among the clone's instances.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CloneMeta {
    /// How many instances the clone has (1 when it is no clone).
    pub max: u32,
    /// This instance's number, from 0.
    pub id: u32,
    /// `unique_clone_address`: each instance adds its number to `ip`.
    pub unique_address: bool,
}

impl CloneMeta {
    /// Whether the instances share one address (IPaddr2's cluster IP).
    pub fn shares_address(&self) -> bool {
        self.max > 1 && !self.unique_address
    }
}

pub(super) fn parse(r: &mut Reader, env: &OcfEnv) -> AgentResult<CloneMeta> {
    let max = match &env.clone_max {
        None => 1,
        Some(text) => values::integer("clone_max", text, 1, u64::from(u32::MAX)).map_err(|_| {
            AgentError::configured(format!(
                "invalid meta-attribute clone_max [{}]: expected a positive whole number",
                printable(text)
            ))
        })? as u32,
    };
    let id = env.clone_id.as_deref().and_then(|c| c.parse::<u32>().ok()).unwrap_or(0);
    let unique_address = r.identity_flag("unique_clone_address")?;
    // Only a clone Pacemaker says is not globally unique is refused: without
    // the meta attribute this is a primitive (instance 0: the address as
    // given) or pcs validating a clone it is about to create, which passes
    // no meta attributes and must not be refused.
    if unique_address && env.globally_unique == Some(false) {
        return Err(AgentError::configured(
            "unique_clone_address makes sense only with meta globally_unique set",
        ));
    }
    Ok(CloneMeta { max, id, unique_address })
}
