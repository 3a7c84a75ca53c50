//! Proving that the neighbours follow a moved VIP. Gratuitous ARP and
//! unsolicited NA are dropped by many gateways; a question addressed to the
//! gateway from the VIP is not: "who has GW? tell VIP" (IPv4) or a Neighbor
//! Solicitation from the VIP with its link-layer option (IPv6) makes the
//! gateway update its entry for the VIP to the sender's MAC before it
//! answers, and its answer, addressed to the VIP, proves that it did.

use crate::packet::{Mac, arp, ndp};
use std::net::IpAddr;

/// The gateways asked for one VIP, and which have answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asking {
    vip: IpAddr,
    pending: Vec<IpAddr>,
}

impl Asking {
    /// Asks `gateways` (those of the VIP's family) on behalf of `vip`.
    pub fn new(vip: IpAddr, gateways: &[IpAddr]) -> Asking {
        let mut pending: Vec<IpAddr> =
            gateways.iter().copied().filter(|g| g.is_ipv4() == vip.is_ipv4() && *g != vip).collect();
        pending.dedup();
        Asking { vip, pending }
    }

    /// The gateways that have not answered yet.
    pub fn pending(&self) -> &[IpAddr] {
        &self.pending
    }

    /// Whether every gateway asked has answered.
    pub fn is_done(&self) -> bool {
        self.pending.is_empty()
    }

    /// One question to each gateway that has not answered, from the VIP at `mac`.
    pub fn questions(&self, mac: Mac) -> Vec<Vec<u8>> {
        self.pending.iter().filter_map(|gateway| question(self.vip, mac, *gateway)).collect()
    }

    /// Takes `frame` into account: the gateway it shows answering, if it
    /// is one still awaited.
    pub fn hear(&mut self, frame: &[u8]) -> Option<IpAddr> {
        let gateway = answer_from(frame, self.vip)?;
        let at = self.pending.iter().position(|pending| *pending == gateway)?;
        Some(self.pending.remove(at))
    }
}

/// The question to `gateway` from `vip` at `mac`; `None` across families.
fn question(vip: IpAddr, mac: Mac, gateway: IpAddr) -> Option<Vec<u8>> {
    match (vip, gateway) {
        (IpAddr::V4(vip), IpAddr::V4(gateway)) => {
            Some(arp::gratuitous_request(mac, vip, Some(gateway)).to_vec())
        }
        (IpAddr::V6(vip), IpAddr::V6(gateway)) => Some(ndp::solicitation(mac, vip, gateway).to_vec()),
        _ => None,
    }
}

/// Who answered `vip` in `frame`: the sender of an ARP reply to it, or the
/// target of a solicited NA sent to it.
fn answer_from(frame: &[u8], vip: IpAddr) -> Option<IpAddr> {
    match vip {
        IpAddr::V4(vip) => {
            let message = arp::parse(frame)?;
            (message.is_reply && message.target_ip == vip).then_some(IpAddr::V4(message.sender_ip))
        }
        IpAddr::V6(vip) => {
            let message = ndp::parse(frame)?;
            let solicited = matches!(message.kind, ndp::NdpKind::Advertisement { solicited: true, .. });
            (solicited && message.destination == vip).then_some(IpAddr::V6(message.target))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const OURS: Mac = Mac(2, 0, 0, 0, 0, 1);
    const GATEWAY_MAC: Mac = Mac(2, 0, 0, 0, 0, 0xfe);

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn the_ipv4_question_asks_for_the_gateway_from_the_vip() {
        let asking = Asking::new(ip("192.0.2.50"), &[ip("192.0.2.254"), ip("2001:db8::1")]);
        assert_eq!(asking.pending(), &[ip("192.0.2.254")], "only the VIP's family");
        let questions = asking.questions(OURS);
        assert_eq!(questions.len(), 1);
        let message = arp::parse(&questions[0]).unwrap();
        assert!(!message.is_reply);
        assert_eq!((message.sender_mac, message.sender_ip.to_string()), (OURS, "192.0.2.50".into()));
        assert_eq!(message.target_ip.to_string(), "192.0.2.254");
    }

    #[test]
    fn only_the_awaited_gateways_reply_to_the_vip_proves_anything() {
        let (vip, gateway) = ("192.0.2.50".parse().unwrap(), "192.0.2.254".parse().unwrap());
        let mut asking = Asking::new(IpAddr::V4(vip), &[IpAddr::V4(gateway)]);
        let to_someone_else = arp::reply(GATEWAY_MAC, gateway, OURS, "192.0.2.1".parse().unwrap());
        assert_eq!(asking.hear(&to_someone_else), None);
        let from_another_host = arp::reply(GATEWAY_MAC, "192.0.2.9".parse().unwrap(), OURS, vip);
        assert_eq!(asking.hear(&from_another_host), None);
        let our_own_question = asking.questions(OURS).remove(0);
        assert_eq!(asking.hear(&our_own_question), None, "a request proves nothing");
        assert!(!asking.is_done());
        assert_eq!(asking.hear(&arp::reply(GATEWAY_MAC, gateway, OURS, vip)), Some(IpAddr::V4(gateway)));
        assert!(asking.is_done());
        assert!(asking.questions(OURS).is_empty(), "an answered gateway is not asked again");
        assert_eq!(asking.hear(&arp::reply(GATEWAY_MAC, gateway, OURS, vip)), None, "counted once");
    }

    #[test]
    fn an_ipv6_gateway_is_proven_by_its_solicited_advertisement_to_the_vip() {
        let (vip, gateway): (std::net::Ipv6Addr, std::net::Ipv6Addr) =
            ("2001:db8::50".parse().unwrap(), "fe80::1".parse().unwrap());
        let mut asking = Asking::new(IpAddr::V6(vip), &[IpAddr::V6(gateway), ip("192.0.2.254")]);
        let question = asking.questions(OURS).remove(0);
        let asked = ndp::parse(&question).unwrap();
        assert_eq!((asked.source, asked.target, asked.link_layer), (vip, gateway, Some(OURS)));
        let unsolicited = ndp::unsolicited_advertisement(GATEWAY_MAC, gateway);
        assert_eq!(asking.hear(&unsolicited), None, "an unsolicited NA answers nobody");
        let elsewhere = ndp::solicited_advertisement(GATEWAY_MAC, gateway, "2001:db8::1".parse().unwrap());
        assert_eq!(asking.hear(&elsewhere), None, "an answer to another address");
        let answer = ndp::solicited_advertisement(GATEWAY_MAC, gateway, vip);
        assert_eq!(asking.hear(&answer), Some(IpAddr::V6(gateway)));
        assert!(asking.is_done());
    }
}
