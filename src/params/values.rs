//! Pure parsers for parameter values. Each returns the typed value or a
//! reason that names the parameter and the offending value.

use crate::ocf::log::printable;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `ocf_is_true` from ocf-shellfuncs: the spellings IPaddr2 takes as true.
pub fn ocf_is_true(value: &str) -> bool {
    matches!(value, "yes" | "true" | "1" | "YES" | "TRUE" | "True" | "ja" | "on" | "ON")
}

/// Spellings that clearly mean false.
fn ocf_is_false(value: &str) -> bool {
    matches!(value, "no" | "false" | "0" | "NO" | "FALSE" | "False" | "nein" | "off" | "OFF")
}

/// A boolean as IPaddr2 reads it: anything not true is false. Values that
/// are neither spelling still count as false (existing configurations keep
/// working) but are reported, since they are most likely typos.
pub fn boolean(name: &str, value: &str) -> (bool, Option<String>) {
    if ocf_is_true(value) {
        (true, None)
    } else if ocf_is_false(value) {
        (false, None)
    } else {
        let warning = format!(
            "{name}=[{}] is not a boolean (use true or false); treating it as false",
            printable(value)
        );
        (false, Some(warning))
    }
}

/// A decimal integer in `min..=max`, digits only as `ocf_is_decimal` wants.
pub fn integer(name: &str, value: &str, min: u64, max: u64) -> Result<u64, String> {
    let invalid =
        || format!("invalid {name} [{}]: expected a whole number from {min} to {max}", printable(value));
    if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    match value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(invalid()),
    }
}

/// The `ip` parameter: one unicast IPv4 or IPv6 address, nothing around it.
pub fn vip(value: &str) -> Result<IpAddr, String> {
    let ip: IpAddr = value
        .parse()
        .map_err(|_| format!("IP address [{}] is not a valid IPv4 or IPv6 address", printable(value)))?;
    let unusable = match ip {
        IpAddr::V4(v4) if v4.is_unspecified() || v4.octets()[0] == 0 => {
            Some("in 0.0.0.0/8 (\"this network\")")
        }
        IpAddr::V4(v4) if v4.is_broadcast() => Some("the limited broadcast address"),
        IpAddr::V4(v4) if v4.is_multicast() => Some("a multicast address"),
        IpAddr::V4(v4) if v4.octets()[0] >= 240 => Some("in the reserved range 240.0.0.0/4"),
        IpAddr::V6(v6) if v6.is_unspecified() => Some("the unspecified address"),
        IpAddr::V6(v6) if v6.is_multicast() => Some("a multicast address"),
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => {
            Some("an IPv4-mapped IPv6 address (configure the IPv4 address instead)")
        }
        _ => None,
    };
    match unusable {
        Some(why) => Err(format!("IP address [{ip}] cannot be a virtual IP: it is {why}")),
        None => Ok(ip),
    }
}

/// `cidr_netmask`: a prefix length, or for IPv4 a dotted-quad netmask that
/// is converted (IPaddr2's findif does the same, with a warning).
pub fn prefix_len(value: &str, ip: IpAddr) -> Result<(u8, Option<String>), String> {
    let max: u8 = if ip.is_ipv4() { 32 } else { 128 };
    let family = if ip.is_ipv4() { "IPv4" } else { "IPv6" };
    if ip.is_ipv4() && value.contains('.') {
        let mask: Ipv4Addr = value.parse().map_err(|_| {
            format!("invalid cidr_netmask [{}]: not a prefix length or netmask", printable(value))
        })?;
        let bits = u32::from(mask);
        let len = bits.leading_ones();
        if bits.checked_shl(len).unwrap_or(0) != 0 || len == 0 {
            return Err(format!("invalid cidr_netmask [{mask}]: the netmask bits are not contiguous"));
        }
        let warning = format!("please write cidr_netmask={mask} as the prefix length {len}");
        return Ok((len as u8, Some(warning)));
    }
    let len = integer("cidr_netmask", value, 1, max.into()).map_err(|_| {
        format!(
            "invalid cidr_netmask [{}] for {family} address {ip}: expected a prefix length from 1 to {max}",
            printable(value)
        )
    })?;
    Ok((len as u8, None))
}

/// How the broadcast address is chosen (IPv4 only).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BroadcastSpec {
    /// Not given: inherit the broadcast of the subnet's primary address, like IPaddr2.
    Inherit,
    Address(Ipv4Addr),
    /// `+`: the prefix with all host bits set.
    HostBitsSet,
    /// `-`: the prefix with all host bits cleared.
    HostBitsCleared,
}

/// An IPv4 broadcast: an address, `+` or `-` (empty: inherit).
pub fn broadcast(value: &str) -> Result<BroadcastSpec, String> {
    if value.is_empty() {
        return Ok(BroadcastSpec::Inherit);
    }
    match value {
        "+" => Ok(BroadcastSpec::HostBitsSet),
        "-" => Ok(BroadcastSpec::HostBitsCleared),
        _ => value.parse().map(BroadcastSpec::Address).map_err(|_| {
            format!("invalid broadcast address [{}]: expected an IPv4 address, + or -", printable(value))
        }),
    }
}

/// Computes the broadcast address for `+` and `-`; none for /31 and /32,
/// which have no broadcast address (RFC 3021), as `ip addr add brd +` does.
pub fn derived_broadcast(spec: BroadcastSpec, ip: Ipv4Addr, prefix: u8) -> Option<Ipv4Addr> {
    let host_mask = u32::MAX.checked_shr(u32::from(prefix)).unwrap_or(0);
    match spec {
        BroadcastSpec::Address(addr) => Some(addr),
        BroadcastSpec::Inherit => None,
        _ if prefix >= 31 => None,
        BroadcastSpec::HostBitsSet => Some(Ipv4Addr::from(u32::from(ip) | host_mask)),
        BroadcastSpec::HostBitsCleared => Some(Ipv4Addr::from(u32::from(ip) & !host_mask)),
    }
}

/// The IPv6 preferred lifetime (RFC 4862 section 5.5.4): seconds or forever.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    Forever,
    Seconds(u32),
}

impl Lifetime {
    /// The value netlink's `ifa_cacheinfo` carries; all ones means forever.
    pub fn as_netlink(self) -> u32 {
        match self {
            Lifetime::Forever => u32::MAX,
            Lifetime::Seconds(s) => s,
        }
    }
}

/// `preferred_lft` in the spellings ip(8) accepts: `forever`, or seconds
/// in decimal, hexadecimal (`0x`) or octal (leading `0`), where
/// 4294967295 also means forever.
/// A directory the agent writes into: an absolute path of printable text.
pub fn absolute_dir(value: &str) -> Result<std::path::PathBuf, String> {
    if !value.starts_with('/')
        || value.chars().any(char::is_control)
        || value.split('/').any(|part| part == "..")
    {
        return Err(format!(
            "invalid metrics_dir [{}]: expected an absolute directory path",
            printable(value)
        ));
    }
    Ok(std::path::PathBuf::from(value))
}

pub fn lifetime(value: &str) -> Result<Lifetime, String> {
    if value == "forever" {
        return Ok(Lifetime::Forever);
    }
    let (digits, radix) = match value.strip_prefix("0x").or_else(|| value.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None if value.len() > 1 && value.starts_with('0') => (&value[1..], 8),
        None => (value, 10),
    };
    let seconds = match digits.bytes().all(|b| b.is_ascii_hexdigit()) && !digits.is_empty() {
        true => u32::from_str_radix(digits, radix).ok(),
        false => None,
    };
    match seconds {
        Some(u32::MAX) => Ok(Lifetime::Forever),
        Some(seconds) => Ok(Lifetime::Seconds(seconds)),
        None => Err(format!("invalid preferred_lft [{}]: expected seconds or \"forever\"", printable(value))),
    }
}

/// Route protocols by the names iproute2 gives them (`/etc/iproute2/rt_protos`).
const ROUTE_PROTOCOLS: &[(&str, u8)] = &[
    ("redirect", 1),
    ("kernel", 2),
    ("boot", 3),
    ("static", 4),
    ("gated", 8),
    ("ra", 9),
    ("mrt", 10),
    ("zebra", 11),
    ("bird", 12),
    ("dnrouted", 13),
    ("xorp", 14),
    ("ntk", 15),
    ("dhcp", 16),
    ("keepalived", 18),
    ("babel", 42),
    ("openr", 99),
    ("bgp", 186),
    ("isis", 187),
    ("ospf", 188),
    ("rip", 189),
    ("eigrp", 192),
];

/// `proto`: a route protocol name or number.
pub fn route_protocol(value: &str) -> Result<u8, String> {
    if let Some((_, number)) = ROUTE_PROTOCOLS.iter().find(|(name, _)| *name == value) {
        return Ok(*number);
    }
    integer("proto", value, 0, 255).map(|n| n as u8).map_err(|_| {
        format!(
            "invalid proto [{}]: expected a route protocol name (kernel, static, dhcp, …) or a number 0-255",
            printable(value)
        )
    })
}

/// Adds the clone number to the address, for `unique_clone_address`: IPaddr2
/// adds it to the last IPv4 octet; we add it to the address as a number,
/// which is the same for IPv4 and also defined for IPv6.
pub fn offset_address(ip: IpAddr, offset: u32) -> Result<IpAddr, String> {
    let overflow = || format!("unique_clone_address: {ip} plus clone number {offset} overflows the address");
    match ip {
        IpAddr::V4(v4) => {
            let n = u32::from(v4).checked_add(offset).ok_or_else(overflow)?;
            if n & 0xFFFF_FF00 != u32::from(v4) & 0xFFFF_FF00 {
                return Err(overflow());
            }
            Ok(IpAddr::V4(Ipv4Addr::from(n)))
        }
        IpAddr::V6(v6) => {
            let n = u128::from(v6).checked_add(u128::from(offset)).ok_or_else(overflow)?;
            Ok(IpAddr::V6(Ipv6Addr::from(n)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v4(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn booleans_follow_ocf_is_true_and_flag_typos() {
        assert_eq!(boolean("x", "yes"), (true, None));
        assert_eq!(boolean("x", "on"), (true, None));
        assert_eq!(boolean("x", "False"), (false, None));
        let (value, warning) = boolean("lvs_support", "maybe");
        assert!(!value);
        assert!(warning.unwrap().contains("lvs_support=[maybe]"));
    }

    #[test]
    fn integers_are_digits_only_and_in_range() {
        assert_eq!(integer("n", "5", 1, 10), Ok(5));
        for bad in ["", "0", "11", "-1", "+3", " 5", "5 ", "1e3", "99999999999999999999999"] {
            assert!(integer("n", bad, 1, 10).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn vip_rejects_addresses_that_cannot_float() {
        assert!(vip("10.0.0.5").is_ok());
        assert!(vip("2001:db8::5").is_ok());
        assert!(vip("fe80::1").is_ok());
        for bad in [
            "",
            "10.0.0",
            "10.0.0.256",
            "10.0.0.5/24",
            " 10.0.0.5",
            "10.0.0.5;reboot",
            "0.0.0.0",
            "0.1.2.3",
            "255.255.255.255",
            "224.0.0.1",
            "240.0.0.1",
            "::",
            "ff02::1",
            "::ffff:10.0.0.5",
            "fe80::1%eth0",
            "010.0.0.5",
        ] {
            assert!(vip(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn prefix_lengths_are_bounded_by_family() {
        assert_eq!(prefix_len("24", v4("10.0.0.1")), Ok((24, None)));
        assert_eq!(prefix_len("32", v4("10.0.0.1")), Ok((32, None)));
        assert_eq!(prefix_len("128", v4("::1")).map(|p| p.0), Ok(128));
        for bad in ["0", "33", "-1", "abc", "", "24 ", "0024x"] {
            assert!(prefix_len(bad, v4("10.0.0.1")).is_err(), "{bad:?} accepted");
        }
        assert!(prefix_len("64", v4("10.0.0.1")).is_err());
        assert!(prefix_len("129", v4("::1")).is_err());
    }

    #[test]
    fn dotted_netmasks_convert_when_contiguous() {
        let (len, warning) = prefix_len("255.255.255.0", v4("10.0.0.1")).unwrap();
        assert_eq!(len, 24);
        assert!(warning.is_some());
        assert_eq!(prefix_len("255.255.255.255", v4("10.0.0.1")).unwrap().0, 32);
        assert_eq!(prefix_len("128.0.0.0", v4("10.0.0.1")).unwrap().0, 1);
        assert!(prefix_len("255.0.255.0", v4("10.0.0.1")).is_err());
        assert!(prefix_len("0.0.0.0", v4("10.0.0.1")).is_err());
        assert!(prefix_len("255.255.255.0", v4("::1")).is_err());
    }

    #[test]
    fn derived_broadcasts_set_or_clear_host_bits() {
        let ip: Ipv4Addr = "10.1.2.77".parse().unwrap();
        let cases = [
            (BroadcastSpec::HostBitsSet, 24, Some("10.1.2.255")),
            (BroadcastSpec::HostBitsCleared, 24, Some("10.1.2.0")),
            (BroadcastSpec::HostBitsSet, 30, Some("10.1.2.79")),
            (BroadcastSpec::HostBitsSet, 1, Some("127.255.255.255")),
            (BroadcastSpec::HostBitsSet, 31, None),
            (BroadcastSpec::HostBitsCleared, 32, None),
            (BroadcastSpec::Inherit, 24, None),
            (BroadcastSpec::Address("10.1.2.9".parse().unwrap()), 24, Some("10.1.2.9")),
        ];
        for (spec, prefix, expected) in cases {
            let expected = expected.map(|s| s.parse::<Ipv4Addr>().unwrap());
            assert_eq!(derived_broadcast(spec, ip, prefix), expected, "{spec:?}/{prefix}");
        }
    }

    #[test]
    fn broadcasts_are_addresses_plus_or_minus() {
        assert_eq!(broadcast(""), Ok(BroadcastSpec::Inherit));
        assert_eq!(broadcast("+"), Ok(BroadcastSpec::HostBitsSet));
        assert_eq!(broadcast("10.0.0.255"), Ok(BroadcastSpec::Address("10.0.0.255".parse().unwrap())));
        assert!(broadcast("10.0.0.300").is_err());
        assert!(broadcast("2001:db8::ff").is_err());
    }

    #[test]
    fn lifetimes_and_protocols_parse() {
        assert_eq!(lifetime("forever"), Ok(Lifetime::Forever));
        assert_eq!(lifetime("0"), Ok(Lifetime::Seconds(0)));
        assert!(lifetime("").is_err());
        assert_eq!(lifetime("4294967295"), Ok(Lifetime::Forever), "ip(8)'s infinity");
        assert_eq!(lifetime("0x10"), Ok(Lifetime::Seconds(16)));
        assert_eq!(lifetime("010"), Ok(Lifetime::Seconds(8)));
        for bad in ["0x", "-1", " 5", "5s", "09", "4294967296", "0x1g"] {
            assert!(lifetime(bad).is_err(), "{bad:?}");
        }
        assert_eq!(route_protocol("kernel"), Ok(2));
        assert_eq!(route_protocol("42"), Ok(42));
        assert!(route_protocol("kernl").is_err());
        assert!(route_protocol("256").is_err());
    }

    #[test]
    fn clone_offsets_stay_in_the_last_octet_for_ipv4() {
        assert_eq!(offset_address(v4("10.0.0.10"), 3), Ok(v4("10.0.0.13")));
        assert!(offset_address(v4("10.0.0.250"), 10).is_err());
        assert_eq!(offset_address("2001:db8::ff".parse().unwrap(), 1), Ok("2001:db8::100".parse().unwrap()));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn every_valid_prefix_length_parses_back(len in 1u8..=32, v6len in 1u8..=128) {
            let v4: IpAddr = "10.0.0.1".parse().unwrap();
            let v6: IpAddr = "2001:db8::1".parse().unwrap();
            prop_assert_eq!(prefix_len(&len.to_string(), v4), Ok((len, None)));
            prop_assert_eq!(prefix_len(&v6len.to_string(), v6), Ok((v6len, None)));
        }

        #[test]
        fn every_contiguous_netmask_converts_to_its_length(len in 1u32..=32) {
            let mask = Ipv4Addr::from(u32::MAX << (32 - len));
            let (parsed, warning) = prefix_len(&mask.to_string(), "10.0.0.1".parse().unwrap()).unwrap();
            prop_assert_eq!(u32::from(parsed), len);
            prop_assert!(warning.is_some());
        }

        #[test]
        fn non_contiguous_netmasks_are_refused(bits in any::<u32>()) {
            prop_assume!(bits.leading_ones() + bits.trailing_zeros() != 32 || bits == 0);
            prop_assert!(prefix_len(&Ipv4Addr::from(bits).to_string(), "10.0.0.1".parse().unwrap()).is_err());
        }

        #[test]
        fn derived_broadcasts_stay_in_the_subnet(ip in any::<u32>(), len in 1u8..=30) {
            let ip = Ipv4Addr::from(ip);
            let net = ipnetwork::Ipv4Network::new(ip, len).unwrap();
            let set = derived_broadcast(BroadcastSpec::HostBitsSet, ip, len).unwrap();
            let cleared = derived_broadcast(BroadcastSpec::HostBitsCleared, ip, len).unwrap();
            prop_assert_eq!(set, net.broadcast());
            prop_assert_eq!(cleared, net.network());
            prop_assert!(net.contains(set) && net.contains(cleared));
        }

        #[test]
        fn parsers_never_panic_on_any_text(text in ".{0,80}") {
            let v4: IpAddr = "10.0.0.1".parse().unwrap();
            let _ = vip(&text);
            let _ = prefix_len(&text, v4);
            let _ = broadcast(&text);
            let _ = lifetime(&text);
            let _ = route_protocol(&text);
            let _ = integer("x", &text, 0, 10);
            let _ = boolean("x", &text);
        }

        #[test]
        fn accepted_vips_print_back_canonically(a in any::<[u8; 4]>()) {
            let text = Ipv4Addr::from(a).to_string();
            if let Ok(ip) = vip(&text) {
                prop_assert_eq!(ip.to_string(), text);
                prop_assert!(!ip.is_multicast() && !ip.is_unspecified());
            }
        }
    }
}
