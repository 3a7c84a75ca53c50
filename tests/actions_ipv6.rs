//! IPv6 behaviour: DAD, nodad, preferred lifetime, address labels and
//! discovery, against real kernel objects in network namespaces.

mod common;
use common::{Lab, ocf};

const VIP: &str = "2001:db8::50";

#[test]
fn start_waits_for_dad_and_the_client_reaches_the_vip() {
    let lab = Lab::new();
    let params = [("ip", VIP), ("cidr_netmask", "64"), ("nic", "eth0")];
    assert_eq!(lab.agent("monitor", &params).code, ocf::NOT_RUNNING);
    let run = lab.agent("start", &params);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    let shown = lab.node.addresses("eth0");
    // The VIP's own line: the kernel's link-local may still be in its own DAD.
    let line = shown.lines().find(|l| l.contains("2001:db8::50/64")).unwrap_or_default();
    assert!(!line.is_empty(), "{shown}");
    assert!(!line.contains("tentative"), "start returns after DAD: {shown}");
    assert_eq!(lab.agent("monitor", &params).code, ocf::SUCCESS);
    let ping = lab.client.exec("ping", &["-6", "-c1", "-W2", VIP]);
    assert!(ping.status.success(), "client cannot reach the VIP");
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    assert!(!lab.node.addresses("eth0").contains("2001:db8::50/64"));
}

#[test]
fn duplicate_address_fails_start_and_removes_the_address() {
    let lab = Lab::new();
    lab.client.ip(&["addr", "add", "2001:db8::77/64", "dev", "eth0", "nodad"]);
    let params = [("ip", "2001:db8::77"), ("cidr_netmask", "64"), ("nic", "eth0")];
    let before = lab.node.snapshot();
    let run = lab.agent("start", &params);
    assert_eq!(run.code, ocf::ERR_GENERIC, "{run:?}");
    assert!(run.reason().contains("duplicate address detection"), "{run:?}");
    assert_eq!(lab.node.snapshot(), before, "nothing left behind");
}

#[test]
fn nodad_adds_without_waiting() {
    let lab = Lab::new();
    let params = [("ip", VIP), ("cidr_netmask", "64"), ("nic", "eth0"), ("nodad", "true")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    assert!(lab.node.addresses("eth0").contains("nodad"));
    assert_eq!(lab.agent("monitor", &params).code, ocf::SUCCESS);
}

#[test]
fn preferred_lft_zero_makes_the_address_deprecated() {
    let lab = Lab::new();
    let params =
        [("ip", VIP), ("cidr_netmask", "64"), ("nic", "eth0"), ("nodad", "1"), ("preferred_lft", "0")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    let line = lab.node.ip(&["-6", "-o", "addr", "show", "dev", "eth0", "to", "2001:db8::50/128"]);
    assert!(line.contains("deprecated") && line.contains("preferred_lft 0sec"), "{line}");
}

#[test]
fn address_label_is_added_with_the_vip_and_removed_with_it() {
    let lab = Lab::new();
    let params = [
        ("ip", VIP),
        ("cidr_netmask", "64"),
        ("nic", "eth0"),
        ("nodad", "1"),
        ("lvs_ipv6_addrlabel_value", "42"),
    ];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    assert!(lab.node.ip(&["addrlabel", "list"]).contains("prefix 2001:db8::50/128 label 42"));
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    assert!(!lab.node.ip(&["addrlabel", "list"]).contains("2001:db8::50"));
    let off = [
        ("ip", VIP),
        ("cidr_netmask", "64"),
        ("nic", "eth0"),
        ("nodad", "1"),
        ("lvs_ipv6_addrlabel", "false"),
    ];
    assert_eq!(lab.agent("start", &off).code, ocf::SUCCESS);
    assert!(!lab.node.ip(&["addrlabel", "list"]).contains("2001:db8::50"));
}

#[test]
fn two_ipv6_instances_on_one_nic_are_independent() {
    let lab = Lab::new();
    let a = [("ip", "2001:db8::51"), ("nic", "eth0"), ("nodad", "1")];
    let b = [("ip", "2001:db8::52"), ("nic", "eth0"), ("nodad", "1")];
    assert_eq!(lab.agent("start", &a).code, ocf::SUCCESS);
    assert_eq!(lab.agent("start", &b).code, ocf::SUCCESS);
    assert_eq!(lab.agent("stop", &a).code, ocf::SUCCESS);
    assert!(lab.node.addresses("eth0").contains("2001:db8::52/64"));
    assert_eq!(lab.agent("monitor", &b).code, ocf::SUCCESS);
}

#[test]
fn host_prefix_vip_is_monitored_without_depending_on_routes() {
    // resource-agents #1963: a /128 VIP adds its own route, which made
    // IPaddr2's discovery see two matches and its monitor fail.
    let lab = Lab::new();
    let params = [("ip", "2001:db8::3c"), ("cidr_netmask", "128"), ("nodad", "1")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    let run = lab.agent_env(&lab.node, "monitor", &params, &[("OCF_RESKEY_CRM_meta_interval", "5000")]);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    assert!(!lab.node.addresses("eth0").contains("2001:db8::3c"));
}

#[test]
fn non_canonical_spelling_is_the_same_address() {
    let lab = Lab::new();
    let params = [("ip", "2001:0DB8:0:0::0050"), ("cidr_netmask", "64"), ("nic", "eth0"), ("nodad", "1")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    assert_eq!(
        lab.agent("monitor", &[("ip", VIP), ("cidr_netmask", "64"), ("nic", "eth0")]).code,
        ocf::SUCCESS
    );
}

#[test]
fn link_local_vip_needs_a_nic_and_works_with_one() {
    let lab = Lab::new();
    let run = lab.agent("validate-all", &[("ip", "fe80::50")]);
    assert_eq!(run.code, ocf::ERR_CONFIGURED);
    let params = [("ip", "fe80::50"), ("cidr_netmask", "64"), ("nic", "eth0"), ("nodad", "1")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS, "{:?}", lab.agent("start", &params));
    assert_eq!(lab.agent("monitor", &params).code, ocf::SUCCESS);
}

#[test]
fn a_broadcast_for_ipv6_is_ignored_with_a_warning_as_ipaddr2s_ip_ignored_it() {
    let lab = Lab::new();
    let params = [
        ("ip", "2001:db8::50"),
        ("cidr_netmask", "64"),
        ("nic", "eth0"),
        ("nodad", "1"),
        ("broadcast", "2001:db8::ff"),
    ];
    let run = lab.agent("start", &params);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert!(run.stderr.contains("broadcast is ignored for IPv6"), "{run:?}");
    assert!(lab.node.addresses("eth0").contains("2001:db8::50/64"));
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
}
