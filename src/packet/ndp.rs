//! IPv6 neighbor discovery frames (RFC 4861): the Neighbor Solicitation of
//! a duplicate-address probe (RFC 4862 section 5.4) and the unsolicited
//! Neighbor Advertisement that announces a moved address, plus parsing with
//! the validity checks of RFC 4861 section 7.1 (hop limit 255, code 0,
//! correct checksum).

use super::{ETHERTYPE_IPV6, Mac};
use pnet_packet::Packet;
use pnet_packet::ethernet::{EtherType, EthernetPacket, MutableEthernetPacket};
use pnet_packet::icmpv6::ndp::{
    MutableNeighborAdvertPacket, MutableNeighborSolicitPacket, NdpOption, NdpOptionTypes, NeighborAdvertFlags,
};
use pnet_packet::icmpv6::{self, Icmpv6Packet, Icmpv6Types, MutableIcmpv6Packet};
use pnet_packet::ip::IpNextHeaderProtocols;
use pnet_packet::ipv6::{Ipv6Packet, MutableIpv6Packet};
use std::net::Ipv6Addr;

const NEIGHBOR_SOLICITATION: u8 = 135;
const NEIGHBOR_ADVERTISEMENT: u8 = 136;
const OPTION_SOURCE_LL: u8 = 1;
const OPTION_TARGET_LL: u8 = 2;
/// Ethernet and IPv6 headers: where the ICMPv6 message starts.
const ICMP_AT: usize = 14 + 40;
/// Hop limit 255 proves the sender is on-link (RFC 4861 section 7.1).
const ON_LINK_HOP_LIMIT: u8 = 255;

/// The all-nodes multicast address, where unsolicited advertisements go.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);

pub const SOLICITATION_LEN: usize = ICMP_AT + 24;
/// A solicitation that carries the source link-layer option.
pub const ASKING_SOLICITATION_LEN: usize = ICMP_AT + 24 + 8;
pub const ADVERTISEMENT_LEN: usize = ICMP_AT + 24 + 8;

/// Which neighbor discovery message a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NdpKind {
    Solicitation,
    Advertisement { solicited: bool, override_flag: bool },
}

/// The fields of one NS or NA that matter to the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NdpMessage {
    pub kind: NdpKind,
    pub eth_source: Mac,
    pub source: Ipv6Addr,
    pub destination: Ipv6Addr,
    pub target: Ipv6Addr,
    /// The source or target link-layer address option, if present.
    pub link_layer: Option<Mac>,
}

/// The solicited-node multicast group of `ip` (RFC 4291 section 2.7.1).
pub fn solicited_node(ip: Ipv6Addr) -> Ipv6Addr {
    let o = ip.octets();
    Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00 | u16::from(o[13]), u16::from_be_bytes([o[14], o[15]]))
}

/// The Ethernet address of an IPv6 multicast group (RFC 2464 section 7).
pub fn multicast_mac(group: Ipv6Addr) -> Mac {
    let o = group.octets();
    Mac::new(0x33, 0x33, o[12], o[13], o[14], o[15])
}

/// Writes the Ethernet and IPv6 headers of a frame whose ICMPv6 message
/// fills the rest of `buf`.
fn write_headers(buf: &mut [u8], our_mac: Mac, source: Ipv6Addr, destination: Ipv6Addr) {
    let icmp_len = buf.len() - ICMP_AT;
    // Proven invariant: every buffer here is SOLICITATION_LEN or
    // ADVERTISEMENT_LEN long, which holds both headers.
    let mut eth = MutableEthernetPacket::new(buf).expect("frame buffer holds an Ethernet header");
    eth.set_destination(multicast_mac(destination));
    eth.set_source(our_mac);
    eth.set_ethertype(EtherType(ETHERTYPE_IPV6));
    let mut ip = MutableIpv6Packet::new(&mut buf[14..]).expect("frame buffer holds an IPv6 header");
    ip.set_version(6);
    ip.set_payload_length(icmp_len as u16);
    ip.set_next_header(IpNextHeaderProtocols::Icmpv6);
    ip.set_hop_limit(ON_LINK_HOP_LIMIT);
    ip.set_source(source);
    ip.set_destination(destination);
}

/// Fills in the ICMPv6 checksum over the pseudo-header and the message.
fn write_checksum(buf: &mut [u8], source: Ipv6Addr, destination: Ipv6Addr) {
    // Proven invariant: the message follows the headers write_headers wrote.
    let checksum = icmpv6::checksum(
        &Icmpv6Packet::new(&buf[ICMP_AT..]).expect("an ICMPv6 message"),
        &source,
        &destination,
    );
    MutableIcmpv6Packet::new(&mut buf[ICMP_AT..]).expect("an ICMPv6 message").set_checksum(checksum);
}

/// A duplicate-address probe: NS for `target` from the unspecified address
/// to its solicited-node group, without a source link-layer option.
pub fn dad_solicitation(our_mac: Mac, target: Ipv6Addr) -> [u8; SOLICITATION_LEN] {
    let mut buf = [0u8; SOLICITATION_LEN];
    let destination = solicited_node(target);
    write_headers(&mut buf, our_mac, Ipv6Addr::UNSPECIFIED, destination);
    {
        // Proven invariant: 24 bytes follow the headers.
        let mut ns = MutableNeighborSolicitPacket::new(&mut buf[ICMP_AT..]).expect("room for an NS");
        ns.set_icmpv6_type(Icmpv6Types::NeighborSolicit);
        ns.set_target_addr(target);
    }
    write_checksum(&mut buf, Ipv6Addr::UNSPECIFIED, destination);
    buf
}

/// A Neighbor Solicitation for `target` from `source`, with the source
/// link-layer option: the target answers `source` at `our_mac`, and
/// updates its own entry for `source` to `our_mac` on the way (RFC 4861
/// section 7.2.3), which an unsolicited NA may not do where it is dropped.
pub fn solicitation(our_mac: Mac, source: Ipv6Addr, target: Ipv6Addr) -> [u8; ASKING_SOLICITATION_LEN] {
    let mut buf = [0u8; ASKING_SOLICITATION_LEN];
    let destination = solicited_node(target);
    write_headers(&mut buf, our_mac, source, destination);
    {
        // Proven invariant: 32 bytes follow the headers, room for the option.
        let mut ns = MutableNeighborSolicitPacket::new(&mut buf[ICMP_AT..]).expect("room for an NS");
        ns.set_icmpv6_type(Icmpv6Types::NeighborSolicit);
        ns.set_target_addr(target);
        ns.set_options(&[NdpOption {
            option_type: NdpOptionTypes::SourceLLAddr,
            length: 1,
            data: our_mac.octets().to_vec(),
        }]);
    }
    write_checksum(&mut buf, source, destination);
    buf
}

/// An unsolicited NA: sent from the VIP itself to all nodes, Override set,
/// with the target link-layer option, so every neighbor cache that knows
/// the VIP switches to `our_mac` (RFC 4861 section 7.2.6).
pub fn unsolicited_advertisement(our_mac: Mac, vip: Ipv6Addr) -> [u8; ADVERTISEMENT_LEN] {
    let mut buf = [0u8; ADVERTISEMENT_LEN];
    write_headers(&mut buf, our_mac, vip, ALL_NODES);
    {
        // Proven invariant: 32 bytes follow the headers, room for the option.
        let mut na = MutableNeighborAdvertPacket::new(&mut buf[ICMP_AT..]).expect("room for an NA");
        na.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
        na.set_flags(NeighborAdvertFlags::Override);
        na.set_target_addr(vip);
        na.set_options(&[NdpOption {
            option_type: NdpOptionTypes::TargetLLAddr,
            length: 1,
            data: our_mac.octets().to_vec(),
        }]);
    }
    write_checksum(&mut buf, vip, ALL_NODES);
    buf
}

/// A solicited NA from `source` (the answer a neighbour gives `destination`).
#[cfg(test)]
pub fn solicited_advertisement(
    their_mac: Mac,
    source: Ipv6Addr,
    destination: Ipv6Addr,
) -> [u8; ADVERTISEMENT_LEN] {
    let mut buf = [0u8; ADVERTISEMENT_LEN];
    write_headers(&mut buf, their_mac, source, destination);
    {
        let mut na = MutableNeighborAdvertPacket::new(&mut buf[ICMP_AT..]).expect("room for an NA");
        na.set_icmpv6_type(Icmpv6Types::NeighborAdvert);
        na.set_flags(NeighborAdvertFlags::Solicited | NeighborAdvertFlags::Override);
        na.set_target_addr(source);
        na.set_options(&[NdpOption {
            option_type: NdpOptionTypes::TargetLLAddr,
            length: 1,
            data: their_mac.octets().to_vec(),
        }]);
    }
    write_checksum(&mut buf, source, destination);
    buf
}

/// Parses an Ethernet frame as a valid NS or NA; anything else is `None`.
pub fn parse(frame: &[u8]) -> Option<NdpMessage> {
    let eth = EthernetPacket::new(frame)?;
    if eth.get_ethertype() != EtherType(ETHERTYPE_IPV6) {
        return None;
    }
    let ip = Ipv6Packet::new(eth.payload())?;
    let payload_len = usize::from(ip.get_payload_length());
    let on_link = ip.get_hop_limit() == ON_LINK_HOP_LIMIT;
    if ip.get_version() != 6 || ip.get_next_header() != IpNextHeaderProtocols::Icmpv6 || !on_link {
        return None;
    }
    let body = eth.payload().get(40..40 + payload_len)?;
    if body.len() < 24 || body[1] != 0 {
        return None;
    }
    let (source, destination) = (ip.get_source(), ip.get_destination());
    let icmp = Icmpv6Packet::new(body)?;
    if icmpv6::checksum(&icmp, &source, &destination) != u16::from_be_bytes([body[2], body[3]]) {
        return None;
    }
    let kind = match body[0] {
        NEIGHBOR_SOLICITATION => NdpKind::Solicitation,
        NEIGHBOR_ADVERTISEMENT => NdpKind::Advertisement {
            solicited: body[4] & NeighborAdvertFlags::Solicited != 0,
            override_flag: body[4] & NeighborAdvertFlags::Override != 0,
        },
        _ => return None,
    };
    let target = Ipv6Addr::from(<[u8; 16]>::try_from(&body[8..24]).ok()?);
    Some(NdpMessage {
        kind,
        eth_source: eth.get_source(),
        source,
        destination,
        target,
        link_layer: link_layer_option(&body[24..])?,
    })
}

/// Walks the options; a zero-length option makes the message invalid
/// (`None`), a message without a link-layer option gives `Some(None)`.
fn link_layer_option(mut options: &[u8]) -> Option<Option<Mac>> {
    let mut found = None;
    while options.len() >= 2 {
        let len = usize::from(options[1]) * 8;
        if len == 0 || len > options.len() {
            return None;
        }
        if matches!(options[0], OPTION_SOURCE_LL | OPTION_TARGET_LL) && len >= 8 {
            found = <[u8; 6]>::try_from(&options[2..8]).ok().map(Mac::from);
        }
        options = &options[len..];
    }
    Some(found)
}

/// Whether `message`, seen while probing for `ip`, says another host uses
/// or wants it: an advertisement for `ip`, or another host's DAD probe.
pub fn claims(message: &NdpMessage, ip: Ipv6Addr) -> bool {
    message.target == ip
        && match message.kind {
            NdpKind::Advertisement { .. } => true,
            NdpKind::Solicitation => message.source.is_unspecified(),
        }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: Mac = Mac(0x02, 0x11, 0x22, 0x33, 0x44, 0x55);

    fn vip() -> Ipv6Addr {
        "2001:db8::50".parse().unwrap()
    }

    #[test]
    fn solicited_node_group_and_its_mac() {
        let ip: Ipv6Addr = "2001:db8::1:2345:6789".parse().unwrap();
        assert_eq!(solicited_node(ip), "ff02::1:ff45:6789".parse::<Ipv6Addr>().unwrap());
        assert_eq!(multicast_mac(solicited_node(ip)), [0x33, 0x33, 0xff, 0x45, 0x67, 0x89]);
        assert_eq!(multicast_mac(ALL_NODES), [0x33, 0x33, 0, 0, 0, 1]);
    }

    #[test]
    fn advertisement_is_sent_from_the_vip_with_override_and_target_option() {
        let frame = unsolicited_advertisement(MAC, vip());
        assert_eq!(&frame[0..6], &[0x33, 0x33, 0, 0, 0, 1]);
        assert_eq!(&frame[6..12], &MAC.octets());
        assert_eq!(frame[14 + 7], 255, "hop limit");
        assert_eq!(frame[54], 136);
        assert_eq!(frame[58], 0x20, "only Override set: not a router, not solicited");
        let parsed = parse(&frame).expect("valid NA");
        assert_eq!(parsed.source, vip());
        assert_eq!(parsed.destination, ALL_NODES);
        assert_eq!(parsed.target, vip());
        assert_eq!(parsed.link_layer, Some(MAC));
        assert_eq!(parsed.kind, NdpKind::Advertisement { solicited: false, override_flag: true });
    }

    #[test]
    fn dad_probe_is_from_the_unspecified_address_without_options() {
        let frame = dad_solicitation(MAC, vip());
        let parsed = parse(&frame).expect("valid NS");
        assert_eq!(parsed.kind, NdpKind::Solicitation);
        assert!(parsed.source.is_unspecified());
        assert_eq!(parsed.destination, solicited_node(vip()));
        assert_eq!(parsed.link_layer, None);
        assert_eq!(&frame[0..6], &multicast_mac(solicited_node(vip())).octets());
    }

    #[test]
    fn a_solicitation_from_the_vip_names_it_and_its_mac() {
        let gateway: Ipv6Addr = "fe80::1".parse().unwrap();
        let frame = solicitation(MAC, vip(), gateway);
        let parsed = parse(&frame).expect("valid NS");
        assert_eq!(parsed.kind, NdpKind::Solicitation);
        assert_eq!(parsed.source, vip());
        assert_eq!(parsed.destination, solicited_node(gateway));
        assert_eq!(parsed.target, gateway);
        assert_eq!(parsed.link_layer, Some(MAC), "the gateway learns the VIP's MAC from the option");
        assert_eq!(&frame[0..6], &multicast_mac(solicited_node(gateway)).octets());
        assert!(!claims(&parsed, gateway), "not a duplicate-address probe");
    }

    #[test]
    fn checksum_matches_an_independent_computation() {
        // RFC 1071 over the pseudo-header (RFC 8200 section 8.1) and body.
        let frame = unsolicited_advertisement(MAC, vip());
        let body = &frame[54..];
        let mut sum: u32 = 0;
        let mut add = |bytes: &[u8]| {
            for pair in bytes.chunks(2) {
                sum += u32::from(u16::from_be_bytes([pair[0], *pair.get(1).unwrap_or(&0)]));
            }
        };
        add(&vip().octets());
        add(&ALL_NODES.octets());
        add(&(body.len() as u32).to_be_bytes());
        add(&[0, 0, 0, 58]);
        add(body);
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        assert_eq!(sum, 0xffff, "a correct checksum makes the one's complement sum all ones");
    }

    #[test]
    fn invalid_frames_are_rejected() {
        let good = unsolicited_advertisement(MAC, vip());
        for len in 0..good.len() {
            assert_eq!(parse(&good[..len]), None, "truncated to {len}");
        }
        let mut hop = good;
        hop[21] = 64;
        assert_eq!(parse(&hop), None, "hop limit must be 255");
        let mut checksum = good;
        checksum[57] ^= 1;
        assert_eq!(parse(&checksum), None, "bad checksum");
        let mut zero_option = good;
        zero_option[79] = 0;
        assert_eq!(parse(&zero_option), None, "zero-length option");
    }

    #[test]
    fn claims_are_advertisements_or_dad_probes_for_the_address() {
        let other = Mac(2, 0, 0, 0, 0, 9);
        assert!(claims(&parse(&unsolicited_advertisement(other, vip())).unwrap(), vip()));
        assert!(claims(&parse(&dad_solicitation(other, vip())).unwrap(), vip()));
        let elsewhere: Ipv6Addr = "2001:db8::51".parse().unwrap();
        assert!(!claims(&parse(&dad_solicitation(other, elsewhere)).unwrap(), vip()));
    }
}
