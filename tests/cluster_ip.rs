//! The load-shared cluster IP (clone mode) driven directly, on nodes and a
//! client sharing one segment: every node holds the VIP, ARP answers carry
//! the shared multicast MAC, each connection is served by exactly one node,
//! and stop removes exactly the rules the agent added.

mod common;
use common::{NameServer, Segment, ask_name, ocf, run_agent};

const PORT: u16 = 8080;
const VIP: &str = "192.0.2.60";

/// Runs clone instance `instance` of `total` on node `node` with the VIP's
/// parameters and `extra` ones.
fn instance(
    seg: &Segment,
    node: usize,
    action: &str,
    total: usize,
    instance: usize,
    extra: &[(&str, &str)],
) -> common::Run {
    let mut params = vec![("ip", VIP), ("cidr_netmask", "24")];
    params.extend_from_slice(extra);
    run_instance(seg, node, action, (total, instance), &params, &[])
}

/// Runs clone instance `clone.1` of `clone.0` on node `node` with exactly
/// `params`, and `env` besides the clone's meta attributes.
fn run_instance(
    seg: &Segment,
    node: usize,
    action: &str,
    clone: (usize, usize),
    params: &[(&str, &str)],
    env: &[(&str, &str)],
) -> common::Run {
    let (total, instance) = (clone.0.to_string(), clone.1.to_string());
    let mut full_env = vec![
        ("OCF_RESKEY_CRM_meta_clone_max", total.as_str()),
        ("OCF_RESKEY_CRM_meta_clone", instance.as_str()),
        ("OCF_RESKEY_CRM_meta_globally_unique", "true"),
    ];
    full_env.extend_from_slice(env);
    let dir = seg.rsctmp.join(format!("node{node}"));
    std::fs::create_dir_all(&dir).expect("rsctmp");
    run_agent(&seg.nodes[node], &dir, action, params, &full_env)
}

/// Client source addresses 192.0.2.101 to .130.
fn add_client_sources(seg: &Segment) -> Vec<String> {
    (101..=130)
        .map(|i| {
            let ip = format!("192.0.2.{i}");
            seg.client.ip(&["addr", "add", &format!("{ip}/24"), "dev", "eth0"]);
            ip
        })
        .collect()
}

fn nft_ruleset(seg: &Segment, node: usize) -> String {
    String::from_utf8_lossy(&seg.nodes[node].exec("nft", &["list", "ruleset"]).stdout).into_owned()
}

fn serve_and_check(seg: &Segment, servers: &[NameServer], sources: &[String]) -> Vec<String> {
    let before: usize = servers.iter().map(NameServer::count).sum();
    let answers: Vec<String> = sources
        .iter()
        .map(|src| ask_name(&seg.client, src, VIP, PORT).unwrap_or_else(|| panic!("nobody served {src}")))
        .collect();
    let after: usize = servers.iter().map(NameServer::count).sum();
    assert_eq!(after - before, sources.len(), "each connection accepted by exactly one node");
    answers
}

fn run_two_nodes(extra: &[(&str, &str)]) {
    let seg = Segment::new(2);
    for node in 0..2 {
        let run = instance(&seg, node, "start", 2, node, extra);
        assert_eq!(run.code, ocf::SUCCESS, "{run:#?}");
        assert!(seg.nodes[node].has_address("eth0", "192.0.2.60/24"));
        assert_eq!(instance(&seg, node, "monitor", 2, node, extra).code, ocf::SUCCESS);
        let other = instance(&seg, node, "monitor", 2, 1 - node, extra);
        assert_eq!(other.code, ocf::NOT_RUNNING, "the other bucket is not served here");
    }
    for node in 0..2 {
        let mut params = vec![("ip", VIP), ("cidr_netmask", "24"), ("ping_list", "192.0.2.100")];
        params.extend_from_slice(extra);
        let deep = [("OCF_CHECK_LEVEL", "20"), ("OCF_RESKEY_CRM_meta_interval", "10000")];
        let run = run_instance(&seg, node, "monitor", (2, node), &params, &deep);
        assert_eq!(run.code, ocf::SUCCESS, "every node's pings are answered, whatever the hash: {run:#?}");
    }
    let mac = common::neighbor_mac(&seg.client, VIP);
    let sources = add_client_sources(&seg);
    let servers: Vec<NameServer> =
        (0..2).map(|n| NameServer::start(&seg.nodes[n], PORT, &format!("node{n}"))).collect();
    let answers = serve_and_check(&seg, &servers, &sources);
    let shared = common::neighbor_mac(&seg.client, VIP).expect("the client resolved the VIP");
    assert_eq!(
        u8::from_str_radix(&shared[..2], 16).unwrap() & 1,
        1,
        "{shared} is a multicast MAC ({mac:?} before)"
    );
    let on_node0 = answers.iter().filter(|a| *a == "node0").count();
    assert!(on_node0 > 0 && on_node0 < sources.len(), "both nodes serve: {answers:?}");
    if extra.contains(&("clusterip_hash", "sourceip")) {
        // Every connection of a client lands on the same node (a new one
        // has a new source port, which only the other hashes look at).
        for (source, first) in sources.iter().zip(&answers).take(10) {
            assert_eq!(ask_name(&seg.client, source, VIP, PORT).as_deref(), Some(first.as_str()));
        }
    }

    let explained = instance(&seg, 0, "explain", 2, 0, extra);
    assert!(explained.stdout.contains("cluster ip   bucket 1 of 2"), "{explained:#?}");
    assert!(
        explained.stdout.contains(&format!("shared MAC {shared}, buckets served here: [1]")),
        "{explained:#?}"
    );
    assert!(explained.stdout.contains("nobody else answered"), "other nodes are no conflict: {explained:#?}");

    // Node 1's instance moves to node 0: node 0 serves both buckets.
    assert_eq!(instance(&seg, 1, "stop", 2, 1, extra).code, ocf::SUCCESS);
    assert!(!seg.nodes[1].has_address("eth0", "192.0.2.60/24"), "last instance of node 1 gone");
    assert_eq!(instance(&seg, 0, "start", 2, 1, extra).code, ocf::SUCCESS);
    let answers = serve_and_check(&seg, &servers, &sources);
    assert!(answers.iter().all(|a| a == "node0"), "{answers:?}");
    // One of node 0's instances stops: the address stays for the other.
    assert_eq!(instance(&seg, 0, "stop", 2, 0, extra).code, ocf::SUCCESS);
    assert!(seg.nodes[0].has_address("eth0", "192.0.2.60/24"));
    assert_eq!(instance(&seg, 0, "monitor", 2, 1, extra).code, ocf::SUCCESS);
    assert_eq!(instance(&seg, 0, "monitor", 2, 0, extra).code, ocf::NOT_RUNNING);
    assert_eq!(instance(&seg, 0, "stop", 2, 1, extra).code, ocf::SUCCESS);
    assert!(!seg.nodes[0].has_address("eth0", "192.0.2.60/24"));
    for node in 0..2 {
        assert!(
            !nft_ruleset(&seg, node).contains("ocf"),
            "rules left on node {node}: {}",
            nft_ruleset(&seg, node)
        );
        let iptables =
            String::from_utf8_lossy(&seg.nodes[node].exec("iptables-save", &[]).stdout).into_owned();
        assert!(!iptables.contains(VIP), "{iptables}");
        assert!(
            !seg.nodes[node].ip(&["maddr", "show", "dev", "eth0"]).contains(&shared),
            "left the shared MAC"
        );
    }
}

#[test]
fn nft_cluster_ip_shares_one_address_between_two_nodes() {
    run_two_nodes(&[("clusterip_firewall", "nft")]);
}

#[test]
fn nft_sourceip_hash_keeps_each_client_on_one_node() {
    run_two_nodes(&[("clusterip_firewall", "nft"), ("clusterip_hash", "sourceip")]);
}

#[test]
fn iptables_cluster_ip_shares_one_address_between_two_nodes() {
    run_two_nodes(&[("clusterip_firewall", "iptables"), ("clusterip_hash", "sourceip")]);
}

#[test]
fn stop_leaves_other_rules_alone() {
    let seg = Segment::new(1);
    seg.nodes[0].exec("nft", &["add", "table", "ip", "admin"]);
    let before = nft_ruleset(&seg, 0);
    assert_eq!(instance(&seg, 0, "start", 2, 0, &[]).code, ocf::SUCCESS);
    assert!(nft_ruleset(&seg, 0).contains("ocf_ipaddr_192_0_2_60"));
    assert_eq!(instance(&seg, 0, "stop", 2, 0, &[]).code, ocf::SUCCESS);
    assert_eq!(nft_ruleset(&seg, 0), before);
    assert_eq!(instance(&seg, 0, "stop", 2, 0, &[]).code, ocf::SUCCESS, "stop is idempotent");
}

#[test]
fn ipv6_cluster_ip_runs_on_two_nodes_without_tripping_dad() {
    let seg = Segment::new(2);
    let params = [("ip", "2001:db8::60"), ("cidr_netmask", "64")];
    let run_on = |node: usize, action: &str| run_instance(&seg, node, action, (2, node), &params, &[]);
    for node in 0..2 {
        let run = run_on(node, "start");
        assert_eq!(run.code, ocf::SUCCESS, "{run:#?}");
    }
    for node in 0..2 {
        let addresses = seg.nodes[node].addresses("eth0");
        assert!(addresses.contains("2001:db8::60/64") && !addresses.contains("dadfailed"), "{addresses}");
        assert_eq!(run_on(node, "monitor").code, ocf::SUCCESS);
        let rules = nft_ruleset(&seg, node);
        assert!(
            rules.contains("table ip6 ocf_ipaddr_2001_db8__60") && rules.contains("nd-neighbor-advert"),
            "{rules}"
        );
    }
    for node in 0..2 {
        assert_eq!(run_on(node, "stop").code, ocf::SUCCESS);
        assert!(!nft_ruleset(&seg, node).contains("ocf_ipaddr"));
        assert!(!seg.nodes[node].addresses("eth0").contains("2001:db8::60"));
    }
}

/// Instances starting and stopping at once on one node (Pacemaker runs
/// them in parallel) share one filter: one drop rule, one rule per bucket,
/// and nothing left when the last has stopped.
#[test]
fn concurrent_instances_on_one_node_share_one_filter() {
    let seg = Segment::new(1);
    let seg_ref = &seg;
    let parallel = |action: &'static str| {
        std::thread::scope(|scope| {
            let runs: Vec<_> =
                (0..4).map(|i| scope.spawn(move || instance(seg_ref, 0, action, 4, i, &[]).code)).collect();
            runs.into_iter().map(|run| run.join().expect("agent thread")).collect::<Vec<i32>>()
        })
    };
    assert_eq!(parallel("start"), [ocf::SUCCESS; 4]);
    let rules = nft_ruleset(&seg, 0);
    assert_eq!(rules.matches("ocf-ipaddr other buckets").count(), 1, "{rules}");
    for bucket in 1..=4 {
        assert_eq!(rules.matches(&format!("\"ocf-ipaddr bucket {bucket}\"")).count(), 1, "{rules}");
    }
    assert_eq!(parallel("stop"), [ocf::SUCCESS; 4]);
    assert!(!nft_ruleset(&seg, 0).contains("ocf_ipaddr"), "{}", nft_ruleset(&seg, 0));
    assert!(!seg.nodes[0].has_address("eth0", "192.0.2.60/24"));
}

/// SIGKILL at random moments of a clone instance's start or stop: the next
/// start and stop still converge, with no rule, address or MAC left.
#[test]
fn sigkill_during_a_clone_start_or_stop_converges() {
    let seg = Segment::new(1);
    let dir = seg.rsctmp.join("node0");
    std::fs::create_dir_all(&dir).expect("rsctmp");
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    println!("seed {seed}");
    let mut state = u64::from(seed);
    let mut next = |bound: u64| {
        state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (state >> 33) % bound
    };
    let shared = common::neighbor_mac(&seg.client, VIP);
    assert!(shared.is_none());
    for round in 0..40 {
        let action = if next(2) == 0 { "start" } else { "stop" };
        if action == "stop" {
            assert_eq!(instance(&seg, 0, "start", 2, 0, &[]).code, ocf::SUCCESS, "round {round}: setup");
        }
        let mut child = std::process::Command::new("ip")
            .args(["netns", "exec", &seg.nodes[0].name])
            .arg(common::agent_path())
            .arg(action)
            .env("HA_RSCTMP", &dir)
            .env("OCF_RESKEY_ip", VIP)
            .env("OCF_RESKEY_cidr_netmask", "24")
            .env("OCF_RESKEY_CRM_meta_clone_max", "2")
            .env("OCF_RESKEY_CRM_meta_clone", "0")
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("agent");
        std::thread::sleep(std::time::Duration::from_micros(next(30_000)));
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(instance(&seg, 0, "start", 2, 0, &[]).code, ocf::SUCCESS, "round {round} ({action})");
        assert_eq!(instance(&seg, 0, "monitor", 2, 0, &[]).code, ocf::SUCCESS, "round {round} ({action})");
        assert_eq!(nft_ruleset(&seg, 0).matches("ocf-ipaddr other buckets").count(), 1, "round {round}");
        assert_eq!(instance(&seg, 0, "stop", 2, 0, &[]).code, ocf::SUCCESS, "round {round} ({action})");
        assert!(!nft_ruleset(&seg, 0).contains("ocf_ipaddr"), "round {round}: {}", nft_ruleset(&seg, 0));
        assert!(!seg.nodes[0].has_address("eth0", "192.0.2.60/24"), "round {round}");
    }
}

/// The rules are removed even when the address and its subnet vanished
/// from the node behind the agent's back.
#[test]
fn stop_removes_the_rules_when_the_address_and_its_subnet_are_gone() {
    let seg = Segment::new(1);
    assert_eq!(instance(&seg, 0, "start", 2, 0, &[]).code, ocf::SUCCESS);
    seg.nodes[0].ip(&["addr", "flush", "dev", "eth0"]);
    assert_eq!(instance(&seg, 0, "monitor", 2, 0, &[]).code, ocf::NOT_RUNNING);
    let stop = instance(&seg, 0, "stop", 2, 0, &[]);
    assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
    assert!(!nft_ruleset(&seg, 0).contains("ocf_ipaddr"), "{}", nft_ruleset(&seg, 0));
}

#[test]
fn stopping_a_cluster_ip_keeps_another_vips_secondary_address() {
    let seg = Segment::new(1);
    // The cluster IP is the primary address of a subnet the node has no
    // address of its own in; another resource's VIP there is a secondary.
    let shared = [("ip", "198.51.100.60"), ("cidr_netmask", "24"), ("nic", "eth0")];
    let run = run_instance(&seg, 0, "start", (2, 0), &shared, &[]);
    assert_eq!(run.code, ocf::SUCCESS, "{run:#?}");
    let other = [("ip", "198.51.100.61"), ("cidr_netmask", "24"), ("nic", "eth0")];
    assert_eq!(seg.agent(0, "start", &other).code, ocf::SUCCESS);
    let run = run_instance(&seg, 0, "stop", (2, 0), &shared, &[]);
    assert_eq!(run.code, ocf::SUCCESS, "{run:#?}");
    assert!(!seg.nodes[0].has_address("eth0", "198.51.100.60/24"));
    assert!(
        seg.nodes[0].has_address("eth0", "198.51.100.61/24"),
        "the kernel took the other VIP with the cluster IP: {}",
        seg.nodes[0].addresses("eth0")
    );
    assert_eq!(seg.agent(0, "monitor", &other).code, ocf::SUCCESS);
}

/// Runs clone instance `instance` of 2 on node 0 with an `nft` whose JSON
/// listings are unreadable (a newer nft's format, a truncated pipe): a
/// wrapper bind-mounted over /usr/sbin/nft in a private mount namespace,
/// handing every other command to the real nft.
fn with_unreadable_nft_listings(seg: &Segment, action: &str, instance: usize) -> common::Run {
    let dir = seg.rsctmp.join("fake-nft");
    std::fs::create_dir_all(&dir).unwrap();
    let real = dir.join("real-nft");
    std::fs::copy("/usr/sbin/nft", &real).expect("nft is installed");
    let wrapper = dir.join("nft");
    let script = format!(
        "#!/bin/sh\ncase \"$*\" in\n  *-j*list*) echo '{{\"nftables\": [{{\"rule\": '; exit 0 ;;\nesac\nexec {} \"$@\"\n",
        real.display()
    );
    std::fs::write(&wrapper, script).unwrap();
    std::fs::set_permissions(&wrapper, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let rsctmp = seg.rsctmp.join("node0");
    let mut cmd = std::process::Command::new("unshare");
    cmd.args([
        "-m",
        "sh",
        "-c",
        "mount --bind \"$0\" /usr/sbin/nft && exec ip netns exec \"$1\" \"$2\" \"$3\"",
    ])
    .arg(&wrapper)
    .arg(&seg.nodes[0].name)
    .arg(common::agent_path())
    .arg(action)
    .env_clear()
    .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
    .env("HA_RSCTMP", &rsctmp)
    .env("OCF_RESKEY_ip", VIP)
    .env("OCF_RESKEY_cidr_netmask", "24")
    .env("OCF_RESKEY_CRM_meta_clone_max", "2")
    .env("OCF_RESKEY_CRM_meta_clone", instance.to_string())
    .env("OCF_RESKEY_CRM_meta_globally_unique", "true");
    common::finish(cmd)
}

#[test]
fn unreadable_nft_output_fails_the_stop_and_leaves_every_filter_in_place() {
    let seg = Segment::new(1);
    for instance in 0..2 {
        let run = run_instance(&seg, 0, "start", (2, instance), &[("ip", VIP), ("cidr_netmask", "24")], &[]);
        assert_eq!(run.code, ocf::SUCCESS, "{run:#?}");
    }
    let before = nft_ruleset(&seg, 0);
    assert!(before.contains("ocf-ipaddr bucket 1") && before.contains("ocf-ipaddr bucket 2"), "{before}");
    let stop = with_unreadable_nft_listings(&seg, "stop", 0);
    assert_eq!(stop.code, ocf::ERR_GENERIC, "{stop:#?}");
    assert!(stop.reason().contains("unreadable nft"), "{stop:#?}");
    assert_eq!(nft_ruleset(&seg, 0), before, "a filter changed on output nobody could read");
    assert!(seg.nodes[0].has_address("eth0", "192.0.2.60/24"), "the other instance's address went");
    for instance in 0..2 {
        let run = run_instance(&seg, 0, "stop", (2, instance), &[("ip", VIP), ("cidr_netmask", "24")], &[]);
        assert_eq!(run.code, ocf::SUCCESS, "{run:#?}");
    }
    assert!(!nft_ruleset(&seg, 0).contains("ocf_ipaddr"));
}

#[test]
fn a_recurring_monitor_fails_an_instance_whose_bucket_rule_is_gone() {
    let seg = Segment::new(1);
    let params = [("ip", VIP), ("cidr_netmask", "24"), ("clusterip_firewall", "nft")];
    let recurring = [("OCF_RESKEY_CRM_meta_interval", "10000")];
    let run = |instance: usize, action: &str, env: &[(&str, &str)]| {
        run_instance(&seg, 0, action, (2, instance), &params, env)
    };
    for instance in 0..2 {
        assert_eq!(run(instance, "start", &[]).code, ocf::SUCCESS);
    }
    // Someone deletes the rule of instance 1's bucket (bucket 2).
    let listing = String::from_utf8_lossy(
        &seg.nodes[0]
            .exec("nft", &["-a", "list", "chain", "ip", "ocf_ipaddr_192_0_2_60", "prerouting"])
            .stdout,
    )
    .into_owned();
    let line = listing
        .lines()
        .find(|l| l.contains("\"ocf-ipaddr bucket 2\""))
        .unwrap_or_else(|| panic!("{listing}"));
    let handle = line.rsplit("handle ").next().expect("a handle").trim().to_string();
    let deleted = seg.nodes[0]
        .exec("nft", &["delete", "rule", "ip", "ocf_ipaddr_192_0_2_60", "prerouting", "handle", &handle]);
    assert!(deleted.status.success(), "{deleted:?}");

    let monitor = run(1, "monitor", &recurring);
    assert_eq!(monitor.code, ocf::ERR_GENERIC, "{monitor:#?}");
    assert!(monitor.reason().contains("bucket 2 of 2"), "{monitor:#?}");
    // A probe cannot tell it from an instance that never ran here.
    assert_eq!(run(1, "monitor", &[("OCF_RESKEY_CRM_meta_interval", "0")]).code, ocf::NOT_RUNNING);
    assert_eq!(run(0, "monitor", &recurring).code, ocf::SUCCESS, "the other instance still serves");
    for instance in 0..2 {
        assert_eq!(run(instance, "stop", &[]).code, ocf::SUCCESS);
    }
    assert!(!seg.nodes[0].has_address("eth0", "192.0.2.60/24"));
}

/// `kill_connections_on_stop` on a cluster IP: an instance's stop that
/// leaves the address to another instance on the node resets nothing (a
/// connection does not say which bucket's it is); the last one's does.
#[test]
fn an_instances_stop_resets_no_connection_while_another_instance_keeps_the_address() {
    use std::io::Read;
    let seg = Segment::new(1);
    let params = [
        ("ip", VIP),
        ("cidr_netmask", "24"),
        ("clusterip_firewall", "nft"),
        ("kill_connections_on_stop", "true"),
    ];
    let run = |instance: usize, action: &str| run_instance(&seg, 0, action, (2, instance), &params, &[]);
    for instance in 0..2 {
        assert_eq!(run(instance, "start").code, ocf::SUCCESS);
    }
    let _server = NameServer::holding(&seg.nodes[0], PORT, "node0");
    let (mut client, name) =
        common::connect_for_name(&seg.client, format!("{VIP}:{PORT}").parse().unwrap(), 5).expect("served");
    assert_eq!(name, "node0");
    let stop = run(1, "stop");
    assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
    client.set_read_timeout(Some(std::time::Duration::from_millis(1))).expect("a read timeout");
    let mut byte = [0u8; 1];
    let kind = client.read(&mut byte).err().map(|e| e.kind());
    assert!(
        matches!(kind, Some(std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut)),
        "instance 0 keeps the address and its clients: {kind:?}"
    );
    assert_eq!(run(0, "stop").code, ocf::SUCCESS);
    client.set_read_timeout(Some(std::time::Duration::from_secs(3))).expect("a read timeout");
    let kind = client.read(&mut byte).err().map(|e| e.kind());
    assert_eq!(kind, Some(std::io::ErrorKind::ConnectionReset), "the last instance's stop resets");
}
