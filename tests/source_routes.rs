//! `preferred_source`: while the VIP runs, the routes onto its subnet carry
//! it as their source; stop restores every route byte for byte, also when
//! the VIP was removed behind the agent's back (which takes those routes
//! with it).

mod common;
use common::{Lab, ocf};

fn all_routes(lab: &Lab) -> String {
    let v4 = lab.node.ip(&["-d", "route", "show", "table", "all"]);
    let v6 = lab.node.ip(&["-6", "-d", "route", "show", "table", "all"]);
    format!("{v4}{v6}")
}

fn source_towards(lab: &Lab, client: &str) -> String {
    let out = lab.node.ip(&["route", "get", client]);
    let mut words = out.split_whitespace();
    words.find(|w| *w == "src");
    words.next().unwrap_or_default().to_string()
}

fn round_trip(params: &[(&str, &str)], vip: &str, client: &str, subnet: &str) {
    let lab = Lab::new();
    let before = all_routes(&lab);
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
    assert_eq!(all_routes(&lab), before, "stop restores every route exactly");
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
    let before = all_routes(&lab);
    let params = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("preferred_source", "true")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    let changed = lab.node.ip(&["route", "show", "192.0.2.128/25"]);
    assert!(changed.contains("src 192.0.2.50"), "{changed}");
    lab.node.ip(&["addr", "del", "192.0.2.50/24", "dev", "eth0"]);
    assert!(!lab.node.ip(&["route", "show"]).contains("192.0.2.0/24"), "the kernel took the route along");
    let monitor = lab.agent_env(&lab.node, "monitor", &params, &[("OCF_RESKEY_CRM_meta_interval", "10000")]);
    assert_eq!(monitor.code, ocf::NOT_RUNNING);
    let stop = lab.agent("stop", &params);
    assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
    assert_eq!(all_routes(&lab), before);
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
