//! `virtual_mac` under a real two-node Pacemaker, on Debian 12's and
//! Debian 13's stacks: the client is a gateway with a permanent neighbour
//! entry for the VIP (its virtual MAC) that drops gratuitous ARP. Create,
//! move, standby and a crash-and-return each leave the VIP reachable
//! through that entry, held by one node, its interface on that node alone.

mod common;
use common::cluster::{Cluster, Stack};
use std::time::{Duration, Instant};

const VIP: &str = "192.0.2.50";
const VIP_CIDR: &str = "192.0.2.50/24";
/// `virtual_mac=auto` for 192.0.2.50.
const VIRTUAL_MAC: &str = "02:4f:c0:00:02:32";

/// Which nodes have a macvlan interface with the VIP's MAC.
fn interfaces(cluster: &Cluster) -> Vec<usize> {
    (0..cluster.seg.nodes.len())
        .filter(|i| {
            cluster.seg.nodes[*i].ip(&["-o", "link", "show", "type", "macvlan"]).contains(VIRTUAL_MAC)
        })
        .collect()
}

/// The VIP is on node `i` alone, with its interface, and the pinned
/// gateway reaches it there.
fn served_by(cluster: &Cluster, i: usize, what: &str) {
    cluster.wait_for(Duration::from_secs(60), what, |c| {
        c.location("vip") == Some(i) && c.holders(VIP_CIDR) == [i] && interfaces(c) == [i]
    });
    let reached = common::wait_for(Duration::from_secs(5), || cluster.client_reaches(VIP).is_some());
    assert!(reached.is_some(), "{what}: the gateway does not reach the VIP");
    assert_eq!(cluster.client_reaches(VIP).as_deref(), Some(VIRTUAL_MAC), "{what}: the entry moved");
    assert_eq!(cluster.seg.port_of(VIRTUAL_MAC), Some(format!("leg{i}")), "{what}: the bridge's port");
}

fn a_pinned_gateway_follows_create_move_standby_and_a_crash(stack: Stack) {
    let cluster = Cluster::start(stack, 2);
    let gateway = &cluster.seg.client;
    gateway.sysctl("net.ipv4.conf.eth0.drop_gratuitous_arp=1");
    gateway.ip(&["neigh", "replace", VIP, "lladdr", VIRTUAL_MAC, "nud", "permanent", "dev", "eth0"]);
    cluster.crm_primitive_vip(&[
        "virtual_mac=auto",
        "op",
        "monitor",
        "interval=2s",
        "op",
        "monitor",
        "interval=5s",
        "OCF_CHECK_LEVEL=20",
    ]);
    let i = cluster.any_running();
    cluster.must(i, "crm", &["configure", "location", "vip-prefers-node1", "vip", "50:", "node1"]);
    served_by(&cluster, 0, "created on node1");

    cluster.must(i, "crm_resource", &["--resource", "vip", "--move", "--node", "node2"]);
    served_by(&cluster, 1, "moved to node2");
    // The test cluster's stickiness keeps it there once the move is cleared.
    cluster.must(i, "crm_resource", &["--resource", "vip", "--clear"]);
    served_by(&cluster, 1, "the move cleared");

    cluster.must(i, "crm", &["node", "standby", "node2"]);
    served_by(&cluster, 0, "node2 in standby");
    cluster.must(i, "crm", &["node", "online", "node2"]);
    served_by(&cluster, 0, "node2 online again");
    assert!(cluster.failures(i).is_empty(), "{:#?}", cluster.failures(i));

    // node1's stack dies; its kernel keeps the VIP and its interface. node2's
    // start hears the VIP's own MAC answer its probe and refuses a second copy.
    cluster.crash(0);
    cluster.wait_for(Duration::from_secs(60), "node2's start to refuse", |c| {
        c.failures(1).iter().any(|f| f.contains("op_key=\"vip_start_0") && f.contains(VIRTUAL_MAC))
    });
    assert_eq!(cluster.holders(VIP_CIDR), [0]);
    assert_eq!(interfaces(&cluster), [0], "node2 left no interface behind");
    let back = Instant::now();
    cluster.restart(0);
    cluster.must(1, "crm_resource", &["--cleanup", "--resource", "vip"]);
    served_by(&cluster, 0, "node1 back after its crash");
    cluster.assert_no_failed_stop();
    println!(
        "{stack:?}: create, move, standby and crash-and-return through a pinned gateway; settled {:?} after node1's restart began",
        back.elapsed()
    );
}

on_both_stacks!(a_pinned_gateway_follows_create_move_standby_and_a_crash);
