//! What clients see, beside IPaddr2 in the same run: under a real two-node
//! Pacemaker (Debian 12's stack), an idle TCP client across a planned move
//! (with and without `kill_connections_on_stop`) and the traffic a gateway
//! that drops gratuitous announcements routes to the VIP (IPv4 and IPv6);
//! and the ARP burst of 200 VIPs taking over at once (with and without
//! `announce_rate_limit=15`), measured on the wire.

use crate::common::cluster::{Cluster, Pinger, Stack};
use crate::common::wire::{Capture, arps, neighbor_mac};
use crate::common::{self, Lab, NameServer, connect_for_name, wait_for};
use crate::report::{Report, ms_or_never};
use std::fmt::Write as _;
use std::io::{ErrorKind, Read};
use std::net::SocketAddr;
use std::path::Path;
use std::process::Child;
use std::time::{Duration, Instant};

const PORT: u16 = 8080;
/// Parameters beyond the address, as `(name, value)`.
type Params<'a> = &'a [(&'a str, &'a str)];
/// How long an idle client is watched for a reset after the move.
const CLIENT_PATIENCE: Duration = Duration::from_secs(10);
/// How long a gateway is watched for switching to the new node.
const GATEWAY_PATIENCE: Duration = Duration::from_secs(90);
const BURST_VIPS: usize = 200;
const SWITCH_LIMIT: usize = 15;

pub fn measure(ours: &Path, dir: &Path, md: &mut String, report: &mut Report) {
    md.push_str("\n## What clients see\n\nUnder two nodes of Corosync + Pacemaker (Debian 12) and a client on one segment, each agent with its defaults plus what the row names; the VIP is moved with `crm node standby` (docs/what-clients-see.md).\n");
    idle_connections(ours, md, report);
    gateway(ours, dir, md, report);
    crate::static_entry::measure(ours, md, report);
    burst(dir, ours, md, report);
}

/// A planned move with an idle client connected to a server on the VIP.
fn idle_connections(ours: &Path, md: &mut String, report: &mut Report) {
    md.push_str("\n### An idle TCP connection across a planned move\n\nThe client holds an idle connection to a server on the VIP (node1) and reads; reset: when its read fails after `crm node standby node1`; reconnected: when, pausing 50 ms between attempts, it is connected to node2.\n\n| agent | reset after | reconnected to node2 after |\n|---|---|---|\n");
    let variants: [(&str, &str, &[&str]); 3] = [
        (
            "ocf:rust:IPaddr, kill_connections_on_stop=true",
            "ocf:rust:IPaddr",
            &["kill_connections_on_stop=true"],
        ),
        ("ocf:rust:IPaddr", "ocf:rust:IPaddr", &[]),
        ("IPaddr2", "ocf:heartbeat:IPaddr2", &[]),
    ];
    let mut reconnected = Vec::new();
    for (name, primitive, extra) in variants {
        let cluster = Cluster::start_with_agent(Stack::Debian12, 2, ours);
        let _servers =
            [0, 1].map(|i| NameServer::holding(&cluster.seg.nodes[i], PORT, &format!("node{}\n", i + 1)));
        create_on_node1(&cluster, primitive, "192.0.2.50", "24", extra);
        let vip: SocketAddr = format!("192.0.2.50:{PORT}").parse().expect("an address");
        let (mut held, first) = connect_for_name(&cluster.seg.client, vip, 6).expect("the client connects");
        assert_eq!(first, "node1");
        held.set_read_timeout(Some(CLIENT_PATIENCE)).expect("a timeout");
        let moving = Instant::now();
        cluster.must(0, "crm", &["node", "standby", "node1"]);
        let mut byte = [0u8; 1];
        let reset = match held.read(&mut byte) {
            Err(err) if err.kind() == ErrorKind::ConnectionReset => Some(moving.elapsed()),
            _ => None,
        };
        let again = reset.and_then(|_| {
            wait_for(CLIENT_PATIENCE, || {
                std::thread::sleep(Duration::from_millis(50));
                connect_for_name(&cluster.seg.client, vip, 6).is_some_and(|(_, n)| n == "node2")
            })
            .map(|_| moving.elapsed())
        });
        let shown = |d: Option<Duration>| match d {
            Some(d) => format!("{} ms", d.as_millis()),
            None => {
                format!("none within {} s: the client waits for its own timeout", CLIENT_PATIENCE.as_secs())
            }
        };
        writeln!(md, "| {name} | {} | {} |", shown(reset), shown(again)).unwrap();
        println!("idle client, {name}: reset {reset:?}, reconnected {again:?}");
        reconnected.push((name, again));
    }
    let with_kill = reconnected[0].1;
    report.check(
        "an idle client reconnected to the new node within 1 s with kill_connections_on_stop",
        with_kill.is_some_and(|d| d < Duration::from_secs(1)),
        format!(
            "{}; IPaddr2: {}",
            ms_or_never(with_kill, CLIENT_PATIENCE),
            ms_or_never(reconnected[2].1, CLIENT_PATIENCE)
        ),
    );
}

/// Traffic from a gateway that drops gratuitous ARP and unsolicited NA.
fn gateway(ours: &Path, dir: &Path, md: &mut String, report: &mut Report) {
    md.push_str("\n### Through a gateway that drops gratuitous announcements\n\nThe client is the nodes' gateway, with `drop_gratuitous_arp=1` and `drop_unsolicited_na=1`, and pings the VIP every 10 ms (traffic it routes); switched: from `crm node standby node1` until its neighbour entry for the VIP points at node2. IPv6 with `nodad=true` for both agents.\n\n| agent | IPv4 switched after | IPv6 switched after |\n|---|---|---|\n");
    let mut rows = Vec::new();
    for (name, primitive) in [("ocf:rust:IPaddr", "ocf:rust:IPaddr"), ("IPaddr2", "ocf:heartbeat:IPaddr2")] {
        let mut row = Vec::new();
        for (vip, prefix, via) in
            [("192.0.2.50", "24", "192.0.2.100"), ("2001:db8::50", "64", "2001:db8::100")]
        {
            let cluster = Cluster::start_with_agent(Stack::Debian12, 2, ours);
            let gw = &cluster.seg.client;
            gw.sysctl("net.ipv4.conf.eth0.drop_gratuitous_arp=1");
            gw.sysctl("net.ipv6.conf.eth0.drop_unsolicited_na=1");
            common::no_neighbor_locktime(gw);
            for node in &cluster.seg.nodes {
                node.ip(&["route", "add", "default", "via", via, "dev", "eth0"]);
            }
            // Without DAD's second on IPv6, for both agents: the move, not DAD, is measured.
            let extra: &[&str] = if vip.contains(':') { &["nodad=true"] } else { &[] };
            create_on_node1(&cluster, primitive, vip, prefix, extra);
            let node2 = cluster.seg.nodes[1].mac("eth0");
            assert!(gw.exec("ping", &["-c1", "-W1", vip]).status.success(), "{name}: {vip} answers on node1");
            let pinger = Pinger::start(gw, vip, dir, GATEWAY_PATIENCE.as_secs() as u32 + 10);
            let moving = Instant::now();
            cluster.must(0, "crm", &["node", "standby", "node1"]);
            let switched =
                wait_for(GATEWAY_PATIENCE, || neighbor_mac(gw, vip).as_deref() == Some(node2.as_str()));
            let _ = pinger.finish();
            let switched = switched.map(|_| moving.elapsed());
            println!("gateway, {name}, {vip}: switched {switched:?}");
            row.push(switched);
        }
        let shown = |d: Option<Duration>| match d {
            Some(d) => format!("{} ms", d.as_millis()),
            None => format!("not within {} s", GATEWAY_PATIENCE.as_secs()),
        };
        writeln!(md, "| {name} | {} | {} |", shown(row[0]), shown(row[1])).unwrap();
        rows.push(row);
    }
    let never = GATEWAY_PATIENCE * 2;
    for (family, i) in [("IPv4", 0), ("IPv6", 1)] {
        let (o, t) = (rows[0][i].unwrap_or(never), rows[1][i].unwrap_or(never));
        report.check(
            &format!("a GARP-dropping gateway follows the move within 2 s ({family}), IPaddr2's later"),
            o < Duration::from_secs(2) && o < t,
            format!(
                "{} ms vs IPaddr2 {}",
                o.as_millis(),
                rows[1][i].map_or("never".into(), |t| format!("{} ms", t.as_millis()))
            ),
        );
    }
}

/// 200 VIPs taking over at once on one interface (outside Pacemaker, which
/// throttles parallel starts itself): the frames a switch port counts.
fn burst(dir: &Path, ours: &Path, md: &mut String, report: &mut Report) {
    writeln!(md, "\n### {BURST_VIPS} VIPs taking over at once\n\n{BURST_VIPS} starts at the same instant on one interface, as a node taking over a failed node's VIPs would run them (outside Pacemaker, which throttles parallel starts itself; each agent with its defaults). Peak: the most ARP frames from the node in any one second, captured on the link; last first announcement: from the starts until the last VIP's first announcement was on the wire.\n\n| agent | peak ARP frames/s | last first announcement after |\n|---|---|---|").unwrap();
    let variants: [(&str, &Path, Params); 3] = [
        ("ocf:rust:IPaddr", ours, &[]),
        ("ocf:rust:IPaddr, announce_rate_limit=15", ours, &[("announce_rate_limit", "15")]),
        ("IPaddr2", Path::new(crate::measure::IPADDR2), &[]),
    ];
    let mut peaks = Vec::new();
    for (name, agent, extra) in variants {
        let lab = Lab::new();
        let node_mac = lab.node.mac("eth0");
        let vips: Vec<String> = (1..=BURST_VIPS).map(|i| format!("198.51.100.{i}")).collect();
        let params = |ip: &str| {
            let mut p =
                vec![("ip", ip.to_string()), ("cidr_netmask", "24".to_string()), ("nic", "eth0".to_string())];
            p.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
            p
        };
        let capture = Capture::start_filtered(&lab.client, "eth0", dir, "arp");
        let began = Instant::now();
        let began_micros = wall_micros();
        let children: Vec<Child> = vips.iter().map(|ip| spawn(&lab, agent, "start", &params(ip))).collect();
        let codes: Vec<i32> = children
            .into_iter()
            .map(|c| c.wait_with_output().map_or(-1, |o| o.status.code().unwrap_or(-1)))
            .collect();
        let started = began.elapsed();
        std::thread::sleep(Duration::from_secs(3));
        let frames = capture.stop();
        let ours_frames: Vec<_> = arps(&frames).into_iter().filter(|a| a.eth_src == node_mac).collect();
        let times: Vec<u64> = ours_frames.iter().map(|a| a.micros).collect();
        let peak = times
            .iter()
            .map(|&s| times.iter().filter(|&&t| t >= s && t < s + 1_000_000).count())
            .max()
            .unwrap_or(0);
        let last_first = vips
            .iter()
            .filter_map(|ip| {
                let ip: std::net::Ipv4Addr = ip.parse().ok()?;
                ours_frames.iter().find(|a| a.sender_ip == ip).map(|a| a.micros)
            })
            .max()
            .map(|t| Duration::from_micros(t.saturating_sub(began_micros)));
        let failed = codes.iter().filter(|c| **c != 0).count();
        let children: Vec<Child> = vips.iter().map(|ip| spawn(&lab, agent, "stop", &params(ip))).collect();
        for child in children {
            let _ = child.wait_with_output();
        }
        println!(
            "burst, {name}: peak {peak}/s, last first announcement {last_first:?}, starts ended after {started:?}, {failed} failed"
        );
        writeln!(
            md,
            "| {name} | {peak} | {}{} |",
            last_first.map_or("never".to_string(), |d| format!("{:.1} s", d.as_secs_f64())),
            if failed > 0 { format!(" ({failed} starts failed)") } else { String::new() }
        )
        .unwrap();
        peaks.push(peak);
    }
    report.check(
        "200 VIPs at once with announce_rate_limit=15 stay within 15 ARP frames/s; IPaddr2's exceed it",
        peaks[1] <= SWITCH_LIMIT && peaks[2] > SWITCH_LIMIT,
        format!("{} vs IPaddr2 {} (no limit: {})", peaks[1], peaks[2], peaks[0]),
    );
}

/// Creates the VIP with `primitive` and waits until it runs on node1.
fn create_on_node1(cluster: &Cluster, primitive: &str, ip: &str, prefix: &str, extra: &[&str]) {
    let (ip, prefix) = (format!("ip={ip}"), format!("cidr_netmask={prefix}"));
    let mut args = vec!["configure", "primitive", "vip", primitive, "params", &ip, &prefix, "nic=eth0"];
    args.extend_from_slice(extra);
    args.extend(["op", "monitor", "interval=10s"]);
    cluster.must(0, "crm", &args);
    cluster.must(0, "crm", &["configure", "location", "vip-on-node1", "vip", "100:", "node1"]);
    cluster.wait_for(Duration::from_secs(60), "the VIP on node1", |c| c.location("vip") == Some(0));
}

fn spawn(lab: &Lab, agent: &Path, action: &str, params: &[(&str, String)]) -> Child {
    let mut command = common::agent_command(&lab.node, &lab.rsctmp, agent, action);
    for (key, value) in params {
        command.env(format!("OCF_RESKEY_{key}"), value);
    }
    command.env("OCF_RESKEY_CRM_meta_timeout", "120000");
    command.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null());
    command.spawn().expect("the agent starts")
}

fn wall_micros() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}
