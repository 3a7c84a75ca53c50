//! The promise above all others: stop exits 0 only when the address this
//! resource added is on no interface of the node, and it never removes
//! what the resource did not add; monitor says 7 only when the address is
//! nowhere here. Each test changes the node the way an admin or a broken
//! script would between start and stop, then checks the kernel.

mod common;
use common::{Lab, NamespaceFile, ocf};

const VIP: &str = "192.0.2.50";
const VIP_CIDR: &str = "192.0.2.50/24";

fn recurring_monitor(lab: &Lab, params: &[(&str, &str)]) -> common::Run {
    lab.agent_env(&lab.node, "monitor", params, &[("OCF_RESKEY_CRM_meta_interval", "10000")])
}

/// Whether any interface of the node holds `cidr`.
fn anywhere(lab: &Lab, cidr: &str) -> bool {
    lab.node.ip(&["-o", "addr", "show"]).split_whitespace().any(|w| w == cidr)
}

#[test]
fn a_renamed_nic_cannot_hide_the_vip_from_monitor_or_stop() {
    let lab = Lab::new();
    let params = [("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    lab.node.ip(&["link", "set", "eth0", "down"]);
    lab.node.ip(&["link", "set", "eth0", "name", "wan7"]);
    lab.node.ip(&["link", "set", "wan7", "up"]);
    let run = recurring_monitor(&lab, &params);
    assert_eq!(run.code, ocf::SUCCESS, "the VIP still runs on the renamed NIC: {run:?}");
    let run = lab.agent("stop", &params);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert!(!anywhere(&lab, VIP_CIDR), "stop said 0 and left the VIP: {}", lab.node.addresses("wan7"));
    assert_eq!(lab.probe(&params).code, ocf::NOT_RUNNING);
}

#[test]
fn an_altname_names_the_nic_and_the_label_uses_the_kernels_name() {
    let lab = Lab::new();
    lab.node.ip(&["link", "property", "add", "dev", "eth0", "altname", "uplink"]);
    let params = [("ip", VIP), ("cidr_netmask", "24"), ("nic", "uplink"), ("iflabel", "web")];
    let run = lab.agent("start", &params);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert!(lab.node.addresses("eth0").contains("eth0:web"), "{}", lab.node.addresses("eth0"));
    assert_eq!(recurring_monitor(&lab, &params).code, ocf::SUCCESS);
    lab.node.ip(&["link", "set", "eth0", "down"]);
    lab.node.ip(&["link", "set", "eth0", "name", "eth4"]);
    let run = lab.agent("stop", &params);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert!(!anywhere(&lab, VIP_CIDR));
}

#[test]
fn a_changed_etc_hosts_cannot_hide_the_vip() {
    let changes: [(&str, &[u8]); 3] = [
        ("the line is removed", b"127.0.0.1 localhost\n"),
        ("the name is remapped", b"127.0.0.1 localhost\n192.0.2.77 vip-web\n"),
        ("a byte that is not UTF-8 is added", b"127.0.0.1 localhost \xff\n192.0.2.50 vip-web\n"),
    ];
    for (change, text) in changes {
        let lab = Lab::new();
        let hosts = NamespaceFile::new(&lab.node, "hosts", b"127.0.0.1 localhost\n192.0.2.50 vip-web\n");
        let params = [("ip", "vip-web"), ("cidr_netmask", "24"), ("nic", "eth0")];
        assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS, "{change}");
        hosts.write(text);
        let run = recurring_monitor(&lab, &params);
        assert_eq!(run.code, ocf::SUCCESS, "{change}: {run:?}");
        let run = lab.agent("stop", &params);
        assert_eq!(run.code, ocf::SUCCESS, "{change}: {run:?}");
        assert!(!anywhere(&lab, VIP_CIDR), "{change}: stop said 0 and left the VIP");
    }
}

/// Instance 1 of a globally unique clone whose instances each add their
/// number to the address (`unique_clone_address`).
const CLONE_INSTANCE_1: [(&str, &str); 3] = [
    ("OCF_RESKEY_CRM_meta_clone", "1"),
    ("OCF_RESKEY_CRM_meta_clone_max", "2"),
    ("OCF_RESKEY_CRM_meta_globally_unique", "true"),
];

#[test]
fn a_clone_instance_with_its_own_address_is_monitored_and_stopped_at_that_address() {
    for ip in [VIP, "vip-web"] {
        let lab = Lab::new();
        let hosts = NamespaceFile::new(&lab.node, "hosts", b"127.0.0.1 localhost\n192.0.2.50 vip-web\n");
        let params = [("ip", ip), ("cidr_netmask", "24"), ("nic", "eth0"), ("unique_clone_address", "true")];
        let run = |action: &str, extra: &[(&str, &str)]| {
            let env: Vec<(&str, &str)> = CLONE_INSTANCE_1.iter().chain(extra).copied().collect();
            lab.agent_env(&lab.node, action, &params, &env)
        };
        assert_eq!(run("start", &[]).code, ocf::SUCCESS, "{ip}");
        assert!(anywhere(&lab, "192.0.2.51/24"), "{ip}: instance 1 adds 1: {}", lab.node.addresses("eth0"));
        hosts.write(b"127.0.0.1 localhost\n192.0.2.77 vip-web\n");
        let monitor = run("monitor", &[("OCF_RESKEY_CRM_meta_interval", "10000")]);
        assert_eq!(monitor.code, ocf::SUCCESS, "{ip}: {monitor:?}");
        let stop = run("stop", &[]);
        assert_eq!(stop.code, ocf::SUCCESS, "{ip}: {stop:?}");
        assert!(!anywhere(&lab, "192.0.2.51/24"), "{ip}: stop said 0 and left the VIP");
        assert_eq!(run("monitor", &[]).code, ocf::NOT_RUNNING, "{ip}");
    }
}

#[test]
fn a_probe_on_a_node_that_cannot_resolve_the_name_says_not_running() {
    let lab = Lab::new();
    let _hosts = NamespaceFile::new(&lab.node, "hosts", b"127.0.0.1 localhost\n");
    let params = [("ip", "vip-elsewhere"), ("cidr_netmask", "24"), ("nic", "eth0")];
    let probe = lab.probe(&params);
    assert_eq!(probe.code, ocf::NOT_RUNNING, "{probe:?}");
    let start = lab.agent("start", &params);
    assert_eq!(start.code, ocf::ERR_INSTALLED, "{start:?}");
    assert!(start.reason().contains("vip-elsewhere"), "{start:?}");
}

#[test]
fn parameters_stop_does_not_need_never_keep_the_vip_up() {
    let lab = Lab::new();
    let good = [("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0")];
    for (name, bad) in [
        ("broadcast", "not-an-address"),
        ("iflabel", "a b"),
        ("proto", "nonsense"),
        ("ping_on_start", "true"),
    ] {
        assert_eq!(lab.agent("start", &good).code, ocf::SUCCESS, "{name}");
        let mut params = good.to_vec();
        params.push((name, bad));
        let run = lab.agent("stop", &params);
        assert_eq!(run.code, ocf::SUCCESS, "{name}={bad}: {run:?}");
        assert!(!anywhere(&lab, VIP_CIDR), "{name}={bad}: stop said 0 and left the VIP");
    }
}

#[test]
fn a_copy_on_lo_that_answers_arp_is_neither_taken_for_the_vip_nor_deleted() {
    let lab = Lab::new();
    // A namespace inherits the host's IPv4 settings: the kernel's default,
    // under which the node answers ARP for lo's addresses, is set here.
    lab.node.sysctl("net.ipv4.conf.all.arp_ignore=0");
    lab.node.ip(&["addr", "add", "192.0.2.50/32", "dev", "lo"]);
    let params = [("ip", VIP)];
    let probe = lab.agent("monitor", &params);
    assert_eq!(probe.code, ocf::ERR_GENERIC, "{probe:?}");
    let reason = probe.reason();
    assert!(
        reason.contains("is on lo") && reason.contains("arp_ignore 0") && reason.contains("lvs_support"),
        "{probe:?}"
    );
    let start = lab.agent("start", &params);
    assert_eq!(start.code, ocf::ERR_GENERIC, "start took lo's copy for the VIP: {start:?}");
    assert!(!lab.node.has_address("eth0", VIP_CIDR));
    let stop = lab.agent("stop", &params);
    assert_eq!(stop.code, ocf::ERR_GENERIC, "stop must not hide a copy it cannot remove: {stop:?}");
    assert!(stop.reason().contains("is on lo"), "{stop:?}");
    assert!(lab.node.has_address("lo", "192.0.2.50/32"), "stop removed what the resource never added");
}

#[test]
fn the_loopback_interfaces_own_addresses_are_refused_and_never_removed() {
    let lab = Lab::new();
    let _hosts =
        NamespaceFile::new(&lab.node, "hosts", b"127.0.0.1 localhost\n::1 localhost ip6-localhost\n");
    let before = lab.node.snapshot();
    for ip in ["::1", "127.0.0.1", "localhost"] {
        let params = [("ip", ip)];
        for action in ["validate-all", "start"] {
            let run = lab.agent(action, &params);
            assert_eq!(run.code, ocf::ERR_CONFIGURED, "{action} ip={ip}: {run:?}");
            assert!(run.reason().contains("loopback interface's own address"), "{run:?}");
        }
        assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS, "ip={ip}");
    }
    assert_eq!(lab.node.snapshot(), before, "a loopback address was removed");
}

#[test]
fn an_admins_on_link_route_survives_an_ipv6_vip_placed_by_discovery() {
    for metric in ["1024", "100"] {
        let lab = Lab::new();
        lab.node.ip(&[
            "-6",
            "route",
            "add",
            "2001:db8:77::/64",
            "dev",
            "eth0",
            "metric",
            metric,
            "proto",
            "static",
        ]);
        let routes = || lab.node.ip(&["-6", "route", "show", "2001:db8:77::/64"]);
        let before = routes();
        let params = [("ip", "2001:db8:77::5"), ("nodad", "true")];
        let run = lab.agent("start", &params);
        assert_eq!(run.code, ocf::SUCCESS, "metric {metric}: {run:?}");
        assert!(lab.node.has_address("eth0", "2001:db8:77::5/64"), "metric {metric}");
        let run = lab.agent("stop", &params);
        assert_eq!(run.code, ocf::SUCCESS, "metric {metric}: {run:?}");
        assert_eq!(routes(), before, "metric {metric}: stop removed a route it did not add");
    }
}

#[test]
fn monitor_says_not_running_only_when_the_address_is_nowhere_here() {
    let lab = Lab::new();
    lab.node.ip(&["link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"]);
    // The watcher would put the deleted VIP back (tests/self_healing.rs).
    let params = [("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0"), ("repair_removed", "false")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    lab.node.ip(&["addr", "del", VIP_CIDR, "dev", "eth0"]);
    assert_eq!(recurring_monitor(&lab, &params).code, ocf::NOT_RUNNING);
    lab.node.ip(&["addr", "add", VIP_CIDR, "dev", "eth1"]);
    for run in [recurring_monitor(&lab, &params), lab.agent("monitor", &params)] {
        assert_eq!(run.code, ocf::ERR_GENERIC, "a copy on eth1 answers for the VIP: {run:?}");
        assert!(run.reason().contains("is on eth1"), "{run:?}");
    }
}

#[test]
fn stop_fails_naming_where_a_copy_it_did_not_add_remains() {
    let lab = Lab::new();
    lab.node.ip(&["link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"]);
    let params = [("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    lab.node.ip(&["addr", "add", VIP_CIDR, "dev", "eth1"]);
    let run = lab.agent("stop", &params);
    assert_eq!(run.code, ocf::ERR_GENERIC, "{run:?}");
    assert!(run.reason().contains("is on eth1"), "{run:?}");
    assert!(!lab.node.has_address("eth0", VIP_CIDR), "this resource's own copy goes");
    assert!(lab.node.has_address("eth1", VIP_CIDR), "the other copy is not this resource's to remove");
}

#[test]
fn stop_of_a_vip_whose_configuration_changed_still_removes_what_start_added() {
    let lab = Lab::new();
    let params = [("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    for edited in [
        [("ip", VIP), ("cidr_netmask", "16"), ("nic", "eth0")],
        [("ip", VIP), ("cidr_netmask", "24"), ("nic", "eth0;x")],
    ] {
        let run = lab.agent("stop", &edited);
        assert_eq!(run.code, ocf::SUCCESS, "{edited:?}: {run:?}");
        assert!(!anywhere(&lab, VIP_CIDR), "{edited:?}: stop said 0 and left the VIP");
        assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    }
}
