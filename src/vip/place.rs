//! Where a VIP is or belongs, as plain values: the interface (`Site`),
//! the place start puts the address (`Target`), where it is up (`Spot`),
//! where it was found (`Whereabouts`, `Foreign`) and what this node lacks
//! for it (`Lack`). No lookups here: `locate` finds them, every other step
//! takes them, and none of them needs the other to name a place.

use crate::netlink::{AddressEntry, LinkEntry};
use std::net::{IpAddr, Ipv4Addr};

/// What this node lacks for the VIP; each action answers it in its own way.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lack {
    /// The configured nic does not exist here.
    Nic(String),
    /// No route here says where the address belongs.
    Network(String),
    /// The configured network namespace does not exist here.
    Namespace(String),
    /// `ip` is a host name this node's /etc/hosts does not list.
    HostName(String),
}

impl Lack {
    pub fn reason(&self) -> &str {
        match self {
            Lack::Nic(reason) | Lack::Network(reason) | Lack::Namespace(reason) | Lack::HostName(reason) => {
                reason
            }
        }
    }
}

/// The interface an address belongs on, as the kernel names it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub ifindex: u32,
    pub nic: String,
    /// The link as read during the lookup; `None` when it no longer exists.
    pub link: Option<LinkEntry>,
}

/// Where start puts the address: interface, prefix and attributes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub site: Site,
    pub prefix: u8,
    /// The full kernel label (`eth0:web`), IPv4 only.
    pub label: Option<String>,
    pub broadcast: Option<Ipv4Addr>,
    /// The metric of the subnet route the kernel adds with the address.
    pub metric: Option<u32>,
}

impl Target {
    pub fn ifindex(&self) -> u32 {
        self.site.ifindex
    }

    pub fn nic(&self) -> &str {
        &self.site.nic
    }

    /// The label the VIP should carry but `entry` lacks, if any.
    pub fn missing_label(&self, entry: &AddressEntry) -> Option<&str> {
        self.label.as_deref().filter(|label| entry.label.as_deref() != Some(*label))
    }
}

/// A copy of the address somewhere this resource did not put it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    pub ifindex: u32,
    pub nic: String,
    /// Its prefix, when it sits on the resource's own interface with another one.
    pub prefix: Option<u8>,
    /// Where this resource puts the address: interface name and prefix, when known.
    pub wanted: Option<(String, Option<u8>)>,
    /// Why a copy at this resource's own place, with its prefix, is not
    /// this resource's (its label, its address-protocol tag).
    pub unlike: Option<String>,
    /// The resource whose record claims the copy, when one does: that
    /// resource answers for it, and this one's stop leaves it.
    pub claimed_by: Option<String>,
    /// For a copy on lo: why it answers for the VIP.
    pub answers: Option<String>,
}

impl Foreign {
    /// What an admin needs to know, for a reason line.
    pub fn describe(&self, ip: IpAddr) -> String {
        let hint = match &self.answers {
            Some(why) => format!(": {why}"),
            None if self.nic == "lo" && !ip.is_loopback() => {
                " (set lvs_support=true if this node is also an LVS real server)".to_string()
            }
            None => String::new(),
        };
        match (&self.wanted, self.prefix) {
            (_, Some(prefix)) if self.unlike.is_some() => format!(
                "{ip}/{prefix} is on {} {}: a copy this resource did not add",
                self.nic,
                self.unlike.as_deref().unwrap_or_default()
            ),
            (Some((_, Some(wanted))), Some(prefix)) => format!(
                "{ip}/{prefix} is on {}, where this resource puts it as /{wanted}: a copy this resource did not add",
                self.nic
            ),
            (Some((nic, _)), _) => format!(
                "{ip} is on {}, where this resource did not put it (it belongs on {nic}){hint}",
                self.nic
            ),
            (None, _) => format!("{ip} is on {}, where this resource did not put it{hint}", self.nic),
        }
    }
}

/// Where this resource's address is, relative to where it belongs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Whereabouts {
    /// Where this resource put it (its record), or without a record where
    /// the configuration puts it, with the prefix it should have.
    InPlace { site: Site, entry: AddressEntry },
    /// On no interface of this node (or its namespace).
    Absent,
    /// A copy this resource did not put there.
    Foreign(Foreign),
    /// Without a record, the configuration places the address nowhere on
    /// this node (its nic is missing, no route covers it), and no interface
    /// holds it.
    Unplaced(Lack),
}

/// Where start would put the address, from the configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Placement {
    Target(Target),
    /// Nowhere on this node: its nic is missing, or no route covers it.
    Unplaced(Lack),
}

/// Where the address is up: the interface and the prefix it has there.
#[derive(Debug, Clone, Copy)]
pub struct Spot<'s> {
    pub site: &'s Site,
    pub prefix: u8,
}

/// Why a link cannot carry the VIP, or `None` when it can. Follows IPaddr2's
/// check_link_status: administratively down, or operationally DOWN or
/// LOWERLAYERDOWN (no carrier).
pub fn link_problem(link: &LinkEntry) -> Option<String> {
    use rtnetlink::packet_route::link::State as Oper;
    if !link.admin_up {
        return Some(format!("nic {} is administratively down", link.name));
    }
    match link.oper_state {
        Oper::Down => Some(format!("nic {} is down (no carrier)", link.name)),
        Oper::LowerLayerDown => Some(format!("nic {} has no carrier (lower layer down)", link.name)),
        _ => None,
    }
}

/// The problem of `site`'s link, or that it is gone.
pub fn site_problem(site: &Site) -> Option<String> {
    match &site.link {
        Some(link) => link_problem(link),
        None => Some(format!("nic {} does not exist any more", site.nic)),
    }
}
