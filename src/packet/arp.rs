//! ARP frames over Ethernet: RFC 5227 probes, gratuitous requests and
//! replies, and parsing of what comes back.

use super::{BROADCAST_MAC, ETHERTYPE_ARP, Mac, ZERO_MAC};
use pnet_packet::Packet;
use pnet_packet::arp::{ArpHardwareTypes, ArpOperation, ArpOperations, ArpPacket, MutableArpPacket};
use pnet_packet::ethernet::{EtherType, EthernetPacket, MutableEthernetPacket};
use std::net::Ipv4Addr;

/// Ethernet header plus an IPv4-over-Ethernet ARP body.
pub const FRAME_LEN: usize = 14 + 28;

/// The fields of one ARP message that matter to the agent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ArpMessage {
    pub is_reply: bool,
    pub sender_mac: Mac,
    pub sender_ip: Ipv4Addr,
    pub target_mac: Mac,
    pub target_ip: Ipv4Addr,
}

fn frame(eth_dst: Mac, message: &ArpMessage) -> [u8; FRAME_LEN] {
    let mut buf = [0u8; FRAME_LEN];
    {
        // Proven invariant: `buf` is exactly FRAME_LEN, which fits both headers.
        let mut eth = MutableEthernetPacket::new(&mut buf).expect("frame buffer holds an Ethernet header");
        eth.set_destination(eth_dst);
        eth.set_source(message.sender_mac);
        eth.set_ethertype(EtherType(ETHERTYPE_ARP));
    }
    // Proven invariant: the 28 bytes after the Ethernet header are the ARP body.
    let mut arp = MutableArpPacket::new(&mut buf[14..]).expect("frame buffer holds an ARP body");
    arp.set_hardware_type(ArpHardwareTypes::Ethernet);
    arp.set_protocol_type(EtherType(0x0800));
    arp.set_hw_addr_len(6);
    arp.set_proto_addr_len(4);
    arp.set_operation(if message.is_reply { ArpOperations::Reply } else { ArpOperations::Request });
    arp.set_sender_hw_addr(message.sender_mac);
    arp.set_sender_proto_addr(message.sender_ip);
    arp.set_target_hw_addr(message.target_mac);
    arp.set_target_proto_addr(message.target_ip);
    buf
}

/// An RFC 5227 probe: "who has `ip`?" from sender address 0.0.0.0, so that
/// no neighbor cache learns anything from it.
pub fn probe(our_mac: Mac, ip: Ipv4Addr) -> [u8; FRAME_LEN] {
    let message = ArpMessage {
        is_reply: false,
        sender_mac: our_mac,
        sender_ip: Ipv4Addr::UNSPECIFIED,
        target_mac: ZERO_MAC,
        target_ip: ip,
    };
    frame(BROADCAST_MAC, &message)
}

/// A gratuitous ARP request: "`ip` is at `our_mac`", broadcast. With
/// `target` set, it asks for that host instead (e.g. the gateway), which
/// makes devices that only learn from requests aimed at them update too.
pub fn gratuitous_request(our_mac: Mac, ip: Ipv4Addr, target: Option<Ipv4Addr>) -> [u8; FRAME_LEN] {
    let message = ArpMessage {
        is_reply: false,
        sender_mac: our_mac,
        sender_ip: ip,
        target_mac: ZERO_MAC,
        target_ip: target.unwrap_or(ip),
    };
    frame(BROADCAST_MAC, &message)
}

/// A gratuitous ARP reply, broadcast, for switches and firewalls that only
/// honour replies.
pub fn gratuitous_reply(our_mac: Mac, ip: Ipv4Addr) -> [u8; FRAME_LEN] {
    let message = ArpMessage {
        is_reply: true,
        sender_mac: our_mac,
        sender_ip: ip,
        target_mac: BROADCAST_MAC,
        target_ip: ip,
    };
    frame(BROADCAST_MAC, &message)
}

/// An ARP reply from `sender` at `sender_mac` to `target` at `target_mac`.
#[cfg(test)]
pub fn reply(sender_mac: Mac, sender_ip: Ipv4Addr, target_mac: Mac, target_ip: Ipv4Addr) -> [u8; FRAME_LEN] {
    frame(target_mac, &ArpMessage { is_reply: true, sender_mac, sender_ip, target_mac, target_ip })
}

/// Parses an Ethernet frame as IPv4-over-Ethernet ARP; anything else,
/// truncated or malformed, is `None`.
pub fn parse(frame: &[u8]) -> Option<ArpMessage> {
    let eth = EthernetPacket::new(frame)?;
    if eth.get_ethertype() != EtherType(ETHERTYPE_ARP) {
        return None;
    }
    let arp = ArpPacket::new(eth.payload())?;
    let well_formed = arp.get_hardware_type() == ArpHardwareTypes::Ethernet
        && arp.get_protocol_type() == EtherType(0x0800)
        && arp.get_hw_addr_len() == 6
        && arp.get_proto_addr_len() == 4;
    let op: ArpOperation = arp.get_operation();
    if !well_formed || !(op == ArpOperations::Request || op == ArpOperations::Reply) {
        return None;
    }
    Some(ArpMessage {
        is_reply: op == ArpOperations::Reply,
        sender_mac: arp.get_sender_hw_addr(),
        sender_ip: arp.get_sender_proto_addr(),
        target_mac: arp.get_target_hw_addr(),
        target_ip: arp.get_target_proto_addr(),
    })
}

/// Whether `message`, seen while probing for `ip`, says another host uses
/// or wants it (RFC 5227 section 2.1.1): any ARP whose sender address is
/// `ip`, or another host's probe for `ip`.
pub fn claims(message: &ArpMessage, ip: Ipv4Addr) -> bool {
    message.sender_ip == ip
        || (!message.is_reply && message.sender_ip.is_unspecified() && message.target_ip == ip)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: Mac = Mac(0x02, 0x11, 0x22, 0x33, 0x44, 0x55);
    const VIP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 50);

    #[test]
    fn probe_is_byte_exact_rfc5227() {
        let expected: [u8; FRAME_LEN] = [
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x08,
            0x06, // Ethernet
            0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01, // Ethernet/IPv4, request
            0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0, 0, 0, 0, // sender: our MAC, 0.0.0.0
            0, 0, 0, 0, 0, 0, 192, 0, 2, 50, // target: unknown MAC, the VIP
        ];
        assert_eq!(probe(MAC, VIP), expected);
    }

    #[test]
    fn gratuitous_request_and_reply_announce_the_vip() {
        let request = parse(&gratuitous_request(MAC, VIP, None)).unwrap();
        assert_eq!(
            (request.is_reply, request.sender_mac, request.sender_ip, request.target_ip),
            (false, MAC, VIP, VIP)
        );
        let reply = parse(&gratuitous_reply(MAC, VIP)).unwrap();
        assert_eq!(
            (reply.is_reply, reply.sender_mac, reply.sender_ip, reply.target_ip),
            (true, MAC, VIP, VIP)
        );
        let gateway = Ipv4Addr::new(192, 0, 2, 1);
        let aimed = parse(&gratuitous_request(MAC, VIP, Some(gateway))).unwrap();
        assert_eq!((aimed.sender_ip, aimed.target_ip), (VIP, gateway));
    }

    #[test]
    fn parse_round_trips_every_field() {
        let message = ArpMessage {
            is_reply: true,
            sender_mac: MAC,
            sender_ip: Ipv4Addr::new(10, 1, 2, 3),
            target_mac: Mac(9, 8, 7, 6, 5, 4),
            target_ip: Ipv4Addr::new(10, 4, 5, 6),
        };
        assert_eq!(parse(&frame(Mac(1, 2, 3, 4, 5, 6), &message)), Some(message));
    }

    #[test]
    fn truncated_and_foreign_frames_are_rejected() {
        let good = gratuitous_reply(MAC, VIP);
        for len in 0..FRAME_LEN {
            assert_eq!(parse(&good[..len]), None, "truncated to {len}");
        }
        let mut not_arp = good;
        not_arp[13] = 0x00;
        assert_eq!(parse(&not_arp), None);
        let mut bad_op = good;
        bad_op[21] = 9;
        assert_eq!(parse(&bad_op), None);
        let mut bad_len = good;
        bad_len[18] = 8;
        assert_eq!(parse(&bad_len), None);
    }

    #[test]
    fn claims_follow_rfc5227() {
        let other = Mac(2, 0, 0, 0, 0, 9);
        assert!(claims(&parse(&gratuitous_reply(other, VIP)).unwrap(), VIP));
        assert!(claims(&parse(&probe(other, VIP)).unwrap(), VIP));
        assert!(!claims(&parse(&probe(other, Ipv4Addr::new(192, 0, 2, 51))).unwrap(), VIP));
        let asks_for_vip = ArpMessage {
            is_reply: false,
            sender_mac: other,
            sender_ip: Ipv4Addr::new(192, 0, 2, 9),
            target_mac: ZERO_MAC,
            target_ip: VIP,
        };
        assert!(!claims(&asks_for_vip, VIP), "asking who has the VIP is not claiming it");
    }
}
