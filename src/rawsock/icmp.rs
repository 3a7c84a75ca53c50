//! A raw ICMP (or ICMPv6) socket bound to the VIP, for the reachability
//! check: echo requests leave with the VIP as their source, and only
//! datagrams addressed to the VIP come back.

use super::readable_before;
use nix::sys::socket::{
    AddressFamily, MsgFlags, SockFlag, SockProtocol, SockType, SockaddrIn, SockaddrIn6, SockaddrStorage,
    bind, recvfrom, sendto, setsockopt, socket, sockopt,
};
use std::io;
use std::net::{IpAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsRawFd, OwnedFd};
use std::time::Instant;

/// A raw ICMP socket of the VIP's family, bound to the VIP.
pub struct IcmpSocket {
    fd: OwnedFd,
}

impl IcmpSocket {
    pub fn open(vip: IpAddr) -> io::Result<IcmpSocket> {
        let flags = SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK;
        let fd = match vip {
            IpAddr::V4(v4) => {
                let fd = socket(AddressFamily::Inet, SockType::Raw, flags, SockProtocol::Icmp)?;
                setsockopt(&fd, sockopt::Broadcast, &true)?;
                bind(fd.as_raw_fd(), &SockaddrIn::from(SocketAddrV4::new(v4, 0)))?;
                fd
            }
            IpAddr::V6(v6) => {
                let fd = socket(AddressFamily::Inet6, SockType::Raw, flags, SockProtocol::IcmpV6)?;
                bind(fd.as_raw_fd(), &SockaddrIn6::from(SocketAddrV6::new(v6, 0, 0, 0)))?;
                fd
            }
        };
        Ok(IcmpSocket { fd })
    }

    /// Sends one ICMP message to `target`; `scope` is the interface for
    /// IPv6 link-local and multicast targets.
    pub fn send_to(&self, message: &[u8], target: IpAddr, scope: u32) -> io::Result<()> {
        let fd = self.fd.as_raw_fd();
        match target {
            IpAddr::V4(dst) => {
                sendto(fd, message, &SockaddrIn::from(SocketAddrV4::new(dst, 0)), MsgFlags::empty())
            }
            IpAddr::V6(dst) => sendto(
                fd,
                message,
                &SockaddrIn6::from(SocketAddrV6::new(dst, 0, 0, scope)),
                MsgFlags::empty(),
            ),
        }
        .map(drop)
        .map_err(io::Error::from)
    }

    /// Waits until `deadline` for the next datagram; returns its length in
    /// `buf` and its source, or `None` when the deadline passed.
    pub fn receive_until(&self, deadline: Instant, buf: &mut [u8]) -> io::Result<Option<(usize, IpAddr)>> {
        while readable_before(&self.fd, deadline)? {
            if let Some(received) = self.receive(buf)? {
                return Ok(Some(received));
            }
        }
        Ok(None)
    }

    /// The next queued datagram and its source, or `None` when none is queued.
    fn receive(&self, buf: &mut [u8]) -> io::Result<Option<(usize, IpAddr)>> {
        loop {
            match recvfrom::<SockaddrStorage>(self.fd.as_raw_fd(), buf) {
                Ok((len, Some(from))) => {
                    let ip = from
                        .as_sockaddr_in()
                        .map(|a| IpAddr::V4(a.ip()))
                        .or_else(|| from.as_sockaddr_in6().map(|a| IpAddr::V6(a.ip())));
                    if let Some(ip) = ip {
                        return Ok(Some((len, ip)));
                    }
                }
                Ok((_, None)) => {}
                Err(nix::errno::Errno::EAGAIN) => return Ok(None),
                Err(nix::errno::Errno::EINTR) => {}
                Err(err) => return Err(err.into()),
            }
        }
    }
}
