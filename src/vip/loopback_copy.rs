//! A copy of the VIP on lo that this resource does not manage
//! (`lvs_support` off): an LVS real server keeps one, and the network
//! cannot reach it when the node never answers for it. Only a copy that
//! can answer for the VIP is a conflict.

use crate::sysctl;
use std::net::IpAddr;

/// What a copy on lo means for the VIP on `nic`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoopbackCopy {
    /// The node never answers ARP/ND for it: says why.
    Silent(String),
    /// The node answers ARP for it on `nic`: says why.
    Answers(String),
}

/// Judges lo's copy of `ip`, for a VIP that belongs on `nic` (when known).
/// IPv6 neighbour discovery answers only for the receiving interface's own
/// addresses; IPv4 answers for any local address unless `arp_ignore` is at
/// least 1 on the receiving NIC.
pub fn judge(ip: IpAddr, nic: Option<&str>) -> LoopbackCopy {
    if ip.is_ipv6() {
        return LoopbackCopy::Silent(
            "where neighbour discovery never answers for it (IPv6 answers only for the receiving interface's addresses)".into(),
        );
    }
    LoopbackCopy::judge_arp_ignore(sysctl::arp_ignore(nic), nic)
}

impl LoopbackCopy {
    fn judge_arp_ignore(arp_ignore: u8, nic: Option<&str>) -> LoopbackCopy {
        let on = nic.map_or("all interfaces".to_string(), |nic| nic.to_string());
        match arp_ignore {
            0 => LoopbackCopy::Answers(format!(
                "the node answers ARP for it on {on} (arp_ignore 0 there); an LVS real server sets arp_ignore=1, or set lvs_support=true for this resource to manage lo's copy"
            )),
            value => LoopbackCopy::Silent(format!(
                "where the node answers no ARP for it on {on} (arp_ignore {value} there)"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_arp_ignore_0_makes_an_ipv4_copy_answer() {
        assert!(
            matches!(LoopbackCopy::judge_arp_ignore(0, Some("eth0")), LoopbackCopy::Answers(why) if why.contains("arp_ignore 0"))
        );
        for value in [1, 2, 3, 8] {
            let judged = LoopbackCopy::judge_arp_ignore(value, Some("eth0"));
            assert!(
                matches!(&judged, LoopbackCopy::Silent(why) if why.contains(&format!("arp_ignore {value}")) && why.contains("eth0")),
                "{judged:?}"
            );
        }
    }

    #[test]
    fn an_ipv6_copy_on_lo_never_answers() {
        assert!(matches!(judge("2001:db8::5".parse().unwrap(), Some("eth0")), LoopbackCopy::Silent(_)));
    }
}
