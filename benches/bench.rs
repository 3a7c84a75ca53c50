//! `make bench`: our agent and Debian's IPaddr2 side by side, interleaved,
//! in the same run and the same network namespace. Writes
//! docs/benchmarks.md and docs/benchmarks.svg and prints PASS/FAIL for each
//! target. Ratios matter here, not absolute times: a shared machine is noisy.

#[path = "../tests/common/mod.rs"]
mod common;

use common::{Lab, Netns, Segment};
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const IPADDR2: &str = "/usr/lib/ocf/resource.d/heartbeat/IPaddr2";
const ITERATIONS: usize = 40;

/// One agent under test with the parameters both get.
struct Agent {
    name: &'static str,
    path: PathBuf,
    vip: &'static str,
    /// Settings that make the two agents do the same work: no probing (IPaddr2
    /// does none), one foreground announcement.
    extra: Vec<(&'static str, &'static str)>,
}

impl Agent {
    fn env(&self, rsctmp: &Path, vip: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
        let mut env = vec![
            ("PATH".to_string(), "/usr/sbin:/usr/bin:/sbin:/bin".to_string()),
            ("OCF_ROOT".to_string(), "/usr/lib/ocf".to_string()),
            ("HA_RSCTMP".to_string(), rsctmp.display().to_string()),
            ("OCF_RESOURCE_INSTANCE".to_string(), "vip".to_string()),
            ("OCF_RESKEY_ip".to_string(), vip.to_string()),
            ("OCF_RESKEY_cidr_netmask".to_string(), "24".to_string()),
            ("OCF_RESKEY_nic".to_string(), "eth0".to_string()),
        ];
        for (k, v) in self.extra.iter().chain(extra) {
            env.push((format!("OCF_RESKEY_{k}"), v.to_string()));
        }
        env
    }
}

/// Runs `program action` in the current (namespace-entered) process context;
/// returns wall time, exit code and peak RSS in KiB.
fn run(program: &Path, action: &str, env: &[(String, String)]) -> (Duration, i32, u64) {
    let started = Instant::now();
    // Reaped below with wait4, which also reports the child's peak RSS.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(program)
        .arg(action)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("agent runs");
    let mut status = 0;
    // SAFETY: rusage is plain old data, filled in by wait4.
    let mut usage: nix::libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: waits for our own child; pointers are to live locals.
    let pid = unsafe { nix::libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    let took = started.elapsed();
    assert!(pid > 0, "wait4 failed");
    let code = if nix::libc::WIFEXITED(status) { nix::libc::WEXITSTATUS(status) } else { -1 };
    (took, code, usage.ru_maxrss as u64)
}

#[derive(Default, Clone)]
struct Stats {
    samples: Vec<Duration>,
    peak_rss_kib: u64,
}

impl Stats {
    fn push(&mut self, d: Duration, rss: u64) {
        self.samples.push(d);
        self.peak_rss_kib = self.peak_rss_kib.max(rss);
    }
    fn quantile(&self, q: f64) -> Duration {
        let mut sorted = self.samples.clone();
        sorted.sort();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        sorted[((sorted.len() - 1) as f64 * q).round() as usize]
    }
    fn median(&self) -> Duration {
        self.quantile(0.5)
    }
    fn p95(&self) -> Duration {
        self.quantile(0.95)
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Counts the processes an action creates (execve calls beyond the first).
fn children(program: &Path, action: &str, env: &[(String, String)], dir: &Path) -> usize {
    let log = dir.join(format!("strace-{action}-{}", program.file_name().unwrap().to_string_lossy()));
    let _ = Command::new("strace")
        .args(["-f", "-qq", "-e", "trace=execve", "-o"])
        .arg(&log)
        .arg(program)
        .arg(action)
        .env_clear()
        .envs(env.iter().map(|(k, v)| (k, v)))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    text.lines().filter(|l| l.contains("execve(") && !l.contains("ENOENT")).count().saturating_sub(1)
}

struct Report {
    md: String,
    checks: Vec<(String, bool, String)>,
}

impl Report {
    fn check(&mut self, name: &str, pass: bool, detail: String) {
        println!("{} {name}: {detail}", if pass { "PASS" } else { "FAIL" });
        self.checks.push((name.to_string(), pass, detail));
    }
}

/// Enters the namespace for the rest of this (single-threaded) process, so
/// every spawned agent runs there without an extra `ip netns exec`.
fn enter(ns: &Netns) {
    let fd = std::fs::File::open(format!("/run/netns/{}", ns.name)).expect("netns file");
    nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
}

fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let out = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    format!(
        "- CPU: {cpu} ({} cores)\n- kernel: {}\n- ocf-ipaddr {} ({})\n- resource-agents {} (IPaddr2)\n",
        out("nproc", &[]),
        out("uname", &["-r"]),
        env!("CARGO_PKG_VERSION"),
        out("rustc", &["--version"]),
        out("dpkg-query", &["-W", "-f=${Version}", "resource-agents"]),
    )
}

fn main() {
    if std::env::args().any(|a| a == "--list" || a == "--test") {
        return; // cargo test/bench discovery: nothing to list
    }
    assert!(Path::new(IPADDR2).exists(), "IPaddr2 missing: make bench installs resource-agents");
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_IPaddr"));
    let docs = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("docs");
    let mut report = Report { md: String::new(), checks: Vec::new() };
    let mut md = String::from(
        "# Benchmarks\n\nGenerated by `make bench` (benches/bench.rs); every number comes from one run on one machine, both agents interleaved.\n\n## Machine\n\n",
    );
    md.push_str(&machine());

    let lab = Lab::new();
    let rsctmp = lab.rsctmp.clone();
    let agents = [
        Agent {
            name: "ocf:rust:IPaddr",
            path: ours.clone(),
            vip: "192.0.2.50",
            extra: vec![("probe_count", "0"), ("arp_bg", "false"), ("arp_count", "1")],
        },
        Agent {
            name: "IPaddr2",
            path: PathBuf::from(IPADDR2),
            vip: "192.0.2.60",
            extra: vec![("arp_bg", "false"), ("arp_count", "1")],
        },
    ];
    let floor_bin = PathBuf::from("/bin/true");
    // Our own namespace, to return to before the harness deletes the others
    // (it kills every process inside a namespace it deletes).
    let home = std::fs::File::open("/proc/self/ns/net").expect("own netns");
    let scale_node = Netns::new("bs");
    scale_node.ip(&["link", "add", "eth0", "type", "veth", "peer", "name", "peer0"]);
    scale_node.ip(&["link", "set", "eth0", "up"]);
    scale_node.ip(&["link", "set", "peer0", "up"]);
    scale_node.ip(&["addr", "add", "198.18.0.1/16", "dev", "eth0"]);
    enter(&lab.node);

    // Per-action timings, interleaved: ours, IPaddr2, ours, IPaddr2...
    let actions =
        ["meta-data", "validate-all", "monitor (probe, not running)", "start", "monitor (running)", "stop"];
    let mut stats: BTreeMap<(&str, &str), Stats> = BTreeMap::new();
    let mut floor = Stats::default();
    let no_extra: [(&str, &str); 0] = [];
    for _ in 0..ITERATIONS {
        for action in actions {
            // The floor is sampled right before each of our runs, in the
            // same cache state (just after an IPaddr2 run), so that the
            // ratio compares like with like.
            let (t, _, rss) = run(&floor_bin, "", &[]);
            floor.push(t, rss);
            for agent in &agents {
                let verb = action.split(' ').next().unwrap();
                let env = agent.env(&rsctmp, agent.vip, &no_extra);
                let (t, code, rss) = run(&agent.path, verb, &env);
                let expected = match action {
                    "monitor (probe, not running)" => 7,
                    _ => 0,
                };
                assert_eq!(code, expected, "{} {action} exited {code}", agent.name);
                stats.entry((agent.name, action)).or_default().push(t, rss);
            }
        }
    }
    let floor_ms = ms(floor.median());
    writeln!(md, "\n## Per action ({ITERATIONS} runs each, interleaved)\n\nThe exec floor is the time to start `/bin/true` the same way, sampled before every run of ours: {floor_ms:.2} ms (median). Settings for both: `ip`, `cidr_netmask=24`, `nic=eth0`, `arp_count=1`, `arp_bg=false`; ours also `probe_count=0` (IPaddr2 does not probe).\n").unwrap();
    md.push_str("| action | ours median | ours p95 | × floor | IPaddr2 median | IPaddr2 p95 | IPaddr2 / ours | processes spawned (ours / IPaddr2) | peak RSS KiB (ours / IPaddr2) |\n|---|---|---|---|---|---|---|---|---|\n");
    let mut chart = Vec::new();
    for action in actions {
        let o = &stats[&("ocf:rust:IPaddr", action)];
        let i = &stats[&("IPaddr2", action)];
        let verb = action.split(' ').next().unwrap();
        let state_env = |a: &Agent| a.env(&rsctmp, a.vip, &no_extra);
        // Children are counted in a state matching the action.
        let prepare = |a: &Agent, up: bool| {
            let _ = run(&a.path, if up { "start" } else { "stop" }, &state_env(a));
        };
        let up = matches!(action, "monitor (running)" | "stop");
        prepare(&agents[0], up);
        let ours_children = children(&agents[0].path, verb, &state_env(&agents[0]), &rsctmp);
        prepare(&agents[1], up);
        let theirs_children = children(&agents[1].path, verb, &state_env(&agents[1]), &rsctmp);
        prepare(&agents[0], false);
        prepare(&agents[1], false);
        let ratio = ms(i.median()) / ms(o.median());
        writeln!(
            md,
            "| {action} | {:.2} ms | {:.2} ms | {:.2} | {:.2} ms | {:.2} ms | {ratio:.1}× | {ours_children} / {theirs_children} | {} / {} |",
            ms(o.median()),
            ms(o.p95()),
            ms(o.median()) / floor_ms,
            ms(i.median()),
            ms(i.p95()),
            o.peak_rss_kib,
            i.peak_rss_kib
        )
        .unwrap();
        chart.push((action.to_string(), ms(o.median()), ms(i.median())));
        report.check(
            &format!("zero child processes in {action}"),
            ours_children == 0,
            format!("{ours_children} (IPaddr2: {theirs_children})"),
        );
    }
    let m = |a: &str| ms(stats[&("ocf:rust:IPaddr", a)].median());
    let t = |a: &str| ms(stats[&("IPaddr2", a)].median());
    report.check(
        "monitor within 1.5× the exec floor",
        m("monitor (running)") <= 1.5 * floor_ms,
        format!(
            "{:.2} ms vs floor {floor_ms:.2} ms ({:.2}×)",
            m("monitor (running)"),
            m("monitor (running)") / floor_ms
        ),
    );
    report.check(
        "monitor at least 20× faster than IPaddr2",
        t("monitor (running)") >= 20.0 * m("monitor (running)"),
        format!("{:.1}×", t("monitor (running)") / m("monitor (running)")),
    );
    report.check(
        "stop at least 15× faster than IPaddr2",
        t("stop") >= 15.0 * m("stop"),
        format!("{:.1}×", t("stop") / m("stop")),
    );
    // Start does what stop does plus one foreground announcement, whose cost
    // is the raw socket: measured here on its own (probing is off).
    let socket = packet_socket_cost();
    report.check(
        "start as fast as stop plus the foreground announcement",
        m("start") <= (m("stop") + ms(socket)) * 1.2,
        format!(
            "start {:.2} ms ≤ 1.2 × (stop {:.2} ms + announcement {:.2} ms: opening and closing a packet socket, which waits for an RCU grace period)",
            m("start"),
            m("stop"),
            ms(socket)
        ),
    );
    let peak = actions.iter().map(|a| stats[&("ocf:rust:IPaddr", *a)].peak_rss_kib).max().unwrap_or(0);
    report.check("peak RSS under 8 MiB", peak < 8 * 1024, format!("{peak} KiB"));
    let size = std::fs::metadata(&ours).map(|m| m.len()).unwrap_or(u64::MAX);
    report.check(
        "stripped binary under 4 MiB",
        size < 4 * 1024 * 1024,
        format!("{:.2} MiB", size as f64 / 1048576.0),
    );

    // With the defaults: probing on, IPv4 announcements in the background.
    let mut defaults = Stats::default();
    let default_env = agents[0].env(&rsctmp, "192.0.2.70", &[]);
    let default_env: Vec<_> = default_env
        .into_iter()
        .filter(|(k, _)| !k.contains("probe_count") && !k.contains("arp_bg") && !k.contains("arp_count"))
        .collect();
    for _ in 0..10 {
        let (t, code, _) = run(&ours, "start", &default_env);
        assert_eq!(code, 0);
        defaults.push(t, 0);
        run(&ours, "stop", &default_env);
    }
    writeln!(md, "\nWith the defaults (2 probes over 15 ms, first announcement in the foreground, the rest in the background), ours starts in {:.2} ms (median of 10).\n", ms(defaults.median())).unwrap();

    // Scale: N VIPs on one NIC.
    enter(&scale_node);
    md.push_str("\n## Scale: N VIPs on one NIC\n\nTime to start all, monitor all once and stop all; per-VIP cost in parentheses. Our monitor asks the kernel for the addresses of the VIP's NIC only (`RTM_GETADDR` with the interface index and strict checking), so other NICs' addresses cost nothing; the VIP's own NIC still returns its N addresses.\n\n| N | agent | start all | monitor all | stop all |\n|---|---|---|---|---|\n");
    let mut per_vip_monitor = BTreeMap::new();
    for n in [1usize, 100, 1000] {
        for agent in &agents {
            let base = if agent.name == "IPaddr2" { 10_000u32 } else { 0 };
            let vips: Vec<String> = (0..n as u32)
                .map(|k| {
                    let x = base + k + 2;
                    format!("198.18.{}.{}", x / 250, x % 250 + 1)
                })
                .collect();
            let phase = |verb: &str| {
                let started = Instant::now();
                for vip in &vips {
                    let mut env = agent.env(&rsctmp, vip, &[]);
                    for (k, v) in env.iter_mut() {
                        if k == "OCF_RESKEY_cidr_netmask" {
                            *v = "16".into();
                        }
                    }
                    let (_, code, _) = run(&agent.path, verb, &env);
                    assert_eq!(code, 0, "{} {verb} {vip}", agent.name);
                }
                started.elapsed()
            };
            let (s, mo, st) = (phase("start"), phase("monitor"), phase("stop"));
            let per = |d: Duration| ms(d) / n as f64;
            writeln!(
                md,
                "| {n} | {} | {:.0} ms ({:.2}) | {:.0} ms ({:.2}) | {:.0} ms ({:.2}) |",
                agent.name,
                ms(s),
                per(s),
                ms(mo),
                per(mo),
                ms(st),
                per(st)
            )
            .unwrap();
            per_vip_monitor.insert((agent.name, n), per(mo));
            println!("scale {n} {}: monitor per VIP {:.2} ms", agent.name, per(mo));
        }
    }
    let flat = per_vip_monitor[&("ocf:rust:IPaddr", 1000)] / per_vip_monitor[&("ocf:rust:IPaddr", 1)];
    report.check("per-VIP monitor cost at 1000 VIPs within 2× of 1 VIP", flat <= 2.0, format!("{flat:.2}×"));

    // Failover: stop on A, start on B, client pinging.
    md.push_str("\n## Failover: stop on node A, start on node B\n\nA client on the same segment pings the VIP every 10 ms; each agent with its defaults. Gap: longest time between two ping replies. Flip: from the start on B until the client's neighbor entry points at B (kernel timestamps).\n\n| agent | outage gap (median of 5) | start → neighbor flip (median) |\n|---|---|---|\n");
    let seg = Segment::new(2);
    common::no_neighbor_locktime(&seg.client);
    let mut gaps = BTreeMap::new();
    for round in 0..5 {
        for agent in &agents {
            let vip = agent.vip;
            let params: Vec<(&str, &str)> = vec![("ip", vip), ("cidr_netmask", "24"), ("nic", "eth0")];
            assert_eq!(run_in(&seg, 0, agent, "start", &params), 0);
            let _ = seg.client.exec("ping", &["-c1", "-W1", vip]);
            let pinger = common::cluster::Pinger::start(&seg.client, vip, &rsctmp, 20);
            let monitor = NeighMonitor::start(&seg.client, &rsctmp);
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
    for agent in &agents {
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

    md.push_str("\n## Targets\n\n| target | result | measured |\n|---|---|---|\n");
    for (name, pass, detail) in &report.checks {
        writeln!(md, "| {name} | {} | {detail} |", if *pass { "PASS" } else { "FAIL" }).unwrap();
    }
    md.push_str("\n![median time per action](benchmarks.svg)\n");
    report.md = md;
    std::fs::write(docs.join("benchmarks.md"), &report.md).expect("write docs/benchmarks.md");
    std::fs::write(docs.join("benchmarks.svg"), svg(&chart, floor_ms)).expect("write docs/benchmarks.svg");
    nix::sched::setns(home, nix::sched::CloneFlags::CLONE_NEWNET).expect("back to our netns");
    let failed = report.checks.iter().filter(|c| !c.1).count();
    println!(
        "{} targets, {} passed, {failed} failed; docs/benchmarks.md written",
        report.checks.len(),
        report.checks.len() - failed
    );
}

/// Median time to open, bind and close an AF_PACKET socket on eth0, which
/// is what one foreground announcement costs beyond sending a frame.
fn packet_socket_cost() -> Duration {
    use nix::libc;
    let mut stats = Stats::default();
    let ifindex = nix::net::if_::if_nametoindex("eth0").expect("eth0") as i32;
    for _ in 0..20 {
        let started = Instant::now();
        // SAFETY: plain socket/bind/close on a fresh descriptor and a zeroed sockaddr_ll.
        unsafe {
            let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0);
            let mut addr: libc::sockaddr_ll = std::mem::zeroed();
            addr.sll_family = libc::AF_PACKET as u16;
            addr.sll_protocol = 0x0806u16.to_be();
            addr.sll_ifindex = ifindex;
            libc::bind(
                fd,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            );
            libc::close(fd);
        }
        stats.push(started.elapsed(), 0);
    }
    stats.median()
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

/// A horizontal bar chart of medians, ours and IPaddr2 side by side, log scale.
fn svg(rows: &[(String, f64, f64)], floor_ms: f64) -> String {
    let (width, left, bar, gap) = (900.0, 260.0, 14.0, 10.0);
    let height = 60.0 + rows.len() as f64 * (2.0 * bar + gap);
    let max = rows.iter().map(|r| r.1.max(r.2)).fold(1.0, f64::max);
    let scale = |v: f64| {
        if v <= 0.0 {
            0.0
        } else {
            ((v.max(0.1) / 0.1).log10() / (max / 0.1).log10()) * (width - left - 120.0)
        }
    };
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n<text x=\"10\" y=\"20\" font-size=\"14\">Median time per action, ms (log scale); exec floor {floor_ms:.2} ms</text>\n<rect x=\"{left}\" y=\"30\" width=\"12\" height=\"12\" fill=\"#2b7bb9\"/><text x=\"{}\" y=\"40\">ocf:rust:IPaddr</text>\n<rect x=\"{}\" y=\"30\" width=\"12\" height=\"12\" fill=\"#d95f02\"/><text x=\"{}\" y=\"40\">IPaddr2</text>\n",
        left + 16.0,
        left + 140.0,
        left + 156.0
    );
    for (i, (label, ours, theirs)) in rows.iter().enumerate() {
        let y = 55.0 + i as f64 * (2.0 * bar + gap);
        writeln!(
            out,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{label}</text>",
            left - 8.0,
            y + bar + 4.0
        )
        .unwrap();
        for (k, (value, color)) in [(*ours, "#2b7bb9"), (*theirs, "#d95f02")].iter().enumerate() {
            if *value <= 0.0 {
                continue;
            }
            let yy = y + k as f64 * bar;
            writeln!(out, "<rect x=\"{left}\" y=\"{yy}\" width=\"{:.1}\" height=\"{}\" fill=\"{color}\"/><text x=\"{:.1}\" y=\"{}\">{value:.2}</text>", scale(*value).max(1.0), bar - 2.0, left + scale(*value).max(1.0) + 4.0, yy + bar - 4.0).unwrap();
        }
    }
    out.push_str("</svg>\n");
    out
}
