//! The shared test harness: every test builds its own network namespaces
//! joined by veth pairs, runs the real agent binary inside them, reads back
//! what the kernel holds, and removes everything when dropped, even when
//! the test fails. Nothing here touches the host's own interfaces.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The agent under test: the installed copy when `OCF_IPADDR_AGENT` names
/// one (make check sets it), else the binary cargo just built.
pub fn agent_path() -> PathBuf {
    std::env::var_os("OCF_IPADDR_AGENT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_IPaddr")))
}

fn unique(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("oi{}-{}-{n}", tag, std::process::id())
}

/// Runs a command, panicking with its output if it fails.
pub fn sh(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// A network namespace that is deleted (with every process in it) on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = unique(tag);
        sh("ip", &["netns", "add", &name]);
        let ns = Netns { name };
        ns.ip(&["link", "set", "lo", "up"]);
        ns
    }

    /// `ip -n NS ARGS...`, which must succeed.
    pub fn ip(&self, args: &[&str]) -> String {
        let mut full = vec!["-n", &self.name];
        full.extend_from_slice(args);
        sh("ip", &full)
    }

    /// `ip -n NS ARGS...`, whatever it returns.
    pub fn try_ip(&self, args: &[&str]) -> Output {
        Command::new("ip").arg("-n").arg(&self.name).args(args).output().expect("ip runs")
    }

    /// Runs a program inside the namespace.
    pub fn exec(&self, program: &str, args: &[&str]) -> Output {
        Command::new("ip")
            .args(["netns", "exec", &self.name, program])
            .args(args)
            .output()
            .expect("ip netns exec runs")
    }

    /// Everything the kernel holds in this namespace that the agent could
    /// change: addresses, routes of all tables, links, address labels.
    pub fn snapshot(&self) -> String {
        let mut out = String::new();
        for args in [
            &["-d", "addr", "show"][..],
            &["-4", "route", "show", "table", "all"],
            &["-6", "route", "show", "table", "all"],
            &["-d", "link", "show"],
            &["addrlabel", "list"],
        ] {
            out.push_str(&self.ip(args));
        }
        // Lifetimes tick; they are not state the agent changes.
        out.lines().filter(|l| !l.trim_start().starts_with("valid_lft")).collect::<Vec<_>>().join("\n")
    }

    /// The addresses on `dev` as `ip -o addr show` lines.
    pub fn addresses(&self, dev: &str) -> String {
        self.ip(&["-o", "addr", "show", "dev", dev])
    }

    pub fn has_address(&self, dev: &str, cidr: &str) -> bool {
        self.addresses(dev).split_whitespace().any(|w| w == cidr)
    }

    pub fn mac(&self, dev: &str) -> String {
        let out = self.ip(&["-o", "link", "show", "dev", dev]);
        let mut words = out.split_whitespace();
        words.find(|w| *w == "link/ether");
        words.next().expect("link has a MAC").to_string()
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        if let Ok(out) = Command::new("ip").args(["netns", "pids", &self.name]).output() {
            for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
                let _ = Command::new("kill").args(["-9", pid]).status();
            }
        }
        let _ = Command::new("ip").args(["netns", "del", &self.name]).status();
    }
}

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

/// A node namespace whose `eth0` is joined by a veth pair to a client
/// namespace's `eth0`; the node has 192.0.2.1/24 and 2001:db8::1/64, the
/// client 192.0.2.100/24 and 2001:db8::100/64. Each lab has its own
/// HA_RSCTMP, so parallel tests never share run-time files.
pub struct Lab {
    pub node: Netns,
    pub client: Netns,
    pub rsctmp: PathBuf,
}

impl Lab {
    pub fn new() -> Lab {
        let node = Netns::new("n");
        let client = Netns::new("c");
        node.ip(&["link", "add", "eth0", "type", "veth", "peer", "name", "eth0", "netns", &client.name]);
        for ns in [&node, &client] {
            ns.ip(&["link", "set", "eth0", "up"]);
        }
        node.ip(&["addr", "add", "192.0.2.1/24", "brd", "+", "dev", "eth0"]);
        node.ip(&["addr", "add", "2001:db8::1/64", "dev", "eth0", "nodad"]);
        client.ip(&["addr", "add", "192.0.2.100/24", "brd", "+", "dev", "eth0"]);
        client.ip(&["addr", "add", "2001:db8::100/64", "dev", "eth0", "nodad"]);
        let rsctmp = std::env::temp_dir().join(format!("{}-rsctmp", node.name));
        std::fs::create_dir_all(&rsctmp).expect("rsctmp");
        Lab { node, client, rsctmp }
    }

    /// Runs `IPaddr ACTION` in the node namespace with OCF_RESKEY_* set
    /// from `params` and extra environment from `env`.
    pub fn agent(&self, action: &str, params: &[(&str, &str)]) -> Run {
        self.agent_env(&self.node, action, params, &[])
    }

    pub fn agent_env(&self, ns: &Netns, action: &str, params: &[(&str, &str)], env: &[(&str, &str)]) -> Run {
        run_agent(ns, &self.rsctmp, action, params, env)
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.rsctmp);
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
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", &ns.name])
        .arg(agent_path())
        .arg(action)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HA_RSCTMP", rsctmp)
        .env("OCF_ROOT", "/usr/lib/ocf")
        .stdin(Stdio::null());
    for (key, value) in params {
        cmd.env(format!("OCF_RESKEY_{key}"), value);
    }
    for (key, value) in env {
        cmd.env(key, value);
    }
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
}
