//! Self-healing (`repair_removed`): what the watchers cost while nothing
//! happens and while the node's other addresses churn, and how long a VIP
//! that another process removed stays away, beside IPaddr2 under the same
//! Pacemaker (which waits for a monitor to fail, then restarts it).

use crate::common::cluster::{Cluster, Pinger, Stack};
use crate::common::{Netns, no_neighbor_locktime, run_agent, wait_for};
use crate::measure::ms;
use crate::report::Report;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

const VIPS: usize = 400;
const UNRELATED: usize = 1000;
const IDLE: Duration = Duration::from_secs(10);
/// Deletions per agent under Pacemaker (the watcher repairs 3 in 60 s).
const DELETIONS: usize = 3;
/// The target: deletion to answering again.
const REPAIR_TARGET: Duration = Duration::from_millis(50);

/// CPU time (user + system) of `pids`, in clock ticks, and their
/// proportional memory (PSS), in kB.
fn usage(pids: &[u32]) -> (u64, u64) {
    let mut ticks = 0;
    let mut pss = 0;
    for pid in pids {
        if let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) {
            let fields: Vec<&str> = stat[stat.rfind(')').map_or(0, |i| i + 2)..].split_whitespace().collect();
            // utime and stime: fields 14 and 15 of stat, 12 and 13 after the name.
            ticks += fields.get(11).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
            ticks += fields.get(12).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
        }
        if let Ok(rollup) = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup")) {
            pss += rollup
                .lines()
                .find(|l| l.starts_with("Pss:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
                .unwrap_or(0);
        }
    }
    (ticks, pss)
}

fn ticks_ms(ticks: u64) -> f64 {
    // SAFETY: sysconf takes a name and returns a value.
    let hz = unsafe { nix::libc::sysconf(nix::libc::_SC_CLK_TCK) }.max(1) as f64;
    ticks as f64 * 1000.0 / hz
}

/// 400 watched VIPs on one NIC: the watchers' CPU while idle and while
/// 1000 unrelated addresses come and go on another NIC, and their memory.
pub fn measure_watchers(ours: &Path, rsctmp: &Path, md: &mut String, report: &mut Report) {
    let node = Netns::new("bw");
    for (nic, peer) in [("eth0", "peer0"), ("eth1", "peer1")] {
        node.ip(&["link", "add", nic, "type", "veth", "peer", "name", peer]);
        node.ip(&["link", "set", nic, "up"]);
        node.ip(&["link", "set", peer, "up"]);
    }
    node.ip(&["addr", "add", "198.18.0.1/16", "dev", "eth0"]);
    let started = Instant::now();
    for k in 0..VIPS {
        let x = k + 2;
        let ip = format!("198.18.{}.{}", x / 250, x % 250 + 1);
        let instance = format!("vip{k}");
        let params = [("ip", ip.as_str()), ("cidr_netmask", "16"), ("nic", "eth0"), ("probe_count", "0")];
        let run = crate::common::run_agent_at(
            &node,
            rsctmp,
            ours,
            "start",
            &params,
            &[("OCF_RESOURCE_INSTANCE", instance.as_str())],
        );
        assert_eq!(run.code, 0, "start {ip}: {run:?}");
    }
    let start_all = started.elapsed();
    let watchers = || node.processes_with_arg("__watch");
    assert!(wait_for(Duration::from_secs(30), || watchers().len() == VIPS).is_some(), "{VIPS} watchers run");
    let pids = watchers();
    let (before, pss) = usage(&pids);
    std::thread::sleep(IDLE);
    let (idle, _) = usage(&pids);
    let batch = rsctmp.join("unrelated.batch");
    let mut text = String::new();
    for verb in ["add", "del"] {
        for i in 0..UNRELATED {
            writeln!(text, "addr {verb} 10.9.{}.{}/32 dev eth1", i / 250, i % 250 + 1).unwrap();
        }
    }
    std::fs::write(&batch, text).expect("batch file");
    let churn_started = Instant::now();
    node.ip(&["-batch", batch.to_str().expect("utf-8 path")]);
    let churn = churn_started.elapsed();
    // Let any watcher the churn woke run.
    std::thread::sleep(Duration::from_secs(1));
    let (after, _) = usage(&pids);
    let idle_ms = ticks_ms(idle - before);
    let churn_ms = ticks_ms(after - idle);
    writeln!(
        md,
        "\n## Self-healing: what the watchers cost\n\n{VIPS} VIPs started one after another on one NIC (all in {:.1} s), each with its watcher (`repair_removed`, the default). Their CPU is summed over all {VIPS} watcher processes from /proc (clock ticks of {:.0} ms). Without watchers there is nothing to measure: no process runs between actions.\n\n| what | all {VIPS} watchers |\n|---|---|\n| CPU while idle, {} s | {idle_ms:.0} ms |\n| CPU while {UNRELATED} unrelated addresses are added and removed on another NIC ({:.0} ms of churn) | {churn_ms:.0} ms |\n| memory (PSS) | {:.1} MB ({:.0} kB each) |\n\nThe kernel runs each watcher's socket filter on every address notification and wakes only the watcher whose VIP it names, so neither idle time nor unrelated churn reaches the watchers.",
        start_all.as_secs_f64(),
        ticks_ms(1),
        IDLE.as_secs(),
        ms(churn),
        pss as f64 / 1024.0,
        pss as f64 / VIPS as f64,
    )
    .unwrap();
    report.check(
        "400 idle watchers use no CPU",
        idle_ms <= ticks_ms(1),
        format!("{idle_ms:.0} ms in {} s", IDLE.as_secs()),
    );
    report.check(
        "1000 unrelated addresses wake no watcher",
        churn_ms <= ticks_ms(2),
        format!("{churn_ms:.0} ms of CPU for all watchers"),
    );
    for k in 0..VIPS {
        let x = k + 2;
        let ip = format!("198.18.{}.{}", x / 250, x % 250 + 1);
        let instance = format!("vip{k}");
        let params = [("ip", ip.as_str()), ("cidr_netmask", "16"), ("nic", "eth0")];
        run_agent(&node, rsctmp, "stop", &params, &[("OCF_RESOURCE_INSTANCE", instance.as_str())]);
    }
}

/// How long a VIP deleted by hand stays away under Pacemaker: ours and
/// IPaddr2 side by side on one node, each with a 10 s monitor.
pub fn measure_repair_under_pacemaker(ours: &Path, dir: &Path, md: &mut String, report: &mut Report) {
    let cluster = Cluster::start_with_agent(Stack::Debian12, 1, ours);
    no_neighbor_locktime(&cluster.seg.client);
    let agents = [("ocf:rust:IPaddr", "vip", "192.0.2.50"), ("IPaddr2", "vip2", "192.0.2.60")];
    for (kind, name, ip) in agents {
        let primitive = if kind == "IPaddr2" { "ocf:heartbeat:IPaddr2" } else { "ocf:rust:IPaddr" };
        let ip_param = format!("ip={ip}");
        cluster.must(
            0,
            "crm",
            &[
                "configure",
                "primitive",
                name,
                primitive,
                "params",
                &ip_param,
                "cidr_netmask=24",
                "nic=eth0",
                "op",
                "monitor",
                "interval=10s",
            ],
        );
        cluster.wait_for(Duration::from_secs(60), "the VIP running", |c| c.location(name).is_some());
    }
    let node = &cluster.seg.nodes[0];
    let mut rows = String::new();
    let mut ours_worst = Duration::ZERO;
    let mut theirs = Vec::new();
    for (kind, name, ip) in agents {
        let cidr = format!("{ip}/24");
        let mut back = Vec::new();
        let mut gaps = Vec::new();
        for _ in 0..DELETIONS {
            assert!(cluster.client_reaches(ip).is_some(), "{kind}: the client reaches {ip} first");
            let pinger = Pinger::start(&cluster.seg.client, ip, dir, 60);
            std::thread::sleep(Duration::from_millis(300));
            node.ip(&["addr", "del", &cidr, "dev", "eth0"]);
            let returned = wait_for(Duration::from_secs(60), || node.has_address("eth0", &cidr))
                .unwrap_or_else(|| panic!("{kind}: {ip} never came back"));
            std::thread::sleep(Duration::from_millis(500));
            let (gap, _) = pinger.finish();
            println!("repair {kind}: back after {:.1} ms, ping gap {:.1} ms", ms(returned), ms(gap));
            back.push(returned);
            gaps.push(gap);
            // Let Pacemaker finish its recovery (IPaddr2) before the next deletion.
            cluster.wait_for(Duration::from_secs(60), "the VIP running", |c| c.location(name) == Some(0));
        }
        let worst = back.iter().max().copied().unwrap_or_default();
        let list = |d: &[Duration]| d.iter().map(|x| format!("{:.0}", ms(*x))).collect::<Vec<_>>().join(", ");
        writeln!(rows, "| {kind} | {} ms | {} ms |", list(&back), list(&gaps)).unwrap();
        if kind == "IPaddr2" {
            theirs = back;
        } else {
            ours_worst = worst;
        }
    }
    writeln!(
        md,
        "\n## Self-healing: a VIP deleted by hand, under Pacemaker\n\nOne node of Corosync + Pacemaker (Debian 12), the two agents' VIPs side by side, each with a 10 s monitor; `ip addr del` removes the VIP {DELETIONS} times each while a client pings it every 10 ms. \"Back\" is from the deletion until the address is on the NIC again; the gap is the longest time between two ping replies (the client's view, announcement included). Ours is put back by its watcher; IPaddr2's waits for its next monitor to fail and Pacemaker's restart.\n\n| agent | back after | ping gap |\n|---|---|---|\n{rows}"
    )
    .unwrap();
    let theirs_best = theirs.iter().min().copied().unwrap_or_default();
    report.check(
        "a deleted VIP is back within 50 ms (watcher)",
        ours_worst < REPAIR_TARGET,
        format!(
            "worst {:.0} ms; IPaddr2 under the same Pacemaker: at best {:.0} ms",
            ms(ours_worst),
            ms(theirs_best)
        ),
    );
}
