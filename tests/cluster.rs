//! The agent under a real Pacemaker 2.1 / Corosync 3 cluster from Debian's
//! packages, driven with crmsh and pcs as admins do, with a client on the
//! same segment watching the VIP. See tests/README.md for the harness.

mod common;
use common::cluster::{Cluster, Pinger, Stack};
use common::no_neighbor_locktime;
use std::time::{Duration, Instant};

const VIP: &str = "192.0.2.50";

fn client_reaches(cluster: &Cluster) -> bool {
    cluster.seg.client.exec("ping", &["-c1", "-W1", VIP]).status.success()
}

fn located(cluster: &Cluster) -> usize {
    cluster.wait_for(Duration::from_secs(30), "vip started", |c| c.location("vip").is_some());
    cluster.location("vip").expect("vip has a location")
}

/// Watches the client's neighbor entry for the VIP from another thread and
/// returns when it first pointed at `mac`.
fn watch_neighbor(cluster: &Cluster, mac: String) -> std::thread::JoinHandle<Option<Instant>> {
    let client = cluster.seg.client.name.clone();
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            let out =
                std::process::Command::new("ip").args(["-n", &client, "neigh", "show", VIP]).output().ok()?;
            if String::from_utf8_lossy(&out.stdout).contains(&mac) {
                return Some(Instant::now());
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        None
    })
}

/// Moves the VIP from node `from` to node `to` with `action` while the
/// client pings it, prints the timeline and checks the client followed.
fn measure_move(cluster: &Cluster, label: &str, from: usize, to: usize, action: impl FnOnce()) {
    let pinger = Pinger::start(&cluster.seg.client, VIP, &cluster.seg.rsctmp, 90);
    std::thread::sleep(Duration::from_millis(300));
    let watcher = watch_neighbor(cluster, cluster.seg.nodes[to].mac("eth0"));
    let started = Instant::now();
    action();
    cluster.wait_for(Duration::from_secs(60), "the move", |c| c.location("vip") == Some(to));
    let shown = started.elapsed();
    let flipped = watcher.join().expect("watcher thread").map(|at| at - started);
    std::thread::sleep(Duration::from_millis(300));
    let (gap, replies) = pinger.finish();
    println!(
        "{label}: node{} -> node{}; client neighbor entry flipped {flipped:?} after the request, cluster showed the move within {:?}; longest gap between ping replies {gap:?} ({replies} replies)",
        from + 1,
        to + 1,
        shown,
    );
    assert!(flipped.is_some(), "the client's neighbor entry never pointed at node{}", to + 1);
    assert!(client_reaches(cluster), "client cannot reach the VIP after {label}");
}

fn crm_vip_runs_moves_on_standby_recovers_from_deletion_and_survives_node_stop(stack: Stack) {
    let cluster = Cluster::start(stack, 2);
    no_neighbor_locktime(&cluster.seg.client);
    cluster.crm_primitive_vip(&["op", "monitor", "interval=5s"]);
    let first = located(&cluster);
    assert!(cluster.seg.nodes[first].has_address("eth0", "192.0.2.50/24"));
    assert!(client_reaches(&cluster));

    let name = format!("node{}", first + 1);
    let second = 1 - first;
    measure_move(&cluster, "standby", first, second, || {
        cluster.must(second, "crm", &["node", "standby", &name]);
    });
    assert!(!cluster.seg.nodes[first].has_address("eth0", "192.0.2.50/24"), "the old node released the VIP");
    cluster.must(0, "crm", &["node", "online", &name]);

    // Someone deletes the address by hand: the resource's watcher puts it
    // back at once, the next monitor says so (190, once), and Pacemaker
    // neither counts a failure nor restarts or moves the VIP.
    let state = cluster.run_state(second);
    let history =
        || std::fs::read_to_string(state.join("IPaddr-history-192.0.2.50+rvip")).unwrap_or_default();
    let starts_before = history().matches("\"started\"").count();
    cluster.seg.nodes[second].ip(&["addr", "del", "192.0.2.50/24", "dev", "eth0"]);
    let repaired = common::wait_for(Duration::from_secs(10), || {
        cluster.seg.nodes[second].has_address("eth0", "192.0.2.50/24")
    });
    println!("manual deletion on node{}: put back after {repaired:?}", second + 1);
    assert!(repaired.is_some(), "the watcher did not put the deleted VIP back");
    // The repair records itself as it ends, a moment after the add.
    cluster.wait_for(Duration::from_secs(10), "the repair's record", |_| history().contains("\"repaired\""));
    // The next recurring monitor takes the repair's notice as it reports it.
    let notice = state.join("IPaddr-repaired-192.0.2.50+rvip");
    cluster.wait_for(Duration::from_secs(20), "the monitor after the repair", |_| !notice.exists());
    // crm_mon lists the degraded result (with who removed the VIP) among
    // the failed actions; it is no failure: the fail count stays 0.
    let failures = cluster.failures(second);
    assert!(
        failures.len() == 1
            && failures[0].contains("exitcode=\"190\"")
            && failures[0].contains("put back after"),
        "only the degraded monitor that tells of the repair: {failures:#?}"
    );
    let failcount = cluster.must(
        second,
        "crm_failcount",
        &["--query", "--resource", "vip", "--node", &format!("node{}", second + 1)],
    );
    assert!(failcount.contains("value=0"), "{failcount}");
    assert_eq!(history().matches("\"started\"").count(), starts_before, "no restart: {}", history());
    assert!(
        !history().contains("\"stopped\"") || history().rfind("\"stopped\"") < history().rfind("\"started\"")
    );
    let holder = located(&cluster);
    assert_eq!(holder, second, "the VIP stayed where it was");

    // The whole cluster stack of the holding node goes away.
    let other = 1 - holder;
    measure_move(&cluster, "cluster stack stopped", holder, other, || cluster.stop_node(holder));
}

fn pcs_vip_runs_and_a_bad_parameter_shows_our_exit_reason(stack: Stack) {
    let cluster = Cluster::start(stack, 1);
    cluster.must(
        0,
        "pcs",
        &[
            "resource",
            "create",
            "vip",
            "ocf:rust:IPaddr",
            "ip=192.0.2.50",
            "cidr_netmask=24",
            "op",
            "monitor",
            "interval=5s",
        ],
    );
    assert_eq!(located(&cluster), 0);
    assert!(client_reaches(&cluster));
    cluster.must(
        0,
        "pcs",
        &["resource", "create", "badvip", "ocf:rust:IPaddr", "ip=192.0.2.51", "cidr_netmask=33", "--force"],
    );
    let reason = "invalid cidr_netmask [33]";
    cluster.wait_for(Duration::from_secs(30), "the failure of badvip", |c| c.crm_mon_xml(0).contains(reason));
    let xml = cluster.crm_mon_xml(0);
    assert!(xml.contains("exitreason=\"invalid cidr_netmask [33]"), "{xml}");
    let status = cluster.must(0, "pcs", &["status"]);
    assert!(status.contains(reason), "pcs status shows our reason: {status}");
    let text = String::from_utf8_lossy(&cluster.on(0, "crm_mon", &["-1"]).stdout).into_owned();
    assert!(text.contains(reason), "crm_mon shows our reason: {text}");
}

/// `crm_resource --validate` of the agent with `options` (NAME=VALUE).
fn validate(cluster: &Cluster, options: &[&str]) -> std::process::Output {
    let mut args = vec!["--validate", "--class", "ocf", "--provider", "rust", "--agent", "IPaddr"];
    for option in options {
        args.extend(["--option", option]);
    }
    cluster.on(0, "crm_resource", &args)
}

fn cluster_tools_show_the_metadata_and_drive_the_agent(stack: Stack) {
    let cluster = Cluster::start(stack, 1);
    let info = cluster.must(0, "crm", &["ra", "info", "ocf:rust:IPaddr"]);
    assert!(info.contains("IPaddr2-compatible") && info.contains("cidr_netmask"), "{info}");
    let describe = cluster.must(0, "pcs", &["resource", "describe", "ocf:rust:IPaddr"]);
    assert!(describe.contains("ip (required)") && describe.contains("arp_count"), "{describe}");

    let good = validate(&cluster, &["ip=192.0.2.50", "cidr_netmask=24"]);
    assert!(good.status.success(), "{good:?}");
    let bad = validate(&cluster, &["ip=192.0.2.999"]);
    assert_eq!(bad.status.code(), Some(6), "{bad:?}");
    assert!(
        String::from_utf8_lossy(&bad.stdout).contains("192.0.2.999")
            || String::from_utf8_lossy(&bad.stderr).contains("192.0.2.999")
    );

    // A resource Pacemaker keeps stopped, driven by hand with --force-*.
    cluster.crm_primitive_vip(&["meta", "target-role=Stopped"]);
    let node = &cluster.seg.nodes[0];
    cluster.must(0, "crm_resource", &["--force-start", "--resource", "vip"]);
    assert!(node.has_address("eth0", "192.0.2.50/24"));
    cluster.must(0, "crm_resource", &["--force-check", "--resource", "vip"]);
    cluster.must(0, "crm_resource", &["--force-stop", "--resource", "vip"]);
    assert!(!node.has_address("eth0", "192.0.2.50/24"));
    let check = cluster.on(0, "crm_resource", &["--force-check", "--resource", "vip"]);
    assert_eq!(check.status.code(), Some(7), "force-check of a stopped VIP: {check:?}");

    // `crm resource trace`, as for a shell agent: the start Pacemaker runs
    // leaves its trace where ocf-shellfuncs would.
    cluster.must(0, "crm", &["resource", "trace", "vip", "start"]);
    cluster.must(0, "crm", &["resource", "start", "vip"]);
    cluster.wait_for(Duration::from_secs(60), "vip started", |c| c.location("vip").is_some());
    let trace = cluster.must(0, "sh", &["-c", "cat /var/lib/heartbeat/trace_ra/IPaddr/vip.start.*"]);
    assert!(
        trace.contains("IPaddr start, environment:") && trace.contains("OCF_RESKEY_trace_ra=1"),
        "{trace}"
    );
    assert!(trace.contains("DEBUG:") && trace.contains("INFO: Adding inet address 192.0.2.50/24"), "{trace}");
}

/// `crm_resource --set-parameter`, as an admin changes a running VIP.
fn set_parameter(cluster: &Cluster, name: &str, value: &str) {
    cluster.must(
        0,
        "crm_resource",
        &["--resource", "vip", "--set-parameter", name, "--parameter-value", value],
    );
}

fn pacemaker_log(cluster: &Cluster) -> String {
    cluster.must(0, "cat", &["/var/log/pacemaker/pacemaker.log"])
}

/// The operations Pacemaker recorded for `vip` on node `i`, one line each.
fn recorded_operations(cluster: &Cluster, i: usize) -> Vec<String> {
    let status = cluster.must(i, "cibadmin", &["--query", "--scope", "status"]);
    status
        .lines()
        .filter(|l| l.contains("<lrm_rsc_op ") && l.contains("id=\"vip_"))
        .map(str::to_string)
        .collect()
}

fn reload_agent_takes_a_new_arp_count_while_the_vip_stays_up(stack: Stack) {
    let cluster = Cluster::start(stack, 1);
    cluster.crm_primitive_vip(&["op", "monitor", "interval=5s"]);
    assert_eq!(located(&cluster), 0);
    // The kernel's creation time of the address tells whether it stayed:
    // a removal and re-add (by a restart, or the watcher's repair) gives a
    // new one. The history says what the agent did meanwhile.
    let node = &cluster.seg.nodes[0];
    let vip: std::net::IpAddr = VIP.parse().expect("an address");
    let state = cluster.run_state(0);
    let history =
        || std::fs::read_to_string(state.join("IPaddr-history-192.0.2.50+rvip")).unwrap_or_default();
    let created = node.address_created("eth0", vip);
    assert!(created.is_some(), "the VIP is up");
    set_parameter(&cluster, "arp_count", "3");
    // Pacemaker records a reload as the start it replaces; its log names it
    // ("ok" in 2.1, "OK" in 3.0).
    cluster.wait_for(Duration::from_secs(30), "reload-agent", |c| {
        pacemaker_log(c).to_lowercase().contains("result of reload-agent operation for vip on node1: ok")
    });
    assert_eq!(node.address_created("eth0", vip), created, "the VIP went away during the reload");
    let during = history();
    assert!(!during.contains("\"stopped\"") && !during.contains("\"repaired\""), "{during}");
    assert!(client_reaches(&cluster));
    assert!(!pacemaker_log(&cluster).contains("stop operation for vip"), "a reload, not a restart");

    // A parameter that is not reloadable restarts the VIP: stopped, and
    // added again.
    set_parameter(&cluster, "iflabel", "web");
    cluster.wait_for(Duration::from_secs(30), "the restart", |c| {
        c.seg.nodes[0].addresses("eth0").contains("eth0:web") && c.location("vip") == Some(0)
    });
    assert_ne!(node.address_created("eth0", vip), created, "the restart removed the VIP and added it again");
    assert!(history().contains("\"stopped\""), "{}", history());
}

fn a_lost_ping_list_is_degraded_not_failed_under_pacemaker(stack: Stack) {
    let cluster = Cluster::start(stack, 1);
    cluster.crm_primitive_vip(&[
        "ping_list=192.0.2.200",
        "ping_timeout=200",
        "op",
        "monitor",
        "interval=2s",
        "OCF_CHECK_LEVEL=10",
    ]);
    assert_eq!(located(&cluster), 0);
    cluster.wait_for(Duration::from_secs(30), "a degraded monitor", |c| {
        recorded_operations(c, 0)
            .iter()
            .any(|op| op.contains("operation=\"monitor\"") && op.contains("rc-code=\"190\""))
    });
    std::thread::sleep(Duration::from_secs(5));
    assert_eq!(cluster.location("vip"), Some(0), "degraded keeps the VIP where it is");
    assert!(cluster.seg.nodes[0].has_address("eth0", "192.0.2.50/24"));
    let ops = recorded_operations(&cluster, 0);
    assert!(!ops.iter().any(|op| op.contains("operation=\"stop\"")), "no recovery for degraded: {ops:#?}");
    let mon = cluster.crm_mon_xml(0);
    assert!(mon.contains("did not answer"), "crm_mon shows the reason: {mon}");
}

fn a_deleted_vip_is_put_back_by_its_watcher_and_a_spent_budget_is_left_to_pacemaker(stack: Stack) {
    let cluster = Cluster::start(stack, 1);
    cluster.crm_primitive_vip(&["op", "monitor", "interval=2s"]);
    assert_eq!(located(&cluster), 0);
    let node = &cluster.seg.nodes[0];
    let state = cluster.run_state(0);
    let history =
        || std::fs::read_to_string(state.join("IPaddr-history-192.0.2.50+rvip")).unwrap_or_default();
    let notice = state.join("IPaddr-repaired-192.0.2.50+rvip");
    let delete = || node.ip(&["addr", "del", "192.0.2.50/24", "dev", "eth0"]);
    for n in 1..=3 {
        delete();
        cluster.wait_for(Duration::from_secs(10), "the repair", |_| {
            history().matches("\"repaired\"").count() == n
        });
        assert!(node.has_address("eth0", "192.0.2.50/24"));
        // The next recurring monitor reports the repair: 190 with who did it.
        cluster.wait_for(Duration::from_secs(10), "the monitor after the repair", |_| !notice.exists());
    }
    let log = pacemaker_log(&cluster);
    assert!(
        log.contains("removed by") && log.contains("put back after"),
        "Pacemaker logged the monitor's reason for the repair"
    );
    let ops = recorded_operations(&cluster, 0);
    assert!(!ops.iter().any(|op| op.contains("operation=\"stop\"")), "no restart for a repair: {ops:#?}");
    let failcount = cluster.must(0, "crm_failcount", &["--query", "--resource", "vip", "--node", "node1"]);
    assert!(failcount.contains("value=0"), "{failcount}");
    // A fourth deletion within a minute: the watcher stops fighting, the
    // monitor answers 7 with why, and Pacemaker recovers the VIP (stop, start).
    delete();
    let recovered = |c: &Cluster| {
        let history = history();
        let refused = history.find("\"not-repaired\"");
        let restarted = history.rfind("\"stopped\"").zip(history.rfind("\"started\""));
        matches!((refused, restarted), (Some(r), Some((stop, start))) if r < stop && stop < start)
            && c.seg.nodes[0].has_address("eth0", "192.0.2.50/24")
    };
    cluster.wait_for(Duration::from_secs(30), "Pacemaker's recovery (stop, start)", recovered);
    let failures = cluster.failures(0);
    assert!(
        failures.iter().any(|f| f.contains("vip_monitor_2000") && f.contains("not put back")),
        "{failures:#?}"
    );
    assert!(history().contains("\"not-repaired\""), "{}", history());
}

/// Which nodes run an instance of the clone `cip`, per crm_mon.
fn clone_nodes(cluster: &Cluster) -> Vec<String> {
    let xml = cluster.crm_mon_xml(cluster.any_running());
    xml.split("<resource id=\"cip:")
        .skip(1)
        .filter(|block| {
            let block = &block[..block.find("</resource>").unwrap_or(block.len())];
            block.contains("role=\"Started\"") && block.contains("failed=\"false\"")
        })
        .filter_map(|block| {
            let at = block.find("<node name=\"")? + "<node name=\"".len();
            Some(block[at..].chars().take_while(|c| *c != '"').collect())
        })
        .collect()
}

fn a_three_node_clone_shares_one_address_and_moves_buckets_when_a_node_leaves(stack: Stack) {
    use common::{NameServer, ask_name};
    const CIP: &str = "192.0.2.60";
    let cluster = Cluster::start(stack, 3);
    cluster.must(
        0,
        "crm",
        &[
            "configure",
            "primitive",
            "cip",
            "ocf:rust:IPaddr",
            "params",
            "ip=192.0.2.60",
            "cidr_netmask=24",
            "op",
            "monitor",
            "interval=5s",
        ],
    );
    cluster.must(
        0,
        "crm",
        &[
            "configure",
            "clone",
            "cipclone",
            "cip",
            "meta",
            "clone-max=3",
            "clone-node-max=3",
            "globally-unique=true",
        ],
    );
    cluster.wait_for(Duration::from_secs(60), "three instances", |c| {
        let mut nodes = clone_nodes(c);
        nodes.sort();
        nodes == ["node1", "node2", "node3"]
    });
    for node in &cluster.seg.nodes {
        assert!(node.has_address("eth0", "192.0.2.60/24"));
    }
    let sources: Vec<String> = (101..=140).map(|i| format!("192.0.2.{i}")).collect();
    for source in &sources {
        cluster.seg.client.ip(&["addr", "add", &format!("{source}/24"), "dev", "eth0"]);
    }
    let servers: Vec<NameServer> =
        (0..3).map(|n| NameServer::start(&cluster.seg.nodes[n], 8080, &format!("node{}", n + 1))).collect();
    let ask_all = |servers: &[NameServer]| {
        let before: usize = servers.iter().map(NameServer::count).sum();
        let answers: Vec<String> = sources
            .iter()
            .map(|s| {
                ask_name(&cluster.seg.client, s, CIP, 8080).unwrap_or_else(|| panic!("nobody served {s}"))
            })
            .collect();
        let after: usize = servers.iter().map(NameServer::count).sum();
        assert_eq!(after - before, sources.len(), "each connection accepted by exactly one node");
        answers
    };
    let answers = ask_all(&servers);
    for node in ["node1", "node2", "node3"] {
        assert!(answers.iter().any(|a| a == node), "{node} serves none of {answers:?}");
    }
    println!("three nodes: {answers:?}");

    // node3 leaves: its bucket moves to another node and every client is served.
    cluster.stop_node(2);
    cluster.wait_for(Duration::from_secs(60), "the bucket to move", |c| {
        let nodes = clone_nodes(c);
        nodes.len() == 3 && !nodes.iter().any(|n| n == "node3")
    });
    let answers = ask_all(&servers[..2]);
    assert!(!answers.iter().any(|a| a == "node3"), "{answers:?}");
    println!("two nodes: {answers:?}");

    // Stopping the clone removes every address and rule the agent added.
    cluster.must(0, "crm", &["resource", "stop", "cipclone"]);
    cluster.wait_for(Duration::from_secs(60), "the clone to stop", |c| {
        clone_nodes(c).is_empty() && !c.seg.nodes[..2].iter().any(|n| n.has_address("eth0", "192.0.2.60/24"))
    });
    for node in &cluster.seg.nodes[..2] {
        let rules = String::from_utf8_lossy(&node.exec("nft", &["list", "ruleset"]).stdout).into_owned();
        assert!(!rules.contains("ocf_ipaddr"), "{rules}");
    }
}

fn crm_resource_stop_removes_the_vip_from_a_nic_renamed_while_it_ran(stack: Stack) {
    let cluster = Cluster::start(stack, 1);
    cluster.crm_primitive_vip(&["nic=eth0", "op", "monitor", "interval=60s"]);
    assert_eq!(located(&cluster), 0);
    let node = &cluster.seg.nodes[0];
    assert!(node.has_address("eth0", "192.0.2.50/24"));
    // An admin (or udev on a hot-plug) renames the NIC under the running VIP.
    node.ip(&["link", "set", "eth0", "down"]);
    node.ip(&["link", "set", "eth0", "name", "wan0"]);
    node.ip(&["link", "set", "wan0", "up"]);
    assert!(node.has_address("wan0", "192.0.2.50/24"));
    cluster.must(0, "crm", &["resource", "stop", "vip"]);
    cluster.wait_for(Duration::from_secs(30), "vip stopped", |c| {
        let xml = c.crm_mon_xml(0);
        xml.contains("<resource id=\"vip\"") && xml.contains("role=\"Stopped\"")
    });
    let everywhere = node.ip(&["-o", "addr", "show"]);
    assert!(!everywhere.contains("192.0.2.50/"), "stop said it stopped and left the VIP: {everywhere}");
    assert!(!cluster.crm_mon_xml(0).contains("<failure "), "{}", cluster.crm_mon_xml(0));
}

on_both_stacks!(
    crm_vip_runs_moves_on_standby_recovers_from_deletion_and_survives_node_stop,
    pcs_vip_runs_and_a_bad_parameter_shows_our_exit_reason,
    cluster_tools_show_the_metadata_and_drive_the_agent,
    reload_agent_takes_a_new_arp_count_while_the_vip_stays_up,
    a_lost_ping_list_is_degraded_not_failed_under_pacemaker,
    a_deleted_vip_is_put_back_by_its_watcher_and_a_spent_budget_is_left_to_pacemaker,
    crm_resource_stop_removes_the_vip_from_a_nic_renamed_while_it_ran,
    a_three_node_clone_shares_one_address_and_moves_buckets_when_a_node_leaves,
);
