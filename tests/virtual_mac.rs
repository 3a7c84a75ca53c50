//! `virtual_mac`: the VIP on a macvlan interface with the service's MAC.
//! Two nodes and a client share a learning bridge; the client plays a
//! gateway that never relearns the VIP's MAC (a permanent neighbour entry,
//! gratuitous ARP and unsolicited NA dropped).

mod common;
use common::topology::Segment;
use common::wire::Capture;
use common::{ocf, wait_for};
use std::time::Duration;

struct Family {
    vip: &'static str,
    params: &'static [(&'static str, &'static str)],
    ip_flag: &'static str,
    ignores_announcements: &'static str,
    /// `virtual_mac=auto`'s MAC for `vip` (the formula the docs give).
    auto_mac: &'static str,
}

const V4: Family = Family {
    vip: "192.0.2.50",
    params: &[("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0")],
    ip_flag: "-4",
    ignores_announcements: "net.ipv4.conf.eth0.drop_gratuitous_arp=1",
    auto_mac: "02:4f:c0:00:02:32",
};

const V6: Family = Family {
    vip: "2001:db8::50",
    params: &[("ip", "2001:db8::50"), ("cidr_netmask", "64"), ("nic", "eth0"), ("nodad", "true")],
    ip_flag: "-6",
    ignores_announcements: "net.ipv6.conf.eth0.drop_unsolicited_na=1",
    auto_mac: "",
};

fn with<'a>(base: &[(&'a str, &'a str)], extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    base.iter().chain(extra).copied().collect()
}

/// The segment, its client a gateway that keeps `vip` on `mac` for good.
fn pinned_gateway(family: &Family) -> Segment {
    let seg = Segment::new(2);
    seg.client.sysctl(family.ignores_announcements);
    seg
}

fn pin(seg: &Segment, family: &Family, mac: &str) {
    seg.client.ip(&[
        family.ip_flag,
        "neigh",
        "replace",
        family.vip,
        "lladdr",
        mac,
        "nud",
        "permanent",
        "dev",
        "eth0",
    ]);
}

/// Whether the client reaches the VIP within `limit` (one ping a try).
fn client_reaches(seg: &Segment, vip: &str, limit: Duration) -> bool {
    wait_for(limit, || seg.client.exec("ping", &["-c1", "-W1", vip]).status.success()).is_some()
}

/// The MAC of the VIP's interface on node `i` (the `vmac…` link).
fn virtual_link(seg: &Segment, i: usize) -> Option<(String, String)> {
    let out = seg.nodes[i].ip(&["-o", "link", "show", "type", "macvlan"]);
    let line = out.lines().next()?;
    let name = line.split(": ").nth(1)?.split('@').next()?.to_string();
    let mac = line.split("link/ether ").nth(1)?.split_whitespace().next()?.to_string();
    Some((name, mac))
}

#[test]
fn a_gateway_that_never_relearns_follows_a_failover_only_with_a_virtual_mac() {
    for family in [V4, V6] {
        let seg = pinned_gateway(&family);
        let params = with(family.params, &[("virtual_mac", "auto")]);
        let start = seg.agent(0, "start", &params);
        assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
        let (_, mac) = virtual_link(&seg, 0).expect("node1 created the VIP's interface");
        if !family.auto_mac.is_empty() {
            assert_eq!(mac, family.auto_mac, "auto's formula");
        }
        pin(&seg, &family, &mac);
        assert!(client_reaches(&seg, family.vip, Duration::from_secs(3)), "{}: before the move", family.vip);

        assert_eq!(seg.agent(0, "stop", &params).code, ocf::SUCCESS);
        assert!(virtual_link(&seg, 0).is_none(), "stop removes the interface");
        let start = seg.agent(1, "start", &params);
        assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
        assert_eq!(virtual_link(&seg, 1).map(|(_, m)| m), Some(mac.clone()), "every node derives one MAC");
        // The entry still says the MAC it always said; only the bridge moved it.
        assert!(client_reaches(&seg, family.vip, Duration::from_secs(3)), "{}: after the move", family.vip);
        assert_eq!(seg.port_of(&mac).as_deref(), Some("leg1"), "the bridge learnt node2's port");
        let neigh = seg.client.ip(&[family.ip_flag, "neigh", "show", family.vip]);
        assert!(neigh.contains(&mac) && neigh.contains("PERMANENT"), "{neigh}");
        assert_eq!(seg.agent(1, "stop", &params).code, ocf::SUCCESS);

        // Without virtual_mac the same gateway keeps sending to node1.
        let start = seg.agent(0, "start", family.params);
        assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
        pin(&seg, &family, &seg.nodes[0].mac("eth0"));
        assert!(client_reaches(&seg, family.vip, Duration::from_secs(3)));
        assert_eq!(seg.agent(0, "stop", family.params).code, ocf::SUCCESS);
        assert_eq!(seg.agent(1, "start", family.params).code, ocf::SUCCESS);
        assert!(
            !client_reaches(&seg, family.vip, Duration::from_secs(3)),
            "{}: the pinned gateway reached node2 without virtual_mac",
            family.vip
        );
        pin(&seg, &family, &seg.nodes[1].mac("eth0"));
        assert!(client_reaches(&seg, family.vip, Duration::from_secs(3)), "healed by hand only");
        assert_eq!(seg.agent(1, "stop", family.params).code, ocf::SUCCESS);
    }
}

#[test]
fn traffic_from_beyond_the_pinned_gateway_reaches_the_new_node() {
    for family in [V4, V6] {
        let seg = pinned_gateway(&family);
        // A host behind the gateway, which forwards between it and the segment.
        let far = common::Netns::new("f");
        seg.client.ip(&["link", "add", "far0", "type", "veth", "peer", "name", "eth0", "netns", &far.name]);
        seg.client.ip(&["link", "set", "far0", "up"]);
        far.ip(&["link", "set", "eth0", "up"]);
        let (far_net, far_gw, far_host) = match family.ip_flag {
            "-4" => ("198.51.100.0/24", "198.51.100.1", "198.51.100.2"),
            _ => ("2001:db8:f::/64", "2001:db8:f::1", "2001:db8:f::2"),
        };
        let prefix = far_net.split('/').nth(1).unwrap();
        seg.client.ip(&["addr", "add", &format!("{far_gw}/{prefix}"), "dev", "far0", "nodad"]);
        far.ip(&["addr", "add", &format!("{far_host}/{prefix}"), "dev", "eth0", "nodad"]);
        far.ip(&[family.ip_flag, "route", "add", "default", "via", far_gw]);
        seg.client.sysctl("net.ipv4.ip_forward=1");
        seg.client.sysctl("net.ipv6.conf.all.forwarding=1");
        let segment_gw = if family.ip_flag == "-4" { "192.0.2.100" } else { "2001:db8::100" };
        for node in &seg.nodes {
            node.ip(&[family.ip_flag, "route", "add", far_net, "via", segment_gw]);
        }
        let params = with(family.params, &[("virtual_mac", "auto")]);
        let reaches = || {
            wait_for(Duration::from_secs(3), || {
                far.exec("ping", &["-c1", "-W1", family.vip]).status.success()
            })
            .is_some()
        };
        assert_eq!(seg.agent(0, "start", &params).code, ocf::SUCCESS);
        let (_, mac) = virtual_link(&seg, 0).unwrap();
        pin(&seg, &family, &mac);
        assert!(reaches(), "{}: from beyond the gateway, before the move", family.vip);
        assert_eq!(seg.agent(0, "stop", &params).code, ocf::SUCCESS);
        assert_eq!(seg.agent(1, "start", &params).code, ocf::SUCCESS);
        assert!(reaches(), "{}: from beyond the gateway, after the move", family.vip);
        assert_eq!(seg.port_of(&mac).as_deref(), Some("leg1"));
        assert_eq!(seg.agent(1, "stop", &params).code, ocf::SUCCESS);
    }
}

#[test]
fn the_vip_speaks_with_its_mac_and_the_node_with_its_own() {
    let seg = Segment::new(1);
    let params = with(V4.params, &[("virtual_mac", "02:00:5e:10:00:32"), ("arp_count", "1")]);
    let node_mac = seg.nodes[0].mac("eth0");
    let dir = tempdir(&seg);
    let capture = Capture::start_filtered(&seg.client, "eth0", &dir, "arp or icmp");
    assert_eq!(seg.agent(0, "start", &params).code, ocf::SUCCESS);
    // The node answers for its own address with its own MAC, for the VIP with the VIP's.
    assert!(seg.client.exec("ping", &["-c2", "-i0.2", "-W1", V4.vip]).status.success());
    assert!(seg.client.exec("ping", &["-c1", "-W1", "192.0.2.11"]).status.success());
    let neigh = seg.client.ip(&["neigh", "show"]);
    assert!(neigh.contains("192.0.2.50 dev eth0 lladdr 02:00:5e:10:00:32"), "{neigh}");
    assert!(neigh.contains(&format!("192.0.2.11 dev eth0 lladdr {node_mac}")), "{neigh}");
    // Every frame the VIP sends (ARP replies, echo replies, announcements) carries its MAC.
    let frames = capture.stop();
    let vip = [192u8, 0, 2, 50];
    let from_vip: Vec<&common::wire::Frame> = frames
        .iter()
        .filter(|f| {
            let arp_sender = f.data.len() >= 32 && f.data[12..14] == [8, 6] && f.data[28..32] == vip;
            let ip_source = f.data.len() >= 30 && f.data[12..14] == [8, 0] && f.data[26..30] == vip;
            arp_sender || ip_source
        })
        .collect();
    assert!(from_vip.len() >= 3, "announcement, ARP reply and echo replies: {}", from_vip.len());
    for frame in &from_vip {
        assert_eq!(
            frame.data[6..12],
            [2, 0, 0x5e, 0x10, 0, 0x32],
            "a frame from the VIP left with another MAC"
        );
    }
    // The parent answers no ARP for the VIP while it runs, and its arp_ignore is put back by stop.
    assert_eq!(sysctl(&seg, "net.ipv4.conf.eth0.arp_ignore"), "1");
    assert_eq!(seg.agent(0, "stop", &params).code, ocf::SUCCESS);
    assert_eq!(sysctl(&seg, "net.ipv4.conf.eth0.arp_ignore"), "0");
    let rules = seg.nodes[0].ip(&["rule", "show"]);
    assert!(!rules.contains("192.0.2.50"), "stop leaves a rule: {rules}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn a_second_node_holding_the_virtual_mac_is_found_by_the_probe_and_the_level_20_watch() {
    for family in [V4, V6] {
        let seg = Segment::new(2);
        // IPv6 probes with nodad only: the kernel's DAD otherwise.
        let params = with(family.params, &[("virtual_mac", "auto")]);
        assert_eq!(seg.agent(0, "start", &params).code, ocf::SUCCESS);
        let (_, mac) = virtual_link(&seg, 0).unwrap();
        let refused = seg.agent(1, "start", &params);
        assert_eq!(refused.code, ocf::ERR_GENERIC, "{}: {refused:#?}", family.vip);
        assert!(refused.reason().contains(&mac), "{}: {}", family.vip, refused.reason());
        assert!(virtual_link(&seg, 1).is_none(), "a refused start leaves no interface");
        // Split brain: node2 adds it anyway; node1's level-20 monitor sees it.
        let blind = with(&params, &[("probe_count", "0")]);
        assert_eq!(seg.agent(1, "start", &blind).code, ocf::SUCCESS);
        let dir = seg.rsctmp.join("node0");
        let watch = common::run_agent(&seg.nodes[0], &dir, "monitor", &params, &[("OCF_CHECK_LEVEL", "20")]);
        assert_eq!(watch.code, ocf::ERR_GENERIC, "{}: {watch:#?}", family.vip);
        assert!(watch.reason().contains(&mac) && watch.reason().contains("conflict"), "{}", watch.reason());
        for i in [0, 1] {
            assert_eq!(seg.agent(i, "stop", &params).code, ocf::SUCCESS);
        }
    }
}

#[test]
fn recover_puts_back_the_address_and_the_interface_and_monitor_tells_what_is_missing() {
    let seg = Segment::new(1);
    let node = &seg.nodes[0];
    // Without the watcher, which would put back the deleted VIP and
    // interface before recover is asked to (tests/self_healing.rs).
    let params = with(V6.params, &[("virtual_mac", "auto"), ("repair_removed", "false")]);
    assert_eq!(seg.agent(0, "start", &params).code, ocf::SUCCESS);
    let (name, mac) = virtual_link(&seg, 0).unwrap();
    // The interface's only IPv6 identity is the VIP: no link-local of its own.
    let addresses = node.ip(&["-6", "addr", "show", "dev", &name]);
    assert!(addresses.contains("2001:db8::50/64") && !addresses.contains("fe80"), "{addresses}");

    node.ip(&["addr", "del", "2001:db8::50/64", "dev", &name]);
    assert_eq!(seg.agent(0, "monitor", &params).code, ocf::NOT_RUNNING);
    assert_eq!(seg.agent(0, "recover", &params).code, ocf::SUCCESS);
    assert_eq!(seg.agent(0, "monitor", &params).code, ocf::SUCCESS);
    assert_eq!(virtual_link(&seg, 0), Some((name.clone(), mac.clone())), "the same interface, kept");

    node.ip(&["link", "del", &name]);
    assert_eq!(seg.agent(0, "monitor", &params).code, ocf::NOT_RUNNING);
    assert_eq!(seg.agent(0, "recover", &params).code, ocf::SUCCESS);
    assert_eq!(virtual_link(&seg, 0).map(|(_, m)| m), Some(mac), "re-created with the VIP's MAC");
    let rules = node.ip(&["-6", "rule", "show"]);
    assert_eq!(
        rules.matches("2001:db8::50").count(),
        1,
        "the deleted interface's rule went with it: {rules}"
    );
    assert!(client_reaches(&seg, V6.vip, Duration::from_secs(3)));
    assert_eq!(seg.agent(0, "stop", &params).code, ocf::SUCCESS);
    assert!(!node.ip(&["-6", "rule", "show"]).contains("2001:db8::50"));
}

#[test]
fn the_level_20_watch_hears_the_virtual_mac_from_another_host_and_explain_names_the_interface() {
    let seg = Segment::new(2);
    let dir = seg.rsctmp.join("node0");
    std::fs::create_dir_all(&dir).unwrap();
    let named = [("OCF_RESOURCE_INSTANCE", "vip")];
    let params = with(V4.params, &[("virtual_mac", "02:00:5e:10:00:33")]);
    let run = |action: &str, env: &[(&str, &str)]| {
        let env: Vec<(&str, &str)> = named.iter().chain(env).copied().collect();
        common::run_agent(&seg.nodes[0], &dir, action, &params, &env)
    };
    assert_eq!(run("start", &[]).code, ocf::SUCCESS);
    let report = common::explain_report(&seg.nodes[0], &dir, "vip", &params);
    let shown = &report["virtual_mac"];
    assert_eq!(shown["mac"], "02:00:5e:10:00:33", "{report:#}");
    assert_eq!(shown["parent"], "eth0");
    assert_eq!(shown["present"], true);
    assert_eq!(
        Some(shown["interface"].as_str().unwrap_or_default().to_string()),
        virtual_link(&seg, 0).map(|l| l.0)
    );
    assert_eq!(run("monitor", &[("OCF_CHECK_LEVEL", "20")]).code, ocf::SUCCESS, "nobody else yet");

    // node2 does not hold the VIP, but sends from its MAC (a gratuitous
    // ARP for an address of its own): a second host with the VIP's MAC.
    let vmac = [2u8, 0, 0x5e, 0x10, 0, 0x33];
    let mut frame = vec![0xff; 6];
    frame.extend(vmac);
    frame.extend([0x08, 0x06, 0, 1, 0x08, 0, 6, 4, 0, 1]);
    frame.extend(vmac);
    frame.extend([192, 0, 2, 77, 0, 0, 0, 0, 0, 0, 192, 0, 2, 77]);
    let sender = common::wire::inject(&seg.nodes[1], "eth0", vec![frame], Duration::from_secs(2));
    let watch = run("monitor", &[("OCF_CHECK_LEVEL", "20")]);
    assert!(sender.join().unwrap() > 0);
    assert_eq!(watch.code, ocf::ERR_GENERIC, "{watch:#?}");
    assert!(
        watch.reason().contains("02:00:5e:10:00:33") && watch.reason().contains("conflict"),
        "{}",
        watch.reason()
    );
    assert_eq!(run("stop", &[]).code, ocf::SUCCESS);
}

#[test]
fn sigkill_at_any_moment_then_stop_leaves_nothing() {
    let seg = Segment::new(1);
    let params = with(V4.params, &[("virtual_mac", "auto"), ("arp_count", "2"), ("arp_interval", "20")]);
    let dir = seg.rsctmp.join("node0");
    std::fs::create_dir_all(&dir).unwrap();
    // A start left alone makes what the killed ones may leave half-made.
    assert_eq!(seg.agent(0, "start", &params).code, ocf::SUCCESS);
    assert!(virtual_link(&seg, 0).is_some() && seg.nodes[0].ip(&["rule", "show"]).contains("192.0.2.50"));
    assert_eq!(sysctl(&seg, "net.ipv4.conf.eth0.arp_ignore"), "1");
    assert_eq!(seg.agent(0, "stop", &params).code, ocf::SUCCESS);
    for round in 0..40u64 {
        let mut child = common::agent_command(&seg.nodes[0], &dir, &common::agent_path(), "start")
            .envs(params.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), *v)))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(round * 700));
        let _ = child.kill();
        let _ = child.wait();
        let stop = seg.agent(0, "stop", &params);
        assert_eq!(stop.code, ocf::SUCCESS, "round {round}: {stop:#?}");
        assert!(virtual_link(&seg, 0).is_none(), "round {round}: interface left");
        assert!(!seg.nodes[0].ip(&["rule", "show"]).contains("192.0.2.50"), "round {round}: rule left");
        assert_eq!(sysctl(&seg, "net.ipv4.conf.eth0.arp_ignore"), "0", "round {round}");
        assert_eq!(seg.agent(0, "monitor", &params).code, ocf::NOT_RUNNING, "round {round}");
    }
}

#[test]
fn a_mac_that_cannot_be_the_vips_own_is_refused_and_changes_nothing() {
    let seg = Segment::new(1);
    let before = seg.nodes[0].snapshot();
    let own = seg.nodes[0].mac("eth0");
    for (mac, fragment) in [
        ("01:00:5e:00:00:01", "multicast"),
        ("00:00:00:00:00:00", "all-zero"),
        ("00:16:3e:12:34:56", "globally administered"),
        (own.as_str(), "already the MAC of an interface"),
    ] {
        let params = with(V4.params, &[("virtual_mac", mac)]);
        let start = seg.agent(0, "start", &params);
        // A MAC this node has is this node's problem (5: try another), the
        // others are wrong everywhere (6).
        let code = if mac == own { ocf::ERR_INSTALLED } else { ocf::ERR_CONFIGURED };
        assert_eq!(start.code, code, "{mac}: {start:#?}");
        assert!(start.reason().contains(fragment), "{mac}: {}", start.reason());
    }
    for (extra, fragment) in [(("iflabel", "web"), "iflabel"), (("lvs_support", "true"), "lvs_support")] {
        let params = with(V4.params, &[("virtual_mac", "auto"), extra]);
        let run = seg.agent(0, "validate-all", &params);
        assert_eq!(run.code, ocf::ERR_CONFIGURED, "{extra:?}: {run:#?}");
        assert!(run.reason().contains(fragment), "{}", run.reason());
    }
    assert_eq!(seg.nodes[0].snapshot(), before);
}

fn sysctl(seg: &Segment, name: &str) -> String {
    let out = seg.nodes[0].exec("sysctl", &["-n", name]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn tempdir(seg: &Segment) -> std::path::PathBuf {
    let dir = seg.rsctmp.join("capture");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// One address served on two links (two resources, one per NIC) with
/// `auto`: each macvlan carries the address's MAC on its own link. That is
/// no collision (VRRP has one MAC per virtual router on every VLAN it
/// serves), so both start, monitor and stop on their own; the same MAC on
/// the NIC's own link is still refused (`a_mac_that_cannot_be_the_vips_own_is_refused_and_changes_nothing`).
#[test]
fn one_address_on_two_nics_gets_the_auto_mac_on_each_link() {
    let lab = common::Lab::new();
    lab.add_eth1();
    let on = |nic| [("ip", V4.vip), ("cidr_netmask", "24"), ("nic", nic), ("virtual_mac", "auto")];
    let (eth0, eth1) = (on("eth0"), on("eth1"));
    let named = |name| [("OCF_RESOURCE_INSTANCE", name)];
    let (a, b) = (named("vip_eth0"), named("vip_eth1"));
    assert_eq!(lab.agent_env(&lab.node, "start", &eth0, &a).code, ocf::SUCCESS);
    let second = lab.agent_env(&lab.node, "start", &eth1, &b);
    assert_eq!(second.code, ocf::SUCCESS, "{second:#?}");
    let parents = || -> Vec<String> {
        let links = lab.node.ip(&["-o", "link", "show", "type", "macvlan"]);
        let with_mac = links.lines().filter(|line| line.contains(V4.auto_mac));
        let mut parents: Vec<String> = with_mac
            .filter_map(|line| Some(line.split('@').nth(1)?.split(':').next()?.to_string()))
            .collect();
        parents.sort();
        parents
    };
    assert_eq!(parents(), ["eth0", "eth1"]);
    assert_eq!(lab.agent_env(&lab.node, "monitor", &eth0, &a).code, ocf::SUCCESS);
    assert_eq!(lab.agent_env(&lab.node, "monitor", &eth1, &b).code, ocf::SUCCESS);
    assert_eq!(lab.agent_env(&lab.node, "stop", &eth1, &b).code, ocf::SUCCESS);
    assert_eq!(parents(), ["eth0"], "stopping one left the other's interface");
    assert_eq!(lab.agent_env(&lab.node, "monitor", &eth0, &a).code, ocf::SUCCESS);
    assert_eq!(lab.agent_env(&lab.node, "stop", &eth0, &a).code, ocf::SUCCESS);
    assert!(parents().is_empty());
}
