//! Through a gateway that never relearns: under two nodes of Pacemaker
//! (Debian 12's stack), the client is a gateway with a permanent neighbour
//! entry for the VIP, set by hand as admins of such networks do, that drops
//! gratuitous ARP. How long after a planned move and after a crash it
//! reaches the VIP again: ours with `virtual_mac=auto` (the entry names the
//! VIP's MAC), ours without it and IPaddr2 (the entry names node1's MAC).

use crate::common::cluster::{Cluster, Stack};
use crate::report::Report;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

const VIP: &str = "192.0.2.50";
/// `virtual_mac=auto` for 192.0.2.50 (docs/virtual-mac.md).
const VIRTUAL_MAC: &str = "02:4f:c0:00:02:32";
/// How long the gateway is watched for reaching the VIP again.
const PATIENCE: Duration = Duration::from_secs(30);

#[derive(Clone, Copy, PartialEq)]
enum Loss {
    /// `crm node standby node1`.
    PlannedMove,
    /// node1's stack killed and its link cut, as a node that died (fenced).
    Crash,
}

pub fn measure(ours: &Path, md: &mut String, report: &mut Report) {
    writeln!(md, "\n### Through a gateway with a static entry for the VIP\n\nThe client is the nodes' gateway, with a permanent neighbour entry for the VIP (`ip neigh replace … nud permanent`) and `drop_gratuitous_arp=1`; it pings the VIP one request at a time, each waiting 100 ms for its answer. Reached again: from `crm node standby node1` (planned move), or from node1's crash (its cluster stack killed and its link cut, as fencing would leave it), until the first answer from node2 (for the planned move, counted only once node1 has stopped the VIP: until then node1 answers). The entry names the VIP's MAC with `virtual_mac=auto`, node1's MAC otherwise (IPv4).\n\n| agent | planned move: reached again after | crash: reached again after |\n|---|---|---|").unwrap();
    let variants: [(&str, &str, &[&str]); 3] = [
        ("ocf:rust:IPaddr, virtual_mac=auto", "ocf:rust:IPaddr", &["virtual_mac=auto"]),
        ("ocf:rust:IPaddr", "ocf:rust:IPaddr", &[]),
        ("IPaddr2", "ocf:heartbeat:IPaddr2", &[]),
    ];
    let mut results = Vec::new();
    for (name, primitive, extra) in variants {
        let row: Vec<Option<Duration>> = [Loss::PlannedMove, Loss::Crash]
            .iter()
            .map(|loss| reached_again(ours, primitive, extra, *loss))
            .collect();
        let shown = |d: Option<Duration>| match d {
            Some(d) => format!("{} ms", d.as_millis()),
            None => format!("not within {} s (until the entry is changed by hand)", PATIENCE.as_secs()),
        };
        writeln!(md, "| {name} | {} | {} |", shown(row[0]), shown(row[1])).unwrap();
        println!("static entry, {name}: planned {:?}, crash {:?}", row[0], row[1]);
        results.push(row);
    }
    let ms = |d: Option<Duration>| d.map_or("never".to_string(), |d| format!("{} ms", d.as_millis()));
    report.check(
        "a gateway with a static entry reaches the VIP within 3 s of a planned move with virtual_mac; without it, and with IPaddr2, not within 30 s",
        results[0][0].is_some_and(|d| d < Duration::from_secs(3)) && results[1][0].is_none() && results[2][0].is_none(),
        format!("{} vs {} without, IPaddr2 {}", ms(results[0][0]), ms(results[1][0]), ms(results[2][0])),
    );
    report.check(
        "a gateway with a static entry reaches the VIP within 15 s of a crash with virtual_mac (Corosync's detection included); without it, and with IPaddr2, not within 30 s",
        results[0][1].is_some_and(|d| d < Duration::from_secs(15)) && results[1][1].is_none() && results[2][1].is_none(),
        format!("{} vs {} without, IPaddr2 {}", ms(results[0][1]), ms(results[1][1]), ms(results[2][1])),
    );
}

/// One cluster, the VIP on node1, `loss` of node1: how long until the
/// pinned gateway reaches the VIP again, if within `PATIENCE`.
fn reached_again(ours: &Path, primitive: &str, extra: &[&str], loss: Loss) -> Option<Duration> {
    let cluster = Cluster::start_with_agent(Stack::Debian12, 2, ours);
    let gw = &cluster.seg.client;
    gw.sysctl("net.ipv4.conf.eth0.drop_gratuitous_arp=1");
    let mut args =
        vec!["configure", "primitive", "vip", primitive, "params", "ip=192.0.2.50", "cidr_netmask=24"];
    args.push("nic=eth0");
    args.extend_from_slice(extra);
    args.extend(["op", "monitor", "interval=10s"]);
    cluster.must(0, "crm", &args);
    cluster.must(0, "crm", &["configure", "location", "vip-on-node1", "vip", "100:", "node1"]);
    cluster.wait_for(Duration::from_secs(60), "the VIP on node1", |c| c.location("vip") == Some(0));
    let pinned = if extra.contains(&"virtual_mac=auto") {
        VIRTUAL_MAC.to_string()
    } else {
        cluster.seg.nodes[0].mac("eth0")
    };
    gw.ip(&["neigh", "replace", VIP, "lladdr", &pinned, "nud", "permanent", "dev", "eth0"]);
    let answers = || gw.exec("ping", &["-c1", "-W0.1", VIP]).status.success();
    assert!(answers(), "{primitive} {extra:?}: node1 answers through the pinned entry");
    let lost = Instant::now();
    match loss {
        Loss::PlannedMove => {
            cluster.must(0, "crm", &["node", "standby", "node1"]);
            // node1 answers until its stop has run: the answer that counts
            // is node2's, after that.
            let node1 = &cluster.seg.nodes[0];
            let stopped = crate::common::wait_for(PATIENCE, || {
                node1.ip(&["-o", "addr", "show", "to", VIP]).trim().is_empty()
            });
            assert!(stopped.is_some(), "{primitive} {extra:?}: node1 stops the VIP when it goes to standby");
        }
        Loss::Crash => {
            cluster.crash(0);
            cluster.seg.nodes[0].ip(&["link", "set", "eth0", "down"]);
        }
    }
    let again = crate::common::wait_for(PATIENCE, answers).map(|_| lost.elapsed());
    cluster.wait_for(Duration::from_secs(30), "the VIP on node2", |c| c.location("vip") == Some(1));
    if again.is_none() {
        // The measured bound: the entry changed by hand heals it at once.
        gw.ip(&[
            "neigh",
            "replace",
            VIP,
            "lladdr",
            &cluster.seg.nodes[1].mac("eth0"),
            "nud",
            "permanent",
            "dev",
            "eth0",
        ]);
        assert!(
            crate::common::wait_for(Duration::from_secs(3), answers).is_some(),
            "{primitive} {extra:?}: node2 answers once the entry names it"
        );
    }
    again
}
