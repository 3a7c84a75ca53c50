//! A peer floods the link with truncated, oversized, wrong-type and spoofed
//! ARP and NDP frames while a start probes: the agent does not crash, does
//! not take frames that do not claim its address for a conflict, and still
//! detects a real claim.

mod common;
use common::{Lab, inject, ocf};
use pnet_packet::icmpv6::{Icmpv6Packet, checksum};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::Duration;

const SPOOF: [u8; 6] = [0x02, 0xde, 0xad, 0xbe, 0xef, 0x01];

fn arp(op: u16, sender_mac: [u8; 6], sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut f = vec![0xff; 6];
    f.extend_from_slice(&sender_mac);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0, 6, 4]);
    f.extend_from_slice(&op.to_be_bytes());
    f.extend_from_slice(&sender_mac);
    f.extend_from_slice(&sender.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target.octets());
    f
}

/// A Neighbor Advertisement for `target` from `source`; `hop_limit` and
/// `good_checksum` let a test break it on purpose.
fn na(mac: [u8; 6], source: Ipv6Addr, target: Ipv6Addr, hop_limit: u8, good_checksum: bool) -> Vec<u8> {
    let all_nodes: Ipv6Addr = "ff02::1".parse().unwrap();
    let mut icmp = vec![136, 0, 0, 0, 0x20, 0, 0, 0];
    icmp.extend_from_slice(&target.octets());
    icmp.extend_from_slice(&[2, 1]);
    icmp.extend_from_slice(&mac);
    let sum = checksum(&Icmpv6Packet::new(&icmp).unwrap(), &source, &all_nodes);
    let sum = if good_checksum { sum } else { sum ^ 0x5555 };
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut f = vec![0x33, 0x33, 0, 0, 0, 1];
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x86, 0xdd, 0x60, 0, 0, 0]);
    f.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    f.extend_from_slice(&[58, hop_limit]);
    f.extend_from_slice(&source.octets());
    f.extend_from_slice(&all_nodes.octets());
    f.extend_from_slice(&icmp);
    f
}

fn probing_start(lab: &Lab, params: &[(&str, &str)], frames: Vec<Vec<u8>>) -> common::Run {
    let injector = inject(&lab.client, "eth0", frames, Duration::from_millis(1200));
    std::thread::sleep(Duration::from_millis(100));
    let run = lab.agent("start", params);
    assert!(injector.join().expect("injector") > 0);
    run
}

/// Junk injected during probing is no conflict; a real claim still is,
/// naming the spoofing MAC.
fn junk_then_claim(lab: &Lab, params: &[(&str, &str)], junk: Vec<Vec<u8>>, claim: Vec<u8>) {
    let run = probing_start(lab, params, junk);
    assert_eq!(run.code, ocf::SUCCESS, "junk was taken for a conflict: {run:?}");
    assert_eq!(lab.agent("stop", params).code, ocf::SUCCESS);
    let run = probing_start(lab, params, vec![claim]);
    assert_eq!(run.code, ocf::ERR_GENERIC, "{run:?}");
    assert!(run.reason().contains("02:de:ad:be:ef:01"), "{run:?}");
}

#[test]
fn ipv4_junk_during_probing_is_no_conflict_and_a_real_claim_still_is() {
    let lab = Lab::new();
    let vip: Ipv4Addr = "192.0.2.50".parse().unwrap();
    let other: Ipv4Addr = "192.0.2.99".parse().unwrap();
    let claim = arp(2, SPOOF, vip, vip);
    let mut bad_lengths = claim.clone();
    bad_lengths[18] = 8; // hardware address length 8: not Ethernet ARP
    let mut oversized = arp(2, SPOOF, other, other);
    oversized.resize(1400, 0xaa);
    let mut wrong_type = claim.clone();
    wrong_type[12..14].copy_from_slice(&[0x08, 0x00]);
    let junk = vec![
        claim[..30].to_vec(),                               // truncated claim
        oversized,                                          // oversized, for another address
        wrong_type,                                         // a claim inside an IPv4 frame
        bad_lengths,                                        // malformed claim
        arp(2, SPOOF, other, vip),                          // spoofed reply about another address
        arp(1, SPOOF, "192.0.2.100".parse().unwrap(), vip), // someone asking for the VIP
        vec![0u8; 60],                                      // zeros
    ];
    let params = [
        ("ip", "192.0.2.50"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("probe_count", "10"),
        ("probe_interval", "50"),
    ];
    junk_then_claim(&lab, &params, junk, claim);
    assert!(!lab.node.has_address("eth0", "192.0.2.50/24"));
}

#[test]
fn ipv6_junk_during_probing_is_no_conflict_and_a_real_claim_still_is() {
    let lab = Lab::new();
    let vip: Ipv6Addr = "2001:db8::50".parse().unwrap();
    let other: Ipv6Addr = "2001:db8::99".parse().unwrap();
    let claim = na(SPOOF, vip, vip, 255, true);
    let junk = vec![
        na(SPOOF, other, other, 255, true), // an advertisement for another address
        na(SPOOF, vip, vip, 255, false),    // a claim with a bad checksum
        na(SPOOF, vip, vip, 64, true),      // a claim from off-link (hop limit 64)
        claim[..70].to_vec(),               // a truncated claim
        vec![0x33, 0x33, 0, 0, 0, 1, 2, 0, 0, 0, 0, 1, 0x86, 0xdd], // a bare header
    ];
    let params = [
        ("ip", "2001:db8::50"),
        ("cidr_netmask", "64"),
        ("nic", "eth0"),
        ("nodad", "true"),
        ("probe_count", "10"),
        ("probe_interval", "50"),
    ];
    junk_then_claim(&lab, &params, junk, claim);
}

/// `frame` with an 802.1Q tag for VLAN `vid` after its MAC addresses.
fn tagged(frame: &[u8], vid: u16) -> Vec<u8> {
    let mut f = frame[..12].to_vec();
    f.extend_from_slice(&[0x81, 0x00]);
    f.extend_from_slice(&vid.to_be_bytes());
    f.extend_from_slice(&frame[12..]);
    f
}

#[test]
fn claims_tagged_for_a_vlan_this_nic_does_not_carry_are_no_conflict_at_start() {
    let lab = Lab::new();
    let v4: Ipv4Addr = "192.0.2.50".parse().unwrap();
    let claim = arp(2, SPOOF, v4, v4);
    let params = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("probe_count", "10")];
    junk_then_claim(&lab, &params, vec![tagged(&claim, 42), tagged(&claim, 4094)], claim);
    let v6: Ipv6Addr = "2001:db8::50".parse().unwrap();
    let claim = na(SPOOF, v6, v6, 255, true);
    let params = [
        ("ip", "2001:db8::50"),
        ("cidr_netmask", "64"),
        ("nic", "eth0"),
        ("nodad", "1"),
        ("probe_count", "10"),
    ];
    junk_then_claim(&lab, &params, vec![tagged(&claim, 42)], claim);
}

#[test]
fn claims_tagged_for_another_vlan_are_no_conflict_for_the_level_20_watch() {
    let lab = Lab::new();
    let vip: Ipv4Addr = "192.0.2.50".parse().unwrap();
    let params = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("arp_bg", "false")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    let deep = [("OCF_CHECK_LEVEL", "20"), ("OCF_RESKEY_CRM_meta_interval", "60000")];
    let injector =
        inject(&lab.client, "eth0", vec![tagged(&arp(2, SPOOF, vip, vip), 7)], Duration::from_millis(800));
    std::thread::sleep(Duration::from_millis(100));
    let run = lab.agent_env(&lab.node, "monitor", &params, &deep);
    assert!(injector.join().expect("injector") > 0);
    assert_eq!(run.code, ocf::SUCCESS, "a claim for VLAN 7 was taken for a conflict: {run:?}");
    let injector = inject(&lab.client, "eth0", vec![arp(2, SPOOF, vip, vip)], Duration::from_millis(800));
    std::thread::sleep(Duration::from_millis(100));
    let run = lab.agent_env(&lab.node, "monitor", &params, &deep);
    assert!(injector.join().expect("injector") > 0);
    assert_eq!(run.code, ocf::ERR_GENERIC, "an untagged claim is a conflict: {run:?}");
}

#[test]
fn a_claim_received_on_another_interface_is_no_conflict() {
    let lab = Lab::new();
    let elsewhere = common::Netns::new("r");
    lab.node.ip(&["link", "add", "eth1", "type", "veth", "peer", "name", "eth0", "netns", &elsewhere.name]);
    lab.node.ip(&["link", "set", "eth1", "up"]);
    elsewhere.ip(&["link", "set", "eth0", "up"]);
    let vip: Ipv4Addr = "192.0.2.50".parse().unwrap();
    let injector = inject(&elsewhere, "eth0", vec![arp(2, SPOOF, vip, vip)], Duration::from_millis(800));
    std::thread::sleep(Duration::from_millis(100));
    let params = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("probe_count", "10")];
    let run = lab.agent("start", &params);
    assert!(injector.join().expect("injector") > 0);
    assert_eq!(run.code, ocf::SUCCESS, "a claim on eth1's network was taken for one on eth0's: {run:?}");
}
