//! Failover without a cluster: stop on node A, start on node B, a client
//! pinging the VIP and watching its neighbor entry.

use crate::common::{self, Netns, Segment};
use crate::measure::{Agent, ms};
use crate::report::Report;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// Appends the section; returns chart rows (label, ours ms, IPaddr2 ms).
pub fn measure(
    agents: &[Agent],
    rsctmp: &Path,
    md: &mut String,
    report: &mut Report,
) -> Vec<(String, f64, f64)> {
    let mut chart = Vec::new();
    md.push_str("\n## Failover: stop on node A, start on node B\n\nA client on the same segment pings the VIP every 10 ms; each agent with its defaults. Gap: longest time between two ping replies. Flip: from the start on B until the client's neighbor entry points at B (kernel timestamps).\n\n| agent | outage gap (median of 5) | start → neighbor flip (median) |\n|---|---|---|\n");
    let seg = Segment::new(2);
    common::no_neighbor_locktime(&seg.client);
    let mut gaps = BTreeMap::new();
    for round in 0..5 {
        for agent in agents {
            let vip = agent.vip;
            let params: Vec<(&str, &str)> = vec![("ip", vip), ("cidr_netmask", "24"), ("nic", "eth0")];
            assert_eq!(run_in(&seg, 0, agent, "start", &params), 0);
            let _ = seg.client.exec("ping", &["-c1", "-W1", vip]);
            let pinger = common::cluster::Pinger::start(&seg.client, vip, rsctmp, 20);
            let monitor = NeighMonitor::start(&seg.client, rsctmp);
            std::thread::sleep(Duration::from_millis(300));
            assert_eq!(run_in(&seg, 0, agent, "stop", &params), 0);
            let start_at = wall_micros();
            assert_eq!(run_in(&seg, 1, agent, "start", &params), 0);
            std::thread::sleep(Duration::from_millis(1500));
            let (gap, _) = pinger.finish();
            let flip =
                monitor.first_change(vip, &seg.nodes[1].mac("eth0")).map(|t| t.saturating_sub(start_at));
            assert_eq!(run_in(&seg, 1, agent, "stop", &params), 0);
            let entry = gaps.entry(agent.name).or_insert_with(|| (Vec::new(), Vec::new()));
            entry.0.push(gap);
            entry.1.push(Duration::from_micros(flip.unwrap_or(u64::MAX / 2)));
            println!(
                "failover round {round} {}: gap {:.1} ms, flip {:?}",
                agent.name,
                ms(gap),
                flip.map(|f| f as f64 / 1000.0)
            );
        }
    }
    let med = |v: &Vec<Duration>| {
        let mut s = v.clone();
        s.sort();
        s[s.len() / 2]
    };
    for agent in agents {
        let (g, f) = &gaps[agent.name];
        writeln!(md, "| {} | {:.1} ms | {:.1} ms |", agent.name, ms(med(g)), ms(med(f))).unwrap();
        chart.push((
            format!("failover gap ({})", agent.name),
            if agent.name == "IPaddr2" { 0.0 } else { ms(med(g)) },
            if agent.name == "IPaddr2" { ms(med(g)) } else { 0.0 },
        ));
    }
    let (ours_gap, theirs_gap) = (med(&gaps["ocf:rust:IPaddr"].0), med(&gaps["IPaddr2"].0));
    report.check(
        "client outage gap on a planned move below IPaddr2's",
        ours_gap < theirs_gap,
        format!("{:.1} ms vs {:.1} ms", ms(ours_gap), ms(theirs_gap)),
    );

    chart
}

fn run_in(seg: &Segment, node: usize, agent: &Agent, action: &str, params: &[(&str, &str)]) -> i32 {
    let mut all: Vec<(&str, &str)> = params.to_vec();
    if agent.name == "IPaddr2" {
        all.push(("arp_bg", "true"));
    }
    let dir = seg.rsctmp.join(format!("bench-node{node}"));
    std::fs::create_dir_all(&dir).unwrap();
    common::run_agent_at(&seg.nodes[node], &dir, &agent.path, action, &all, &[]).code
}

fn wall_micros() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as u64
}

/// `ip -ts monitor neigh` in the client: neighbor changes with timestamps.
struct NeighMonitor {
    child: std::process::Child,
    log: PathBuf,
}

impl NeighMonitor {
    fn start(client: &Netns, dir: &Path) -> NeighMonitor {
        let log = dir.join("neigh-monitor.log");
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new("ip")
            .args(["-n", &client.name, "-ts", "monitor", "neigh"])
            .stdout(file)
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(50));
        NeighMonitor { child, log }
    }

    /// Microseconds since the epoch when `ip` first pointed at `mac`.
    fn first_change(mut self, ip: &str, mac: &str) -> Option<u64> {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let text = std::fs::read_to_string(&self.log).ok()?;
        let line = text.lines().find(|l| l.contains(&format!(" {ip} ")) && l.contains(mac))?;
        let stamp = line.strip_prefix('[')?.split(']').next()?;
        let out = Command::new("date").args(["-d", stamp, "+%s%6N"]).output().ok()?;
        String::from_utf8_lossy(&out.stdout).trim().parse().ok()
    }
}
