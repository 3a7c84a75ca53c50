//! What start added, kept in the run directory: the interface (by index,
//! which a rename or an altname does not change), the address as resolved,
//! its prefix and label, the host name it came from, and the resource it
//! belongs to. Stop and monitor act on it, so a renamed NIC or a changed
//! /etc/hosts cannot hide the address; without a record they fall back to
//! the configuration.
//!
//! Start writes the record before it adds the address, so that a start
//! killed at any instant leaves stop what it needs; stop removes it once
//! the address is gone.

use crate::ocf::log;
use crate::store::{Kind, ResourceKey, RunDir};
use serde::{Deserialize, Serialize};
use std::io;
use std::net::IpAddr;

/// What start added.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub ip: IpAddr,
    pub prefix: u8,
    pub ifindex: u32,
    /// The interface's name when start added the address (for messages).
    pub nic: String,
    /// The full kernel label, IPv4 only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The host name `ip` was, if it was one, and its address then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host_name: Option<HostName>,
    /// The resource's name (`OCF_RESOURCE_INSTANCE`), when it had one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Whether start tagged the address (`vip::address::ADDRESS_PROTOCOL`);
    /// without the tag, the record alone says which copy is this one's.
    #[serde(default)]
    pub tagged: bool,
    /// When the kernel created the address start added (`cstamp`, see
    /// `AddressEntry::created`), recorded once the add is confirmed: the
    /// witness that the address is still the one start added when
    /// something took its tag away (an `ip addr change` sends none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<u32>,
    /// The IPv6 address-selection label start added (lvs_ipv6_addrlabel),
    /// which stop removes; one that was there before is the admin's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub address_label: Option<u32>,
    /// The macvlan interface `virtual_mac` made start create, recorded
    /// before it is created: stop removes it, and only it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub virtual_link: Option<VirtualLink>,
}

/// The interface start created for `virtual_mac`, and on what.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct VirtualLink {
    pub name: String,
    pub mac: String,
    pub parent_ifindex: u32,
    pub parent: String,
    /// Its index, once created (the address's `ifindex` then).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ifindex: Option<u32>,
}

/// A host name `ip` named and the address /etc/hosts gave it at start,
/// before any clone offset: what later actions resolve the name to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostName {
    pub name: String,
    pub address: IpAddr,
}

impl Record {
    /// Whether the record could describe an address the kernel holds.
    pub fn is_sound(&self) -> bool {
        let max = if self.ip.is_ipv4() { 32 } else { 128 };
        (1..=max).contains(&self.prefix) && self.ifindex > 0
    }

    /// The record of `key`, if start left one. A corrupt record is reported
    /// and ignored: the configuration is the fallback.
    pub fn read(run_dir: &RunDir, key: &ResourceKey) -> Option<Record> {
        Record::read_named(run_dir, &key.file(Kind::Record))
    }

    pub fn read_named(run_dir: &RunDir, name: &str) -> Option<Record> {
        match run_dir.load::<Record>(name) {
            Ok(Some(record)) if record.is_sound() => Some(record),
            Ok(Some(_)) => {
                log::warn(format!("ignoring the corrupt record {}", run_dir.file(name).display()));
                None
            }
            Ok(None) => None,
            Err(err) => {
                log::warn(format!("ignoring the unreadable record: {err}"));
                None
            }
        }
    }

    /// The record of another resource that says it added `ip` to the
    /// interface `ifindex`: that copy is that resource's, not a stray one.
    /// Reads every record, so it is asked only once a copy is found on an
    /// interface this resource does not use.
    pub fn of_another_resource(
        run_dir: &RunDir,
        key: &ResourceKey,
        ip: IpAddr,
        ifindex: u32,
    ) -> Option<Record> {
        let own = key.file(Kind::Record);
        run_dir
            .names_starting_with(&Kind::Record.prefix())
            .iter()
            .filter(|name| **name != own)
            .filter_map(|name| run_dir.load::<Record>(name).ok().flatten())
            .find(|record| record.ip == ip && record.ifindex == ifindex)
    }

    /// Every record of `ip` that names a Pacemaker resource, with that
    /// resource's key (what `explain` by address shows). Reads every
    /// record: for a human's command, never for an action.
    pub fn of_resources(run_dir: &RunDir, ip: IpAddr) -> Vec<(ResourceKey, Record)> {
        let mut found: Vec<(ResourceKey, Record)> = run_dir
            .names_starting_with(&Kind::Record.prefix())
            .iter()
            .filter_map(|name| {
                let record = run_dir.load::<Record>(name).ok().flatten()?;
                let key = ResourceKey::of_file(name, Kind::Record)?;
                (record.ip == ip && record.resource.is_some()).then_some((key, record))
            })
            .collect();
        found.sort_by(|a, b| a.1.resource.cmp(&b.1.resource));
        found
    }

    /// Saves the record, replacing an earlier one.
    pub fn write(&self, run_dir: &RunDir, key: &ResourceKey) -> io::Result<()> {
        run_dir.save(&key.file(Kind::Record), self)
    }

    /// Removes the record of `key`.
    pub fn remove(run_dir: &RunDir, key: &ResourceKey) -> io::Result<()> {
        run_dir.remove(&key.file(Kind::Record))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            ip: "192.0.2.50".parse().unwrap(),
            prefix: 24,
            ifindex: 7,
            nic: "eth0".into(),
            label: Some("eth0:web".into()),
            host_name: Some(HostName { name: "vip-web".into(), address: "192.0.2.49".parse().unwrap() }),
            resource: Some("vip-web:1".into()),
            tagged: true,
            created: Some(123_456),
            address_label: Some(100),
            virtual_link: Some(VirtualLink {
                name: "vmac0a1b2c3d".into(),
                mac: "02:4f:c0:00:02:32".into(),
                parent_ifindex: 3,
                parent: "eth0".into(),
                ifindex: Some(7),
            }),
        }
    }

    fn round_trip(record: &Record) -> Option<Record> {
        serde_json::from_str::<Record>(&serde_json::to_string(record).unwrap()).ok().filter(Record::is_sound)
    }

    #[test]
    fn records_round_trip() {
        assert_eq!(round_trip(&record()), Some(record()));
        let plain = Record {
            label: None,
            host_name: None,
            resource: None,
            tagged: false,
            created: None,
            address_label: None,
            virtual_link: None,
            ..record()
        };
        assert_eq!(round_trip(&plain), Some(plain));
    }

    #[test]
    fn corrupt_records_are_refused() {
        assert_eq!(round_trip(&Record { prefix: 33, ..record() }), None);
        assert_eq!(round_trip(&Record { prefix: 0, ..record() }), None);
        assert_eq!(round_trip(&Record { ifindex: 0, ..record() }), None);
        for bad in ["", "{}", r#"{"ip":"x","prefix":24,"ifindex":7,"nic":"eth0"}"#] {
            assert!(serde_json::from_str::<Record>(bad).is_err(), "{bad:?}");
        }
    }
}
