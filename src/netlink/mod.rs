//! The only place that talks rtnetlink. It speaks in intentions (add this
//! address to that link, list the addresses of one link) and decides no
//! policy. Requests are synchronous from the caller's point of view: a
//! current-thread tokio runtime drives one connection with strict checking
//! on, so that dump requests are filtered by the kernel (by interface, by
//! family, by table) and their cost does not grow with unrelated objects.

mod saved_route;

pub use saved_route::SavedRoute;

use futures_util::StreamExt;
use rtnetlink::packet_core::{
    NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST, NetlinkMessage,
    NetlinkPayload,
};
use rtnetlink::packet_route::address::{
    AddressAttribute, AddressFlags, AddressMessage, AddressScope, CacheInfo,
};
use rtnetlink::packet_route::addrlabel::{AddrLabelAttribute, AddrLabelMessage};
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, State};
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteScope, RouteType,
};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use std::io;
use std::net::{IpAddr, Ipv4Addr};

/// The main routing table (`ip route` without `table`).
pub const TABLE_MAIN: u32 = 254;
/// The local table, where the kernel keeps one route per local address.
pub const TABLE_LOCAL: u32 = 255;
/// The protocol of the routes the kernel adds for addresses.
pub const RTPROT_KERNEL: u8 = 2;

/// A failed netlink exchange: the kernel's errno, or a transport problem.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("{0}")]
    Kernel(io::Error),
    #[error("netlink transport: {0}")]
    Transport(String),
}

impl NetlinkError {
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetlinkError::Kernel(err) => err.raw_os_error(),
            NetlinkError::Transport(_) => None,
        }
    }
}

pub type NlResult<T> = Result<T, NetlinkError>;

/// One address as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AddressEntry {
    pub ip: IpAddr,
    pub prefix: u8,
    pub ifindex: u32,
    pub label: Option<String>,
    pub broadcast: Option<Ipv4Addr>,
    pub flags: AddressFlags,
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

/// One route, reduced to what interface discovery looks at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEntry {
    pub destination: Option<IpAddr>,
    pub prefix: u8,
    pub oif: Option<u32>,
    pub kind: RouteType,
    pub scope: RouteScope,
    pub protocol: u8,
    pub table: u32,
    pub metric: Option<u32>,
    pub preferred_source: Option<IpAddr>,
    pub has_gateway: bool,
}

/// The link facts the agent needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEntry {
    pub ifindex: u32,
    pub name: String,
    pub admin_up: bool,
    pub oper_state: State,
    pub mac: Option<[u8; 6]>,
    pub loopback: bool,
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
}

/// An open rtnetlink connection and the runtime that drives it.
pub struct Netlink {
    runtime: tokio::runtime::Runtime,
    handle: rtnetlink::Handle,
}

fn family_of(ip: IpAddr) -> AddressFamily {
    if ip.is_ipv4() { AddressFamily::Inet } else { AddressFamily::Inet6 }
}

fn host_prefix(ip: IpAddr) -> u8 {
    if ip.is_ipv4() { 32 } else { 128 }
}

impl Netlink {
    /// Opens the connection in the current network namespace.
    pub fn open() -> io::Result<Netlink> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
        let handle = runtime.block_on(async {
            let (connection, handle, _) = rtnetlink::new_connection_with_strict_check()?;
            tokio::spawn(connection);
            Ok::<_, io::Error>(handle)
        })?;
        Ok(Netlink { runtime, handle })
    }

    /// Sends one request and collects the replies until the kernel is done.
    fn exchange(&self, message: RouteNetlinkMessage, flags: u16) -> NlResult<Vec<RouteNetlinkMessage>> {
        let mut request = NetlinkMessage::from(message);
        request.header.flags = NLM_F_REQUEST | flags;
        let mut handle = self.handle.clone();
        self.runtime.block_on(async move {
            let mut replies = handle.request(request).map_err(|e| NetlinkError::Transport(e.to_string()))?;
            let mut out = Vec::new();
            while let Some(reply) = replies.next().await {
                match reply.payload {
                    NetlinkPayload::InnerMessage(inner) => out.push(inner),
                    NetlinkPayload::Error(err) => {
                        if let Some(code) = err.code {
                            return Err(NetlinkError::Kernel(io::Error::from_raw_os_error(-code.get())));
                        }
                    }
                    _ => {}
                }
            }
            Ok(out)
        })
    }

    /// The addresses of one family on one interface. The kernel filters the
    /// dump by interface, so other interfaces' addresses cost nothing.
    pub fn addresses(&self, ifindex: u32, ipv4: bool) -> NlResult<Vec<AddressEntry>> {
        let mut request = AddressMessage::default();
        request.header.family = if ipv4 { AddressFamily::Inet } else { AddressFamily::Inet6 };
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

    /// The interface that holds `ip` as a local address, if any: one lookup
    /// of the address's own entry in the local table (`ip route get
    /// fibmatch`), whatever the number of addresses on the host.
    pub fn local_address_holder(&self, ip: IpAddr) -> NlResult<Option<u32>> {
        let mut request = RouteMessage::default();
        request.header.address_family = family_of(ip);
        request.header.destination_prefix_length = host_prefix(ip);
        request.header.flags = RouteFlags::FibMatch;
        request.attributes.push(RouteAttribute::Destination(RouteAddress::from(ip)));
        let replies = match self.exchange(RouteNetlinkMessage::GetRoute(request), 0) {
            Ok(replies) => replies,
            // No route at all (e.g. an empty namespace): certainly not local.
            Err(err) if matches!(err.errno(), Some(libc_errno::ENETUNREACH | libc_errno::EHOSTUNREACH)) => {
                return Ok(None);
            }
            Err(err) => return Err(err),
        };
        Ok(replies.into_iter().find_map(|reply| match reply {
            RouteNetlinkMessage::NewRoute(msg) => {
                let route = route_entry(&msg);
                (route.kind == RouteType::Local
                    && route.destination == Some(ip)
                    && route.prefix == host_prefix(ip))
                .then_some(route.oif)
                .flatten()
            }
            _ => None,
        }))
    }

    /// The routes of one family in one table, optionally only those of one
    /// protocol or one output interface; the kernel applies the filters.
    pub fn routes(
        &self,
        ipv4: bool,
        table: u32,
        protocol: Option<u8>,
        oif: Option<u32>,
    ) -> NlResult<Vec<RouteEntry>> {
        let mut request = RouteMessage::default();
        request.header.address_family = if ipv4 { AddressFamily::Inet } else { AddressFamily::Inet6 };
        request.header.table = u8::try_from(table).unwrap_or(0);
        request.attributes.push(RouteAttribute::Table(table));
        if let Some(protocol) = protocol {
            request.header.protocol = protocol.into();
        }
        if let Some(oif) = oif {
            request.attributes.push(RouteAttribute::Oif(oif));
        }
        let replies = self.exchange(RouteNetlinkMessage::GetRoute(request), NLM_F_DUMP)?;
        Ok(replies
            .into_iter()
            .filter_map(|reply| match reply {
                RouteNetlinkMessage::NewRoute(msg) => Some(route_entry(&msg)),
                _ => None,
            })
            .filter(|route| route.table == table)
            .filter(|route| protocol.is_none_or(|p| route.protocol == p))
            .filter(|route| oif.is_none_or(|o| route.oif == Some(o)))
            .collect())
    }

    /// The routes of `table` to exactly `network`, on any interface.
    pub fn routes_to(&self, network: ipnetwork::IpNetwork, table: u32) -> NlResult<Vec<RouteEntry>> {
        let routes = self.routes(network.is_ipv4(), table, None, None)?;
        Ok(routes
            .into_iter()
            .filter(|route| route.destination == Some(network.ip()) && route.prefix == network.prefix())
            .collect())
    }

    /// The unicast routes of the main table on `ifindex` whose destination
    /// lies inside `subnet`, as the kernel reports them.
    pub fn subnet_routes(&self, ifindex: u32, subnet: ipnetwork::IpNetwork) -> NlResult<Vec<SavedRoute>> {
        let mut request = RouteMessage::default();
        request.header.address_family = family_of(subnet.ip());
        request.header.table = u8::try_from(TABLE_MAIN).unwrap_or(0);
        request.attributes.push(RouteAttribute::Table(TABLE_MAIN));
        request.attributes.push(RouteAttribute::Oif(ifindex));
        let replies = self.exchange(RouteNetlinkMessage::GetRoute(request), NLM_F_DUMP)?;
        Ok(replies
            .into_iter()
            .filter_map(|reply| match reply {
                RouteNetlinkMessage::NewRoute(msg) => Some(msg),
                _ => None,
            })
            .filter(|msg| {
                let route = route_entry(msg);
                route.table == TABLE_MAIN
                    && route.oif == Some(ifindex)
                    && route.kind == RouteType::Unicast
                    && route.prefix >= subnet.prefix()
                    && route.destination.is_some_and(|dst| subnet.contains(dst))
            })
            .map(SavedRoute::new)
            .collect())
    }

    /// Deletes exactly `route` (table, destination, metric, interface).
    pub fn delete_route(&self, route: &SavedRoute) -> NlResult<()> {
        let request = route.message().clone();
        self.exchange(RouteNetlinkMessage::DelRoute(request), NLM_F_ACK).map(drop)
    }

    /// Puts `route` in place of the route with the same key, creating it
    /// if it is gone.
    pub fn replace_route(&self, route: &SavedRoute) -> NlResult<()> {
        let request = route.message().clone();
        self.exchange(RouteNetlinkMessage::NewRoute(request), NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE)
            .map(drop)
    }

    /// One link by index (a single request, not a dump).
    pub fn link(&self, ifindex: u32) -> NlResult<Option<LinkEntry>> {
        let mut request = LinkMessage::default();
        request.header.index = ifindex;
        self.get_link(request)
    }

    /// Sends one RTM_GETLINK (not a dump); a link that does not exist is `None`.
    fn get_link(&self, request: LinkMessage) -> NlResult<Option<LinkEntry>> {
        let replies = match self.exchange(RouteNetlinkMessage::GetLink(request), 0) {
            Ok(replies) => replies,
            Err(err) if err.errno() == Some(libc_errno::ENODEV) => return Ok(None),
            Err(err) => return Err(err),
        };
        Ok(replies.into_iter().find_map(|reply| match reply {
            RouteNetlinkMessage::NewLink(msg) => Some(link_entry(msg)),
            _ => None,
        }))
    }

    /// The MAC addresses of every link in this namespace: answers from them
    /// are this host's own.
    pub fn link_macs(&self) -> NlResult<Vec<[u8; 6]>> {
        let replies = self.exchange(RouteNetlinkMessage::GetLink(LinkMessage::default()), NLM_F_DUMP)?;
        Ok(replies
            .into_iter()
            .filter_map(|reply| match reply {
                RouteNetlinkMessage::NewLink(msg) => link_entry(msg).mac,
                _ => None,
            })
            .collect())
    }

    /// One link by name: its index and state in a single request, cheaper
    /// than an `if_nametoindex` ioctl followed by a lookup by index.
    pub fn link_by_name(&self, name: &str) -> NlResult<Option<LinkEntry>> {
        let mut request = LinkMessage::default();
        request.attributes.push(LinkAttribute::IfName(name.to_string()));
        self.get_link(request)
    }

    /// Sets the link administratively up, as IPaddr2 does after adding.
    pub fn set_link_up(&self, ifindex: u32) -> NlResult<()> {
        let mut request = LinkMessage::default();
        request.header.index = ifindex;
        request.header.flags = LinkFlags::Up;
        request.header.change_mask = LinkFlags::Up;
        self.exchange(RouteNetlinkMessage::SetLink(request), NLM_F_ACK).map(drop)
    }

    /// Adds an address; fails with EEXIST if that exact address is there.
    pub fn add_address(&self, new: &NewAddress) -> NlResult<()> {
        let mut request = AddressMessage::default();
        request.header.family = family_of(new.ip);
        request.header.prefix_len = new.prefix;
        request.header.index = new.ifindex;
        request.header.scope = default_scope(new.ip);
        let attrs = &mut request.attributes;
        attrs.push(AddressAttribute::Local(new.ip));
        attrs.push(AddressAttribute::Address(new.ip));
        if let Some(broadcast) = new.broadcast {
            attrs.push(AddressAttribute::Broadcast(broadcast));
        }
        if let Some(label) = &new.label {
            attrs.push(AddressAttribute::Label(label.clone()));
        }
        let mut flags = AddressFlags::empty();
        flags.set(AddressFlags::Nodad, new.nodad);
        flags.set(AddressFlags::Noprefixroute, new.noprefixroute);
        if !flags.is_empty() {
            attrs.push(AddressAttribute::Flags(flags));
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

    /// Deletes exactly `ip/prefix` on `ifindex`: the kernel matches the
    /// address, the prefix length and the interface, nothing broader.
    pub fn delete_address(&self, ip: IpAddr, prefix: u8, ifindex: u32) -> NlResult<()> {
        let mut request = AddressMessage::default();
        request.header.family = family_of(ip);
        request.header.prefix_len = prefix;
        request.header.index = ifindex;
        request.attributes.push(AddressAttribute::Local(ip));
        request.attributes.push(AddressAttribute::Address(ip));
        self.exchange(RouteNetlinkMessage::DelAddress(request), NLM_F_ACK).map(drop)
    }

    /// Adds an IPv6 address-selection label for one address
    /// (`ip addrlabel add prefix IP/128 label VALUE`).
    pub fn add_address_label(&self, ip: IpAddr, value: u32) -> NlResult<()> {
        let request = address_label_message(ip, value);
        self.exchange(RouteNetlinkMessage::NewAddrLabel(request), NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL)
            .map(drop)
    }

    /// Deletes that label (`ip addrlabel del prefix IP/128 label VALUE`).
    pub fn delete_address_label(&self, ip: IpAddr, value: u32) -> NlResult<()> {
        let request = address_label_message(ip, value);
        self.exchange(RouteNetlinkMessage::DelAddrLabel(request), NLM_F_ACK).map(drop)
    }
}

fn address_label_message(ip: IpAddr, value: u32) -> AddrLabelMessage {
    let mut request = AddrLabelMessage::default();
    request.header.family = family_of(ip);
    request.header.prefix_len = host_prefix(ip);
    request.attributes.push(AddrLabelAttribute::Address(ip));
    request.attributes.push(AddrLabelAttribute::Label(value));
    request
}

/// iproute2's default scope: host for 127/8, universe otherwise (the kernel
/// computes IPv6 scopes itself).
fn default_scope(ip: IpAddr) -> AddressScope {
    match ip {
        IpAddr::V4(v4) if v4.is_loopback() => AddressScope::Host,
        _ => AddressScope::Universe,
    }
}

fn address_entry(msg: AddressMessage) -> Option<AddressEntry> {
    let mut local = None;
    let mut address = None;
    let mut label = None;
    let mut broadcast = None;
    let mut flags = AddressFlags::from_bits_retain(u32::from(msg.header.flags.bits()));
    for attr in msg.attributes {
        match attr {
            AddressAttribute::Local(ip) => local = Some(ip),
            AddressAttribute::Address(ip) => address = Some(ip),
            AddressAttribute::Label(l) => label = Some(l),
            AddressAttribute::Broadcast(b) => broadcast = Some(b),
            AddressAttribute::Flags(f) => flags = f,
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
    })
}

fn route_entry(msg: &RouteMessage) -> RouteEntry {
    let mut route = RouteEntry {
        destination: None,
        prefix: msg.header.destination_prefix_length,
        oif: None,
        kind: msg.header.kind,
        scope: msg.header.scope,
        protocol: msg.header.protocol.into(),
        table: u32::from(msg.header.table),
        metric: None,
        preferred_source: None,
        has_gateway: false,
    };
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Destination(dst) => route.destination = route_ip(dst),
            RouteAttribute::Oif(oif) => route.oif = Some(*oif),
            RouteAttribute::Table(table) => route.table = *table,
            RouteAttribute::Priority(metric) => route.metric = Some(*metric),
            RouteAttribute::PrefSource(src) => route.preferred_source = route_ip(src),
            RouteAttribute::Gateway(_) | RouteAttribute::Via(_) | RouteAttribute::MultiPath(_) => {
                route.has_gateway = true
            }
            _ => {}
        }
    }
    route
}

fn route_ip(address: &RouteAddress) -> Option<IpAddr> {
    match address {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn link_entry(msg: LinkMessage) -> LinkEntry {
    let mut link = LinkEntry {
        ifindex: msg.header.index,
        name: String::new(),
        admin_up: msg.header.flags.contains(LinkFlags::Up),
        oper_state: State::Unknown,
        mac: None,
        loopback: msg.header.flags.contains(LinkFlags::Loopback),
    };
    for attr in msg.attributes {
        match attr {
            LinkAttribute::IfName(name) => link.name = name,
            LinkAttribute::OperState(state) => link.oper_state = state,
            LinkAttribute::Address(bytes) => link.mac = <[u8; 6]>::try_from(bytes.as_slice()).ok(),
            _ => {}
        }
    }
    link
}

/// The few errno values the agent tells apart.
pub mod libc_errno {
    pub const EEXIST: i32 = nix::errno::Errno::EEXIST as i32;
    pub const ENODEV: i32 = nix::errno::Errno::ENODEV as i32;
    pub const EADDRNOTAVAIL: i32 = nix::errno::Errno::EADDRNOTAVAIL as i32;
    pub const ENETUNREACH: i32 = nix::errno::Errno::ENETUNREACH as i32;
    pub const EHOSTUNREACH: i32 = nix::errno::Errno::EHOSTUNREACH as i32;
    pub const ESRCH: i32 = nix::errno::Errno::ESRCH as i32;
    pub const ENOENT: i32 = nix::errno::Errno::ENOENT as i32;
}
