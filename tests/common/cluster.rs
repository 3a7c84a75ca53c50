//! A real Corosync 3 + Pacemaker 2.1 cluster on one machine, for tests and
//! the demo: each node is a network namespace plus a private mount
//! namespace (tests/tools/cluster-node.sh sets it up), the nodes and a
//! client share one Ethernet segment. Fencing is off (stonith-enabled=false)
//! because nothing here can be fenced: a test-only setting.

use super::{Netns, Run, Segment, agent_path};
use std::cell::RefCell;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub struct Cluster {
    pub seg: Segment,
    /// pacemakerd of each node, `None` once the node was stopped.
    daemons: RefCell<Vec<Option<Child>>>,
    dir: PathBuf,
}

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
    pub fn start(nodes: usize) -> Cluster {
        Cluster::start_with_agent(nodes, &agent_path())
    }

    /// Like `start`, with the agent binary at `agent` (e.g. a packaged one).
    pub fn start_with_agent(nodes: usize, agent: &std::path::Path) -> Cluster {
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
        let cluster = Cluster { seg, daemons: RefCell::new(Vec::new()), dir };
        for i in 0..nodes {
            let child = cluster.launch(i);
            cluster.daemons.borrow_mut().push(Some(child));
        }
        let all: Vec<String> = (1..=nodes).map(|i| format!("node{i}")).collect();
        cluster.wait_for(Duration::from_secs(90), "all nodes online", |c| {
            let status = c.crm_mon_xml(0);
            all.iter().all(|n| status.contains(&format!("name=\"{n}\" id=\"")) && c.node_online(&status, n))
        });
        cluster
    }

    fn launch(&self, i: usize) -> Child {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/tools/cluster-node.sh");
        let log = std::fs::File::create(self.dir.join(format!("node{}.out", i + 1))).expect("log");
        Command::new("ip")
            .args(["netns", "exec", &self.seg.nodes[i].name, script])
            .env("NODE_NAME", format!("node{}", i + 1))
            .env("COROSYNC_CONF", self.dir.join("corosync.conf"))
            .env("AGENT_DIR", self.dir.join("agent"))
            .env("CIB_SEED", self.dir.join("cib.xml"))
            .env("HOSTS_FILE", self.dir.join("hosts"))
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

    /// Runs a program in node `i`'s network and mount namespaces, where the
    /// cluster tools reach that node's daemons.
    pub fn on(&self, i: usize, program: &str, args: &[&str]) -> Output {
        let pid = self.daemons.borrow()[i].as_ref().expect("node is running").id().to_string();
        Command::new("nsenter")
            .args(["-t", &pid, "-m", "-n", "--", program])
            .args(args)
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .output()
            .expect("nsenter runs")
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

    /// Runs the agent directly on node `i` (outside Pacemaker).
    pub fn agent(&self, i: usize, action: &str, params: &[(&str, &str)]) -> Run {
        self.seg.agent(i, action, params)
    }
}

fn kill_all(ns: &Netns) {
    if let Ok(out) = Command::new("ip").args(["netns", "pids", &ns.name]).output() {
        for pid in String::from_utf8_lossy(&out.stdout).split_whitespace() {
            let _ = Command::new("kill").args(["-9", pid]).status();
        }
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let nodes = self.daemons.borrow().len();
        for i in 0..nodes {
            self.stop_node(i);
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
