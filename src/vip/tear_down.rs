//! Taking the address down, shared by stop and the last instance of a
//! cluster IP. Every step is tried even if an earlier one failed, and the
//! failures are reported together. The last step checks the promise stop
//! makes: the address this resource added is on no interface of this node
//! any more. A copy this resource did not add is neither deleted nor
//! hidden: stop fails naming where it is.

use super::address::Removal;
use super::{Vip, Whereabouts};
use crate::error::{AgentResult, Failures};
use crate::ocf::log;

impl Vip<'_> {
    /// Everything stop does to the address and around it.
    pub fn tear_down(&self) -> AgentResult<()> {
        let mut failures = Failures::default();
        // Before the address goes, or the kernel deletes those routes with
        // it; and also when it is gone already, which took them away.
        self.give_back_routes();
        match failures.note(self.whereabouts()) {
            Some(Whereabouts::InPlace { site, entry }) => {
                failures.note(self.remove_address(&site, &entry, Removal::Stop));
            }
            Some(Whereabouts::Foreign(foreign)) if foreign.claimed_by.is_some() => {
                log::info(format!(
                    "{}; it is not this resource's to remove",
                    foreign.describe(self.params.ip)
                ));
            }
            Some(Whereabouts::Foreign(foreign)) => {
                log::warn(format!("{}; stop leaves it alone", foreign.describe(self.params.ip)));
            }
            Some(Whereabouts::Absent) => {
                log::debug(format!("{} is not configured on this node", self.params.ip))
            }
            Some(Whereabouts::Unplaced(lack)) => log::debug(format!("{}: nothing to remove", lack.reason())),
            None => {}
        }
        failures.note(self.remove_address_label());
        failures.note(self.give_back_to_loopback());
        failures.note(self.remove_virtual_link());
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
        if let Some(left) = self.virtual_link_left() {
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
