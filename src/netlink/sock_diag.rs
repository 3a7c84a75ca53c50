//! Resetting the TCP connections of one local address through the
//! kernel's socket-diagnostics interface (NETLINK_SOCK_DIAG): a dump of
//! the family's TCP sockets, then SOCK_DESTROY for each one bound to the
//! address, as `ss -K` does. The kernel aborts each connection with a
//! reset to its peer, which then reconnects at once instead of waiting on
//! a connection to an address that has gone. Destroying needs
//! CONFIG_INET_DIAG_DESTROY; without it the kernel answers EOPNOTSUPP.

use super::in_place::ask;
use super::{NetlinkError, NlResult, libc_errno};
use rtnetlink::packet_core::{NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST};
use rtnetlink::sys::{Socket, SocketAddr, protocols::NETLINK_SOCK_DIAG};
use std::net::IpAddr;

const SOCK_DIAG_BY_FAMILY: u16 = 20;
const SOCK_DESTROY: u16 = 21;
const IPPROTO_TCP: u8 = 6;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;
const NLMSG_HEADER: usize = 16;
/// `struct inet_diag_req_v2`: family, protocol, extensions, padding,
/// states, then the socket's identity.
const REQUEST: usize = 8 + SOCKET_ID;
/// `struct inet_diag_sockid`: ports, addresses, interface, cookie.
const SOCKET_ID: usize = 48;
/// Where the identity starts in a `struct inet_diag_msg`.
const MSG_ID_AT: usize = 4;

/// The TCP states whose connections are reset: every one but LISTEN (a
/// server's listener on the VIP serves it again when the address comes
/// back), TIME_WAIT and CLOSE (no connection left to reset).
const STATES: u32 = {
    const LISTEN: u32 = 10;
    const TIME_WAIT: u32 = 6;
    const CLOSE: u32 = 7;
    let all = (1 << 12) - 2; // states 1 to 11
    all & !(1 << LISTEN) & !(1 << TIME_WAIT) & !(1 << CLOSE)
};

/// What resetting found and did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Resets {
    /// Connections the kernel aborted.
    pub reset: u64,
    /// Connections it could not abort: this kernel lacks
    /// CONFIG_INET_DIAG_DESTROY.
    pub unsupported: u64,
}

/// Resets every TCP connection whose local address is `ip` (for an IPv4
/// address, also those of IPv6 sockets, which see it as `::ffff:a.b.c.d`),
/// in the caller's network namespace.
pub fn reset_connections(ip: IpAddr) -> NlResult<Resets> {
    let socket = Socket::new(NETLINK_SOCK_DIAG).map_err(NetlinkError::Kernel)?;
    socket.connect(&SocketAddr::new(0, 0)).map_err(NetlinkError::Kernel)?;
    let mut sequence = 0;
    let mut resets = Resets::default();
    let families: &[u8] = if ip.is_ipv4() { &[AF_INET, AF_INET6] } else { &[AF_INET6] };
    for &family in families {
        let mut found = Vec::new();
        sequence += 1;
        let dump = message(SOCK_DIAG_BY_FAMILY, NLM_F_REQUEST | NLM_F_DUMP, sequence, &request(family, None));
        ask(&socket, sequence, &dump, &mut |kind, payload| {
            if kind == SOCK_DIAG_BY_FAMILY {
                if let Some(id) = bound_to(payload, family, ip) {
                    found.push(id);
                }
            }
            Ok(())
        })?;
        for id in found {
            crate::crash_point::before("reset connection of", &ip);
            sequence += 1;
            let destroy =
                message(SOCK_DESTROY, NLM_F_REQUEST | NLM_F_ACK, sequence, &request(family, Some(&id)));
            match ask(&socket, sequence, &destroy, &mut |_, _| Ok(())) {
                Ok(()) => resets.reset += 1,
                Err(err) if err.errno() == Some(libc_errno::EOPNOTSUPP) => resets.unsupported += 1,
                // Closed in the meantime: nothing left to reset.
                Err(err) if err.errno() == Some(libc_errno::ENOENT) => {}
                Err(err) => return Err(err),
            }
        }
    }
    Ok(resets)
}

/// A netlink message of `kind` carrying `payload`.
fn message(kind: u16, flags: u16, sequence: u32, payload: &[u8]) -> Vec<u8> {
    let length = NLMSG_HEADER + payload.len();
    let mut bytes = Vec::with_capacity(length);
    bytes.extend_from_slice(&(length as u32).to_ne_bytes());
    bytes.extend_from_slice(&kind.to_ne_bytes());
    bytes.extend_from_slice(&flags.to_ne_bytes());
    bytes.extend_from_slice(&sequence.to_ne_bytes());
    bytes.extend_from_slice(&0u32.to_ne_bytes());
    bytes.extend_from_slice(payload);
    bytes
}

/// An `inet_diag_req_v2` for the TCP sockets of `family` in `STATES`, for
/// one socket when `id` names it (as the dump reported it, cookie included).
fn request(family: u8, id: Option<&[u8; SOCKET_ID]>) -> [u8; REQUEST] {
    let mut bytes = [0u8; REQUEST];
    bytes[0] = family;
    bytes[1] = IPPROTO_TCP;
    bytes[4..8].copy_from_slice(&STATES.to_ne_bytes());
    if let Some(id) = id {
        bytes[8..].copy_from_slice(id);
    }
    bytes
}

/// The identity of the socket an `inet_diag_msg` describes, when its
/// local address is `ip` and its state is one to reset.
fn bound_to(msg: &[u8], family: u8, ip: IpAddr) -> Option<[u8; SOCKET_ID]> {
    let state = u32::from(*msg.get(1)?);
    let id: [u8; SOCKET_ID] = msg.get(MSG_ID_AT..MSG_ID_AT + SOCKET_ID)?.try_into().ok()?;
    // Ports (4 bytes), then the source address, 16 bytes whatever the family.
    let source = &id[4..20];
    let ours = match (family, ip) {
        (AF_INET, IpAddr::V4(v4)) => source[..4] == v4.octets(),
        (AF_INET6, IpAddr::V4(v4)) => source == v4.to_ipv6_mapped().octets(),
        (AF_INET6, IpAddr::V6(v6)) => source == v6.octets(),
        _ => false,
    };
    (ours && STATES & (1 << state) != 0).then_some(id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag_msg(family: u8, state: u8, source: &[u8]) -> Vec<u8> {
        let mut msg = vec![0u8; 72];
        msg[0] = family;
        msg[1] = state;
        msg[MSG_ID_AT..MSG_ID_AT + 2].copy_from_slice(&80u16.to_be_bytes());
        msg[MSG_ID_AT + 4..MSG_ID_AT + 4 + source.len()].copy_from_slice(source);
        msg[MSG_ID_AT + 40] = 7; // a cookie byte, carried into the destroy request
        msg
    }

    #[test]
    fn only_connections_of_the_address_are_chosen() {
        let vip: IpAddr = "192.0.2.50".parse().unwrap();
        let established = 1;
        let id = bound_to(&diag_msg(AF_INET, established, &[192, 0, 2, 50]), AF_INET, vip).unwrap();
        assert_eq!(id[0..2], 80u16.to_be_bytes());
        assert_eq!(id[40], 7, "the cookie identifies the socket");
        assert_eq!(bound_to(&diag_msg(AF_INET, established, &[192, 0, 2, 51]), AF_INET, vip), None);
        let mapped = "::ffff:192.0.2.50".parse::<std::net::Ipv6Addr>().unwrap().octets();
        assert!(bound_to(&diag_msg(AF_INET6, established, &mapped), AF_INET6, vip).is_some());
        let v6: IpAddr = "2001:db8::50".parse().unwrap();
        let source = "2001:db8::50".parse::<std::net::Ipv6Addr>().unwrap().octets();
        assert!(bound_to(&diag_msg(AF_INET6, established, &source), AF_INET6, v6).is_some());
        assert_eq!(bound_to(&diag_msg(AF_INET6, established, &mapped), AF_INET6, v6), None);
        assert_eq!(bound_to(&[0; 10], AF_INET, vip), None, "a short message is no socket");
    }

    #[test]
    fn listeners_and_closed_sockets_are_left() {
        let vip: IpAddr = "192.0.2.50".parse().unwrap();
        for (state, reset) in [(1, true), (3, true), (8, true), (10, false), (6, false), (7, false)] {
            let chosen = bound_to(&diag_msg(AF_INET, state, &[192, 0, 2, 50]), AF_INET, vip).is_some();
            assert_eq!(chosen, reset, "state {state}");
        }
    }

    #[test]
    fn requests_carry_family_protocol_states_and_identity() {
        let mut id = [0u8; SOCKET_ID];
        id[4] = 192;
        let bytes = request(AF_INET6, Some(&id));
        assert_eq!((bytes[0], bytes[1]), (AF_INET6, IPPROTO_TCP));
        assert_eq!(u32::from_ne_bytes(bytes[4..8].try_into().unwrap()), STATES);
        assert_eq!(bytes[12], 192);
        let framed = message(SOCK_DESTROY, NLM_F_REQUEST | NLM_F_ACK, 9, &bytes);
        assert_eq!(u32::from_ne_bytes(framed[0..4].try_into().unwrap()) as usize, framed.len());
        assert_eq!(u16::from_ne_bytes(framed[4..6].try_into().unwrap()), SOCK_DESTROY);
        assert_eq!(u32::from_ne_bytes(framed[8..12].try_into().unwrap()), 9);
    }
}
