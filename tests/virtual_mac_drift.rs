//! `virtual_mac` held true while it runs: what the resource set around the
//! VIP (its source rule, the parent's `arp_ignore`) is checked by every
//! monitor and put back when someone changed it; the resource's watcher
//! (`repair_removed`) puts a removed rule back at once and keeps the VIP's
//! table in step with main as routes come and go; an address found on the
//! NIC without a record is moved onto the VIP's own interface, never
//! served with the NIC's MAC; the parent's holder list has no size limit.

mod common;
use common::{Lab, ocf, run_agent};

const V4: &[(&str, &str)] =
    &[("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("virtual_mac", "auto")];
const V6: &[(&str, &str)] = &[
    ("ip", "2001:db8::50"),
    ("cidr_netmask", "64"),
    ("nic", "eth0"),
    ("nodad", "true"),
    ("virtual_mac", "auto"),
];

/// A recurring monitor as Pacemaker 2.1+ runs it for an OCF 1.1 agent.
const RECURRING_1_1: &[(&str, &str)] = &[
    ("OCF_RESOURCE_INSTANCE", "vip"),
    ("OCF_RESKEY_CRM_meta_interval", "10000"),
    ("OCF_RA_VERSION_MAJOR", "1"),
    ("OCF_RA_VERSION_MINOR", "1"),
    ("OCF_RESKEY_crm_feature_set", "3.16.2"),
];
const NAMED: &[(&str, &str)] = &[("OCF_RESOURCE_INSTANCE", "vip")];

fn act(lab: &Lab, action: &str, params: &[(&str, &str)], env: &[(&str, &str)]) -> common::Run {
    lab.agent_env(&lab.node, action, params, env)
}

/// The node's rules from `vip` (`ip rule` lines).
fn rules_from(lab: &Lab, vip: &str) -> Vec<String> {
    let family = if vip.contains(':') { "-6" } else { "-4" };
    let shown = lab.node.ip(&[family, "rule", "show"]);
    shown.lines().filter(|l| l.contains(&format!("from {vip} "))).map(str::to_string).collect()
}

/// `params` without the watcher: what the monitor alone does.
fn unwatched(params: &[(&'static str, &'static str)]) -> Vec<(&'static str, &'static str)> {
    let mut params = params.to_vec();
    params.push(("repair_removed", "false"));
    params
}

#[test]
fn a_source_rule_someone_deleted_is_reported_and_put_back_by_the_next_monitor() {
    for params in [unwatched(V4), unwatched(V6)] {
        let params = params.as_slice();
        let lab = Lab::new();
        let vip = params[0].1;
        let start = act(&lab, "start", params, NAMED);
        assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
        let rules = rules_from(&lab, vip);
        assert_eq!(rules.len(), 1, "start added the VIP's rule: {rules:?}");
        assert_eq!(act(&lab, "monitor", params, RECURRING_1_1).code, ocf::SUCCESS, "all holds");
        // What systemd-networkd does to rules it did not add.
        let family = if vip.contains(':') { "-6" } else { "-4" };
        lab.node.ip(&[family, "rule", "del", "from", vip, "priority", "32700"]);
        assert!(rules_from(&lab, vip).is_empty());

        let as_probe = [("OCF_RESKEY_CRM_meta_interval", "0"), NAMED[0]];
        let probe = act(
            &lab,
            "monitor",
            params,
            &[as_probe[0], as_probe[1], RECURRING_1_1[2], RECURRING_1_1[3], RECURRING_1_1[4]],
        );
        assert_eq!(probe.code, ocf::DEGRADED, "a probe reports it: {probe:#?}");
        assert!(rules_from(&lab, vip).is_empty(), "and leaves it: a probe changes nothing");

        let monitor = act(&lab, "monitor", params, RECURRING_1_1);
        assert_eq!(monitor.code, ocf::DEGRADED, "{vip}: {monitor:#?}");
        assert!(monitor.reason().contains("rule") && monitor.reason().contains("put back"), "{monitor:#?}");
        assert_eq!(rules_from(&lab, vip), rules, "the same rule is back");
        assert_eq!(act(&lab, "monitor", params, RECURRING_1_1).code, ocf::SUCCESS, "once");

        // A caller that does not know OCF_DEGRADED: success, with a warning.
        lab.node.ip(&[family, "rule", "del", "from", vip, "priority", "32700"]);
        let old = act(&lab, "monitor", params, &RECURRING_1_1[..2]);
        assert_eq!(old.code, ocf::SUCCESS, "{old:#?}");
        assert!(old.stderr.contains("WARNING") && old.stderr.contains("put back"), "{old:#?}");
        assert_eq!(rules_from(&lab, vip), rules);
        let stop = act(&lab, "stop", params, NAMED);
        assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
        assert!(rules_from(&lab, vip).is_empty(), "stop removed the rule");
    }
}

#[test]
fn the_watcher_puts_a_deleted_source_rule_back_at_once_and_the_next_monitor_says_so() {
    for params in [V4, V6] {
        let lab = Lab::new();
        let vip = params[0].1;
        assert_eq!(act(&lab, "start", params, NAMED).code, ocf::SUCCESS);
        let rules = rules_from(&lab, vip);
        assert_eq!(rules.len(), 1, "{rules:?}");
        let family = if vip.contains(':') { "-6" } else { "-4" };
        lab.node.ip(&[family, "rule", "del", "from", vip, "priority", "32700"]);
        let back = common::wait_for(std::time::Duration::from_secs(10), || rules_from(&lab, vip) == rules);
        assert!(back.is_some(), "{vip}: the rule came back without a monitor");
        // The repair records what it did as it ends, a moment after the rule is back.
        let notice = common::wait_for(std::time::Duration::from_secs(10), || {
            std::fs::read_dir(&lab.rsctmp).is_ok_and(|d| {
                d.flatten().any(|e| e.file_name().to_string_lossy().starts_with("IPaddr-repaired-"))
            })
        });
        assert!(notice.is_some(), "{vip}: the repair left word for the monitor");
        let monitor = act(&lab, "monitor", params, RECURRING_1_1);
        assert_eq!(monitor.code, ocf::DEGRADED, "{vip}: {monitor:#?}");
        assert!(monitor.reason().contains("rule") && monitor.reason().contains("put back"), "{monitor:#?}");
        assert_eq!(act(&lab, "monitor", params, RECURRING_1_1).code, ocf::SUCCESS, "once");
        assert_eq!(act(&lab, "stop", params, NAMED).code, ocf::SUCCESS);
        assert!(rules_from(&lab, vip).is_empty(), "stop removed the rule, and nothing put it back");
    }
}

/// The node's eth0's own `arp_ignore`, as /proc shows it.
fn parent_arp_ignore(lab: &Lab) -> String {
    let out = lab.node.exec("cat", &["/proc/sys/net/ipv4/conf/eth0/arp_ignore"]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn the_parents_arp_ignore_set_back_to_zero_is_reported_and_raised_again() {
    let lab = Lab::new();
    lab.node.sysctl("net.ipv4.conf.all.arp_ignore=0");
    lab.node.sysctl("net.ipv4.conf.eth0.arp_ignore=0");
    let read = || parent_arp_ignore(&lab);
    assert_eq!(act(&lab, "start", V4, NAMED).code, ocf::SUCCESS);
    assert_eq!(read(), "1", "start raised the parent's arp_ignore");
    // An admin (or a tuning script) puts it back: eth0 answers ARP for the VIP too.
    lab.node.sysctl("net.ipv4.conf.eth0.arp_ignore=0");
    let monitor = act(&lab, "monitor", V4, RECURRING_1_1);
    assert_eq!(monitor.code, ocf::DEGRADED, "{monitor:#?}");
    assert!(monitor.reason().contains("arp_ignore was 0"), "{monitor:#?}");
    assert_eq!(read(), "1", "monitor raised it again");
    assert_eq!(act(&lab, "monitor", V4, RECURRING_1_1).code, ocf::SUCCESS);
    assert_eq!(act(&lab, "stop", V4, NAMED).code, ocf::SUCCESS);
    assert_eq!(read(), "0", "the last stop restores the value found");
}

#[test]
fn an_address_found_on_the_nic_without_a_record_moves_onto_the_vips_own_interface() {
    let lab = Lab::new();
    // Left by IPaddr2 during a migration: on the NIC, with the node's MAC.
    lab.node.ip(&["addr", "add", "192.0.2.50/24", "dev", "eth0"]);
    let start = act(&lab, "start", V4, NAMED);
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    assert!(!lab.node.has_address("eth0", "192.0.2.50/24"), "{}", lab.node.addresses("eth0"));
    let shown = lab.node.ip(&["-o", "-4", "addr", "show", "to", "192.0.2.50"]);
    assert!(shown.contains(" vmac"), "on the VIP's own interface: {shown}");
    let link = shown.split_whitespace().nth(1).unwrap_or_default().split('@').next().unwrap_or_default();
    let mac = lab.node.mac(link);
    // The client learns the VIP's MAC, not the node's.
    lab.client.ip(&["neigh", "flush", "dev", "eth0"]);
    assert!(lab.client.exec("ping", &["-c1", "-W2", "192.0.2.50"]).status.success());
    let neigh = lab.client.ip(&["neigh", "show", "192.0.2.50"]);
    assert!(neigh.contains(&mac), "the client reaches {mac}: {neigh}");
    assert_ne!(mac, lab.node.mac("eth0"));
    assert_eq!(act(&lab, "monitor", V4, RECURRING_1_1).code, ocf::SUCCESS);
    assert_eq!(act(&lab, "stop", V4, NAMED).code, ocf::SUCCESS);
    assert!(lab.node.ip(&["-o", "-4", "addr", "show", "to", "192.0.2.50"]).trim().is_empty());
}

/// Far past the 4096 bytes the holder list used to read back (about 80
/// resources with names of this length).
const MANY: usize = 120;

#[test]
fn a_hundred_and_twenty_virtual_mac_vips_on_one_nic_leave_arp_ignore_as_it_was() {
    let lab = Lab::new();
    lab.node.sysctl("net.ipv4.conf.all.arp_ignore=0");
    lab.node.sysctl("net.ipv4.conf.eth0.arp_ignore=0");
    let vips: Vec<(String, String)> = (0..MANY)
        .map(|i| (format!("192.0.2.{}", 130 + i), format!("a-service-with-a-longer-name-vip-{i:03}")))
        .collect();
    let each = |action: &'static str| {
        let failed: Vec<String> = std::thread::scope(|scope| {
            let chunks: Vec<_> = vips.chunks(MANY / 6).collect();
            let handles: Vec<_> = chunks
                .into_iter()
                .map(|chunk| {
                    let lab = &lab;
                    scope.spawn(move || {
                        let mut failed = Vec::new();
                        for (ip, name) in chunk {
                            let params = [
                                ("ip", ip.as_str()),
                                ("cidr_netmask", "24"),
                                ("nic", "eth0"),
                                ("virtual_mac", "auto"),
                                ("arp_count", "1"),
                            ];
                            let env = [("OCF_RESOURCE_INSTANCE", name.as_str())];
                            let run = run_agent(&lab.node, &lab.rsctmp, action, &params, &env);
                            if run.code != ocf::SUCCESS {
                                failed.push(format!("{action} {name}: {run:#?}"));
                            }
                        }
                        failed
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("a worker")).collect()
        });
        assert!(failed.is_empty(), "{failed:#?}");
    };
    each("start");
    let read = || parent_arp_ignore(&lab);
    assert_eq!(read(), "1");
    let links = lab.node.ip(&["-o", "link", "show", "type", "macvlan"]);
    assert_eq!(links.lines().count(), MANY, "one interface each");
    each("stop");
    assert_eq!(read(), "0", "the last stop put back the parent's arp_ignore");
    assert!(lab.node.ip(&["-o", "link", "show", "type", "macvlan"]).trim().is_empty());
}

/// The source the node picks for its own traffic to `to`.
fn source_towards(lab: &Lab, to: &str) -> String {
    let route = lab.node.ip(&["route", "get", to]);
    route.split_whitespace().skip_while(|w| *w != "src").nth(1).unwrap_or_default().to_string()
}

#[test]
fn the_nodes_own_traffic_never_takes_the_vip_as_source_after_its_link_flaps_or_its_address_returns() {
    let cases = [(V4, "192.0.2.1/24", "192.0.2.100", true), (V6, "2001:db8::1/64", "2001:db8::100", false)];
    for (params, own, peer, flap) in cases {
        let lab = Lab::new();
        let vip = params[0].1;
        let own_ip = own.split('/').next().unwrap_or_default();
        assert_eq!(act(&lab, "start", params, NAMED).code, ocf::SUCCESS);
        assert_eq!(source_towards(&lab, peer), own_ip, "{vip}: after start");
        if flap {
            lab.node.ip(&["link", "set", "eth0", "down"]);
            lab.node.ip(&["link", "set", "eth0", "up"]);
            let up = || lab.node.ip(&["-o", "link", "show", "dev", "eth0"]).contains("state UP");
            assert!(common::wait_for(std::time::Duration::from_secs(5), up).is_some(), "eth0 came back");
            assert_eq!(source_towards(&lab, peer), own_ip, "{vip}: after eth0 went down and up");
        }
        lab.node.ip(&["addr", "del", own, "dev", "eth0"]);
        lab.node.ip(&["addr", "add", own, "dev", "eth0", "nodad"]);
        assert_eq!(source_towards(&lab, peer), own_ip, "{vip}: after the node's own address came back");
        let reach = lab.client.exec("ping", &["-c1", "-W2", vip]);
        assert!(reach.status.success(), "{vip} still answers: {reach:?}");
        assert_eq!(act(&lab, "stop", params, NAMED).code, ocf::SUCCESS);
    }
}

/// The VIP's replies follow the node's routing as it is now, not as it was
/// at start: a route added after start, then a replaced default gateway.
/// Node 2 of the segment is the new gateway, the only way to a far host;
/// the client, the old one, does not forward, so a reply sent its way is
/// lost.
/// A far network behind node 1 of a two-node segment, node 1 forwarding to
/// it: the far host (which routes back by node 1) and, for the node, the
/// far network and its gateways, old (the client, which does not forward)
/// and new (node 1).
struct FarHost {
    seg: common::topology::Segment,
    far: common::Netns,
    flag: &'static str,
    far_net: &'static str,
    old_gw: &'static str,
    new_gw: &'static str,
}

/// Parameters, `ip` family flag, far network, its gateway, the far host,
/// the old gateway and the new one.
type FarCase = (
    &'static [(&'static str, &'static str)],
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static str,
);

const FAR_CASES: [FarCase; 2] = [
    (V4, "-4", "198.51.100.0/24", "198.51.100.1", "198.51.100.2", "192.0.2.100", "192.0.2.12"),
    (V6, "-6", "2001:db8:f::/64", "2001:db8:f::1", "2001:db8:f::2", "2001:db8::100", "2001:db8::12"),
];

impl FarHost {
    fn new(case: usize) -> FarHost {
        let (_, flag, far_net, far_gw, far_host, old_gw, new_gw) = FAR_CASES[case];
        let seg = common::topology::Segment::new(2);
        let (node, gateway) = (&seg.nodes[0], &seg.nodes[1]);
        let far = common::Netns::new("f");
        gateway.ip(&["link", "add", "far0", "type", "veth", "peer", "name", "eth0", "netns", &far.name]);
        gateway.ip(&["link", "set", "far0", "up"]);
        far.ip(&["link", "set", "eth0", "up"]);
        let prefix = far_net.split('/').nth(1).unwrap_or_default();
        gateway.ip(&["addr", "add", &format!("{far_gw}/{prefix}"), "dev", "far0", "nodad"]);
        far.ip(&["addr", "add", &format!("{far_host}/{prefix}"), "dev", "eth0", "nodad"]);
        far.ip(&[flag, "route", "add", "default", "via", far_gw]);
        gateway.sysctl("net.ipv4.ip_forward=1");
        gateway.sysctl("net.ipv6.conf.all.forwarding=1");
        node.ip(&[flag, "route", "add", "default", "via", old_gw]);
        FarHost { seg, far, flag, far_net, old_gw, new_gw }
    }

    fn node(&self) -> &common::Netns {
        &self.seg.nodes[0]
    }

    /// The node's run directory.
    fn rsctmp(&self) -> std::path::PathBuf {
        let dir = self.seg.rsctmp.join("node0");
        std::fs::create_dir_all(&dir).expect("node rsctmp");
        dir
    }

    /// Whether the far host reaches `vip` within 3 s.
    fn reaches(&self, vip: &str) -> bool {
        common::wait_for(std::time::Duration::from_secs(3), || {
            self.far.exec("ping", &["-c1", "-W1", vip]).status.success()
        })
        .is_some()
    }
}

#[test]
fn the_vips_replies_follow_a_route_added_and_a_gateway_replaced_after_start() {
    for (case, (params, ..)) in FAR_CASES.iter().enumerate() {
        let topology = FarHost::new(case);
        let FarHost { flag, far_net, old_gw, new_gw, .. } = topology;
        let node = topology.node();
        let reaches = || topology.reaches(params[0].1);
        let run =
            |action: &str, env: &[(&str, &str)]| run_agent(node, &topology.rsctmp(), action, params, env);
        let vip = params[0].1;
        let env = [("OCF_RESOURCE_INSTANCE", "vip")];
        assert_eq!(run("start", &env).code, ocf::SUCCESS, "{vip}");

        // The watcher keeps the VIP's table in step as routes change: no
        // monitor runs, and following the node's routing is no drift.
        node.ip(&[flag, "route", "add", far_net, "via", new_gw]);
        assert!(reaches(), "{vip}: the far host reaches it by the route added after start");
        assert_eq!(run("monitor", RECURRING_1_1).code, ocf::SUCCESS, "{vip}: followed, not drifted");

        node.ip(&[flag, "route", "del", far_net, "via", new_gw]);
        node.ip(&[flag, "route", "replace", "default", "via", new_gw]);
        assert!(reaches(), "{vip}: the far host reaches it through the new default gateway");
        assert_eq!(run("monitor", RECURRING_1_1).code, ocf::SUCCESS, "{vip}: in step");
        assert_eq!(run("stop", &env).code, ocf::SUCCESS);

        // Without the watcher, the next monitor finds the table behind and
        // puts it in step, saying so.
        let unwatched_params = unwatched(params);
        let run = |action: &str, env: &[(&str, &str)]| {
            run_agent(node, &topology.rsctmp(), action, &unwatched_params, env)
        };
        node.ip(&[flag, "route", "replace", "default", "via", old_gw]);
        assert_eq!(run("start", &env).code, ocf::SUCCESS, "{vip}");
        node.ip(&[flag, "route", "replace", "default", "via", new_gw]);
        let monitor = run("monitor", RECURRING_1_1);
        assert_eq!(monitor.code, ocf::DEGRADED, "{vip}: a gateway replaced: {monitor:#?}");
        assert!(monitor.reason().contains("behind main's routes"), "{monitor:#?}");
        assert!(reaches(), "{vip}: the far host reaches it through the new default gateway");
        assert_eq!(run("stop", &env).code, ocf::SUCCESS);
    }
}

/// A route added after start's add but before it subscribes for its
/// watcher is not heard: the watcher looks once when it begins, so the
/// VIP's table follows it anyway. Start is held right before it subscribes
/// (the crash-point build's pause gate), the route is added, and the gate
/// opens.
#[test]
fn a_route_added_before_the_watcher_listens_is_followed_too() {
    let topology = FarHost::new(0);
    let (node, params) = (topology.node(), FAR_CASES[0].0);
    let vip = params[0].1;
    let agent = common::crash_agent();
    let gate = topology.rsctmp().with_extension("gate");
    std::fs::write(&gate, "").expect("the gate");
    let held = gate.with_extension("gate.held");
    let gate_text = gate.to_string_lossy().into_owned();
    let env = [
        ("OCF_RESOURCE_INSTANCE", "vip"),
        ("OCF_IPADDR_PAUSE_AT", "start:subscribe"),
        ("OCF_IPADDR_PAUSE_GATE", gate_text.as_str()),
    ];
    let rsctmp = topology.rsctmp();
    let start = std::thread::scope(|scope| {
        let start = scope.spawn(|| common::run_agent_at(node, &rsctmp, &agent, "start", params, &env));
        let waiting = common::wait_for(std::time::Duration::from_secs(30), || held.exists());
        node.ip(&[topology.flag, "route", "add", topology.far_net, "via", topology.new_gw]);
        let _ = std::fs::remove_file(&gate);
        assert!(waiting.is_some(), "start waits at the gate before it subscribes");
        start.join().expect("start ran")
    });
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    assert!(
        topology.reaches(vip),
        "{vip}: the far host reaches it by the route added before the watcher listened"
    );
    let stop = common::run_agent_at(node, &topology.rsctmp(), &agent, "stop", params, &env[..1]);
    assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
    let _ = std::fs::remove_file(held);
}
