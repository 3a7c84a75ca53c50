//! Links: one by index or by name, every link's MAC, and bringing one up.

use super::{Netlink, NlResult, libc_errno};
use crate::packet::Mac;
use rtnetlink::packet_core::{NLM_F_ACK, NLM_F_DUMP};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::link::{LinkAttribute, LinkFlags, LinkMessage, State};

/// The link facts the agent needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEntry {
    pub ifindex: u32,
    pub name: String,
    pub admin_up: bool,
    pub oper_state: State,
    pub mac: Option<Mac>,
    pub loopback: bool,
}

impl Netlink {
    /// One link by index (a single request, not a dump).
    pub fn link(&self, ifindex: u32) -> NlResult<Option<LinkEntry>> {
        let mut request = LinkMessage::default();
        request.header.index = ifindex;
        self.get_link(request)
    }

    /// Sends one RTM_GETLINK (not a dump); a link that does not exist is `None`.
    fn get_link(&self, request: LinkMessage) -> NlResult<Option<LinkEntry>> {
        let replies = match self.exchange(RouteNetlinkMessage::GetLink(request), 0) {
            Ok(replies) => replies,
            Err(err) if err.errno() == Some(libc_errno::ENODEV) => return Ok(None),
            Err(err) => return Err(err),
        };
        Ok(replies.into_iter().find_map(|reply| match reply {
            RouteNetlinkMessage::NewLink(msg) => Some(link_entry(msg)),
            _ => None,
        }))
    }

    /// The MAC addresses of every link in this namespace: answers from them
    /// are this host's own.
    pub fn link_macs(&self) -> NlResult<Vec<Mac>> {
        let replies = self.exchange(RouteNetlinkMessage::GetLink(LinkMessage::default()), NLM_F_DUMP)?;
        Ok(replies
            .into_iter()
            .filter_map(|reply| match reply {
                RouteNetlinkMessage::NewLink(msg) => link_entry(msg).mac,
                _ => None,
            })
            .collect())
    }

    /// One link by name: its index and state in a single request, cheaper
    /// than an `if_nametoindex` ioctl followed by a lookup by index.
    pub fn link_by_name(&self, name: &str) -> NlResult<Option<LinkEntry>> {
        let mut request = LinkMessage::default();
        request.attributes.push(LinkAttribute::IfName(name.to_string()));
        self.get_link(request)
    }

    /// Sets the link administratively up, as IPaddr2 does after adding.
    pub fn set_link_up(&self, ifindex: u32) -> NlResult<()> {
        let mut request = LinkMessage::default();
        request.header.index = ifindex;
        request.header.flags = LinkFlags::Up;
        request.header.change_mask = LinkFlags::Up;
        self.exchange(RouteNetlinkMessage::SetLink(request), NLM_F_ACK).map(drop)
    }
}

fn link_entry(msg: LinkMessage) -> LinkEntry {
    let mut link = LinkEntry {
        ifindex: msg.header.index,
        name: String::new(),
        admin_up: msg.header.flags.contains(LinkFlags::Up),
        oper_state: State::Unknown,
        mac: None,
        loopback: msg.header.flags.contains(LinkFlags::Loopback),
    };
    for attr in msg.attributes {
        match attr {
            LinkAttribute::IfName(name) => link.name = name,
            LinkAttribute::OperState(state) => link.oper_state = state,
            LinkAttribute::Address(bytes) => {
                link.mac = <[u8; 6]>::try_from(bytes.as_slice()).ok().map(Mac::from)
            }
            _ => {}
        }
    }
    link
}
