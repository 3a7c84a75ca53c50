//! `virtual_mac`: the VIP on a macvlan interface of its own, whose MAC is
//! the service's. Start creates the interface (recorded first, so a start
//! killed at any instant leaves stop what it needs), makes it answer for
//! the VIP alone, keeps the parent from answering for it, and routes what
//! the VIP sends through it; stop undoes exactly that.
//!
//! What changes on the node, and why:
//! - on the interface (the agent's own): `arp_ignore=1` and `arp_announce=2`,
//!   so it answers ARP for the VIP only, never for the node's addresses;
//!   no IPv6 link-local (`addr_gen_mode=1`, or IPv6 off for an IPv4 VIP),
//!   so it has no identity but the VIP;
//! - on the parent, for IPv4 only and only while its `arp_ignore` is 0:
//!   `arp_ignore=1`, or the parent answers ARP for every local address,
//!   the VIP included, with the node's MAC. Shared by every such resource
//!   of the parent (a holder list under a lock); the last stop restores
//!   the value found, unless someone changed it since;
//! - a rule "from VIP lookup TABLE" (priority `RULE_PRIORITY`, table
//!   `TABLE_BASE` + the interface's index) whose table copies the main
//!   table's routes through the parent onto the interface: replies and
//!   connections from the VIP leave with the VIP's MAC. The kernel deletes
//!   the table's routes with the interface; stop deletes the rule.

use super::context::Vip;
use super::owned::{OwnedPart, Progress, Removal};
use super::place::{Site, Target};
use super::record::{Record, VirtualLink};
use crate::error::{AgentError, AgentResult, Doing};
use crate::netlink::{AddressEntry, IpFamily, LinkEntry, NewMacvlan, RouteFilter, SourceRule, TableRoute};
use crate::ocf::log;
use crate::packet::Mac;
use crate::params::virtual_mac;
use crate::store::key::{self, Shared};
use crate::sysctl;
use serde::{Deserialize, Serialize};

/// The priority of a VIP's source rule: before the main table's (32766).
pub const RULE_PRIORITY: u32 = 32700;
/// A VIP's table is this plus its interface's index (unique in a namespace).
pub const TABLE_BASE: u32 = 4_100_000_000;

/// The table of the VIP on interface `ifindex`: far from the tables admins
/// number (and from main, local and default), never past u32's end.
fn table_of(ifindex: u32) -> u32 {
    TABLE_BASE + ifindex % (u32::MAX - TABLE_BASE)
}

/// The most the parent's holder list may read back: a key is at most about
/// 210 bytes, so this holds far more virtual-MAC VIPs than one interface
/// can carry. A list that cannot be read is an error, never "no holders".
const HOLD_BYTES: u64 = 64 << 20;

/// How the VIP's table differs from main's routes through the parent.
/// What `link_drift` found.
struct LinkDrift {
    rule: SourceRule,
    rule_gone: bool,
    parent: Site,
    arp_ignore: u8,
    /// The parent answers ARP for the VIP too (IPv4, `arp_ignore` below 1).
    answers_too: bool,
    table: TableDrift,
}

impl LinkDrift {
    fn is_empty(&self) -> bool {
        !self.rule_gone && !self.answers_too && self.table.is_empty()
    }

    /// Each difference, as monitor reports it.
    fn described(&self, ip: std::net::IpAddr) -> Vec<String> {
        let parent = &self.parent.nic;
        let mut drifted = Vec::new();
        if !self.table.is_empty() {
            drifted.push(format!(
                "table {} of {ip} was behind main's routes through {parent} ({} to copy, {} to remove)",
                self.table.table,
                self.table.missing.len(),
                self.table.extra.len()
            ));
        }
        if self.rule_gone {
            drifted.push(format!(
                "the rule from {ip} to table {} was gone (its replies left by {parent} with the node's MAC)",
                self.rule.table
            ));
        }
        if self.answers_too {
            drifted.push(format!(
                "net.ipv4.conf.{parent}.arp_ignore was {} ({parent} answered ARP for {ip} with the node's MAC too)",
                self.arp_ignore
            ));
        }
        drifted
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct TableDrift {
    missing: Vec<TableRoute>,
    extra: Vec<TableRoute>,
    table: u32,
}

impl TableDrift {
    fn is_empty(&self) -> bool {
        self.missing.is_empty() && self.extra.is_empty()
    }
}

/// A route as the VIP's table copies it: destination and gateway.
fn table_route_of(route: &crate::netlink::RouteEntry) -> Option<TableRoute> {
    let destination = match route.destination {
        Some(dst) => Some(ipnetwork::IpNetwork::new(dst, route.prefix).ok()?),
        None => None,
    };
    Some(TableRoute { destination, gateway: route.gateway })
}

/// Who raised a parent's `arp_ignore`, and what it was.
#[derive(Debug, Default, Serialize, Deserialize)]
struct ParentHold {
    /// The parent's own value before the first holder raised it.
    original: u8,
    /// The resources (their keys) that need it raised.
    holders: Vec<String>,
}

impl<'a> Vip<'a> {
    /// The MAC `virtual_mac` gives this VIP, if it is set.
    pub fn virtual_mac(&self) -> Option<Mac> {
        self.params.virtual_mac.map(|mac| mac.for_ip(self.params.ip))
    }

    /// The recorded macvlan interface, if start created one.
    pub fn virtual_link(&self) -> Option<&VirtualLink> {
        self.record.and_then(|record| record.virtual_link.as_ref())
    }

    /// This resource's `virtual_mac` interface, as the part of it start
    /// applies, monitor verifies and stop removes.
    pub fn virtual_interface(&self) -> VirtualInterface<'a> {
        VirtualInterface { vip: *self }
    }
}

/// `virtual_mac`'s part of a resource: the macvlan interface, its settings,
/// the parent's `arp_ignore` hold, the VIP's source rule and its table.
pub struct VirtualInterface<'a> {
    vip: Vip<'a>,
}

impl VirtualInterface<'_> {
    /// The name of this resource's macvlan interface.
    pub fn virtual_link_name(&self) -> String {
        virtual_mac::link_name(self.vip.key.text())
    }

    /// The interface the VIP's link is reached through: the parent of
    /// virtual_mac's interface when `site` is that interface, else `site`'s.
    pub fn link_ifindex(&self, site: &Site) -> u32 {
        match self.vip.virtual_link() {
            Some(v) if v.ifindex == Some(site.ifindex) => v.parent_ifindex,
            _ => site.ifindex,
        }
    }

    /// Where probes for the VIP go out: the parent, with the node's MAC, so
    /// that this node's interface never answers them and an answer from
    /// the VIP's MAC is another host's; `spot`'s site without virtual_mac.
    pub fn probing_site(&self, site: &Site) -> AgentResult<Site> {
        match self.vip.virtual_link() {
            Some(v) if self.link_ifindex(site) != site.ifindex => {
                self.vip.lookup().site_by_index(v.parent_ifindex, &v.parent)
            }
            _ => Ok(site.clone()),
        }
    }

    /// Refuses a MAC that an interface on the link of `parent` (the NIC
    /// itself, or an interface stacked on it) already has, other than this
    /// resource's own macvlan. The same MAC on another NIC's link is no
    /// collision: one address served on two links (two resources, two
    /// NICs, `auto`) has one MAC on each, as VRRP has one MAC per virtual
    /// router on every VLAN it serves.
    pub fn check_mac(&self, mac: Mac, parent: u32) -> AgentResult<()> {
        let links = self.vip.nl.links().doing(|| "listing this node's interfaces".to_string())?;
        let ours = self.own_link(mac, None)?.is_some_and(|link| link.parent == Some(parent));
        if holders_on_link(&links, mac, parent) > usize::from(ours) {
            // A fact of this node (another resource's interface, hardware),
            // not of the configuration: another node may run the VIP.
            let nic =
                links.iter().find(|link| link.ifindex == parent).map_or("nic", |link| link.name.as_str());
            return Err(AgentError::installed(format!(
                "virtual_mac {mac} is already the MAC of an interface on {nic}'s link on this node; give the VIP a MAC of its own"
            )));
        }
        Ok(())
    }

    /// This resource's macvlan interface, if it exists: by name, a macvlan
    /// with `mac` (on `parent`, when given). Another interface of that name
    /// is an error: it is not this resource's.
    fn own_link(&self, mac: Mac, parent: Option<u32>) -> AgentResult<Option<LinkEntry>> {
        let name = self.virtual_link_name();
        let Some(link) = self.vip.nl.link_by_name(&name).doing(|| format!("looking up interface {name}"))?
        else {
            return Ok(None);
        };
        let parent_fits = parent.is_none_or(|p| link.parent == Some(p));
        if link.kind.as_deref() == Some("macvlan") && link.mac == Some(mac) && parent_fits {
            return Ok(Some(link));
        }
        Err(AgentError::generic(format!(
            "interface {name} exists but is not this resource's macvlan with MAC {mac}{}; remove or rename it",
            parent.map(|_| " on the configured nic").unwrap_or_default()
        )))
    }

    /// Creates the macvlan interface on `target`'s NIC (or takes the one a
    /// killed start left), records it, and returns where the address goes:
    /// the same prefix and attributes, on the new interface.
    fn bring_up(&self, target: &Target, mac: Mac, record: &mut Record) -> AgentResult<Target> {
        let name = self.virtual_link_name();
        let parent = target.ifindex();
        // An interface of this resource deleted since (recover re-creates it).
        let earlier = record.virtual_link.as_ref().and_then(|v| v.ifindex);
        record.virtual_link = Some(VirtualLink {
            name: name.clone(),
            mac: mac.to_string(),
            parent_ifindex: parent,
            parent: target.nic().to_string(),
            ifindex: None,
        });
        self.save_record(record)?;
        let link = match self.own_link(mac, Some(parent))? {
            Some(link) => link,
            None => {
                let alias =
                    self.vip.inv.env.instance.clone().unwrap_or_else(|| self.vip.params.ip.to_string());
                let new = NewMacvlan { name: &name, parent, mac, alias: &alias };
                self.vip.nl.add_macvlan(&new).doing(|| {
                    format!("creating macvlan interface {name} with MAC {mac} on {}", target.nic())
                })?;
                self.own_link(mac, Some(parent))?.ok_or_else(|| {
                    AgentError::generic(format!("interface {name} vanished right after it was created"))
                })?
            }
        };
        if let Some(earlier) = earlier.filter(|index| *index != link.ifindex) {
            let rule =
                SourceRule { source: self.vip.params.ip, table: table_of(earlier), priority: RULE_PRIORITY };
            if let Err(err) = self.vip.nl.delete_source_rule(rule) {
                log::warn(format!("deleting the rule of {name}'s earlier copy: {err}"));
            }
        }
        self.quiet(&name);
        if self.ip_is_v4() {
            self.hold_parent_arp_ignore(parent, target.nic())?;
        }
        if let Some(virtual_link) = record.virtual_link.as_mut() {
            virtual_link.ifindex = Some(link.ifindex);
        }
        record.ifindex = link.ifindex;
        record.nic = name.clone();
        self.save_record(record)?;
        self.vip.nl.set_link_up(link.ifindex).doing(|| format!("bringing {name} up"))?;
        let site = Site { ifindex: link.ifindex, nic: name, link: Some(link) };
        Ok(Target { site, label: None, ..target.clone() })
    }

    fn ip_is_v4(&self) -> bool {
        self.vip.params.ip.is_ipv4()
    }

    fn save_record(&self, record: &Record) -> AgentResult<()> {
        record.write(&self.vip.run_dir(), self.vip.key).map_err(|err| {
            AgentError::generic(format!("recording the interface of {}: {err}", self.vip.params.ip))
        })
    }

    /// The interface answers ARP for its own address alone and has no IPv6
    /// identity but the VIP. Set while it is down; a setting the kernel
    /// refuses costs a warning (the VIP still works, less tidily).
    fn quiet(&self, name: &str) {
        let mut settings = vec![("ipv4", "arp_ignore", 1), ("ipv4", "arp_announce", 2)];
        settings.push(if self.ip_is_v4() {
            ("ipv6", "disable_ipv6", 1)
        } else {
            ("ipv6", "addr_gen_mode", 1)
        });
        for (family, setting, value) in settings {
            if let Err(err) = sysctl::set_conf(family, name, setting, value) {
                log::warn(format!("setting net.{family}.conf.{name}.{setting}={value}: {err}"));
            }
        }
    }

    /// Keeps the parent's `arp_ignore` at 1 or more while any VIP of this
    /// kind runs on it: raises it when it is not in effect (at start, or
    /// after someone set it back), listing this resource as a holder. The
    /// holder is listed before the value changes, so a start killed at any
    /// instant leaves stop a list that names it.
    fn hold_parent_arp_ignore(&self, parent: u32, nic: &str) -> AgentResult<()> {
        let (file, _lock) = self.parent_hold_file(parent)?;
        let run_dir = self.vip.run_dir();
        let recording = |err: std::io::Error| {
            AgentError::generic(format!("recording who raised arp_ignore of {nic}: {err}"))
        };
        let me = self.vip.key.text().to_string();
        let in_effect = sysctl::arp_ignore(Some(nic)) >= 1;
        let hold = match run_dir
            .load_capped::<ParentHold>(&file, HOLD_BYTES)
            .map_err(|err| AgentError::generic(format!("reading who raised arp_ignore of {nic}: {err}")))?
        {
            Some(hold) => Some(hold),
            None if in_effect => return Ok(()),
            None => None,
        };
        let original = match hold {
            Some(mut hold) => {
                if !hold.holders.contains(&me) {
                    hold.holders.push(me);
                    run_dir.save(&file, &hold).map_err(recording)?;
                }
                if in_effect {
                    return Ok(());
                }
                hold.original
            }
            None => {
                let original = sysctl::ipv4_conf(nic, "arp_ignore").unwrap_or(0);
                run_dir.save(&file, &ParentHold { original, holders: vec![me] }).map_err(recording)?;
                original
            }
        };
        sysctl::set_conf("ipv4", nic, "arp_ignore", 1).map_err(|err| {
            AgentError::generic(format!(
                "setting net.ipv4.conf.{nic}.arp_ignore=1, so that {nic} does not answer for {} with its own MAC: {err}",
                self.vip.params.ip
            ))
        })?;
        log::info(format!(
            "net.ipv4.conf.{nic}.arp_ignore raised from {original} to 1 while {} has its own MAC",
            self.vip.params.ip
        ));
        Ok(())
    }

    /// Lets go of the parent's `arp_ignore`; the last holder puts back the
    /// value found, unless it was changed since.
    fn release_parent_arp_ignore(&self, virtual_link: &VirtualLink) -> AgentResult<()> {
        let parent = virtual_link.parent_ifindex;
        // By its name now: a renamed parent's settings moved with it.
        let site = self.vip.lookup().site_by_index(parent, &virtual_link.parent)?;
        let nic = site.nic.as_str();
        let (file, _lock) = self.parent_hold_file(parent)?;
        let run_dir = self.vip.run_dir();
        // A write of the list killed half-way (a start's listing) leaves a
        // copy no later write of a list that never names us would sweep.
        run_dir.sweep_dead_copies(std::slice::from_ref(&file));
        let loaded = run_dir
            .load_capped::<ParentHold>(&file, HOLD_BYTES)
            .map_err(|err| AgentError::generic(format!("reading who raised arp_ignore of {nic}: {err}")))?;
        let Some(mut hold) = loaded else { return Ok(()) };
        if !hold.holders.iter().any(|holder| holder == self.vip.key.text()) {
            return Ok(());
        }
        hold.holders.retain(|holder| holder != self.vip.key.text());
        let saved = if hold.holders.is_empty() {
            match sysctl::ipv4_conf(nic, "arp_ignore") {
                // Never raised: the start that listed itself was killed first.
                Ok(now) if now == hold.original => {}
                Ok(1) => sysctl::set_conf("ipv4", nic, "arp_ignore", hold.original).map_err(|err| {
                    AgentError::generic(format!(
                        "restoring net.ipv4.conf.{nic}.arp_ignore={}: {err}",
                        hold.original
                    ))
                })?,
                Ok(now) => log::warn(format!(
                    "net.ipv4.conf.{nic}.arp_ignore is {now} now, not the 1 virtual_mac set: left as it is"
                )),
                // The parent is gone, and its settings with it.
                Err(_) => {}
            }
            run_dir.remove(&file)
        } else {
            run_dir.save(&file, &hold)
        };
        saved.map_err(|err| AgentError::generic(format!("recording who raised arp_ignore of {nic}: {err}")))
    }

    /// The holder list of `parent` and its lock, held until dropped.
    fn parent_hold_file(&self, parent: u32) -> AgentResult<(String, nix::fcntl::Flock<std::fs::File>)> {
        let ns = self.vip.params.network_namespace.as_deref();
        let lock_name = key::interface_file(Shared::ParentHoldersLock, parent, ns);
        let lock = self
            .vip
            .run_dir()
            .lock(&lock_name, self.vip.inv.budget.deadline())
            .map_err(|err| AgentError::generic(format!("locking {lock_name}: {err}")))?;
        Ok((key::interface_file(Shared::ParentHolders, parent, ns), lock))
    }

    /// Sends what the VIP emits through its interface: the table of copies
    /// of the main table's routes through the parent, then the rule.
    pub fn route_from(&self, target: &Target) -> AgentResult<()> {
        let Some(virtual_link) = self.vip.virtual_link() else { return Ok(()) };
        let ip = self.vip.params.ip;
        let table = table_of(target.ifindex());
        for route in self.table_routes_wanted(virtual_link, target.prefix)? {
            if let Err(err) = self.vip.nl.put_table_route(table, target.ifindex(), ip, route) {
                log::warn(format!("copying a route through {} to table {table}: {err}", target.nic()));
            }
        }
        let rule = SourceRule { source: ip, table, priority: RULE_PRIORITY };
        self.vip.nl.add_source_rule(rule).doing(|| format!("adding the rule from {ip} to table {table}"))
    }

    /// What the VIP's table should hold now: a copy of each unicast route
    /// of the main table through the parent, and the VIP's subnet, link
    /// routes first (a gateway's route needs its link's).
    fn table_routes_wanted(&self, virtual_link: &VirtualLink, prefix: u8) -> AgentResult<Vec<TableRoute>> {
        let ip = self.vip.params.ip;
        let filter = RouteFilter::main(IpFamily::of(ip)).leaving_by(Some(virtual_link.parent_ifindex));
        let routes = self
            .vip
            .nl
            .routes(&filter)
            .doing(|| format!("reading the routes through {}", virtual_link.parent))?;
        let mut copies: Vec<TableRoute> = routes
            .iter()
            .filter(|route| route.kind == rtnetlink::packet_route::route::RouteType::Unicast)
            // A multipath route's hops are not all on this link.
            .filter(|route| !route.has_gateway || route.gateway.is_some())
            .filter_map(table_route_of)
            .collect();
        if let Ok(subnet) = ipnetwork::IpNetwork::new(ip, prefix) {
            let subnet = ipnetwork::IpNetwork::new(subnet.network(), subnet.prefix()).unwrap_or(subnet);
            copies.push(TableRoute { destination: Some(subnet), gateway: None });
        }
        copies.sort_by_key(|route| route.gateway.is_some());
        copies.dedup();
        Ok(copies)
    }

    /// How the VIP's table differs from main's routes through the parent
    /// now (a replaced default gateway, a route added or removed since
    /// start): empty when it is in step; `put_table_in_step` applies it.
    fn table_drift(&self, site: &Site, virtual_link: &VirtualLink, prefix: u8) -> AgentResult<TableDrift> {
        let ip = self.vip.params.ip;
        let table = table_of(site.ifindex);
        let wanted = self.table_routes_wanted(virtual_link, prefix)?;
        let filter = RouteFilter { table, ..RouteFilter::main(IpFamily::of(ip)) };
        let held: Vec<TableRoute> = self
            .vip
            .nl
            .routes(&filter)
            .doing(|| format!("reading table {table} of {ip}"))?
            .iter()
            .filter_map(table_route_of)
            .collect();
        Ok(TableDrift {
            missing: wanted.iter().filter(|r| !held.contains(r)).copied().collect(),
            extra: held.iter().filter(|r| !wanted.contains(r)).copied().collect(),
            table,
        })
    }

    /// Applies `drift` to the VIP's table on `site`.
    fn put_table_in_step(&self, site: &Site, drift: &TableDrift) -> AgentResult<()> {
        let ip = self.vip.params.ip;
        for route in &drift.extra {
            self.vip
                .nl
                .delete_table_route(drift.table, site.ifindex, ip, *route)
                .doing(|| format!("removing a stale route from table {} of {ip}", drift.table))?;
        }
        for route in &drift.missing {
            self.vip
                .nl
                .put_table_route(drift.table, site.ifindex, ip, *route)
                .doing(|| format!("copying a route of main to table {} of {ip}", drift.table))?;
        }
        Ok(())
    }

    /// What of the virtual-MAC design around the VIP at `site` differs
    /// from what start set, read now.
    fn link_drift(&self, site: &Site, virtual_link: &VirtualLink, prefix: u8) -> AgentResult<LinkDrift> {
        let ip = self.vip.params.ip;
        let rule = SourceRule { source: ip, table: table_of(site.ifindex), priority: RULE_PRIORITY };
        let rule_gone =
            !self.vip.nl.has_source_rule(rule).doing(|| format!("reading the rules from {ip}"))?;
        let parent = self.vip.lookup().site_by_index(virtual_link.parent_ifindex, &virtual_link.parent)?;
        let arp_ignore = sysctl::arp_ignore(Some(&parent.nic));
        let answers_too = ip.is_ipv4() && parent.link.is_some() && arp_ignore < 1;
        let table = self.table_drift(site, virtual_link, prefix)?;
        Ok(LinkDrift { rule, rule_gone, parent, arp_ignore, answers_too, table })
    }

    /// Whether the VIP's table on `site` follows main's routes (read only:
    /// the watcher asks once it listens, for what changed before). The
    /// rule and the parent's `arp_ignore` are drift a monitor reports.
    pub fn table_in_step(&self, site: &Site) -> AgentResult<bool> {
        let Some(record) = self.vip.record else { return Ok(true) };
        let Some(virtual_link) = record.virtual_link.as_ref().filter(|v| v.ifindex == Some(site.ifindex))
        else {
            return Ok(true);
        };
        Ok(self.table_drift(site, virtual_link, record.prefix)?.is_empty())
    }

    /// What of the virtual-MAC design around the VIP at `site` drifted
    /// since start, each put back when this action may (`turn_to_repair`):
    /// the VIP's source rule (networkd removes foreign rules; without it
    /// the VIP's replies leave by the parent with the node's MAC) and, for
    /// IPv4, the parent's `arp_ignore` (at 0 the parent answers ARP for the
    /// VIP with the node's MAC: two answers). Empty when all holds; an
    /// error when something drifted and could not be put back.
    pub fn verify_at(&self, site: &Site) -> AgentResult<Vec<String>> {
        let Some(record) = self.vip.record else { return Ok(Vec::new()) };
        let Some(virtual_link) = record.virtual_link.as_ref().filter(|v| v.ifindex == Some(site.ifindex))
        else {
            return Ok(Vec::new());
        };
        let drift = self.link_drift(site, virtual_link, record.prefix)?;
        if drift.is_empty() {
            return Ok(Vec::new());
        }
        let Some(_turn) = self.vip.turn_to_repair() else {
            let mut drifted = drift.described(self.vip.params.ip);
            drifted.push("left for a recurring monitor or recover to put back".to_string());
            return Ok(drifted);
        };
        // Read again under the turn: the watcher's repair, which held it,
        // may have put everything back meanwhile.
        let drift = self.link_drift(site, virtual_link, record.prefix)?;
        if drift.is_empty() {
            return Ok(Vec::new());
        }
        let ip = self.vip.params.ip;
        let mut drifted = drift.described(ip);
        if drift.rule_gone {
            self.vip
                .nl
                .add_source_rule(drift.rule)
                .doing(|| format!("putting back the rule from {ip} to table {}", drift.rule.table))?;
        }
        if drift.answers_too {
            self.hold_parent_arp_ignore(virtual_link.parent_ifindex, &drift.parent.nic)?;
        }
        self.put_table_in_step(site, &drift.table)?;
        drifted.push("put back".to_string());
        Ok(drifted)
    }
}

impl OwnedPart for VirtualInterface<'_> {
    /// With `virtual_mac`: the macvlan interface, with the address's place
    /// moved onto it (the probes used the NIC's socket, so the first
    /// announcement opens the new interface's own).
    fn apply(&self, start: &mut Progress) -> AgentResult<()> {
        let Some(mac) = self.vip.virtual_mac() else { return Ok(()) };
        start.target = self.bring_up(&start.target, mac, &mut start.record)?;
        // The VIP announces from its own interface, with its own MAC.
        start.wire = None;
        Ok(())
    }

    fn verify(&self, site: &Site, _entry: &AddressEntry) -> AgentResult<Vec<String>> {
        self.verify_at(site)
    }

    /// Everything `bring_up` and `route_from`
    /// did: the rule, the interface (with its routes), the parent's hold.
    /// Only the interface this resource recorded, if it is still its own.
    fn remove(&self, _why: Removal) -> AgentResult<()> {
        let Some(virtual_link) = self.vip.virtual_link() else { return Ok(()) };
        let ip = self.vip.params.ip;
        let mac: Mac = virtual_link.mac.parse().map_err(|_| {
            AgentError::generic(format!("the record of {ip} names an unreadable MAC {}", virtual_link.mac))
        })?;
        let link = match self.own_link(mac, Some(virtual_link.parent_ifindex)) {
            Ok(link) => link,
            // Someone else's interface under that name: not this resource's to delete.
            Err(err) => {
                log::warn(format!("{}; stop leaves it alone", err.reason));
                None
            }
        };
        // The rule of the recorded interface, and of the one found: an
        // action killed before it recorded the index of the interface it
        // took up again left its rule under that index.
        let mut ifindexes: Vec<u32> = virtual_link.ifindex.into_iter().collect();
        ifindexes.extend(link.as_ref().map(|link| link.ifindex).filter(|found| !ifindexes.contains(found)));
        for ifindex in ifindexes {
            let rule = SourceRule { source: ip, table: table_of(ifindex), priority: RULE_PRIORITY };
            self.vip.nl.delete_source_rule(rule).doing(|| format!("deleting the rule from {ip}"))?;
        }
        if let Some(link) = link {
            self.vip
                .nl
                .delete_link(link.ifindex)
                .doing(|| format!("deleting interface {}", virtual_link.name))?;
        }
        if ip.is_ipv4() {
            self.release_parent_arp_ignore(virtual_link)?;
        }
        Ok(())
    }

    /// What of the recorded interface is left: for stop's last check.
    fn left_over(&self) -> Option<String> {
        let virtual_link = self.vip.virtual_link()?;
        let mac: Mac = virtual_link.mac.parse().ok()?;
        // Another interface under that name is not this resource's (stop warned of it).
        self.own_link(mac, None).ok()??;
        Some(format!("interface {} (MAC {mac}) is still on this node", virtual_link.name))
    }
}

/// How many of `links` carry `mac` on the link of `parent`: the parent
/// itself and the interfaces stacked on it (macvlans, VLANs), which share
/// its wire.
fn holders_on_link(links: &[LinkEntry], mac: Mac, parent: u32) -> usize {
    let on_link = |link: &&LinkEntry| link.ifindex == parent || link.parent == Some(parent);
    links.iter().filter(on_link).filter(|link| link.mac == Some(mac)).count()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(ifindex: u32, parent: Option<u32>, mac: Mac) -> LinkEntry {
        LinkEntry {
            ifindex,
            name: format!("if{ifindex}"),
            admin_up: true,
            oper_state: rtnetlink::packet_route::link::State::Up,
            mac: Some(mac),
            loopback: false,
            parent,
            kind: parent.map(|_| "macvlan".to_string()),
        }
    }

    #[test]
    fn a_mac_collides_only_on_the_link_it_would_share() {
        let vip = Mac(0x02, 0x4f, 192, 0, 2, 50);
        let nic = Mac(0x02, 0, 0, 0, 0, 1);
        // eth0 (2) and eth1 (3); another resource's macvlan on eth1 has the MAC.
        let links = [link(2, None, nic), link(3, None, Mac(0x02, 0, 0, 0, 0, 2)), link(9, Some(3), vip)];
        assert_eq!(holders_on_link(&links, vip, 2), 0, "eth1's link is another wire");
        assert_eq!(holders_on_link(&links, vip, 3), 1, "on eth1's link it is taken");
        assert_eq!(holders_on_link(&links, nic, 2), 1, "the NIC's own MAC is taken on its link");
    }

    #[test]
    fn every_interface_index_has_a_table_past_the_reserved_ones() {
        assert_eq!(table_of(3), 4_100_000_003);
        for ifindex in [1, 1 << 20, u32::MAX - TABLE_BASE - 1, u32::MAX - TABLE_BASE, u32::MAX] {
            assert!(table_of(ifindex) >= TABLE_BASE, "{ifindex}");
        }
    }
}
