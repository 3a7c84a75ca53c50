//! What an hour of trying to break the agent found, each as the promise it
//! now keeps: a stale namespace entry is a missing namespace, a value that
//! is not UTF-8 is named, and no wait outlasts the action's timeout.

mod common;
use common::{Lab, agent_command, agent_path, finish, ocf};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::time::{Duration, Instant};

/// An empty file under /run/netns, as a namespace deleted uncleanly leaves.
struct StaleNamespace(std::path::PathBuf);

impl StaleNamespace {
    fn new() -> StaleNamespace {
        let path = std::path::PathBuf::from(format!("/run/netns/oi-stale-{}", std::process::id()));
        std::fs::create_dir_all("/run/netns").expect("/run/netns");
        std::fs::write(&path, b"").expect("stale entry");
        StaleNamespace(path)
    }

    fn name(&self) -> String {
        self.0.file_name().unwrap().to_string_lossy().into_owned()
    }
}

impl Drop for StaleNamespace {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[test]
fn a_stale_namespace_entry_is_a_missing_namespace_never_a_failure() {
    let lab = Lab::new();
    let stale = StaleNamespace::new();
    let name = stale.name();
    let params =
        [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("network_namespace", &name)];
    let before = lab.node.snapshot();
    let probe = lab.agent("monitor", &params);
    assert_eq!(probe.code, ocf::NOT_RUNNING, "{probe:?}");
    let stop = lab.agent("stop", &params);
    assert_eq!(stop.code, ocf::SUCCESS, "{stop:?}");
    let start = lab.agent("start", &params);
    assert_eq!(start.code, ocf::ERR_INSTALLED, "{start:?}");
    assert!(start.reason().contains("not a network namespace"), "{start:?}");
    assert_eq!(lab.node.snapshot(), before);
}

#[test]
fn a_value_that_is_not_utf8_is_refused_naming_its_parameter() {
    let lab = Lab::new();
    let before = lab.node.snapshot();
    for action in ["validate-all", "start"] {
        let mut cmd = agent_command(&lab.node, &lab.rsctmp, &agent_path(), action);
        cmd.env("OCF_RESKEY_ip", "192.0.2.50")
            .env("OCF_RESKEY_cidr_netmask", "24")
            .env("OCF_RESKEY_network_namespace", OsStr::from_bytes(b"vip\xffns"));
        let run = finish(cmd);
        assert_eq!(run.code, ocf::ERR_CONFIGURED, "{action}: {run:?}");
        assert!(run.reason().contains("network_namespace") && run.reason().contains("UTF-8"), "{run:?}");
        assert_eq!(lab.node.snapshot(), before, "{action} put the VIP in the wrong namespace");
    }
}

#[test]
fn a_held_cluster_ip_lock_fails_the_start_before_its_timeout() {
    let lab = Lab::new();
    let lock = std::fs::File::create(lab.rsctmp.join("IPaddr-clusterip-lock-192.0.2.60")).expect("lock file");
    let _held = nix::fcntl::Flock::lock(lock, nix::fcntl::FlockArg::LockExclusive).expect("flock");
    let before = lab.node.snapshot();
    let mut cmd = agent_command(&lab.node, &lab.rsctmp, &agent_path(), "start");
    cmd.env("OCF_RESKEY_ip", "192.0.2.60")
        .env("OCF_RESKEY_cidr_netmask", "24")
        .env("OCF_RESKEY_nic", "eth0")
        .env("OCF_RESKEY_CRM_meta_clone_max", "2")
        .env("OCF_RESKEY_CRM_meta_clone", "0")
        .env("OCF_RESKEY_CRM_meta_timeout", "2000")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let started = Instant::now();
    let mut child = cmd.spawn().expect("agent runs");
    while child.try_wait().expect("wait").is_none() && started.elapsed() < Duration::from_secs(6) {
        std::thread::sleep(Duration::from_millis(20));
    }
    let took = started.elapsed();
    let _ = child.kill();
    let out = child.wait_with_output().expect("agent output");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(took < Duration::from_secs(2), "start waited {took:?} for the lock, past its 2 s timeout");
    assert_eq!(out.status.code(), Some(ocf::ERR_GENERIC), "{stderr}");
    assert!(stderr.contains("ocf-exit-reason:") && stderr.contains("lock"), "{stderr}");
    assert_eq!(lab.node.snapshot(), before);
}
