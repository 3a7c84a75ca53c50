//! The failures a floating IP exists for, under real Corosync and
//! Pacemaker (2 nodes and a client on one segment, fencing off), on both
//! stacks: a split brain and its healing, a node whose cluster stack
//! crashes while its kernel keeps the VIP and that later comes back (the
//! "double reboot" of ClusterCATS), and a link that goes down under the
//! VIP. Each ends asserting who holds the address in the kernels, not only
//! what the cluster believes, and where the client's neighbor entry points.
//! docs/reliability.md tells the same stories with the timings these print.

mod common;
use common::cluster::{Cluster, Stack};
use common::no_neighbor_locktime;
use std::time::{Duration, Instant};

const VIP: &str = "192.0.2.50";
const VIP_CIDR: &str = "192.0.2.50/24";

/// Creates the VIP with `params` (192.0.2.50/24 unless they say otherwise)
/// and `rest` (operations, meta attributes), preferring node1, and waits
/// until it runs there, `cidr` in node1's kernel. It is created stopped so
/// that the preference is in place before it first starts (stickiness
/// would keep it elsewhere).
fn vip_on_node1(cluster: &Cluster, cidr: &str, params: &[&str], rest: &[&str]) {
    let mut args = vec!["configure", "primitive", "vip", "ocf:rust:IPaddr", "params"];
    if !params.iter().any(|p| p.starts_with("ip=")) {
        args.extend(["ip=192.0.2.50", "cidr_netmask=24"]);
    }
    args.extend_from_slice(params);
    args.extend_from_slice(rest);
    if !rest.contains(&"meta") {
        args.push("meta");
    }
    args.push("target-role=Stopped");
    cluster.must(0, "crm", &args);
    cluster.must(0, "crm", &["configure", "location", "vip-prefers-node1", "vip", "50:", "node1"]);
    cluster.must(0, "crm", &["resource", "start", "vip"]);
    cluster.wait_for(Duration::from_secs(60), "vip on node1", |c| {
        c.location("vip") == Some(0) && c.holders(cidr) == [0]
    });
}

/// Waits until each running node sees every other one as `online`.
fn wait_membership(cluster: &Cluster, online: bool, what: &str) -> Duration {
    cluster.wait_for(Duration::from_secs(90), what, |c| {
        c.sees_online(0, "node2") == online && c.sees_online(1, "node1") == online
    })
}

/// Waits until exactly one kernel holds the VIP, the cluster agrees on
/// where, and that stays so for three seconds; returns the holder and how
/// long after `from` that state began.
fn wait_single_holder(cluster: &Cluster, from: Instant, what: &str) -> (usize, Duration) {
    let mut settled: Option<(usize, Instant)> = None;
    cluster.wait_for(Duration::from_secs(120), what, |c| {
        let holders = c.holders(VIP_CIDR);
        let agreed = match holders[..] {
            [one] if c.location("vip") == Some(one) => Some(one),
            _ => None,
        };
        settled = match (agreed, settled) {
            (Some(one), Some((was, since))) if one == was => Some((was, since)),
            (Some(one), _) => Some((one, Instant::now())),
            (None, _) => None,
        };
        settled.is_some_and(|(_, since)| since.elapsed() >= Duration::from_secs(3))
    });
    let (holder, since) = settled.expect("settled");
    (holder, since - from)
}

/// The failures node `of` reports for `op` (e.g. `vip_start_0`) whose exit
/// reason names `mac`.
fn reports_naming(cluster: &Cluster, of: usize, op: &str, mac: &str) -> bool {
    cluster.failures(of).iter().any(|f| f.contains(&format!("op_key=\"{op}")) && f.contains(mac))
}

fn split_brain_heals_to_one_holder_and_the_watch_names_the_other_mac(stack: Stack) {
    let cluster = Cluster::start(stack, 2);
    no_neighbor_locktime(&cluster.seg.client);
    let macs = [cluster.seg.nodes[0].mac("eth0"), cluster.seg.nodes[1].mac("eth0")];
    // The level-20 conflict watch every 3 s beside the plain monitor.
    let ops = ["op", "monitor", "interval=2s", "op", "monitor", "interval=3s", "OCF_CHECK_LEVEL=20"];
    vip_on_node1(&cluster, VIP_CIDR, &[], &ops);

    // 1. Probing on (the default): node2's partition tries to recover the
    // VIP, and its start refuses because node1 still answers for it.
    cluster.cut(1);
    let split = wait_membership(&cluster, false, "the split");
    let refused = cluster.wait_for(Duration::from_secs(60), "node2's start to refuse", |c| {
        reports_naming(c, 1, "vip_start_0", &macs[0])
    });
    assert_eq!(cluster.holders(VIP_CIDR), [0], "only node1 may hold the VIP");
    assert_eq!(cluster.client_reaches(VIP).as_deref(), Some(macs[0].as_str()));
    println!(
        "{stack:?} probing on: membership split {split:?} after the cut; node2's start refused {:?} after the cut, naming node1's MAC; node1 alone held the VIP",
        split + refused
    );
    cluster.heal(1);
    wait_membership(&cluster, true, "the heal");
    cluster.must(0, "crm_resource", &["--cleanup", "--resource", "vip"]);
    let (holder, _) = wait_single_holder(&cluster, Instant::now(), "one holder after the first heal");
    assert_eq!(holder, 0);

    // 2. Probing off: node2 takes the VIP too, and the conflict watch on
    // each side names the other side's MAC in crm_mon.
    cluster.must(
        0,
        "crm_resource",
        &["--resource", "vip", "--set-parameter", "probe_count", "--parameter-value", "0"],
    );
    std::thread::sleep(Duration::from_secs(3));
    cluster.cut(1);
    let both = cluster
        .wait_for(Duration::from_secs(60), "node2 to take the VIP too", |c| c.holders(VIP_CIDR) == [0, 1]);
    let node1_saw = cluster.wait_for(Duration::from_secs(60), "node1's watch to name node2", |c| {
        reports_naming(c, 0, "vip_monitor_3000", &macs[1])
    });
    let node2_saw = cluster.wait_for(Duration::from_secs(60), "node2's watch to name node1", |c| {
        reports_naming(c, 1, "vip_monitor_3000", &macs[0])
    });
    println!(
        "{stack:?} probing off: both held the VIP {both:?} after the cut; the watch named the other MAC in crm_mon on node1 within {:?} and on node2 within {:?} after that",
        node1_saw, node2_saw
    );
    let healed = Instant::now();
    cluster.heal(1);
    let joined = wait_membership(&cluster, true, "the second heal");
    let (holder, settled) = wait_single_holder(&cluster, healed, "one holder after the second heal");
    // The other node's last re-announcement may be the client's last word
    // when Pacemaker keeps this copy rather than restarting it: the
    // holder's next conflict watch (every 3 s), which heard the other node
    // during the split, announces it again; had it been restarted since,
    // the client's own cache gives the other MAC up (5 s of delay, then
    // unicast probes) and asks anew.
    let followed = cluster.wait_for(Duration::from_secs(20), "the client to follow the holder", |c| {
        c.client_reaches(VIP).as_deref() == Some(macs[holder].as_str())
    });
    println!(
        "{stack:?} after healing: membership joined {joined:?} after the heal; node{} alone held the VIP, and the cluster agreed, {settled:?} after the heal; the client reached it {followed:?} later",
        holder + 1
    );
    cluster.assert_no_failed_stop();
}

fn a_crashed_node_that_comes_back_leaves_one_holder(stack: Stack) {
    let cluster = Cluster::start(stack, 2);
    no_neighbor_locktime(&cluster.seg.client);
    let macs = [cluster.seg.nodes[0].mac("eth0"), cluster.seg.nodes[1].mac("eth0")];
    vip_on_node1(&cluster, VIP_CIDR, &[], &["op", "monitor", "interval=2s"]);

    // 1. Probing on: node1's stack dies, its kernel keeps answering for the
    // VIP; node2 refuses to add a duplicate and the client stays served.
    cluster.crash(0);
    cluster.wait_for(Duration::from_secs(60), "node2's start to refuse", |c| {
        reports_naming(c, 1, "vip_start_0", &macs[0])
    });
    assert_eq!(cluster.holders(VIP_CIDR), [0]);
    assert_eq!(cluster.client_reaches(VIP).as_deref(), Some(macs[0].as_str()), "node1's kernel serves");
    let back = Instant::now();
    cluster.restart(0);
    let (holder, agreed) = wait_single_holder(&cluster, back, "one holder after node1 came back");
    assert_eq!(holder, 0, "the probe found the VIP on node1, the only holder");
    println!(
        "{stack:?} probing on: node1's stack crashed and came back; its kernel held the VIP throughout, and the cluster agreed {agreed:?} after the restart began"
    );
    cluster.assert_no_failed_stop();
    cluster.must(0, "crm_resource", &["--cleanup", "--resource", "vip"]);

    // 2. Probing off (as IPaddr2, which does not probe): node2 takes over
    // while node1's kernel still holds the address; when node1's stack
    // returns, its first probe finds the VIP active, and Pacemaker's
    // multiple-active recovery leaves one holder.
    cluster.must(
        0,
        "crm_resource",
        &["--resource", "vip", "--set-parameter", "probe_count", "--parameter-value", "0"],
    );
    std::thread::sleep(Duration::from_secs(3));
    assert_eq!(cluster.holders(VIP_CIDR), [0]);
    cluster.crash(0);
    let taken = cluster.wait_for(Duration::from_secs(60), "node2 to take over", |c| {
        c.holders(VIP_CIDR) == [0, 1] && c.location("vip") == Some(1)
    });
    assert_eq!(cluster.client_reaches(VIP).as_deref(), Some(macs[1].as_str()), "node2 announced itself");
    let back = Instant::now();
    cluster.restart(0);
    let (holder, settled) =
        wait_single_holder(&cluster, back, "one holder after the multiple-active recovery");
    println!(
        "{stack:?} probing off: node2 took over {taken:?} after the crash; after node1 came back, node{} alone held the VIP {settled:?} after the restart began",
        holder + 1
    );
    assert_eq!(cluster.client_reaches(VIP).as_deref(), Some(macs[holder].as_str()), "the client is served");
    let log = cluster.must(1, "cat", &["/var/log/pacemaker/pacemaker.log"]).to_lowercase();
    assert!(log.contains("active on 2 nodes") || log.contains("multiple"), "Pacemaker saw it active twice");
    cluster.assert_no_failed_stop();
}

/// check_link_status under Pacemaker: the VIP's link goes down on node1.
/// The monitor fails (OCF_ERR_GENERIC: the address is still configured, so
/// "not running" would be false), the failure counts toward
/// migration-threshold like upstream's newer "not running", the stop takes
/// the address off the down link, and the VIP runs on node2.
fn a_vip_whose_link_goes_down_moves_and_leaves_nothing_behind(stack: Stack) {
    const LINKED: &str = "198.51.100.50/24";
    let cluster = Cluster::start(stack, 2);
    no_neighbor_locktime(&cluster.seg.client);
    // A second segment on the same bridge: the VIP's, apart from Corosync's.
    for (ns, address) in [
        (&cluster.seg.nodes[0], "198.51.100.11/24"),
        (&cluster.seg.nodes[1], "198.51.100.12/24"),
        (&cluster.seg.client, "198.51.100.100/24"),
    ] {
        cluster.seg.attach(ns, "eth1");
        ns.ip(&["addr", "add", address, "dev", "eth1"]);
    }
    let params = ["ip=198.51.100.50", "cidr_netmask=24", "nic=eth1"];
    vip_on_node1(
        &cluster,
        LINKED,
        &params,
        &["op", "monitor", "interval=2s", "meta", "migration-threshold=1"],
    );

    cluster.seg.nodes[0].ip(&["link", "set", "eth1", "down"]);
    let moved = cluster.wait_for(Duration::from_secs(60), "the VIP on node2", |c| {
        c.location("vip") == Some(1) && c.holders(LINKED) == [1]
    });
    println!("{stack:?}: node1's link went down; the VIP ran on node2 alone {moved:?} later");
    let node2_mac = cluster.seg.nodes[1].mac("eth1");
    assert_eq!(cluster.client_reaches("198.51.100.50").as_deref(), Some(node2_mac.as_str()));
    let failures = cluster.failures(0);
    assert!(
        failures.iter().any(|f| f.contains("op_key=\"vip_monitor_2000")
            && f.contains("exitcode=\"1\"")
            && f.contains("eth1")),
        "node1's monitor reports the link: {failures:#?}"
    );
    cluster.assert_no_failed_stop();
}

on_both_stacks!(
    a_vip_whose_link_goes_down_moves_and_leaves_nothing_behind,
    split_brain_heals_to_one_holder_and_the_watch_names_the_other_mac,
    a_crashed_node_that_comes_back_leaves_one_holder,
);
