//! Whether an address at this resource's place is the one its start added
//! (`witness`, which `locate` asks of every copy it finds there), and
//! `OwnAddress` keeping the witnesses the kernel gives: the
//! address-protocol tag start puts on it, and the creation time the kernel
//! gives it (`cstamp`), which the record keeps once the add is confirmed.
//!
//! The tag alone is not enough: `ip addr change` and `ip addr replace`
//! (an admin setting `preferred_lft 0`, a tool refreshing lifetimes) send
//! no IFA_PROTO, and the kernel then drops the tag. The address is still
//! the same kernel object, with the same creation time; a delete and
//! re-add, by anyone, gives a new one. So an untagged copy created when
//! start's was is this resource's own with its tag dropped: monitor
//! answers for it with a warning, stop removes it, and start, recover or
//! monitor put the tag back. Any other untagged copy stays someone
//! else's. The creation time counts hundredths of a second: a copy put in
//! place within the same hundredth as start's add cannot be told apart.

use super::address::{ADDRESS_PROTOCOL, OwnAddress};
use super::place::Site;
use super::record::Record;
use crate::netlink::AddressEntry;
use crate::ocf::log;

/// What the kernel's witnesses say of a copy at this resource's place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Witness {
    /// Start did not tag (or there is no record): the record or the
    /// configuration decides alone.
    Untested,
    /// It carries the resource's tag.
    Tagged,
    /// Start's own address, whose tag someone's change or replace dropped.
    TagDropped,
    /// Not the address start added: why, for a reason line.
    Other(String),
}

/// Whether `entry` carries the agent's address-protocol tag (a copy start
/// takes over as it finds it keeps it, and so its record says).
pub fn carries_tag(entry: &AddressEntry) -> bool {
    entry.protocol == Some(ADDRESS_PROTOCOL)
}

/// What `entry` is to a resource whose record is `record`.
pub fn witness(record: Option<&Record>, entry: &AddressEntry) -> Witness {
    let Some(record) = record.filter(|record| record.tagged) else { return Witness::Untested };
    match entry.protocol {
        Some(ADDRESS_PROTOCOL) => Witness::Tagged,
        None if record.created.is_some() && record.created == entry.created => Witness::TagDropped,
        None => Witness::Other(format!(
            "with no address-protocol tag, where this resource's carries {ADDRESS_PROTOCOL}"
        )),
        Some(other) => Witness::Other(format!(
            "with address-protocol tag {other}, where this resource's carries {ADDRESS_PROTOCOL}"
        )),
    }
}

impl OwnAddress<'_> {
    /// Keeps the creation time of the address start added (and tagged) in
    /// the record, once the add is confirmed. Without it the tag stays the
    /// only witness, as before; a failure to write is only logged.
    pub fn remember_creation(&self, entry: &AddressEntry) {
        let Some(record) = self.vip.record.filter(|r| r.tagged && r.created.is_none()) else { return };
        if !carries_tag(entry) || entry.created.is_none() {
            return;
        }
        let remembered = Record { created: entry.created, ..record.clone() };
        if let Err(err) = remembered.write(&self.vip.run_dir(), self.vip.key) {
            log::warn(format!("recording when the kernel created {}: {err}", self.vip.params.ip));
        }
    }

    /// Puts back the tag of this resource's own address at `site` if
    /// someone's change dropped it, keeping the lifetimes, metric and flags
    /// they set. Only under the resource's turn (`turn_to_repair`), and
    /// after reading the address again under it: IPv4's replace would
    /// re-create an address a stop just removed.
    pub fn restore_tag(&self, site: &Site, entry: &AddressEntry) {
        if witness(self.vip.record, entry) != Witness::TagDropped {
            return;
        }
        let ip = self.vip.params.ip;
        log::warn(format!(
            "{ip}/{} on {} lost its address-protocol tag (a change or replace sent without one); it is still this resource's address",
            entry.prefix, site.nic
        ));
        let Some(_turn) = self.vip.turn_to_repair() else { return };
        let again = match self.vip.lookup().own_entries_on(site) {
            Ok(entries) => {
                entries.into_iter().find(|e| e.prefix == entry.prefix && e.created == entry.created)
            }
            Err(err) => {
                log::warn(format!("reading {ip} again before tagging it: {}", err.reason));
                return;
            }
        };
        let Some(again) = again.filter(|e| witness(self.vip.record, e) == Witness::TagDropped) else {
            return;
        };
        match self.vip.nl.retag_address(&again, ADDRESS_PROTOCOL) {
            Ok(()) => log::info(format!("put the address-protocol tag back on {ip}/{}", again.prefix)),
            Err(err) => log::warn(format!(
                "putting the address-protocol tag back on {ip}/{} on {}: {err}",
                again.prefix, site.nic
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtnetlink::packet_route::address::AddressFlags;

    fn record(tagged: bool, created: Option<u32>) -> Record {
        Record {
            ip: "192.0.2.50".parse().unwrap(),
            prefix: 24,
            ifindex: 2,
            nic: "eth0".into(),
            label: None,
            host_name: None,
            resource: Some("vip".into()),
            tagged,
            created,
            address_label: None,
            virtual_link: None,
        }
    }

    fn entry(protocol: Option<u8>, created: Option<u32>) -> AddressEntry {
        AddressEntry {
            ip: "192.0.2.50".parse().unwrap(),
            prefix: 24,
            ifindex: 2,
            label: None,
            broadcast: None,
            flags: AddressFlags::empty(),
            protocol,
            created,
            lifetimes: None,
            metric: None,
        }
    }

    #[test]
    fn the_creation_time_vouches_only_for_an_untagged_copy_created_with_starts() {
        let tag = Some(ADDRESS_PROTOCOL);
        let rows: [(Option<Record>, AddressEntry, Witness); 8] = [
            (None, entry(None, Some(5)), Witness::Untested),
            (Some(record(false, None)), entry(None, Some(5)), Witness::Untested),
            (Some(record(true, Some(5))), entry(tag, Some(5)), Witness::Tagged),
            (Some(record(true, None)), entry(tag, Some(9)), Witness::Tagged),
            (Some(record(true, Some(5))), entry(None, Some(5)), Witness::TagDropped),
            // Deleted and added again: another creation time.
            (Some(record(true, Some(5))), entry(None, Some(6)), Witness::Other(String::new())),
            // Killed before the creation time was recorded: the tag alone.
            (Some(record(true, None)), entry(None, Some(5)), Witness::Other(String::new())),
            // Someone else's tag on the same object is their claim.
            (Some(record(true, Some(5))), entry(Some(18), Some(5)), Witness::Other(String::new())),
        ];
        for (record, entry, expected) in rows {
            let found = witness(record.as_ref(), &entry);
            match (&found, &expected) {
                (Witness::Other(why), Witness::Other(_)) => assert!(why.contains("tag"), "{why}"),
                _ => assert_eq!(found, expected, "{record:?} {entry:?}"),
            }
        }
    }
}
