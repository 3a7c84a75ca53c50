//! The name of every file the agent keeps. A resource's files are named
//! from one key that identifies the resource, not only its address: the
//! `ip` parameter exactly as given (a host name stays a name, so a changed
//! /etc/hosts still finds it), Pacemaker's resource name
//! (`OCF_RESOURCE_INSTANCE`), the namespace, and the clone number when
//! each instance has its own address. Two resources with one address on
//! two NICs or in two namespaces never share a file. Run by hand without
//! a resource name, the address (with namespace and clone) is the identity,
//! as it was before resources were named. A few files are shared on purpose, and named by what
//! shares them: the cluster IP's lock (a clone's instances of one address)
//! and the source-route lock (the VIPs of one interface).

use crate::invocation::Invocation;
use std::fmt::Write;
use std::net::IpAddr;

/// What a resource keeps, each in a file of its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// What start added (`vip::record`).
    Record,
    /// The event history (`observe::history`).
    History,
    /// The metrics' state, which the textfile shows (`observe::metrics`).
    Metrics,
    /// Serialises the actions that record history and metrics.
    ObserveLock,
    /// The background announcer's lock (`background`).
    Announcer,
    /// The loopback copy lvs_support took away (`vip::lvs`).
    Loopback,
    /// Started without the address for lack of its subnet (`vip::multisite`).
    StandIn,
    /// The routes preferred_source took over (`vip::source_routes`).
    SourceRoutes,
    /// Serialises the actions that change the node for one resource.
    ActionLock,
    /// Which gateways were asked since the add, and which answered (`vip::convergence`).
    Convergence,
    /// The watcher's lock (`background`, `watch`).
    Watcher,
    /// What the watcher repaired or refused to, for the next monitor to tell (`vip::repair`).
    RepairNotice,
    /// The other MAC the last conflict watch heard claim the VIP (`vip::checks`).
    Conflict,
}

impl Kind {
    /// Every kind of file a resource keeps.
    pub const ALL: [Kind; 13] = [
        Kind::Record,
        Kind::History,
        Kind::Metrics,
        Kind::ObserveLock,
        Kind::Announcer,
        Kind::Loopback,
        Kind::StandIn,
        Kind::SourceRoutes,
        Kind::ActionLock,
        Kind::Convergence,
        Kind::Watcher,
        Kind::RepairNotice,
        Kind::Conflict,
    ];

    /// How the name of every resource's file of this kind begins (what a
    /// look at every resource's file of one kind lists).
    pub fn prefix(self) -> String {
        format!("IPaddr-{}-", self.word())
    }

    /// The word in the file's name (the previous layout's, where it had one).
    pub(super) fn word(self) -> &'static str {
        match self {
            Kind::Record => "vip",
            Kind::History => "history",
            Kind::Metrics => "metrics",
            Kind::ObserveLock => "observe-lock",
            Kind::Announcer => "announce",
            Kind::Loopback => "lvs",
            Kind::StandIn => "nosubnet",
            Kind::SourceRoutes => "srcroutes",
            Kind::ActionLock => "action-lock",
            Kind::Convergence => "converge",
            Kind::Watcher => "watch",
            Kind::RepairNotice => "repaired",
            Kind::Conflict => "conflict",
        }
    }
}

/// Which resource a file belongs to (see the module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceKey {
    /// The key itself, which every per-resource file name ends with.
    key: String,
    /// The key the previous layout (by address only) gave the same
    /// resource, when it differs: its files are taken over on upgrade.
    legacy: Option<String>,
}

/// Past this length a key keeps its start and ends with a hash of the
/// whole, so that a file name stays within NAME_MAX (255) with its prefix.
const MAX_KEY_BYTES: usize = 200;

impl ResourceKey {
    /// The key for the caller's parameters, or `None` when `ip` is not
    /// given, or is neither an address nor a host name (parsing will say
    /// why): a value is checked before it becomes part of a file name.
    pub fn of(inv: &Invocation) -> Option<ResourceKey> {
        let unique = inv.raw.given("unique_clone_address").is_some_and(crate::params::ocf_is_true);
        ResourceKey::from_parts(&KeyParts {
            ip: inv.raw.given("ip")?,
            instance: inv.env.instance.as_deref(),
            namespace: inv.raw.given("network_namespace"),
            clone: inv.env.clone_id.as_deref().filter(|_| unique),
        })
    }

    fn from_parts(parts: &KeyParts) -> Option<ResourceKey> {
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
        // By hand there is no resource name: the address is the identity,
        // so a stop with an edited nic still finds what start recorded.
        if let Some(instance) = parts.instance {
            tagged(&mut key, 'r', instance);
        }
        if let Some(ns) = parts.namespace {
            tagged(&mut key, 'n', ns);
        }
        if let Some(clone) = parts.clone {
            tagged(&mut key, 'c', clone);
        }
        let key = bounded(key);
        let legacy = legacy_key(ip, parts.namespace, parts.clone).filter(|legacy| *legacy != key);
        Some(ResourceKey { key, legacy })
    }

    /// The key of the resource whose file of `kind` is `name`.
    pub fn of_file(name: &str, kind: Kind) -> Option<ResourceKey> {
        let key = name.strip_prefix(&kind.prefix())?;
        (!key.is_empty()).then(|| ResourceKey { key: key.to_string(), legacy: None })
    }

    /// The key itself: what identifies the resource among the node's.
    pub fn text(&self) -> &str {
        &self.key
    }

    /// The name of this resource's file of `kind` (`IPaddr-<kind>-<key>`).
    pub fn file(&self, kind: Kind) -> String {
        format!("{}{}", kind.prefix(), self.key)
    }

    /// The name the previous layout gave the file of `kind`, when it differs.
    pub fn previous_file(&self, kind: Kind) -> Option<String> {
        self.legacy.as_ref().map(|legacy| format!("IPaddr-{}-{legacy}", kind.word()))
    }
}

/// What a key is made of: the `ip` parameter as given, the resource's
/// name, the namespace parameter, and the clone number of a clone whose
/// instances each have their own address.
struct KeyParts<'a> {
    ip: &'a str,
    instance: Option<&'a str>,
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

/// The files several resources share, each named by what shares it: one
/// address in one namespace, or one interface in one namespace.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shared {
    /// The cluster IP's lock, which a clone's instances of one address
    /// take in turn (`vip::cluster`).
    ClusterIpLock,
    /// The lock the preferred_source VIPs of one interface take in turn
    /// (`vip::source_routes`).
    SourceRoutesLock,
    /// The frames an interface's VIPs sent and promised (`vip::pacing`).
    PaceLedger,
    /// The lock of the pace ledger.
    PaceLock,
    /// The virtual_mac VIPs holding a parent interface's `arp_ignore`
    /// (`vip::virtual_link`).
    ParentHolders,
    /// The lock of the holder list.
    ParentHoldersLock,
}

impl Shared {
    /// Every file resources share (for the test that no two names meet).
    #[cfg(test)]
    const ALL: [Shared; 6] = [
        Shared::ClusterIpLock,
        Shared::SourceRoutesLock,
        Shared::PaceLedger,
        Shared::PaceLock,
        Shared::ParentHolders,
        Shared::ParentHoldersLock,
    ];

    /// The word in the file's name.
    fn word(self) -> &'static str {
        match self {
            Shared::ClusterIpLock => "clusterip-lock",
            Shared::SourceRoutesLock => "srcroutes-lock",
            Shared::PaceLedger => "pace",
            Shared::PaceLock => "pace-lock",
            Shared::ParentHolders => "vmac-parent",
            Shared::ParentHoldersLock => "vmac-parent-lock",
        }
    }
}

/// A file shared by every resource of one address in one namespace (the
/// cluster IP's lock). The address in canonical form, and its namespace,
/// since one address may live in several namespaces. The previous layout
/// named every per-VIP file so.
pub fn address_file(shared: Shared, ip: IpAddr, namespace: Option<&str>) -> String {
    shared_file(shared, namespace, ip)
}

/// A file every VIP of one interface shares (an interface index is unique
/// only within its namespace).
pub fn interface_file(shared: Shared, ifindex: u32, namespace: Option<&str>) -> String {
    shared_file(shared, namespace, ifindex)
}

/// `IPaddr-<word>[-<namespace>]-<what shares it>`.
fn shared_file(shared: Shared, namespace: Option<&str>, sharer: impl std::fmt::Display) -> String {
    match namespace {
        Some(ns) => format!("IPaddr-{}-{}-{sharer}", shared.word(), encode(ns)),
        None => format!("IPaddr-{}-{sharer}", shared.word()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(ip: &str, instance: Option<&str>, namespace: Option<&str>) -> ResourceKey {
        ResourceKey::from_parts(&KeyParts { ip, instance, namespace, clone: None }).unwrap()
    }

    #[test]
    fn every_file_has_a_word_of_its_own() {
        let words: Vec<&str> = Kind::ALL
            .iter()
            .map(|kind| kind.word())
            .chain(Shared::ALL.iter().map(|shared| shared.word()))
            .collect();
        let mut distinct = words.clone();
        distinct.sort_unstable();
        distinct.dedup();
        assert_eq!(distinct.len(), words.len(), "{words:?}");
        // A resource's files and the shared ones differ on one interface
        // and one address, in a namespace or not.
        let ip: IpAddr = "192.0.2.50".parse().unwrap();
        let resource = key("192.0.2.50", Some("vip"), Some("blue"));
        let mut names: Vec<String> = Kind::ALL.iter().map(|kind| resource.file(*kind)).collect();
        for ns in [None, Some("blue")] {
            names.extend(Shared::ALL.iter().map(|shared| interface_file(*shared, 3, ns)));
            names.extend(Shared::ALL.iter().map(|shared| address_file(*shared, ip, ns)));
        }
        let count = names.len();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), count);
    }

    #[test]
    fn a_key_names_the_resource_not_only_its_address() {
        let ip = "2001:db8:aa::1";
        let keys = [
            key(ip, Some("gw-vlan10"), None),
            key(ip, Some("gw-vlan20"), None),
            key(ip, Some("web.vip"), None),
            key(ip, Some("web_vip"), None),
            key(ip, Some("vip:1"), None),
            key(ip, Some("vip_1"), None),
            key(ip, Some("gw-vlan10"), Some("blue")),
            key(ip, None, Some("blue")),
            key(ip, None, None),
            key("2001:db8:aa::2", Some("gw-vlan10"), None),
            // A name that spells another key's parts is still its own.
            key(ip, Some("x+nblue"), None),
            key(ip, Some("x"), Some("blue")),
        ];
        for (i, a) in keys.iter().enumerate() {
            assert!(a.file(Kind::Record).starts_with("IPaddr-vip-"), "{a:?}");
            for b in &keys[i + 1..] {
                assert_ne!(a.file(Kind::Record), b.file(Kind::Record), "{a:?} and {b:?}");
            }
        }
    }

    #[test]
    fn a_key_knows_the_name_the_previous_layout_gave_the_same_resource() {
        let clone = |ip, unique: Option<&str>| {
            ResourceKey::from_parts(&KeyParts {
                ip,
                instance: Some("vip"),
                namespace: Some("ns 1"),
                clone: unique,
            })
            .unwrap()
        };
        assert_eq!(
            clone("192.0.2.50", None).previous_file(Kind::Record).as_deref(),
            Some("IPaddr-vip-ns%201-192.0.2.50")
        );
        assert_eq!(
            clone("192.0.2.50", Some("2")).previous_file(Kind::History).as_deref(),
            Some("IPaddr-history-ns%201-192.0.2.50+2")
        );
        assert_eq!(
            key("192.0.2.50", None, None).previous_file(Kind::Record),
            None,
            "the same name: nothing to take over"
        );
    }

    #[test]
    fn a_key_is_refused_for_what_is_no_address_and_bounded_for_long_names() {
        for bad in ["", "not an address", "$(reboot)", &"1".repeat(131_072), "192.0.2.1/../../etc"] {
            let parts = KeyParts { ip: bad, instance: None, namespace: None, clone: None };
            assert_eq!(ResourceKey::from_parts(&parts), None, "{bad:.40}");
        }
        assert!(
            ResourceKey::from_parts(&KeyParts {
                ip: "2001:db8::5/64",
                instance: None,
                namespace: None,
                clone: None
            })
            .is_some()
        );
        let long = "r".repeat(300);
        let (a, b) =
            (key("192.0.2.50", Some(&long), None), key("192.0.2.50", Some(&format!("{long}x")), None));
        assert!(
            a.file(Kind::Record).len() <= 255 && a.file(Kind::History).len() <= 255,
            "{}",
            a.file(Kind::Record).len()
        );
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
