//! Source routing for a VIP on an interface of its own (`virtual_mac`): a
//! rule "from VIP lookup TABLE" and that table's routes through the
//! interface, so that what the VIP sends leaves with the VIP's MAC instead
//! of by the parent's route, with the parent's MAC.

use super::in_place::undecodable;
use super::{IpFamily, Netlink, NlResult, libc_errno};
use rtnetlink::packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE, Parseable};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use rtnetlink::packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use std::net::IpAddr;

/// One route of a VIP's own table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TableRoute {
    /// `None`: the default route.
    pub destination: Option<ipnetwork::IpNetwork>,
    /// `None`: the destination is on the link.
    pub gateway: Option<IpAddr>,
}

/// The rule that sends what `source` emits to `table`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SourceRule {
    pub source: IpAddr,
    pub table: u32,
    pub priority: u32,
}

impl Netlink {
    /// Adds (or replaces) `route` in `table`, through `oif`, from `source`.
    /// An IPv4 gateway is taken as on the link (`onlink`): it sits on the
    /// parent's network, which the interface shares.
    pub fn put_table_route(&self, table: u32, oif: u32, source: IpAddr, route: TableRoute) -> NlResult<()> {
        let request = table_route_message(table, oif, source, route);
        let flags = NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
        self.exchange(RouteNetlinkMessage::NewRoute(request), flags).map(drop)
    }

    /// Deletes `route` from `table`; one already gone is not an error.
    pub fn delete_table_route(
        &self,
        table: u32,
        oif: u32,
        source: IpAddr,
        route: TableRoute,
    ) -> NlResult<()> {
        let request = table_route_message(table, oif, source, route);
        match self.exchange(RouteNetlinkMessage::DelRoute(request), NLM_F_ACK) {
            Err(err) if matches!(err.errno(), Some(libc_errno::ESRCH | libc_errno::ENOENT)) => Ok(()),
            done => done.map(drop),
        }
    }

    /// Adds `rule`; one already there is kept.
    pub fn add_source_rule(&self, rule: SourceRule) -> NlResult<()> {
        let flags = NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        match self.exchange(RouteNetlinkMessage::NewRule(rule_message(rule)), flags) {
            Err(err) if err.errno() == Some(libc_errno::EEXIST) => Ok(()),
            done => done.map(drop),
        }
    }

    /// Whether `rule` is among the kernel's rules of its family, read in
    /// place over the plain socket (a monitor builds no runtime). A node
    /// holds a few rules, and one per virtual_mac VIP.
    pub fn has_source_rule(&self, rule: SourceRule) -> NlResult<bool> {
        let mut request = RuleMessage::default();
        request.header.family = IpFamily::of(rule.source).address_family();
        let mut found = false;
        self.read_in_place(RouteNetlinkMessage::GetRule(request), NLM_F_DUMP, |kind, payload| {
            if kind == RTM_NEWRULE && !found {
                let message = RuleMessage::parse(payload).map_err(undecodable)?;
                found = is_rule(&message, rule);
            }
            Ok(())
        })?;
        Ok(found)
    }

    /// Deletes `rule`; one already gone is not an error.
    pub fn delete_source_rule(&self, rule: SourceRule) -> NlResult<()> {
        match self.exchange(RouteNetlinkMessage::DelRule(rule_message(rule)), NLM_F_ACK) {
            Err(err) if err.errno() == Some(libc_errno::ENOENT) => Ok(()),
            done => done.map(drop),
        }
    }
}

/// The message for `route` in `table`, through `oif`, from `source`.
fn table_route_message(table: u32, oif: u32, source: IpAddr, route: TableRoute) -> RouteMessage {
    let family = IpFamily::of(source);
    let mut request = RouteMessage::default();
    request.header.address_family = family.address_family();
    request.header.table = u8::try_from(table).unwrap_or(0);
    request.header.protocol = RouteProtocol::Static;
    request.header.kind = RouteType::Unicast;
    request.header.scope = if route.gateway.is_some() { RouteScope::Universe } else { RouteScope::Link };
    request.attributes.push(RouteAttribute::Table(table));
    if let Some(network) = route.destination {
        request.header.destination_prefix_length = network.prefix();
        request.attributes.push(RouteAttribute::Destination(RouteAddress::from(network.network())));
    }
    if let Some(gateway) = route.gateway {
        // IPv6 refuses `onlink` for a gateway its table can reach ("device
        // mismatch"); the table's copy of the parent's subnet route, put
        // first, makes the gateway reachable there.
        if family == IpFamily::V4 {
            request.header.flags = RouteFlags::Onlink;
        }
        request.attributes.push(RouteAttribute::Gateway(RouteAddress::from(gateway)));
    }
    request.attributes.push(RouteAttribute::Oif(oif));
    request.attributes.push(RouteAttribute::PrefSource(RouteAddress::from(source)));
    request
}

const RTM_NEWRULE: u16 = 32;

/// Whether the kernel's `message` is `rule`: from exactly its source, to
/// its table, at its priority.
fn is_rule(message: &RuleMessage, rule: SourceRule) -> bool {
    let attributes = &message.attributes;
    let table = attributes
        .iter()
        .find_map(|a| match a {
            RuleAttribute::Table(table) => Some(*table),
            _ => None,
        })
        .unwrap_or(u32::from(message.header.table));
    message.header.src_len == IpFamily::of(rule.source).host_prefix()
        && message.header.action == RuleAction::ToTable
        && table == rule.table
        && attributes.contains(&RuleAttribute::Source(rule.source))
        && attributes.contains(&RuleAttribute::Priority(rule.priority))
}

fn rule_message(rule: SourceRule) -> RuleMessage {
    let family = IpFamily::of(rule.source);
    let mut message = RuleMessage::default();
    message.header.family = family.address_family();
    message.header.src_len = family.host_prefix();
    message.header.table = u8::try_from(rule.table).unwrap_or(0);
    message.header.action = RuleAction::ToTable;
    message.attributes = vec![
        RuleAttribute::Source(rule.source),
        RuleAttribute::Table(rule.table),
        RuleAttribute::Priority(rule.priority),
    ];
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rule_is_known_by_source_table_and_priority() {
        let rule =
            SourceRule { source: "192.0.2.50".parse().unwrap(), table: 4_100_000_007, priority: 32700 };
        assert!(is_rule(&rule_message(rule), rule));
        for other in [
            SourceRule { source: "192.0.2.51".parse().unwrap(), ..rule },
            SourceRule { table: 4_100_000_008, ..rule },
            SourceRule { priority: 32701, ..rule },
        ] {
            assert!(!is_rule(&rule_message(other), rule), "{other:?}");
        }
        let mut wider = rule_message(rule);
        wider.header.src_len = 24;
        assert!(!is_rule(&wider, rule), "a rule for the subnet is not the VIP's");
    }
}
