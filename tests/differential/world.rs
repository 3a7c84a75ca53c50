//! The node a case runs on, built identically for each agent: a node
//! namespace whose eth0 (192.0.2.1/24, 2001:db8::1/64) and eth1 (no
//! address) are veths to a peer namespace, so both have carrier; an
//! `inner` namespace built the same way for `network_namespace`; and a
//! snapshot of everything an agent could change, in a form two runs can
//! be compared in.

use crate::common::Netns;
use crate::common::ipaddr2::Agent;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;

/// A change an admin or a failure makes between start and monitor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    LinkDown,
    CarrierLost,
    RoutesRemoved,
    AddressMoved,
}

/// What the node holds before a case starts, besides its own addresses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Setup {
    /// The VIP on lo, with the kernel's default `arp_ignore` 0: the node
    /// answers ARP for it on eth0.
    CopyOnLo,
    /// The VIP on lo of an LVS-DR real server, which sets `arp_ignore=1`:
    /// the node answers no ARP for it.
    RealServerCopyOnLo,
    /// The VIP already on eth0, as configured (a running VIP of an older agent).
    AlreadyThere,
    /// The VIP on eth0 with another prefix.
    OtherPrefix,
    /// The VIP on eth1.
    OnEth1,
    /// The VIP where this resource puts it, added by hand with another label.
    HandLabelled,
    /// An admin's static on-link route onto the IPv6 VIP's prefix, metric 100.
    AdminRoute,
}

pub struct World {
    pub node: Netns,
    pub inner: Netns,
    peers: Vec<Netns>,
    rsctmp: PathBuf,
}

impl World {
    pub fn new() -> World {
        let (node, inner) = (Netns::new("dn"), Netns::new("di"));
        let mut peers = Vec::new();
        for ns in [&node, &inner] {
            let peer = Netns::new("dp");
            for nic in ["eth0", "eth1"] {
                ns.ip(&["link", "add", nic, "type", "veth", "peer", "name", nic, "netns", &peer.name]);
                ns.ip(&["link", "set", nic, "up"]);
                peer.ip(&["link", "set", nic, "up"]);
            }
            ns.ip(&["addr", "add", "192.0.2.1/24", "brd", "+", "dev", "eth0"]);
            ns.ip(&["addr", "add", "2001:db8::1/64", "dev", "eth0", "nodad"]);
            peers.push(peer);
        }
        let rsctmp = std::env::temp_dir().join(format!("{}-rsctmp", node.name));
        std::fs::create_dir_all(&rsctmp).expect("rsctmp");
        World { node, inner, peers, rsctmp }
    }

    /// Runs `agent ACTION` on the node; `@inner` in a value names the inner namespace.
    pub fn run(&self, agent: Agent, action: &str, params: &[(&str, String)], env: &[(&str, &str)]) -> i32 {
        let params: Vec<(&str, String)> =
            params.iter().map(|(k, v)| (*k, v.replace("@inner", &self.inner.name))).collect();
        let mut cmd = agent.command(&self.node, &self.rsctmp, action);
        cmd.envs(params.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.clone())))
            .envs(env.iter().copied())
            // Only the exit code is compared. A pipe would also make every
            // IPaddr2 start wait for its background send_arp to let go of it.
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        cmd.status().expect("agent runs").code().unwrap_or(-1)
    }

    pub fn set_up(&self, setup: Setup, v4: bool) {
        let (vip, prefix, other) = if v4 { ("192.0.2.50", "24", "16") } else { ("2001:db8::50", "64", "48") };
        let cidr = format!("{vip}/{prefix}");
        match setup {
            Setup::CopyOnLo | Setup::RealServerCopyOnLo => {
                // A namespace inherits the host's IPv4 settings: set either way.
                let arp_ignore = if setup == Setup::CopyOnLo { "0" } else { "1" };
                self.node.sysctl(&format!("net.ipv4.conf.all.arp_ignore={arp_ignore}"));
                self.node.ip(&["addr", "add", vip, "dev", "lo"])
            }
            Setup::AlreadyThere => self.node.ip(&["addr", "add", &cidr, "dev", "eth0", "nodad"]),
            Setup::OtherPrefix => {
                self.node.ip(&["addr", "add", &format!("{vip}/{other}"), "dev", "eth0", "nodad"])
            }
            Setup::OnEth1 => self.node.ip(&["addr", "add", &cidr, "dev", "eth1", "nodad"]),
            Setup::HandLabelled => self.node.ip(&["addr", "add", &cidr, "dev", "eth0", "label", "eth0:hand"]),
            Setup::AdminRoute => self.node.ip(&[
                "-6",
                "route",
                "add",
                "2001:db8:77::/64",
                "dev",
                "eth0",
                "metric",
                "100",
                "proto",
                "static",
            ]),
        };
    }

    pub fn change(&self, change: Change, v4: bool) {
        let cidr = if v4 { "192.0.2.50/24" } else { "2001:db8::50/64" };
        match change {
            Change::LinkDown => drop(self.node.ip(&["link", "set", "eth0", "down"])),
            Change::CarrierLost => drop(self.peers[0].ip(&["link", "set", "eth0", "down"])),
            Change::RoutesRemoved => {
                for family in ["-4", "-6"] {
                    self.node.ip(&[family, "route", "flush", "table", "main", "dev", "eth0"]);
                }
            }
            // Added on eth1 before it leaves eth0, as docs/self-healing.md
            // tells an admin to move it: the watcher (repair_removed) then
            // finds it on eth1 when it hears of the removal, and leaves it.
            Change::AddressMoved => {
                self.node.ip(&["addr", "add", cidr, "dev", "eth1", "nodad"]);
                let _ = self.node.try_ip(&["addr", "del", cidr, "dev", "eth0"]);
            }
        }
    }

    /// Waits until the kernel has done what it does after an address change
    /// from a work queue: no IPv6 address on a link with carrier is still
    /// in duplicate address detection (tentative), and every IPv6 address
    /// that is not tentative has its local route. Both agents' snapshots
    /// are then taken in the same
    /// settled state (a snapshot taken a moment earlier lacks the route of
    /// an address added just before). Bounded: a state that never settles
    /// is taken as it is, for both agents alike.
    fn settle(&self) {
        for ns in [&self.node, &self.inner] {
            let settled = || {
                let addresses = ns.ip(&["-6", "-o", "addr", "show"]);
                let locals = ns.ip(&["-6", "route", "show", "table", "local"]);
                let carrying = ns.ip(&["-o", "link", "show"]);
                let has_carrier = |line: &str| {
                    let name = line.split_whitespace().nth(1).unwrap_or_default();
                    carrying.lines().any(|l| {
                        l.split_whitespace()
                            .nth(1)
                            .is_some_and(|n| n.trim_end_matches(':').split('@').next() == Some(name))
                            && l.contains("LOWER_UP")
                    })
                };
                let in_dad = |line: &str| line.contains("tentative") && !line.contains("dadfailed");
                if addresses.lines().any(|line| in_dad(line) && has_carrier(line)) {
                    return false;
                }
                addresses
                    .lines()
                    .filter(|line| !line.contains("tentative"))
                    .filter_map(|line| line.split_whitespace().skip_while(|w| *w != "inet6").nth(1))
                    .filter_map(|cidr| cidr.split('/').next())
                    .all(|address| locals.lines().any(|r| r.starts_with(&format!("local {address} "))))
            };
            crate::common::wait_for(std::time::Duration::from_secs(3), settled);
        }
    }

    /// Everything an agent could change, per section: addresses (with
    /// prefix, broadcast, label, flags, lifetimes), routes of all tables,
    /// links and IPv6 address labels, in the node and the inner namespace.
    pub fn snapshot(&self) -> Snapshot {
        self.settle();
        let mut sections = Snapshot::default();
        for (place, ns) in [("node", &self.node), ("inner", &self.inner)] {
            for (section, args) in SECTIONS {
                let lines = json_lines(&ns.ip(args), section);
                sections.entry(section).extend(lines.into_iter().map(|line| format!("{place} {line}")));
            }
        }
        sections
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.rsctmp);
    }
}

const SECTIONS: [(&str, &[&str]); 5] = [
    ("addr", &["-j", "addr", "show"]),
    ("route", &["-j", "-d", "-4", "route", "show", "table", "all"]),
    ("route", &["-j", "-d", "-6", "route", "show", "table", "all"]),
    ("link", &["-j", "link", "show"]),
    ("addrlabel", &["-j", "addrlabel", "list"]),
];

/// A snapshot, by section.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Snapshot(Vec<(&'static str, BTreeSet<String>)>);

impl Snapshot {
    fn entry(&mut self, section: &'static str) -> &mut BTreeSet<String> {
        if let Some(at) = self.0.iter().position(|(name, _)| *name == section) {
            return &mut self.0[at].1;
        }
        self.0.push((section, BTreeSet::new()));
        &mut self.0.last_mut().expect("just pushed").1
    }

    /// The sections in which two snapshots differ, each with what differs.
    pub fn differences(&self, other: &Snapshot) -> Vec<(&'static str, String)> {
        let empty = BTreeSet::new();
        let mut out = Vec::new();
        for (section, ours) in &self.0 {
            let theirs = other.0.iter().find(|(name, _)| name == section).map(|(_, s)| s).unwrap_or(&empty);
            if ours != theirs {
                let only_ours: Vec<&String> = ours.difference(theirs).collect();
                let only_theirs: Vec<&String> = theirs.difference(ours).collect();
                out.push((*section, format!("only ours: {only_ours:?}; only IPaddr2's: {only_theirs:?}")));
            }
        }
        out
    }
}

/// One line per object of `ip -j` output, without what differs between two
/// identical nodes (indexes, MACs, the kernel's own link-local addresses)
/// or with time (lifetimes become forever or finite).
fn json_lines(json: &str, section: &str) -> Vec<String> {
    let Ok(Value::Array(items)) = serde_json::from_str::<Value>(json) else { return Vec::new() };
    let mut lines = Vec::new();
    for item in items {
        match section {
            "addr" => {
                let nic = item["ifname"].as_str().unwrap_or_default().to_string();
                for address in item["addr_info"].as_array().into_iter().flatten() {
                    if address["scope"] == "link" && address["family"] == "inet6" {
                        continue;
                    }
                    lines.push(format!("{nic} {}", flatten(address)));
                }
            }
            "route" => {
                let dst = item["dst"].as_str().unwrap_or_default();
                if !dst.starts_with("fe80:") && dst != "ff00::/8" {
                    lines.push(flatten(&item));
                }
            }
            "link" => lines.push(format!("{} {} {}", item["ifname"], item["flags"], item["operstate"])),
            _ => lines.push(flatten(&item)),
        }
    }
    lines
}

fn flatten(object: &Value) -> String {
    let Some(map) = object.as_object() else { return object.to_string() };
    let mut fields: Vec<String> = map
        .iter()
        .filter(|(key, _)| !matches!(key.as_str(), "ifindex" | "expires" | "cacheinfo"))
        .map(|(key, value)| match key.as_str() {
            "valid_life_time" | "preferred_life_time" => {
                let forever = value.as_u64() == Some(u64::from(u32::MAX));
                format!(
                    "{key}={}",
                    if forever {
                        "forever"
                    } else if value.as_u64() == Some(0) {
                        "0"
                    } else {
                        "finite"
                    }
                )
            }
            _ => format!("{key}={value}"),
        })
        .collect();
    fields.sort();
    fields.join(" ")
}
