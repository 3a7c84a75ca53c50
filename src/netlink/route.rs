//! Routes: dumps filtered by the kernel, the one lookup that says which
//! interface holds an address, and whole routes put back or removed.

use super::in_place::undecodable;
use super::{IpFamily, Netlink, NlResult, SavedRoute, TABLE_LOCAL, TABLE_MAIN, libc_errno};
use rtnetlink::packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_REPLACE, Parseable};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteScope, RouteType,
};
use std::net::IpAddr;

const RTM_NEWROUTE: u16 = 24;

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
    /// The next hop, when it is one gateway (not a multipath route's).
    pub gateway: Option<IpAddr>,
}

/// What a route dump asks the kernel for: one family and one table,
/// optionally only one protocol's routes or one interface's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RouteFilter {
    pub family: IpFamily,
    pub table: u32,
    pub protocol: Option<u8>,
    pub oif: Option<u32>,
}

impl RouteFilter {
    /// The main table's routes of `family`.
    pub fn main(family: IpFamily) -> RouteFilter {
        RouteFilter { family, table: TABLE_MAIN, protocol: None, oif: None }
    }

    /// The local table's routes of `family`.
    pub fn local(family: IpFamily) -> RouteFilter {
        RouteFilter { table: TABLE_LOCAL, ..RouteFilter::main(family) }
    }

    /// Only the routes of `protocol`, when given.
    pub fn of_protocol(self, protocol: Option<u8>) -> RouteFilter {
        RouteFilter { protocol, ..self }
    }

    /// Only the routes leaving by `oif`, when given.
    pub fn leaving_by(self, oif: Option<u32>) -> RouteFilter {
        RouteFilter { oif, ..self }
    }

    fn request(&self) -> RouteMessage {
        let mut request = RouteMessage::default();
        request.header.address_family = self.family.address_family();
        request.header.table = u8::try_from(self.table).unwrap_or(0);
        request.attributes.push(RouteAttribute::Table(self.table));
        if let Some(protocol) = self.protocol {
            request.header.protocol = protocol.into();
        }
        if let Some(oif) = self.oif {
            request.attributes.push(RouteAttribute::Oif(oif));
        }
        request
    }

    /// Whether `route` passes the filter (the kernel filters too, but not
    /// every kernel applies every field).
    fn passes(&self, route: &RouteEntry) -> bool {
        route.table == self.table
            && self.protocol.is_none_or(|p| route.protocol == p)
            && self.oif.is_none_or(|o| route.oif == Some(o))
    }
}

impl Netlink {
    /// The routes `filter` asks for; the kernel applies the filter.
    /// Read in place over the plain socket: a monitor that checks routes
    /// builds no runtime.
    pub fn routes(&self, filter: &RouteFilter) -> NlResult<Vec<RouteEntry>> {
        let mut routes = Vec::new();
        self.read_in_place(RouteNetlinkMessage::GetRoute(filter.request()), NLM_F_DUMP, |kind, payload| {
            if kind == RTM_NEWROUTE {
                let route = route_entry(&RouteMessage::parse(payload).map_err(undecodable)?);
                if filter.passes(&route) {
                    routes.push(route);
                }
            }
            Ok(())
        })?;
        Ok(routes)
    }

    /// The interface that holds `ip` as a local address, if any: one lookup
    /// of the address's own entry in the local table (`ip route get
    /// fibmatch`), whatever the number of addresses on the host.
    pub fn local_address_holder(&self, ip: IpAddr) -> NlResult<Option<u32>> {
        let mut request = RouteMessage::default();
        request.header.address_family = IpFamily::of(ip).address_family();
        let host_prefix = IpFamily::of(ip).host_prefix();
        request.header.destination_prefix_length = host_prefix;
        request.header.flags = RouteFlags::FibMatch;
        request.attributes.push(RouteAttribute::Destination(RouteAddress::from(ip)));
        let mut holder = None;
        // Over the plain socket: stop ends with this lookup, and a probe of
        // a stopped VIP makes it; neither needs the runtime.
        let asked = self.read_in_place(RouteNetlinkMessage::GetRoute(request), 0, |kind, payload| {
            if kind == RTM_NEWROUTE {
                let route = route_entry(&RouteMessage::parse(payload).map_err(undecodable)?);
                if route.kind == RouteType::Local
                    && route.destination == Some(ip)
                    && route.prefix == host_prefix
                {
                    holder = route.oif;
                }
            }
            Ok(())
        });
        match asked {
            Ok(()) => Ok(holder),
            // The lookup passed the local table (the first rule) without a
            // match and ended at no route, or at an unreachable, prohibit or
            // blackhole route covering the address: not local.
            Err(err)
                if matches!(
                    err.errno(),
                    Some(
                        libc_errno::ENETUNREACH
                            | libc_errno::EHOSTUNREACH
                            | libc_errno::EACCES
                            | libc_errno::EINVAL
                    )
                ) =>
            {
                Ok(None)
            }
            Err(err) => Err(err),
        }
    }

    /// The routes of `table` to exactly `network`, on any interface.
    pub fn routes_to(&self, network: ipnetwork::IpNetwork, table: u32) -> NlResult<Vec<RouteEntry>> {
        let filter = RouteFilter { table, ..RouteFilter::main(IpFamily::of(network.ip())) };
        let routes = self.routes(&filter)?;
        Ok(routes
            .into_iter()
            .filter(|route| route.destination == Some(network.ip()) && route.prefix == network.prefix())
            .collect())
    }

    /// The unicast routes of the main table on `ifindex` whose destination
    /// lies inside `subnet`, as the kernel reports them.
    pub fn subnet_routes(&self, ifindex: u32, subnet: ipnetwork::IpNetwork) -> NlResult<Vec<SavedRoute>> {
        let mut request = RouteMessage::default();
        request.header.address_family = IpFamily::of(subnet.ip()).address_family();
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
}

pub(super) fn route_entry(msg: &RouteMessage) -> RouteEntry {
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
        gateway: None,
    };
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Destination(dst) => route.destination = route_ip(dst),
            RouteAttribute::Oif(oif) => route.oif = Some(*oif),
            RouteAttribute::Table(table) => route.table = *table,
            RouteAttribute::Priority(metric) => route.metric = Some(*metric),
            RouteAttribute::PrefSource(src) => route.preferred_source = route_ip(src),
            RouteAttribute::Gateway(gateway) => {
                route.has_gateway = true;
                route.gateway = route_ip(gateway);
            }
            RouteAttribute::Via(_) | RouteAttribute::MultiPath(_) => route.has_gateway = true,
            _ => {}
        }
    }
    route
}

pub(super) fn route_ip(address: &RouteAddress) -> Option<IpAddr> {
    match address {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}
