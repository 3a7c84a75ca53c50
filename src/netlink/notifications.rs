//! The kernel's notifications about one address: a socket that joins the
//! address group of the VIP's family and the link group, and sleeps until
//! a notification concerns that address or a link. A socket filter
//! (classic BPF, run by the kernel before it queues a message) drops the
//! address notifications of every other address, so a node that adds and
//! removes thousands of unrelated addresses never wakes the watcher.
//!
//! The filter knows where the kernel puts the address: right after
//! `ifaddrmsg`, the first attribute (IFA_ADDRESS, or IFA_LOCAL for an IPv6
//! address with a peer) holds it, and for IPv4 IFA_LOCAL follows. A
//! message laid out otherwise is let through, and decoding decides:
//! the filter may wake the process for nothing, never sleep through a
//! deletion.

use rtnetlink::sys::{Socket, protocols::NETLINK_ROUTE};
use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_NEWADDR: u16 = 20;
const RTM_DELADDR: u16 = 21;
const RTM_NEWROUTE: u16 = 24;
const RTM_DELROUTE: u16 = 25;
const RTM_DELRULE: u16 = 33;
const RTNLGRP_LINK: u32 = 1;
const RTNLGRP_IPV4_IFADDR: u32 = 5;
const RTNLGRP_IPV4_ROUTE: u32 = 7;
const RTNLGRP_IPV4_RULE: u32 = 8;
const RTNLGRP_IPV6_IFADDR: u32 = 9;
const RTNLGRP_IPV6_ROUTE: u32 = 11;
const RTNLGRP_IPV6_RULE: u32 = 19;
const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
/// The netlink header, then `ifaddrmsg` / `ifinfomsg`'s first 8 bytes.
const HEADER: usize = 16;
/// Where the first attribute of an address notification starts.
const FIRST_ATTRIBUTE: u32 = (HEADER + 8) as u32;
/// The kernel's receive queue for the socket: a burst of link or address
/// changes that overflows it is reported as `Notice::Overrun`.
const RECEIVE_QUEUE: usize = 256 * 1024;

/// What the kernel said, decoded as far as a watcher needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Notice {
    /// The address was removed from interface `ifindex` by the socket whose
    /// netlink port id is `by_port` (0: the kernel itself).
    AddressRemoved { ifindex: u32, by_port: u32 },
    /// The address was added (or changed) on interface `ifindex` by the
    /// socket `by_port`.
    AddressAdded { ifindex: u32, by_port: u32 },
    /// Link `ifindex` changed; `up` when it is up with a carrier.
    Link { ifindex: u32, up: bool },
    /// A route of the main table changed, or (`rule_removed`) a rule was
    /// removed, by the socket `by_port` (only when the subscription follows
    /// routing).
    Routing { by_port: u32, rule_removed: bool },
    /// Notifications were lost (the queue overflowed): anything may have
    /// happened.
    Overrun,
}

/// A socket that hears about one address and every link.
pub struct Subscription {
    socket: Socket,
    ip: IpAddr,
    buffer: Vec<u8>,
}

/// What `background::spawn` hands to the watcher: start opens the
/// subscription, so the kernel queues what happens from that moment,
/// however late the watcher begins to read.
impl AsRawFd for Subscription {
    fn as_raw_fd(&self) -> i32 {
        self.socket.as_raw_fd()
    }
}

impl Subscription {
    /// Joins the groups in the current network namespace and filters out
    /// every other address's notifications. Without the filter (a kernel
    /// that refuses it), it still works, waking for every address. With
    /// `routing`, it also hears of the main table's routes and of rules
    /// removed, in the address's family (virtual_mac's table follows main).
    pub fn open(ip: IpAddr, routing: bool) -> io::Result<Subscription> {
        let mut socket = Socket::new(NETLINK_ROUTE)?;
        socket.bind_auto()?;
        let _ = socket.set_rx_buf_sz(RECEIVE_QUEUE);
        if let Err(err) = attach_filter(&socket, &filter_program(ip)) {
            crate::ocf::log::debug(format!("no socket filter for the watcher of {ip}: {err}"));
        }
        let addresses = if ip.is_ipv4() { RTNLGRP_IPV4_IFADDR } else { RTNLGRP_IPV6_IFADDR };
        socket.add_membership(addresses)?;
        socket.add_membership(RTNLGRP_LINK)?;
        if routing {
            let (routes, rules) = match ip {
                IpAddr::V4(_) => (RTNLGRP_IPV4_ROUTE, RTNLGRP_IPV4_RULE),
                IpAddr::V6(_) => (RTNLGRP_IPV6_ROUTE, RTNLGRP_IPV6_RULE),
            };
            socket.add_membership(routes)?;
            socket.add_membership(rules)?;
        }
        Ok(Subscription { socket, ip, buffer: Vec::with_capacity(64 * 1024) })
    }

    /// Takes over a subscription inherited as descriptor `fd`, for `ip`;
    /// anything that is not a netlink socket is refused.
    pub fn adopt(fd: i32, ip: IpAddr) -> io::Result<Subscription> {
        use std::os::fd::FromRawFd;
        // SAFETY: sockaddr_nl is plain old data; all-zero is a valid value.
        let mut addr: nix::libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        let mut len = std::mem::size_of::<nix::libc::sockaddr_nl>() as nix::libc::socklen_t;
        // SAFETY: getsockname writes at most `len` bytes into `addr`; a bad
        // descriptor or another kind of socket only makes it fail or report
        // another family.
        let rc = unsafe { nix::libc::getsockname(fd, (&raw mut addr).cast(), &mut len) };
        if rc < 0 || i32::from(addr.nl_family) != nix::libc::AF_NETLINK {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "inherited descriptor is not a netlink socket",
            ));
        }
        // SAFETY: the descriptor was handed to this process to own and is a netlink socket.
        let socket = unsafe { Socket::from_raw_fd(fd) };
        // The repairs the watcher starts must not keep it.
        nix::fcntl::fcntl(&socket, nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC))?;
        Ok(Subscription { socket, ip, buffer: Vec::with_capacity(64 * 1024) })
    }

    /// Sleeps until the kernel sends something that passes the filter,
    /// and returns what of it concerns the address.
    pub fn next(&mut self) -> io::Result<Vec<Notice>> {
        self.receive(0).map(|queued| queued.unwrap_or_default())
    }

    /// What the kernel has queued already, one datagram at a time, without
    /// waiting: None once the queue is empty.
    pub fn queued(&mut self) -> io::Result<Option<Vec<Notice>>> {
        self.receive(nix::libc::MSG_DONTWAIT)
    }

    fn receive(&mut self, flags: nix::libc::c_int) -> io::Result<Option<Vec<Notice>>> {
        self.buffer.clear();
        match self.socket.recv(&mut self.buffer, flags) {
            Ok(received) => Ok(Some(decode(&self.buffer[..received.min(self.buffer.len())], self.ip))),
            Err(err) if err.raw_os_error() == Some(nix::libc::ENOBUFS) => Ok(Some(vec![Notice::Overrun])),
            Err(err) if err.kind() == io::ErrorKind::WouldBlock => Ok(None),
            Err(err) => Err(err),
        }
    }
}

/// The notices in one datagram about `ip` and the links.
pub fn decode(mut datagram: &[u8], ip: IpAddr) -> Vec<Notice> {
    let mut notices = Vec::new();
    while datagram.len() >= HEADER {
        let length = u32_at(datagram, 0) as usize;
        if length < HEADER || length > datagram.len() {
            break;
        }
        let kind = u16::from_ne_bytes([datagram[4], datagram[5]]);
        let by_port = u32_at(datagram, 12);
        let payload = &datagram[HEADER..length];
        match kind {
            RTM_DELADDR if payload.len() >= 8 && carries(&payload[8..], ip) => {
                notices.push(Notice::AddressRemoved { ifindex: u32_at(payload, 4), by_port });
            }
            RTM_NEWADDR if payload.len() >= 8 && carries(&payload[8..], ip) => {
                notices.push(Notice::AddressAdded { ifindex: u32_at(payload, 4), by_port });
            }
            RTM_NEWLINK | RTM_DELLINK if payload.len() >= 12 => {
                const IFF_UP: u32 = 0x1;
                const IFF_LOWER_UP: u32 = 0x1_0000;
                let flags = u32_at(payload, 8);
                let up = kind == RTM_NEWLINK && flags & IFF_UP != 0 && flags & IFF_LOWER_UP != 0;
                notices.push(Notice::Link { ifindex: u32_at(payload, 4), up });
            }
            // rtmsg: family, dst_len, src_len, tos, table (main: 254).
            RTM_NEWROUTE | RTM_DELROUTE if payload.get(4) == Some(&(crate::netlink::TABLE_MAIN as u8)) => {
                notices.push(Notice::Routing { by_port, rule_removed: false });
            }
            RTM_DELRULE => notices.push(Notice::Routing { by_port, rule_removed: true }),
            _ => {}
        }
        datagram = datagram.get(length.next_multiple_of(4)..).unwrap_or_default();
    }
    notices
}

fn u32_at(bytes: &[u8], at: usize) -> u32 {
    bytes.get(at..at + 4).and_then(|b| b.try_into().ok()).map_or(0, u32::from_ne_bytes)
}

/// Whether the attributes hold `ip` as the address or the local address.
fn carries(mut attributes: &[u8], ip: IpAddr) -> bool {
    let wanted: Vec<u8> = match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    };
    while attributes.len() >= 4 {
        let length = usize::from(u16::from_ne_bytes([attributes[0], attributes[1]]));
        let kind = u16::from_ne_bytes([attributes[2], attributes[3]]) & 0x3fff;
        if length < 4 || length > attributes.len() {
            return false;
        }
        if matches!(kind, IFA_ADDRESS | IFA_LOCAL) && attributes[4..length] == wanted[..] {
            return true;
        }
        attributes = attributes.get(length.next_multiple_of(4)..).unwrap_or_default();
    }
    false
}

/// One classic BPF instruction (`struct sock_filter`).
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Instruction {
    code: u16,
    jt: u8,
    jf: u8,
    k: u32,
}

const BPF_LD_B_ABS: u16 = 0x30;
const BPF_LD_W_ABS: u16 = 0x20;
const BPF_JEQ_K: u16 = 0x15;
const BPF_RET_K: u16 = 0x06;
/// A whole datagram: the kernel truncates to this many bytes.
const ACCEPT: u32 = 0xffff_ffff;

fn load_byte(at: u32) -> Instruction {
    Instruction { code: BPF_LD_B_ABS, jt: 0, jf: 0, k: at }
}

/// Loads four bytes as a big-endian number: addresses are in network order.
fn load_word(at: u32) -> Instruction {
    Instruction { code: BPF_LD_W_ABS, jt: 0, jf: 0, k: at }
}

fn jump_if(value: u32, jt: u8, jf: u8) -> Instruction {
    Instruction { code: BPF_JEQ_K, jt, jf, k: value }
}

fn ret(k: u32) -> Instruction {
    Instruction { code: BPF_RET_K, jt: 0, jf: 0, k }
}

/// The filter for `ip`: every message but an address notification passes;
/// an address notification passes when its first attribute (or, for IPv4,
/// the second) is `ip`, or when its first attribute is not where the
/// kernel puts the address (then decoding decides). Message types fit in
/// their low byte (little-endian hosts: the first byte of `nlmsg_type`),
/// as do the attribute types compared.
pub fn filter_program(ip: IpAddr) -> Vec<Instruction> {
    let words: Vec<u32> = match ip {
        IpAddr::V4(v4) => vec![u32::from(v4)],
        IpAddr::V6(v6) => {
            v6.octets().chunks(4).map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]])).collect()
        }
    };
    let value_at = FIRST_ATTRIBUTE + 4;
    let type_at = if cfg!(target_endian = "little") { FIRST_ATTRIBUTE + 2 } else { FIRST_ATTRIBUTE + 3 };
    let kind_at = if cfg!(target_endian = "little") { 4 } else { 5 };
    let mut program = vec![
        load_byte(kind_at),
        // Neither RTM_NEWADDR nor RTM_DELADDR: let it through.
        jump_if(u32::from(RTM_NEWADDR), 2, 0),
        jump_if(u32::from(RTM_DELADDR), 1, 0),
        ret(ACCEPT),
        load_byte(type_at),
    ];
    // The first attribute is not IFA_ADDRESS/IFA_LOCAL: layout unknown, let it through.
    program.push(jump_if(u32::from(IFA_ADDRESS), 2, 0));
    program.push(jump_if(u32::from(IFA_LOCAL), 1, 0));
    program.push(ret(ACCEPT));
    // Compare the first attribute's value word by word.
    let n = words.len();
    for (i, word) in words.iter().enumerate() {
        program.push(load_word(value_at + 4 * i as u32));
        // On a mismatch, skip to the IPv4 second-attribute test (or the drop).
        let to_next_test = u8::try_from(2 * (n - i - 1) + 1).unwrap_or(u8::MAX);
        program.push(jump_if(*word, 0, to_next_test));
    }
    program.push(ret(ACCEPT));
    if let IpAddr::V4(v4) = ip {
        // IFA_LOCAL follows IFA_ADDRESS (8 bytes on): differs with a peer.
        program.push(load_word(value_at + 8));
        program.push(jump_if(u32::from(v4), 0, 1));
        program.push(ret(ACCEPT));
    }
    program.push(ret(0));
    program
}

/// `struct sock_fprog`.
#[repr(C)]
struct Program {
    len: u16,
    filter: *const Instruction,
}

fn attach_filter(socket: &Socket, program: &[Instruction]) -> io::Result<()> {
    let len = u16::try_from(program.len()).map_err(|_| io::Error::from(io::ErrorKind::InvalidInput))?;
    let fprog = Program { len, filter: program.as_ptr() };
    // SAFETY: a valid socket, and a sock_fprog pointing at `program`,
    // which outlives the call (the kernel copies the program).
    let rc = unsafe {
        nix::libc::setsockopt(
            socket.as_raw_fd(),
            nix::libc::SOL_SOCKET,
            nix::libc::SO_ATTACH_FILTER,
            (&raw const fprog).cast(),
            std::mem::size_of::<Program>() as nix::libc::socklen_t,
        )
    };
    if rc < 0 { Err(io::Error::last_os_error()) } else { Ok(()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A notification of `kind` with the given attributes, as the kernel lays it out.
    fn address_message(kind: u16, port: u32, ifindex: u32, attributes: &[(u16, &[u8])]) -> Vec<u8> {
        let mut body = vec![2, 24, 0, 0];
        body.extend(ifindex.to_ne_bytes());
        for (kind, value) in attributes {
            body.extend(u16::try_from(4 + value.len()).unwrap().to_ne_bytes());
            body.extend(kind.to_ne_bytes());
            body.extend(*value);
            body.resize(body.len().next_multiple_of(4), 0);
        }
        let mut message = Vec::new();
        message.extend(u32::try_from(HEADER + body.len()).unwrap().to_ne_bytes());
        message.extend(kind.to_ne_bytes());
        message.extend(0u16.to_ne_bytes());
        message.extend(0u32.to_ne_bytes());
        message.extend(port.to_ne_bytes());
        message.extend(body);
        message
    }

    /// Runs the classic BPF `program` over `packet` as the kernel would
    /// (the few instructions it uses): the bytes kept, 0 to drop.
    fn run(program: &[Instruction], packet: &[u8]) -> u32 {
        let mut a = 0u32;
        let mut pc = 0usize;
        loop {
            let i = program[pc];
            pc += 1;
            match i.code {
                BPF_LD_B_ABS => match packet.get(i.k as usize) {
                    Some(b) => a = u32::from(*b),
                    None => return 0,
                },
                BPF_LD_W_ABS => match packet.get(i.k as usize..i.k as usize + 4) {
                    Some(w) => a = u32::from_be_bytes(w.try_into().unwrap()),
                    None => return 0,
                },
                BPF_JEQ_K => pc += usize::from(if a == i.k { i.jt } else { i.jf }),
                BPF_RET_K => return i.k,
                other => panic!("unexpected instruction {other:#x}"),
            }
        }
    }

    const V4: [u8; 4] = [192, 0, 2, 50];
    const OTHER_V4: [u8; 4] = [192, 0, 2, 51];

    #[test]
    fn the_filter_lets_through_only_the_address_s_own_notifications() {
        let ip: IpAddr = "192.0.2.50".parse().unwrap();
        let program = filter_program(ip);
        let ours = address_message(RTM_DELADDR, 7, 3, &[(IFA_ADDRESS, &V4), (IFA_LOCAL, &V4)]);
        let other = address_message(RTM_DELADDR, 7, 3, &[(IFA_ADDRESS, &OTHER_V4), (IFA_LOCAL, &OTHER_V4)]);
        let peer = address_message(RTM_DELADDR, 7, 3, &[(IFA_ADDRESS, &OTHER_V4), (IFA_LOCAL, &V4)]);
        let added = address_message(20, 7, 3, &[(IFA_ADDRESS, &V4), (IFA_LOCAL, &V4)]);
        let unknown_layout = address_message(RTM_DELADDR, 7, 3, &[(8, &[0; 4]), (IFA_LOCAL, &OTHER_V4)]);
        let link = address_message(RTM_NEWLINK, 0, 3, &[]);
        assert_ne!(run(&program, &ours), 0);
        assert_eq!(run(&program, &other), 0, "another address's deletion never wakes the watcher");
        assert_ne!(run(&program, &peer), 0, "the local address of a point-to-point pair");
        assert_ne!(run(&program, &added), 0);
        assert_ne!(run(&program, &unknown_layout), 0, "a layout the filter does not know is let through");
        assert_ne!(run(&program, &link), 0);
    }

    #[test]
    fn the_ipv6_filter_compares_all_sixteen_bytes() {
        let ip: IpAddr = "2001:db8::50".parse().unwrap();
        let program = filter_program(ip);
        let IpAddr::V6(v6) = ip else { unreachable!() };
        let ours = address_message(RTM_DELADDR, 1, 2, &[(IFA_ADDRESS, &v6.octets())]);
        assert_ne!(run(&program, &ours), 0);
        for byte in 0..16 {
            let mut near = v6.octets();
            near[byte] ^= 1;
            let other = address_message(RTM_DELADDR, 1, 2, &[(IFA_ADDRESS, &near)]);
            assert_eq!(run(&program, &other), 0, "differs in byte {byte}");
        }
    }

    #[test]
    fn decoding_finds_who_removed_the_address_and_link_changes() {
        let ip: IpAddr = "192.0.2.50".parse().unwrap();
        let datagram = [
            address_message(RTM_DELADDR, 812, 3, &[(IFA_ADDRESS, &OTHER_V4), (IFA_LOCAL, &OTHER_V4)]),
            address_message(RTM_DELADDR, 812, 3, &[(IFA_ADDRESS, &V4), (IFA_LOCAL, &V4)]),
            address_message(20, 812, 3, &[(IFA_ADDRESS, &V4)]),
        ]
        .concat();
        assert_eq!(
            decode(&datagram, ip),
            [
                Notice::AddressRemoved { ifindex: 3, by_port: 812 },
                Notice::AddressAdded { ifindex: 3, by_port: 812 }
            ]
        );
        // ifinfomsg: family, pad, type, index, flags, change.
        let mut link = address_message(RTM_NEWLINK, 0, 4, &[]);
        link.extend([0; 8]);
        let length = u32::try_from(link.len()).unwrap();
        link[..4].copy_from_slice(&length.to_ne_bytes());
        link[HEADER + 8..HEADER + 12].copy_from_slice(&0x1_0043u32.to_ne_bytes());
        assert_eq!(decode(&link, ip), [Notice::Link { ifindex: 4, up: true }]);
        link[HEADER + 8..HEADER + 12].copy_from_slice(&0x1003u32.to_ne_bytes());
        assert_eq!(decode(&link, ip), [Notice::Link { ifindex: 4, up: false }]);
    }

    #[test]
    fn routes_of_the_main_table_and_removed_rules_are_routing_news() {
        let ip: IpAddr = "192.0.2.50".parse().unwrap();
        // rtmsg's table byte is the fifth of the payload.
        let route = |kind: u16, table: u8| {
            let mut m = address_message(kind, 9, 0, &[]);
            m[HEADER + 4] = table;
            m
        };
        let changed = Notice::Routing { by_port: 9, rule_removed: false };
        assert_eq!(decode(&route(RTM_NEWROUTE, 254), ip), std::slice::from_ref(&changed));
        assert_eq!(decode(&route(RTM_DELROUTE, 254), ip), [changed]);
        assert!(decode(&route(RTM_NEWROUTE, 255), ip).is_empty(), "the local table is the kernel's own");
        assert!(decode(&route(RTM_NEWROUTE, 100), ip).is_empty(), "another table, the VIP's own included");
        assert_eq!(decode(&route(RTM_DELRULE, 0), ip), [Notice::Routing { by_port: 9, rule_removed: true }]);
    }

    #[test]
    fn a_truncated_datagram_decodes_to_nothing() {
        let ip: IpAddr = "192.0.2.50".parse().unwrap();
        let whole = address_message(RTM_DELADDR, 1, 3, &[(IFA_ADDRESS, &V4)]);
        assert!(decode(&whole[..whole.len() - 2], ip).is_empty());
        assert!(decode(&[0; 10], ip).is_empty());
    }
}
