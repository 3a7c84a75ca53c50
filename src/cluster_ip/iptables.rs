//! The iptables back end, as IPaddr2 programs it: a DROP rule for the VIP
//! and, in front of it, one `cluster` match rule per bucket served here
//! (the match also turns the multicast frame into one for this host). ARP
//! answers get the shared MAC through arptables, when it is installed.

use super::{Plan, program};
use crate::ocf::log;
use std::io;

/// What an iptables command does with a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RuleOp {
    Insert,
    Delete,
    /// Whether the rule exists.
    Check,
}

impl RuleOp {
    fn flag(self) -> &'static str {
        match self {
            RuleOp::Insert => "-I",
            RuleOp::Delete => "-D",
            RuleOp::Check => "-C",
        }
    }
}

fn iptables(plan: &Plan) -> &'static str {
    if plan.vip.is_ipv4() { "iptables" } else { "ip6tables" }
}

/// The arguments of a rule for the VIP on its NIC, for `op`.
fn rule(plan: &Plan, op: RuleOp, tail: &[String]) -> Vec<String> {
    let mut args: Vec<String> =
        ["-w", "-t", &plan.table, op.flag(), &plan.chain, "-d", &plan.vip.to_string(), "-i", &plan.nic]
            .iter()
            .map(|s| s.to_string())
            .collect();
    args.extend_from_slice(tail);
    args
}

pub fn drop_rule(plan: &Plan, op: RuleOp) -> Vec<String> {
    rule(plan, op, &["-j".into(), "DROP".into()])
}

pub fn bucket_rule(plan: &Plan, op: RuleOp, bucket: u32) -> Vec<String> {
    let tail = [
        "-m",
        "cluster",
        "--cluster-hash-seed",
        &format!("{:#x}", plan.seed),
        "--cluster-total-nodes",
        &plan.total.to_string(),
        "--cluster-local-node",
        &bucket.to_string(),
        "-j",
        "ACCEPT",
    ];
    rule(plan, op, &tail.map(str::to_string))
}

fn neighbor_advert_rule(plan: &Plan, op: RuleOp) -> Vec<String> {
    let tail = ["-p", "ipv6-icmp", "-m", "icmp6", "--icmpv6-type", "neighbour-advertisement", "-j", "ACCEPT"];
    rule(plan, op, &tail.map(str::to_string))
}

/// Answers to the reachability check reach every node (see nft.rs).
fn echo_reply_rule(plan: &Plan, op: RuleOp) -> Vec<String> {
    let tail = if plan.vip.is_ipv4() {
        ["-p", "icmp", "--icmp-type", "echo-reply", "-j", "ACCEPT"]
    } else {
        ["-p", "ipv6-icmp", "--icmpv6-type", "echo-reply", "-j", "ACCEPT"]
    };
    rule(plan, op, &tail.map(str::to_string))
}

fn arp_rule(plan: &Plan, op: RuleOp) -> Vec<String> {
    let mac = plan.mac.to_string();
    [op.flag(), "OUTPUT", "-s", &plan.vip.to_string(), "-j", "mangle", "--mangle-mac-s", &mac]
        .map(str::to_string)
        .to_vec()
}

fn run(name: &str, args: &[String]) -> io::Result<()> {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    program::run_with_input(name, &args, "").map(drop)
}

fn exists(name: &str, args: &[String]) -> bool {
    run(name, args).is_ok()
}

/// The DROP rule, the IPv6 advertisement exception and the ARP mangling.
pub fn setup(plan: &Plan) -> io::Result<()> {
    run(iptables(plan), &drop_rule(plan, RuleOp::Insert))?;
    run(iptables(plan), &echo_reply_rule(plan, RuleOp::Insert))?;
    if plan.vip.is_ipv6() {
        run(iptables(plan), &neighbor_advert_rule(plan, RuleOp::Insert))?;
    } else if program::find("arptables").is_some() {
        run("arptables", &arp_rule(plan, RuleOp::Insert))?;
    } else {
        log::warn(format!(
            "arptables is not installed: ARP answers for {} carry each node's own MAC; give routers and clients a static ARP entry for {}",
            plan.vip, plan.mac
        ));
    }
    Ok(())
}

/// Removes what `setup` added; every step is tried.
pub fn teardown(plan: &Plan) -> io::Result<()> {
    let mut result = run(iptables(plan), &drop_rule(plan, RuleOp::Delete));
    result = result.and(run(iptables(plan), &echo_reply_rule(plan, RuleOp::Delete)));
    if plan.vip.is_ipv6() {
        result = result.and(run(iptables(plan), &neighbor_advert_rule(plan, RuleOp::Delete)));
    } else if program::find("arptables").is_some() {
        let _ = run("arptables", &arp_rule(plan, RuleOp::Delete));
    }
    result
}

pub fn is_set_up(plan: &Plan) -> bool {
    exists(iptables(plan), &drop_rule(plan, RuleOp::Check))
}

pub fn add_bucket(plan: &Plan, bucket: u32) -> io::Result<()> {
    run(iptables(plan), &bucket_rule(plan, RuleOp::Insert, bucket))
}

pub fn delete_bucket(plan: &Plan, bucket: u32) -> io::Result<()> {
    run(iptables(plan), &bucket_rule(plan, RuleOp::Delete, bucket))
}

/// The buckets that have a rule here.
pub fn buckets(plan: &Plan) -> Vec<u32> {
    (1..=plan.total)
        .filter(|bucket| exists(iptables(plan), &bucket_rule(plan, RuleOp::Check, *bucket)))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::Backend;
    use super::*;
    use crate::params::ClusterHash;

    #[test]
    fn rules_look_like_ipaddr2s() {
        let plan = Plan {
            vip: "192.0.2.60".parse().unwrap(),
            nic: "eth0".into(),
            mac: crate::packet::Mac(0x03, 0, 0, 0, 0, 1),
            seed: 0x10,
            total: 3,
            bucket: 2,
            hash: ClusterHash::SourceIp,
            backend: Backend::Iptables,
            table: "mangle".into(),
            chain: "PREROUTING".into(),
        };
        assert_eq!(
            bucket_rule(&plan, RuleOp::Insert, 2).join(" "),
            "-w -t mangle -I PREROUTING -d 192.0.2.60 -i eth0 -m cluster --cluster-hash-seed 0x10 --cluster-total-nodes 3 --cluster-local-node 2 -j ACCEPT"
        );
        assert_eq!(
            drop_rule(&plan, RuleOp::Check).join(" "),
            "-w -t mangle -C PREROUTING -d 192.0.2.60 -i eth0 -j DROP"
        );
        assert_eq!(
            arp_rule(&plan, RuleOp::Insert).join(" "),
            "-I OUTPUT -s 192.0.2.60 -j mangle --mangle-mac-s 03:00:00:00:00:01"
        );
    }
}
