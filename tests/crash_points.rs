//! Every crash point, enumerated (issue 35): the agent built with
//! `--features crash-points` dies by SIGKILL right before its k-th effect on
//! the node (src/crash_point.rs). For every action that changes anything,
//! in every mode, and for every k, the action is killed at step k and then
//! stopped: stop exits 0 and the node is exactly as it was before the
//! resource first started (addresses, routes, rules, links, address labels,
//! multicast memberships, settings, firewall rules, processes, files); then
//! start, monitor and stop work. Depth two as well: a start killed at each
//! of its steps, followed by a stop killed at each of its own, then a stop.
//!
//! Run alone: `make crash-points` (docs/reliability.md).

mod common;
use common::{Lab, NameServer, Run, crash_agent, in_netns, ocf, run_agent_at, wait_for};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

const VIP4: &str = "192.0.2.50";
const PORT: u16 = 8081;

/// A mode: the parameters that select it, the environment it runs in, and
/// what the node holds before its resource ever starts.
struct Mode {
    name: &'static str,
    params: Vec<(&'static str, &'static str)>,
    env: Vec<(&'static str, &'static str)>,
    /// The node as an admin left it before the resource came.
    prepare: fn(&Lab),
    /// Also compares the firewall's rules (cluster IP).
    firewall: bool,
    /// Holds a client's connection to the VIP open before each action
    /// (what `kill_connections_on_stop` resets).
    connection: bool,
    /// Runs a watcher (every mode but the cluster IP's).
    watched: bool,
}

impl Mode {
    fn new(name: &'static str, params: &[(&'static str, &'static str)]) -> Mode {
        let mut all = vec![("ip", VIP4), ("cidr_netmask", "24"), ("nic", "eth0")];
        if let Some(ip) = params.iter().find(|(k, _)| *k == "ip") {
            all[0] = *ip;
            all[1].1 = "64";
        }
        all.extend(params.iter().filter(|(k, _)| *k != "ip"));
        // Short announcements: each round of the enumeration waits for them.
        all.extend([("arp_count", "2"), ("arp_interval", "20")]);
        Mode {
            name,
            params: all,
            env: Vec::new(),
            prepare: |_| {},
            firewall: false,
            connection: false,
            watched: true,
        }
    }

    fn ip(&self) -> &str {
        self.params[0].1
    }
}

/// One enumeration: a lab, the mode, and the node's state when the resource
/// is stopped, taken after one clean start and stop (so that what outlives
/// a resource on purpose, the action lock and the history, is part of it).
struct Enumeration {
    lab: Lab,
    mode: Mode,
    agent: PathBuf,
    baseline: State,
    log: PathBuf,
    _server: Option<NameServer>,
    points: Vec<(String, usize)>,
}

/// What the node holds that the agent could have changed.
#[derive(Debug, PartialEq)]
struct State {
    kernel: String,
    files: BTreeSet<String>,
}

impl Enumeration {
    fn new(mode: Mode) -> Enumeration {
        let lab = Lab::new();
        (mode.prepare)(&lab);
        let server = mode.connection.then(|| NameServer::holding(&lab.node, PORT, "node"));
        let log = lab.scratch("crash-log");
        let mut run = Enumeration {
            lab,
            mode,
            agent: crash_agent(),
            baseline: State::empty(),
            log,
            _server: server,
            points: vec![],
        };
        run.expect("start", &[], ocf::SUCCESS, "the first start");
        run.expect("stop", &[], ocf::SUCCESS, "the first stop");
        run.settle();
        run.baseline = run.state();
        run
    }

    /// Runs `action` with the mode's parameters, `extra` ones and `env`.
    fn run(&self, action: &str, extra: &[(&str, &str)], env: &[(&str, &str)]) -> Run {
        let mut params = self.mode.params.clone();
        params.extend_from_slice(extra);
        let mut all_env = self.mode.env.clone();
        all_env.extend_from_slice(env);
        let log = self.log.to_string_lossy().into_owned();
        all_env.push(("OCF_IPADDR_CRASH_LOG", &log));
        run_agent_at(&self.lab.node, &self.lab.rsctmp, &self.agent, action, &params, &all_env)
    }

    fn expect(&self, action: &str, extra: &[(&str, &str)], code: i32, when: &str) {
        let run = self.run(action, extra, &[]);
        assert_eq!(run.code, code, "{}: {when}: {action}: {run:#?}", self.mode.name);
    }

    /// Runs `action` armed to die before its step `k`: whether it died
    /// there (it has at least `k` steps).
    fn killed_at(&self, action: &str, extra: &[(&str, &str)], k: usize) -> bool {
        let spec = format!("{action}:{k}");
        let run = self.run(action, extra, &[("OCF_IPADDR_CRASH_AT", &spec)]);
        let died = run.stderr.contains(&format!("crash point {k}:"));
        assert_eq!(
            died,
            run.code == -1,
            "{}: {action} at {k}: died only if killed: {run:#?}",
            self.mode.name
        );
        died
    }

    /// Whether the crash log says a process died before step `k`.
    fn logged(&self, k: usize) -> bool {
        std::fs::read_to_string(&self.log).is_ok_and(|text| text.contains(&format!("crash point {k}:")))
    }

    /// The VIP as `ip` shows it: `ADDRESS/PREFIX`.
    fn cidr(&self) -> String {
        format!("{}/{}", self.mode.ip(), self.mode.params[1].1)
    }

    /// The interface the VIP is on, if any (the virtual-MAC interface with
    /// `virtual_mac`).
    fn vip_nic(&self) -> Option<String> {
        let out = self.lab.node.ip(&["-o", "addr", "show"]);
        let line = out.lines().find(|l| l.split_whitespace().any(|w| w == self.cidr()))?;
        line.split_whitespace().nth(1).map(str::to_string)
    }

    /// A client connection to the VIP held open, when the mode wants one
    /// and the VIP answers.
    fn connect(&self) -> Option<std::net::TcpStream> {
        if !self.mode.connection || self.vip_nic().is_none() {
            return None;
        }
        let target = format!("{}:{PORT}", self.mode.ip());
        in_netns(&self.lab.client, move || {
            let address = target.parse().ok()?;
            std::net::TcpStream::connect_timeout(&address, Duration::from_secs(2)).ok()
        })
        .join()
        .ok()
        .flatten()
    }

    /// Waits until no process of the agent is left in the node: a stop
    /// that ended a worker returns before the kernel has reaped it.
    fn settle(&self) {
        let gone = wait_for(Duration::from_secs(5), || self.processes().is_empty());
        assert!(gone.is_some(), "{}: processes outlived stop: {:?}", self.mode.name, self.processes());
    }

    fn processes(&self) -> Vec<String> {
        let pids = common::sh("ip", &["netns", "pids", &self.lab.node.name]);
        pids.split_whitespace()
            .filter_map(|pid| std::fs::read(format!("/proc/{pid}/cmdline")).ok())
            .map(|cmdline| String::from_utf8_lossy(&cmdline).replace('\0', " "))
            .filter(|cmdline| !cmdline.is_empty())
            .collect()
    }

    /// Two `ip` runs, one `cat` and (cluster IP) one `nft`: the state is
    /// read about 4000 times a run.
    fn state(&self) -> State {
        let node = &self.lab.node;
        let mut batch = std::process::Command::new("ip")
            .args(["-d", "-n", &node.name, "-batch", "-"])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .spawn()
            .expect("ip runs");
        let commands = "addr show\nroute show table all\nlink show\naddrlabel list\nrule show\nmaddr show\n";
        std::io::Write::write_all(&mut batch.stdin.take().expect("stdin"), commands.as_bytes())
            .expect("ip reads");
        let out = batch.wait_with_output().expect("ip runs");
        assert!(out.status.success(), "ip -batch: {out:?}");
        let mut kernel = common::without_kernel_churn(&String::from_utf8_lossy(&out.stdout));
        kernel.push_str(&node.ip(&["-6", "rule", "show"]));
        let settings: Vec<String> = ["arp_ignore", "arp_announce", "promote_secondaries"]
            .iter()
            .flat_map(|setting| {
                ["all", "eth0", "lo"].map(|nic| format!("/proc/sys/net/ipv4/conf/{nic}/{setting}"))
            })
            .collect();
        // /proc/sys shows the reader's namespace: read in the node's.
        let values = node.exec("cat", &settings.iter().map(String::as_str).collect::<Vec<_>>());
        for (setting, value) in settings.iter().zip(String::from_utf8_lossy(&values.stdout).lines()) {
            kernel.push_str(&format!("\n{setting}={value}"));
        }
        if self.mode.firewall {
            kernel.push_str(&String::from_utf8_lossy(&node.exec("nft", &["list", "ruleset"]).stdout));
        }
        State { kernel, files: files(&self.lab.rsctmp) }
    }

    /// After whatever was killed: stop exits 0 and leaves the node as the
    /// baseline.
    fn stops_clean(&self, after: &str) {
        let stop = self.run("stop", &[], &[]);
        assert_eq!(stop.code, ocf::SUCCESS, "{}: stop after {after}: {stop:#?}", self.mode.name);
        self.settle();
        self.same_as_baseline(after);
    }

    /// `stops_clean`, then start, monitor and stop work.
    fn converges(&self, after: &str) {
        self.stops_clean(after);
        let _held = self.connect();
        self.expect("start", &[], ocf::SUCCESS, &format!("start after {after}"));
        self.expect(
            "monitor",
            &[("CRM_meta_interval", "10000")],
            ocf::SUCCESS,
            &format!("monitor after {after}"),
        );
        self.expect("stop", &[], ocf::SUCCESS, &format!("the second stop after {after}"));
        self.settle();
        self.same_as_baseline(&format!("{after}, a start and a stop"));
    }

    fn same_as_baseline(&self, after: &str) {
        let now = self.state();
        if now == self.baseline {
            return;
        }
        let diff = |a: &str, b: &str| -> String {
            let (a, b): (BTreeSet<_>, BTreeSet<_>) = (a.lines().collect(), b.lines().collect());
            let gone = a.difference(&b).map(|l| format!("- {l}"));
            gone.chain(b.difference(&a).map(|l| format!("+ {l}"))).collect::<Vec<_>>().join("\n")
        };
        panic!(
            "{}: after {after}, the node is not as before the first start:\n{}\nfiles: before {:?}, now {:?}",
            self.mode.name,
            diff(&self.baseline.kernel, &now.kernel),
            self.baseline.files,
            now.files
        );
    }

    /// Kills `action` (run from the state `setup` makes) at each of its
    /// steps in turn, checking that everything converges after each.
    fn enumerate(&mut self, label: &str, action: &str, extra: &[(&str, &str)], setup: impl Fn(&Self)) {
        let mut k = 1;
        loop {
            setup(self);
            let _held = self.connect();
            if !self.killed_at(action, extra, k) {
                // The action finished: it has k - 1 steps.
                self.converges(&format!("{label} (not killed)"));
                break;
            }
            self.converges(&format!("{label} killed at step {k}"));
            k += 1;
        }
        self.points.push((label.to_string(), k - 1));
    }

    /// A worker (`__announce`, `__watch`, `__repair`) killed at each of its
    /// steps: `setup` starts the resource armed for the worker, `trigger`
    /// gives the worker its work, `done` says when it has finished.
    fn enumerate_worker(
        &mut self,
        worker: &str,
        extra: &[(&str, &str)],
        trigger: impl Fn(&Self),
        done: impl Fn(&Self) -> bool,
    ) {
        let mut k = 1;
        loop {
            let _ = std::fs::remove_file(&self.log);
            let spec = format!("{worker}:{k}");
            let start = self.run("start", extra, &[("OCF_IPADDR_CRASH_AT", &spec)]);
            assert_eq!(start.code, ocf::SUCCESS, "{}: start for {worker} at {k}: {start:#?}", self.mode.name);
            trigger(self);
            let finished = wait_for(Duration::from_secs(10), || self.logged(k) || done(self));
            assert!(finished.is_some(), "{}: {worker} at {k} neither died nor finished", self.mode.name);
            let died = self.logged(k);
            self.converges(&format!("{worker} killed at step {k}"));
            if !died {
                break;
            }
            k += 1;
        }
        self.points.push((worker.to_string(), k - 1));
    }

    fn report(&self) -> usize {
        let total: usize = self.points.iter().map(|(_, n)| n).sum();
        let each: Vec<String> = self.points.iter().map(|(label, n)| format!("{label} {n}")).collect();
        println!("{}: {total} crash points ({}), all converge", self.mode.name, each.join(", "));
        total
    }
}

impl State {
    fn empty() -> State {
        State { kernel: String::new(), files: BTreeSet::new() }
    }
}

/// The agent's files in the run directory. A write killed half-way leaves
/// its temporary copy (in IPaddr-partial) until that file's next write
/// sweeps it: allowed for the files that outlive the resource (its history,
/// the interface's announcement ledger), shown by their names alone.
fn files(dir: &Path) -> BTreeSet<String> {
    let names = |dir: &Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|entries| entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    };
    let lasting = |copy: &str| [".IPaddr-history-", ".IPaddr-pace-"].iter().any(|p| copy.starts_with(p));
    let partial = names(&dir.join("IPaddr-partial")).into_iter().filter(|copy| !lasting(copy));
    names(dir)
        .into_iter()
        .filter(|n| n != "IPaddr-partial")
        .chain(partial.map(|copy| format!("IPaddr-partial/{copy}")))
        .collect()
}

fn running(run: &Enumeration) {
    let _held = run.connect();
    run.expect("start", &[], ocf::SUCCESS, "setup");
}

/// Deletes the VIP as another process would (`ip addr del`).
fn delete_vip(run: &Enumeration) {
    let nic = run.vip_nic().unwrap_or_else(|| panic!("{}: no VIP to delete", run.mode.name));
    run.lab.node.ip(&["addr", "del", &run.cidr(), "dev", &nic]);
}

/// Which half of a mode's enumeration a test runs: every action killed at
/// each of its steps, or start × stop at depth two. The halves of a mode
/// run as two tests, side by side, each well within its time limit on a
/// loaded two-core machine (the two together took 456 s of 600 as one).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Depth {
    One,
    Two,
}

/// Every action that changes the node, killed at each of its steps (depth
/// one), or start and stop at depth two.
fn every_crash_point(mode: Mode, depth: Depth) -> usize {
    let mut run = Enumeration::new(mode);
    if depth == Depth::Two {
        depth_two(&mut run);
        return run.report();
    }
    run.enumerate("start", "start", &[], |_| {});
    run.enumerate("stop", "stop", &[], running);
    run.enumerate("recover in place", "recover", &[], running);
    let unwatched = [("repair_removed", "false")];
    run.enumerate("recover after a delete", "recover", &unwatched, |run| {
        run.expect("start", &unwatched, ocf::SUCCESS, "setup");
        delete_vip(run);
    });
    run.enumerate("reload-agent", "reload-agent", &[("arp_count", "3")], running);
    let announced = |run: &Enumeration| run.processes().iter().all(|p| !p.contains("__announce"));
    run.enumerate_worker("__announce", &[], |_| {}, announced);
    let repaired = |run: &Enumeration| {
        run.vip_nic().is_some() && run.processes().iter().all(|p| !p.contains("__repair"))
    };
    if run.mode.watched {
        run.enumerate_worker("__watch", &[], delete_vip, repaired);
        run.enumerate_worker("__repair", &[], delete_vip, repaired);
    }
    let total = run.report();
    // Start at least adds the address, records it and spawns its workers.
    assert!(
        run.points.iter().any(|(label, n)| label == "start" && *n >= 3),
        "{}: {:?}",
        run.mode.name,
        run.points
    );
    total
}

/// A start killed at each step k (and one not killed), then a stop killed
/// at each of its steps j, then a stop that must converge.
fn depth_two(run: &mut Enumeration) {
    let mut pairs = 0;
    let mut k = 1;
    loop {
        let mut j = 1;
        let start_died = loop {
            let start_died = run.killed_at("start", &[], k);
            let _held = run.connect();
            if !run.killed_at("stop", &[], j) {
                run.settle();
                run.same_as_baseline(&format!("start killed at {k}, stop not killed"));
                break start_died;
            }
            // The node is then checked whole against the baseline; the
            // start, monitor and stop from there are the first level's.
            run.stops_clean(&format!("start killed at {k}, stop killed at {j}"));
            pairs += 1;
            j += 1;
        };
        if !start_died {
            break;
        }
        k += 1;
    }
    run.points.push(("start then stop".to_string(), pairs));
}

/// Where each mode's count is kept for `make check`'s total
/// (tests/tools/crash-points-total.sh).
fn record_count(mode: &str, points: usize) {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("crash-points");
    let _ = std::fs::create_dir_all(&dir);
    let _ = std::fs::write(dir.join(mode.replace(' ', "-")), format!("{points}\n"));
}

fn enumerate_mode(mode: Mode, depth: Depth) {
    crash_agent();
    let name = match depth {
        Depth::One => mode.name.to_string(),
        // tests/tools/crash-points-total.sh counts a mode's halves as one mode.
        Depth::Two => format!("{}--depth-two", mode.name),
    };
    let points = every_crash_point(mode, depth);
    record_count(&name, points);
}

/// Two tests per mode, one per depth.
macro_rules! modes {
    ($($one:ident, $two:ident => $mode:expr;)*) => {$(
        #[test]
        fn $one() {
            enumerate_mode($mode, Depth::One);
        }

        #[test]
        fn $two() {
            enumerate_mode($mode, Depth::Two);
        }
    )*};
}

fn plain(name: &'static str, params: &[(&'static str, &'static str)]) -> Mode {
    Mode::new(name, params)
}

fn lvs_support() -> Mode {
    let mut lvs = plain("lvs_support", &[("lvs_support", "true")]);
    lvs.prepare = |lab| {
        lab.node.ip(&["addr", "add", "192.0.2.50/32", "dev", "lo"]);
    };
    lvs
}

fn cluster_ip() -> Mode {
    let mut cluster = plain("cluster IP", &[("clusterip_firewall", "nft")]);
    cluster.env = vec![
        ("OCF_RESKEY_CRM_meta_clone_max", "2"),
        ("OCF_RESKEY_CRM_meta_clone", "0"),
        ("OCF_RESKEY_CRM_meta_globally_unique", "true"),
    ];
    cluster.firewall = true;
    cluster.watched = false;
    cluster
}

fn kill_connections() -> Mode {
    let mut kill = plain("kill_connections_on_stop", &[("kill_connections_on_stop", "true")]);
    kill.connection = true;
    kill
}

modes! {
    default_ipv4, default_ipv4_depth_two => plain("default IPv4", &[]);
    ipv6, ipv6_depth_two => plain("IPv6", &[("ip", "2001:db8::50"), ("nodad", "true")]);
    lvs_support_with_a_real_servers_loopback_copy, lvs_support_depth_two => lvs_support();
    cluster_ip_with_nft, cluster_ip_with_nft_depth_two => cluster_ip();
    preferred_source, preferred_source_depth_two => plain("preferred_source", &[("preferred_source", "true")]);
    virtual_mac, virtual_mac_depth_two => plain("virtual_mac", &[("virtual_mac", "auto")]);
    kill_connections_on_stop_with_a_client_connected, kill_connections_on_stop_depth_two => kill_connections();
    announce_rate_limit, announce_rate_limit_depth_two => plain("announce_rate_limit", &[("announce_rate_limit", "20")]);
}
