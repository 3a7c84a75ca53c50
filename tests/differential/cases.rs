//! The generated cases: every IPaddr2 parameter alone and in combination,
//! IPv4 and IPv6, with and without nic and cidr_netmask so discovery runs,
//! legal edge values and hostile ones, what the node holds before start,
//! and changes to the node between start and monitor.
//!
//! A case's name says what it is, `FAMILY/PLACEMENT/what`, and is what
//! the table of intended differences matches.

use crate::world::{Change, Setup};

#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub v4: bool,
    pub params: Vec<(&'static str, String)>,
    pub setup: Option<Setup>,
    pub change: Option<Change>,
    /// Meta attributes Pacemaker passes to every action (a clone's).
    pub meta: Settings,
}

/// Parameter settings, as (name, value) pairs.
type Settings = &'static [(&'static str, &'static str)];

/// Where the VIP is told to go: which of nic and cidr_netmask are given,
/// as (name, IPv4 settings, IPv6 settings).
const PLACEMENTS: [(&str, Settings, Settings); 9] = [
    ("nic+cidr", &[("nic", "eth0"), ("cidr_netmask", "24")], &[("nic", "eth0"), ("cidr_netmask", "64")]),
    ("nic", &[("nic", "eth0")], &[("nic", "eth0")]),
    ("cidr", &[("cidr_netmask", "24")], &[("cidr_netmask", "64")]),
    ("none", &[], &[]),
    ("eth1+cidr", &[("nic", "eth1"), ("cidr_netmask", "24")], &[("nic", "eth1"), ("cidr_netmask", "64")]),
    ("eth1", &[("nic", "eth1")], &[("nic", "eth1")]),
    ("eth9", &[("nic", "eth9")], &[("nic", "eth9")]),
    ("narrower", &[("cidr_netmask", "28")], &[("cidr_netmask", "80")]),
    ("wider", &[("cidr_netmask", "16")], &[("cidr_netmask", "48")]),
];

/// Single parameters with legal, edge and hostile values: (name, IPv4 values, IPv6 values).
const SINGLES: &[(&str, &[&str], &[&str])] = &[
    ("broadcast", &["+", "-", "192.0.2.200", "192.0.2.999", "$(reboot)"], &["ff02::1"]),
    ("iflabel", &["web", "abcdefghij", "abcdefghijk", "a b", "x;y", "a:b"], &["web"]),
    (
        "cidr_netmask",
        &["32", "31", "1", "255.255.255.0", "255.0.255.0", "0", "33", "x"],
        &["128", "127", "129", "x"],
    ),
    ("netmask", &["24"], &["64"]),
    ("lvs_support", &["true", "false", "maybe"], &["true"]),
    ("lvs_ipv6_addrlabel", &["true", "false"], &["true", "false"]),
    ("lvs_ipv6_addrlabel_value", &["100"], &["100", "0", "x", "-1"]),
    ("mac", &["01:00:5e:00:00:01", "junk"], &["33:33:00:00:00:01"]),
    ("clusterip_hash", &["sourceip", "bogus"], &["sourceip"]),
    ("unique_clone_address", &["true"], &["true"]),
    ("arp_interval", &["1", "0", "x"], &["1", "0"]),
    ("arp_count", &["1", "0", "x", "99999999999999999999"], &["1", "0"]),
    ("arp_count_refresh", &["1"], &["1"]),
    ("arp_bg", &["true", "false", "maybe"], &["true", "false"]),
    ("arp_sender", &["send_arp", "iputils_arping", "libnet_arping", "ipoibarping", "magic"], &["send_arp"]),
    ("send_arp_opts", &["-A", "-c 2", "-x 1"], &["-A"]),
    ("flush_routes", &["true"], &["true"]),
    ("run_arping", &["true"], &["true"]),
    ("nodad", &["true"], &["true", "false"]),
    ("noprefixroute", &["true"], &["true"]),
    ("preferred_lft", &["0"], &["0", "forever", "100", "0x10", "x", "4294967295"]),
    ("network_namespace", &["@inner", "nosuchns"], &["@inner"]),
    (
        "ip",
        &[" 192.0.2.50 ", "192.0.2.050", "192.0.2.50/24", "192.0.2.50;reboot"],
        &["2001:DB8::0050", "2001:db8::50/64"],
    ),
];

/// Parameters whose effects can meet; every pair of them is a case.
const COMBINED_V4: &[(&str, &str)] = &[
    ("iflabel", "web"),
    ("broadcast", "+"),
    ("noprefixroute", "true"),
    ("flush_routes", "true"),
    ("lvs_support", "true"),
    ("arp_bg", "false"),
    ("nodad", "true"),
];
const COMBINED_V6: &[(&str, &str)] = &[
    ("nodad", "true"),
    ("noprefixroute", "true"),
    ("preferred_lft", "0"),
    ("lvs_ipv6_addrlabel", "false"),
    ("lvs_ipv6_addrlabel_value", "100"),
    ("flush_routes", "true"),
];

const UNIQUE_CLONE_INSTANCE: Settings = &[
    ("OCF_RESKEY_CRM_meta_clone", "1"),
    ("OCF_RESKEY_CRM_meta_clone_max", "2"),
    ("OCF_RESKEY_CRM_meta_globally_unique", "true"),
];

fn vip(v4: bool) -> &'static str {
    if v4 { "192.0.2.50" } else { "2001:db8::50" }
}

fn family(v4: bool) -> &'static str {
    if v4 { "v4" } else { "v6" }
}

fn case(v4: bool, placement: usize, what: &str, extra: &[(&'static str, String)]) -> Case {
    let (name, for_v4, for_v6) = PLACEMENTS[placement];
    let mut params: Vec<(&'static str, String)> = vec![("ip", vip(v4).to_string())];
    params.extend((if v4 { for_v4 } else { for_v6 }).iter().map(|(k, v)| (*k, v.to_string())));
    for (key, value) in extra {
        params.retain(|(k, _)| k != key);
        params.push((key, value.clone()));
    }
    Case { name: format!("{}/{name}/{what}", family(v4)), v4, params, setup: None, change: None, meta: &[] }
}

pub fn all() -> Vec<Case> {
    let mut cases = Vec::new();
    for v4 in [true, false] {
        for placement in 0..PLACEMENTS.len() {
            cases.push(case(v4, placement, "plain", &[]));
        }
        for (name, v4_values, v6_values) in SINGLES {
            for value in if v4 { *v4_values } else { *v6_values } {
                let mut one = case(v4, 0, &format!("{name}={value}"), &[(name, value.to_string())]);
                if *name == "cidr_netmask" || *name == "netmask" {
                    one.params.retain(|(k, _)| *k != "cidr_netmask" || *name == "cidr_netmask");
                }
                cases.push(one);
            }
        }
        let combined = if v4 { COMBINED_V4 } else { COMBINED_V6 };
        for (i, (a, x)) in combined.iter().enumerate() {
            for (b, y) in &combined[i + 1..] {
                let extra = [(*a, x.to_string()), (*b, y.to_string())];
                cases.push(case(v4, 0, &format!("{a}={x}+{b}={y}"), &extra));
            }
        }
        // The node label form, and IPaddr2 settings that meet discovery.
        cases.push(case(v4, 1, "nic=eth0:web", &[("nic", "eth0:web".into())]));
        cases.push(case(v4, 1, "nic=eth0:", &[("nic", "eth0:".into())]));
        cases.push(case(v4, 1, "nic=eth0:a:b", &[("nic", "eth0:a:b".into())]));
        if !v4 {
            // Service subnets carved from the link's /64, placed without nic.
            for prefix in ["96", "120"] {
                cases.push(case(
                    v4,
                    2,
                    &format!("cidr_netmask={prefix}"),
                    &[("cidr_netmask", prefix.into())],
                ));
            }
        }
        cases.push(case(v4, 3, "iflabel=web", &[("iflabel", "web".into())]));
        cases.push(case(v4, 3, "broadcast=+", &[("broadcast", "+".into())]));
        let offnet = if v4 { "203.0.113.7" } else { "2001:db8:5::7" };
        cases.push(case(v4, 3, "offnet", &[("ip", offnet.into())]));
        cases.push(case(v4, 0, "offnet", &[("ip", offnet.into())]));
        let setups = [
            ("lo-copy", Setup::CopyOnLo),
            ("real-server-lo-copy", Setup::RealServerCopyOnLo),
            ("already-there", Setup::AlreadyThere),
            ("other-prefix", Setup::OtherPrefix),
            ("on-eth1", Setup::OnEth1),
        ];
        for (placement, (what, setup)) in [0, 3].into_iter().flat_map(|p| setups.map(|s| (p, s))) {
            cases.push(Case { setup: Some(setup), ..case(v4, placement, what, &[]) });
        }
        if v4 {
            for placement in [0, 3] {
                cases.push(Case {
                    setup: Some(Setup::HandLabelled),
                    ..case(v4, placement, "hand-labelled", &[])
                });
            }
            // Instance 1 of a globally unique clone, each instance with its
            // own address (IPaddr2 adds the number to the last octet only).
            for placement in [0, 3] {
                cases.push(Case {
                    meta: UNIQUE_CLONE_INSTANCE,
                    ..case(v4, placement, "unique_clone_address", &[("unique_clone_address", "true".into())])
                });
            }
            cases.push(Case {
                setup: Some(Setup::CopyOnLo),
                ..case(v4, 0, "lo-copy+lvs_support=true", &[("lvs_support", "true".into())])
            });
        } else {
            let route = [("ip", "2001:db8:77::5".to_string()), ("nodad", "true".into())];
            cases.push(Case { setup: Some(Setup::AdminRoute), ..case(v4, 3, "admin-route", &route) });
        }
        let changes = [
            ("link-down", Change::LinkDown),
            ("carrier-lost", Change::CarrierLost),
            ("routes-removed", Change::RoutesRemoved),
            ("address-moved", Change::AddressMoved),
        ];
        for (placement, (what, change)) in [0, 3].into_iter().flat_map(|p| changes.map(|c| (p, c))) {
            cases.push(Case { change: Some(change), ..case(v4, placement, what, &[]) });
        }
    }
    cases
}
