//! Running the agent under test (or another OCF agent) the way
//! Pacemaker's executor does: a clean environment, OCF_RESKEY_* variables.

use super::{Netns, agent_path};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// What one agent run produced.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The text of the `ocf-exit-reason:` lines.
    pub fn reasons(&self) -> Vec<&str> {
        self.stderr.lines().filter_map(|l| l.strip_prefix("ocf-exit-reason:")).collect()
    }

    pub fn reason(&self) -> &str {
        let reasons = self.reasons();
        assert_eq!(reasons.len(), 1, "expected one exit reason, got {self:#?}");
        reasons[0]
    }
}

/// Runs the agent in `ns` with a clean environment, like Pacemaker's executor.
pub fn run_agent(
    ns: &Netns,
    rsctmp: &std::path::Path,
    action: &str,
    params: &[(&str, &str)],
    env: &[(&str, &str)],
) -> Run {
    run_agent_at(ns, rsctmp, &agent_path(), action, params, env)
}

/// Runs the agent at `agent` (ours or another OCF agent) like `run_agent`.
pub fn run_agent_at(
    ns: &Netns,
    rsctmp: &std::path::Path,
    agent: &std::path::Path,
    action: &str,
    params: &[(&str, &str)],
    env: &[(&str, &str)],
) -> Run {
    let mut cmd = agent_command(ns, rsctmp, agent, action);
    for (key, value) in params {
        cmd.env(format!("OCF_RESKEY_{key}"), value);
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
    finish(cmd)
}

/// The command that runs `agent ACTION` in `ns` with a clean environment,
/// like Pacemaker's executor, for a test to add its own variables to.
pub fn agent_command(ns: &Netns, rsctmp: &std::path::Path, agent: &std::path::Path, action: &str) -> Command {
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &ns.name])
        .arg(agent)
        .arg(action)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HA_RSCTMP", rsctmp)
        .env("OCF_ROOT", "/usr/lib/ocf")
        .stdin(Stdio::null());
    cmd
}

/// `IPaddr explain --format json` for the resource `instance` with
/// `params`, run in `ns`.
pub fn explain_report(
    ns: &Netns,
    rsctmp: &std::path::Path,
    instance: &str,
    params: &[(&str, &str)],
) -> serde_json::Value {
    let mut command = agent_command(ns, rsctmp, &agent_path(), "explain");
    command.args(["--format", "json"]).env("OCF_RESOURCE_INSTANCE", instance);
    for (key, value) in params {
        command.env(format!("OCF_RESKEY_{key}"), value);
    }
    let explain = finish(command);
    serde_json::from_str(&explain.stdout).unwrap_or_else(|e| panic!("{e}: {explain:?}"))
}

/// Runs a prepared agent command and collects what it did.
pub fn finish(mut cmd: Command) -> Run {
    let out = cmd.output().expect("agent runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Exit codes, named as in the OCF spec.
pub mod ocf {
    pub const SUCCESS: i32 = 0;
    pub const ERR_GENERIC: i32 = 1;
    pub const ERR_ARGS: i32 = 2;
    pub const ERR_UNIMPLEMENTED: i32 = 3;
    pub const ERR_PERM: i32 = 4;
    pub const ERR_INSTALLED: i32 = 5;
    pub const ERR_CONFIGURED: i32 = 6;
    pub const NOT_RUNNING: i32 = 7;
    pub const DEGRADED: i32 = 190;
}

/// Runs the agent like `run_agent`, with `CRM_meta_timeout` of 10 s, and
/// gives up after `limit`: `None` when it was still running (killed then),
/// so that a hang fails the test naming what hung instead of the harness
/// timing the whole test out.
pub fn run_agent_bounded(
    ns: &Netns,
    rsctmp: &std::path::Path,
    action: &str,
    params: &[(&str, &str)],
    env: &[(&str, &str)],
    limit: std::time::Duration,
) -> Option<Run> {
    let mut cmd = agent_command(ns, rsctmp, &agent_path(), action);
    for (key, value) in params {
        cmd.env(format!("OCF_RESKEY_{key}"), value);
    }
    cmd.envs(env.iter().copied()).env("OCF_RESKEY_CRM_meta_timeout", "10000");
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("agent runs");
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if child.try_wait().expect("wait").is_some() {
            let out = child.wait_with_output().expect("output");
            return Some(Run {
                code: out.status.code().unwrap_or(-1),
                stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    None
}

/// The agent built with crash points (and pauses): `OCF_IPADDR_CRASH_AGENT`,
/// else the binary cargo built beside the tests when they are built with
/// `--features crash-points` (as `make check` and `make crash-points` do).
#[allow(dead_code)]
pub fn crash_agent() -> PathBuf {
    let built_beside: Option<&str> =
        if cfg!(feature = "crash-points") { Some(env!("CARGO_BIN_EXE_IPaddr")) } else { None };
    let path =
        std::env::var_os("OCF_IPADDR_CRASH_AGENT").map(PathBuf::from).or(built_beside.map(PathBuf::from));
    path.unwrap_or_else(|| {
        panic!(
            "no crash-point build: run `make crash-points`, or build the tests with --features crash-points"
        )
    })
}
