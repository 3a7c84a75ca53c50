//! Taking the address down, shared by stop and the last instance of a
//! cluster IP. Every part comes off (see `parts`), last applied first, even
//! if an earlier one failed, and the failures are reported together. The
//! last step checks the promise stop makes: the address this resource
//! added is on no interface of this node any more. A copy this resource
//! did not add is neither deleted nor hidden: stop fails naming where it is.

use super::context::Vip;
use super::owned::Removal;
use super::parts::Part;
use super::place::Whereabouts;
use crate::error::{AgentResult, Failures};

impl Vip<'_> {
    /// Everything stop does to the address and around it: the watcher and
    /// the announcer first, so that nothing stop removes is put back and no
    /// announcement follows the removal.
    pub fn tear_down(&self) -> AgentResult<()> {
        let mut failures = Failures::default();
        for part in Part::applied_up_to(Part::Watcher) {
            failures.note(self.remove_part(part, Removal::Stop));
        }
        failures.note(self.verify_gone());
        if failures.is_empty() {
            failures.note(self.remove_record());
        }
        failures.into_result()
    }

    /// Stop's promise: the address is on no interface of this node (an LVS
    /// real server's copy on lo aside, which lvs_support gives back, and a
    /// copy another resource's record claims, which that resource answers
    /// for).
    fn verify_gone(&self) -> AgentResult<()> {
        if let Some(left) = self.parts_left_over() {
            return Err(crate::error::AgentError::generic(format!("{left} after stop removed it")));
        }
        match self.whereabouts()? {
            Whereabouts::Absent | Whereabouts::Unplaced(_) => Ok(()),
            // Another resource's, as its record says: it answers for that copy.
            Whereabouts::Foreign(foreign) if foreign.claimed_by.is_some() => Ok(()),
            Whereabouts::InPlace { site, entry } => Err(crate::error::AgentError::generic(format!(
                "{}/{} is still on {} after stop removed it",
                entry.ip, entry.prefix, site.nic
            ))),
            Whereabouts::Foreign(foreign) => Err(crate::error::AgentError::generic(format!(
                "{}: stop neither deletes nor hides it; remove it by hand, or let fencing take this node out",
                foreign.describe(self.params.ip)
            ))),
        }
    }
}
