//! ICMP echo messages for the reachability check (OCF_CHECK_LEVEL 10):
//! requests as the agent hands them to a raw ICMP socket (the kernel adds
//! the IP header), and replies as such a socket returns them (IPv4 with
//! its IP header, ICMPv6 without).

use pnet_packet::Packet;
use pnet_packet::icmp::{IcmpPacket, IcmpTypes, echo_reply, echo_request};
use pnet_packet::icmpv6::{self, Icmpv6Types};
use pnet_packet::ipv4::Ipv4Packet;

/// ICMP header (type, code, checksum) plus identifier and sequence.
const ECHO_HEADER_LEN: usize = 8;
/// A short payload, so a reply can be told from a stray message of the
/// same identifier by more than two numbers.
pub const PAYLOAD: &[u8; 8] = b"IPaddr\0\0";

/// Which echo a reply answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EchoId {
    pub identifier: u16,
    pub sequence: u16,
}

/// An ICMPv4 echo request with its checksum.
pub fn echo_request_v4(id: EchoId) -> Vec<u8> {
    let mut buf = vec![0u8; ECHO_HEADER_LEN + PAYLOAD.len()];
    // The buffer is exactly the minimum size, so the packet views exist.
    if let Some(mut echo) = echo_request::MutableEchoRequestPacket::new(&mut buf) {
        echo.set_icmp_type(IcmpTypes::EchoRequest);
        echo.set_identifier(id.identifier);
        echo.set_sequence_number(id.sequence);
        echo.set_payload(PAYLOAD);
    }
    let checksum = IcmpPacket::new(&buf).map(|icmp| pnet_packet::icmp::checksum(&icmp)).unwrap_or(0);
    buf[2..4].copy_from_slice(&checksum.to_be_bytes());
    buf
}

/// An ICMPv6 echo request; its checksum covers a pseudo-header with the
/// addresses, which the kernel fills in for raw ICMPv6 sockets.
pub fn echo_request_v6(id: EchoId) -> Vec<u8> {
    let mut buf = vec![0u8; ECHO_HEADER_LEN + PAYLOAD.len()];
    // The buffer is exactly the minimum size, so the packet view exists.
    if let Some(mut echo) = icmpv6::echo_request::MutableEchoRequestPacket::new(&mut buf) {
        echo.set_icmpv6_type(Icmpv6Types::EchoRequest);
        echo.set_identifier(id.identifier);
        echo.set_sequence_number(id.sequence);
        echo.set_payload(PAYLOAD);
    }
    buf
}

/// The echo an IPv4 datagram (IP header included) replies to, if it is an
/// echo reply carrying our payload.
pub fn parse_reply_v4(datagram: &[u8]) -> Option<EchoId> {
    let ip = Ipv4Packet::new(datagram)?;
    let header_len = usize::from(ip.get_header_length()) * 4;
    let icmp = datagram.get(header_len..)?;
    let reply = echo_reply::EchoReplyPacket::new(icmp)?;
    (reply.get_icmp_type() == IcmpTypes::EchoReply && reply.payload().starts_with(PAYLOAD))
        .then_some(EchoId { identifier: reply.get_identifier(), sequence: reply.get_sequence_number() })
}

/// The echo an ICMPv6 message replies to, if it is an echo reply carrying
/// our payload.
pub fn parse_reply_v6(message: &[u8]) -> Option<EchoId> {
    let reply = icmpv6::echo_reply::EchoReplyPacket::new(message)?;
    (reply.get_icmpv6_type() == Icmpv6Types::EchoReply && reply.payload().starts_with(PAYLOAD))
        .then(|| EchoId { identifier: reply.get_identifier(), sequence: reply.get_sequence_number() })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Internet checksum computed the long way (RFC 1071).
    fn rfc1071(bytes: &[u8]) -> u16 {
        let mut sum: u32 =
            bytes.chunks(2).map(|c| u32::from(c[0]) << 8 | u32::from(*c.get(1).unwrap_or(&0))).sum();
        while sum > 0xffff {
            sum = (sum & 0xffff) + (sum >> 16);
        }
        !(sum as u16)
    }

    #[test]
    fn v4_request_has_type_8_and_a_valid_checksum() {
        let frame = echo_request_v4(EchoId { identifier: 0x1234, sequence: 7 });
        assert_eq!(frame.len(), 16);
        assert_eq!((frame[0], frame[1]), (8, 0));
        assert_eq!(&frame[4..8], &[0x12, 0x34, 0, 7]);
        assert_eq!(&frame[8..], PAYLOAD);
        assert_eq!(rfc1071(&frame), 0, "a correct checksum sums to zero");
    }

    #[test]
    fn v6_request_has_type_128() {
        let frame = echo_request_v6(EchoId { identifier: 0xbeef, sequence: 2 });
        assert_eq!((frame[0], frame[1]), (128, 0));
        assert_eq!(&frame[4..8], &[0xbe, 0xef, 0, 2]);
        assert_eq!(&frame[8..], PAYLOAD);
    }

    /// What a peer sends back: the request with type "echo reply", behind
    /// a 20-byte IPv4 header.
    fn v4_reply_to(request: &[u8]) -> Vec<u8> {
        let mut datagram = vec![0x45, 0, 0, 36, 0, 0, 0, 0, 64, 1, 0, 0, 192, 0, 2, 1, 192, 0, 2, 50];
        let mut icmp = request.to_vec();
        icmp[0] = 0;
        datagram.extend(icmp);
        datagram
    }

    #[test]
    fn v4_replies_are_matched_to_their_request() {
        let id = EchoId { identifier: 99, sequence: 3 };
        assert_eq!(parse_reply_v4(&v4_reply_to(&echo_request_v4(id))), Some(id));
        let mut request_itself = v4_reply_to(&echo_request_v4(id));
        request_itself[20] = 8;
        assert_eq!(parse_reply_v4(&request_itself), None, "our own request is no reply");
        let mut foreign = v4_reply_to(&echo_request_v4(id));
        foreign[28] = b'x';
        assert_eq!(parse_reply_v4(&foreign), None, "another program's echo");
        assert_eq!(parse_reply_v4(&[0x45, 0]), None, "truncated");
    }

    #[test]
    fn v6_replies_are_matched_to_their_request() {
        let id = EchoId { identifier: 5, sequence: 1 };
        let mut reply = echo_request_v6(id);
        reply[0] = 129;
        assert_eq!(parse_reply_v6(&reply), Some(id));
        assert_eq!(parse_reply_v6(&echo_request_v6(id)), None);
        assert_eq!(parse_reply_v6(&reply[..6]), None);
    }
}
