//! Pure building and parsing of the Ethernet frames the agent sends and
//! listens for: ARP (RFC 826, RFC 5227 probes and announcements) and the
//! IPv6 neighbor discovery messages (RFC 4861) used for probing and
//! unsolicited advertisements. No sockets here.

pub mod arp;
pub mod icmp;
pub mod ndp;

/// An Ethernet MAC address: pnet's, which prints as `ip link` does.
pub use pnet_base::MacAddr as Mac;

pub const BROADCAST_MAC: Mac = Mac(0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
pub const ZERO_MAC: Mac = Mac(0, 0, 0, 0, 0, 0);
pub const ETHERTYPE_ARP: u16 = 0x0806;
pub const ETHERTYPE_IPV6: u16 = 0x86dd;

/// Replaces the Ethernet source address of `frame` (its bytes 6 to 11).
pub fn set_ethernet_source(frame: &mut [u8], mac: Mac) {
    if let Some(source) = frame.get_mut(6..12) {
        source.copy_from_slice(&mac.octets());
    }
}

#[cfg(test)]
mod tests {
    use super::Mac;

    #[test]
    fn the_ethernet_source_is_bytes_6_to_11() {
        let mut frame =
            super::arp::gratuitous_reply(Mac(3, 0, 0, 0, 0, 9), "192.0.2.5".parse().unwrap()).to_vec();
        super::set_ethernet_source(&mut frame, Mac(2, 0, 0, 0, 0, 1));
        assert_eq!(&frame[6..12], &[2, 0, 0, 0, 0, 1]);
        let parsed = super::arp::parse(&frame).unwrap();
        assert_eq!(parsed.sender_mac, [3, 0, 0, 0, 0, 9], "the ARP body still claims the shared MAC");
        let mut short = vec![0u8; 8];
        super::set_ethernet_source(&mut short, Mac(1, 1, 1, 1, 1, 1));
        assert_eq!(short, vec![0u8; 8]);
    }

    #[test]
    fn macs_print_like_iproute2() {
        assert_eq!(Mac(0x02, 0, 0xab, 0x10, 0xff, 1).to_string(), "02:00:ab:10:ff:01");
    }
}

#[cfg(test)]
mod properties {
    use super::{Mac, arp, ndp};
    use proptest::prelude::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    proptest! {
        #[test]
        fn arp_announcements_round_trip(mac in any::<[u8; 6]>(), ip in any::<u32>(), target in any::<u32>()) {
            let (mac, ip, target) = (Mac::from(mac), Ipv4Addr::from(ip), Ipv4Addr::from(target));
            let request = arp::parse(&arp::gratuitous_request(mac, ip, Some(target))).unwrap();
            prop_assert_eq!((request.is_reply, request.sender_mac, request.sender_ip, request.target_ip), (false, mac, ip, target));
            let reply = arp::parse(&arp::gratuitous_reply(mac, ip)).unwrap();
            prop_assert!(reply.is_reply && arp::claims(&reply, ip));
            let probe = arp::parse(&arp::probe(mac, ip)).unwrap();
            prop_assert!(probe.sender_ip.is_unspecified() && probe.target_ip == ip);
        }

        #[test]
        fn ndp_messages_round_trip(mac in any::<[u8; 6]>(), ip in any::<u128>()) {
            let (mac, ip) = (Mac::from(mac), Ipv6Addr::from(ip));
            let na = ndp::parse(&ndp::unsolicited_advertisement(mac, ip)).unwrap();
            prop_assert_eq!((na.source, na.target, na.link_layer), (ip, ip, Some(mac)));
            prop_assert!(ndp::claims(&na, ip));
            let ns = ndp::parse(&ndp::dad_solicitation(mac, ip)).unwrap();
            prop_assert!(ns.source.is_unspecified() && ns.target == ip && ndp::claims(&ns, ip));
        }

        /// The receive path sees whatever the wire carries: random bytes,
        /// and valid frames cut anywhere or with any byte flipped.
        #[test]
        fn receive_path_survives_random_and_damaged_frames(
            noise in proptest::collection::vec(any::<u8>(), 0..1600),
            cut in 0usize..100,
            flip in 0usize..100,
            mask in 1u8..=255,
        ) {
            let _ = arp::parse(&noise);
            let _ = ndp::parse(&noise);
            let valid = [
                arp::gratuitous_reply(Mac(2, 0, 0, 0, 0, 1), Ipv4Addr::new(192, 0, 2, 5)).to_vec(),
                ndp::unsolicited_advertisement(Mac(2, 0, 0, 0, 0, 1), "2001:db8::5".parse().unwrap()).to_vec(),
            ];
            for frame in valid {
                let mut damaged = frame.clone();
                let at = flip % damaged.len();
                damaged[at] ^= mask;
                let _ = arp::parse(&damaged);
                let _ = ndp::parse(&damaged);
                let truncated = &frame[..cut.min(frame.len())];
                if truncated.len() < frame.len() {
                    prop_assert!(arp::parse(truncated).is_none() && ndp::parse(truncated).is_none());
                }
            }
        }
    }
}
