//! The action timeout (CRM_meta_timeout) bounds probing, DAD and foreground
//! announcing; SIGTERM leaves a consistent state; and the files the agent
//! owns are private and cannot be turned against it.

mod common;
use common::{Lab, agent_path, ocf};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

fn timed(lab: &Lab, action: &str, params: &[(&str, &str)], timeout_ms: &str) -> (common::Run, Duration) {
    let started = Instant::now();
    let run = lab.agent_env(&lab.node, action, params, &[("OCF_RESKEY_CRM_meta_timeout", timeout_ms)]);
    (run, started.elapsed())
}

#[test]
fn foreground_announcements_that_do_not_fit_are_cut_at_the_timeout() {
    let lab = Lab::new();
    let params = [
        ("ip", "192.0.2.50"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("arp_bg", "false"),
        ("arp_count", "100"),
        ("arp_interval", "100"),
    ];
    let (run, took) = timed(&lab, "start", &params, "2000");
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert!(took < Duration::from_secs(2), "start took {took:?}, past its 2 s timeout");
    assert!(run.stderr.contains("did not fit in the action timeout"), "{run:?}");
}

#[test]
fn probing_that_does_not_fit_the_timeout_fails_the_start_and_adds_nothing() {
    let lab = Lab::new();
    let before = lab.node.snapshot();
    let params = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("probe_rfc5227", "true")];
    let (run, took) = timed(&lab, "start", &params, "1500");
    assert_eq!(run.code, ocf::ERR_GENERIC, "{run:?}");
    assert!(took < Duration::from_millis(1500), "start took {took:?}");
    assert!(run.reason().contains("no time left to probe"), "{run:?}");
    assert_eq!(lab.node.snapshot(), before, "an address nobody probed for was added");
}

#[test]
fn dad_waits_no_longer_than_the_timeout_allows() {
    let lab = Lab::new();
    let params = [("ip", "2001:db8::50"), ("cidr_netmask", "64"), ("nic", "eth0")];
    let (run, took) = timed(&lab, "start", &params, "800");
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert!(took < Duration::from_millis(800), "start took {took:?}");
}

#[test]
fn sigterm_during_start_leaves_a_state_the_next_actions_handle() {
    let lab = Lab::new();
    for (params, pause) in [
        // Killed while probing: the address was never added.
        (vec![("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("probe_wait", "3000")], 300),
        // Killed while announcing in the foreground: the address is up.
        (
            vec![
                ("ip", "192.0.2.51"),
                ("cidr_netmask", "24"),
                ("nic", "eth0"),
                ("arp_bg", "false"),
                ("arp_count", "50"),
                ("arp_interval", "100"),
            ],
            300,
        ),
    ] {
        let mut child = Command::new("ip")
            .args(["netns", "exec", &lab.node.name])
            .arg(agent_path())
            .arg("start")
            .env("HA_RSCTMP", &lab.rsctmp)
            .envs(params.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), *v)))
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(pause));
        let _ = Command::new("kill").args(["-TERM", &child.id().to_string()]).status();
        let _ = child.wait();
        let cidr = format!("{}/24", params[0].1);
        let present = lab.node.has_address("eth0", &cidr);
        let expected = if present { ocf::SUCCESS } else { ocf::NOT_RUNNING };
        assert_eq!(lab.agent("monitor", &params).code, expected);
        assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
        assert!(!lab.node.has_address("eth0", &cidr));
    }
}

fn announcer_file(lab: &Lab, ip: &str) -> std::path::PathBuf {
    lab.rsctmp.join(format!("IPaddr-announce-{ip}"))
}

#[test]
fn run_time_files_are_private_regular_files() {
    let lab = Lab::new();
    let params = [
        ("ip", "192.0.2.50"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("arp_count", "50"),
        ("arp_interval", "100"),
    ];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    let meta = std::fs::symlink_metadata(announcer_file(&lab, "192.0.2.50")).expect("tracking file");
    assert!(meta.file_type().is_file());
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
}

#[test]
fn a_forged_tracking_file_never_gets_an_unrelated_process_killed() {
    let lab = Lab::new();
    let params = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0")];
    let mut victim = Command::new("sleep").arg("30").spawn().unwrap();
    let pid = victim.id();
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let start_time = stat[stat.rfind(')').unwrap() + 1..].split_whitespace().nth(19).unwrap().to_string();
    let file = announcer_file(&lab, "192.0.2.50");
    for forged in [
        format!("{pid} {start_time}\n"),
        format!("{pid} 1\n"),
        "1 0\n".into(),
        "garbage\n".into(),
        "x".repeat(10_000),
    ] {
        std::fs::write(&file, &forged).unwrap();
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
        assert!(victim.try_wait().unwrap().is_none(), "stop killed an unrelated process for {forged:.20}");
        assert!(!file.exists(), "the forged file is removed");
    }
    victim.kill().unwrap();
    victim.wait().unwrap();
}

#[test]
fn a_symlink_in_place_of_a_tracking_file_is_never_followed() {
    let lab = Lab::new();
    let target = lab.rsctmp.join("precious");
    std::fs::write(&target, "keep me").unwrap();
    let link = announcer_file(&lab, "192.0.2.50");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    let params = [
        ("ip", "192.0.2.50"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("arp_count", "20"),
        ("arp_interval", "100"),
    ];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me", "written through the symlink");
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    let lvs = lab.rsctmp.join("IPaddr-lvs-192.0.2.60");
    std::os::unix::fs::symlink(&target, &lvs).unwrap();
    let lvs_params = [("ip", "192.0.2.60"), ("cidr_netmask", "24"), ("nic", "eth0"), ("lvs_support", "true")];
    assert_eq!(lab.agent("stop", &lvs_params).code, ocf::SUCCESS);
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
}
