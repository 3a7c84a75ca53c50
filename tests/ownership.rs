//! A resource is its instance, not its address: two resources may hold one
//! address on two interfaces (one gateway address on several VLANs), and
//! each starts, probes, monitors and stops on its own, as with IPaddr2.

mod common;
use common::ipaddr2::IPADDR2;
use common::{Lab, Run, ocf, previous_release_path, run_agent_at};
use std::path::{Path, PathBuf};

const RECURRING: (&str, &str) = ("OCF_RESKEY_CRM_meta_interval", "10000");

/// A node with two more interfaces, each on a segment of its own (what two
/// VLAN interfaces are to the node; this kernel has no VLAN links).
fn two_vlans() -> Lab {
    let lab = Lab::new();
    for vlan in ["vlan10", "vlan20"] {
        lab.node.ip(&["link", "add", vlan, "type", "veth", "peer", "name", vlan, "netns", &lab.client.name]);
        lab.node.ip(&["link", "set", vlan, "up"]);
        lab.client.ip(&["link", "set", vlan, "up"]);
    }
    lab
}

/// One resource of the shared address: its name and its NIC.
struct Resource<'a> {
    name: &'a str,
    nic: &'a str,
}

/// Runs `action` of `resource` with `agent`, as Pacemaker names it.
fn act(
    lab: &Lab,
    agent: &Path,
    resource: &Resource,
    ip: &str,
    prefix: &str,
    action: &str,
    recurring: bool,
) -> Run {
    let params = [("ip", ip), ("cidr_netmask", prefix), ("nic", resource.nic), ("nodad", "true")];
    let mut env = vec![("OCF_RESOURCE_INSTANCE", resource.name)];
    if recurring {
        env.push(RECURRING);
    }
    run_agent_at(&lab.node, &lab.rsctmp, agent, action, &params, &env)
}

/// The steps of two resources sharing `ip`, with the exit code each step
/// gives and the NICs that hold the address after it; returns the exit
/// codes so that two agents can be compared.
fn share_one_address(agent: &Path, ip: &str, prefix: &str) -> Vec<i32> {
    let lab = two_vlans();
    let (a, b) =
        (Resource { name: "gw-vlan10", nic: "vlan10" }, Resource { name: "gw-vlan20", nic: "vlan20" });
    let cidr = format!("{ip}/{prefix}");
    let holders = || -> Vec<&str> {
        ["vlan10", "vlan20"].into_iter().filter(|nic| lab.node.has_address(nic, &cidr)).collect()
    };
    let steps: [(&Resource, &str, bool, i32, &[&str]); 9] = [
        (&a, "start", false, ocf::SUCCESS, &["vlan10"]),
        (&b, "monitor", false, ocf::NOT_RUNNING, &["vlan10"]),
        (&b, "start", false, ocf::SUCCESS, &["vlan10", "vlan20"]),
        (&a, "monitor", true, ocf::SUCCESS, &["vlan10", "vlan20"]),
        (&b, "monitor", true, ocf::SUCCESS, &["vlan10", "vlan20"]),
        (&b, "stop", false, ocf::SUCCESS, &["vlan10"]),
        (&b, "monitor", false, ocf::NOT_RUNNING, &["vlan10"]),
        (&a, "monitor", true, ocf::SUCCESS, &["vlan10"]),
        (&a, "stop", false, ocf::SUCCESS, &[]),
    ];
    let mut codes = Vec::new();
    for (resource, action, recurring, expected, held) in steps {
        let run = act(&lab, agent, resource, ip, prefix, action, recurring);
        let step = format!("{} {action} of {} with {}", resource.name, cidr, agent.display());
        assert_eq!(run.code, expected, "{step}: {run:#?}\n{}", lab.node.snapshot());
        assert_eq!(holders(), held, "after {step}: {run:#?}");
        codes.push(run.code);
    }
    codes
}

fn ours() -> PathBuf {
    common::agent_path()
}

#[test]
fn one_ipv6_gateway_address_on_two_vlans_is_two_independent_resources_as_with_ipaddr2() {
    let codes = share_one_address(&ours(), "2001:db8:aa::1", "64");
    assert_eq!(codes, share_one_address(Path::new(IPADDR2), "2001:db8:aa::1", "64"));
}

#[test]
fn one_ipv4_address_on_two_nics_is_two_independent_resources_as_with_ipaddr2() {
    let codes = share_one_address(&ours(), "198.51.100.1", "24");
    assert_eq!(codes, share_one_address(Path::new(IPADDR2), "198.51.100.1", "24"));
}

#[test]
fn a_copy_on_another_nic_that_no_resource_added_is_still_reported_never_deleted() {
    let lab = two_vlans();
    lab.node.ip(&["addr", "add", "198.51.100.1/24", "dev", "vlan20"]);
    let b = Resource { name: "gw-vlan10", nic: "vlan10" };
    let probe = act(&lab, &ours(), &b, "198.51.100.1", "24", "monitor", false);
    assert_eq!(probe.code, ocf::ERR_GENERIC, "a stray copy answers for the VIP: {probe:#?}");
    assert!(probe.reason().contains("vlan20"), "{probe:#?}");
    let stop = act(&lab, &ours(), &b, "198.51.100.1", "24", "stop", false);
    assert_eq!(stop.code, ocf::ERR_GENERIC, "{stop:#?}");
    assert!(lab.node.has_address("vlan20", "198.51.100.1/24"), "the hand-added copy stays");
}

fn per_resource_files(lab: &Lab) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(&lab.rsctmp)
        .map(|dir| dir.flatten().filter_map(|e| e.file_name().into_string().ok()).collect())
        .unwrap_or_default();
    names.retain(|name| {
        ["IPaddr-vip-", "IPaddr-history-", "IPaddr-lvs-", "IPaddr-announce-"]
            .iter()
            .any(|p| name.starts_with(p))
    });
    names.sort();
    names
}

#[test]
fn a_vip_the_previous_release_started_is_monitored_and_stopped_by_this_one() {
    let previous = previous_release_path();
    assert!(previous.exists(), "{} is missing: make target/previous-tests/IPaddr", previous.display());
    let lab = Lab::new();
    // Announcing in the background for a minute: its announcer still runs at stop.
    let params = [
        ("ip", "192.0.2.50"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("arp_count", "60"),
        ("arp_interval", "1000"),
    ];
    let env = [("OCF_RESOURCE_INSTANCE", "vip")];
    let start = run_agent_at(&lab.node, &lab.rsctmp, &previous, "start", &params, &env);
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    assert_eq!(lab.node.processes_with_arg("__announce").len(), 1, "the previous release's announcer runs");
    assert!(
        per_resource_files(&lab).contains(&"IPaddr-vip-192.0.2.50".to_string()),
        "{:?}",
        per_resource_files(&lab)
    );

    let monitor = run_agent_at(&lab.node, &lab.rsctmp, &ours(), "monitor", &params, &[env[0], RECURRING]);
    assert_eq!(monitor.code, ocf::SUCCESS, "{monitor:#?}");
    let files = per_resource_files(&lab);
    assert!(!files.contains(&"IPaddr-vip-192.0.2.50".to_string()), "the old record is taken over: {files:?}");
    assert!(files.iter().any(|f| f.starts_with("IPaddr-vip-192.0.2.50+rvip")), "{files:?}");

    // Edited /etc/hosts, renamed NIC: stop still acts on what was recorded.
    let stop = run_agent_at(&lab.node, &lab.rsctmp, &ours(), "stop", &params, &env);
    assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
    assert!(!lab.node.has_address("eth0", "192.0.2.50/24"));
    assert_eq!(lab.node.processes_with_arg("__announce"), Vec::<u32>::new(), "the old announcer is stopped");
    let left = per_resource_files(&lab);
    assert!(left.iter().all(|f| f.starts_with("IPaddr-history-")), "only the history stays: {left:?}");
}

#[test]
fn an_lvs_real_servers_loopback_copy_taken_by_the_previous_release_comes_back_at_this_ones_stop() {
    let previous = previous_release_path();
    assert!(previous.exists(), "{} is missing: make target/previous-tests/IPaddr", previous.display());
    let lab = Lab::new();
    lab.node.ip(&["addr", "add", "192.0.2.51/32", "dev", "lo"]);
    let params = [("ip", "192.0.2.51"), ("cidr_netmask", "24"), ("nic", "eth0"), ("lvs_support", "true")];
    let env = [("OCF_RESOURCE_INSTANCE", "vip-lvs")];
    let start = run_agent_at(&lab.node, &lab.rsctmp, &previous, "start", &params, &env);
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    assert!(!lab.node.has_address("lo", "192.0.2.51/32"), "start took the loopback copy");
    let stop = run_agent_at(&lab.node, &lab.rsctmp, &ours(), "stop", &params, &env);
    assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
    assert!(!lab.node.has_address("eth0", "192.0.2.51/24"));
    assert!(lab.node.has_address("lo", "192.0.2.51/32"), "stop gave the loopback copy back");
}

/// Debian 13's `ip` (iproute2 6.15, in the root `make check` builds), run
/// in `ns`: Debian 12's cannot show an address's protocol tag.
fn debian13_ip(ns: &common::Netns, args: &[&str]) -> String {
    let root = common::debian13_root();
    let netns = format!("--net=/run/netns/{}", ns.name);
    let mut command = vec![netns.as_str(), "chroot", root.to_str().expect("a UTF-8 path"), "ip"];
    command.extend_from_slice(args);
    common::sh("nsenter", &command)
}

#[test]
fn start_tags_its_address_and_ip_shows_the_tag() {
    let lab = Lab::new();
    let params = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0")];
    let start =
        run_agent_at(&lab.node, &lab.rsctmp, &ours(), "start", &params, &[("OCF_RESOURCE_INSTANCE", "vip")]);
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    let shown = debian13_ip(&lab.node, &["-d", "-4", "addr", "show", "dev", "eth0"]);
    let line_of = |cidr: &str| shown.lines().find(|l| l.contains(cidr)).unwrap_or_default().to_string();
    // iproute2 shows a tag it has no name for in hexadecimal: 177 is 0xb1.
    assert!(line_of("inet 192.0.2.50/24").contains("proto 0xb1"), "{shown}");
    assert!(!line_of("inet 192.0.2.1/24").contains("proto"), "the node's own address is untouched: {shown}");
}

#[test]
fn a_hand_added_copy_with_another_label_is_reported_by_the_probe_and_survives_stop() {
    let lab = Lab::new();
    lab.node.ip(&["addr", "add", "192.0.2.50/24", "dev", "eth0", "label", "eth0:hand"]);
    let params = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0")];
    let env = [("OCF_RESOURCE_INSTANCE", "vip")];
    let probe = run_agent_at(&lab.node, &lab.rsctmp, &ours(), "monitor", &params, &env);
    assert_eq!(probe.code, ocf::ERR_GENERIC, "{probe:#?}");
    assert!(probe.reason().contains("labelled eth0:hand"), "{probe:#?}");
    let stop = run_agent_at(&lab.node, &lab.rsctmp, &ours(), "stop", &params, &env);
    assert_eq!(stop.code, ocf::ERR_GENERIC, "a copy stop leaves answers for the VIP: {stop:#?}");
    assert!(stop.reason().contains("labelled eth0:hand"), "{stop:#?}");
    assert!(lab.node.addresses("eth0").contains("eth0:hand"), "the hand-added copy stays");
}

#[test]
fn an_untagged_copy_in_place_of_the_resources_own_is_reported_never_deleted() {
    let lab = Lab::new();
    // Without the watcher, which would put its own copy back between the
    // delete and the hand-made add (tests/self_healing.rs).
    let params = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("repair_removed", "false")];
    let env = [("OCF_RESOURCE_INSTANCE", "vip")];
    assert_eq!(run_agent_at(&lab.node, &lab.rsctmp, &ours(), "start", &params, &env).code, ocf::SUCCESS);
    // Someone replaced the resource's address by a copy of their own.
    put_own_copy_in_place(&lab.node, "192.0.2.50/24");
    let monitor = run_agent_at(&lab.node, &lab.rsctmp, &ours(), "monitor", &params, &[env[0], RECURRING]);
    assert_eq!(monitor.code, ocf::ERR_GENERIC, "{monitor:#?}");
    assert!(monitor.reason().contains("no address-protocol tag"), "{monitor:#?}");
    let stop = run_agent_at(&lab.node, &lab.rsctmp, &ours(), "stop", &params, &env);
    assert_eq!(stop.code, ocf::ERR_GENERIC, "{stop:#?}");
    assert!(lab.node.has_address("eth0", "192.0.2.50/24"), "the copy stays");
}

/// Deletes the address at `cidr` on eth0 and adds a copy by hand, as
/// someone replacing it would. The kernel dates an address in hundredths
/// of a second: a copy added within the same hundredth as the one it
/// replaces cannot be told from it, so the copy is made again until the
/// kernel dates it otherwise (what the test needs: someone else's copy).
fn put_own_copy_in_place(node: &common::Netns, cidr: &str) {
    let ip = cidr.split('/').next().and_then(|ip| ip.parse().ok()).expect("an address");
    let before = node.address_created("eth0", ip);
    assert!(before.is_some(), "{cidr} is on eth0 to begin with");
    let replaced = common::wait_for(std::time::Duration::from_secs(5), || {
        node.ip(&["addr", "del", cidr, "dev", "eth0"]);
        node.ip(&["addr", "add", cidr, "dev", "eth0", "nodad"]);
        node.address_created("eth0", ip) != before
    });
    assert!(replaced.is_some(), "the kernel dates the copy of {cidr} otherwise within 5 s");
}

/// Steps of a running VIP whose lifetimes an admin changes (`preferred_lft
/// 0`, to keep it from being picked as a source address), which sends no
/// address-protocol tag: the address is still the resource's own. Returns
/// the exit codes, to compare two agents.
fn change_lifetimes_of_a_running_vip(agent: &Path, ip: &str, prefix: &str) -> Vec<i32> {
    let lab = Lab::new();
    let cidr = format!("{ip}/{prefix}");
    let params = [("ip", ip), ("cidr_netmask", prefix), ("nic", "eth0"), ("nodad", "true")];
    let env = [("OCF_RESOURCE_INSTANCE", "vip")];
    let family = if ip.contains(':') { "-6" } else { "-4" };
    let line_of = || {
        let shown = debian13_ip(&lab.node, &["-d", family, "addr", "show", "dev", "eth0"]);
        shown.lines().find(|l| l.contains(&cidr)).unwrap_or_default().to_string()
    };
    let is_ours = agent == ours();
    let mut codes = Vec::new();
    let start = run_agent_at(&lab.node, &lab.rsctmp, agent, "start", &params, &env);
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    codes.push(start.code);
    lab.node.ip(&["addr", "change", &cidr, "dev", "eth0", "preferred_lft", "0"]);
    if is_ours {
        assert!(!line_of().contains("proto 0xb1"), "the change dropped the tag: {}", line_of());
    }
    let monitor = run_agent_at(&lab.node, &lab.rsctmp, agent, "monitor", &params, &[env[0], RECURRING]);
    assert_eq!(monitor.code, ocf::SUCCESS, "{} is still this resource's: {monitor:#?}", agent.display());
    codes.push(monitor.code);
    if is_ours {
        assert!(monitor.stderr.contains("lost its address-protocol tag"), "a warning says so: {monitor:#?}");
        let shown = line_of();
        assert!(shown.contains("proto 0xb1"), "monitor put the tag back: {shown}");
        assert!(shown.contains("deprecated"), "and kept the admin's preferred_lft 0: {shown}");
    }
    lab.node.ip(&["addr", "replace", &cidr, "dev", "eth0", "preferred_lft", "0"]);
    let stop = run_agent_at(&lab.node, &lab.rsctmp, agent, "stop", &params, &env);
    assert_eq!(stop.code, ocf::SUCCESS, "{} stop after a replace: {stop:#?}", agent.display());
    codes.push(stop.code);
    assert!(!lab.node.has_address("eth0", &cidr), "stop removed {cidr}: {}", lab.node.addresses("eth0"));
    codes
}

#[test]
fn an_ipv4_vip_whose_lifetimes_an_admin_changed_is_still_monitored_and_stopped_as_with_ipaddr2() {
    let ours = change_lifetimes_of_a_running_vip(&ours(), "192.0.2.50", "24");
    assert_eq!(ours, change_lifetimes_of_a_running_vip(Path::new(IPADDR2), "192.0.2.50", "24"));
}

#[test]
fn an_ipv6_vip_whose_lifetimes_an_admin_changed_is_still_monitored_and_stopped_as_with_ipaddr2() {
    let ours = change_lifetimes_of_a_running_vip(&ours(), "2001:db8::50", "64");
    assert_eq!(ours, change_lifetimes_of_a_running_vip(Path::new(IPADDR2), "2001:db8::50", "64"));
}

#[test]
fn a_start_of_a_running_vip_puts_back_the_tag_a_change_dropped() {
    let lab = Lab::new();
    let params = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0")];
    let env = [("OCF_RESOURCE_INSTANCE", "vip")];
    assert_eq!(run_agent_at(&lab.node, &lab.rsctmp, &ours(), "start", &params, &env).code, ocf::SUCCESS);
    let created = lab.node.address_created("eth0", "192.0.2.50".parse().unwrap());
    lab.node.ip(&[
        "addr",
        "replace",
        "192.0.2.50/24",
        "dev",
        "eth0",
        "valid_lft",
        "3600",
        "preferred_lft",
        "0",
    ]);
    let start = run_agent_at(&lab.node, &lab.rsctmp, &ours(), "start", &params, &env);
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    let shown = debian13_ip(&lab.node, &["-d", "-4", "addr", "show", "dev", "eth0"]);
    let line =
        shown.lines().skip_while(|l| !l.contains("192.0.2.50/24")).take(2).collect::<Vec<_>>().join(" ");
    assert!(line.contains("proto 0xb1"), "start put the tag back: {shown}");
    assert!(
        line.contains("valid_lft 3") && line.contains("preferred_lft 0sec"),
        "with the admin's lifetimes: {shown}"
    );
    assert_eq!(lab.node.address_created("eth0", "192.0.2.50".parse().unwrap()), created, "the same address");
}

#[test]
fn an_admins_ipv6_address_label_survives_stop_while_the_resources_own_goes() {
    let lab = Lab::new();
    let env = [("OCF_RESOURCE_INSTANCE", "vip6")];
    let with_label = |ip| {
        [
            ("ip", ip),
            ("cidr_netmask", "64"),
            ("nic", "eth0"),
            ("nodad", "true"),
            ("lvs_ipv6_addrlabel", "true"),
            ("lvs_ipv6_addrlabel_value", "100"),
        ]
    };
    lab.node.ip(&["addrlabel", "add", "prefix", "2001:db8::50/128", "label", "100"]);
    for action in ["start", "stop"] {
        let run = run_agent_at(&lab.node, &lab.rsctmp, &ours(), action, &with_label("2001:db8::50"), &env);
        assert_eq!(run.code, ocf::SUCCESS, "{action}: {run:#?}");
    }
    assert!(
        lab.node.ip(&["addrlabel", "list"]).contains("prefix 2001:db8::50/128 label 100"),
        "the admin's label stays"
    );
    // A label the resource added itself goes with it.
    let own = [("OCF_RESOURCE_INSTANCE", "vip6b")];
    assert_eq!(
        run_agent_at(&lab.node, &lab.rsctmp, &ours(), "start", &with_label("2001:db8::51"), &own).code,
        ocf::SUCCESS
    );
    assert!(lab.node.ip(&["addrlabel", "list"]).contains("prefix 2001:db8::51/128 label 100"));
    assert_eq!(
        run_agent_at(&lab.node, &lab.rsctmp, &ours(), "stop", &with_label("2001:db8::51"), &own).code,
        ocf::SUCCESS
    );
    assert!(!lab.node.ip(&["addrlabel", "list"]).contains("2001:db8::51"));
}

#[test]
fn a_second_resource_for_one_address_on_the_same_nic_never_takes_the_first_ones_copy() {
    let lab = two_vlans();
    let (a, b) = (Resource { name: "gw-a", nic: "vlan10" }, Resource { name: "gw-b", nic: "vlan10" });
    let (ip, prefix) = ("198.51.100.1", "24");
    assert_eq!(act(&lab, &ours(), &a, ip, prefix, "start", false).code, ocf::SUCCESS);
    let probe = act(&lab, &ours(), &b, ip, prefix, "monitor", false);
    assert_eq!(probe.code, ocf::ERR_GENERIC, "{probe:#?}");
    assert!(probe.reason().contains("added by resource gw-a"), "{probe:#?}");
    let start = act(&lab, &ours(), &b, ip, prefix, "start", false);
    assert_eq!(
        start.code,
        ocf::ERR_GENERIC,
        "a second resource does not call the first one's copy its own: {start:#?}"
    );
    let stop = act(&lab, &ours(), &b, ip, prefix, "stop", false);
    assert_eq!(stop.code, ocf::SUCCESS, "nothing of gw-b's is there: {stop:#?}");
    assert!(lab.node.has_address("vlan10", "198.51.100.1/24"), "gw-a's address stays");
    assert_eq!(act(&lab, &ours(), &a, ip, prefix, "monitor", true).code, ocf::SUCCESS);
}
