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
    if !unique_address {
        return Ok(CloneMeta { max, id, unique_address });
    }
    // IPaddr2's rule: only an instance of a clone Pacemaker calls globally
    // unique has an address of its own. A primitive (no meta attributes)
    // with the setting does not do what its admin meant: refused, except
    // by stop, which still knows the address (instance 0's is `ip`).
    match env.globally_unique {
        Some(true) => {}
        Some(false) => return Err(AgentError::configured(format!("{UNIQUE_ONLY_WITH_META} set"))),
        None => r.optional("unique_clone_address", (), |_| {
            Err(format!(
                "{UNIQUE_ONLY_WITH_META} set; Pacemaker passed no clone meta attributes (a primitive, or a validation without them)"
            ))
        })?,
    }
    Ok(CloneMeta { max, id, unique_address })
}

/// IPaddr2's words, which admins search for.
const UNIQUE_ONLY_WITH_META: &str = "unique_clone_address makes sense only with meta globally_unique";
