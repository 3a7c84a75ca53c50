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

/// Which resource a record belongs to, and the name every file the
/// resource keeps ends with. A resource is its instance, not its address:
/// Pacemaker's resource name (`OCF_RESOURCE_INSTANCE`) when it gives one,
/// else the `nic` given by hand, then the namespace, the `ip` parameter
/// exactly as given (a host name stays a name, so a changed /etc/hosts
/// still finds it) and the clone number when each instance has its own
/// address. Two resources with one address on two NICs or in two
/// namespaces never share a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordKey {
    /// The key itself, which every per-resource file name ends with.
    key: String,
    file: String,
    /// The key the previous layout (by address only) gave the same
    /// resource, when it differs: its files are taken over on upgrade.
    legacy: Option<String>,
}

/// Past this length a key keeps its start and ends with a hash of the
/// whole, so that a file name stays within NAME_MAX (255) with its prefix.
const MAX_KEY_BYTES: usize = 200;

impl RecordKey {
    /// The key for the caller's parameters, or `None` when `ip` is not
    /// given, or is neither an address nor a host name (parsing will say
    /// why): a value is checked before it becomes part of a file name.
    pub fn of(inv: &Invocation) -> Option<RecordKey> {
        let unique = inv.raw.given("unique_clone_address").is_some_and(crate::params::ocf_is_true);
        RecordKey::from_parts(&KeyParts {
            ip: inv.raw.given("ip")?,
            instance: inv.env.instance.as_deref(),
            nic: inv.raw.given("nic"),
            namespace: inv.raw.given("network_namespace"),
            clone: inv.env.clone_id.as_deref().filter(|_| unique),
        })
    }

    fn from_parts(parts: &KeyParts) -> Option<RecordKey> {
        let ip = parts.ip.trim();
        // IPaddr2's IPv6 `address/prefix` form included, as parsing takes it.
        let address = match ip.split_once('/') {
            Some((address, len)) if address.contains(':') && len.bytes().all(|b| b.is_ascii_digit()) => {
                address
            }
            _ => ip,
        };
        if address.parse::<IpAddr>().is_err() && !crate::hosts::looks_like_host_name(ip) {
            return None;
        }
        let mut key = encode(ip);
        match parts.instance {
            Some(instance) => tagged(&mut key, 'r', instance),
            // By hand there is no resource name: the nic tells two
            // resources of one address apart.
            None => {
                if let Some(nic) = parts.nic {
                    tagged(&mut key, 'i', nic);
                }
            }
        }
        if let Some(ns) = parts.namespace {
            tagged(&mut key, 'n', ns);
        }
        if let Some(clone) = parts.clone {
            tagged(&mut key, 'c', clone);
        }
        let key = bounded(key);
        let legacy = legacy_key(ip, parts.namespace, parts.clone).filter(|legacy| *legacy != key);
        Some(RecordKey { file: format!("IPaddr-vip-{key}"), key, legacy })
    }

    pub fn file_name(&self) -> &str {
        &self.file
    }

    /// The name of another of this resource's files (`IPaddr-<kind>-<key>`).
    pub fn companion(&self, kind: &str) -> String {
        format!("IPaddr-{kind}-{}", self.key)
    }

    /// The same file in the previous layout, when its name differs.
    pub fn legacy_companion(&self, kind: &str) -> Option<String> {
        self.legacy.as_ref().map(|legacy| format!("IPaddr-{kind}-{legacy}"))
    }
}

/// What a key is made of: the `ip` parameter as given, the resource's
/// name, the `nic` and namespace parameters, and the clone number of a
/// clone whose instances each have their own address.
struct KeyParts<'a> {
    ip: &'a str,
    instance: Option<&'a str>,
    nic: Option<&'a str>,
    namespace: Option<&'a str>,
    clone: Option<&'a str>,
}

/// Appends `+<tag><value>`: `+` never appears in an encoded value, so the
/// parts of a key cannot run into each other.
fn tagged(key: &mut String, tag: char, value: &str) {
    let _ = write!(key, "+{tag}{}", encode(value));
}

/// `key`, or its start and a hash of the whole when it is too long.
fn bounded(key: String) -> String {
    if key.len() <= MAX_KEY_BYTES {
        return key;
    }
    let mut cut = MAX_KEY_BYTES - 20;
    while !key.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}~{:016x}", &key[..cut], fnv1a(key.as_bytes()))
}

/// FNV-1a, 64 bits: a stable hash (std's is seeded per process).
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}

/// The key the previous layout gave a resource: namespace, address, clone.
fn legacy_key(ip: &str, namespace: Option<&str>, clone: Option<&str>) -> Option<String> {
    let mut key = String::new();
    if let Some(ns) = namespace {
        let _ = write!(key, "{}-", encode(ns));
    }
    key.push_str(&encode(ip));
    if let Some(clone) = clone {
        let _ = write!(key, "+{}", encode(clone));
    }
    // The previous layout had no bound: a key it could not have used is none.
    (key.len() <= MAX_KEY_BYTES).then_some(key)
}

/// Letters, digits and `. : _ -` as they are; every other byte (`%`
/// included) as `%XX`: any value makes one safe file name, and two values
/// never make the same one.
pub fn encode(text: &str) -> String {
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
    /// The resource's name (`OCF_RESOURCE_INSTANCE`), when it had one.
    pub resource: Option<String>,
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
        if let Some(resource) = &self.resource {
            let _ = writeln!(text, "resource {}", encode(resource));
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
            resource: field("resource"),
        })
    }

    /// The record of `key`, if start left one. A corrupt record is reported
    /// and ignored: the configuration is the fallback.
    pub fn read(run_dir: &RunDir, key: &RecordKey) -> Option<Record> {
        Record::read_named(run_dir, key.file_name())
    }

    fn read_named(run_dir: &RunDir, name: &str) -> Option<Record> {
        match run_dir.read(name) {
            Ok(Some(text)) => {
                let record = Record::decode(&text);
                if record.is_none() {
                    log::warn(format!("ignoring the corrupt record {}", run_dir.file(name).display()));
                }
                record
            }
            Ok(None) => None,
            Err(err) => {
                log::warn(format!("ignoring the unreadable record {}: {err}", run_dir.file(name).display()));
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
        key: &RecordKey,
        ip: IpAddr,
        ifindex: u32,
    ) -> Option<Record> {
        run_dir
            .names_starting_with("IPaddr-vip-")
            .iter()
            .filter(|name| name.as_str() != key.file_name())
            .filter_map(|name| run_dir.read(name).ok().flatten().as_deref().and_then(Record::decode))
            .find(|record| record.ip == ip && record.ifindex == ifindex)
    }

    /// The record the previous layout (keyed by address) kept for this
    /// resource, now under this resource's own key: taken over once, on
    /// the first action after an upgrade. A record for another `nic` than
    /// the configured one is another resource's, and stays.
    pub fn take_over_previous(run_dir: &RunDir, key: &RecordKey, nic: Option<&str>) -> Option<Record> {
        let previous = key.legacy_companion("vip")?;
        let record = Record::read_named(run_dir, &previous)?;
        if nic.is_some_and(|nic| nic.split(':').next() != Some(record.nic.as_str())) {
            return None;
        }
        match run_dir.rename_if_free(&previous, key.file_name()) {
            Ok(true) => {
                log::info(format!(
                    "took over the record of {} kept by the previous version ({previous})",
                    record.ip
                ));
                for kind in ["history"] {
                    if let Some(old) = key.legacy_companion(kind) {
                        let _ = run_dir.rename_if_free(&old, &key.companion(kind));
                    }
                }
                Some(record)
            }
            Ok(false) => Record::read(run_dir, key),
            Err(err) => {
                log::warn(format!("taking over the previous version's record {previous}: {err}"));
                Some(record)
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
            resource: Some("vip-web:1".into()),
        }
    }

    #[test]
    fn records_round_trip() {
        assert_eq!(Record::decode(&record().encode()), Some(record()));
        let plain = Record { label: None, host_name: None, resource: None, ..record() };
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

    fn key(ip: &str, instance: Option<&str>, nic: Option<&str>, namespace: Option<&str>) -> RecordKey {
        RecordKey::from_parts(&KeyParts { ip, instance, nic, namespace, clone: None }).unwrap()
    }

    #[test]
    fn a_key_names_the_resource_not_only_its_address() {
        let ip = "2001:db8:aa::1";
        let keys = [
            key(ip, Some("gw-vlan10"), Some("vlan10"), None),
            key(ip, Some("gw-vlan20"), Some("vlan20"), None),
            key(ip, Some("web.vip"), None, None),
            key(ip, Some("web_vip"), None, None),
            key(ip, Some("vip:1"), None, None),
            key(ip, Some("vip_1"), None, None),
            key(ip, None, Some("vlan10"), None),
            key(ip, None, Some("vlan20"), None),
            key(ip, None, None, Some("blue")),
            key(ip, None, None, None),
            // A name that spells another key's parts is still its own.
            key(ip, Some("x+inic"), None, None),
            key(ip, Some("x"), Some("nic"), None),
        ];
        for (i, a) in keys.iter().enumerate() {
            assert!(a.file_name().starts_with("IPaddr-vip-"), "{a:?}");
            for b in &keys[i + 1..] {
                assert_ne!(a.file_name(), b.file_name(), "{a:?} and {b:?}");
            }
        }
        assert_eq!(
            key(ip, Some("gw"), Some("vlan10"), None),
            key(ip, Some("gw"), Some("vlan20"), None),
            "under Pacemaker the resource's name is the identity"
        );
    }

    #[test]
    fn a_key_knows_the_name_the_previous_layout_gave_the_same_resource() {
        let clone = |ip, unique: Option<&str>| {
            RecordKey::from_parts(&KeyParts {
                ip,
                instance: Some("vip"),
                nic: None,
                namespace: Some("ns 1"),
                clone: unique,
            })
            .unwrap()
        };
        assert_eq!(
            clone("192.0.2.50", None).legacy_companion("vip").as_deref(),
            Some("IPaddr-vip-ns%201-192.0.2.50")
        );
        assert_eq!(
            clone("192.0.2.50", Some("2")).legacy_companion("history").as_deref(),
            Some("IPaddr-history-ns%201-192.0.2.50+2")
        );
        assert_eq!(
            key("192.0.2.50", None, None, None).legacy_companion("vip"),
            None,
            "the same name: nothing to take over"
        );
    }

    #[test]
    fn a_key_is_refused_for_what_is_no_address_and_bounded_for_long_names() {
        for bad in ["", "not an address", "$(reboot)", &"1".repeat(131_072), "192.0.2.1/../../etc"] {
            let parts = KeyParts { ip: bad, instance: None, nic: None, namespace: None, clone: None };
            assert_eq!(RecordKey::from_parts(&parts), None, "{bad:.40}");
        }
        assert!(
            RecordKey::from_parts(&KeyParts {
                ip: "2001:db8::5/64",
                instance: None,
                nic: None,
                namespace: None,
                clone: None
            })
            .is_some()
        );
        let long = "r".repeat(300);
        let (a, b) = (
            key("192.0.2.50", Some(&long), None, None),
            key("192.0.2.50", Some(&format!("{long}x")), None, None),
        );
        assert!(a.file_name().len() <= 255 && a.companion("history").len() <= 255, "{}", a.file_name().len());
        assert_ne!(a, b, "the hash keeps long names apart");
    }

    #[test]
    fn keys_make_safe_file_names() {
        assert_eq!(encode("192.0.2.50"), "192.0.2.50");
        assert_eq!(encode("2001:db8::5/64"), "2001:db8::5%2F64");
        assert_eq!(encode("../x y"), "..%2Fx%20y");
        assert_eq!(encode("vip-web.example.com"), "vip-web.example.com");
    }
}
