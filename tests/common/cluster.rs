//! A real Corosync 3 + Pacemaker cluster on one machine, for tests and the
//! demo: each node is a network namespace plus a private mount namespace
//! (tests/tools/cluster-node.sh sets it up), the nodes and a client share
//! one Ethernet segment. The stack is Debian 12's (the host's: Pacemaker
//! 2.1) or Debian 13's (Pacemaker 3.0, in the root that
//! tests/tools/debian13-root.sh builds), the same static agent in both.
//! Fencing is off (stonith-enabled=false) because nothing here can be
//! fenced: a test-only setting.

use super::{Netns, Run, Segment, agent_path};
use std::cell::RefCell;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Which distribution's cluster stack the nodes run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stack {
    /// The host's: Pacemaker 2.1.5, Corosync 3.1, pcs 0.11, crmsh 4.4.
    Debian12,
    /// Pacemaker 3.0, pcs 0.12, crmsh 5, run from a chroot.
    Debian13,
}

impl Stack {
    /// The root the stack runs from, `None` for the host's own.
    fn root(self) -> Option<PathBuf> {
        match self {
            Stack::Debian12 => None,
            Stack::Debian13 => Some(super::debian13_root()),
        }
    }
}

pub struct Cluster {
    pub seg: Segment,
    pub stack: Stack,
    /// pacemakerd of each node, `None` once the node was stopped.
    daemons: RefCell<Vec<Option<Child>>>,
    dir: PathBuf,
    /// Each node runs pacemaker-execd alone (`executor_only`).
    execd_only: bool,
}

/// Pacemaker 3.0's executor client, in the package `pacemaker`.
const EXEC_HELPER: &str = "/usr/lib/pacemaker/cts-exec-helper";

fn write(path: &std::path::Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
}

fn corosync_conf(nodes: usize) -> String {
    let mut nodelist = String::new();
    for i in 0..nodes {
        nodelist.push_str(&format!(
            "    node {{\n        ring0_addr: 192.0.2.{}\n        name: node{}\n        nodeid: {}\n    }}\n",
            11 + i,
            i + 1,
            i + 1
        ));
    }
    let two_node = if nodes == 2 { "    two_node: 1\n" } else { "" };
    format!(
        "totem {{\n    version: 2\n    cluster_name: ocfipaddr\n    transport: knet\n    crypto_cipher: none\n    crypto_hash: none\n    token: 1000\n}}\n\
         nodelist {{\n{nodelist}}}\n\
         quorum {{\n    provider: corosync_votequorum\n{two_node}}}\n\
         logging {{\n    to_logfile: no\n    to_syslog: no\n    to_stderr: no\n}}\n"
    )
}

/// The CIB every node starts from: no fencing (test-only), a short DC
/// election and some stickiness, so resources stay where they moved.
const CIB_SEED: &str = r#"<cib validate-with="pacemaker-3.9" epoch="1" num_updates="0" admin_epoch="0">
  <configuration>
    <crm_config>
      <cluster_property_set id="cib-bootstrap-options">
        <nvpair id="opt-stonith-enabled" name="stonith-enabled" value="false"/>
        <nvpair id="opt-dc-deadtime" name="dc-deadtime" value="2s"/>
        <nvpair id="opt-recheck" name="cluster-recheck-interval" value="1min"/>
      </cluster_property_set>
    </crm_config>
    <nodes/>
    <resources/>
    <constraints/>
    <rsc_defaults>
      <meta_attributes id="rsc-options">
        <nvpair id="rsc-stickiness" name="resource-stickiness" value="100"/>
      </meta_attributes>
    </rsc_defaults>
  </configuration>
  <status/>
</cib>
"#;

impl Cluster {
    /// Starts a cluster of `nodes` nodes running the agent under test and
    /// waits until all are online.
    pub fn start(stack: Stack, nodes: usize) -> Cluster {
        Cluster::start_with_agent(stack, nodes, &agent_path())
    }

    /// Like `start`, with the agent binary at `agent` (e.g. a packaged one).
    pub fn start_with_agent(stack: Stack, nodes: usize, agent: &std::path::Path) -> Cluster {
        let cluster = Cluster::launch_all(stack, nodes, agent, false);
        let all: Vec<String> = (1..=nodes).map(|i| format!("node{i}")).collect();
        cluster.wait_for(Duration::from_secs(90), "all nodes online", |c| {
            let status = c.crm_mon_xml(0);
            all.iter().all(|n| status.contains(&format!("name=\"{n}\" id=\"")) && c.node_online(&status, n))
        });
        cluster
    }

    /// Pacemaker's executor (pacemaker-execd) alone on one node, without
    /// Corosync and the rest of Pacemaker, as Pacemaker's own conformance
    /// tests run it; `executor` drives it with cts-exec-helper.
    pub fn executor_only(stack: Stack) -> Cluster {
        let cluster = Cluster::launch_all(stack, 1, &agent_path(), true);
        cluster.wait_for(Duration::from_secs(60), "the executor to answer", |c| {
            c.on(0, EXEC_HELPER, &["-c", "metadata", "-C", "ocf", "-P", "rust", "-T", "IPaddr"])
                .status
                .success()
        });
        cluster
    }

    /// Runs Pacemaker's executor client (`cts-exec-helper`, Pacemaker 3.0)
    /// on node 1 with `args`, listening for `event` as the executor reports
    /// it (`NEW_EVENT event_type:exec_complete rsc_id:vip action:start
    /// rc:OK op_status:Done`): the executor names the result, so the exit
    /// code is checked as Pacemaker reads it. Panics with what the helper
    /// saw unless the event came.
    pub fn executor(&self, args: &[&str], event: &str) -> String {
        let mut all = args.to_vec();
        all.extend(["-V", "-l", event]);
        let out = self.on(0, EXEC_HELPER, &all);
        // With -V the helper logs every event it hears; a result other than
        // OK also makes it exit 1 ("API-CALL FAILURE"), after the event.
        let seen =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(seen.lines().any(|line| line.ends_with(event)), "{args:?}: no {event}: {seen}");
        seen
    }

    /// `cts-exec-helper` on node 1 with `args`, started and left running.
    pub fn executor_in_background(&self, args: &[&str]) -> Child {
        self.command_on(0, EXEC_HELPER, args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nsenter runs")
    }

    fn launch_all(stack: Stack, nodes: usize, agent: &std::path::Path, execd_only: bool) -> Cluster {
        let seg = Segment::new(nodes);
        let dir = seg.rsctmp.join("cluster");
        let agent_dir = dir.join("agent");
        std::fs::create_dir_all(&agent_dir).expect("cluster dir");
        std::fs::copy(agent, agent_dir.join("IPaddr")).expect("copy agent");
        std::fs::create_dir_all("/usr/lib/ocf/resource.d/rust").expect("mount point for the agent");
        write(&dir.join("corosync.conf"), &corosync_conf(nodes));
        write(&dir.join("cib.xml"), CIB_SEED);
        let mut hosts = String::from("127.0.0.1 localhost\n");
        for i in 0..nodes {
            hosts.push_str(&format!("192.0.2.{} node{}\n", 11 + i, i + 1));
        }
        write(&dir.join("hosts"), &hosts);
        let cluster = Cluster { seg, stack, daemons: RefCell::new(Vec::new()), dir, execd_only };
        for i in 0..nodes {
            let child = cluster.launch(i);
            cluster.daemons.borrow_mut().push(Some(child));
        }
        cluster
    }

    fn launch(&self, i: usize) -> Child {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/cluster-node.sh");
        let log = std::fs::File::create(self.dir.join(format!("node{}.out", i + 1))).expect("log");
        let mut command = Command::new("ip");
        if let Some(root) = self.stack.root() {
            command.env("STACK_ROOT", root).env("CLUSTER_DIR", &self.dir);
        }
        if self.execd_only {
            command.env("EXECD_ONLY", "1");
        }
        let run_state = self.run_state(i);
        std::fs::create_dir_all(&run_state).expect("run state dir");
        // A tmpfs, as /run is on a real node, that outlives a restart of
        // the node's stack as on a node that did not reboot.
        let mounted =
            Command::new("mountpoint").arg("-q").arg(&run_state).status().is_ok_and(|s| s.success());
        if !mounted {
            let status = Command::new("mount")
                .args(["-t", "tmpfs", "-o", "mode=0755,size=64m", "tmpfs"])
                .arg(&run_state)
                .status()
                .expect("mount runs");
            assert!(status.success(), "mounting a tmpfs on {}", run_state.display());
        }
        command
            .args(["netns", "exec", &self.seg.nodes[i].name, script])
            .env("NODE_NAME", format!("node{}", i + 1))
            .env("COROSYNC_CONF", self.dir.join("corosync.conf"))
            .env("AGENT_DIR", self.dir.join("agent"))
            .env("CIB_SEED", self.dir.join("cib.xml"))
            .env("HOSTS_FILE", self.dir.join("hosts"))
            .env("RUN_STATE", run_state)
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("cluster node starts")
    }

    fn node_online(&self, status_xml: &str, node: &str) -> bool {
        status_xml
            .lines()
            .find(|l| l.contains("<node ") && l.contains(&format!("name=\"{node}\"")))
            .is_some_and(|l| l.contains("online=\"true\""))
    }

    /// Makes `path` available to every node as the OCF agent
    /// `ocf:rust:<name>`, beside the agent under test.
    pub fn install_agent(&self, name: &str, path: &std::path::Path) {
        std::fs::copy(path, self.dir.join("agent").join(name))
            .unwrap_or_else(|e| panic!("installing {} as {name}: {e}", path.display()));
    }

    /// A directory every node sees at the same path (for files handed to
    /// the cluster tools).
    pub fn shared_dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// Runs a program in node `i`'s network and mount namespaces and root
    /// directory, where the cluster tools reach that node's daemons.
    pub fn on(&self, i: usize, program: &str, args: &[&str]) -> Output {
        self.command_on(i, program, args).output().expect("nsenter runs")
    }

    /// Starts a daemon in node `i`'s namespaces and root directory, as `on`
    /// runs a program; the caller ends it.
    pub fn spawn_on(&self, i: usize, program: &str, args: &[&str]) -> Child {
        self.command_on(i, program, args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("nsenter runs")
    }

    /// `program args` in node `i`'s network and mount namespaces and root
    /// directory, with a plain PATH.
    pub fn command_on(&self, i: usize, program: &str, args: &[&str]) -> Command {
        let pid = self.daemons.borrow()[i].as_ref().expect("node is running").id().to_string();
        let mut command = Command::new("nsenter");
        command
            .args(["-t", &pid, "-m", "-n", "-r", "-w", "--", program])
            .args(args)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        command
    }

    /// Like `on`, but panics with the output unless the program succeeds.
    pub fn must(&self, i: usize, program: &str, args: &[&str]) -> String {
        let out = self.on(i, program, args);
        assert!(
            out.status.success(),
            "{program} {args:?} on node{} failed: {}{}",
            i + 1,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `crm configure primitive vip ocf:rust:IPaddr params ip=192.0.2.50
    /// cidr_netmask=24` followed by `rest` (operations, meta attributes).
    pub fn crm_primitive_vip(&self, rest: &[&str]) {
        let mut args = vec![
            "configure",
            "primitive",
            "vip",
            "ocf:rust:IPaddr",
            "params",
            "ip=192.0.2.50",
            "cidr_netmask=24",
        ];
        args.extend_from_slice(rest);
        self.must(self.any_running(), "crm", &args);
    }

    /// `crm_mon -1 --output-as=xml` as seen from a running node.
    pub fn crm_mon_xml(&self, i: usize) -> String {
        String::from_utf8_lossy(&self.on(i, "crm_mon", &["-1", "--output-as=xml"]).stdout).into_owned()
    }

    /// The first node still running (to ask the cluster from).
    pub fn any_running(&self) -> usize {
        self.daemons.borrow().iter().position(Option::is_some).expect("a node runs")
    }

    /// The node (index) where `resource` is started, per the cluster.
    pub fn location(&self, resource: &str) -> Option<usize> {
        let xml = self.crm_mon_xml(self.any_running());
        let start = xml.find(&format!("<resource id=\"{resource}\""))?;
        let block = &xml[start..];
        let block = &block[..block.find("</resource>").unwrap_or(block.len())];
        if !block.contains("role=\"Started\"") || !block.contains("failed=\"false\"") {
            return None;
        }
        let name_at = block.find("<node name=\"node")? + "<node name=\"node".len();
        let digits: String = block[name_at..].chars().take_while(char::is_ascii_digit).collect();
        digits.parse::<usize>().ok().map(|n| n - 1)
    }

    /// Waits until `condition` holds, panicking with `what` after `limit`.
    pub fn wait_for(
        &self,
        limit: Duration,
        what: &str,
        mut condition: impl FnMut(&Cluster) -> bool,
    ) -> Duration {
        let started = Instant::now();
        while started.elapsed() < limit {
            if condition(self) {
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        panic!("timed out after {limit:?} waiting for {what}\n{}", self.crm_mon_xml(self.any_running()));
    }

    /// Stops node `i`'s whole cluster stack, as `systemctl stop pacemaker
    /// corosync` would.
    pub fn stop_node(&self, i: usize) {
        let Some(mut child) = self.daemons.borrow_mut()[i].take() else { return };
        let pid = child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        let node = &self.seg.nodes[i];
        let _ = Command::new("ip").args(["netns", "exec", &node.name, "corosync-cfgtool", "-H"]).output();
        kill_all(node);
    }

    /// Cuts node `i` off the cluster's own traffic (Corosync's port, both
    /// ways) while the client segment carries everything else: the nodes
    /// split, each still answering on the segment.
    pub fn cut(&self, i: usize) {
        let rules = "table inet ocf_test_split {\n\
                     chain in { type filter hook input priority 0; udp dport 5405 drop; }\n\
                     chain out { type filter hook output priority 0; udp dport 5405 drop; }\n}\n";
        let file = self.dir.join(format!("split-node{}.nft", i + 1));
        write(&file, rules);
        let out = self.seg.nodes[i].exec("nft", &["-f", &file.to_string_lossy()]);
        assert!(out.status.success(), "cutting node{}: {}", i + 1, String::from_utf8_lossy(&out.stderr));
    }

    /// Undoes `cut`.
    pub fn heal(&self, i: usize) {
        let out = self.seg.nodes[i].exec("nft", &["delete", "table", "inet", "ocf_test_split"]);
        assert!(out.status.success(), "healing node{}: {}", i + 1, String::from_utf8_lossy(&out.stderr));
    }

    /// Kills node `i`'s whole cluster stack with SIGKILL, as a crash or a
    /// hang leaves it: nothing is stopped, the addresses it holds stay.
    pub fn crash(&self, i: usize) {
        let Some(mut child) = self.daemons.borrow_mut()[i].take() else { return };
        kill_all(&self.seg.nodes[i]);
        let _ = child.kill();
        let _ = child.wait();
    }

    /// Starts node `i`'s cluster stack again after `crash` or `stop_node`
    /// (its run-time directory, /run/resource-agents, is kept, as on a host
    /// that did not reboot) and waits until the cluster sees it online.
    pub fn restart(&self, i: usize) {
        assert!(self.daemons.borrow()[i].is_none(), "node{} still runs", i + 1);
        let child = self.launch(i);
        self.daemons.borrow_mut()[i] = Some(child);
        let name = format!("node{}", i + 1);
        self.wait_for(Duration::from_secs(90), &format!("{name} online again"), |c| {
            (0..c.seg.nodes.len()).filter(|n| c.daemons.borrow()[*n].is_some()).all(|n| {
                let status = c.crm_mon_xml(n);
                c.node_online(&status, &name)
            })
        });
    }

    /// Whether node `of` sees node `node` (a name) online.
    pub fn sees_online(&self, of: usize, node: &str) -> bool {
        self.node_online(&self.crm_mon_xml(of), node)
    }

    /// The nodes whose kernels hold `cidr` on any interface, whatever the
    /// cluster believes.
    pub fn holders(&self, cidr: &str) -> Vec<usize> {
        (0..self.seg.nodes.len())
            .filter(|i| self.seg.nodes[*i].ip(&["-o", "addr", "show"]).split_whitespace().any(|w| w == cidr))
            .collect()
    }

    /// Pings `ip` from the client and returns the MAC its neighbor entry
    /// then points at (`None` when nobody answered).
    pub fn client_reaches(&self, ip: &str) -> Option<String> {
        let client = &self.seg.client;
        if !client.exec("ping", &["-c1", "-W1", ip]).status.success() {
            return None;
        }
        let entry = client.ip(&["neigh", "show", ip]);
        let at = entry.find("lladdr ")? + "lladdr ".len();
        entry[at..].split_whitespace().next().map(str::to_string)
    }

    /// Fails the test if any node reports a failed stop (which, with
    /// fencing on, would have fenced that node).
    pub fn assert_no_failed_stop(&self) {
        for node in 0..self.seg.nodes.len() {
            let failures = self.failures(node);
            assert!(!failures.iter().any(|f| f.contains("_stop_")), "a stop failed: {failures:#?}");
        }
    }

    /// The failed operations node `of` reports (`<failure>` elements of
    /// crm_mon's XML: op_key, node, exit status and our exit reason).
    pub fn failures(&self, of: usize) -> Vec<String> {
        self.crm_mon_xml(of)
            .lines()
            .filter(|l| l.contains("<failure "))
            .map(|l| l.trim().to_string())
            .collect()
    }

    /// Runs the agent directly on node `i` (outside Pacemaker).
    pub fn agent(&self, i: usize, action: &str, params: &[(&str, &str)]) -> Run {
        self.seg.agent(i, action, params)
    }
}

fn kill_all(ns: &Netns) {
    let pids = || {
        Command::new("ip")
            .args(["netns", "pids", &ns.name])
            .output()
            .map(|out| String::from_utf8_lossy(&out.stdout).split_whitespace().map(str::to_string).collect())
            .unwrap_or_else(|_| Vec::<String>::new())
    };
    // Until none is left: a Corosync still dying holds its port, and the
    // node's next Corosync, started at once by a restart, cannot bind it.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = pids();
        if left.is_empty() || Instant::now() > deadline {
            return;
        }
        for pid in &left {
            let _ = Command::new("kill").args(["-9", pid]).stderr(Stdio::null()).status();
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

impl Cluster {
    /// Node `i`'s /run/resource-agents (the agent's HA_RSCTMP there), kept
    /// across restarts of its stack.
    pub fn run_state(&self, i: usize) -> PathBuf {
        self.dir.join(format!("node{}-run", i + 1))
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let nodes = self.daemons.borrow().len();
        for i in 0..nodes {
            self.stop_node(i);
        }
        for i in 0..nodes {
            let _ = Command::new("umount").arg("-l").arg(self.run_state(i)).status();
        }
    }
}

/// A client pinging an address every 10 ms in the background, to measure
/// the outage of a move.
pub struct Pinger {
    child: Child,
    log: PathBuf,
}

impl Pinger {
    pub fn start(client: &Netns, ip: &str, dir: &std::path::Path, seconds: u32) -> Pinger {
        let log = dir.join(format!("ping-{ip}.log"));
        let file = std::fs::File::create(&log).expect("ping log");
        let child = Command::new("ip")
            .args(["netns", "exec", &client.name, "ping", "-D", "-n", "-i", "0.01", "-W", "0.1"])
            .args(["-w", &seconds.to_string(), ip])
            .stdout(file)
            .stderr(Stdio::null())
            .spawn()
            .expect("ping runs");
        Pinger { child, log }
    }

    /// Stops pinging; returns the longest gap between two replies and the
    /// number of replies.
    pub fn finish(mut self) -> (Duration, usize) {
        let _ = Command::new("kill").args(["-INT", &self.child.id().to_string()]).status();
        let _ = self.child.wait();
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let times: Vec<f64> = text
            .lines()
            .filter(|l| l.contains("bytes from"))
            .filter_map(|l| l.strip_prefix('[')?.split(']').next()?.parse().ok())
            .collect();
        let gap = times.windows(2).map(|w| w[1] - w[0]).fold(0.0, f64::max);
        (Duration::from_secs_f64(gap), times.len())
    }
}

/// Declares each scenario `fn NAME(stack: Stack)` as two tests,
/// `debian12::NAME` and `debian13::NAME`: every cluster scenario runs on
/// both stacks users have today.
#[macro_export]
macro_rules! on_both_stacks {
    ($($scenario:ident),* $(,)?) => {
        mod debian12 {
            $( #[test] fn $scenario() { super::$scenario($crate::common::cluster::Stack::Debian12) } )*
        }
        mod debian13 {
            $( #[test] fn $scenario() { super::$scenario($crate::common::cluster::Stack::Debian13) } )*
        }
    };
}
