//! A resource is its instance, not its address: two resources may hold one
//! address on two interfaces (one gateway address on several VLANs), and
//! each starts, probes, monitors and stops on its own, as with IPaddr2.

mod common;
use common::{Lab, Run, ocf, run_agent_at};
use std::path::{Path, PathBuf};

const IPADDR2: &str = "/usr/lib/ocf/resource.d/heartbeat/IPaddr2";
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

/// The agent of the previous release, which kept every file under the
/// address's name (`make test` builds it: `make target/previous/IPaddr`).
fn previous() -> PathBuf {
    std::env::var_os("OCF_IPADDR_PREVIOUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target/previous/IPaddr"))
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
    let previous = previous();
    assert!(previous.exists(), "{} is missing: make target/previous/IPaddr", previous.display());
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
    let previous = previous();
    assert!(previous.exists(), "{} is missing: make target/previous/IPaddr", previous.display());
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
