//! The background announcer (`arp_bg`): it never holds the caller's
//! output open, never survives stop, is never untracked or stopped on a
//! forged record, and follows the NIC's MAC.

mod common;
use common::{Arp, Capture, Lab, arps, ocf, wait_for};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

#[test]
fn stop_ends_a_long_background_announcer_at_once() {
    let lab = Lab::new();
    let params = [
        ("ip", "192.0.2.50"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("arp_count", "200"),
        ("arp_interval", "50"),
    ];
    let started = Instant::now();
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    assert!(started.elapsed() < Duration::from_secs(1), "start returned after {:?}", started.elapsed());
    assert!(pids(&lab.node) > 0, "an announcer runs");
    let capture = Capture::start(&lab.client, "eth0", &lab.rsctmp);
    let announcing = wait_for(Duration::from_secs(10), || !arps(&capture.so_far()).is_empty());
    assert!(announcing.is_some(), "the announcer announces");
    let stop = lab.agent("stop", &params);
    assert_eq!(stop.code, ocf::SUCCESS);
    let stopped_at = now_micros();
    assert_eq!(pids(&lab.node), 0, "the announcer is gone when stop returns");
    std::thread::sleep(Duration::from_millis(300));
    let frames = capture.stop();
    let node_mac = lab.node.mac("eth0");
    let sent: Vec<Arp> = arps(&frames).into_iter().filter(|a| a.eth_src == node_mac).collect();
    assert!(!sent.is_empty(), "the announcer was announcing before stop");
    assert!(sent.iter().all(|a| a.micros < stopped_at), "an announcement followed stop");
    let files: Vec<_> = std::fs::read_dir(&lab.rsctmp)
        .unwrap()
        .flatten()
        .filter(|e| e.file_name().to_string_lossy().starts_with("IPaddr-announce"))
        .collect();
    assert!(files.is_empty(), "tracking file removed: {files:?}");
}

fn pids(ns: &common::Netns) -> usize {
    let out = std::process::Command::new("ip").args(["netns", "pids", &ns.name]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().count()
}

fn now_micros() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_micros() as u64
}

#[test]
fn a_caller_reading_the_output_sees_end_of_file_when_start_returns() {
    let lab = Lab::new();
    let started = Instant::now();
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", &lab.node.name])
        .arg(common::agent_path())
        .arg("start")
        .env("HA_RSCTMP", &lab.rsctmp)
        .env("OCF_RESKEY_ip", "192.0.2.50")
        .env("OCF_RESKEY_cidr_netmask", "24")
        .env("OCF_RESKEY_nic", "eth0")
        .env("OCF_RESKEY_arp_count", "100")
        .env("OCF_RESKEY_arp_interval", "50")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(
        started.elapsed() < Duration::from_secs(1),
        "output reached EOF only after {:?}",
        started.elapsed()
    );
    assert!(pids(&lab.node) > 0, "while the announcer still runs");
}

#[test]
fn kill_9_during_start_leaves_nothing_that_blocks_start_or_stop() {
    let lab = Lab::new();
    let slow = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("probe_wait", "3000")];
    let mut child = std::process::Command::new("ip")
        .args(["netns", "exec", &lab.node.name])
        .arg(common::agent_path())
        .arg("start")
        .env("HA_RSCTMP", &lab.rsctmp)
        .envs(slow.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), *v)))
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(300));
    child.kill().unwrap();
    child.wait().unwrap();
    let params = [
        ("ip", "192.0.2.50"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("arp_count", "100"),
        ("arp_interval", "50"),
    ];
    assert_eq!(lab.agent("monitor", &params).code, ocf::NOT_RUNNING);
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    // And killing an announcer's parent mid-announcement changes nothing either.
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    assert_eq!(pids(&lab.node), 0);
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    assert_eq!(lab.agent("monitor", &params).code, ocf::SUCCESS);
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    assert_eq!(pids(&lab.node), 0);
}

/// The announcers running in `ns` for `vip`: their pids.
fn announcers_of(ns: &common::Netns, vip: &str) -> Vec<u32> {
    let out = std::process::Command::new("ip").args(["netns", "pids", &ns.name]).output().unwrap();
    let wanted = format!("OCF_RESKEY_ip={vip}");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .filter_map(|pid| pid.parse().ok())
        .filter(|pid: &u32| {
            let environ = std::fs::read(format!("/proc/{pid}/environ")).unwrap_or_default();
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            // The VIP's watcher (repair_removed) has the same environment.
            environ.split(|b| *b == 0).any(|var| var == wanted.as_bytes())
                && cmdline.split(|b| *b == 0).any(|arg| arg == b"__announce")
        })
        .collect()
}

fn long_announcing(ip: &'static str) -> [(&'static str, &'static str); 5] {
    [("ip", ip), ("cidr_netmask", "24"), ("nic", "eth0"), ("arp_count", "200"), ("arp_interval", "50")]
}

#[test]
fn racing_starts_leave_no_announcer_behind_after_stop() {
    let lab = Lab::new();
    let params = long_announcing("192.0.2.50");
    for round in 0..5 {
        std::thread::scope(|scope| {
            let starts: Vec<_> = (0..4).map(|_| scope.spawn(|| lab.agent("start", &params).code)).collect();
            for start in starts {
                assert_eq!(start.join().unwrap(), ocf::SUCCESS, "round {round}");
            }
        });
        assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
        assert_eq!(
            announcers_of(&lab.node, "192.0.2.50"),
            Vec::<u32>::new(),
            "round {round}: one survived stop"
        );
    }
}

#[test]
fn an_announcer_stop_could_not_find_is_never_started() {
    let lab = Lab::new();
    // Something the agent cannot replace where it tracks its announcer.
    let blocker = lab.rsctmp.join("IPaddr-announce-192.0.2.50");
    std::fs::create_dir_all(blocker.join("keep")).unwrap();
    let params = [
        ("ip", "192.0.2.50"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("arp_count", "10"),
        ("arp_interval", "50"),
    ];
    let start = lab.agent("start", &params);
    assert_eq!(start.code, ocf::SUCCESS, "{start:?}");
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    assert_eq!(
        announcers_of(&lab.node, "192.0.2.50"),
        Vec::<u32>::new(),
        "an untracked announcer outlived stop"
    );
}

#[test]
fn a_forged_record_never_gets_another_vips_announcer_stopped() {
    let lab = Lab::new();
    let (a, b) = (long_announcing("192.0.2.50"), long_announcing("192.0.2.51"));
    assert_eq!(lab.agent("start", &a).code, ocf::SUCCESS);
    assert_eq!(lab.agent("start", &b).code, ocf::SUCCESS);
    let a_pids = announcers_of(&lab.node, "192.0.2.50");
    assert_eq!(a_pids.len(), 1, "{a_pids:?}");
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", a_pids[0])).unwrap();
    let start_time = stat[stat.rfind(')').unwrap() + 1..].split_whitespace().nth(19).unwrap().to_string();
    // B's tracking file now names A's announcer, with its real start time.
    std::fs::write(lab.rsctmp.join("IPaddr-announce-192.0.2.51"), format!("{} {start_time}\n", a_pids[0]))
        .unwrap();
    assert_eq!(lab.agent("stop", &b).code, ocf::SUCCESS);
    assert_eq!(announcers_of(&lab.node, "192.0.2.50"), a_pids, "stopping B ended A's announcer");
    assert_eq!(announcers_of(&lab.node, "192.0.2.51"), Vec::<u32>::new());
    assert_eq!(lab.agent("stop", &a).code, ocf::SUCCESS);
    assert_eq!(announcers_of(&lab.node, "192.0.2.50"), Vec::<u32>::new());
}

#[test]
fn announcements_follow_a_new_mac_of_the_nic() {
    let lab = Lab::new();
    let params = [
        ("ip", "192.0.2.50"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("arp_count", "20"),
        ("arp_interval", "100"),
    ];
    let capture = Capture::start(&lab.client, "eth0", &lab.rsctmp);
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    let vip: Ipv4Addr = "192.0.2.50".parse().unwrap();
    let ours = |frames: &[common::wire::Frame]| -> Vec<Arp> {
        arps(frames).into_iter().filter(|a| a.sender_ip == vip).collect()
    };
    let announcing = wait_for(Duration::from_secs(10), || !ours(&capture.so_far()).is_empty());
    assert!(announcing.is_some(), "announced before the change");
    let new_mac = "02:00:00:aa:bb:cc";
    lab.node.ip(&["link", "set", "eth0", "address", new_mac]);
    let with_new_mac = || ours(&capture.so_far()).iter().filter(|a| a.sender_mac == new_mac).count();
    let followed = wait_for(Duration::from_secs(10), || with_new_mac() >= 4);
    assert!(followed.is_some(), "the announcer kept announcing: {:?}", ours(&capture.so_far()));
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    let sent = ours(&capture.stop());
    // Each round is built afresh: once one carries the new MAC, all do.
    let first_new = sent.iter().position(|a| a.sender_mac == new_mac).unwrap_or(sent.len());
    let later = &sent[first_new..];
    assert!(later.iter().all(|a| a.sender_mac == new_mac && a.eth_src == new_mac), "{sent:?}");
}

/// A start spawns its announcer by a fork whose child takes the announcer
/// lock before it executes the worker, so that no announcer is ever
/// untracked. Killed in that window, the start leaves a lock holder whose
/// command line is still the start's. The window is made long here (the
/// child sleeps before its exec) instead of hit by chance: stop must wait
/// for the child to become the announcer, end it and remove its file.
#[test]
fn stop_ends_an_announcer_caught_between_its_fork_and_its_exec() {
    use std::os::fd::AsRawFd;
    use std::os::unix::fs::OpenOptionsExt;
    use std::os::unix::process::CommandExt;
    let lab = Lab::new();
    let params = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0")];
    let name = "IPaddr-announce-192.0.2.50";
    let path = lab.rsctmp.join(name);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .read(true)
        .write(true)
        .mode(0o600)
        .open(&path)
        .unwrap();
    let fd = file.as_raw_fd();
    let mut worker = common::agent_command(&lab.node, &lab.rsctmp, &common::agent_path(), "__announce");
    worker.arg(name).env("OCF_IPADDR_ANNOUNCE_COUNT", "1").env("OCF_IPADDR_ANNOUNCE_LOCK_FD", fd.to_string());
    for (key, value) in params {
        worker.env(format!("OCF_RESKEY_{key}"), value);
    }
    // SAFETY: fcntl and nanosleep are async-signal-safe; the descriptor is the test's own.
    unsafe {
        worker.pre_exec(move || {
            let mut lock: nix::libc::flock = std::mem::zeroed();
            lock.l_type = nix::libc::F_RDLCK as i16;
            lock.l_whence = nix::libc::SEEK_SET as i16;
            if nix::libc::fcntl(fd, nix::libc::F_SETLK, &lock) < 0
                || nix::libc::fcntl(fd, nix::libc::F_SETFD, 0) < 0
            {
                return Err(std::io::Error::last_os_error());
            }
            let pause = nix::libc::timespec { tv_sec: 0, tv_nsec: 300_000_000 };
            nix::libc::nanosleep(&pause, std::ptr::null_mut());
            Ok(())
        });
    }
    let spawning = std::thread::spawn(move || worker.spawn().map(|mut child| child.wait()));
    let held = || {
        let mut probe: nix::libc::flock = unsafe { std::mem::zeroed() };
        probe.l_type = nix::libc::F_WRLCK as i16;
        probe.l_whence = nix::libc::SEEK_SET as i16;
        // SAFETY: a valid descriptor and a live flock the kernel fills in.
        unsafe { nix::libc::fcntl(fd, nix::libc::F_GETLK, &mut probe) };
        probe.l_type != nix::libc::F_UNLCK as i16
    };
    assert!(common::wait_for(Duration::from_secs(5), held).is_some(), "the child took the lock");
    let stop = lab.agent("stop", &params);
    assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
    assert!(!path.exists(), "stop removed the announcer's file: {stop:#?}");
    assert!(!stop.stderr.contains("is no announcer"), "{stop:#?}");
    let ended = spawning.join().expect("the spawning thread").expect("spawned").expect("waited");
    assert!(!ended.success() || ended.code() == Some(0), "{ended:?}");
    drop(file);
}
