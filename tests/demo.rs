//! `make demo`: the failover it shows, the client's outage it reports,
//! measured around the failover rather than over the whole run, the new
//! node's proof that the gateway followed, and the repair after the new
//! node's systemd-networkd removes the VIP.

mod common;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

const TOOLS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools");

/// Runs failover-gap.awk on a `ping -D` log; returns its four fields.
fn failover_gap(log: &str, t0_ms: u64) -> Vec<String> {
    let file = std::env::temp_dir().join(format!("ocf-ipaddr-ping-{}.log", std::process::id()));
    std::fs::write(&file, log).expect("the ping log");
    let out = Command::new("awk")
        .arg("-v")
        .arg(format!("t0={t0_ms}"))
        .arg("-f")
        .arg(Path::new(TOOLS).join("failover-gap.awk"))
        .arg(&file)
        .output()
        .expect("awk runs");
    let _ = std::fs::remove_file(&file);
    String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_string).collect()
}

/// A `ping -D` log: a reply every 10 ms from `from` to `to` (ms since the
/// epoch), except in the `holes` (start, end).
fn ping_log(from: u64, to: u64, holes: &[(u64, u64)]) -> String {
    let mut log = String::from("PING 192.0.2.50 (192.0.2.50) 56(84) bytes of data.\n");
    for (seq, t) in (from..=to).step_by(10).enumerate() {
        if holes.iter().any(|(start, end)| (*start..*end).contains(&t)) {
            continue;
        }
        let _ = writeln!(
            log,
            "[{}.{:03}000] 64 bytes from 192.0.2.50: icmp_seq={} ttl=64 time=0.050 ms",
            t / 1000,
            t % 1000,
            seq + 1
        );
    }
    log
}

#[test]
fn the_outage_is_the_one_around_the_failover_not_an_earlier_one() {
    let t0 = 1_800_000_000_000;
    // A 300 ms hiccup before the standby, a 40 ms outage after it.
    let log = ping_log(t0 - 1000, t0 + 2000, &[(t0 - 600, t0 - 300), (t0 + 500, t0 + 540)]);
    assert_eq!(failover_gap(&log, t0), ["267", "50", "+490", "+540"]);
    // No outage at all after the standby: the largest step between replies.
    let log = ping_log(t0 - 1000, t0 + 2000, &[(t0 - 600, t0 - 300)]);
    assert_eq!(failover_gap(&log, t0)[1], "10");
}

#[test]
fn make_demo_shows_the_vip_move_and_the_clients_outage_around_it() {
    let script = Path::new(TOOLS).join("demo.sh");
    let out = Command::new(&script).arg(common::agent_path()).output().expect("demo.sh runs");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{text}");
    assert!(text.contains("neighbor entry for 192.0.2.50 now"), "{text}");
    let outage = text
        .lines()
        .find_map(|l| l.split_once("outage around the failover ")?.1.split_once(" ms")?.0.parse::<u64>().ok())
        .unwrap_or_else(|| panic!("no outage line: {text}"));
    let last_reply = text
        .lines()
        .find_map(|l| l.split_once("(last reply ")?.1.split_once(" ms")?.0.parse::<i64>().ok())
        .unwrap_or_else(|| panic!("no window: {text}"));
    assert!(outage > 0 && outage < 5000, "{text}");
    assert!(last_reply > -2000, "the outage reported began long before the standby: {text}");
    assert!(text.contains("client reaches 192.0.2.50"), "{text}");
    // The new node's proof that the gateway followed, in the timeline.
    let converged = text
        .lines()
        .find(|l| l.contains("gateway 192.0.2.100 answered the VIP: neighbours converged"))
        .unwrap_or_else(|| panic!("no convergence line: {text}"));
    let at: i64 = converged.split_whitespace().next().and_then(|t| t.parse().ok()).expect("a time");
    assert!((0..30_000).contains(&at), "{converged}");
    // The removal, the repair naming its author, and Pacemaker told.
    assert!(text.contains("192.0.2.50 removed from eth0"), "{text}");
    let repaired = text
        .lines()
        .find(|l| l.contains("the watcher put 192.0.2.50 back"))
        .unwrap_or_else(|| panic!("no repair line: {text}"));
    assert!(repaired.contains("removed by systemd-network") && repaired.contains("pid"), "{repaired}");
    assert!(text.contains("degraded (190): 192.0.2.50 removed by"), "{text}");
    assert!(text.contains("fail count 0"), "{text}");
}
