//! `virtual_mac`: the VIP lives on a macvlan interface of its own whose MAC
//! belongs to the service, so a failover never changes the VIP's IP→MAC
//! binding. This module reads the value and derives what every node must
//! compute alike: the MAC of `auto`, and the interface's name.

use super::reader::invalid;
use crate::packet::Mac;
use std::net::IpAddr;

/// The MAC `virtual_mac` gives the VIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VirtualMac {
    /// Given as a MAC.
    Fixed(Mac),
    /// `auto`: derived from the VIP (see `derived`).
    Derived,
}

impl VirtualMac {
    /// The MAC for `ip`: the given one, or the one `auto` derives.
    pub fn for_ip(self, ip: IpAddr) -> Mac {
        match self {
            VirtualMac::Fixed(mac) => mac,
            VirtualMac::Derived => derived(ip),
        }
    }
}

/// Reads `virtual_mac`: empty (not set), `auto`, or a unicast MAC that is
/// locally administered (or one of the IANA VRRP ranges keepalived uses).
pub fn parse(text: &str) -> Result<VirtualMac, String> {
    if text.eq_ignore_ascii_case("auto") {
        return Ok(VirtualMac::Derived);
    }
    let expected = "auto, or a locally administered unicast MAC such as 02:00:5e:10:00:32";
    let mac = parse_mac(text).ok_or_else(|| invalid("virtual_mac", text, expected))?;
    if let Some(why) = unusable(mac) {
        return Err(format!("virtual_mac {mac} {why}; use {expected}"));
    }
    Ok(VirtualMac::Fixed(mac))
}

/// Why `mac` cannot be a VIP's own MAC, or `None`.
fn unusable(mac: Mac) -> Option<&'static str> {
    if mac.is_zero() {
        return Some("is the all-zero MAC");
    }
    if mac.is_broadcast() {
        return Some("is the broadcast MAC");
    }
    if mac.is_multicast() {
        return Some("is a multicast MAC (odd first octet)");
    }
    if mac.is_universal() && !is_vrrp(mac) {
        return Some("is globally administered: it belongs to some vendor's device");
    }
    None
}

/// The IANA ranges for VRRP's virtual routers (IPv4 `00:00:5e:00:01:xx`,
/// IPv6 `00:00:5e:00:02:xx`): keepalived's `use_vmac` MACs, which users
/// moving from keepalived may keep.
fn is_vrrp(mac: Mac) -> bool {
    (mac.0, mac.1, mac.2, mac.3) == (0, 0, 0x5e, 0) && matches!(mac.4, 1 | 2)
}

/// Six two-digit hex octets with `:` or `-` between them.
fn parse_mac(text: &str) -> Option<Mac> {
    let octets: Vec<&str> = text.split([':', '-']).collect();
    if octets.len() != 6 || octets.iter().any(|o| o.len() != 2 || !o.bytes().all(|b| b.is_ascii_hexdigit())) {
        return None;
    }
    octets.join(":").parse().ok()
}

/// `auto`'s MAC, the same on every node: for IPv4 `02:4f` followed by the
/// address's four octets (192.0.2.50 → 02:4f:c0:00:02:32); for IPv6 `06:4f`
/// followed by the FNV-1a 32-bit hash of the address's 16 octets, big
/// endian. Both locally administered unicast.
pub fn derived(ip: IpAddr) -> Mac {
    let tail = match ip {
        IpAddr::V4(v4) => v4.octets(),
        IpAddr::V6(v6) => fnv1a32(&v6.octets()).to_be_bytes(),
    };
    let first = if ip.is_ipv4() { 0x02 } else { 0x06 };
    Mac(first, 0x4f, tail[0], tail[1], tail[2], tail[3])
}

/// The name of the resource's macvlan interface: `vmac` and the FNV-1a
/// 32-bit hash of the resource's key in 8 hex digits (12 characters, within
/// the kernel's 15). Every node derives the same name for one resource.
pub fn link_name(resource_key: &str) -> String {
    format!("vmac{:08x}", fnv1a32(resource_key.as_bytes()))
}

/// FNV-1a, 32 bits: short, stable across releases and platforms.
fn fnv1a32(bytes: &[u8]) -> u32 {
    bytes.iter().fold(0x811c_9dc5_u32, |hash, &byte| (hash ^ u32::from(byte)).wrapping_mul(0x0100_0193))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_locally_administered_unicast_mac_is_taken_in_either_spelling() {
        let mac = Mac(0x02, 0, 0x5e, 0x10, 0, 0x32);
        assert_eq!(parse("02:00:5e:10:00:32"), Ok(VirtualMac::Fixed(mac)));
        assert_eq!(parse("02-00-5E-10-00-32"), Ok(VirtualMac::Fixed(mac)));
        assert_eq!(parse("AUTO"), Ok(VirtualMac::Derived));
        assert_eq!(parse("00:00:5e:00:01:0a"), Ok(VirtualMac::Fixed(Mac(0, 0, 0x5e, 0, 1, 10))), "VRRP");
    }

    #[test]
    fn macs_that_cannot_be_a_vips_own_are_refused_with_the_reason() {
        for (text, why) in [
            ("00:00:00:00:00:00", "all-zero"),
            ("ff:ff:ff:ff:ff:ff", "broadcast"),
            ("03:00:5e:10:00:32", "multicast"),
            ("01:00:5e:00:00:01", "multicast"),
            ("00:16:3e:12:34:56", "globally administered"),
            ("00:00:5e:00:03:01", "globally administered"),
        ] {
            let err = parse(text).unwrap_err();
            assert!(err.contains(why), "{text}: {err}");
        }
        for malformed in
            ["", "02:00:5e:10:00", "02:00:5e:10:00:32:01", "2:0:5e:10:0:32", "02:00:5e:10:00:zz", "x"]
        {
            assert!(parse(malformed).unwrap_err().starts_with("invalid virtual_mac"), "{malformed:?}");
        }
    }

    #[test]
    fn auto_derives_a_usable_mac_from_the_address_alone() {
        let v4: IpAddr = "192.0.2.50".parse().unwrap();
        assert_eq!(derived(v4), Mac(0x02, 0x4f, 192, 0, 2, 50));
        assert_eq!(VirtualMac::Derived.for_ip(v4), derived(v4));
        let v6: IpAddr = "2001:db8::50".parse().unwrap();
        let other: IpAddr = "2001:db8:1::50".parse().unwrap();
        assert_eq!((derived(v6).0, derived(v6).1), (0x06, 0x4f));
        assert_ne!(derived(v6), derived(other), "the whole address counts, not its last bits");
        for ip in [v4, v6, other] {
            assert_eq!(unusable(derived(ip)), None, "{ip}: {}", derived(ip));
        }
        // FNV-1a's published test vector: the formula the docs give.
        assert_eq!(fnv1a32(b"a"), 0xe40c_292c);
    }

    #[test]
    fn the_interface_name_fits_the_kernel_and_differs_by_resource() {
        let name = link_name("192.0.2.50+rvip");
        assert!(name.len() <= 15 && name.starts_with("vmac"), "{name}");
        assert_eq!(name, link_name("192.0.2.50+rvip"), "every node derives the same");
        assert_ne!(name, link_name("192.0.2.50+rvip2"));
    }
}
