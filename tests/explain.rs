//! `IPaddr explain`: what the agent sees, for people debugging a VIP, as
//! text and as JSON; it changes nothing.

mod common;
use common::{Lab, ocf};
use serde_json::Value;

fn explain_json(lab: &Lab, params: &[(&str, &str)]) -> Value {
    let out = lab.node.exec(
        common::agent_path().to_str().unwrap(),
        &[
            &["explain", "--format", "json"][..],
            &params.iter().flat_map(|(k, v)| [*k, *v]).collect::<Vec<_>>(),
        ]
        .concat(),
    );
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).expect("explain --format json prints JSON")
}

#[test]
fn explains_a_running_unlabelled_vip_and_why_ifconfig_hides_it() {
    let lab = Lab::new();
    let params = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    let before = lab.node.snapshot();
    let report = explain_json(&lab, &[("--ip", "192.0.2.50"), ("--nic", "eth0")]);
    assert_eq!(report["state"]["status"], "configured");
    assert_eq!(report["nic"]["name"], "eth0");
    assert_eq!(report["nic"]["source"], "given");
    assert_eq!(report["prefix"]["length"], 24);
    assert_eq!(report["prefix"]["source"], "discovered");
    assert_eq!(report["broadcast"], "192.0.2.255");
    assert_eq!(report["running_here"], true);
    assert_eq!(report["other_owner"], Value::Null);
    assert!(report["hint"].as_str().unwrap_or_default().contains("ifconfig"));
    assert_eq!(lab.node.snapshot(), before, "explain changes nothing");
    let text = lab.agent("explain", &params);
    assert_eq!(text.code, ocf::SUCCESS);
    assert!(text.stdout.contains("state        configured on eth0 with prefix /24"), "{}", text.stdout);
    assert!(text.stdout.contains("hint"), "{}", text.stdout);
}

#[test]
fn a_labelled_vip_needs_no_ifconfig_hint() {
    let lab = Lab::new();
    let params = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("iflabel", "web")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    let report = explain_json(&lab, &[("--ip", "192.0.2.50"), ("--nic", "eth0"), ("--iflabel", "web")]);
    assert_eq!(report["state"]["label"], "eth0:web");
    assert_eq!(report["hint"], Value::Null);
}

#[test]
fn explains_an_absent_vip_and_another_host_holding_it() {
    let lab = Lab::new();
    let report = explain_json(&lab, &[("--ip", "192.0.2.60")]);
    assert_eq!(report["state"]["status"], "absent");
    assert_eq!(report["running_here"], false);
    assert_eq!(report["nic"]["source"], "discovered");
    lab.client.ip(&["addr", "add", "192.0.2.61/24", "dev", "eth0"]);
    let report = explain_json(&lab, &[("--ip", "192.0.2.61")]);
    assert_eq!(report["other_owner"], lab.client.mac("eth0").as_str());
    let text = lab.agent("explain", &[("ip", "192.0.2.61")]);
    assert!(text.stdout.contains("ANSWERS FOR IT"), "{}", text.stdout);
}

#[test]
fn explains_a_vip_on_the_wrong_nic_and_a_missing_nic() {
    let lab = Lab::new();
    lab.node.ip(&["link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"]);
    lab.node.ip(&["addr", "add", "192.0.2.70/24", "dev", "eth1"]);
    let report = explain_json(&lab, &[("--ip", "192.0.2.70"), ("--nic", "eth0"), ("--cidr-netmask", "24")]);
    assert_eq!(report["state"]["status"], "on another nic");
    assert_eq!(report["state"]["on"], "eth1");
    let report = explain_json(&lab, &[("--ip", "192.0.2.70"), ("--nic", "eth9")]);
    assert!(report["problem"].as_str().unwrap_or_default().contains("eth9 does not exist"));
}
