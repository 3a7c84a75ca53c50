//! LVS direct routing (the VIP handed between lo and the NIC) seen from a
//! client, and `network_namespace`: addresses, announcements and cluster IP
//! rules all happen inside the named namespace, none outside it.

mod common;
use common::{Capture, Lab, Netns, Segment, neighbor_mac, no_neighbor_locktime, ocf, run_agent};
use std::time::Duration;

const VIP: &str = "192.0.2.80";

/// A real server in LVS-DR: the VIP on lo, never answering ARP for it.
fn make_real_server(ns: &Netns) {
    ns.ip(&["addr", "add", "192.0.2.80/32", "dev", "lo"]);
    for setting in ["net.ipv4.conf.all.arp_ignore=1", "net.ipv4.conf.all.arp_announce=2"] {
        ns.sysctl(setting);
    }
}

#[test]
fn real_servers_keep_the_vip_on_lo_while_the_director_holds_it() {
    let seg = Segment::new(2);
    no_neighbor_locktime(&seg.client);
    for node in &seg.nodes {
        make_real_server(node);
    }
    let params = [("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0"), ("lvs_support", "true")];
    let ask = |seg: &Segment| {
        seg.client.ip(&["neigh", "flush", "dev", "eth0"]);
        let _ = seg.client.exec("ping", &["-c1", "-W1", VIP]);
        neighbor_mac(&seg.client, VIP)
    };
    for (director, real) in [(0, 1), (1, 0)] {
        if director == 1 {
            assert_eq!(seg.agent(0, "stop", &params).code, ocf::SUCCESS);
        }
        let run = seg.agent(director, "start", &params);
        assert_eq!(run.code, ocf::SUCCESS, "{run:#?}");
        assert!(seg.nodes[director].has_address("eth0", "192.0.2.80/24"));
        assert!(!seg.nodes[director].has_address("lo", "192.0.2.80/32"), "the director's lo copy moved");
        assert!(seg.nodes[real].has_address("lo", "192.0.2.80/32"), "the real server keeps it on lo");
        assert!(!seg.nodes[real].has_address("eth0", "192.0.2.80/24"));
        assert_eq!(ask(&seg), Some(seg.nodes[director].mac("eth0")), "only the director answers for the VIP");
    }
    assert_eq!(seg.agent(1, "stop", &params).code, ocf::SUCCESS);
    for node in &seg.nodes {
        assert!(node.has_address("lo", "192.0.2.80/32"), "every node is a real server again");
    }
}

/// A "container" namespace with eth0 joined to the lab's client.
fn container(lab: &Lab) -> Netns {
    let inner = Netns::new("x");
    inner.ip(&["link", "add", "eth0", "type", "veth", "peer", "name", "eth1", "netns", &lab.client.name]);
    inner.ip(&["link", "set", "eth0", "up"]);
    inner.ip(&["addr", "add", "198.51.100.1/24", "dev", "eth0"]);
    lab.client.ip(&["link", "set", "eth1", "up"]);
    lab.client.ip(&["addr", "add", "198.51.100.100/24", "dev", "eth1"]);
    inner
}

#[test]
fn network_namespace_announces_from_inside_the_namespace() {
    let lab = Lab::new();
    let inner = container(&lab);
    lab.client.sysctl("net.ipv4.neigh.eth1.locktime=0");
    lab.client.ip(&[
        "neigh",
        "replace",
        "198.51.100.50",
        "lladdr",
        "02:00:00:00:00:99",
        "dev",
        "eth1",
        "nud",
        "stale",
    ]);
    let capture = Capture::start(&lab.client, "eth1", &lab.rsctmp);
    let params = [("ip", "198.51.100.50"), ("network_namespace", inner.name.as_str()), ("arp_bg", "true")];
    let run = lab.agent("start", &params);
    assert_eq!(run.code, ocf::SUCCESS, "{run:#?}");
    assert!(inner.has_address("eth0", "198.51.100.50/24"), "discovered and added inside the namespace");
    assert!(!lab.node.snapshot().contains("198.51.100.50"));
    let inner_mac = inner.mac("eth0");
    let flipped = common::wait_for(Duration::from_secs(3), || {
        lab.client.ip(&["neigh", "show", "198.51.100.50", "dev", "eth1"]).contains(&inner_mac)
    });
    assert!(flipped.is_some(), "the announcement left through the namespace's eth0");
    std::thread::sleep(Duration::from_millis(1200));
    let frames = capture.stop();
    assert!(frames.len() >= 5, "the background announcer sent its rounds too: {} frames", frames.len());
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    assert!(!inner.has_address("eth0", "198.51.100.50/24"));
}

#[test]
fn network_namespace_puts_cluster_ip_rules_inside_the_namespace() {
    let lab = Lab::new();
    let inner = container(&lab);
    let params =
        [("ip", "198.51.100.60"), ("cidr_netmask", "24"), ("network_namespace", inner.name.as_str())];
    let env = [("OCF_RESKEY_CRM_meta_clone_max", "2"), ("OCF_RESKEY_CRM_meta_clone", "0")];
    let run = run_agent(&lab.node, &lab.rsctmp, "start", &params, &env);
    assert_eq!(run.code, ocf::SUCCESS, "{run:#?}");
    let ruleset =
        |ns: &Netns| String::from_utf8_lossy(&ns.exec("nft", &["list", "ruleset"]).stdout).into_owned();
    assert!(ruleset(&inner).contains("ocf_ipaddr_198_51_100_60"), "{}", ruleset(&inner));
    assert!(!ruleset(&lab.node).contains("ocf_ipaddr"), "nothing outside the namespace");
    assert_eq!(run_agent(&lab.node, &lab.rsctmp, "monitor", &params, &env).code, ocf::SUCCESS);
    assert_eq!(run_agent(&lab.node, &lab.rsctmp, "stop", &params, &env).code, ocf::SUCCESS);
    assert!(!ruleset(&inner).contains("ocf_ipaddr"));
    assert!(!inner.has_address("eth0", "198.51.100.60/24"));
}
