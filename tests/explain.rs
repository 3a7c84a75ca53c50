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

/// `IPaddr explain ARGS` by hand (no resource name in the environment),
/// with the lab's run directory.
fn explain_by_hand(lab: &Lab, args: &[&str]) -> common::Run {
    let mut command = common::agent_command(&lab.node, &lab.rsctmp, &common::agent_path(), "explain");
    command.args(args);
    common::finish(command)
}

#[test]
fn explain_by_address_shows_every_resource_of_the_address_and_resource_narrows_it() {
    let lab = Lab::new();
    lab.add_eth1();
    lab.node.ip(&["addr", "add", "198.51.100.1/24", "dev", "eth1"]);
    // One address, two resources on two NICs, as Pacemaker names them.
    for (resource, nic, prefix) in [("vip-eth0", "eth0", "24"), ("vip-eth1", "eth1", "32")] {
        let params = [("ip", "192.0.2.50"), ("cidr_netmask", prefix), ("nic", nic)];
        let start = lab.agent_env(&lab.node, "start", &params, &[("OCF_RESOURCE_INSTANCE", resource)]);
        assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    }
    let text = explain_by_hand(&lab, &["--ip", "192.0.2.50", "--nic", "eth0"]);
    assert_eq!(text.code, ocf::SUCCESS, "{text:#?}");
    for line in [
        "resource vip-eth0 (record: 192.0.2.50/24 on eth0)",
        "resource vip-eth1 (record: 192.0.2.50/32 on eth1)",
    ] {
        assert!(text.stdout.contains(line), "{line} in {}", text.stdout);
    }
    assert_eq!(
        text.stdout.matches(" started on eth").count(),
        2,
        "each resource's own events: {}",
        text.stdout
    );

    let json = explain_by_hand(&lab, &["--ip", "192.0.2.50", "--nic", "eth0", "--format", "json"]);
    let report: Value = serde_json::from_str(&json.stdout).unwrap_or_else(|e| panic!("{e}: {json:#?}"));
    let names: Vec<&str> =
        report["resources"].as_array().unwrap().iter().filter_map(|r| r["resource"].as_str()).collect();
    assert_eq!(names, ["vip-eth0", "vip-eth1"]);
    assert!(report["resources"][0]["events"].as_array().is_some_and(|e| !e.is_empty()), "{report:#}");

    // --resource names the resource: its own record and events, no listing.
    let narrowed =
        explain_by_hand(&lab, &["--ip", "192.0.2.50", "--resource", "vip-eth1", "--format", "json"]);
    let report: Value =
        serde_json::from_str(&narrowed.stdout).unwrap_or_else(|e| panic!("{e}: {narrowed:#?}"));
    assert_eq!(report["record"]["nic"], "eth1", "{report:#}");
    assert!(report["events"].as_array().is_some_and(|e| !e.is_empty()), "{report:#}");
    assert_eq!(report["resources"], Value::Null);
    for (resource, nic, prefix) in [("vip-eth0", "eth0", "24"), ("vip-eth1", "eth1", "32")] {
        let params = [("ip", "192.0.2.50"), ("cidr_netmask", prefix), ("nic", nic)];
        let stop = lab.agent_env(&lab.node, "stop", &params, &[("OCF_RESOURCE_INSTANCE", resource)]);
        assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
    }
}
