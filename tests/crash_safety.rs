//! SIGKILL at random moments of start and stop, 100 rounds: whatever the
//! moment, the next stop, start and monitor converge, and nothing stale (a
//! background announcer, a tracking file, a half-added address) remains.

mod common;
use common::{Lab, agent_path, ocf};
use std::process::Command;
use std::time::{Duration, Instant};

/// A small deterministic generator: the seed is printed, so a failing
/// round can be replayed.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (self.0 >> 33) % bound
    }
}

fn processes(lab: &Lab) -> usize {
    let out = Command::new("ip").args(["netns", "pids", &lab.node.name]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().count()
}

/// The agent's files in the run directory, and the writes it left
/// unfinished (in IPaddr-partial, which itself may stay). The event
/// history (and the lock its writers take turns with), the lock the
/// resource's actions take turns with and the interface's announcement
/// ledger outlive the VIP on purpose.
fn tracking_files(lab: &Lab) -> Vec<String> {
    let names = |dir: &std::path::Path| -> Vec<String> {
        std::fs::read_dir(dir)
            .map(|entries| entries.flatten().map(|e| e.file_name().to_string_lossy().into_owned()).collect())
            .unwrap_or_default()
    };
    let mut files: Vec<String> = names(&lab.rsctmp)
        .into_iter()
        .filter(|n| (n.starts_with("IPaddr-") || n.starts_with(".IPaddr-")) && n != "IPaddr-partial")
        .filter(|n| {
            !["IPaddr-history-", "IPaddr-observe-lock-", "IPaddr-action-lock-", "IPaddr-pace-"]
                .iter()
                .any(|p| n.starts_with(p))
        })
        .collect();
    // A ledger write killed half-way leaves its copy until the interface's
    // next write sweeps it (stop of a VIP writes no ledger).
    let partial =
        names(&lab.rsctmp.join("IPaddr-partial")).into_iter().filter(|n| !n.starts_with(".IPaddr-pace-"));
    files.extend(partial.map(|n| format!("IPaddr-partial/{n}")));
    files
}

#[test]
fn sigkill_at_any_moment_of_start_or_stop_always_converges() {
    let lab = Lab::new();
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
    println!("seed {seed}");
    let mut rng = Lcg(seed);
    let v4 = [
        ("ip", "192.0.2.50"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("arp_count", "3"),
        ("arp_interval", "50"),
    ];
    let v6 = [
        ("ip", "2001:db8::50"),
        ("cidr_netmask", "64"),
        ("nic", "eth0"),
        ("nodad", "true"),
        ("arp_count", "3"),
        ("arp_interval", "50"),
    ];
    // Every kill right before an effect is enumerated (crash_points.rs);
    // these rounds sample the instants in between (probing, waiting).
    for round in 0..100 {
        let params: &[(&str, &str)] = if round % 2 == 0 { &v4 } else { &v6 };
        let action = if rng.next(2) == 0 { "start" } else { "stop" };
        if action == "stop" {
            assert_eq!(lab.agent("start", params).code, ocf::SUCCESS, "round {round}: setup");
        }
        let mut child = Command::new("ip")
            .args(["netns", "exec", &lab.node.name])
            .arg(agent_path())
            .arg(action)
            .env("HA_RSCTMP", &lab.rsctmp)
            .envs(params.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), *v)))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_micros(rng.next(25_000)));
        let _ = child.kill();
        let _ = child.wait();

        // Whatever happened, monitor tells the truth...
        let cidr = format!("{}/{}", params[0].1, params[1].1);
        let present = lab.node.has_address("eth0", &cidr);
        let monitor = lab.agent("monitor", params);
        assert_eq!(
            monitor.code,
            if present { ocf::SUCCESS } else { ocf::NOT_RUNNING },
            "round {round} ({action}): {monitor:?}"
        );
        // ...start converges to running...
        assert_eq!(
            lab.agent("start", params).code,
            ocf::SUCCESS,
            "round {round} ({action}): start after kill"
        );
        assert_eq!(lab.agent("monitor", params).code, ocf::SUCCESS, "round {round}");
        // ...and stop to stopped, with nothing left behind.
        assert_eq!(lab.agent("stop", params).code, ocf::SUCCESS, "round {round}: stop after kill");
        assert!(!lab.node.has_address("eth0", &cidr), "round {round}: address left");
        let gone = Instant::now();
        while processes(&lab) > 0 && gone.elapsed() < Duration::from_millis(500) {
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(processes(&lab), 0, "round {round}: an announcer outlived stop");
        assert!(tracking_files(&lab).is_empty(), "round {round}: stale files {:?}", tracking_files(&lab));
    }
}
