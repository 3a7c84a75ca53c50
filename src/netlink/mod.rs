//! The only place that talks rtnetlink. It speaks in intentions (add this
//! address to that link, list the addresses of one link) and decides no
//! policy. Requests are synchronous from the caller's point of view, with
//! strict checking on, so that dump requests are filtered by the kernel (by
//! interface, by family, by table) and their cost does not grow with the
//! objects of other interfaces, families or tables (what an IPv4 address
//! lookup still pays for its own interface's addresses: address_lookup).
//! Two doors lead to the kernel, both opened here:
//! `exchange`, a current-thread tokio runtime driving one rtnetlink
//! connection, decodes whole replies and serves every request that
//! changes something; `read_in_place` (in `in_place`) serves the lookups a
//! monitor makes over a plain socket and decodes only what they ask about.
//! The runtime is built by the first request that needs it, so a monitor,
//! which runs every few seconds for every VIP, never pays for it.
//!
//! `address` holds the address and address-label requests,
//! `address_lookup` the lookup of one address whatever else its interface
//! holds, `route` the route requests and lookups, `link` the link requests,
//! `policy` the source rule and table of a VIP on an interface of its own;
//! `notifications` hears the kernel's news about one address (the watcher);
//! `saved_route` keeps a route byte for byte; `in_place` reads an answer
//! where it lies; `sock_diag` resets the TCP connections of an address
//! (socket diagnostics, the one netlink family besides rtnetlink).

mod address;
mod address_lookup;
mod in_place;
mod link;
mod notifications;
mod policy;
mod route;
mod saved_route;
mod sock_diag;

pub use address::{AddressEntry, NewAddress};
pub use link::{LinkEntry, NewMacvlan};
pub use notifications::{Notice, Subscription};
pub use policy::{SourceRule, TableRoute};
pub use route::{RouteEntry, RouteFilter};
pub use saved_route::SavedRoute;
pub use sock_diag::reset_connections;

use futures_util::StreamExt;
use rtnetlink::packet_core::{NLM_F_REQUEST, NetlinkMessage, NetlinkPayload};
use rtnetlink::packet_route::{AddressFamily, RouteNetlinkMessage};
use std::cell::OnceCell;
use std::io;
use std::net::IpAddr;

/// The main routing table (`ip route` without `table`).
pub const TABLE_MAIN: u32 = 254;
/// The local table, where the kernel keeps one route per local address.
pub const TABLE_LOCAL: u32 = 255;
/// The protocol of the routes the kernel adds for addresses.
pub const RTPROT_KERNEL: u8 = 2;

/// A failed netlink exchange: the kernel's errno, or a transport problem.
#[derive(Debug, thiserror::Error)]
pub enum NetlinkError {
    #[error("{0}")]
    Kernel(io::Error),
    #[error("netlink transport: {0}")]
    Transport(String),
}

impl NetlinkError {
    pub fn errno(&self) -> Option<i32> {
        match self {
            NetlinkError::Kernel(err) => err.raw_os_error(),
            NetlinkError::Transport(_) => None,
        }
    }
}

pub type NlResult<T> = Result<T, NetlinkError>;

/// An address family, as the kernel's requests and filters take it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IpFamily {
    V4,
    V6,
}

impl IpFamily {
    pub fn of(ip: IpAddr) -> IpFamily {
        if ip.is_ipv4() { IpFamily::V4 } else { IpFamily::V6 }
    }

    fn address_family(self) -> AddressFamily {
        match self {
            IpFamily::V4 => AddressFamily::Inet,
            IpFamily::V6 => AddressFamily::Inet6,
        }
    }

    /// The prefix length of one host: 32 or 128.
    fn host_prefix(self) -> u8 {
        match self {
            IpFamily::V4 => 32,
            IpFamily::V6 => 128,
        }
    }
}

/// The agent's netlink sockets, all in the network namespace that was
/// current when it was opened (the agent enters the VIP's namespace first
/// and never leaves it).
pub struct Netlink {
    plain: in_place::PlainSocket,
    connection: OnceCell<Connection>,
}

/// An rtnetlink connection and the runtime that drives it.
struct Connection {
    runtime: tokio::runtime::Runtime,
    handle: rtnetlink::Handle,
}

impl Netlink {
    /// Opens a socket in the current network namespace; the connection
    /// that changes things follows on the first request that needs it.
    pub fn open() -> io::Result<Netlink> {
        let plain = in_place::PlainSocket::open()?;
        Ok(Netlink { plain, connection: OnceCell::new() })
    }

    fn connection(&self) -> NlResult<&Connection> {
        if let Some(connection) = self.connection.get() {
            return Ok(connection);
        }
        let connected = Connection::open().map_err(NetlinkError::Kernel)?;
        Ok(self.connection.get_or_init(|| connected))
    }

    /// Sends one request and collects the replies until the kernel is done.
    fn exchange(&self, message: RouteNetlinkMessage, flags: u16) -> NlResult<Vec<RouteNetlinkMessage>> {
        before_change(&message);
        let mut request = NetlinkMessage::from(message);
        request.header.flags = NLM_F_REQUEST | flags;
        let connection = self.connection()?;
        let mut handle = connection.handle.clone();
        connection.runtime.block_on(async move {
            let mut replies = handle.request(request).map_err(|e| NetlinkError::Transport(e.to_string()))?;
            let mut out = Vec::new();
            while let Some(reply) = replies.next().await {
                match reply.payload {
                    NetlinkPayload::InnerMessage(inner) => out.push(inner),
                    NetlinkPayload::Error(err) => {
                        if let Some(code) = err.code {
                            return Err(NetlinkError::Kernel(io::Error::from_raw_os_error(-code.get())));
                        }
                    }
                    _ => {}
                }
            }
            Ok(out)
        })
    }
}

/// The crash point of a request that changes the node (crash_point.rs);
/// one that only reads is none.
fn before_change(message: &RouteNetlinkMessage) {
    let change = match message {
        RouteNetlinkMessage::NewAddress(_) => "new address",
        RouteNetlinkMessage::DelAddress(_) => "delete address",
        RouteNetlinkMessage::NewAddrLabel(_) => "new address label",
        RouteNetlinkMessage::DelAddrLabel(_) => "delete address label",
        RouteNetlinkMessage::NewRoute(_) => "new route",
        RouteNetlinkMessage::DelRoute(_) => "delete route",
        RouteNetlinkMessage::NewRule(_) => "new rule",
        RouteNetlinkMessage::DelRule(_) => "delete rule",
        RouteNetlinkMessage::NewLink(_) => "new link",
        RouteNetlinkMessage::DelLink(_) => "delete link",
        RouteNetlinkMessage::SetLink(_) => "set link",
        _ => return,
    };
    crate::crash_point::before("netlink", &change);
}

impl Connection {
    /// Opens the connection in the current network namespace: the agent's
    /// own, since it entered the VIP's before opening its first socket.
    fn open() -> io::Result<Connection> {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
        let handle = runtime.block_on(async {
            let (connection, handle, _) = rtnetlink::new_connection_with_strict_check()?;
            tokio::spawn(connection);
            Ok::<_, io::Error>(handle)
        })?;
        Ok(Connection { runtime, handle })
    }
}

/// The few errno values the agent tells apart.
pub mod libc_errno {
    pub const EEXIST: i32 = nix::errno::Errno::EEXIST as i32;
    pub const ENODEV: i32 = nix::errno::Errno::ENODEV as i32;
    pub const EADDRNOTAVAIL: i32 = nix::errno::Errno::EADDRNOTAVAIL as i32;
    pub const ENETUNREACH: i32 = nix::errno::Errno::ENETUNREACH as i32;
    pub const EHOSTUNREACH: i32 = nix::errno::Errno::EHOSTUNREACH as i32;
    pub const EACCES: i32 = nix::errno::Errno::EACCES as i32;
    pub const EINVAL: i32 = nix::errno::Errno::EINVAL as i32;
    pub const ESRCH: i32 = nix::errno::Errno::ESRCH as i32;
    pub const ENOENT: i32 = nix::errno::Errno::ENOENT as i32;
    pub const EOPNOTSUPP: i32 = nix::errno::Errno::EOPNOTSUPP as i32;
}
