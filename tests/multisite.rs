//! `allow_missing_subnet` (multi-site, LifeKeeper's "restore and recover
//! disabled"): on a node without the VIP's subnet, start succeeds without
//! the address; monitor and stop agree with that state, and the address is
//! configured as soon as the subnet exists and the resource restarts.

mod common;
use common::{Lab, ocf};

/// A VIP on a subnet the lab's node (192.0.2.0/24) does not have.
const DR_VIP: &[(&str, &str)] = &[("ip", "198.51.100.50"), ("allow_missing_subnet", "true")];
const RECURRING: &[(&str, &str)] = &[("OCF_RESKEY_CRM_meta_interval", "10000")];

fn monitor(lab: &Lab, params: &[(&str, &str)]) -> i32 {
    lab.agent_env(&lab.node, "monitor", params, RECURRING).code
}

fn probe(lab: &Lab, params: &[(&str, &str)]) -> i32 {
    lab.agent("monitor", params).code
}

fn warnings(run: &common::Run) -> Vec<&str> {
    run.stderr.lines().filter(|l| l.starts_with("WARNING:")).collect()
}

#[test]
fn without_the_option_a_missing_subnet_fails_the_start() {
    let lab = Lab::new();
    let run = lab.agent("start", &DR_VIP[..1]);
    // IPaddr2's answer when no route covers the address.
    assert_eq!(run.code, ocf::ERR_GENERIC, "{run:#?}");
}

#[test]
fn start_without_the_subnet_succeeds_without_the_address_and_monitor_agrees() {
    let lab = Lab::new();
    let before = lab.node.snapshot();
    let validate = lab.agent("validate-all", DR_VIP);
    assert_eq!(validate.code, ocf::SUCCESS, "{validate:#?}");
    assert_eq!(warnings(&validate).len(), 1, "{validate:#?}");
    assert_eq!(probe(&lab, DR_VIP), ocf::NOT_RUNNING, "not started yet");
    let start = lab.agent("start", DR_VIP);
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    assert!(warnings(&start)[0].contains("198.51.100.50"), "{start:#?}");
    assert_eq!(lab.node.snapshot(), before, "nothing configured");
    assert_eq!(monitor(&lab, DR_VIP), ocf::SUCCESS);
    assert_eq!(probe(&lab, DR_VIP), ocf::SUCCESS, "a probe finds it started");
    assert_eq!(lab.agent("start", DR_VIP).code, ocf::SUCCESS, "start is idempotent");
    let stop = lab.agent("stop", DR_VIP);
    assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
    assert_eq!(monitor(&lab, DR_VIP), ocf::NOT_RUNNING, "stop ends the state");
    assert_eq!(probe(&lab, DR_VIP), ocf::NOT_RUNNING);
    assert_eq!(lab.agent("stop", DR_VIP).code, ocf::SUCCESS, "stop is idempotent");
    assert_eq!(lab.node.snapshot(), before);
}

#[test]
fn once_the_subnet_appears_monitor_reports_the_address_and_a_restart_adds_it() {
    let lab = Lab::new();
    assert_eq!(lab.agent("start", DR_VIP).code, ocf::SUCCESS);
    lab.node.ip(&["addr", "add", "198.51.100.1/24", "dev", "eth0"]);
    assert_eq!(monitor(&lab, DR_VIP), ocf::NOT_RUNNING, "the subnet is here, the address is not");
    let start = lab.agent("start", DR_VIP);
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    assert!(lab.node.has_address("eth0", "198.51.100.50/24"));
    assert_eq!(monitor(&lab, DR_VIP), ocf::SUCCESS);
    assert_eq!(lab.agent("stop", DR_VIP).code, ocf::SUCCESS);
    assert!(!lab.node.has_address("eth0", "198.51.100.50/24"));
    assert_eq!(monitor(&lab, DR_VIP), ocf::NOT_RUNNING);
}

#[test]
fn a_given_nic_on_another_subnet_counts_as_missing_the_subnet() {
    let lab = Lab::new();
    let params = [DR_VIP[0], DR_VIP[1], ("nic", "eth0"), ("cidr_netmask", "24")];
    let start = lab.agent("start", &params);
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    assert!(!lab.node.has_address("eth0", "198.51.100.50/24"), "no address on a foreign subnet");
    assert_eq!(monitor(&lab, &params), ocf::SUCCESS);
    let missing_nic = [DR_VIP[0], DR_VIP[1], ("nic", "eth9")];
    assert_eq!(lab.agent("start", &missing_nic).code, ocf::SUCCESS);
    assert_eq!(lab.agent("stop", &missing_nic).code, ocf::SUCCESS);
    // On the primary site's subnet the option changes nothing.
    let primary = [("ip", "192.0.2.50"), ("allow_missing_subnet", "true")];
    assert_eq!(lab.agent("start", &primary).code, ocf::SUCCESS);
    assert!(lab.node.has_address("eth0", "192.0.2.50/24"));
}
