//! Where the VIP should live (its `Target`) and where it actually is (its
//! `State`), read from the kernel. Start, stop and monitor all begin here,
//! so they always agree on what "running" means.

use crate::discover::{self, RouteMatch};
use crate::error::{AgentError, AgentResult, Doing};
use crate::netlink::{AddressEntry, LinkEntry, Netlink};
use crate::params::{BroadcastSpec, Params, values};
use std::net::{IpAddr, Ipv4Addr};

/// The loopback interface has index 1 in every network namespace.
const LOOPBACK_IFINDEX: u32 = 1;

/// Where the VIP belongs: interface, prefix and the attributes to set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub ifindex: u32,
    pub nic: String,
    pub prefix: Option<u8>,
    /// The full kernel label (`eth0:web`), IPv4 only.
    pub label: Option<String>,
    pub broadcast: Option<Ipv4Addr>,
    /// The IPv6 prefix-route metric of the route discovery chose.
    pub metric: Option<u32>,
    /// The link as read during the lookup, when it was read by name.
    pub link: Option<LinkEntry>,
}

impl Target {
    /// The label the VIP should carry but `entry` lacks, if any.
    pub fn missing_label(&self, entry: &AddressEntry) -> Option<&str> {
        self.label.as_deref().filter(|label| entry.label.as_deref() != Some(*label))
    }
}

/// What the kernel shows for the VIP relative to its target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// On the target NIC with the target prefix.
    Configured(AddressEntry),
    /// Nowhere on this node (or only on lo, kept there by LVS support).
    Absent,
    /// On the target NIC, but with another prefix length.
    WrongPrefix(AddressEntry),
    /// Not on the target NIC but on another one.
    Elsewhere { nic: String },
}

/// The outcome of looking for the VIP.
#[derive(Debug)]
pub enum Lookup {
    /// The configured nic does not exist on this node.
    NicMissing(String),
    /// No nic given and no route on this node tells where the VIP belongs.
    NoNetwork,
    Found {
        target: Target,
        state: State,
    },
}

/// What the caller needs when the VIP is absent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Only the state (monitor, stop): no route discovery for a prefix.
    StateOnly,
    /// A complete target to add the address to (start, validate-all).
    FullTarget,
}

/// Looks for the VIP and resolves its target. Reads only.
pub fn lookup(nl: &Netlink, params: &Params, need: Need) -> AgentResult<Lookup> {
    let ip = params.ip;
    let mut route: Option<RouteMatch> = None;
    let mut link = None;
    // Which interface holds the VIP: asked at most once per lookup.
    let mut held_by: Option<Option<u32>> = None;
    let ifindex = match &params.nic {
        Some(name) => match nl.link_by_name(name).doing(|| format!("looking up nic {name}"))? {
            Some(found) => {
                let index = found.ifindex;
                link = Some(found);
                index
            }
            None => return Ok(Lookup::NicMissing(name.clone())),
        },
        None => match *held_by.insert(holder(nl, params)?) {
            Some(index) => index,
            None => match discover::find_route(nl, params, None)? {
                Some(found) => {
                    let index = found.ifindex;
                    route = Some(found);
                    index
                }
                None => return Ok(Lookup::NoNetwork),
            },
        },
    };
    let nic = match (&params.nic, &link) {
        (Some(name), _) => name.clone(),
        _ => discover::ifname_of(ifindex),
    };
    let on_nic =
        nl.addresses(ifindex, params.is_ipv4()).doing(|| format!("listing the addresses of {nic}"))?;
    let label = match &params.label_suffix {
        Some(suffix) => Some(values::full_label(&nic, suffix).map_err(AgentError::configured)?),
        None => None,
    };
    let mine: Vec<&AddressEntry> = on_nic.iter().filter(|a| a.ip == ip).collect();
    // A running VIP's prefix is read from the address itself, so a change
    // of routes can never make its monitor fail (resource-agents #2001).
    let present_prefix =
        mine.iter().find(|a| label.is_none() || a.label == label).or(mine.first()).map(|a| a.prefix);
    let prefix = match (params.prefix, present_prefix, need) {
        (Some(given), _, _) => Some(given),
        (None, Some(present), Need::StateOnly) => Some(present),
        (None, present, _) => {
            if route.is_none() {
                route = discover::find_route(nl, params, Some(ifindex))?;
            }
            route.as_ref().map(|r| r.prefix).or(present)
        }
    };
    // IPaddr2 runs its route lookup even when nic and netmask are given,
    // and takes the broadcast of the subnet's own address from it.
    let inherits_broadcast = ip.is_ipv4() && params.broadcast == BroadcastSpec::Inherit;
    if need == Need::FullTarget && route.is_none() && inherits_broadcast {
        route = discover::find_route(nl, params, Some(ifindex))?;
    }
    if prefix.is_none() && need == Need::FullTarget {
        return Ok(Lookup::NoNetwork);
    }

    let state = match mine.iter().find(|a| Some(a.prefix) == prefix) {
        Some(entry) => State::Configured((*entry).clone()),
        None => match mine.first() {
            Some(other) => State::WrongPrefix((*other).clone()),
            None => match held_by.map_or_else(|| holder(nl, params), Ok)? {
                Some(other) if other != ifindex => State::Elsewhere { nic: discover::ifname_of(other) },
                _ => State::Absent,
            },
        },
    };
    let broadcast = match (ip, prefix) {
        (IpAddr::V4(v4), Some(len)) => match params.broadcast {
            BroadcastSpec::Inherit => inherited_broadcast(&on_nic, route.as_ref()),
            spec => values::derived_broadcast(spec, v4, len),
        },
        _ => None,
    };
    let target = Target {
        ifindex,
        nic,
        prefix,
        label,
        broadcast,
        metric: route.as_ref().filter(|_| ip.is_ipv6()).and_then(|r| r.metric),
        link,
    };
    Ok(Lookup::Found { target, state })
}

/// Whether the target NIC has an address of its own (not the VIP) in the
/// VIP's subnet: the node's maintenance address, which keeps it reachable
/// whatever happens to the VIP.
pub fn has_maintenance_address(nl: &Netlink, params: &Params, target: &Target) -> AgentResult<bool> {
    let Some(prefix) = target.prefix else { return Ok(false) };
    let subnet =
        ipnetwork::IpNetwork::new(params.ip, prefix).map_err(|e| AgentError::generic(e.to_string()))?;
    let addresses = nl
        .addresses(target.ifindex, params.is_ipv4())
        .doing(|| format!("listing the addresses of {}", target.nic))?;
    Ok(addresses.iter().any(|a| a.ip != params.ip && subnet.contains(a.ip)))
}

/// The interface holding the VIP as a local address, leaving out lo when
/// LVS support parks the address there on purpose.
fn holder(nl: &Netlink, params: &Params) -> AgentResult<Option<u32>> {
    let found = nl
        .local_address_holder(params.ip)
        .doing(|| format!("looking up which interface holds {}", params.ip))?;
    Ok(found.filter(|index| !(params.lvs.support && *index == LOOPBACK_IFINDEX)))
}

/// IPaddr2 gives a VIP without an explicit broadcast the broadcast address
/// of the subnet's own address (the route's preferred source).
fn inherited_broadcast(on_nic: &[AddressEntry], route: Option<&RouteMatch>) -> Option<Ipv4Addr> {
    let source = route?.preferred_source?;
    on_nic.iter().find(|a| a.ip == source).and_then(|a| a.broadcast)
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
