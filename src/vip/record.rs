//! What start added, kept in the run directory: the interface (by index,
//! which a rename or an altname does not change), the address as resolved,
//! its prefix and label, and the host name it came from. Stop and monitor
//! act on it, so a renamed NIC or a changed /etc/hosts cannot hide the
//! address; without a record they fall back to the configuration.
//!
//! Start writes the record before it adds the address, so that a start
//! killed at any instant leaves stop what it needs; stop removes it once
//! the address is gone.

use crate::invocation::Invocation;
use crate::ocf::log;
use crate::rundir::RunDir;
use std::fmt::Write;
use std::io;
use std::net::IpAddr;

/// Which resource a record belongs to: the `ip` parameter exactly as given
/// (a host name stays a name, so a changed /etc/hosts still finds it), the
/// clone number when each instance has its own address, and the namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordKey {
    /// The key itself, which every per-VIP file name ends with.
    key: String,
    file: String,
}

impl RecordKey {
    /// The key for the caller's parameters, or `None` when `ip` is not
    /// given as text (parsing will say why).
    pub fn of(inv: &Invocation) -> Option<RecordKey> {
        let ip = inv.raw.given("ip")?.trim();
        let mut key = String::new();
        if let Some(ns) = inv.raw.given("network_namespace") {
            let _ = write!(key, "{}-", encode(ns));
        }
        key.push_str(&encode(ip));
        let unique = inv.raw.given("unique_clone_address").is_some_and(crate::params::ocf_is_true);
        if let (true, Some(clone)) = (unique, &inv.env.clone_id) {
            let _ = write!(key, "+{}", encode(clone));
        }
        Some(RecordKey { file: format!("IPaddr-vip-{key}"), key })
    }

    pub fn file_name(&self) -> &str {
        &self.file
    }

    /// The name of another of this VIP's files (`IPaddr-<kind>-<key>`).
    pub fn companion(&self, kind: &str) -> String {
        format!("IPaddr-{kind}-{}", self.key)
    }
}

/// Letters, digits and `. : _ -` as they are; every other byte as `%XX`,
/// so any value makes one safe file name.
fn encode(text: &str) -> String {
    let mut out = String::new();
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'.' | b':' | b'_' | b'-') {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// What start added.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub ip: IpAddr,
    pub prefix: u8,
    pub ifindex: u32,
    /// The interface's name when start added the address (for messages).
    pub nic: String,
    /// The full kernel label, IPv4 only.
    pub label: Option<String>,
    /// The host name `ip` was, if it was one, and its address then.
    pub host_name: Option<HostName>,
}

/// A host name `ip` named and the address /etc/hosts gave it at start,
/// before any clone offset: what later actions resolve the name to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostName {
    pub name: String,
    pub address: IpAddr,
}

impl Record {
    fn encode(&self) -> String {
        let mut text =
            format!("ip {}\nprefix {}\nifindex {}\nnic {}\n", self.ip, self.prefix, self.ifindex, self.nic);
        if let Some(label) = &self.label {
            let _ = writeln!(text, "label {label}");
        }
        if let Some(host) = &self.host_name {
            let _ = writeln!(text, "name {} {}", host.name, host.address);
        }
        text
    }

    fn decode(text: &str) -> Option<Record> {
        let field = |name: &str| {
            text.lines().find_map(|line| line.strip_prefix(name)?.strip_prefix(' ')).map(str::to_string)
        };
        let ip: IpAddr = field("ip")?.parse().ok()?;
        let prefix: u8 = field("prefix")?.parse().ok()?;
        let max = if ip.is_ipv4() { 32 } else { 128 };
        if prefix == 0 || prefix > max {
            return None;
        }
        Some(Record {
            ip,
            prefix,
            ifindex: field("ifindex")?.parse().ok().filter(|index| *index > 0)?,
            nic: field("nic")?,
            label: field("label"),
            host_name: match field("name") {
                None => None,
                Some(line) => {
                    let (name, address) = line.split_once(' ')?;
                    Some(HostName { name: name.to_string(), address: address.parse().ok()? })
                }
            },
        })
    }

    /// The record of `key`, if start left one. A corrupt record is reported
    /// and ignored: the configuration is the fallback.
    pub fn read(run_dir: &RunDir, key: &RecordKey) -> Option<Record> {
        match run_dir.read(key.file_name()) {
            Ok(Some(text)) => {
                let record = Record::decode(&text);
                if record.is_none() {
                    log::warn(format!(
                        "ignoring the corrupt record {}",
                        run_dir.file(key.file_name()).display()
                    ));
                }
                record
            }
            Ok(None) => None,
            Err(err) => {
                log::warn(format!(
                    "ignoring the unreadable record {}: {err}",
                    run_dir.file(key.file_name()).display()
                ));
                None
            }
        }
    }

    /// Saves the record, replacing an earlier one.
    pub fn write(&self, run_dir: &RunDir, key: &RecordKey) -> io::Result<()> {
        run_dir.write(key.file_name(), &self.encode())
    }

    /// Removes the record of `key`.
    pub fn remove(run_dir: &RunDir, key: &RecordKey) -> io::Result<()> {
        run_dir.remove(key.file_name())
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
        }
    }

    #[test]
    fn records_round_trip() {
        assert_eq!(Record::decode(&record().encode()), Some(record()));
        let plain = Record { label: None, host_name: None, ..record() };
        assert_eq!(Record::decode(&plain.encode()), Some(plain));
    }

    #[test]
    fn corrupt_records_are_refused() {
        for bad in ["", "ip 192.0.2.50\nprefix 24\nnic eth0\n", "ip x\nprefix 24\nifindex 7\nnic eth0\n"] {
            assert_eq!(Record::decode(bad), None, "{bad:?}");
        }
        let text = record().encode();
        assert_eq!(Record::decode(&text.replace("prefix 24", "prefix 33")), None);
        assert_eq!(Record::decode(&text.replace("ifindex 7", "ifindex 0")), None);
        assert_eq!(Record::decode(&text.replace("name vip-web 192.0.2.49", "name vip-web")), None);
    }

    #[test]
    fn keys_make_safe_file_names() {
        assert_eq!(encode("192.0.2.50"), "192.0.2.50");
        assert_eq!(encode("2001:db8::5/64"), "2001:db8::5%2F64");
        assert_eq!(encode("../x y"), "..%2Fx%20y");
        assert_eq!(encode("vip-web.example.com"), "vip-web.example.com");
    }
}
