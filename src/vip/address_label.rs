//! `lvs_ipv6_addrlabel`: the IPv6 address-selection label of the VIP
//! (`ip addrlabel`), which makes the real server's replies leave from the
//! VIP. Recorded before it is added, removed only when start added it.

use super::context::Vip;
use super::owned::{OwnedPart, Progress, Removal};
use super::record::Record;
use crate::error::{AgentError, AgentResult};
use crate::netlink::libc_errno;
use crate::ocf::log;

impl<'a> Vip<'a> {
    /// This resource's IPv6 address-selection label, as a part of it.
    pub fn address_label(&self) -> AddressLabel<'a> {
        AddressLabel { vip: *self }
    }
}

/// `lvs_ipv6_addrlabel`'s part of a resource: the label start added for the
/// VIP, if any.
pub struct AddressLabel<'a> {
    vip: Vip<'a>,
}

impl AddressLabel<'_> {
    /// Adds the IPv6 address-selection label `lvs_ipv6_addrlabel` asks for,
    /// recorded in `record` before it is added, like the address: a start
    /// killed right after the add leaves stop what it needs to remove it. A
    /// label that cannot be recorded or added costs a warning, not the
    /// start (it only orders source choices), and the record then claims
    /// none.
    fn add_recorded(&self, record: &mut Record) {
        let Some(value) = self.to_add() else { return };
        let run_dir = self.vip.run_dir();
        record.address_label = Some(value);
        match record.write(&run_dir, self.vip.key) {
            Err(err) => {
                record.address_label = None;
                log::warn(format!(
                    "not adding the IPv6 address label of {}: recording it: {err}",
                    self.vip.params.ip
                ));
            }
            Ok(()) if self.add(value) => {}
            Ok(()) => {
                record.address_label = None;
                if let Err(err) = record.write(&run_dir, self.vip.key) {
                    log::warn(format!(
                        "recording that {} has no label of its own: {err}",
                        self.vip.params.ip
                    ));
                }
            }
        }
    }

    /// The IPv6 address-selection label `lvs_ipv6_addrlabel` asks for, when
    /// no label for the address is there yet (one that is, is the admin's
    /// or an earlier start's, whose record keeps it).
    fn to_add(&self) -> Option<u32> {
        let value = self.vip.params.lvs.ipv6_label?;
        match self.vip.nl.address_label(self.vip.params.ip) {
            Ok(None) => Some(value),
            Ok(Some(_)) => {
                log::info(format!("an IPv6 address label for {} is there already", self.vip.params.ip));
                None
            }
            Err(err) => {
                log::warn(format!(
                    "listing the IPv6 address labels for {} failed: {err}",
                    self.vip.params.ip
                ));
                None
            }
        }
    }

    /// Adds the label `value` (recorded already): whether it is there now
    /// because of this call.
    fn add(&self, value: u32) -> bool {
        log::info(format!("Adding IPv6 address label prefix {}/128 label {value}", self.vip.params.ip));
        match self.vip.nl.add_address_label(self.vip.params.ip, value) {
            Ok(()) => true,
            Err(err) if err.errno() == Some(libc_errno::EEXIST) => {
                log::info(format!(
                    "an IPv6 address label for {} came meanwhile; stop leaves it",
                    self.vip.params.ip
                ));
                false
            }
            Err(err) => {
                log::warn(format!("adding IPv6 address label for {} failed: {err}", self.vip.params.ip));
                false
            }
        }
    }

    /// Removes the label start added, as its record says; a label that is
    /// not there is fine, and one start did not add is never removed.
    fn remove_added(&self) -> AgentResult<()> {
        let Some(value) = self.vip.record.and_then(|record| record.address_label) else { return Ok(()) };
        match self.vip.nl.delete_address_label(self.vip.params.ip, value) {
            Err(err) if !matches!(err.errno(), Some(libc_errno::ESRCH | libc_errno::ENOENT)) => {
                Err(AgentError::generic(format!(
                    "removing the IPv6 address label of {}: {err}",
                    self.vip.params.ip
                )))
            }
            _ => Ok(()),
        }
    }
}

impl OwnedPart for AddressLabel<'_> {
    fn apply(&self, start: &mut Progress) -> AgentResult<()> {
        self.add_recorded(&mut start.record);
        Ok(())
    }

    fn remove(&self, _why: Removal) -> AgentResult<()> {
        self.remove_added()
    }
}
