//! Under a real two-node Pacemaker, on Debian 12's and Debian 13's stacks:
//! a standby that is also an LVS-DR real server (the VIP on lo,
//! `arp_ignore=1`) with a resource that has no `lvs_support`, as IPaddr2
//! users run it. Its probe must leave no failed action (a failed probe
//! means a stop there, and a failed stop fencing), the VIP must move there
//! and back, and lo's copy stay. With `arp_ignore=0` lo's copy answers for
//! the VIP: the failure names it.

mod common;
use common::cluster::{Cluster, Stack};
use std::time::Duration;

const VIP: &str = "192.0.2.50";
const VIP_CIDR: &str = "192.0.2.50/24";
const ON_LO: &str = "192.0.2.50/32";

fn set_arp_ignore(cluster: &Cluster, i: usize, value: u8) {
    cluster.seg.nodes[i].sysctl(&format!("net.ipv4.conf.all.arp_ignore={value}"));
}

fn a_real_servers_copy_on_lo_does_not_stop_the_vip_from_moving_there(stack: Stack) {
    let cluster = Cluster::start(stack, 2);
    let real_server = 1;
    set_arp_ignore(&cluster, real_server, 1);
    cluster.seg.nodes[real_server].ip(&["addr", "add", ON_LO, "dev", "lo"]);

    cluster.crm_primitive_vip(&["op", "monitor", "interval=3s"]);
    let i = cluster.any_running();
    cluster.must(i, "crm", &["configure", "location", "vip-on-node1", "vip", "inf:", "node1"]);
    cluster.wait_for(Duration::from_secs(60), "the VIP on node1", |c| c.location("vip") == Some(0));
    std::thread::sleep(Duration::from_secs(4));
    assert!(cluster.failures(i).is_empty(), "the probe on node2 failed: {:#?}", cluster.failures(i));

    cluster.must(i, "crm", &["node", "standby", "node1"]);
    cluster.wait_for(Duration::from_secs(60), "the VIP on node2", |c| c.location("vip") == Some(1));
    let node2 = &cluster.seg.nodes[real_server];
    assert!(node2.has_address("eth0", VIP_CIDR), "{}", node2.snapshot());
    assert_eq!(cluster.client_reaches(VIP), Some(node2.mac("eth0")), "the client reaches node2's eth0");

    cluster.must(i, "crm", &["node", "online", "node1"]);
    cluster.wait_for(Duration::from_secs(60), "the VIP back on node1", |c| c.location("vip") == Some(0));
    std::thread::sleep(Duration::from_secs(4));
    assert!(!node2.has_address("eth0", VIP_CIDR), "node2 released its copy: {}", node2.snapshot());
    assert!(node2.has_address("lo", ON_LO), "lo's copy stays: {}", node2.snapshot());
    assert!(cluster.failures(i).is_empty(), "{:#?}", cluster.failures(i));

    // The same copy where the node answers ARP for it: a conflict, named.
    set_arp_ignore(&cluster, real_server, 0);
    cluster.must(i, "crm_resource", &["--refresh", "--resource", "vip", "--node", "node2"]);
    cluster.wait_for(Duration::from_secs(60), "node2's probe to name lo's copy", |c| {
        c.failures(i).iter().any(|f| f.contains("is on lo") && f.contains("arp_ignore 0"))
    });
    assert!(node2.has_address("lo", ON_LO), "lo's copy is never removed");
}

on_both_stacks!(a_real_servers_copy_on_lo_does_not_stop_the_vip_from_moving_there);
