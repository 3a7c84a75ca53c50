//! IPaddr2's changes since resource-agents 4.12 (Debian 12's) that this
//! agent adopts or declines, each shown on a real namespace. The table in
//! docs/migration-from-ipaddr2.md ("IPaddr2's changes since 4.12") names
//! the test behind every row; changes other suites already show are listed
//! there with theirs.

mod common;
use common::ipaddr2::IPADDR2;
use common::{Lab, NamespaceFile, ocf, run_agent_at};
use std::path::Path;

const RECURRING: [(&str, &str); 1] = [("OCF_RESKEY_CRM_meta_interval", "10000")];

fn recurring_monitor(lab: &Lab, params: &[(&str, &str)]) -> common::Run {
    lab.agent_env(&lab.node, "monitor", params, &RECURRING)
}

/// IPaddr2 4.16 and 4.18 fixed `ip` commands that read a NIC named like one
/// of `ip`'s keywords as the keyword (and so looked at every interface,
/// including one that is down). This agent names interfaces by index.
#[test]
fn nics_named_like_ip_keywords_work_beside_an_interface_that_is_down() {
    let lab = Lab::new();
    lab.node.ip(&["link", "add", "spare", "type", "veth", "peer", "name", "sparep"]);
    lab.node.ip(&["addr", "add", "198.51.100.1/24", "dev", "spare"]);
    let mut current = "eth0".to_string();
    for name in ["primary", "secondary", "dynamic", "up", "dev", "label"] {
        lab.node.ip(&["link", "set", "dev", &current, "down"]);
        lab.node.ip(&["link", "set", "dev", &current, "name", name]);
        lab.node.ip(&["link", "set", "dev", name, "up"]);
        current = name.to_string();
        let params = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", name), ("iflabel", "vip")];
        let start = lab.agent("start", &params);
        assert_eq!(start.code, ocf::SUCCESS, "{name}: {start:?}");
        assert!(lab.node.addresses(name).contains(&format!("{name}:vip")), "{name}");
        assert_eq!(
            recurring_monitor(&lab, &params).code,
            ocf::SUCCESS,
            "{name}: the down interface is not it"
        );
        assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS, "{name}");
        assert!(!lab.node.has_address(name, "192.0.2.50/24"), "{name}");
        let without_nic = [("ip", "192.0.2.50")];
        assert_eq!(lab.agent("start", &without_nic).code, ocf::SUCCESS, "{name}: discovery");
        assert!(lab.node.has_address(name, "192.0.2.50/24"), "{name}");
        assert_eq!(lab.agent("stop", &without_nic).code, ocf::SUCCESS, "{name}");
    }
}

/// findif ignores unreachable, prohibit and blackhole routes since 4.16
/// (4.15's stricter route matching had tripped on them; 4.12 picks the
/// interface route too): they cover the address but lead to no interface.
#[test]
fn routes_that_deliver_nowhere_do_not_place_the_vip() {
    let lab = Lab::new();
    for (kind, dst) in
        [("blackhole", "192.0.2.0/25"), ("unreachable", "192.0.2.32/27"), ("prohibit", "192.0.2.48/29")]
    {
        lab.node.ip(&["route", "add", kind, dst]);
    }
    let params = [("ip", "192.0.2.50")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    assert!(lab.node.has_address("eth0", "192.0.2.50/24"), "{}", lab.node.addresses("eth0"));
    assert_eq!(recurring_monitor(&lab, &params).code, ocf::SUCCESS);
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    assert!(!lab.node.has_address("eth0", "192.0.2.50/24"));
    let probe = lab.agent("monitor", &params);
    assert_eq!(probe.code, ocf::NOT_RUNNING, "{probe:?}");
}

/// Since 4.16 IPaddr2's start fails when the address is there without the
/// label it should carry, rather than calling a half-configured VIP started.
#[test]
fn start_refuses_the_address_already_there_without_its_label() {
    let lab = Lab::new();
    lab.node.ip(&["addr", "add", "192.0.2.50/24", "dev", "eth0"]);
    let params = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("iflabel", "web")];
    let start = lab.agent("start", &params);
    assert_eq!(start.code, ocf::ERR_GENERIC, "{start:?}");
    assert!(start.reason().contains("without its label eth0:web"), "{start:?}");
    // IPaddr2 4.12 calls it started.
    let theirs = run_agent_at(&lab.node, &lab.rsctmp, Path::new(IPADDR2), "start", &params, &[]);
    assert_eq!(theirs.code, ocf::SUCCESS, "{theirs:?}");
}

/// check_link_status (4.17) is on by default, except on Red Hat family
/// releases before 10.1, as os-release says; meta-data shows the default
/// that applies, as IPaddr2's does.
#[test]
fn check_link_status_defaults_follow_the_distribution() {
    let releases = [
        ("ID=debian\nVERSION_ID=\"13\"\n", true),
        ("ID=\"rhel\"\nVERSION_ID=\"9.6\"\n", false),
        ("ID=\"almalinux\"\nVERSION_ID=\"10.0\"\n", false),
        ("ID=\"rhel\"\nVERSION_ID=\"10.1\"\n", true),
    ];
    for (release, checks) in releases {
        let lab = Lab::new();
        let _os = NamespaceFile::new(&lab.node, "os-release", release.as_bytes());
        let meta = lab.agent("meta-data", &[]);
        let shown = meta.stdout.split("<parameter name=\"check_link_status\"").nth(1).unwrap_or_default();
        let default = if checks { "default=\"true\"" } else { "default=\"false\"" };
        assert!(shown.split("</parameter>").next().unwrap_or_default().contains(default), "{release}");

        let params = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0")];
        assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS, "{release}");
        lab.node.ip(&["link", "set", "eth0", "down"]);
        let monitor = recurring_monitor(&lab, &params);
        let expected = if checks { ocf::ERR_GENERIC } else { ocf::SUCCESS };
        assert_eq!(monitor.code, expected, "{release}: {monitor:?}");
        // Set explicitly, the parameter wins over the distribution.
        let explicit =
            [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("check_link_status", "true")];
        assert_eq!(recurring_monitor(&lab, &explicit).code, ocf::ERR_GENERIC, "{release}");
        assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS, "{release}");
        assert!(!lab.node.has_address("eth0", "192.0.2.50/24"), "{release}: stop works on a down link");
    }
}

/// The `metric` parameter proposed for IPaddr2 (resource-agents pull
/// request 2210): the metric of the route to the VIP's subnet, both families.
#[test]
fn metric_sets_the_metric_of_the_vips_subnet_route() {
    let lab = Lab::new();
    let cases = [
        (
            [("ip", "198.51.100.5"), ("cidr_netmask", "24"), ("nic", "eth0"), ("metric", "50")],
            "198.51.100.0/24",
        ),
        (
            [("ip", "2001:db8:9::5"), ("cidr_netmask", "64"), ("nic", "eth0"), ("metric", "300")],
            "2001:db8:9::/64",
        ),
    ];
    for (params, subnet) in cases {
        let mut with_nodad = params.to_vec();
        with_nodad.push(("nodad", "true"));
        assert_eq!(lab.agent("start", &with_nodad).code, ocf::SUCCESS, "{subnet}");
        let family = if subnet.contains(':') { "-6" } else { "-4" };
        let routes = lab.node.ip(&[family, "route", "show", subnet]);
        assert!(routes.contains(&format!("metric {}", params[3].1)), "{subnet}: {routes}");
        assert_eq!(routes.lines().count(), 1, "{subnet}: one route: {routes}");
        assert_eq!(lab.agent("stop", &with_nodad).code, ocf::SUCCESS, "{subnet}");
        assert!(
            lab.node.ip(&[family, "route", "show", subnet]).trim().is_empty(),
            "{subnet}: gone with the VIP"
        );
    }
    let bad = lab.agent("validate-all", &[("ip", "198.51.100.5"), ("metric", "-1")]);
    assert_eq!(bad.code, ocf::ERR_CONFIGURED, "{bad:?}");
    assert!(bad.reason().contains("metric"), "{bad:?}");
}
