//! Addresses and IPv6 address-selection labels.

use super::{IpFamily, Netlink, NlResult};
use rtnetlink::packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressMessage, AddressProtocol, AddressScope, CacheInfo,
};
use rtnetlink::packet_route::addrlabel::{AddrLabelAttribute, AddrLabelMessage};
use std::net::{IpAddr, Ipv4Addr};

/// One address as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressEntry {
    pub ip: IpAddr,
    pub prefix: u8,
    pub ifindex: u32,
    pub label: Option<String>,
    pub broadcast: Option<Ipv4Addr>,
    pub flags: AddressFlags,
    /// Who added it (IFA_PROTO, Linux 5.18+): `None` when untagged.
    pub protocol: Option<u8>,
    /// When the kernel created it (IFA_CACHEINFO's `cstamp`, hundredths of
    /// a second since boot): `ip addr change` and `replace` keep it, a
    /// delete and re-add gives a new one. The one witness of an address's
    /// identity that survives a change sent without IFA_PROTO.
    pub created: Option<u32>,
    /// The lifetimes left, in seconds (`u32::MAX` is forever).
    pub lifetimes: Option<Lifetimes>,
    /// The metric of its subnet route (IFA_RT_PRIORITY), when set.
    pub metric: Option<u32>,
}

/// An address's preferred and valid lifetimes left, in seconds, as
/// IFA_CACHEINFO carries them (`u32::MAX` is forever).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    pub preferred: u32,
    pub valid: u32,
}

impl AddressEntry {
    pub fn is_tentative(&self) -> bool {
        self.flags.contains(AddressFlags::Tentative) && !self.is_dad_failed()
    }

    pub fn is_dad_failed(&self) -> bool {
        self.flags.contains(AddressFlags::Dadfailed)
    }

    pub fn is_secondary(&self) -> bool {
        self.flags.contains(AddressFlags::Secondary)
    }
}

/// An address to add, with every attribute IPaddr2 can set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAddress {
    pub ip: IpAddr,
    pub prefix: u8,
    pub ifindex: u32,
    pub broadcast: Option<Ipv4Addr>,
    pub label: Option<String>,
    pub nodad: bool,
    pub noprefixroute: bool,
    /// IPv6 preferred lifetime in seconds; `None` is forever.
    pub preferred_lft: Option<u32>,
    /// The metric of the subnet route added with the address (IFA_RT_PRIORITY).
    pub metric: Option<u32>,
    /// The address-protocol tag (IFA_PROTO) saying who added it.
    pub protocol: Option<u8>,
}

impl Netlink {
    /// The addresses of one family on one interface. The kernel filters the
    /// dump by interface, so other interfaces' addresses cost nothing.
    pub fn addresses(&self, ifindex: u32, family: IpFamily) -> NlResult<Vec<AddressEntry>> {
        let mut request = AddressMessage::default();
        request.header.family = family.address_family();
        request.header.index = ifindex;
        let replies = self.exchange(RouteNetlinkMessage::GetAddress(request), NLM_F_DUMP)?;
        Ok(replies
            .into_iter()
            .filter_map(|reply| match reply {
                RouteNetlinkMessage::NewAddress(msg) if msg.header.index == ifindex => address_entry(msg),
                _ => None,
            })
            .collect())
    }

    /// The interfaces that hold `ip`, any prefix: a dump of every
    /// interface's addresses of its family, for the rare question that is
    /// about the whole node (whose connections a reset would reach).
    pub fn interfaces_holding(&self, ip: IpAddr) -> NlResult<Vec<u32>> {
        let mut request = AddressMessage::default();
        request.header.family = IpFamily::of(ip).address_family();
        let replies = self.exchange(RouteNetlinkMessage::GetAddress(request), NLM_F_DUMP)?;
        let mut holders: Vec<u32> = replies
            .into_iter()
            .filter_map(|reply| match reply {
                RouteNetlinkMessage::NewAddress(msg) => address_entry(msg),
                _ => None,
            })
            .filter(|entry| entry.ip == ip)
            .map(|entry| entry.ifindex)
            .collect();
        holders.dedup();
        Ok(holders)
    }

    /// Adds an address; fails with EEXIST if that exact address is there.
    pub fn add_address(&self, new: &NewAddress) -> NlResult<()> {
        let mut request =
            address_message(new.ip, new.prefix, new.ifindex, new.broadcast, new.label.as_deref());
        let attrs = &mut request.attributes;
        let mut flags = AddressFlags::empty();
        flags.set(AddressFlags::Nodad, new.nodad);
        flags.set(AddressFlags::Noprefixroute, new.noprefixroute);
        if !flags.is_empty() {
            attrs.push(AddressAttribute::Flags(flags));
        }
        if let Some(metric) = new.metric {
            attrs.push(AddressAttribute::RoutePriority(metric));
        }
        if let Some(protocol) = new.protocol {
            attrs.push(AddressAttribute::Protocol(AddressProtocol::from(protocol)));
        }
        if let Some(preferred) = new.preferred_lft {
            let mut info = CacheInfo::default();
            info.ifa_preferred = preferred;
            info.ifa_valid = u32::MAX;
            attrs.push(AddressAttribute::CacheInfo(info));
        }
        self.exchange(RouteNetlinkMessage::NewAddress(request), NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
            .map(drop)
    }

    /// Sets the address-protocol tag of `entry` in place (an RTM_NEWADDR
    /// with NLM_F_REPLACE), carrying what the kernel would otherwise reset
    /// on a replace: its lifetimes left, its metric and, for IPv6, the
    /// flags a replace sets (an admin's `preferred_lft 0` stays). The
    /// kernel keeps the address's creation time. IPv4's replace creates an
    /// address that is gone, so the caller re-reads it first.
    pub fn retag_address(&self, entry: &AddressEntry, protocol: u8) -> NlResult<()> {
        let mut request =
            address_message(entry.ip, entry.prefix, entry.ifindex, entry.broadcast, entry.label.as_deref());
        let attrs = &mut request.attributes;
        if entry.ip.is_ipv6() {
            attrs.push(AddressAttribute::Flags(entry.flags & replaced_ipv6_flags()));
        }
        if let Some(metric) = entry.metric {
            attrs.push(AddressAttribute::RoutePriority(metric));
        }
        attrs.push(AddressAttribute::Protocol(AddressProtocol::from(protocol)));
        if let Some(lifetimes) = entry.lifetimes {
            let mut info = CacheInfo::default();
            info.ifa_preferred = lifetimes.preferred;
            info.ifa_valid = lifetimes.valid;
            attrs.push(AddressAttribute::CacheInfo(info));
        }
        self.exchange(RouteNetlinkMessage::NewAddress(request), NLM_F_ACK | NLM_F_REPLACE).map(drop)
    }

    /// Deletes exactly `ip/prefix` on `ifindex`: the kernel matches the
    /// address, the prefix length and the interface, nothing broader.
    pub fn delete_address(&self, ip: IpAddr, prefix: u8, ifindex: u32) -> NlResult<()> {
        let mut request = AddressMessage::default();
        request.header.family = IpFamily::of(ip).address_family();
        request.header.prefix_len = prefix;
        request.header.index = ifindex;
        request.attributes.push(AddressAttribute::Local(ip));
        request.attributes.push(AddressAttribute::Address(ip));
        // Over the plain socket: one request and its acknowledgement need no
        // runtime, and stop, which resets the VIP's connections right before
        // this, must not give their peers the time to build one and
        // reconnect to this node.
        self.read_in_place(RouteNetlinkMessage::DelAddress(request), NLM_F_ACK, |_, _| Ok(()))
    }

    /// Adds an IPv6 address-selection label for one address
    /// (`ip addrlabel add prefix IP/128 label VALUE`).
    pub fn add_address_label(&self, ip: IpAddr, value: u32) -> NlResult<()> {
        let request = address_label_message(ip, value);
        self.exchange(RouteNetlinkMessage::NewAddrLabel(request), NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
            .map(drop)
    }

    /// The label an IPv6 address-selection entry for exactly `ip/128`
    /// carries, if there is one (`ip addrlabel list`: a few entries).
    pub fn address_label(&self, ip: IpAddr) -> NlResult<Option<u32>> {
        let mut request = AddrLabelMessage::default();
        request.header.family = IpFamily::of(ip).address_family();
        let replies = self.exchange(RouteNetlinkMessage::GetAddrLabel(request), NLM_F_DUMP)?;
        Ok(replies.into_iter().find_map(|reply| {
            let RouteNetlinkMessage::NewAddrLabel(entry) = reply else { return None };
            if entry.header.prefix_len != IpFamily::of(ip).host_prefix() {
                return None;
            }
            let address = entry.attributes.iter().find_map(|a| match a {
                AddrLabelAttribute::Address(address) => Some(*address),
                _ => None,
            });
            let label = entry.attributes.iter().find_map(|a| match a {
                AddrLabelAttribute::Label(label) => Some(*label),
                _ => None,
            });
            (address == Some(ip)).then_some(label).flatten()
        }))
    }

    /// Deletes that label (`ip addrlabel del prefix IP/128 label VALUE`).
    pub fn delete_address_label(&self, ip: IpAddr, value: u32) -> NlResult<()> {
        let request = address_label_message(ip, value);
        self.exchange(RouteNetlinkMessage::DelAddrLabel(request), NLM_F_ACK).map(drop)
    }
}

fn address_label_message(ip: IpAddr, value: u32) -> AddrLabelMessage {
    let mut request = AddrLabelMessage::default();
    request.header.family = IpFamily::of(ip).address_family();
    request.header.prefix_len = IpFamily::of(ip).host_prefix();
    request.attributes.push(AddrLabelAttribute::Address(ip));
    request.attributes.push(AddrLabelAttribute::Label(value));
    request
}

/// The request for `ip/prefix` on `ifindex` with its broadcast and label,
/// which adding an address and putting back its tag both send.
fn address_message(
    ip: IpAddr,
    prefix: u8,
    ifindex: u32,
    broadcast: Option<Ipv4Addr>,
    label: Option<&str>,
) -> AddressMessage {
    let mut request = AddressMessage::default();
    request.header.family = IpFamily::of(ip).address_family();
    request.header.prefix_len = prefix;
    request.header.index = ifindex;
    request.header.scope = default_scope(ip);
    let attrs = &mut request.attributes;
    attrs.push(AddressAttribute::Local(ip));
    attrs.push(AddressAttribute::Address(ip));
    if let Some(broadcast) = broadcast {
        attrs.push(AddressAttribute::Broadcast(broadcast));
    }
    if let Some(label) = label {
        attrs.push(AddressAttribute::Label(label.to_string()));
    }
    request
}

/// The IPv6 flags a replace sets from the request (the kernel's
/// inet6_addr_modify): sent as they are, so that the replace keeps them.
fn replaced_ipv6_flags() -> AddressFlags {
    AddressFlags::Nodad
        | AddressFlags::Homeaddress
        | AddressFlags::Managetempaddr
        | AddressFlags::Noprefixroute
}

/// iproute2's default scope: host for 127/8, universe otherwise (the kernel
/// computes IPv6 scopes itself).
fn default_scope(ip: IpAddr) -> AddressScope {
    match ip {
        IpAddr::V4(v4) if v4.is_loopback() => AddressScope::Host,
        _ => AddressScope::Universe,
    }
}

pub(super) fn address_entry(msg: AddressMessage) -> Option<AddressEntry> {
    let mut local = None;
    let mut address = None;
    let mut label = None;
    let mut broadcast = None;
    let mut flags = AddressFlags::from_bits_retain(u32::from(msg.header.flags.bits()));
    let mut protocol = None;
    let mut cache = None;
    let mut metric = None;
    for attr in msg.attributes {
        match attr {
            AddressAttribute::Local(ip) => local = Some(ip),
            AddressAttribute::Address(ip) => address = Some(ip),
            AddressAttribute::Label(l) => label = Some(l),
            AddressAttribute::Broadcast(b) => broadcast = Some(b),
            AddressAttribute::Flags(f) => flags = f,
            AddressAttribute::Protocol(p) => protocol = Some(u8::from(p)).filter(|p| *p != 0),
            AddressAttribute::CacheInfo(info) => cache = Some(info),
            AddressAttribute::RoutePriority(m) => metric = Some(m),
            _ => {}
        }
    }
    Some(AddressEntry {
        // IFA_LOCAL is the interface's own address; IFA_ADDRESS is the peer
        // on point-to-point links and the same address elsewhere.
        ip: local.or(address)?,
        prefix: msg.header.prefix_len,
        ifindex: msg.header.index,
        label,
        broadcast,
        flags,
        protocol,
        created: cache.map(|info| info.cstamp),
        lifetimes: cache.map(|info| Lifetimes {
            // A permanent IPv4 address reports both lifetimes as forever,
            // even after `preferred_lft 0`: its deprecated flag says it.
            preferred: if flags.contains(AddressFlags::Deprecated) { 0 } else { info.ifa_preferred },
            valid: info.ifa_valid,
        }),
        metric,
    })
}
