//! Duplicate-address probing and announcements, seen from a client on the
//! same segment: its neighbor cache, and a capture of what the node sent.

mod common;
use common::{
    Arp, Capture, Lab, Na, Segment, advertisements, arps, neighbor_mac, no_neighbor_locktime, ocf,
    stale_neighbor, wait_for,
};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

const OLD_MAC: &str = "02:00:00:00:00:99";

/// Asserts that consecutive rounds are `interval` apart, within 20 %.
fn assert_spacing(times: &[u64], interval: Duration) {
    let expected = interval.as_micros() as f64;
    for pair in times.windows(2) {
        let gap = (pair[1] - pair[0]) as f64;
        assert!(
            (gap - expected).abs() <= expected * 0.2,
            "gap {gap} us, expected {expected} us ±20 %: {times:?}"
        );
    }
}

fn flips_within(client: &common::Netns, vip: &str, mac: &str, limit: Duration) -> bool {
    wait_for(limit, || neighbor_mac(client, vip).as_deref() == Some(mac)).is_some()
}

#[test]
fn gratuitous_arp_flips_a_stale_client_entry_at_once() {
    let lab = Lab::new();
    no_neighbor_locktime(&lab.client);
    stale_neighbor(&lab.client, "192.0.2.50", OLD_MAC);
    let node_mac = lab.node.mac("eth0");
    let started = Instant::now();
    let run = lab.agent("start", &[("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0")]);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert!(
        flips_within(&lab.client, "192.0.2.50", &node_mac, Duration::from_millis(200)),
        "after {:?}",
        started.elapsed()
    );
}

#[test]
fn unsolicited_na_flips_a_stale_client_entry_at_once() {
    let lab = Lab::new();
    stale_neighbor(&lab.client, "2001:db8::50", OLD_MAC);
    let node_mac = lab.node.mac("eth0");
    let run = lab.agent("start", &[("ip", "2001:db8::50"), ("cidr_netmask", "64"), ("nic", "eth0")]);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert!(flips_within(&lab.client, "2001:db8::50", &node_mac, Duration::from_millis(200)));
}

#[test]
fn moving_the_vip_between_nodes_flips_the_client_for_both_families() {
    let seg = Segment::new(2);
    no_neighbor_locktime(&seg.client);
    for (vip, prefix) in [("192.0.2.50", "24"), ("2001:db8::50", "64")] {
        let params = [("ip", vip), ("cidr_netmask", prefix), ("nic", "eth0")];
        assert_eq!(seg.agent(0, "start", &params).code, ocf::SUCCESS);
        let flag = if vip.contains(':') { "-6" } else { "-4" };
        assert!(seg.client.exec("ping", &[flag, "-c1", "-W2", vip]).status.success());
        assert_eq!(neighbor_mac(&seg.client, vip), Some(seg.nodes[0].mac("eth0")));
        assert_eq!(seg.agent(0, "stop", &params).code, ocf::SUCCESS);
        assert_eq!(seg.agent(1, "start", &params).code, ocf::SUCCESS);
        let b = seg.nodes[1].mac("eth0");
        assert!(
            flips_within(&seg.client, vip, &b, Duration::from_millis(200)),
            "{vip} did not flip to node b"
        );
        assert!(seg.client.exec("ping", &[flag, "-c1", "-W2", vip]).status.success());
    }
}

#[test]
fn an_ipv4_address_in_use_elsewhere_is_never_added_or_announced() {
    let lab = Lab::new();
    lab.client.ip(&["addr", "add", "192.0.2.77/24", "dev", "eth0"]);
    let client_mac = lab.client.mac("eth0");
    let capture = Capture::start(&lab.client, "eth0", &lab.rsctmp);
    let before = lab.node.snapshot();
    let run = lab.agent("start", &[("ip", "192.0.2.77"), ("cidr_netmask", "24"), ("nic", "eth0")]);
    let frames = capture.stop();
    assert_eq!(run.code, ocf::ERR_GENERIC, "{run:?}");
    assert!(run.reason().contains(&client_mac), "the reason names the owner: {run:?}");
    assert_eq!(lab.node.snapshot(), before);
    let node_mac = lab.node.mac("eth0");
    let from_node: Vec<_> = arps(&frames).into_iter().filter(|a| a.eth_src == node_mac).collect();
    assert!(!from_node.is_empty(), "the node probed");
    for arp in &from_node {
        assert!(arp.sender_ip.is_unspecified() && !arp.reply, "only RFC 5227 probes left the node: {arp:?}");
    }
}

#[test]
fn an_ipv6_address_in_use_elsewhere_is_never_added_or_announced_with_nodad() {
    let lab = Lab::new();
    lab.client.ip(&["addr", "add", "2001:db8::77/64", "dev", "eth0", "nodad"]);
    let client_mac = lab.client.mac("eth0");
    let capture = Capture::start(&lab.client, "eth0", &lab.rsctmp);
    let before = lab.node.snapshot();
    let run = lab.agent(
        "start",
        &[("ip", "2001:db8::77"), ("cidr_netmask", "64"), ("nic", "eth0"), ("nodad", "true")],
    );
    let frames = capture.stop();
    assert_eq!(run.code, ocf::ERR_GENERIC, "{run:?}");
    assert!(run.reason().contains(&client_mac), "{run:?}");
    assert_eq!(lab.node.snapshot(), before);
    let node_mac = lab.node.mac("eth0");
    let announced = advertisements(&frames).into_iter().any(|na| na.eth_src == node_mac);
    assert!(!announced, "no advertisement for the contested address left the node");
}

#[test]
fn probe_count_zero_disables_probing() {
    let lab = Lab::new();
    lab.client.ip(&["addr", "add", "192.0.2.77/24", "dev", "eth0"]);
    let params = [("ip", "192.0.2.77"), ("cidr_netmask", "24"), ("nic", "eth0"), ("probe_count", "0")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS, "without probes nobody notices the conflict");
}

#[test]
fn answers_from_this_hosts_own_interfaces_are_not_conflicts() {
    // A dual-homed node whose VIP sits on lo (LVS support): its kernel
    // answers the probe arriving on its second interface, eth1, and that
    // answer reaches eth0 from eth1's MAC. It is the node itself.
    let seg = Segment::new(1);
    seg.attach(&seg.nodes[0], "eth1");
    seg.nodes[0].ip(&["addr", "add", "192.0.2.80/32", "dev", "lo"]);
    let params = [
        ("ip", "192.0.2.80"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("lvs_support", "true"),
        ("probe_count", "3"),
    ];
    let run = seg.agent(0, "start", &params);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
}

fn wire_test_ipv4(background: &str) {
    let lab = Lab::new();
    let capture = Capture::start(&lab.client, "eth0", &lab.rsctmp);
    let params = [
        ("ip", "192.0.2.50"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("arp_count", "4"),
        ("arp_interval", "150"),
        ("arp_bg", background),
        ("probe_count", "0"),
    ];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    let done = wait_for(Duration::from_secs(30), || lab.node.processes_with_arg("__announce").is_empty());
    assert!(done.is_some(), "the background announcer ends after its rounds");
    let frames = capture.stop();
    let node_mac = lab.node.mac("eth0");
    let sent: Vec<Arp> = arps(&frames).into_iter().filter(|a| a.eth_src == node_mac).collect();
    let requests: Vec<&Arp> = sent.iter().filter(|a| !a.reply).collect();
    let replies: Vec<&Arp> = sent.iter().filter(|a| a.reply).collect();
    assert_eq!((requests.len(), replies.len()), (4, 4), "{sent:#?}");
    for arp in &sent {
        assert_eq!(arp.eth_dst, "ff:ff:ff:ff:ff:ff");
        assert_eq!(arp.sender_mac, node_mac);
        assert_eq!(arp.sender_ip, Ipv4Addr::new(192, 0, 2, 50));
        assert_eq!(arp.target_ip, Ipv4Addr::new(192, 0, 2, 50));
    }
    assert_spacing(&requests.iter().map(|a| a.micros).collect::<Vec<_>>(), Duration::from_millis(150));
    assert_spacing(&replies.iter().map(|a| a.micros).collect::<Vec<_>>(), Duration::from_millis(150));
}

#[test]
fn wire_shows_exactly_the_configured_ipv4_announcements_in_the_foreground() {
    wire_test_ipv4("false");
}

#[test]
fn wire_shows_exactly_the_configured_ipv4_announcements_in_the_background() {
    wire_test_ipv4("true");
}

#[test]
fn wire_shows_exactly_the_configured_unsolicited_advertisements() {
    let lab = Lab::new();
    let capture = Capture::start(&lab.client, "eth0", &lab.rsctmp);
    let params = [
        ("ip", "2001:db8::50"),
        ("cidr_netmask", "64"),
        ("nic", "eth0"),
        ("nodad", "true"),
        ("arp_count", "3"),
        ("arp_interval", "150"),
    ];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    let frames = capture.stop();
    let node_mac = lab.node.mac("eth0");
    let vip: Ipv6Addr = "2001:db8::50".parse().unwrap();
    let sent: Vec<Na> = advertisements(&frames).into_iter().filter(|na| na.target == vip).collect();
    assert_eq!(sent.len(), 3, "{sent:#?}");
    for na in &sent {
        assert_eq!(na.eth_src, node_mac);
        assert_eq!(na.eth_dst, "33:33:00:00:00:01");
        assert_eq!(na.source, vip, "sent from the VIP, not the link-local address");
        assert_eq!(na.destination, "ff02::1".parse::<Ipv6Addr>().unwrap());
        assert_eq!(na.hop_limit, 255);
        assert_eq!(na.flags, 0x20, "Override only");
        assert_eq!(na.tlla.as_deref(), Some(node_mac.as_str()));
    }
    assert_spacing(&sent.iter().map(|na| na.micros).collect::<Vec<_>>(), Duration::from_millis(150));
}

#[test]
fn send_arp_opts_reply_mode_and_arp_target_shape_the_announcement() {
    let lab = Lab::new();
    let capture = Capture::start(&lab.client, "eth0", &lab.rsctmp);
    let params = [
        ("ip", "192.0.2.50"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("send_arp_opts", "-A -c 2"),
        ("arp_interval", "50"),
        ("arp_target", "192.0.2.1"),
        ("arp_bg", "false"),
    ];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    let frames = capture.stop();
    let node_mac = lab.node.mac("eth0");
    let sent: Vec<Arp> = arps(&frames)
        .into_iter()
        .filter(|a| a.eth_src == node_mac && !a.sender_ip.is_unspecified())
        .collect();
    let replies = sent.iter().filter(|a| a.reply).count();
    let aimed = sent.iter().filter(|a| !a.reply && a.target_ip == Ipv4Addr::new(192, 0, 2, 1)).count();
    assert_eq!((replies, aimed, sent.len()), (2, 2, 4), "{sent:#?}");
}

#[test]
fn monitor_refreshes_the_announcement_when_asked() {
    let lab = Lab::new();
    let base = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("arp_bg", "false")];
    assert_eq!(lab.agent("start", &base).code, ocf::SUCCESS);
    no_neighbor_locktime(&lab.client);
    stale_neighbor(&lab.client, "192.0.2.50", OLD_MAC);
    let quiet = lab.agent("monitor", &base);
    assert_eq!(quiet.code, ocf::SUCCESS);
    assert_eq!(neighbor_mac(&lab.client, "192.0.2.50").as_deref(), Some(OLD_MAC), "no refresh by default");
    let mut refresh = base.to_vec();
    refresh.push(("arp_count_refresh", "1"));
    assert_eq!(lab.agent("monitor", &refresh).code, ocf::SUCCESS);
    let node_mac = lab.node.mac("eth0");
    assert!(flips_within(&lab.client, "192.0.2.50", &node_mac, Duration::from_millis(200)));
}
