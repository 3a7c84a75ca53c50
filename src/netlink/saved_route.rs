//! Routes kept byte for byte, so that `preferred_source` can put back
//! exactly what it changed: the kernel's own message, minus the run-time
//! attributes (cache information, expiry) that a request may not carry.

use super::route::{route_entry, route_ip};
use super::{NetlinkError, NlResult, RTPROT_KERNEL};
use rtnetlink::packet_core::{Emitable, Parseable};
use rtnetlink::packet_route::route::{RouteAddress, RouteAttribute, RouteMessage};
use std::net::IpAddr;

/// One route as the kernel reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SavedRoute {
    message: RouteMessage,
}

impl SavedRoute {
    pub(super) fn new(mut message: RouteMessage) -> SavedRoute {
        message.attributes.retain(|attr| {
            !matches!(
                attr,
                RouteAttribute::CacheInfo(_)
                    | RouteAttribute::Expires(_)
                    | RouteAttribute::MulticastExpires(_)
            )
        });
        SavedRoute { message }
    }

    pub(super) fn message(&self) -> &RouteMessage {
        &self.message
    }

    /// The same route with `source` as its preferred source (none: let the
    /// kernel choose).
    pub fn with_preferred_source(&self, source: Option<IpAddr>) -> SavedRoute {
        let mut message = self.message.clone();
        let attrs = &mut message.attributes;
        let at = attrs.iter().position(|attr| matches!(attr, RouteAttribute::PrefSource(_)));
        // In place, so the message differs from the kernel's in that one value.
        match (at, source) {
            (Some(at), Some(ip)) => attrs[at] = RouteAttribute::PrefSource(RouteAddress::from(ip)),
            (Some(at), None) => {
                attrs.remove(at);
            }
            (None, Some(ip)) => attrs.push(RouteAttribute::PrefSource(RouteAddress::from(ip))),
            (None, None) => {}
        }
        SavedRoute { message }
    }

    pub fn preferred_source(&self) -> Option<IpAddr> {
        self.message.attributes.iter().find_map(|attr| match attr {
            RouteAttribute::PrefSource(src) => route_ip(src),
            _ => None,
        })
    }

    /// Whether `other` is the same route (table, destination, metric,
    /// interface), whatever its preferred source.
    pub fn same_route(&self, other: &SavedRoute) -> bool {
        let key = |route: &SavedRoute| {
            let entry = route_entry(&route.message);
            (entry.table, entry.destination, entry.prefix, entry.metric, entry.oif, entry.kind)
        };
        key(self) == key(other)
    }

    /// Whether the kernel added this route for an address (`proto kernel`).
    pub fn is_kernels(&self) -> bool {
        route_entry(&self.message).protocol == RTPROT_KERNEL
    }

    /// The routing table the route is in.
    pub fn table(&self) -> u32 {
        route_entry(&self.message).table
    }

    /// The interface the route leaves by.
    pub fn oif(&self) -> Option<u32> {
        route_entry(&self.message).oif
    }

    /// The destination network.
    pub fn network(&self) -> Option<ipnetwork::IpNetwork> {
        let entry = route_entry(&self.message);
        ipnetwork::IpNetwork::new(entry.destination?, entry.prefix).ok()
    }

    /// `DEST/PREFIX`, for log lines.
    pub fn describe(&self) -> String {
        let entry = route_entry(&self.message);
        let destination = entry.destination.map(|d| d.to_string()).unwrap_or_else(|| "default".into());
        format!("{destination}/{} (table {})", entry.prefix, entry.table)
    }

    /// The message as hexadecimal text, for a run-time file.
    pub fn encode(&self) -> String {
        let mut bytes = vec![0u8; self.message.buffer_len()];
        self.message.emit(&mut bytes);
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The route `encode` wrote.
    pub fn decode(text: &str) -> NlResult<SavedRoute> {
        let text = text.trim();
        let invalid = || NetlinkError::Transport(format!("not a saved route: {text:.40}"));
        if text.len() % 2 != 0 || !text.is_ascii() {
            return Err(invalid());
        }
        let bytes = (0..text.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&text[i..i + 2], 16))
            .collect::<Result<Vec<u8>, _>>()
            .map_err(|_| invalid())?;
        let message = RouteMessage::parse(bytes.as_slice()).map_err(|_| invalid())?;
        Ok(SavedRoute::new(message))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtnetlink::packet_route::AddressFamily;
    use rtnetlink::packet_route::route::RouteCacheInfo;

    fn subnet_route() -> RouteMessage {
        let mut message = RouteMessage::default();
        message.header.address_family = AddressFamily::Inet;
        message.header.destination_prefix_length = 24;
        message.attributes = vec![
            RouteAttribute::Table(254),
            RouteAttribute::Destination(RouteAddress::from("192.0.2.0".parse::<IpAddr>().unwrap())),
            RouteAttribute::PrefSource(RouteAddress::from("192.0.2.1".parse::<IpAddr>().unwrap())),
            RouteAttribute::Oif(2),
            RouteAttribute::CacheInfo(RouteCacheInfo::parse(&[0u8; 32]).expect("a zeroed cache info")),
        ];
        message
    }

    #[test]
    fn routes_survive_encoding_without_their_cache_info() {
        let saved = SavedRoute::new(subnet_route());
        assert!(!saved.message.attributes.iter().any(|a| matches!(a, RouteAttribute::CacheInfo(_))));
        let decoded = SavedRoute::decode(&saved.encode()).unwrap();
        assert_eq!(decoded, saved);
        assert_eq!(decoded.preferred_source(), Some("192.0.2.1".parse().unwrap()));
        assert!(SavedRoute::decode("0g").is_err());
        assert!(SavedRoute::decode("abc").is_err());
    }

    #[test]
    fn changing_the_source_keeps_the_route_itself() {
        let saved = SavedRoute::new(subnet_route());
        let vip: IpAddr = "192.0.2.50".parse().unwrap();
        let changed = saved.with_preferred_source(Some(vip));
        assert_eq!(changed.preferred_source(), Some(vip));
        assert!(changed.same_route(&saved));
        assert_eq!(changed.with_preferred_source(Some("192.0.2.1".parse().unwrap())), saved);
        assert_eq!(saved.with_preferred_source(None).preferred_source(), None);
    }
}
