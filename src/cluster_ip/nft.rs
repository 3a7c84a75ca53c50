//! The nftables back end: one table per cluster IP (`ocf_ipaddr_<ip>`)
//! whose prerouting chain accepts this node's hash buckets and drops the
//! rest of the VIP's traffic, and (IPv4) an ARP table that makes the
//! node's ARP messages for the VIP carry the shared MAC. Rules are handed
//! to `nft -f -` on standard input; state is read back as JSON.

use super::{Plan, program};
use crate::params::ClusterHash;
use std::io;

/// The comment that marks a bucket rule; the bucket number follows.
const BUCKET_COMMENT: &str = "ocf-ipaddr bucket ";

/// The table that holds this VIP's rules.
pub fn table_name(plan: &Plan) -> String {
    let ip: String =
        plan.vip.to_string().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    format!("ocf_ipaddr_{ip}")
}

fn family(plan: &Plan) -> &'static str {
    if plan.vip.is_ipv4() { "ip" } else { "ip6" }
}

/// The tables and the drop rule every bucket rule goes in front of.
pub fn setup_script(plan: &Plan) -> String {
    let (family, table, nic, vip) = (family(plan), table_name(plan), &plan.nic, plan.vip);
    let echo_reply = if plan.vip.is_ipv4() { "icmp type echo-reply" } else { "icmpv6 type echo-reply" };
    // Answers to the reachability check reach every node: each node takes
    // only its own (the echo identifier tells), wherever the hash puts them.
    let mut script = format!(
        "add table {family} {table}\n\
         add chain {family} {table} prerouting {{ type filter hook prerouting priority mangle; policy accept; }}\n\
         add rule {family} {table} prerouting iif \"{nic}\" {family} daddr {vip} {echo_reply} meta pkttype set host accept\n\
         add rule {family} {table} prerouting iif \"{nic}\" {family} daddr {vip} drop comment \"ocf-ipaddr other buckets\"\n"
    );
    match plan.vip {
        std::net::IpAddr::V4(_) => script.push_str(&format!(
            "add table arp {table}\n\
             add chain arp {table} output {{ type filter hook output priority filter; policy accept; }}\n\
             add rule arp {table} output arp saddr ip {vip} arp saddr ether set {} comment \"ocf-ipaddr cluster mac\"\n",
            plan.mac
        )),
        // Neighbor advertisements for the VIP must reach every node.
        std::net::IpAddr::V6(_) => script.push_str(&format!(
            "insert rule ip6 {table} prerouting iif \"{nic}\" ip6 daddr {vip} icmpv6 type nd-neighbor-advert accept\n"
        )),
    }
    script
}

/// The rule that lets bucket `bucket` through, in front of the drop rule.
pub fn bucket_script(plan: &Plan, bucket: u32) -> String {
    let (family, table, nic, vip) = (family(plan), table_name(plan), &plan.nic, plan.vip);
    let keys = match plan.hash {
        ClusterHash::SourceIp => format!("{family} saddr"),
        ClusterHash::SourceIpSourcePort => format!("{family} saddr . th sport"),
        ClusterHash::SourceIpSourcePortDestPort => format!("{family} saddr . th sport . th dport"),
    };
    // Frames come to the multicast MAC: mark the packet as ours, or TCP drops it.
    format!(
        "insert rule {family} {table} prerouting iif \"{nic}\" {family} daddr {vip} jhash {keys} mod {} seed {:#x} offset 1 == {bucket} meta pkttype set host accept comment \"{BUCKET_COMMENT}{bucket}\"\n",
        plan.total, plan.seed
    )
}

/// Removes everything this VIP's rules live in.
pub fn teardown_script(plan: &Plan) -> String {
    let table = table_name(plan);
    let mut script = format!("delete table {} {table}\n", family(plan));
    if plan.vip.is_ipv4() {
        script.push_str(&format!("delete table arp {table}\n"));
    }
    script
}

/// Runs `script` through `nft -f -`.
pub fn apply(script: &str) -> io::Result<()> {
    program::run_with_input("nft", &["-f", "-"], script).map(drop)
}

/// The bucket rules in the VIP's table as (bucket, rule handle), or `None`
/// when the table does not exist.
pub fn buckets(plan: &Plan) -> io::Result<Option<Vec<(u32, u64)>>> {
    let table = table_name(plan);
    let output = match program::run_with_input(
        "nft",
        &["-j", "list", "chain", family(plan), &table, "prerouting"],
        "",
    ) {
        Ok(output) => output,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) => return Err(err),
    };
    parse_buckets(&output).map(Some)
}

/// Reads bucket rules out of `nft -j list chain` output. Output that
/// cannot be read is an error, never "no buckets": stop would read that as
/// "no other instance here" and tear the shared filter down.
fn parse_buckets(json: &str) -> io::Result<Vec<(u32, u64)>> {
    let unreadable =
        |why: &str| io::Error::new(io::ErrorKind::InvalidData, format!("unreadable nft -j output: {why}"));
    let value: serde_json::Value = serde_json::from_str(json).map_err(|err| unreadable(&err.to_string()))?;
    let items =
        value.get("nftables").and_then(|v| v.as_array()).ok_or_else(|| unreadable("no nftables list"))?;
    Ok(items
        .iter()
        .filter_map(|item| {
            let rule = item.get("rule")?;
            let bucket = rule.get("comment")?.as_str()?.strip_prefix(BUCKET_COMMENT)?.parse().ok()?;
            Some((bucket, rule.get("handle")?.as_u64()?))
        })
        .collect())
}

/// Deletes one bucket rule by its handle.
pub fn delete_rule_script(plan: &Plan, handle: u64) -> String {
    format!("delete rule {} {} prerouting handle {handle}\n", family(plan), table_name(plan))
}

#[cfg(test)]
mod tests {
    use super::super::Backend;
    use super::*;

    fn plan(vip: &str, hash: ClusterHash) -> Plan {
        Plan {
            vip: vip.parse().unwrap(),
            nic: "eth0".into(),
            mac: crate::packet::Mac(0x03, 0xaa, 0xbb, 0xcc, 0xdd, 0xee),
            seed: 0x1234,
            total: 3,
            bucket: 2,
            hash,
            backend: Backend::Nft,
            table: "mangle".into(),
            chain: "PREROUTING".into(),
        }
    }

    #[test]
    fn ipv4_setup_drops_the_vip_and_mangles_arp() {
        let script = setup_script(&plan("192.0.2.60", ClusterHash::SourceIp));
        assert!(script.contains("add table ip ocf_ipaddr_192_0_2_60\n"), "{script}");
        assert!(script.contains("iif \"eth0\" ip daddr 192.0.2.60 drop"), "{script}");
        assert!(
            script.contains("ip daddr 192.0.2.60 icmp type echo-reply meta pkttype set host accept"),
            "{script}"
        );
        assert!(script.contains("arp saddr ip 192.0.2.60 arp saddr ether set 03:aa:bb:cc:dd:ee"), "{script}");
        assert!(teardown_script(&plan("192.0.2.60", ClusterHash::SourceIp)).contains("delete table arp"));
    }

    #[test]
    fn ipv6_setup_lets_neighbor_advertisements_through() {
        let script = setup_script(&plan("2001:db8::60", ClusterHash::SourceIp));
        assert!(script.contains("add table ip6 ocf_ipaddr_2001_db8__60"), "{script}");
        assert!(script.contains("icmpv6 type nd-neighbor-advert accept"), "{script}");
        assert!(!script.contains("arp"), "{script}");
    }

    #[test]
    fn bucket_rules_hash_what_clusterip_hash_says() {
        let cases = [
            (ClusterHash::SourceIp, "jhash ip saddr mod"),
            (ClusterHash::SourceIpSourcePort, "jhash ip saddr . th sport mod"),
            (ClusterHash::SourceIpSourcePortDestPort, "jhash ip saddr . th sport . th dport mod"),
        ];
        for (hash, expected) in cases {
            let rule = bucket_script(&plan("192.0.2.60", hash), 2);
            assert!(rule.contains(expected), "{rule}");
            assert!(rule.contains("mod 3 seed 0x1234 offset 1 == 2 meta pkttype set host accept"), "{rule}");
            assert!(rule.contains("comment \"ocf-ipaddr bucket 2\""), "{rule}");
        }
    }

    #[test]
    fn bucket_rules_are_read_back_from_json() {
        let json = r#"{"nftables": [{"metainfo": {"version": "1.0.6"}},
            {"chain": {"family": "ip", "table": "t", "name": "prerouting", "handle": 1}},
            {"rule": {"family": "ip", "handle": 5, "comment": "ocf-ipaddr bucket 3", "expr": []}},
            {"rule": {"family": "ip", "handle": 4, "comment": "ocf-ipaddr bucket 1", "expr": []}},
            {"rule": {"family": "ip", "handle": 2, "comment": "ocf-ipaddr other buckets", "expr": []}},
            {"rule": {"family": "ip", "handle": 9, "expr": []}}]}"#;
        assert_eq!(parse_buckets(json).unwrap(), vec![(3, 5), (1, 4)]);
        for unreadable in ["not json", "{}", r#"{"nftables": 3}"#, ""] {
            assert!(parse_buckets(unreadable).is_err(), "{unreadable:?}");
        }
    }
}
