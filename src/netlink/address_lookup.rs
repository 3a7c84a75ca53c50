//! The entries of one address on one interface, at a cost that does not
//! grow with the interface's other addresses: a node with hundreds of VIPs
//! on one NIC runs hundreds of monitors every few seconds, each asking
//! about its own address only.
//!
//! IPv6 has a request for one address (the kernel's `RTM_GETADDR` without
//! `NLM_F_DUMP`). IPv4 has none, so the interface's dump is read raw on a
//! plain netlink socket and only the messages carrying this address are
//! decoded; the others are skipped after one attribute comparison, without
//! allocating.

use super::address::address_entry;
use super::{AddressEntry, IpFamily, Netlink, NetlinkError, NlResult, libc_errno};
use rtnetlink::packet_core::{
    ErrorBuffer, NLM_F_DUMP, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NetlinkBuffer, NetlinkMessage,
    NlaBuffer, NlasIterator, Parseable,
};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::address::{AddressAttribute, AddressMessage};
use rtnetlink::sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};
use std::io;
use std::net::{IpAddr, Ipv4Addr};

const RTM_NEWADDR: u16 = 20;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
/// The fixed header of an address message (struct ifaddrmsg).
const IFADDRMSG_LEN: usize = 8;
/// One receive: the kernel fills up to a page-sized multiple per datagram.
const RECEIVE_BUFFER: usize = 64 * 1024;

impl Netlink {
    /// The entries of `ip` on interface `ifindex`: none, or (IPv4) one per
    /// prefix it was added with.
    pub fn address_entries(&self, ifindex: u32, ip: IpAddr) -> NlResult<Vec<AddressEntry>> {
        match ip {
            IpAddr::V6(_) => self.ipv6_address_entry(ifindex, ip),
            IpAddr::V4(v4) => ipv4_address_entries(ifindex, v4),
        }
    }

    fn ipv6_address_entry(&self, ifindex: u32, ip: IpAddr) -> NlResult<Vec<AddressEntry>> {
        let mut request = AddressMessage::default();
        request.header.family = IpFamily::V6.address_family();
        request.header.index = ifindex;
        request.attributes.push(AddressAttribute::Address(ip));
        match self.exchange(RouteNetlinkMessage::GetAddress(request), 0) {
            Ok(replies) => Ok(replies
                .into_iter()
                .filter_map(|reply| match reply {
                    RouteNetlinkMessage::NewAddress(msg) if msg.header.index == ifindex => address_entry(msg),
                    _ => None,
                })
                .collect()),
            Err(err) if err.errno() == Some(libc_errno::EADDRNOTAVAIL) => Ok(Vec::new()),
            Err(err) => Err(err),
        }
    }
}

fn ipv4_address_entries(ifindex: u32, ip: Ipv4Addr) -> NlResult<Vec<AddressEntry>> {
    let socket = dump_socket().map_err(NetlinkError::Kernel)?;
    let mut request = AddressMessage::default();
    request.header.family = IpFamily::V4.address_family();
    request.header.index = ifindex;
    let mut message = NetlinkMessage::from(RouteNetlinkMessage::GetAddress(request));
    message.header.flags = NLM_F_REQUEST | NLM_F_DUMP;
    message.header.sequence_number = 1;
    message.finalize();
    let mut bytes = vec![0; message.header.length as usize];
    message.serialize(&mut bytes);
    socket.send(&bytes, 0).map_err(NetlinkError::Kernel)?;

    let mut found = Vec::new();
    let mut datagram = Vec::with_capacity(RECEIVE_BUFFER);
    loop {
        datagram.clear();
        let received = socket.recv(&mut datagram, 0).map_err(NetlinkError::Kernel)?;
        let mut rest = &datagram[..received.min(datagram.len())];
        while !rest.is_empty() {
            let reply = NetlinkBuffer::new_checked(rest).map_err(undecodable)?;
            let length = reply.length() as usize;
            match reply.message_type() {
                NLMSG_DONE => return Ok(found),
                NLMSG_ERROR => {
                    let error = ErrorBuffer::new_checked(reply.payload()).map_err(undecodable)?;
                    if let Some(code) = error.code() {
                        return Err(NetlinkError::Kernel(io::Error::from_raw_os_error(-code.get())));
                    }
                }
                RTM_NEWADDR if carries(reply.payload(), ip) => {
                    let message = AddressMessage::parse(reply.payload()).map_err(undecodable)?;
                    found.extend(address_entry(message).filter(|entry| entry.ifindex == ifindex));
                }
                _ => {}
            }
            // Messages are 4-byte aligned within a datagram.
            rest = rest.get(length.next_multiple_of(4)..).unwrap_or_default();
        }
    }
}

/// A netlink socket for one dump, with strict checking so that the kernel
/// filters by interface.
fn dump_socket() -> io::Result<Socket> {
    let mut socket = Socket::new(NETLINK_ROUTE)?;
    socket.bind_auto()?;
    socket.set_netlink_get_strict_chk(true)?;
    socket.connect(&SocketAddr::new(0, 0))?;
    Ok(socket)
}

/// Whether an address message's IFA_LOCAL (else IFA_ADDRESS) is `ip`,
/// read in place.
fn carries(payload: &[u8], ip: Ipv4Addr) -> bool {
    let Some(attributes) = payload.get(IFADDRMSG_LEN..) else { return false };
    let mut address = None;
    for attribute in NlasIterator::new(attributes) {
        let Ok(attribute): Result<NlaBuffer<&[u8]>, _> = attribute else { return false };
        match attribute.kind() {
            IFA_LOCAL => return attribute.value() == ip.octets(),
            IFA_ADDRESS => address = Some(attribute.value() == ip.octets()),
            _ => {}
        }
    }
    address.unwrap_or(false)
}

fn undecodable(err: impl std::fmt::Display) -> NetlinkError {
    NetlinkError::Transport(format!("undecodable address dump: {err}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtnetlink::packet_core::Emitable;

    fn payload(attributes: Vec<AddressAttribute>) -> Vec<u8> {
        let mut message = AddressMessage::default();
        message.header.family = IpFamily::V4.address_family();
        message.header.prefix_len = 24;
        message.header.index = 3;
        message.attributes = attributes;
        let mut bytes = vec![0; message.buffer_len()];
        message.emit(&mut bytes);
        bytes
    }

    #[test]
    fn the_local_address_decides_and_the_peer_address_only_without_it() {
        let vip: Ipv4Addr = "192.0.2.50".parse().unwrap();
        let other: Ipv4Addr = "192.0.2.51".parse().unwrap();
        let plain = payload(vec![AddressAttribute::Address(vip.into()), AddressAttribute::Local(vip.into())]);
        assert!(carries(&plain, vip));
        assert!(!carries(&plain, other));
        // Point-to-point: IFA_ADDRESS is the peer, IFA_LOCAL our address.
        let peer =
            payload(vec![AddressAttribute::Address(other.into()), AddressAttribute::Local(vip.into())]);
        assert!(carries(&peer, vip));
        assert!(!carries(&peer, other));
        let address_only = payload(vec![AddressAttribute::Address(vip.into())]);
        assert!(carries(&address_only, vip));
        assert!(!carries(&payload(Vec::new()), vip));
        assert!(!carries(&plain[..4], vip), "a truncated header carries nothing");
    }
}
