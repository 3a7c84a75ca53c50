//! Host names for `ip`, resolved from /etc/hosts only: DNS may be down
//! during the very failover the VIP is part of, so it is never asked.
//! (LifeKeeper users name their IP resources in /etc/hosts.)

use std::net::IpAddr;

/// The hosts file consulted.
pub const HOSTS_FILE: &str = "/etc/hosts";

/// Whether `value` could be a host name (RFC 1123 labels), as opposed to a
/// mistyped address, which must be reported as such.
pub fn looks_like_host_name(value: &str) -> bool {
    !value.is_empty()
        && value.len() <= 253
        && value.parse::<IpAddr>().is_err()
        && value.chars().any(|c| c.is_ascii_alphabetic())
        && value.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

/// The address `name` has in this node's hosts file. The file is read as
/// bytes: a line that is not valid UTF-8 is skipped, never a reason to
/// miss the others.
pub fn lookup_file(name: &str) -> Option<IpAddr> {
    let bytes = std::fs::read(HOSTS_FILE).ok()?;
    lookup(&String::from_utf8_lossy(&bytes), name)
}

/// The first address `name` has in `hosts` (the text of a hosts file).
pub fn lookup(hosts: &str, name: &str) -> Option<IpAddr> {
    hosts.lines().find_map(|line| {
        let line = line.split('#').next().unwrap_or_default();
        let mut fields = line.split_whitespace();
        let address: IpAddr = fields.next()?.parse().ok()?;
        fields.any(|alias| alias.eq_ignore_ascii_case(name)).then_some(address)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOSTS: &str = "127.0.0.1 localhost\n# 192.0.2.9 commented\n192.0.2.50  vip-web web.example.com # the VIP\n2001:db8::50 vip6\nbogus line\n192.0.2.51 vip-web\n";

    #[test]
    fn names_resolve_from_the_first_matching_line() {
        assert_eq!(lookup(HOSTS, "vip-web"), Some("192.0.2.50".parse().unwrap()));
        assert_eq!(lookup(HOSTS, "WEB.example.com"), Some("192.0.2.50".parse().unwrap()));
        assert_eq!(lookup(HOSTS, "vip6"), Some("2001:db8::50".parse().unwrap()));
        assert_eq!(lookup(HOSTS, "commented"), None);
        assert_eq!(lookup(HOSTS, "missing"), None);
    }

    #[test]
    fn only_plausible_host_names_are_looked_up() {
        for name in ["vip-web", "web.example.com", "db1"] {
            assert!(looks_like_host_name(name), "{name}");
        }
        for not in ["", "10.0.0.999", "192.0.2.50", "::1", "a b", "$(x)", "-x", "x..y", "12345"] {
            assert!(!looks_like_host_name(not), "{not:?}");
        }
    }
}
