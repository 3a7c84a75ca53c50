//! IPv4 behaviour of start, stop, monitor and status against real kernel
//! objects in network namespaces.

mod common;
use common::{Lab, NamespaceFile, ocf};

const VIP: &str = "192.0.2.50";

#[test]
fn start_adds_the_address_and_monitor_sees_it() {
    let lab = Lab::new();
    let params = [("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0")];
    assert_eq!(lab.agent("monitor", &params).code, ocf::NOT_RUNNING);
    let run = lab.agent("start", &params);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    let line = lab.node.addresses("eth0");
    assert!(line.contains("192.0.2.50/24 brd 192.0.2.255"), "broadcast inherited like IPaddr2: {line}");
    assert_eq!(lab.agent("monitor", &params).code, ocf::SUCCESS);
    let ping = lab.client.exec("ping", &["-c1", "-W2", VIP]);
    assert!(ping.status.success(), "client cannot reach the VIP");
}

#[test]
fn probe_of_a_stopped_vip_is_not_running_without_an_error() {
    let lab = Lab::new();
    let run = lab.probe(&[("ip", VIP)]);
    assert_eq!(run.code, ocf::NOT_RUNNING);
    assert!(run.stderr.is_empty(), "a probe must log nothing: {run:?}");
}

#[test]
fn start_twice_and_stop_twice_are_no_ops() {
    let lab = Lab::new();
    let params = [("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    let after_first = lab.node.snapshot();
    let second = lab.agent("start", &params);
    assert_eq!(second.code, ocf::SUCCESS);
    assert!(second.stderr.is_empty(), "second start must be silent: {second:?}");
    assert_eq!(lab.node.snapshot(), after_first);
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    let after_stop = lab.node.snapshot();
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    assert_eq!(lab.node.snapshot(), after_stop);
    assert!(!lab.node.has_address("eth0", "192.0.2.50/24"));
}

#[test]
fn stop_leaves_other_instance_on_same_nic() {
    let lab = Lab::new();
    let a = [("ip", "192.0.2.51"), ("cidr_netmask", "24"), ("nic", "eth0")];
    let b = [("ip", "192.0.2.52"), ("cidr_netmask", "24"), ("nic", "eth0")];
    assert_eq!(lab.agent("start", &a).code, ocf::SUCCESS);
    assert_eq!(lab.agent("start", &b).code, ocf::SUCCESS);
    assert_eq!(lab.agent("stop", &a).code, ocf::SUCCESS);
    assert!(!lab.node.has_address("eth0", "192.0.2.51/24"));
    assert!(lab.node.has_address("eth0", "192.0.2.52/24"));
    assert_eq!(lab.agent("monitor", &b).code, ocf::SUCCESS);
}

#[test]
fn stop_of_a_primary_vip_keeps_the_other_instances_secondary() {
    let lab = Lab::new();
    // No node address in 198.51.100.0/24: the first VIP becomes primary.
    let a = [("ip", "198.51.100.10"), ("cidr_netmask", "24"), ("nic", "eth0")];
    let b = [("ip", "198.51.100.11"), ("cidr_netmask", "24"), ("nic", "eth0")];
    assert_eq!(lab.agent("start", &a).code, ocf::SUCCESS);
    assert_eq!(lab.agent("start", &b).code, ocf::SUCCESS);
    assert_eq!(lab.agent("stop", &a).code, ocf::SUCCESS);
    assert!(lab.node.has_address("eth0", "198.51.100.11/24"), "{}", lab.node.addresses("eth0"));
    assert_eq!(lab.agent("monitor", &b).code, ocf::SUCCESS);
}

#[test]
fn monitor_after_manual_delete_reports_not_running() {
    let lab = Lab::new();
    // IPaddr2's behaviour: the watcher would put it back (tests/self_healing.rs).
    let params = [("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0"), ("repair_removed", "false")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    lab.node.ip(&["addr", "del", "192.0.2.50/24", "dev", "eth0"]);
    let run = lab.agent_env(&lab.node, "monitor", &params, &[("OCF_RESKEY_CRM_meta_interval", "10000")]);
    assert_eq!(run.code, ocf::NOT_RUNNING);
}

#[test]
fn stop_never_deletes_the_same_ip_with_another_prefix_or_on_another_nic() {
    let lab = Lab::new();
    lab.node.ip(&["link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"]);
    lab.node.ip(&["addr", "add", "192.0.2.60/25", "dev", "eth0"]);
    lab.node.ip(&["addr", "add", "192.0.2.61/24", "dev", "eth1"]);
    let before = lab.node.snapshot();
    let wrong_prefix = [("ip", "192.0.2.60"), ("cidr_netmask", "24"), ("nic", "eth0")];
    let other_nic = [("ip", "192.0.2.61"), ("cidr_netmask", "24"), ("nic", "eth0")];
    // A copy this resource did not add is neither deleted nor hidden.
    let stop = lab.agent("stop", &wrong_prefix);
    assert_eq!(stop.code, ocf::ERR_GENERIC, "{stop:?}");
    assert!(stop.reason().contains("192.0.2.60/25 is on eth0"), "{stop:?}");
    let stop = lab.agent("stop", &other_nic);
    assert_eq!(stop.code, ocf::ERR_GENERIC, "{stop:?}");
    assert!(stop.reason().contains("192.0.2.61 is on eth1"), "{stop:?}");
    assert_eq!(lab.node.snapshot(), before);
    let mon = lab.agent("monitor", &wrong_prefix);
    assert_eq!(mon.code, ocf::ERR_GENERIC);
    assert!(mon.reason().contains("/25"), "{mon:?}");
    let mon = lab.agent("monitor", &other_nic);
    assert_eq!(mon.code, ocf::ERR_GENERIC);
    assert!(mon.reason().contains("eth1"), "{mon:?}");
    let start = lab.agent("start", &other_nic);
    assert_eq!(start.code, ocf::ERR_GENERIC);
    assert_eq!(lab.node.snapshot(), before, "a refused start changes nothing");
}

#[test]
fn discovery_finds_nic_netmask_and_inherited_broadcast() {
    let lab = Lab::new();
    let run = lab.agent("start", &[("ip", VIP)]);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    let line = lab.node.addresses("eth0");
    assert!(line.contains("192.0.2.50/24 brd 192.0.2.255"), "{line}");
    assert_eq!(lab.agent("monitor", &[("ip", VIP)]).code, ocf::SUCCESS);
    assert_eq!(lab.agent("stop", &[("ip", VIP)]).code, ocf::SUCCESS);
    assert!(!lab.node.has_address("eth0", "192.0.2.50/24"));
}

#[test]
fn discovery_prefers_the_most_specific_route_and_says_why() {
    let lab = Lab::new();
    lab.add_eth1();
    lab.node.ip(&["route", "add", "192.0.2.0/26", "dev", "eth1", "scope", "link"]);
    let run = lab.agent_env(&lab.node, "start", &[("ip", "192.0.2.20")], &[("OCF_TRACE_RA", "1")]);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert!(lab.node.has_address("eth1", "192.0.2.20/26"));
    assert!(run.stderr.contains("longest prefix"), "the choice is explained: {run:?}");
}

#[test]
fn same_prefix_on_two_nics_is_chosen_deterministically() {
    let lab = Lab::new();
    lab.add_eth1();
    lab.node.ip(&["route", "add", "192.0.2.0/24", "dev", "eth1", "scope", "link", "metric", "50"]);
    assert_eq!(lab.agent("start", &[("ip", VIP)]).code, ocf::SUCCESS);
    assert!(lab.node.has_address("eth0", "192.0.2.50/24"), "the lower-metric kernel route on eth0 wins");
}

#[test]
fn a_running_vip_stays_running_when_its_route_disappears() {
    let lab = Lab::new();
    assert_eq!(lab.agent("start", &[("ip", VIP)]).code, ocf::SUCCESS);
    lab.node.ip(&["route", "del", "192.0.2.0/24", "dev", "eth0"]);
    let run =
        lab.agent_env(&lab.node, "monitor", &[("ip", VIP)], &[("OCF_RESKEY_CRM_meta_interval", "10000")]);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert_eq!(lab.agent("stop", &[("ip", VIP)]).code, ocf::SUCCESS);
    assert!(!lab.node.has_address("eth0", "192.0.2.50/24"));
}

#[test]
fn no_route_means_start_fails_probe_says_stopped_and_stop_succeeds() {
    let lab = Lab::new();
    let params = [("ip", "203.0.113.7")];
    let before = lab.node.snapshot();
    let start = lab.agent("start", &params);
    // IPaddr2's answer (findif fails with OCF_ERR_GENERIC), as its ocft suite checks.
    assert_eq!(start.code, ocf::ERR_GENERIC);
    assert!(start.reason().contains("unable to find nic or netmask"), "{start:?}");
    assert_eq!(lab.probe(&params).code, ocf::NOT_RUNNING);
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    assert_eq!(lab.node.snapshot(), before);
}

#[test]
fn iflabel_sets_the_kernel_label_and_monitor_checks_it() {
    let lab = Lab::new();
    let params = [("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0"), ("iflabel", "web")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    assert!(lab.node.addresses("eth0").contains("eth0:web"));
    assert_eq!(lab.agent("monitor", &params).code, ocf::SUCCESS);
    let other = [("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0"), ("iflabel", "db")];
    let run = lab.agent("monitor", &other);
    assert_eq!(run.code, ocf::ERR_GENERIC);
    assert!(run.reason().contains("eth0:db"));
    // The deprecated nic:label form means the same.
    let legacy = [("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0:web")];
    assert_eq!(lab.agent("monitor", &legacy).code, ocf::SUCCESS);
}

#[test]
fn broadcast_plus_minus_or_an_address_is_the_broadcast_the_kernel_gets() {
    let lab = Lab::new();
    let cases = [
        ("192.0.2.71", "+", "brd 192.0.2.255"),
        ("192.0.2.72", "-", "brd 192.0.2.0"),
        ("192.0.2.73", "192.0.2.127", "brd 192.0.2.127"),
    ];
    for (ip, broadcast, expected) in cases {
        let params = [("ip", ip), ("cidr_netmask", "24"), ("nic", "eth0"), ("broadcast", broadcast)];
        assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
        let line = lab.node.ip(&["-o", "addr", "show", "dev", "eth0", "to", &format!("{ip}/32")]);
        assert!(line.contains(expected), "{broadcast}: {line}");
    }
}

#[test]
fn noprefixroute_adds_no_route() {
    let lab = Lab::new();
    let params = [("ip", "198.51.100.5"), ("cidr_netmask", "24"), ("nic", "eth0"), ("noprefixroute", "true")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    assert!(lab.node.addresses("eth0").contains("noprefixroute"));
    assert!(!lab.node.ip(&["-4", "route"]).contains("198.51.100.0/24"));
    let without = [("ip", "203.0.113.5"), ("cidr_netmask", "24"), ("nic", "eth0")];
    assert_eq!(lab.agent("start", &without).code, ocf::SUCCESS);
    assert!(lab.node.ip(&["-4", "route"]).contains("203.0.113.0/24"));
}

#[test]
fn check_link_status_fails_monitor_and_start_on_a_link_without_carrier() {
    let lab = Lab::new();
    let params = [("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    lab.client.ip(&["link", "set", "eth0", "down"]);
    let mon = lab.agent("monitor", &params);
    assert_eq!(mon.code, ocf::ERR_GENERIC);
    assert!(mon.reason().contains("carrier"), "{mon:?}");
    let relaxed = [("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0"), ("check_link_status", "false")];
    assert_eq!(lab.agent("monitor", &relaxed).code, ocf::SUCCESS);
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    let before = lab.node.snapshot();
    let start = lab.agent("start", &params);
    assert_eq!(start.code, ocf::ERR_GENERIC, "{start:?}");
    assert_eq!(lab.node.snapshot(), before, "a failed start leaves no address behind");
}

#[test]
fn start_brings_an_administratively_down_nic_up_like_ipaddr2() {
    let lab = Lab::new();
    lab.node.ip(&["link", "set", "eth0", "down"]);
    let params = [("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0")];
    let run = lab.agent("start", &params);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert!(lab.node.ip(&["link", "show", "eth0"]).contains(",UP"));
}

#[test]
fn stop_with_flush_routes_removes_the_vip_and_its_routes_and_flushes_the_cache() {
    let lab = Lab::new();
    let params = [("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0"), ("flush_routes", "true")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    let run = lab.agent("stop", &params);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert!(!lab.node.has_address("eth0", "192.0.2.50/24"));
    let local = lab.node.ip(&["route", "show", "table", "local"]);
    assert!(!local.contains("192.0.2.50"), "{local}");
    // The cache itself leaves no trace to read; a failed write would warn.
    assert!(!run.stderr.contains("WARNING"), "{run:?}");
}

#[test]
fn proto_limits_discovery_to_routes_of_that_protocol() {
    let lab = Lab::new();
    lab.node.ip(&["route", "add", "198.51.100.0/24", "dev", "eth0", "proto", "static", "scope", "link"]);
    let kernel_only = [("ip", "198.51.100.10"), ("proto", "kernel")];
    assert_eq!(lab.agent("start", &kernel_only).code, ocf::ERR_GENERIC);
    let statics = [("ip", "198.51.100.9"), ("proto", "static")];
    assert_eq!(lab.agent("start", &statics).code, ocf::SUCCESS);
    assert!(lab.node.has_address("eth0", "198.51.100.9/24"));
}

#[test]
fn lvs_support_moves_the_vip_off_lo_and_back() {
    let lab = Lab::new();
    lab.node.ip(&["addr", "add", "192.0.2.80/32", "dev", "lo"]);
    let params = [("ip", "192.0.2.80"), ("cidr_netmask", "24"), ("nic", "eth0"), ("lvs_support", "true")];
    assert_eq!(lab.agent("monitor", &params).code, ocf::NOT_RUNNING, "the lo copy is not the VIP");
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    assert!(!lab.node.has_address("lo", "192.0.2.80/32"));
    assert!(lab.node.has_address("eth0", "192.0.2.80/24"));
    assert_eq!(lab.agent("monitor", &params).code, ocf::SUCCESS);
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    assert!(lab.node.has_address("lo", "192.0.2.80/32"));
    assert!(!lab.node.has_address("eth0", "192.0.2.80/24"));
}

#[test]
fn network_namespace_confines_the_vip_to_that_namespace() {
    let lab = Lab::new();
    let inner = common::Netns::new("x");
    inner.ip(&["link", "add", "eth0", "type", "veth", "peer", "name", "eth0p"]);
    inner.ip(&["link", "set", "eth0", "up"]);
    inner.ip(&["link", "set", "eth0p", "up"]);
    inner.ip(&["addr", "add", "192.0.2.1/24", "dev", "eth0"]);
    let params = [
        ("ip", "192.0.2.90"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("network_namespace", inner.name.as_str()),
    ];
    let run = lab.agent("start", &params);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert!(inner.has_address("eth0", "192.0.2.90/24"));
    assert!(!lab.node.has_address("eth0", "192.0.2.90/24"));
    assert_eq!(lab.agent("monitor", &params).code, ocf::SUCCESS);
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    assert!(!inner.has_address("eth0", "192.0.2.90/24"));
    let missing = [
        ("ip", "192.0.2.90"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("network_namespace", "oi-no-such-ns"),
    ];
    assert_eq!(lab.agent("start", &missing).code, ocf::ERR_INSTALLED);
    assert_eq!(lab.probe(&missing).code, ocf::NOT_RUNNING);
    assert_eq!(lab.agent("stop", &missing).code, ocf::SUCCESS);
}

#[test]
fn status_prints_running_or_stopped() {
    let lab = Lab::new();
    let params = [("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0")];
    let stopped = lab.agent("status", &params);
    assert_eq!((stopped.code, stopped.stdout.trim()), (ocf::NOT_RUNNING, "stopped"));
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    let running = lab.agent("status", &params);
    assert_eq!((running.code, running.stdout.trim()), (ocf::SUCCESS, "running"));
}

#[test]
fn an_unknown_action_is_unimplemented_and_usage_and_metadata_print() {
    let lab = Lab::new();
    let params = [("ip", VIP)];
    assert_eq!(lab.agent("frobnicate", &params).code, ocf::ERR_UNIMPLEMENTED);
    let usage = lab.agent("usage", &[]);
    assert_eq!(usage.code, ocf::SUCCESS);
    assert!(usage.stdout.starts_with("usage:"));
    let meta = lab.agent("meta-data", &[]);
    assert_eq!(meta.code, ocf::SUCCESS);
    assert!(meta.stdout.contains("<resource-agent name=\"IPaddr\""));
}

#[test]
fn validate_all_accepts_a_good_configuration_and_changes_nothing() {
    let lab = Lab::new();
    let before = lab.node.snapshot();
    let run = lab.agent("validate-all", &[("ip", VIP), ("nic", "eth0"), ("cidr_netmask", "24")]);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert_eq!(lab.agent("validate-all", &[("ip", VIP)]).code, ocf::SUCCESS);
    assert_eq!(lab.node.snapshot(), before);
}

#[test]
fn command_line_flags_override_the_environment() {
    let lab = Lab::new();
    let out = lab.node.exec(
        common::agent_path().to_str().unwrap(),
        &["start", "--ip", VIP, "--cidr-netmask", "24", "--nic", "eth0"],
    );
    assert!(out.status.success(), "{out:?}");
    assert!(lab.node.has_address("eth0", "192.0.2.50/24"));
    let run = lab.agent_env(&lab.node, "monitor", &[("ip", "192.0.2.99")], &[]);
    assert_eq!(run.code, ocf::NOT_RUNNING);
}

#[test]
fn a_vip_without_a_maintenance_address_is_warned_about_or_refused() {
    let lab = Lab::new();
    let lonely = [("ip", "198.51.100.5"), ("cidr_netmask", "24"), ("nic", "eth0")];
    let run = lab.agent("validate-all", &lonely);
    assert_eq!(run.code, ocf::SUCCESS);
    assert!(run.stderr.contains("WARNING") && run.stderr.contains("maintenance address"), "{run:?}");
    let strict = [
        ("ip", "198.51.100.5"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("require_maintenance_address", "true"),
    ];
    let before = lab.node.snapshot();
    for action in ["validate-all", "start"] {
        let run = lab.agent(action, &strict);
        assert_eq!(run.code, ocf::ERR_CONFIGURED, "{action}: {run:?}");
        assert!(run.reason().contains("only address of eth0"), "{run:?}");
    }
    assert_eq!(lab.node.snapshot(), before);
    let accompanied =
        [("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0"), ("require_maintenance_address", "true")];
    let run = lab.agent("validate-all", &accompanied);
    assert_eq!(run.code, ocf::SUCCESS);
    assert!(!run.stderr.contains("maintenance"), "{run:?}");
    assert_eq!(lab.agent("start", &accompanied).code, ocf::SUCCESS);
}

#[test]
fn ip_may_be_a_host_name_from_etc_hosts_never_dns() {
    let lab = Lab::new();
    let _hosts = NamespaceFile::new(&lab.node, "hosts", b"127.0.0.1 localhost\n192.0.2.50 vip-web\n");
    let params = [("ip", "vip-web"), ("cidr_netmask", "24"), ("nic", "eth0")];
    let run = lab.agent("start", &params);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert!(run.stderr.contains("ip vip-web is 192.0.2.50 in /etc/hosts"), "{run:?}");
    assert!(lab.node.has_address("eth0", "192.0.2.50/24"));
    assert_eq!(lab.agent("monitor", &params).code, ocf::SUCCESS);
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    assert!(!lab.node.has_address("eth0", "192.0.2.50/24"));
    // A name this node cannot resolve is this node's lack, never a
    // configuration error (which Pacemaker treats as fatal everywhere).
    let unknown = [("ip", "vip-nowhere"), ("cidr_netmask", "24"), ("nic", "eth0")];
    let answers = [
        ("validate-all", ocf::ERR_INSTALLED),
        ("start", ocf::ERR_INSTALLED),
        ("probe", ocf::NOT_RUNNING),
        ("stop", ocf::SUCCESS),
    ];
    for (action, code) in answers {
        let run = if action == "probe" { lab.probe(&unknown) } else { lab.agent(action, &unknown) };
        assert_eq!(run.code, code, "{action}: {run:?}");
        if code == ocf::ERR_INSTALLED {
            assert!(run.reason().contains("never looked up in DNS"), "{run:?}");
        }
    }
}
