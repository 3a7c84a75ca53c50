//! The few kernel settings the agent reads or writes under /proc/sys: the
//! one doorway to them, so no other module builds a /proc path.

use std::io;
use std::net::IpAddr;
use std::path::PathBuf;

/// The path of a setting; segments are kept whole, since interface names
/// may hold dots (`eth0.100`).
fn path(segments: &[&str]) -> PathBuf {
    segments.iter().fold(PathBuf::from("/proc/sys"), |path, segment| path.join(segment))
}

/// Whether deleting a primary IPv4 address of `nic` promotes a secondary of
/// its subnet instead of deleting them all (`promote_secondaries`).
pub fn promotes_secondaries(nic: &str) -> bool {
    ["all", nic].iter().any(|scope| {
        std::fs::read_to_string(path(&["net", "ipv4", "conf", scope, "promote_secondaries"]))
            .is_ok_and(|value| value.trim() == "1")
    })
}

/// `arp_ignore` in effect for ARP requests arriving on `nic` (`all`'s alone
/// when no NIC is known): the larger of `all`'s and the NIC's own, the
/// kernel's rule. A value it cannot read counts as 0, the kernel's default:
/// the node answers.
pub fn arp_ignore(nic: Option<&str>) -> u8 {
    let read = |scope: &str| {
        std::fs::read_to_string(path(&["net", "ipv4", "conf", scope, "arp_ignore"]))
            .ok()
            .and_then(|value| value.trim().parse::<u8>().ok())
            .unwrap_or(0)
    };
    read("all").max(nic.map_or(0, read))
}

/// An interface's own value of an IPv4 setting (`net.ipv4.conf.NIC.NAME`).
pub fn ipv4_conf(nic: &str, name: &str) -> io::Result<u8> {
    let text = std::fs::read_to_string(path(&["net", "ipv4", "conf", nic, name]))?;
    text.trim()
        .parse()
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, format!("{name} reads {text:?}")))
}

/// Sets an interface's own value of a setting of `family` ("ipv4" or
/// "ipv6": `net.FAMILY.conf.NIC.NAME`).
pub fn set_conf(family: &str, nic: &str, name: &str, value: u8) -> io::Result<()> {
    let path = path(&["net", family, "conf", nic, name]);
    crate::crash_point::before("write setting", &path.display());
    std::fs::write(path, value.to_string())
}

/// Turns `promote_secondaries` on for `nic`.
pub fn promote_secondaries(nic: &str) -> io::Result<()> {
    let path = path(&["net", "ipv4", "conf", nic, "promote_secondaries"]);
    crate::crash_point::before("write setting", &path.display());
    std::fs::write(path, "1")
}

/// Flushes the route cache of `ip`'s family, as `ip route flush cache` does.
pub fn flush_route_cache(ip: IpAddr) -> io::Result<()> {
    let family = if ip.is_ipv4() { "ipv4" } else { "ipv6" };
    let path = path(&["net", family, "route", "flush"]);
    crate::crash_point::before("write setting", &path.display());
    std::fs::write(path, "-1")
}

#[cfg(test)]
mod tests {
    #[test]
    fn interface_names_with_dots_stay_one_segment() {
        let path = super::path(&["net", "ipv4", "conf", "eth0.100", "promote_secondaries"]);
        assert_eq!(path.to_str(), Some("/proc/sys/net/ipv4/conf/eth0.100/promote_secondaries"));
    }
}
