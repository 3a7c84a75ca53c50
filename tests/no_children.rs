//! No action spawns a child process: every action runs under strace with
//! fork tracing, and the only execve seen is the agent's own. The agent's
//! own detached workers (the announcer of arp_bg, the watcher of
//! repair_removed) are turned off here, since strace -f would follow them
//! for their whole life; tests/self_healing.rs checks that the watcher is
//! this same binary.

mod common;
use common::{Lab, agent_path, ocf};
use std::process::Command;

/// Runs the agent under `strace -f` in the lab's node namespace and returns
/// its exit code and the process-creating calls strace saw.
fn traced(lab: &Lab, action: &str, params: &[(&str, &str)]) -> (i32, Vec<String>) {
    let log = lab.rsctmp.join(format!("strace-{action}"));
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &lab.node.name, "strace", "-f", "-qq", "-o"])
        .arg(&log)
        .args(["-e", "trace=execve,execveat,fork,vfork,clone,clone3"])
        .arg(agent_path())
        .arg(action)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HA_RSCTMP", &lab.rsctmp)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    for (k, v) in params {
        cmd.env(format!("OCF_RESKEY_{k}"), v);
    }
    let status = cmd.status().expect("strace is installed (make check installs it)");
    let calls = std::fs::read_to_string(&log).expect("strace log").lines().map(str::to_string).collect();
    (status.code().unwrap_or(-1), calls)
}

fn assert_no_children(action: &str, code: i32, calls: &[String]) {
    let execs = calls.iter().filter(|c| c.contains("execve(")).count();
    assert_eq!(execs, 1, "{action} ran another program: {calls:#?}");
    let forks = calls
        .iter()
        .filter(|c| {
            c.contains("fork(")
                || ((c.contains("clone(") || c.contains("clone3(")) && !c.contains("CLONE_THREAD"))
        })
        .count();
    assert_eq!(forks, 0, "{action} (exit {code}) created a process: {calls:#?}");
}

/// An action, its parameters and the exit code it must return.
type Step<'a> = (&'a str, &'a [(&'a str, &'a str)], i32);

#[test]
fn no_action_spawns_a_child_process() {
    let lab = Lab::new();
    let v4 = [
        ("ip", "192.0.2.50"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("arp_bg", "false"),
        ("repair_removed", "false"),
    ];
    let v6 = [("ip", "2001:db8::50"), ("nic", "eth0"), ("repair_removed", "false")];
    // Every check this issue added, at monitor depth 20 (the prefixed form
    // of OCF_CHECK_LEVEL, which the agent also reads).
    let deep = [
        ("ip", "192.0.2.51"),
        ("cidr_netmask", "24"),
        ("arp_bg", "false"),
        ("ping_list", "192.0.2.100"),
        ("ping_on_start", "true"),
        ("preferred_source", "true"),
        ("repair_removed", "false"),
        ("OCF_CHECK_LEVEL", "20"),
    ];
    let steps: &[Step] = &[
        ("meta-data", &v4, ocf::SUCCESS),
        ("validate-all", &v4, ocf::SUCCESS),
        ("monitor", &v4, ocf::NOT_RUNNING),
        ("start", &v4, ocf::SUCCESS),
        ("monitor", &v4, ocf::SUCCESS),
        ("status", &v4, ocf::SUCCESS),
        ("stop", &v4, ocf::SUCCESS),
        ("start", &v6, ocf::SUCCESS),
        ("monitor", &v6, ocf::SUCCESS),
        ("stop", &v6, ocf::SUCCESS),
        ("start", &deep, ocf::SUCCESS),
        ("monitor", &deep, ocf::SUCCESS),
        ("reload-agent", &deep, ocf::SUCCESS),
        ("recover", &deep, ocf::SUCCESS),
        ("explain", &deep, ocf::SUCCESS),
        ("stop", &deep, ocf::SUCCESS),
        ("usage", &v4, ocf::SUCCESS),
    ];
    for (action, params, expected) in steps {
        let (code, calls) = traced(&lab, action, params);
        assert_eq!(code, *expected, "{action} {params:?}");
        assert_no_children(action, code, &calls);
    }
}
