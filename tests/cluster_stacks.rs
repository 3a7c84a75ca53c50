//! What differs between Debian 12's stack (Pacemaker 2.1.5, pcs 0.11) and
//! Debian 13's (Pacemaker 3.0, pcs 0.12) for this agent, as users see it:
//! pcs 0.12 runs the agent's validate-all at `pcs resource create` on the
//! node pcs runs on, and Pacemaker 3.0 makes a clone with clone-node-max > 1
//! globally unique by default. Each scenario runs on both stacks and
//! asserts what that stack does; docs/migration-from-ipaddr2.md lists them.

mod common;
use common::cluster::{Cluster, Stack};
use std::process::Output;
use std::time::Duration;

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

/// pcs's words for what it learnt from the agent's validate-all.
const PCS_VALIDATION: &str = "Validation result from agent";

fn pcs_create_shows_our_validation_where_pcs_runs_it(stack: Stack) {
    let cluster = Cluster::start(stack, 2);
    // eth1 exists on node2 only, with an address of node2's own on it.
    cluster.seg.attach(&cluster.seg.nodes[1], "eth1");
    cluster.seg.nodes[1].ip(&["addr", "add", "192.0.2.22/24", "dev", "eth1"]);

    // A good VIP: no word from the agent on either stack.
    let good = cluster.on(
        0,
        "pcs",
        &["resource", "create", "vip", "ocf:rust:IPaddr", "ip=192.0.2.50", "cidr_netmask=24"],
    );
    assert!(good.status.success(), "{}", text(&good));
    assert!(!text(&good).contains(PCS_VALIDATION), "noise on success: {}", text(&good));

    // A VIP that can never work: pcs 0.12 shows our reason as a warning and
    // creates it; pcs 0.11 creates it silently.
    let bad = cluster.on(
        0,
        "pcs",
        &["resource", "create", "badvip", "ocf:rust:IPaddr", "ip=192.0.2.51", "cidr_netmask=33"],
    );
    assert!(bad.status.success(), "{}", text(&bad));
    let warned = text(&bad).contains(PCS_VALIDATION) && text(&bad).contains("invalid cidr_netmask [33]");
    assert_eq!(warned, stack == Stack::Debian13, "{stack:?}: {}", text(&bad));

    // With --agent-validation both refuse it, with our reason.
    let refused = cluster.on(
        0,
        "pcs",
        &[
            "resource",
            "create",
            "badvip2",
            "ocf:rust:IPaddr",
            "ip=192.0.2.52",
            "cidr_netmask=33",
            "--agent-validation",
        ],
    );
    assert!(
        !refused.status.success() && text(&refused).contains("invalid cidr_netmask [33]"),
        "{}",
        text(&refused)
    );
    assert!(!cluster.must(0, "cibadmin", &["--query", "--scope", "resources"]).contains("badvip2"));

    // validate-all runs on the node pcs runs on: from node1, which lacks
    // eth1, pcs 0.12 warns naming the NIC; from node2 it says nothing.
    let args = |id: &'static str, ip: &'static str| {
        [
            "resource",
            "create",
            id,
            "ocf:rust:IPaddr",
            ip,
            "cidr_netmask=24",
            "nic=eth1",
            "meta",
            "target-role=Stopped",
        ]
    };
    let from_node1 = cluster.on(0, "pcs", &args("v3", "ip=192.0.2.53"));
    assert!(from_node1.status.success(), "{}", text(&from_node1));
    assert_eq!(
        text(&from_node1).contains("nic eth1 does not exist on this node"),
        stack == Stack::Debian13,
        "{stack:?}: {}",
        text(&from_node1)
    );
    let mut strict = args("v4", "ip=192.0.2.54").to_vec();
    strict.push("--agent-validation");
    let from_node2 = cluster.on(1, "pcs", &strict);
    assert!(from_node2.status.success(), "{}", text(&from_node2));
    assert!(!text(&from_node2).contains(PCS_VALIDATION), "{}", text(&from_node2));

    // Started where it prefers node1, which lacks eth1: the start there
    // answers 5 (this node lacks it), and Pacemaker runs it on node2. A 6
    // would ban it from every node.
    cluster.must(0, "pcs", &["constraint", "location", "v3", "prefers", "node1=100"]);
    cluster.must(0, "pcs", &["resource", "enable", "v3"]);
    cluster.wait_for(Duration::from_secs(60), "v3 running on node2", |c| c.location("v3") == Some(1));
    let failures = cluster.failures(0);
    let on_node1: Vec<&String> = failures.iter().filter(|f| f.contains("v3_start_0")).collect();
    assert!(
        on_node1.len() == 1 && on_node1[0].contains("node1") && on_node1[0].contains("exitcode=\"5\""),
        "{stack:?}: {failures:#?}"
    );
    assert!(cluster.holders("192.0.2.53/24") == [1], "{stack:?}: node2 alone holds it");

    // `crm_resource --force-check` passes no interval, which ocf-shellfuncs
    // defaults to 0: a probe for IPaddr2, and for this agent alike (node1
    // lacks eth1: "not running here").
    let force_check = |provider: &str, agent: &str| {
        let options = ["ip=192.0.2.55", "cidr_netmask=24", "nic=eth1"];
        let mut args = vec!["--force-check", "--class", "ocf", "--provider", provider, "--agent", agent];
        for option in &options {
            args.extend_from_slice(&["--option", option]);
        }
        cluster.on(0, "crm_resource", &args).status.code()
    };
    // OCF 1.1's validate-all by level: 0 is the configuration alone (node1
    // lacks eth1, but the configuration is sound), 10 checks this node.
    let validate = |level: &str| {
        let level = format!("--validate={level}");
        let args = ["--class", "ocf", "--provider", "rust", "--agent", "IPaddr", "--option", "ip=192.0.2.56"];
        let mut args = [level.as_str()].into_iter().chain(args).collect::<Vec<_>>();
        args.extend_from_slice(&["--option", "nic=eth1"]);
        cluster.on(0, "crm_resource", &args)
    };
    let pure = validate("0");
    assert!(pure.status.success(), "{stack:?}: {}", text(&pure));
    let local = validate("10");
    assert!(!local.status.success(), "{stack:?}: {}", text(&local));
    assert!(text(&local).contains("nic eth1 does not exist on this node"), "{stack:?}: {}", text(&local));
    let theirs = force_check("heartbeat", "IPaddr2");
    assert_eq!(theirs, Some(7), "{stack:?}: IPaddr2 answers as a probe");
    assert_eq!(force_check("rust", "IPaddr"), theirs, "{stack:?}: as IPaddr2");

    // The agent run by crm_resource alone, for a resource the CIB does not
    // have (--class/--agent/--option), as an admin tries a configuration.
    let direct = |action: &str| {
        let mut args = vec![action, "--class", "ocf", "--provider", "rust", "--agent", "IPaddr"];
        args.extend_from_slice(&["--option", "ip=192.0.2.57", "--option", "cidr_netmask=24"]);
        let out = cluster.on(0, "crm_resource", &args);
        (out.status.code(), text(&out))
    };
    let (code, said) = direct("--force-start");
    assert_eq!(code, Some(0), "{stack:?}: {said}");
    assert_eq!(cluster.holders("192.0.2.57/24"), [0], "{stack:?}");
    assert_eq!(direct("--force-check").0, Some(0), "{stack:?}");
    assert_eq!(direct("--force-stop").0, Some(0), "{stack:?}");
    assert!(cluster.holders("192.0.2.57/24").is_empty(), "{stack:?}");
    assert_eq!(direct("--force-check").0, Some(7), "{stack:?}: stopped");

    // Both stacks hand the agent's meta-data through unchanged.
    let shown = cluster.must(0, "crm_resource", &["--show-metadata", "ocf:rust:IPaddr"]);
    let own = std::process::Command::new(common::agent_path()).arg("meta-data").output().expect("meta-data");
    assert_eq!(shown.trim(), String::from_utf8_lossy(&own.stdout).trim());
}

/// Which addresses of the unique clone `cip` the nodes' kernels hold.
fn clone_addresses(cluster: &Cluster) -> Vec<String> {
    let mut held: Vec<String> = ["192.0.2.60/24", "192.0.2.61/24"]
        .iter()
        .filter(|cidr| !cluster.holders(cidr).is_empty())
        .map(|cidr| cidr.to_string())
        .collect();
    held.sort();
    held
}

fn a_clone_with_its_own_addresses_needs_globally_unique_only_before_pacemaker_3(stack: Stack) {
    let cluster = Cluster::start(stack, 2);
    // pcs validates without the clone's meta attributes: with
    // --agent-validation it refuses, as it does with IPaddr2, naming the
    // agent's reason; without it, it creates. (The clone is made with crm:
    // pcs 0.11 and 0.12 read `clone meta` differently.)
    let create = |validated: bool| {
        let mut args = vec![
            "resource",
            "create",
            "cip",
            "ocf:rust:IPaddr",
            "ip=192.0.2.60",
            "cidr_netmask=24",
            "unique_clone_address=true",
        ];
        if validated {
            args.push("--agent-validation");
        }
        args.extend_from_slice(&["meta", "target-role=Stopped"]);
        cluster.on(0, "pcs", &args)
    };
    let refused = create(true);
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(text(&refused).contains("only with meta globally_unique"), "{}", text(&refused));
    let created = create(false);
    assert!(created.status.success(), "{}", text(&created));
    let clone = cluster.on(
        0,
        "crm",
        &["configure", "clone", "cip-clone", "cip", "meta", "clone-max=2", "clone-node-max=2"],
    );
    match stack {
        // Pacemaker 3.0: globally-unique defaults to true with
        // clone-node-max > 1, each instance runs with its own address.
        Stack::Debian13 => {
            assert!(clone.status.success(), "{}", text(&clone));
            cluster.must(0, "crm", &["resource", "meta", "cip", "delete", "target-role"]);
            cluster.wait_for(Duration::from_secs(60), "both instances", |c| {
                clone_addresses(c) == ["192.0.2.60/24", "192.0.2.61/24"]
            });
            std::thread::sleep(Duration::from_secs(4));
            assert!(cluster.failures(0).is_empty(), "{:#?}", cluster.failures(0));
            cluster.must(0, "crm", &["resource", "stop", "cip-clone"]);
            cluster.wait_for(Duration::from_secs(60), "the clone to stop", |c| clone_addresses(c).is_empty());
        }
        // Pacemaker 2.1: an anonymous clone. crm refuses it; pcs 0.11 makes
        // it, and the agent refuses, naming why.
        Stack::Debian12 => {
            assert!(!clone.status.success(), "{}", text(&clone));
            assert!(
                text(&clone).contains("anonymous clones support only one instance per node"),
                "{}",
                text(&clone)
            );
            cluster.must(0, "pcs", &["resource", "clone", "cip", "clone-max=2", "clone-node-max=2"]);
            cluster.must(0, "pcs", &["resource", "meta", "cip", "target-role="]);
            let reason = "unique_clone_address makes sense only with meta globally_unique set";
            cluster.wait_for(Duration::from_secs(60), "the refusal", |c| {
                c.failures(0).iter().any(|f| f.contains(reason))
            });
            assert!(clone_addresses(&cluster).is_empty());
        }
    }
}

on_both_stacks!(
    pcs_create_shows_our_validation_where_pcs_runs_it,
    a_clone_with_its_own_addresses_needs_globally_unique_only_before_pacemaker_3,
);
