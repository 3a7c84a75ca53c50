//! `preferred_source`: while the VIP runs, the routes onto its subnet carry
//! it as their source; stop restores every route byte for byte, also when
//! the VIP was removed behind the agent's back (which takes those routes
//! with it).

mod common;
use common::{Lab, ocf};

fn source_towards(lab: &Lab, client: &str) -> String {
    let out = lab.node.ip(&["route", "get", client]);
    let mut words = out.split_whitespace();
    words.find(|w| *w == "src");
    words.next().unwrap_or_default().to_string()
}

fn round_trip(params: &[(&str, &str)], vip: &str, client: &str, subnet: &str) {
    let lab = Lab::new();
    let before = lab.node.routes_in_detail();
    assert_eq!(source_towards(&lab, client), if vip.contains(':') { "2001:db8::1" } else { "192.0.2.1" });
    let start = lab.agent("start", params);
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    assert_eq!(source_towards(&lab, client), vip, "traffic onto the subnet leaves from the VIP");
    let family = if vip.contains(':') { "-6" } else { "-4" };
    let route = lab.node.ip(&[family, "route", "show", subnet]);
    assert!(route.contains(&format!("src {vip}")), "{route}");
    assert_eq!(lab.agent("monitor", params).code, ocf::SUCCESS);
    let stop = lab.agent("stop", params);
    assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
    assert_eq!(lab.node.routes_in_detail(), before, "stop restores every route exactly");
    assert_ne!(source_towards(&lab, client), vip);
}

#[test]
fn ipv4_subnet_routes_use_the_vip_and_are_restored_exactly() {
    let params = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("preferred_source", "true")];
    round_trip(&params, "192.0.2.50", "192.0.2.100", "192.0.2.0/24");
}

#[test]
fn ipv6_subnet_routes_use_the_vip_and_are_restored_exactly() {
    let params =
        [("ip", "2001:db8::50"), ("cidr_netmask", "64"), ("nodad", "true"), ("preferred_source", "true")];
    round_trip(&params, "2001:db8::50", "2001:db8::100", "2001:db8::/64");
}

#[test]
fn routes_taken_away_with_a_removed_vip_come_back_on_stop() {
    let lab = Lab::new();
    // A second route onto the subnet, with its own metric and protocol.
    lab.node.ip(&["route", "add", "192.0.2.128/25", "dev", "eth0", "metric", "7", "proto", "static"]);
    let before = lab.node.routes_in_detail();
    // Without the watcher, which would put the VIP back (tests/self_healing.rs).
    let params = [
        ("ip", "192.0.2.50"),
        ("cidr_netmask", "24"),
        ("preferred_source", "true"),
        ("repair_removed", "false"),
    ];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    let changed = lab.node.ip(&["route", "show", "192.0.2.128/25"]);
    assert!(changed.contains("src 192.0.2.50"), "{changed}");
    lab.node.ip(&["addr", "del", "192.0.2.50/24", "dev", "eth0"]);
    assert!(!lab.node.ip(&["route", "show"]).contains("192.0.2.0/24"), "the kernel took the route along");
    let monitor = lab.agent_env(&lab.node, "monitor", &params, &[("OCF_RESKEY_CRM_meta_interval", "10000")]);
    assert_eq!(monitor.code, ocf::NOT_RUNNING);
    let stop = lab.agent("stop", &params);
    assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
    assert_eq!(lab.node.routes_in_detail(), before);
}

#[test]
fn a_route_changed_by_someone_else_is_left_alone() {
    let lab = Lab::new();
    let params = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("preferred_source", "true")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    lab.node.ip(&["addr", "add", "192.0.2.60/24", "dev", "eth0"]);
    lab.node.ip(&[
        "route",
        "replace",
        "192.0.2.0/24",
        "dev",
        "eth0",
        "proto",
        "kernel",
        "scope",
        "link",
        "src",
        "192.0.2.60",
    ]);
    let stop = lab.agent("stop", &params);
    assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
    let route = lab.node.ip(&["route", "show", "192.0.2.0/24"]);
    assert!(route.contains("src 192.0.2.60"), "{route}");
    assert!(!lab.node.has_address("eth0", "192.0.2.50/24"));
}

fn subnet_route(lab: &Lab) -> String {
    lab.node.ip(&["route", "show", "192.0.2.0/24"])
}

#[test]
fn an_admins_later_change_of_metric_or_nic_is_left_alone() {
    let lab = Lab::new();
    lab.add_eth1();
    let params =
        [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("preferred_source", "true")];
    for (change, dev, metric) in [("a new metric", "eth0", "50"), ("another NIC", "eth1", "0")] {
        assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS, "{change}");
        lab.node.ip(&["route", "del", "192.0.2.0/24", "dev", "eth0"]);
        let args = [
            "route",
            "add",
            "192.0.2.0/24",
            "dev",
            dev,
            "metric",
            metric,
            "proto",
            "static",
            "src",
            "192.0.2.1",
        ];
        lab.node.ip(&args);
        let changed = lab.node.routes_in_detail();
        let stop = lab.agent("stop", &params);
        assert_eq!(stop.code, ocf::SUCCESS, "{change}: {stop:#?}");
        let after = lab.node.routes_in_detail();
        assert!(!after.contains("192.0.2.50"), "{change}: {after}");
        let vips_own: Vec<&str> = changed.lines().filter(|l| l.contains("192.0.2.50")).collect();
        let expected: Vec<&str> = changed.lines().filter(|l| !vips_own.contains(l)).collect();
        assert_eq!(after.lines().collect::<Vec<_>>(), expected, "{change}: stop undid the admin's route");
        lab.node.ip(&["route", "del", "192.0.2.0/24", "dev", dev]);
        lab.node.ip(&[
            "route",
            "add",
            "192.0.2.0/24",
            "dev",
            "eth0",
            "proto",
            "kernel",
            "scope",
            "link",
            "src",
            "192.0.2.1",
        ]);
    }
}

#[test]
fn two_vips_of_one_subnet_restore_the_original_source_in_any_order() {
    let a = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("preferred_source", "true")];
    let b = [("ip", "192.0.2.51"), ("cidr_netmask", "24"), ("nic", "eth0"), ("preferred_source", "true")];
    for (first, second) in [(&a, &b), (&b, &a)] {
        let lab = Lab::new();
        let before = lab.node.routes_in_detail();
        assert_eq!(lab.agent("start", &a).code, ocf::SUCCESS);
        assert_eq!(lab.agent("start", &b).code, ocf::SUCCESS);
        assert!(subnet_route(&lab).contains("src 192.0.2.51"), "the later VIP is the source");
        assert_eq!(lab.agent("monitor", &a).code, ocf::SUCCESS, "a VIP that handed on its route runs");
        let stop = lab.agent("stop", first);
        assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
        let source = if first[0].1 == "192.0.2.51" { "src 192.0.2.50" } else { "src 192.0.2.51" };
        assert!(subnet_route(&lab).contains(source), "the other VIP keeps the route: {}", subnet_route(&lab));
        assert_eq!(lab.agent("monitor", second).code, ocf::SUCCESS);
        assert_eq!(lab.agent("stop", second).code, ocf::SUCCESS);
        assert_eq!(
            lab.node.routes_in_detail(),
            before,
            "stopping {} first did not restore the original",
            first[0].1
        );
    }
}

#[test]
fn a_start_after_a_killed_start_applies_the_source_and_monitor_reports_it_missing() {
    let lab = Lab::new();
    let params =
        [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("preferred_source", "true")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    // What a start killed between saving the routes and changing them leaves.
    lab.node.ip(&[
        "route",
        "replace",
        "192.0.2.0/24",
        "dev",
        "eth0",
        "proto",
        "kernel",
        "scope",
        "link",
        "src",
        "192.0.2.1",
    ]);
    let monitor = lab.agent("monitor", &params);
    assert_eq!(monitor.code, ocf::ERR_GENERIC, "{monitor:#?}");
    assert!(monitor.reason().contains("preferred_source"), "{monitor:#?}");
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    assert!(subnet_route(&lab).contains("src 192.0.2.50"), "{}", subnet_route(&lab));
    assert_eq!(lab.agent("monitor", &params).code, ocf::SUCCESS);
}

#[test]
fn recover_after_a_delete_puts_the_subnet_route_back_and_stop_restores_it() {
    let lab = Lab::new();
    let params = [
        ("ip", "192.0.2.50"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("preferred_source", "true"),
        ("repair_removed", "false"),
    ];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    // The kernel takes the route whose source goes with the VIP; the re-add
    // is a secondary of the node's subnet, which brings no route of its own.
    lab.node.ip(&["addr", "del", "192.0.2.50/24", "dev", "eth0"]);
    assert_eq!(subnet_route(&lab), "", "the kernel took the route with the VIP");
    let recover = lab.agent("recover", &params);
    assert_eq!(recover.code, ocf::SUCCESS, "{recover:#?}");
    assert!(subnet_route(&lab).contains("src 192.0.2.50"), "{}", subnet_route(&lab));
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    assert!(subnet_route(&lab).contains("src 192.0.2.1"), "{}", subnet_route(&lab));
}
