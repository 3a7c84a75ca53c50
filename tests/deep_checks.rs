//! The deep monitor checks: reachability at OCF_CHECK_LEVEL 10 (a ping
//! list or a broadcast ping, sent from the VIP) and the conflict watch at
//! OCF_CHECK_LEVEL 20 (another MAC claiming the VIP), with the degraded
//! exit code where the caller supports it.

mod common;
use common::{Capture, Lab, Segment, neighbor_mac, no_neighbor_locktime, ocf, stale_neighbor, wait_for};
use pnet_packet::Packet;
use pnet_packet::ethernet::{EtherTypes, EthernetPacket};
use pnet_packet::ipv4::Ipv4Packet;
use std::time::Duration;

const V4: &[(&str, &str)] = &[("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0")];
const V6: &[(&str, &str)] =
    &[("ip", "2001:db8::50"), ("cidr_netmask", "64"), ("nic", "eth0"), ("nodad", "true")];

/// What Pacemaker 2.1 passes: OCF 1.1 and a feature set with degraded results.
const OCF_1_1: &[(&str, &str)] =
    &[("OCF_RA_VERSION_MAJOR", "1"), ("OCF_RA_VERSION_MINOR", "1"), ("OCF_RESKEY_crm_feature_set", "3.16.2")];

fn with<'a>(base: &[(&'a str, &'a str)], extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    base.iter().chain(extra).copied().collect()
}

fn monitor_at(lab: &Lab, level: &str, params: &[(&str, &str)], env: &[(&str, &str)]) -> common::Run {
    let mut env = env.to_vec();
    env.extend([("OCF_CHECK_LEVEL", level), ("OCF_RESKEY_CRM_meta_interval", "10000")]);
    lab.agent_env(&lab.node, "monitor", params, &env)
}

fn started(params: &[(&str, &str)]) -> Lab {
    let lab = Lab::new();
    let run = lab.agent("start", params);
    assert_eq!(run.code, ocf::SUCCESS, "{run:#?}");
    lab
}

#[test]
fn a_ping_list_that_answers_passes_level_10_with_the_vip_as_source() {
    let params = with(V4, &[("ping_list", "192.0.2.200, 192.0.2.100")]);
    let lab = started(&params);
    let capture = Capture::start_filtered(&lab.client, "eth0", &lab.rsctmp, "icmp");
    let run = monitor_at(&lab, "10", &params, &[]);
    assert_eq!(run.code, ocf::SUCCESS, "{run:#?}");
    assert!(run.stderr.is_empty(), "no noise on success: {}", run.stderr);
    let sources: Vec<String> = capture
        .stop()
        .iter()
        .filter_map(|f| {
            let eth = EthernetPacket::new(&f.data)?;
            (eth.get_ethertype() == EtherTypes::Ipv4).then_some(())?;
            let ip = Ipv4Packet::new(eth.payload())?;
            (ip.get_destination().to_string() == "192.0.2.100").then(|| ip.get_source().to_string())
        })
        .collect();
    assert!(!sources.is_empty(), "the client saw no echo request");
    assert!(sources.iter().all(|s| s == "192.0.2.50"), "echo requests came from {sources:?}, not the VIP");
}

#[test]
fn an_unanswered_ping_list_fails_level_10_naming_every_host() {
    let params = with(V4, &[("ping_list", "192.0.2.200 192.0.2.201"), ("ping_timeout", "300")]);
    let lab = started(&params);
    let run = monitor_at(&lab, "10", &params, &[]);
    assert_eq!(run.code, ocf::ERR_GENERIC, "classic code without OCF 1.1: {run:#?}");
    let reason = run.reason();
    assert!(reason.contains("192.0.2.200") && reason.contains("192.0.2.201"), "{reason}");
    let degraded = monitor_at(&lab, "10", &params, OCF_1_1);
    assert_eq!(degraded.code, ocf::DEGRADED, "{degraded:#?}");
    assert_eq!(degraded.reason(), reason);
    // Depth 0 does not ping: the address itself is fine.
    assert_eq!(monitor_at(&lab, "0", &params, OCF_1_1).code, ocf::SUCCESS);
    assert!(lab.node.has_address("eth0", "192.0.2.50/24"), "a failed check never removes the VIP");
}

#[test]
fn ipv6_ping_list_and_all_nodes_ping_pass_level_10() {
    let lab = started(V6);
    let listed = with(V6, &[("ping_list", "2001:db8::100")]);
    let run = monitor_at(&lab, "10", &listed, &[]);
    assert_eq!(run.code, ocf::SUCCESS, "{run:#?}");
    let all_nodes = with(V6, &[("ping_broadcast", "true")]);
    let run = monitor_at(&lab, "10", &all_nodes, &[]);
    assert_eq!(run.code, ocf::SUCCESS, "{run:#?}");
    lab.client.ip(&["addr", "del", "2001:db8::100/64", "dev", "eth0"]);
    let run = monitor_at(&lab, "10", &with(&listed, &[("ping_timeout", "300")]), OCF_1_1);
    assert_eq!(run.code, ocf::DEGRADED, "{run:#?}");
    assert!(run.reason().contains("2001:db8::100"), "{run:#?}");
}

#[test]
fn broadcast_ping_passes_only_when_a_host_answers_broadcasts() {
    let params = with(V4, &[("ping_broadcast", "true"), ("ping_timeout", "300")]);
    let lab = started(&params);
    let sysctl = |value: &str| lab.client.sysctl(&format!("net.ipv4.icmp_echo_ignore_broadcasts={value}"));
    sysctl("1");
    let run = monitor_at(&lab, "10", &params, &[]);
    assert_eq!(run.code, ocf::ERR_GENERIC, "only this node could answer: {run:#?}");
    assert!(run.reason().contains("192.0.2.255"), "{run:#?}");
    sysctl("0");
    let run = monitor_at(&lab, "10", &params, &[]);
    assert_eq!(run.code, ocf::SUCCESS, "{run:#?}");
}

#[test]
fn ping_on_start_fails_the_start_and_leaves_nothing() {
    let lab = Lab::new();
    let silent =
        with(V4, &[("ping_list", "192.0.2.200"), ("ping_on_start", "true"), ("ping_timeout", "300")]);
    let before = lab.node.snapshot();
    let run = lab.agent("start", &silent);
    assert_eq!(run.code, ocf::ERR_GENERIC, "{run:#?}");
    assert!(run.reason().contains("192.0.2.200") && run.reason().contains("ping_on_start"), "{run:#?}");
    assert_eq!(lab.node.snapshot(), before, "a failed start leaves the node as it was");
    let answered = with(V4, &[("ping_list", "192.0.2.100"), ("ping_on_start", "true")]);
    let run = lab.agent("start", &answered);
    assert_eq!(run.code, ocf::SUCCESS, "{run:#?}");
    assert!(lab.node.has_address("eth0", "192.0.2.50/24"));
}

#[test]
fn validate_all_warns_about_a_ping_host_of_this_node() {
    let lab = Lab::new();
    let run = lab.agent("validate-all", &with(V4, &[("ping_list", "192.0.2.1 192.0.2.100")]));
    assert_eq!(run.code, ocf::SUCCESS, "{run:#?}");
    let warnings: Vec<&str> = run.stderr.lines().filter(|l| l.contains("WARNING")).collect();
    assert_eq!(warnings.len(), 1, "{run:#?}");
    assert!(warnings[0].contains("192.0.2.1 ") && warnings[0].contains("this node"), "{warnings:?}");
    let none = lab.agent("validate-all", &with(V4, &[("ping_list", "192.0.2.100")]));
    assert!(none.stderr.is_empty(), "{none:#?}");
    let no_broadcast =
        [("ip", "192.0.2.50"), ("cidr_netmask", "32"), ("nic", "eth0"), ("ping_broadcast", "1")];
    assert_eq!(lab.agent("validate-all", &no_broadcast).code, ocf::ERR_CONFIGURED);
}

/// Node 0 holds the VIP; node 1 (the rogue) brings the same address up.
fn conflict(vip: &str, cidr: &str, params: &[(&str, &str)]) {
    let segment = Segment::new(2);
    let run = segment.agent(0, "start", params);
    assert_eq!(run.code, ocf::SUCCESS, "{run:#?}");
    let level_20 = |segment: &Segment| {
        let dir = segment.rsctmp.join("node0");
        common::run_agent(
            &segment.nodes[0],
            &dir,
            "monitor",
            params,
            &[("OCF_CHECK_LEVEL", "20"), ("OCF_RESKEY_CRM_meta_interval", "10000")],
        )
    };
    let quiet = level_20(&segment);
    assert_eq!(quiet.code, ocf::SUCCESS, "no conflict yet: {quiet:#?}");
    let (ours, rogue) = (segment.nodes[0].mac("eth0"), segment.nodes[1].mac("eth0"));
    segment.nodes[1].ip(&["addr", "add", cidr, "dev", "eth0", "nodad"]);
    no_neighbor_locktime(&segment.client);
    stale_neighbor(&segment.client, vip, &rogue);
    let run = level_20(&segment);
    assert_eq!(run.code, ocf::ERR_GENERIC, "{run:#?}");
    assert!(run.reason().contains(&rogue) && run.reason().contains(vip), "{run:#?}");
    assert!(
        wait_for(Duration::from_secs(3), || neighbor_mac(&segment.client, vip).as_deref() == Some(&ours))
            .is_some(),
        "the re-announcement did not win the client back from {rogue}"
    );

    // The rogue goes (or a split brain heals with node 0 keeping the VIP)
    // with the other MAC's word last in the client's cache: the next watch
    // hears nobody else and wins the client back at once, instead of
    // leaving it to send to a MAC that no longer answers.
    segment.nodes[1].ip(&["addr", "del", cidr, "dev", "eth0"]);
    stale_neighbor(&segment.client, vip, &rogue);
    let over = level_20(&segment);
    assert_eq!(over.code, ocf::SUCCESS, "{over:#?}");
    assert!(over.stderr.contains(&format!("{rogue} no longer claims {vip}")), "{over:#?}");
    assert!(
        wait_for(Duration::from_secs(3), || neighbor_mac(&segment.client, vip).as_deref() == Some(&ours))
            .is_some(),
        "the watch after the conflict did not win the client back from {rogue}"
    );
    let quiet_again = level_20(&segment);
    assert_eq!(quiet_again.code, ocf::SUCCESS, "{quiet_again:#?}");
    assert!(!quiet_again.stderr.contains("no longer claims"), "said once: {quiet_again:#?}");
}

#[test]
fn a_rogue_host_claiming_the_ipv4_vip_fails_level_20_naming_its_mac_and_its_end_wins_the_client_back() {
    conflict("192.0.2.50", "192.0.2.50/24", V4);
}

#[test]
fn a_rogue_host_claiming_the_ipv6_vip_fails_level_20_naming_its_mac_and_its_end_wins_the_client_back() {
    conflict("2001:db8::50", "2001:db8::50/64", V6);
}
