//! Under a real Pacemaker, on Debian 12's and Debian 13's stacks: two
//! resources of one IPv6 gateway address on two VLAN interfaces run, move
//! and stop on their own; and the metrics of resources Pacemaker's
//! executor runs (umask 0026) reach node_exporter running as its packaged
//! user, `prometheus`, a conflict seen by a level-20 monitor included.

mod common;
use common::cluster::{Cluster, Stack};
use common::metrics::{scrape, value};
use std::process::Child;
use std::time::Duration;

const GATEWAY: &str = "2001:db8:aa::1";
const GATEWAY_CIDR: &str = "2001:db8:aa::1/64";

/// `crm configure primitive RESOURCE ocf:rust:IPaddr params PARAMS op
/// monitor interval=3s OPS`, preferring node1 (`inf:`, so that it still
/// moves when node1 goes).
fn configure_on_node1(cluster: &Cluster, resource: &str, params: &[&str], ops: &[&str]) {
    let mut primitive = vec!["configure", "primitive", resource, "ocf:rust:IPaddr", "params"];
    primitive.extend_from_slice(params);
    primitive.extend_from_slice(&["op", "monitor", "interval=3s"]);
    primitive.extend_from_slice(ops);
    let i = cluster.any_running();
    cluster.must(i, "crm", &primitive);
    let constraint = format!("{resource}-on-node1");
    cluster.must(i, "crm", &["configure", "location", &constraint, resource, "inf:", "node1"]);
}

/// Whether node `i` holds the gateway address on `nic`.
fn holds(cluster: &Cluster, i: usize, nic: &str) -> bool {
    cluster.seg.nodes[i].has_address(nic, GATEWAY_CIDR)
}

fn two_resources_of_one_gateway_address_on_two_vlans_run_move_and_stop_apart(stack: Stack) {
    let cluster = Cluster::start(stack, 2);
    // Two VLAN interfaces on each node (a veth pair each: this kernel has
    // no VLAN links), up with carrier.
    for node in &cluster.seg.nodes {
        for vlan in ["vlan10", "vlan20"] {
            node.ip(&["link", "add", vlan, "type", "veth", "peer", "name", &format!("{vlan}p")]);
            node.ip(&["link", "set", vlan, "up"]);
            node.ip(&["link", "set", &format!("{vlan}p"), "up"]);
        }
    }
    for (resource, vlan) in [("gw10", "vlan10"), ("gw20", "vlan20")] {
        let (ip, nic) = (format!("ip={GATEWAY}"), format!("nic={vlan}"));
        configure_on_node1(&cluster, resource, &[&ip, "cidr_netmask=64", &nic, "nodad=true"], &[]);
    }
    cluster.wait_for(Duration::from_secs(60), "both gateways on node1", |c| {
        c.location("gw10") == Some(0) && c.location("gw20") == Some(0)
    });
    assert!(
        holds(&cluster, 0, "vlan10") && holds(&cluster, 0, "vlan20"),
        "{}",
        cluster.seg.nodes[0].snapshot()
    );
    assert!(!holds(&cluster, 1, "vlan10") && !holds(&cluster, 1, "vlan20"));

    // One of them stops: its VLAN loses the address, the other keeps it.
    let i = cluster.any_running();
    cluster.must(i, "crm", &["resource", "stop", "gw20"]);
    cluster.wait_for(Duration::from_secs(30), "gw20 stopped", |_| !holds(&cluster, 0, "vlan20"));
    std::thread::sleep(Duration::from_secs(4));
    assert!(
        holds(&cluster, 0, "vlan10"),
        "stopping gw20 took gw10's address: {}",
        cluster.seg.nodes[0].snapshot()
    );
    assert_eq!(cluster.location("gw10"), Some(0), "gw10's monitor still finds its address");
    cluster.must(i, "crm", &["resource", "start", "gw20"]);
    cluster.wait_for(Duration::from_secs(30), "gw20 back", |c| c.location("gw20") == Some(0));

    // Both move to node2 together.
    cluster.must(i, "crm", &["node", "standby", "node1"]);
    cluster.wait_for(Duration::from_secs(60), "both gateways on node2", |c| {
        c.location("gw10") == Some(1) && c.location("gw20") == Some(1)
    });
    assert!(holds(&cluster, 1, "vlan10") && holds(&cluster, 1, "vlan20"));
    assert!(!holds(&cluster, 0, "vlan10") && !holds(&cluster, 0, "vlan20"), "node1 released both");
    let failures = cluster.failures(cluster.any_running());
    assert!(failures.is_empty(), "no probe, monitor or stop failed: {failures:?}");
}

/// Debian's prometheus-node-exporter in node `i`'s namespaces, as its
/// packaged user, reading the node's own textfile directory; killed when
/// dropped.
struct NodeExporter(Child);

impl NodeExporter {
    fn start(cluster: &Cluster, i: usize) -> NodeExporter {
        let listen = format!("--web.listen-address=192.0.2.{}:9100", 11 + i);
        NodeExporter(cluster.spawn_on(
            i,
            "setpriv",
            &[
                "--reuid=prometheus",
                "--regid=prometheus",
                "--init-groups",
                "prometheus-node-exporter",
                "--collector.disable-defaults",
                "--collector.textfile",
                "--collector.textfile.directory=/var/lib/prometheus/node-exporter",
                &listen,
            ],
        ))
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn metrics_of_every_resource_reach_node_exporter_running_as_prometheus(stack: Stack) {
    let cluster = Cluster::start(stack, 2);
    let _exporter = NodeExporter::start(&cluster, 0);
    for (resource, ip) in [("web", "192.0.2.50"), ("db.vip", "192.0.2.51")] {
        let ip = format!("ip={ip}");
        let params = [ip.as_str(), "cidr_netmask=24", "metrics_dir=/var/lib/prometheus/node-exporter"];
        configure_on_node1(
            &cluster,
            resource,
            &params,
            &["op", "monitor", "interval=4s", "OCF_CHECK_LEVEL=20"],
        );
    }
    cluster.wait_for(Duration::from_secs(60), "both VIPs on node1", |c| {
        c.location("web") == Some(0) && c.location("db.vip") == Some(0)
    });
    std::thread::sleep(Duration::from_secs(5));
    let scraped = scrape(&cluster.seg.client, "192.0.2.11:9100");
    assert_eq!(value(&scraped, "node_textfile_scrape_error", &[]), Some(0.0), "{scraped}");
    for resource in ["web", "db.vip"] {
        let label = format!(r#"resource="{resource}""#);
        assert_eq!(value(&scraped, "ocf_ipaddr_up", &[&label]), Some(1.0), "{resource}: {scraped}");
        assert_eq!(value(&scraped, "ocf_ipaddr_starts_total", &[&label]), Some(1.0), "{resource}: {scraped}");
    }

    // A rogue host on the segment claims web's address: node1's level-20
    // monitor sees it, and the scrape shows it.
    let client = &cluster.seg.client;
    client.ip(&["addr", "add", "192.0.2.50/32", "dev", "eth0"]);
    let rogue_mac = client.mac("eth0");
    let seen = common::wait_for(Duration::from_secs(30), || {
        let scraped = scrape(client, "192.0.2.11:9100");
        value(&scraped, "ocf_ipaddr_conflicts_total", &[r#"resource="web""#]) >= Some(1.0)
    });
    client.ip(&["addr", "del", "192.0.2.50/32", "dev", "eth0"]);
    assert!(seen.is_some(), "the level-20 monitor's conflict never reached the scrape");
    let scraped = scrape(client, "192.0.2.11:9100");
    let mac = format!(r#"mac="{rogue_mac}""#);
    assert_eq!(
        value(&scraped, "ocf_ipaddr_last_conflict_info", &[r#"resource="web""#, &mac]),
        Some(1.0),
        "{scraped}"
    );
    assert_eq!(value(&scraped, "node_textfile_scrape_error", &[]), Some(0.0), "{scraped}");
}

on_both_stacks!(
    two_resources_of_one_gateway_address_on_two_vlans_run_move_and_stop_apart,
    metrics_of_every_resource_reach_node_exporter_running_as_prometheus,
);
