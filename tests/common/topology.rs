//! The namespaces a test builds: a node and a client on one veth pair
//! (`Lab`), several nodes and a client on a bridge (`Segment`), and a
//! hosts file one namespace sees as /etc/hosts.

use super::{COUNTER, Netns, Run, run_agent};
use std::path::PathBuf;
use std::sync::atomic::Ordering;

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

    /// Waits until the kernel has finished configuring the node's eth0 (its
    /// IPv6 link-local address out of duplicate address detection, and the
    /// local route of its own IPv6 address in place): the kernel takes and
    /// puts back that route around link-up, so a snapshot that must not
    /// change is taken after it. Bounded: taken as it is after 10 s.
    pub fn settled(&self) {
        let _ = super::wait_for(std::time::Duration::from_secs(10), || {
            let addresses = self.node.addresses("eth0");
            let local = self.node.ip(&["-6", "route", "show", "table", "local", "2001:db8::1"]);
            !addresses.contains("tentative") && addresses.contains("fe80::") && !local.trim().is_empty()
        });
    }

    /// Runs `IPaddr ACTION` in the node namespace with OCF_RESKEY_* set
    /// from `params` and extra environment from `env`.
    pub fn agent(&self, action: &str, params: &[(&str, &str)]) -> Run {
        self.agent_env(&self.node, action, params, &[])
    }

    pub fn agent_env(&self, ns: &Netns, action: &str, params: &[(&str, &str)], env: &[(&str, &str)]) -> Run {
        run_agent(ns, &self.rsctmp, action, params, env)
    }

    /// A second NIC, eth1, in the node: one end of a veth pair whose
    /// other end (eth1p) stays in the node too, both up.
    pub fn add_eth1(&self) {
        self.node.ip(&["link", "add", "eth1", "type", "veth", "peer", "name", "eth1p"]);
        self.node.ip(&["link", "set", "eth1", "up"]);
        self.node.ip(&["link", "set", "eth1p", "up"]);
    }

    /// Pacemaker's probe: a monitor with interval 0, as Pacemaker passes it
    /// (an absent interval counts as 0 too, as ocf-shellfuncs defaults it).
    pub fn probe(&self, params: &[(&str, &str)]) -> Run {
        self.agent_env(&self.node, "monitor", params, &[("OCF_RESKEY_CRM_meta_interval", "0")])
    }

    /// The details of the `repaired` events in the history of the resource
    /// `vip` with `params`, once there are at least `n` (within 20 s).
    #[allow(dead_code)]
    pub fn repairs_of(&self, params: &[(&str, &str)], n: usize) -> Vec<String> {
        let details = || -> Vec<String> {
            let report = super::explain_report(&self.node, &self.rsctmp, "vip", params);
            let events = report["events"].as_array().cloned().unwrap_or_default();
            let repaired = events.iter().filter(|e| e["event"] == "repaired");
            repaired.map(|e| e["detail"].as_str().unwrap_or("").to_string()).collect()
        };
        let mut seen = Vec::new();
        let done = super::wait_for(std::time::Duration::from_secs(20), || {
            seen = details();
            seen.len() >= n
        });
        assert!(done.is_some(), "{n} repairs expected: {seen:?}; {}", self.node.addresses("eth0"));
        seen
    }

    /// A path for the test's own files (logs, sockets) outside HA_RSCTMP,
    /// where the agent never looks; removed with the lab.
    pub fn scratch(&self, name: &str) -> PathBuf {
        let dir = self.scratch_dir();
        std::fs::create_dir_all(&dir).expect("scratch directory");
        dir.join(name)
    }

    fn scratch_dir(&self) -> PathBuf {
        self.rsctmp.with_extension("scratch")
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        self.node.kill_processes();
        let _ = std::fs::remove_dir_all(&self.rsctmp);
        let _ = std::fs::remove_dir_all(self.scratch_dir());
    }
}

/// Several node namespaces and a client on one Ethernet segment (a bridge
/// in its own namespace). Node i has 192.0.2.(11+i)/24 and
/// 2001:db8::(11+i)/64; the client has .100 and ::100.
pub struct Segment {
    pub nodes: Vec<Netns>,
    pub client: Netns,
    bridge: Netns,
    pub rsctmp: PathBuf,
}

impl Segment {
    pub fn new(node_count: usize) -> Segment {
        let bridge = Netns::new("b");
        bridge.ip(&["link", "add", "br0", "type", "bridge"]);
        bridge.ip(&["link", "set", "br0", "up"]);
        let join = |ns: &Netns, leg: &str| {
            bridge.ip(&["link", "add", leg, "type", "veth", "peer", "name", "eth0", "netns", &ns.name]);
            bridge.ip(&["link", "set", leg, "master", "br0", "up"]);
            ns.ip(&["link", "set", "eth0", "up"]);
        };
        let mut nodes = Vec::new();
        for i in 0..node_count {
            let node = Netns::new("s");
            join(&node, &format!("leg{i}"));
            node.ip(&["addr", "add", &format!("192.0.2.{}/24", 11 + i), "brd", "+", "dev", "eth0"]);
            node.ip(&["addr", "add", &format!("2001:db8::{}/64", 11 + i), "dev", "eth0", "nodad"]);
            nodes.push(node);
        }
        let client = Netns::new("c");
        join(&client, "legc");
        client.ip(&["addr", "add", "192.0.2.100/24", "brd", "+", "dev", "eth0"]);
        client.ip(&["addr", "add", "2001:db8::100/64", "dev", "eth0", "nodad"]);
        let rsctmp = std::env::temp_dir().join(format!("{}-rsctmp", bridge.name));
        std::fs::create_dir_all(&rsctmp).expect("rsctmp");
        Segment { nodes, client, bridge, rsctmp }
    }

    /// Plugs another interface of `ns`, named `ifname`, into the segment.
    pub fn attach(&self, ns: &Netns, ifname: &str) {
        let leg = format!("x{}", COUNTER.fetch_add(1, Ordering::SeqCst));
        self.bridge.ip(&["link", "add", &leg, "type", "veth", "peer", "name", ifname, "netns", &ns.name]);
        self.bridge.ip(&["link", "set", &leg, "master", "br0", "up"]);
        ns.ip(&["link", "set", ifname, "up"]);
    }

    /// The bridge port (`leg0` for node 0, `legc` for the client) behind
    /// which the bridge last learnt `mac`, if it knows it.
    pub fn port_of(&self, mac: &str) -> Option<String> {
        let out = super::sh("bridge", &["-n", &self.bridge.name, "fdb", "show", "br", "br0"]);
        out.lines()
            .filter(|line| line.starts_with(&format!("{mac} dev ")) && !line.contains("permanent"))
            .find_map(|line| line.split_whitespace().nth(2).map(str::to_string))
    }

    /// Runs the agent on node `i` (each node has its own HA_RSCTMP).
    pub fn agent(&self, i: usize, action: &str, params: &[(&str, &str)]) -> Run {
        let dir = self.rsctmp.join(format!("node{i}"));
        std::fs::create_dir_all(&dir).expect("node rsctmp");
        run_agent(&self.nodes[i], &dir, action, params, &[])
    }
}

impl Drop for Segment {
    fn drop(&mut self) {
        for node in &self.nodes {
            node.kill_processes();
        }
        let _ = std::fs::remove_dir_all(&self.rsctmp);
    }
}

/// A file that `ip netns exec` shows as /etc/NAME inside one namespace
/// only (`/etc/netns/NS/NAME`: hosts, os-release); removed when dropped.
pub struct NamespaceFile(PathBuf);

impl NamespaceFile {
    pub fn new(ns: &Netns, name: &str, text: &[u8]) -> NamespaceFile {
        let dir = PathBuf::from("/etc/netns").join(&ns.name);
        std::fs::create_dir_all(&dir).expect("/etc/netns");
        let file = NamespaceFile(dir.join(name));
        file.write(text);
        file
    }

    /// Replaces the file's contents.
    pub fn write(&self, text: &[u8]) {
        std::fs::write(&self.0, text).unwrap_or_else(|e| panic!("writing {}: {e}", self.0.display()));
    }
}

impl Drop for NamespaceFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}
