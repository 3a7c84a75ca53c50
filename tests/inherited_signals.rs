//! A caller may hand the agent an ignored SIGCHLD or blocked signals (both
//! survive exec). The agent resets them: the cluster IP's waits for `nft`
//! still see their child, and the background announcer does not inherit
//! them (stop ends it with SIGTERM).

mod common;
use common::{Segment, agent_command, agent_path, finish, ocf};
use std::os::unix::process::CommandExt;

const VIP: &str = "192.0.2.61";

/// Runs `action` on node 0 as a caller that ignores SIGCHLD and blocks
/// SIGTERM would, with `params` and `env`.
fn run_with_hostile_signals(
    seg: &Segment,
    action: &str,
    params: &[(&str, &str)],
    env: &[(&str, &str)],
) -> common::Run {
    let dir = seg.rsctmp.join("node0");
    std::fs::create_dir_all(&dir).expect("rsctmp");
    let mut cmd = agent_command(&seg.nodes[0], &dir, &agent_path(), action);
    for (key, value) in params {
        cmd.env(format!("OCF_RESKEY_{key}"), value);
    }
    cmd.envs(env.iter().copied());
    // SAFETY: between fork and exec only async-signal-safe calls are made
    // (sigaction and sigprocmask through nix, no allocation).
    unsafe {
        cmd.pre_exec(|| {
            use nix::sys::signal::{SigHandler, SigSet, SigmaskHow, Signal, signal, sigprocmask};
            signal(Signal::SIGCHLD, SigHandler::SigIgn)?;
            let mut blocked = SigSet::empty();
            blocked.add(Signal::SIGTERM);
            sigprocmask(SigmaskHow::SIG_BLOCK, Some(&blocked), None)?;
            Ok(())
        });
    }
    finish(cmd)
}

#[test]
fn a_cluster_ip_starts_monitors_and_stops_under_an_ignored_sigchld() {
    let seg = Segment::new(1);
    let params = [("ip", VIP), ("cidr_netmask", "24")];
    let clone = [
        ("OCF_RESKEY_CRM_meta_clone_max", "2"),
        ("OCF_RESKEY_CRM_meta_clone", "0"),
        ("OCF_RESKEY_CRM_meta_globally_unique", "true"),
    ];
    let start = run_with_hostile_signals(&seg, "start", &params, &clone);
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    let monitor = run_with_hostile_signals(&seg, "monitor", &params, &clone);
    assert_eq!(monitor.code, ocf::SUCCESS, "{monitor:#?}");
    let stop = run_with_hostile_signals(&seg, "stop", &params, &clone);
    assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
    assert!(!seg.nodes[0].has_address("eth0", &format!("{VIP}/24")));
    let rules = seg.nodes[0].exec("nft", &["list", "ruleset"]);
    assert!(!String::from_utf8_lossy(&rules.stdout).contains(VIP), "stop removed the filter");
}

/// A bit of a `SigBlk:`/`SigIgn:` mask in /proc/PID/status.
fn has_signal(status: &str, field: &str, signal: i32) -> bool {
    let mask = status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .map(|hex| u64::from_str_radix(hex.trim(), 16).expect("a hex mask"))
        .unwrap_or_else(|| panic!("no {field} in {status}"));
    mask & (1 << (signal - 1)) != 0
}

#[test]
fn the_background_announcer_inherits_no_blocked_sigterm_and_no_ignored_sigchld() {
    let seg = Segment::new(1);
    // Announcing for a minute in the background.
    let params = [("ip", VIP), ("cidr_netmask", "24"), ("arp_count", "60"), ("arp_interval", "1000")];
    let start = run_with_hostile_signals(&seg, "start", &params, &[]);
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    let announcers = seg.nodes[0].processes_with_arg("__announce");
    let [announcer] = announcers[..] else { panic!("one announcer expected: {announcers:?}") };
    let status = std::fs::read_to_string(format!("/proc/{announcer}/status")).expect("announcer status");
    // Blocked, stop's SIGTERM would wait for its SIGKILL.
    assert!(!has_signal(&status, "SigBlk:", nix::libc::SIGTERM), "{status}");
    assert!(!has_signal(&status, "SigIgn:", nix::libc::SIGCHLD), "{status}");
    let stop = run_with_hostile_signals(&seg, "stop", &params, &[]);
    assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
    assert!(!seg.nodes[0].has_address("eth0", &format!("{VIP}/24")));
}
