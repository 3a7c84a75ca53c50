//! The load-shared cluster IP's settings (IPaddr2's clone mode): `mac`,
//! `clusterip_hash`, `clusterip_hash_seed`, `clusterip_firewall`,
//! `clusterip_table`, `clusterip_chain` and `clusterip_mac_mangle`.

use super::clone::CloneMeta;
use super::names;
use super::reader::{Reader, invalid};
use crate::error::AgentResult;
use crate::packet::Mac;
use std::net::IpAddr;

/// What the cluster IP's hash covers (IPaddr2's `clusterip_hash`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // named after IPaddr2's values
pub enum ClusterHash {
    SourceIp,
    SourceIpSourcePort,
    SourceIpSourcePortDestPort,
}

/// Which packet filter programs the cluster IP's buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firewall {
    /// nftables when `nft` is installed, else iptables.
    Auto,
    Nft,
    Iptables,
}

/// Settings of IPaddr2's load-shared "cluster IP" (clone) mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterIpParams {
    /// Hash buckets: the clone's clone-max.
    pub total_nodes: u32,
    /// The bucket this instance serves: its clone number plus one.
    pub local_node: u32,
    pub hash: ClusterHash,
    /// `clusterip_hash_seed`; derived from the address when not given.
    pub seed: Option<u32>,
    pub firewall: Firewall,
    /// iptables only: where the rules go.
    pub table: String,
    pub chain: String,
    /// The shared multicast MAC (`mac`); derived from the address when not given.
    pub mac: Option<Mac>,
}

/// Checks the cluster-IP settings the way IPaddr2 does in clone mode.
pub(super) fn parse(r: &mut Reader, ip: IpAddr, clone: &CloneMeta) -> AgentResult<ClusterIpParams> {
    let seed = r.optional("clusterip_hash_seed", None, |given| {
        given
            .map(|text| {
                parse_seed(text).ok_or_else(|| {
                    invalid("clusterip_hash_seed", text, "a decimal or 0x-prefixed hexadecimal 32-bit number")
                })
            })
            .transpose()
    })?;
    let hash = r.with_default("clusterip_hash", ClusterHash::SourceIpSourcePort, |v| match v {
        "sourceip" => Ok(ClusterHash::SourceIp),
        "sourceip-sourceport" => Ok(ClusterHash::SourceIpSourcePort),
        "sourceip-sourceport-destport" => Ok(ClusterHash::SourceIpSourcePortDestPort),
        other => Err(invalid(
            "clusterip_hash",
            other,
            "sourceip, sourceip-sourceport or sourceip-sourceport-destport",
        )),
    })?;
    let firewall = r.with_default("clusterip_firewall", Firewall::Auto, |v| match v {
        "auto" => Ok(Firewall::Auto),
        "nft" => Ok(Firewall::Nft),
        "iptables" => Ok(Firewall::Iptables),
        other => Err(invalid("clusterip_firewall", other, "auto, nft or iptables")),
    })?;
    if r.flag("clusterip_mac_mangle")? && ip.is_ipv6() {
        r.optional("clusterip_mac_mangle", (), |_| {
            Err("clusterip_mac_mangle is not supported for IPv6".to_string())
        })?;
    }
    let table = firewall_object(r, "clusterip_table")?;
    let chain = firewall_object(r, "clusterip_chain")?;
    let mac = r.optional("mac", None, |given| {
        given
            .map(|text| {
                parse_multicast_mac(text).ok_or_else(|| {
                    invalid("mac", text, "a multicast MAC for the cluster IP (odd first octet, six octets)")
                })
            })
            .transpose()
    })?;
    Ok(ClusterIpParams {
        total_nodes: clone.max,
        local_node: clone.id + 1,
        hash,
        seed,
        firewall,
        table,
        chain,
        mac,
    })
}

/// An iptables table or chain name, its default when not given.
fn firewall_object(r: &mut Reader, name: &str) -> AgentResult<String> {
    let fallback = super::spec::find(name).map(|p| p.default).unwrap_or_default().to_string();
    r.with_default(name, fallback, |v| names::firewall_name(name, v).map(|()| v.to_string()))
}

/// A hash seed: decimal, or hexadecimal with 0x, that fits 32 bits.
fn parse_seed(text: &str) -> Option<u32> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            u32::from_str_radix(hex, 16).ok()
        }
        Some(_) => None,
        None if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => text.parse().ok(),
        None => None,
    }
}

/// Six two-digit hex octets with `:` or `-` between them, as IPaddr2
/// checks it, the multicast bit set in the first.
fn parse_multicast_mac(text: &str) -> Option<Mac> {
    let octets: Vec<&str> = text.split([':', '-']).collect();
    if octets.len() != 6 || octets.iter().any(|o| o.len() != 2) {
        return None;
    }
    let mac: Mac = octets.join(":").parse().ok()?;
    mac.is_multicast().then_some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_and_macs_parse_like_ipaddr2s() {
        assert_eq!(parse_seed("0x1F"), Some(31));
        assert_eq!(parse_seed("17"), Some(17));
        for bad in ["0x", "0x1_0", "4294967296", "-1", ""] {
            assert_eq!(parse_seed(bad), None, "{bad:?}");
        }
        let shared = Some(Mac(1, 0x11, 0x22, 0x33, 0x44, 0x5f));
        assert_eq!(parse_multicast_mac("01:11:22:33:44:5f"), shared);
        assert_eq!(parse_multicast_mac("01-11-22-33-44-5f"), shared);
        assert_eq!(parse_multicast_mac("1:11:22:33:44:5f"), None, "two digits per octet, as IPaddr2 wants");
        assert_eq!(parse_multicast_mac("00:11:22:33:44:55"), None, "unicast");
        assert_eq!(parse_multicast_mac("01:11:22:33:44"), None);
    }
}
