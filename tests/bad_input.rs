//! Bad input, one test per row: each gets the right OCF exit code and one
//! clear reason from both validate-all and start, and the namespace's
//! addresses, routes, links and labels are identical before and after.
//!
//! Exit codes are IPaddr2's, except where IPaddr2 is wrong or silent (it
//! fails a malformed address on start with OCF_ERR_INSTALLED): there we say
//! OCF_ERR_CONFIGURED. tests/differential compares every row with IPaddr2.

mod common;
use common::{Lab, ocf};

fn check(params: &[(&str, &str)], start_code: i32, validate_code: i32, reason_part: &str) {
    let lab = Lab::new();
    let before = lab.node.snapshot();
    for (action, expected) in [("validate-all", validate_code), ("start", start_code)] {
        let run = lab.agent(action, params);
        assert_eq!(run.code, expected, "{action} {params:?}: {run:#?}");
        let reason = run.reason();
        assert!(
            reason.to_lowercase().contains(&reason_part.to_lowercase()),
            "{action}: reason {reason:?} should mention {reason_part:?}"
        );
        assert!(!reason.contains('\n'));
        assert_eq!(lab.node.snapshot(), before, "{action} {params:?} changed the namespace");
    }
}

macro_rules! bad_input {
    ($($name:ident: $params:expr => start $start:expr, validate $validate:expr, $reason:expr;)*) => {
        $(#[test] fn $name() { check(&$params, $start, $validate, $reason); })*
    };
}

bad_input! {
    malformed_ip: [("ip", "192.0.2.999"), ("nic", "eth0")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "192.0.2.999";
    ip_with_shell_metacharacters: [("ip", "192.0.2.50;reboot"), ("nic", "eth0")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "not a valid";
    ip_with_command_substitution: [("ip", "$(touch /tmp/oi-pwned)"), ("nic", "eth0")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "not a valid";
    netmask_33: [("ip", "192.0.2.50"), ("cidr_netmask", "33")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "cidr_netmask [33]";
    netmask_minus_one: [("ip", "192.0.2.50"), ("cidr_netmask", "-1")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "cidr_netmask [-1]";
    netmask_abc: [("ip", "192.0.2.50"), ("cidr_netmask", "abc")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "cidr_netmask [abc]";
    ipv4_with_ipv6_sized_netmask: [("ip", "192.0.2.50"), ("cidr_netmask", "64")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "from 1 to 32";

    nic_that_does_not_exist: [("ip", "192.0.2.50"), ("nic", "eth9")] => start ocf::ERR_INSTALLED, validate ocf::ERR_CONFIGURED, "eth9 does not exist";
    nic_with_shell_metacharacters: [("ip", "192.0.2.50"), ("nic", "eth0;ls")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "invalid nic";
    iflabel_too_long: [("ip", "192.0.2.50"), ("nic", "eth0"), ("iflabel", "abcdefghijk")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "at most 15";
    iflabel_too_long_with_discovered_nic: [("ip", "192.0.2.50"), ("iflabel", "abcdefghijk")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "at most 15";
    iflabel_with_slash: [("ip", "192.0.2.50"), ("nic", "eth0"), ("iflabel", "a/b")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "invalid iflabel";
    iflabel_with_colons_too_long: [("ip", "192.0.2.50"), ("nic", "eth0"), ("iflabel", "a:b:c:d:e:f")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "at most 15";
    iflabel_with_space: [("ip", "192.0.2.50"), ("nic", "eth0"), ("iflabel", "a b")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "invalid iflabel";
    missing_ip: [("nic", "eth0"), ("cidr_netmask", "24")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "mandatory";
    arp_count_zero: [("ip", "192.0.2.50"), ("arp_count", "0")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "arp_count";
    unknown_arp_sender: [("ip", "192.0.2.50"), ("arp_sender", "magic")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "arp_sender";
    empty_preferred_lft_with_garbage: [("ip", "2001:db8::50"), ("preferred_lft", "soon")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "preferred_lft";
    lvs_support_for_ipv6: [("ip", "2001:db8::50"), ("lvs_support", "true")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "lvs_support";
    link_local_without_nic: [("ip", "fe80::50")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "mandatory for a link-local";
    multicast_address: [("ip", "224.0.0.5"), ("nic", "eth0")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "multicast";
    ping_list_with_shell_metacharacters: [("ip", "192.0.2.50"), ("ping_list", "192.0.2.1;reboot")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "ping_list";
    ping_list_of_the_other_family: [("ip", "192.0.2.50"), ("ping_list", "2001:db8::1")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "address family";
    ping_timeout_zero: [("ip", "192.0.2.50"), ("ping_timeout", "0")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "ping_timeout";
    ping_on_start_without_hosts: [("ip", "192.0.2.50"), ("ping_on_start", "true")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "ping_on_start";
    broadcast_ping_on_a_host_route: [("ip", "192.0.2.50"), ("cidr_netmask", "32"), ("nic", "eth0"), ("ping_broadcast", "1"), ("ping_on_start", "1")] => start ocf::ERR_CONFIGURED, validate ocf::ERR_CONFIGURED, "no broadcast address";
}

#[test]
fn bad_input_never_stops_a_stop() {
    let lab = Lab::new();
    let run = lab.agent("stop", &[("ip", "192.0.2.999")]);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    let run = lab.agent("stop", &[("ip", "192.0.2.50"), ("nic", "eth9")]);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
}

#[test]
fn a_typo_in_an_announcement_parameter_does_not_block_releasing_the_vip() {
    let lab = Lab::new();
    let good = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0")];
    assert_eq!(lab.agent("start", &good).code, ocf::SUCCESS);
    let typo = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("arp_count", "five")];
    let run = lab.agent("stop", &typo);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert!(!lab.node.has_address("eth0", "192.0.2.50/24"));
}

#[test]
fn nothing_was_executed_by_hostile_values() {
    let lab = Lab::new();
    let marker = lab.rsctmp.join("pwned");
    let payload = format!("$(touch {})", marker.display());
    for name in ["ip", "nic", "iflabel", "broadcast", "send_arp_opts", "network_namespace"] {
        let mut params = vec![("ip", "192.0.2.50"), ("nic", "eth0")];
        params.retain(|(k, _)| *k != name);
        params.push((name, payload.as_str()));
        lab.agent("validate-all", &params);
        lab.agent("start", &params);
        lab.agent("stop", &params);
    }
    assert!(!marker.exists());
}

/// OCF 1.1: validate-all at OCF_CHECK_LEVEL 0 checks the configuration
/// alone, so what this node lacks (a nic, a host name in /etc/hosts) does
/// not fail it; what is wrong everywhere still does, and changes nothing.
#[test]
fn validate_all_at_level_0_checks_the_configuration_alone() {
    let lab = Lab::new();
    let level = |n: &'static str| [("OCF_CHECK_LEVEL", n)];
    let validate =
        |params: &[(&str, &str)], env: &[(&str, &str)]| lab.agent_env(&lab.node, "validate-all", params, env);
    let before = lab.node.snapshot();
    let elsewhere = [("ip", "192.0.2.50"), ("nic", "eth9")];
    assert_eq!(validate(&elsewhere, &level("0")).code, ocf::SUCCESS, "a nic of another node");
    assert_eq!(validate(&elsewhere, &level("10")).code, ocf::ERR_CONFIGURED, "level 10 checks this node");
    assert_eq!(validate(&elsewhere, &[]).code, ocf::ERR_CONFIGURED, "unset: as IPaddr2 is called");
    let named = [("ip", "vip-on-another-node"), ("cidr_netmask", "24")];
    assert_eq!(validate(&named, &level("0")).code, ocf::SUCCESS, "a name this node's /etc/hosts lacks");
    for wrong in [
        vec![("ip", "192.0.2.50"), ("cidr_netmask", "33")],
        vec![("ip", "vip-on-another-node"), ("cidr_netmask", "200")],
        vec![("ip", "192.0.2.999")],
        vec![("ip", "192.0.2.50"), ("nic", "eth0;ls")],
        vec![("cidr_netmask", "24")],
    ] {
        let run = validate(&wrong, &level("0"));
        assert_eq!(run.code, ocf::ERR_CONFIGURED, "{wrong:?}: {run:?}");
        assert_eq!(run.reasons().len(), 1, "{run:?}");
    }
    assert_eq!(lab.node.snapshot(), before, "validate-all changes nothing");
}
