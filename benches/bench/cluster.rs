//! Under a real cluster: N VIP resources on one node of Corosync +
//! Pacemaker (Debian 12's stack, namespaces), for this agent, IPaddr2 and a
//! do-nothing agent that gives the floor Pacemaker itself imposes; then the
//! client's outage when Pacemaker moves a VIP between two nodes.

use crate::common::cluster::{Cluster, Pinger, Stack};
use crate::common::no_neighbor_locktime;
use crate::measure::ms;
use crate::report::Report;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const SIZES: [usize; 3] = [50, 150, 400];
const MONITOR_INTERVAL_S: u64 = 10;
/// The recurring monitors CPU is measured over: six rounds of them.
const CPU_WINDOW: Duration = Duration::from_secs(60);
/// Pacemaker throttles its actions by the load average: each run starts
/// once the previous run's load has decayed below this (or after
/// `SETTLE_LIMIT`), so no agent pays for the one measured before it.
const QUIET_LOAD: f64 = 0.3;
const SETTLE_LIMIT: Duration = Duration::from_secs(150);
/// How long all N resources may take to start or to stop.
const ACTION_LIMIT: Duration = Duration::from_secs(900);
/// The first agents of `agents()` (the do-nothing one, this agent and the
/// previous release with and without metrics) run side by side; IPaddr2,
/// whose monitors would weigh on the others' window, runs alone.
const SIDE_BY_SIDE: usize = 5;
/// Noise allowed between this release and the previous one measured in
/// the same window.
const SAME_COST: f64 = 1.05;
/// The previous release's type name on the bench's clusters.
const PREVIOUS_KIND: &str = "IPaddr-previous";
const MOVES: usize = 5;
/// The documentation ranges the VIPs come from (the node's own address
/// in each is .254); 192.0.2.0/24 carries Corosync.
const VIP_SUBNETS: [&str; 2] = ["198.51.100", "203.0.113"];

/// Where the metrics variant writes its textfiles, inside the node's
/// private /run.
const METRICS_DIR: &str = "/run/ocf-ipaddr-metrics";

/// One of the agents, as Pacemaker names it.
pub struct ClusterAgent {
    pub name: &'static str,
    /// `class:provider:type` parts.
    pub provider: &'static str,
    pub kind: &'static str,
    /// Whether the resources set `metrics_dir`.
    pub metrics: bool,
}

/// The programs the clusters run besides Debian's IPaddr2.
pub struct Programs<'a> {
    pub ours: &'a Path,
    pub previous: &'a Path,
    pub null: &'a Path,
}

/// In the order they come up at each N: the heaviest last.
pub fn agents() -> [ClusterAgent; 6] {
    [
        ClusterAgent { name: "do-nothing", provider: "rust", kind: "null", metrics: false },
        ClusterAgent { name: "ocf:rust:IPaddr", provider: "rust", kind: "IPaddr", metrics: false },
        ClusterAgent { name: "ocf:rust:IPaddr + metrics", provider: "rust", kind: "IPaddr", metrics: true },
        ClusterAgent { name: "previous release", provider: "rust", kind: PREVIOUS_KIND, metrics: false },
        ClusterAgent {
            name: "previous release + metrics",
            provider: "rust",
            kind: PREVIOUS_KIND,
            metrics: true,
        },
        ClusterAgent { name: "IPaddr2", provider: "heartbeat", kind: "IPaddr2", metrics: false },
    ]
}

fn load_average() -> f64 {
    let text = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    text.split_whitespace().next().and_then(|l| l.parse().ok()).unwrap_or(0.0)
}

/// Waits for the load average to decay; returns it.
fn settle() -> f64 {
    let started = Instant::now();
    while load_average() > QUIET_LOAD && started.elapsed() < SETTLE_LIMIT {
        std::thread::sleep(Duration::from_secs(2));
    }
    load_average()
}

/// What one agent cost at one N.
#[derive(Clone, Debug)]
pub struct ScaleRun {
    pub agent: &'static str,
    pub n: usize,
    pub to_running: Duration,
    /// pacemaker-execd's reaped children over the window, in % of one core.
    pub cpu_percent: f64,
    pub to_stopped: Duration,
    pub failed: usize,
    pub left: usize,
    /// The 1-minute load average when the run began.
    pub load: f64,
}

/// The Ns to measure: `SIZES`, or OCF_IPADDR_BENCH_SIZES (comma-separated).
fn sizes() -> Vec<usize> {
    match std::env::var("OCF_IPADDR_BENCH_SIZES") {
        Ok(list) => {
            list.split(',').filter_map(|n| n.trim().parse().ok()).filter(|n| (1..=400).contains(n)).collect()
        }
        Err(_) => SIZES.to_vec(),
    }
}

fn vip(k: usize) -> String {
    format!("{}.{}", VIP_SUBNETS[k / 200], k % 200 + 1)
}

fn resources_xml(agent: &ClusterAgent, n: usize) -> String {
    let mut xml = String::from("<resources>\n");
    for k in 0..n {
        let ip = vip(k);
        let metrics = match agent.metrics {
            true => format!(r#"<nvpair id="vip{k}-md" name="metrics_dir" value="{METRICS_DIR}"/>"#),
            false => String::new(),
        };
        writeln!(
            xml,
            r#"<primitive id="vip{k}" class="ocf" provider="{}" type="{}"><instance_attributes id="vip{k}-ia"><nvpair id="vip{k}-ip" name="ip" value="{ip}"/><nvpair id="vip{k}-nm" name="cidr_netmask" value="24"/><nvpair id="vip{k}-nic" name="nic" value="eth0"/>{metrics}</instance_attributes><operations><op id="vip{k}-mon" name="monitor" interval="{MONITOR_INTERVAL_S}s" timeout="20s"/></operations></primitive>"#,
            agent.provider, agent.kind
        )
        .unwrap();
    }
    xml.push_str("</resources>\n");
    xml
}

/// (started, active) among the VIP resources, per crm_mon.
fn census(cluster: &Cluster) -> (usize, usize) {
    let xml = cluster.crm_mon_xml(0);
    let vips = xml.lines().filter(|l| l.contains("<resource id=\"vip"));
    vips.fold((0, 0), |(started, active), l| {
        let up = l.contains("role=\"Started\"") && l.contains("failed=\"false\"");
        (started + usize::from(up), active + usize::from(l.contains("active=\"true\"")))
    })
}

/// User plus system time of the processes pacemaker-execd has reaped (the
/// agents it ran), from /proc.
fn execd_children_cpu(cluster: &Cluster) -> Duration {
    let pids = cluster.seg.nodes[0].name.clone();
    let out =
        std::process::Command::new("ip").args(["netns", "pids", &pids]).output().expect("ip netns pids");
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK).ok().flatten().unwrap_or(100) as f64;
    for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
        let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        if comm.trim() != "pacemaker-execd" {
            continue;
        }
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
        // Fields after "pid (comm) ": state is field 3, cutime 16, cstime 17.
        let fields: Vec<&str> =
            stat.rsplit_once(") ").map(|(_, rest)| rest).unwrap_or("").split(' ').collect();
        let field = |n: usize| fields.get(n - 3).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
        return Duration::from_secs_f64((field(16) + field(17)) / ticks);
    }
    panic!("no pacemaker-execd in {pids}");
}

fn addresses_left(cluster: &Cluster) -> usize {
    let listing = cluster.seg.nodes[0].ip(&["-o", "-4", "addr", "show", "dev", "eth0"]);
    listing
        .split_whitespace()
        .filter(|w| VIP_SUBNETS.iter().any(|s| w.starts_with(&format!("{s}."))) && !w.contains(".254/"))
        .count()
}

/// A fresh one-node cluster ready for `agent`'s resources.
fn cluster_for(agent: &ClusterAgent, programs: &Programs) -> Cluster {
    let cluster = Cluster::start_with_agent(Stack::Debian12, 1, programs.ours);
    cluster.install_agent("null", programs.null);
    cluster.install_agent(PREVIOUS_KIND, programs.previous);
    let node = &cluster.seg.nodes[0];
    for subnet in VIP_SUBNETS {
        node.ip(&["addr", "add", &format!("{subnet}.254/24"), "dev", "eth0"]);
    }
    if agent.metrics {
        cluster.must(0, "mkdir", &["-p", METRICS_DIR]);
    }
    cluster
}

/// Creates N resources of `agent` at once; returns how long until all ran,
/// and the load average when they were created.
fn bring_up(agent: &ClusterAgent, n: usize, cluster: &Cluster) -> (Duration, f64) {
    let load = settle();
    let file = cluster.shared_dir().join("resources.xml");
    std::fs::write(&file, resources_xml(agent, n)).expect("resources.xml");
    let file = file.to_string_lossy().into_owned();
    let created = Instant::now();
    cluster.must(0, "cibadmin", &["--replace", "--scope", "resources", "--xml-file", &file]);
    let what = format!("{n} {} resources started", agent.name);
    cluster.wait_for(ACTION_LIMIT, &what, |c| census(c).0 == n);
    (created.elapsed(), load)
}

/// Stops every resource; returns how long that took, the failed actions
/// and the addresses left.
fn bring_down(agent: &ClusterAgent, n: usize, cluster: &Cluster) -> (Duration, usize, usize) {
    let stopping = Instant::now();
    cluster.must(
        0,
        "crm_attribute",
        &["--type", "crm_config", "--name", "stop-all-resources", "--update", "true"],
    );
    cluster.wait_for(ACTION_LIMIT, &format!("{n} {} resources stopped", agent.name), |c| census(c).1 == 0);
    let to_stopped = stopping.elapsed();
    if agent.metrics {
        let files = cluster.must(0, "ls", &[METRICS_DIR]);
        assert_eq!(files.lines().count(), n, "one metrics file per resource");
    }
    (to_stopped, cluster.failures(0).len(), addresses_left(cluster))
}

/// The monitor CPU of each cluster over one shared window, in % of a core.
fn cpu_window(clusters: &[Cluster]) -> Vec<f64> {
    let before: Vec<Duration> = clusters.iter().map(execd_children_cpu).collect();
    let window_start = Instant::now();
    std::thread::sleep(CPU_WINDOW);
    let after: Vec<Duration> = clusters.iter().map(execd_children_cpu).collect();
    let window = window_start.elapsed().as_secs_f64();
    after.iter().zip(&before).map(|(a, b)| 100.0 * a.saturating_sub(*b).as_secs_f64() / window).collect()
}

/// Runs N resources of each of `agents` side by side, each agent on a
/// one-node cluster of its own: they come up one after the other, their
/// monitors are measured over the same window (a host that slows down or
/// speeds up does so for all of them), then they stop in turn.
fn scale_runs(agents: &[ClusterAgent], n: usize, programs: &Programs) -> Vec<ScaleRun> {
    let clusters: Vec<Cluster> = agents.iter().map(|agent| cluster_for(agent, programs)).collect();
    let ups: Vec<(Duration, f64)> =
        agents.iter().zip(&clusters).map(|(agent, cluster)| bring_up(agent, n, cluster)).collect();
    // Past the first round of recurring monitors, into the steady state.
    std::thread::sleep(Duration::from_secs(MONITOR_INTERVAL_S + 2));
    let cpu = cpu_window(&clusters);
    let downs: Vec<(Duration, usize, usize)> =
        agents.iter().zip(&clusters).map(|(agent, cluster)| bring_down(agent, n, cluster)).collect();
    let mut runs = Vec::new();
    for (k, agent) in agents.iter().enumerate() {
        let ((to_running, load), (to_stopped, failed, left)) = (ups[k], downs[k]);
        let run = ScaleRun {
            agent: agent.name,
            n,
            to_running,
            cpu_percent: cpu[k],
            to_stopped,
            failed,
            left,
            load,
        };
        println!("cluster {run:?}");
        runs.push(run);
    }
    runs
}

pub fn measure_scale(programs: &Programs, md: &mut String, report: &mut Report) -> Vec<ScaleRun> {
    md.push_str(&format!(
        "\n## Under a cluster: N VIP resources on one node\n\nOne node of Corosync 3 + Pacemaker 2.1.5 (Debian 12) in a namespace; all N resources created at once with `cibadmin --replace --scope resources`, each `ip=… cidr_netmask=24 nic=eth0` with a monitor every {MONITOR_INTERVAL_S} s, the agents' defaults otherwise. **Running**: from the creation until crm_mon shows all started. **Monitor CPU**: user+system time of the processes pacemaker-execd reaped (the agents it ran, their children included) over {} s of recurring monitors, as a share of one core. **Stopped**: from setting `stop-all-resources` until none is active. **Failed**: crm_mon's failed actions. **Left**: VIP addresses still on the node afterwards. The do-nothing agent answers every action at once (one empty file per running resource): what Pacemaker itself costs. The previous release ({}) is the yardstick for \"no action grew\". The do-nothing agent, this agent and the previous release, each with and without `metrics_dir` set, run side by side, each on a one-node cluster of its own: they come up one after the other (each once the load average has decayed below {QUIET_LOAD}, or after {} s, so that Pacemaker does not throttle; the later ones with the earlier ones' monitors running), their monitor CPU is measured over the same window, so that a host that slows down or speeds up does so for all five, and they stop in turn. IPaddr2 runs alone afterwards: its monitors would weigh on the others' window.\n\n| N | agent | running after | monitor CPU (% of a core) | stopped after | failed | left | load average at the start |\n|---|---|---|---|---|---|---|---|\n",
        CPU_WINDOW.as_secs(),
        crate::metrics_cost::previous_release_name(),
        SETTLE_LIMIT.as_secs()
    ));
    let sizes = sizes();
    let mut runs = Vec::new();
    for &n in &sizes {
        let agents = agents();
        let (side_by_side, alone) = agents.split_at(SIDE_BY_SIDE);
        let measured = [scale_runs(side_by_side, n, programs), scale_runs(alone, n, programs)];
        for run in measured.into_iter().flatten() {
            writeln!(
                md,
                "| {n} | {} | {:.1} s | {:.2} % | {:.1} s | {} | {} | {:.2} |",
                run.agent,
                run.to_running.as_secs_f64(),
                run.cpu_percent,
                run.to_stopped.as_secs_f64(),
                run.failed,
                run.left,
                run.load
            )
            .unwrap();
            runs.push(run);
        }
    }
    let find = |agent: &str, n: usize| runs.iter().find(|r| r.agent == agent && r.n == n).expect("measured");
    if let Some(&largest) = sizes.iter().max() {
        let (ours, theirs, floor) =
            (find("ocf:rust:IPaddr", largest), find("IPaddr2", largest), find("do-nothing", largest));
        writeln!(
            md,
            "\nWhat bounds each figure: the do-nothing agent's times are Pacemaker's own (a transition per batch of results, the CIB updates, the executor forking one process per action, and its throttling when the load average rises); they grow with N whatever the agent. This agent adds its exec and its netlink queries to every action and, to every start, the duplicate-address probe's wait (10 ms with the defaults: two ARP probes and 8 ms of listening), which Pacemaker's limit on concurrent actions serializes: at {largest} VIPs that is {:.1} s over the floor's {:.1} s. Its monitors cost what a static binary costs to start plus two netlink requests ({:.2} % of a core against {:.2} %); the IPv4 address lookup has the kernel list the NIC's addresses, about 50 ns each, since it offers no request for one. IPaddr2's monitor forks about twenty processes (`ip`, `grep`, `sed`, …): at {largest} VIPs its monitors alone take {:.0} % of a core, the load average makes Pacemaker throttle, and starting all of them takes {:.0} s.",
            ours.to_running.as_secs_f64() - floor.to_running.as_secs_f64(),
            floor.to_running.as_secs_f64(),
            ours.cpu_percent,
            floor.cpu_percent,
            theirs.cpu_percent,
            theirs.to_running.as_secs_f64()
        )
        .unwrap();
    }
    for &n in &sizes {
        let (ours, theirs, floor) = (find("ocf:rust:IPaddr", n), find("IPaddr2", n), find("do-nothing", n));
        for variant in [ours, find("ocf:rust:IPaddr + metrics", n)] {
            report.check(
                &format!("{n} VIPs: {} monitor CPU within 1.3× the do-nothing agent's", variant.agent),
                variant.cpu_percent <= 1.3 * floor.cpu_percent,
                format!(
                    "{:.2} % vs {:.2} % ({:.2}×)",
                    variant.cpu_percent,
                    floor.cpu_percent,
                    variant.cpu_percent / floor.cpu_percent
                ),
            );
        }
        for (variant, before) in [
            ("ocf:rust:IPaddr", "previous release"),
            ("ocf:rust:IPaddr + metrics", "previous release + metrics"),
        ] {
            let (now, then) = (find(variant, n), find(before, n));
            report.check(
                &format!("{n} VIPs: {variant} monitor CPU no more than the previous release's"),
                now.cpu_percent <= SAME_COST * then.cpu_percent,
                format!(
                    "{:.2} % vs {:.2} % ({:.2}× vs {:.2}× the do-nothing agent)",
                    now.cpu_percent,
                    then.cpu_percent,
                    now.cpu_percent / floor.cpu_percent,
                    then.cpu_percent / floor.cpu_percent
                ),
            );
        }
        report.check(
            &format!("{n} VIPs: monitor CPU at most 1/10 of IPaddr2's"),
            ours.cpu_percent * 10.0 <= theirs.cpu_percent,
            format!(
                "{:.1} % vs {:.1} % (1/{:.0})",
                ours.cpu_percent,
                theirs.cpu_percent,
                theirs.cpu_percent / ours.cpu_percent
            ),
        );
        report.check(
            &format!("{n} VIPs: all running within 1.3× the do-nothing agent's time"),
            ours.to_running.as_secs_f64() <= 1.3 * floor.to_running.as_secs_f64(),
            format!(
                "{:.1} s vs {:.1} s (IPaddr2: {:.1} s)",
                ours.to_running.as_secs_f64(),
                floor.to_running.as_secs_f64(),
                theirs.to_running.as_secs_f64()
            ),
        );
        report.check(
            &format!("{n} VIPs: no failed action, no address left"),
            ours.failed == 0 && ours.left == 0,
            format!(
                "{} failed, {} left (IPaddr2: {}, {})",
                ours.failed, ours.left, theirs.failed, theirs.left
            ),
        );
    }
    runs
}

/// The client's longest gap between ping replies while Pacemaker moves the
/// VIP to the other node, for one agent; `MOVES` moves, back and forth.
fn failover_gaps(agent: &ClusterAgent, ours: &Path, dir: &Path) -> Vec<Duration> {
    let cluster = Cluster::start_with_agent(Stack::Debian12, 2, ours);
    no_neighbor_locktime(&cluster.seg.client);
    let primitive = format!("ocf:{}:{}", agent.provider, agent.kind);
    cluster.must(
        0,
        "crm",
        &[
            "configure",
            "primitive",
            "vip",
            &primitive,
            "params",
            "ip=192.0.2.50",
            "cidr_netmask=24",
            "nic=eth0",
            "op",
            "monitor",
            "interval=10s",
        ],
    );
    cluster.wait_for(Duration::from_secs(60), "the VIP running", |c| c.location("vip").is_some());
    let mut gaps = Vec::new();
    for _ in 0..MOVES {
        let from = cluster.location("vip").expect("running");
        let to = 1 - from;
        let to_mac = cluster.seg.nodes[to].mac("eth0");
        assert!(cluster.client_reaches("192.0.2.50").is_some(), "the client reaches the VIP before the move");
        let pinger = Pinger::start(&cluster.seg.client, "192.0.2.50", dir, 60);
        std::thread::sleep(Duration::from_millis(300));
        let node = format!("node{}", to + 1);
        cluster.must(0, "crm_resource", &["--move", "--resource", "vip", "--node", &node]);
        cluster.wait_for(Duration::from_secs(60), "the VIP on the other node", |c| {
            c.location("vip") == Some(to)
        });
        std::thread::sleep(Duration::from_millis(1000));
        let (gap, _) = pinger.finish();
        assert_eq!(cluster.client_reaches("192.0.2.50"), Some(to_mac), "the client follows the move");
        cluster.must(0, "crm_resource", &["--clear", "--resource", "vip"]);
        println!("cluster failover {}: gap {:.1} ms", agent.name, ms(gap));
        gaps.push(gap);
    }
    gaps
}

fn median(values: &[Duration]) -> Duration {
    let mut sorted = values.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

pub fn measure_failover(
    ours: &Path,
    dir: &Path,
    md: &mut String,
    report: &mut Report,
) -> Vec<(String, f64, f64)> {
    let [_, rust, _, _, _, ipaddr2] = agents();
    let ours_gaps = failover_gaps(&rust, ours, dir);
    let theirs_gaps = failover_gaps(&ipaddr2, ours, dir);
    let (o, t) = (median(&ours_gaps), median(&theirs_gaps));
    writeln!(
        md,
        "\n## Under a cluster: failover gap\n\nTwo nodes of Corosync + Pacemaker and a client on one segment; the client pings the VIP every 10 ms while `crm_resource --move` sends it to the other node ({MOVES} moves, back and forth; each agent with its defaults). The gap is the longest time between two replies: Pacemaker's stop on one node, its start on the other, and the client's neighbor entry following.\n\n| agent | gap (median of {MOVES}) | all moves |\n|---|---|---|\n| ocf:rust:IPaddr | {:.0} ms | {} |\n| IPaddr2 | {:.0} ms | {} |",
        ms(o),
        list(&ours_gaps),
        ms(t),
        list(&theirs_gaps)
    )
    .unwrap();
    report.check(
        "failover gap under Pacemaker below IPaddr2's",
        o < t,
        format!("{:.0} ms vs {:.0} ms", ms(o), ms(t)),
    );
    vec![("cluster failover gap".to_string(), ms(o), ms(t))]
}

fn list(gaps: &[Duration]) -> String {
    gaps.iter().map(|g| format!("{:.0}", ms(*g))).collect::<Vec<_>>().join(", ") + " ms"
}

/// The do-nothing agent `make bench` builds beside the agent.
pub fn null_agent(ours: &Path) -> PathBuf {
    let path = ours.parent().expect("target dir").join("examples/null-agent");
    assert!(
        path.exists(),
        "{} missing: make bench builds it (cargo build --example null-agent)",
        path.display()
    );
    path
}
