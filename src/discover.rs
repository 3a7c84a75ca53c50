//! Interface discovery, the equivalent of IPaddr2's findif: which NIC and
//! prefix an address belongs on, from the routing table. It only reads.
//!
//! Choice rule (deterministic, logged at debug level): among the main
//! table's unicast routes that cover the address (IPv4: link-scope routes
//! only, as findif), excluding default routes and the host route the
//! kernel adds for the address itself, take the most specific prefix, then
//! the lowest metric, then the lowest interface index.

use crate::error::{AgentResult, Doing};
use crate::netlink::{IpFamily, Netlink, RTPROT_KERNEL, RouteEntry, RouteFilter};
use crate::ocf::log;
use crate::params::Params;
use ipnetwork::IpNetwork;
use rtnetlink::packet_route::route::{RouteScope, RouteType};
use std::cmp::Reverse;
use std::net::IpAddr;

/// The route chosen for an address: the NIC and the prefix it implies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch {
    pub ifindex: u32,
    pub prefix: u8,
    pub metric: Option<u32>,
    pub preferred_source: Option<IpAddr>,
}

/// Whether `route` is a candidate for `ip`, as findif's `ip route list
/// match` filters them.
pub fn covers(route: &RouteEntry, ip: IpAddr, wanted_prefix: Option<u8>) -> bool {
    let Some(destination) = route.destination else { return false };
    let Ok(network) = IpNetwork::new(destination, route.prefix) else { return false };
    let host = if ip.is_ipv4() { 32 } else { 128 };
    let is_own_host_route = route.prefix == host && destination == ip && route.protocol == RTPROT_KERNEL;
    route.kind == RouteType::Unicast
        && route.prefix > 0
        && route.oif.is_some()
        && !is_own_host_route
        && (ip.is_ipv6() || route.scope == RouteScope::Link)
        && network.contains(ip)
        && wanted_prefix.is_none_or(|len| route.prefix <= len)
}

/// Picks the best of the covering routes (see the module comment).
pub fn choose(routes: &[RouteEntry], ip: IpAddr, wanted_prefix: Option<u8>) -> Option<&RouteEntry> {
    routes
        .iter()
        .filter(|r| covers(r, ip, wanted_prefix))
        .min_by_key(|r| (Reverse(r.prefix), r.metric.unwrap_or(0), r.oif))
}

fn describe(route: &RouteEntry) -> String {
    format!(
        "{}/{} dev#{} metric {} proto {}",
        route.destination.map(|d| d.to_string()).unwrap_or_default(),
        route.prefix,
        route.oif.unwrap_or(0),
        route.metric.unwrap_or(0),
        route.protocol
    )
}

/// Finds the route for the VIP, on `only_ifindex` if given.
pub fn find_route(
    nl: &Netlink,
    params: &Params,
    only_ifindex: Option<u32>,
) -> AgentResult<Option<RouteMatch>> {
    let routes = nl
        .routes(&RouteFilter::main(params.family()).of_protocol(params.proto).leaving_by(only_ifindex))
        .doing(|| format!("reading the routing table to find the network of {}", params.ip))?;
    let candidates: Vec<String> =
        routes.iter().filter(|r| covers(r, params.ip, params.prefix)).map(describe).collect();
    if let Some(best) = choose(&routes, params.ip, params.prefix) {
        if candidates.len() > 1 {
            log::debug(format!(
                "{} routes cover {}: {}; chose {} (longest prefix, then lowest metric, then lowest ifindex)",
                candidates.len(),
                params.ip,
                candidates.join(", "),
                describe(best)
            ));
        } else {
            log::debug(format!("route {} covers {}", describe(best), params.ip));
        }
        return Ok(Some(RouteMatch {
            ifindex: best.oif.unwrap_or_default(),
            prefix: best.prefix,
            metric: best.metric,
            preferred_source: best.preferred_source,
        }));
    }
    loopback_network(nl, params, only_ifindex)
}

/// findif's fallback for 127/8 addresses: the loopback network in the local table.
fn loopback_network(
    nl: &Netlink,
    params: &Params,
    only_ifindex: Option<u32>,
) -> AgentResult<Option<RouteMatch>> {
    if !params.ip.is_loopback() || !params.is_ipv4() {
        return Ok(None);
    }
    let routes = nl
        .routes(&RouteFilter::local(IpFamily::V4).leaving_by(only_ifindex))
        .doing(|| "reading the local routing table".to_string())?;
    let found = routes.iter().find(|r| {
        r.kind == RouteType::Local
            && r.scope == RouteScope::Host
            && r.prefix < 32
            && r.destination
                .and_then(|d| IpNetwork::new(d, r.prefix).ok())
                .is_some_and(|net| net.contains(params.ip))
    });
    Ok(found.map(|r| RouteMatch {
        ifindex: r.oif.unwrap_or_default(),
        prefix: r.prefix,
        metric: None,
        preferred_source: r.preferred_source,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn route(dst: &str, prefix: u8, oif: u32, metric: Option<u32>, scope: RouteScope) -> RouteEntry {
        RouteEntry {
            destination: Some(dst.parse().unwrap()),
            prefix,
            oif: Some(oif),
            kind: RouteType::Unicast,
            scope,
            protocol: RTPROT_KERNEL,
            table: crate::netlink::TABLE_MAIN,
            metric,
            preferred_source: None,
            has_gateway: false,
            gateway: None,
        }
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn most_specific_prefix_wins_over_metric() {
        let routes = [
            route("10.0.0.0", 16, 2, Some(0), RouteScope::Link),
            route("10.0.1.0", 24, 3, Some(100), RouteScope::Link),
        ];
        assert_eq!(choose(&routes, ip("10.0.1.5"), None).unwrap().oif, Some(3));
        assert_eq!(choose(&routes, ip("10.0.2.5"), None).unwrap().oif, Some(2));
    }

    #[test]
    fn same_prefix_on_two_nics_is_decided_by_metric_then_ifindex() {
        let by_metric = [
            route("10.0.0.0", 24, 2, Some(200), RouteScope::Link),
            route("10.0.0.0", 24, 5, Some(100), RouteScope::Link),
        ];
        assert_eq!(choose(&by_metric, ip("10.0.0.5"), None).unwrap().oif, Some(5));
        let tie = [
            route("10.0.0.0", 24, 7, None, RouteScope::Link),
            route("10.0.0.0", 24, 4, None, RouteScope::Link),
        ];
        assert_eq!(choose(&tie, ip("10.0.0.5"), None).unwrap().oif, Some(4));
        let reversed = [tie[1].clone(), tie[0].clone()];
        assert_eq!(choose(&reversed, ip("10.0.0.5"), None).unwrap().oif, Some(4));
    }

    #[test]
    fn default_gateway_and_universe_scope_routes_do_not_count_for_ipv4() {
        let routes = [
            route("0.0.0.0", 0, 2, None, RouteScope::Universe),
            route("10.0.0.0", 24, 3, None, RouteScope::Universe),
        ];
        assert!(choose(&routes, ip("10.0.0.5"), None).is_none());
    }

    #[test]
    fn the_addresses_own_host_route_is_ignored_but_other_host_routes_count() {
        let own = route("2001:db8::5", 128, 9, Some(256), RouteScope::Universe);
        let net = route("2001:db8::", 64, 2, Some(256), RouteScope::Universe);
        let routes = [own.clone(), net];
        assert_eq!(choose(&routes, ip("2001:db8::5"), None).unwrap().prefix, 64);
        let mut static_host = own;
        static_host.protocol = 4;
        assert_eq!(choose(&[static_host], ip("2001:db8::5"), None).unwrap().prefix, 128);
    }

    #[test]
    fn a_given_prefix_excludes_more_specific_routes() {
        let routes = [
            route("10.0.0.0", 16, 2, None, RouteScope::Link),
            route("10.0.1.0", 24, 3, None, RouteScope::Link),
        ];
        assert_eq!(choose(&routes, ip("10.0.1.5"), Some(20)).unwrap().oif, Some(2));
        assert!(choose(&routes, ip("10.0.1.5"), Some(8)).is_none());
    }

    #[test]
    fn unreachable_and_blackhole_routes_are_skipped() {
        let mut blackhole = route("10.0.0.0", 24, 2, None, RouteScope::Link);
        blackhole.kind = RouteType::BlackHole;
        assert!(choose(&[blackhole], ip("10.0.0.5"), None).is_none());
    }
}
