//! Running one agent action and measuring it: wall time, exit code, peak
//! RSS, child processes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub use crate::common::ipaddr2::IPADDR2;

/// One agent under test with the parameters both get.
pub struct Agent {
    pub name: &'static str,
    pub path: PathBuf,
    pub vip: &'static str,
    /// Settings that make the two agents do the same work: no probing (IPaddr2
    /// does none), one foreground announcement.
    pub extra: Vec<(&'static str, &'static str)>,
}

impl Agent {
    pub fn env(&self, rsctmp: &Path, vip: &str, extra: &[(&str, &str)]) -> Vec<(String, String)> {
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

/// What one run of an agent action took.
pub struct Outcome {
    pub wall: Duration,
    /// User plus system time of the process (and any children it reaped).
    pub cpu: Duration,
    pub code: i32,
    pub peak_rss_kib: u64,
}

/// Runs `program action` in the current (namespace-entered) process context;
/// returns wall time, exit code and peak RSS in KiB.
pub fn run(program: &Path, action: &str, env: &[(String, String)]) -> (Duration, i32, u64) {
    let outcome = execute(program, action, env);
    (outcome.wall, outcome.code, outcome.peak_rss_kib)
}

/// Runs `program action` like `run`, and says what it cost.
pub fn execute(program: &Path, action: &str, env: &[(String, String)]) -> Outcome {
    let started = Instant::now();
    // Reaped below with wait4, which also reports the child's resource use.
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
    let wall = started.elapsed();
    assert!(pid > 0, "wait4 failed");
    let code = if nix::libc::WIFEXITED(status) { nix::libc::WEXITSTATUS(status) } else { -1 };
    let time = |t: nix::libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Outcome {
        wall,
        cpu: time(usage.ru_utime) + time(usage.ru_stime),
        code,
        peak_rss_kib: usage.ru_maxrss as u64,
    }
}

#[derive(Default, Clone)]
pub struct Stats {
    pub samples: Vec<Duration>,
    pub peak_rss_kib: u64,
}

impl Stats {
    pub fn push(&mut self, d: Duration, rss: u64) {
        self.samples.push(d);
        self.peak_rss_kib = self.peak_rss_kib.max(rss);
    }
    pub fn quantile(&self, q: f64) -> Duration {
        let mut sorted = self.samples.clone();
        sorted.sort();
        if sorted.is_empty() {
            return Duration::ZERO;
        }
        sorted[((sorted.len() - 1) as f64 * q).round() as usize]
    }
    pub fn median(&self) -> Duration {
        self.quantile(0.5)
    }
    pub fn p95(&self) -> Duration {
        self.quantile(0.95)
    }
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Counts the processes an action creates (execve calls beyond the first).
pub fn children(program: &Path, action: &str, env: &[(String, String)], dir: &Path) -> usize {
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

/// Enters the namespace for the rest of this (single-threaded) process, so
/// every spawned agent runs there without an extra `ip netns exec`.
pub fn enter(ns: &crate::common::Netns) {
    let fd = std::fs::File::open(format!("/run/netns/{}", ns.name)).expect("netns file");
    nix::sched::setns(fd, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
}
