//! The hostile-input corpus: every parameter receives shell metacharacters,
//! quotes, newlines, unicode, 64 KiB values, overflowing numbers, padded
//! values and empty strings; addresses that can never be a VIP and odd NIC
//! choices come on top. One row per case, each with the exit code and
//! reason validate-all must give, and the node's namespace must be identical
//! before and after (start is run too where the row must be refused).

mod common;
use common::{Lab, ocf};

/// The hostile values, by kind.
fn values() -> Vec<(&'static str, String)> {
    vec![
        ("metacharacters", "$(touch /tmp/oi-pwned);`id`|&>x".to_string()),
        ("quotes", "'\"".to_string()),
        ("newline", "24\nERROR: forged".to_string()),
        ("unicode", "é✓٣".to_string()),
        ("64 KiB", "9".repeat(65536)),
        ("overflow", "99999999999999999999999".to_string()),
        ("padded", " 24 ".to_string()),
        ("empty", String::new()),
    ]
}

/// How a parameter reacts to values it cannot use.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Class {
    /// Refused: OCF_ERR_CONFIGURED, reason contains the fragment.
    Strict(&'static str),
    /// A boolean: anything unknown counts as false, with a warning.
    Boolean,
    /// Free text outside the mode that uses it (cluster IP) or options
    /// that are only warned about: accepted.
    Accepted,
}

/// Every parameter with its class (IPv4 VIP, no clone, so cluster-IP
/// settings and IPv6-only integers are not consulted).
const PARAMS: &[(&str, Class)] = &[
    ("ip", Class::Strict("IP address")),
    ("nic", Class::Strict("nic")),
    ("cidr_netmask", Class::Strict("cidr_netmask")),
    ("netmask", Class::Strict("cidr_netmask")),
    ("broadcast", Class::Strict("broadcast")),
    ("proto", Class::Strict("proto")),
    ("iflabel", Class::Strict("label")),
    ("lvs_support", Class::Boolean),
    ("lvs_ipv6_addrlabel", Class::Boolean),
    ("lvs_ipv6_addrlabel_value", Class::Accepted),
    ("mac", Class::Accepted),
    ("clusterip_hash", Class::Accepted),
    ("clusterip_firewall", Class::Accepted),
    ("clusterip_hash_seed", Class::Accepted),
    ("clusterip_table", Class::Accepted),
    ("clusterip_chain", Class::Accepted),
    ("clusterip_mac_mangle", Class::Accepted),
    ("unique_clone_address", Class::Boolean),
    ("arp_interval", Class::Strict("arp_interval")),
    ("arp_count", Class::Strict("arp_count")),
    ("arp_count_refresh", Class::Strict("arp_count_refresh")),
    ("arp_bg", Class::Boolean),
    ("arp_sender", Class::Strict("arp_sender")),
    ("send_arp_opts", Class::Accepted),
    ("arp_mode", Class::Strict("arp_mode")),
    ("arp_target", Class::Strict("arp_target")),
    ("announce_rate_limit", Class::Strict("announce_rate_limit")),
    ("probe_count", Class::Strict("probe_count")),
    ("probe_interval", Class::Strict("probe_interval")),
    ("probe_wait", Class::Strict("probe_wait")),
    ("probe_rfc5227", Class::Boolean),
    ("flush_routes", Class::Boolean),
    ("kill_connections_on_stop", Class::Boolean),
    ("repair_removed", Class::Boolean),
    ("run_arping", Class::Boolean),
    ("nodad", Class::Boolean),
    ("noprefixroute", Class::Boolean),
    ("preferred_lft", Class::Strict("preferred_lft")),
    ("metric", Class::Strict("metric")),
    ("network_namespace", Class::Strict("network")),
    ("check_link_status", Class::Boolean),
    ("require_maintenance_address", Class::Boolean),
    ("ping_list", Class::Strict("ping_list")),
    ("ping_broadcast", Class::Boolean),
    ("ping_timeout", Class::Strict("ping_timeout")),
    ("ping_on_start", Class::Boolean),
    ("preferred_source", Class::Boolean),
    ("allow_missing_subnet", Class::Boolean),
    ("virtual_mac", Class::Strict("virtual_mac")),
    ("metrics_dir", Class::Strict("metrics_dir")),
];

/// The exit code and reason fragment validate-all must give for `value` in `param`.
fn expected(param: &str, class: Class, kind: &str) -> (i32, Option<&'static str>) {
    if kind == "empty" {
        // An empty value is no value: the default applies (for ip: none).
        return if param == "ip" { (ocf::ERR_CONFIGURED, Some("mandatory")) } else { (ocf::SUCCESS, None) };
    }
    match class {
        Class::Strict(fragment) => (ocf::ERR_CONFIGURED, Some(fragment)),
        Class::Boolean | Class::Accepted => (ocf::SUCCESS, None),
    }
}

#[test]
fn the_corpus_covers_every_documented_parameter() {
    let xml =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/ocf-metadata/IPaddr.xml")).unwrap();
    let options = roxmltree::ParsingOptions { allow_dtd: true, ..Default::default() };
    let doc = roxmltree::Document::parse_with_options(&xml, options).unwrap();
    let documented: Vec<&str> = doc
        .descendants()
        .filter(|n| n.has_tag_name("parameter"))
        .filter_map(|n| n.attribute("name"))
        .collect();
    let covered: Vec<&str> = PARAMS.iter().map(|(name, _)| *name).collect();
    assert_eq!(covered, documented, "add new parameters to the hostile corpus");
}

/// Runs `action`, failing the test with the row's name if it hangs.
fn bounded(lab: &Lab, action: &str, params: &[(&str, &str)], param: &str, kind: &str) -> common::Run {
    common::run_agent_bounded(&lab.node, &lab.rsctmp, action, params, &[], std::time::Duration::from_secs(30))
        .unwrap_or_else(|| panic!("{action} with {param} = {kind} hung for 30 s: {params:?}"))
}

/// How many labs share the corpus: its 400-odd rows are independent, and
/// one lab running them in turn nears nextest's limit on a loaded machine.
const LABS: usize = 4;

#[test]
fn every_parameter_withstands_every_hostile_value() {
    let rows: usize = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..LABS)
            .map(|n| scope.spawn(move || hostile_rows(PARAMS.iter().skip(n).step_by(LABS))))
            .collect();
        workers.into_iter().map(|w| w.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))).sum()
    });
    assert!(!std::path::Path::new("/tmp/oi-pwned").exists(), "a value was executed");
    println!("{rows} hostile-value rows");
}

/// Every hostile value in each of `params`, in a lab of their own.
fn hostile_rows<'a>(params: impl Iterator<Item = &'a (&'static str, Class)>) -> usize {
    let lab = Lab::new();
    let before = lab.node.snapshot();
    let mut rows = 0;
    for (param, class) in params {
        for (kind, value) in values() {
            let mut params: Vec<(&str, &str)> =
                vec![("ip", "192.0.2.50"), ("nic", "eth0"), ("cidr_netmask", "24")];
            params.retain(|(k, _)| k != param && !(*param == "netmask" && *k == "cidr_netmask"));
            params.push((param, value.as_str()));
            let (code, fragment) = expected(param, *class, kind);
            let run = bounded(&lab, "validate-all", &params, param, kind);
            assert_eq!(run.code, code, "{param} = {kind}: {run:#?}");
            if let Some(fragment) = fragment {
                let reason = run.reason();
                assert!(reason.contains(fragment), "{param} = {kind}: reason {reason:?} lacks {fragment:?}");
                assert!(reason.len() < 400, "{param} = {kind}: reason is not cut: {} bytes", reason.len());
                // A well-formed namespace name that does not exist is
                // missing on this node: start says so with OCF_ERR_INSTALLED.
                let missing_namespace =
                    *param == "network_namespace" && matches!(kind, "quotes" | "unicode" | "overflow");
                let start_code = if missing_namespace { ocf::ERR_INSTALLED } else { code };
                let start = bounded(&lab, "start", &params, param, kind);
                assert_eq!(start.code, start_code, "start {param} = {kind}: {start:#?}");
            }
            assert!(run.stderr.lines().all(|l| !l.starts_with("ERROR: forged")), "a value forged a log line");
            if *class == Class::Boolean {
                assert!(kind == "empty" || run.stderr.contains("not a boolean"), "{param} = {kind}: {run:?}");
            }
            assert_eq!(lab.node.snapshot(), before, "{param} = {kind} changed the namespace");
            rows += 1;
        }
    }
    rows
}

/// Addresses and NICs that can never work, with what IPaddr2 (Debian 12,
/// resource-agents 4.12) answers to validate-all for the same row.
const SPECIAL: &[(&str, &str, &str, i32, &str, &str)] = &[
    // ip, nic, cidr_netmask, our exit code, reason fragment, IPaddr2's answer
    ("0.0.0.0", "", "", ocf::ERR_CONFIGURED, "this network", "6, [findif] failed"),
    ("255.255.255.255", "", "", ocf::ERR_CONFIGURED, "limited broadcast", "1, [findif] failed"),
    ("224.0.0.1", "", "", ocf::ERR_CONFIGURED, "multicast", "1, [findif] failed"),
    ("240.0.0.1", "", "", ocf::ERR_CONFIGURED, "reserved", "1, [findif] failed"),
    ("::", "", "", ocf::ERR_CONFIGURED, "unspecified", "1, [findif] failed"),
    ("ff02::1", "eth0", "64", ocf::ERR_CONFIGURED, "multicast", "not checked"),
    ("::ffff:192.0.2.5", "", "", ocf::ERR_CONFIGURED, "IPv4-mapped", "6, [findif] failed"),
    ("fe80::5", "", "", ocf::ERR_CONFIGURED, "link-local", "6, [findif] failed"),
    ("127.0.0.5", "eth0", "", ocf::ERR_CONFIGURED, "loopback", "0 (accepted)"),
    ("127.0.0.5", "lo", "", ocf::SUCCESS, "", "0"),
    ("192.0.2.55", "lo", "32", ocf::SUCCESS, "", "0"),
    ("192.0.2.55", "lo", "", ocf::ERR_GENERIC, "no route on nic lo", "1, [findif] failed"),
    ("203.0.113.9", "", "", ocf::ERR_GENERIC, "unable to find nic or netmask", "1, [findif] failed"),
];

#[test]
fn addresses_that_can_never_be_a_vip_are_refused() {
    let lab = Lab::new();
    let before = lab.node.snapshot();
    for (ip, nic, netmask, code, fragment, ipaddr2) in SPECIAL {
        let mut params = vec![("ip", *ip)];
        if !nic.is_empty() {
            params.push(("nic", *nic));
        }
        if !netmask.is_empty() {
            params.push(("cidr_netmask", *netmask));
        }
        let run = lab.agent("validate-all", &params);
        assert_eq!(run.code, *code, "{params:?}: {run:#?}");
        if *code != ocf::SUCCESS {
            assert!(run.reason().contains(fragment), "{params:?}: {:?}", run.reason());
            assert_ne!(lab.agent("start", &params).code, ocf::SUCCESS, "{params:?} started");
        }
        println!("{ip} nic={nic} cidr_netmask={netmask}: ours {code}, IPaddr2 {ipaddr2}");
        assert_eq!(lab.node.snapshot(), before, "{params:?} changed the namespace");
    }
}

#[test]
fn unknown_parameters_are_reported_and_ignored() {
    let lab = Lab::new();
    let run = lab.agent("validate-all", &[("ip", "192.0.2.50"), ("nci", "eth0"), ("cidr_netmask", "24")]);
    assert_eq!(run.code, ocf::SUCCESS);
    assert!(run.stderr.contains("unknown parameter nci"), "{run:?}");
}
