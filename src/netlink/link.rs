//! Links: one by index or by name, every link's MAC, bringing one up, and
//! the macvlan interface of `virtual_mac` (created, deleted). Replies are
//! read in place: a link message carries dozens of attributes (statistics,
//! per-family configuration) and the agent needs a few facts.

use super::in_place::undecodable;
use super::{Netlink, NlResult, libc_errno};
use crate::packet::Mac;
use rtnetlink::packet_core::NLM_F_CREATE;
use rtnetlink::packet_core::NLM_F_EXCL;
use rtnetlink::packet_core::{DecodeError, NLM_F_ACK, NLM_F_DUMP, NlaBuffer, NlasIterator};
use rtnetlink::packet_route::RouteNetlinkMessage;
use rtnetlink::packet_route::link::{
    InfoData, InfoKind, InfoMacVlan, LinkAttribute, LinkExtentMask, LinkFlags, LinkHeader, LinkInfo,
    LinkMessage, MacVlanMode, State,
};

const RTM_NEWLINK: u16 = 16;
const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_LINK: u16 = 5;
const IFLA_OPERSTATE: u16 = 16;
const IFLA_LINKINFO: u16 = 18;
const IFLA_INFO_KIND: u16 = 1;
/// The fixed header of a link message (struct ifinfomsg).
const IFINFOMSG_LEN: usize = 16;

/// The link facts the agent needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkEntry {
    pub ifindex: u32,
    pub name: String,
    pub admin_up: bool,
    pub oper_state: State,
    pub mac: Option<Mac>,
    pub loopback: bool,
    /// The link it is stacked on (a macvlan's or VLAN's parent).
    pub parent: Option<u32>,
    /// Its driver kind (`macvlan`, `veth`), when it has one.
    pub kind: Option<String>,
}

/// The macvlan interface `virtual_mac` asks for.
pub struct NewMacvlan<'a> {
    pub name: &'a str,
    pub parent: u32,
    pub mac: Mac,
    /// Shown by `ip link` (`alias`): whose interface it is.
    pub alias: &'a str,
}

impl Netlink {
    /// One link by index (a single request, not a dump).
    pub fn link(&self, ifindex: u32) -> NlResult<Option<LinkEntry>> {
        let mut request = LinkMessage::default();
        request.header.index = ifindex;
        self.get_link(request)
    }

    /// One link by name: its index and state in a single request, cheaper
    /// than an `if_nametoindex` ioctl followed by a lookup by index.
    pub fn link_by_name(&self, name: &str) -> NlResult<Option<LinkEntry>> {
        let mut request = LinkMessage::default();
        request.attributes.push(LinkAttribute::IfName(name.to_string()));
        self.get_link(request)
    }

    /// Sends one RTM_GETLINK (not a dump), without statistics, which the
    /// agent never reads; a link that does not exist is `None`.
    fn get_link(&self, mut request: LinkMessage) -> NlResult<Option<LinkEntry>> {
        request.attributes.push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
        let mut found = None;
        let asked = self.read_in_place(RouteNetlinkMessage::GetLink(request), 0, |kind, payload| {
            if kind == RTM_NEWLINK {
                found = Some(link_entry(payload).map_err(undecodable)?);
            }
            Ok(())
        });
        match asked {
            Err(err) if err.errno() == Some(libc_errno::ENODEV) => Ok(None),
            asked => asked.map(|()| found),
        }
    }

    /// The MAC addresses of every link in this namespace: answers from them
    /// are this host's own.
    pub fn link_macs(&self) -> NlResult<Vec<Mac>> {
        Ok(self.links()?.into_iter().filter_map(|link| link.mac).collect())
    }

    /// Every link in this namespace.
    pub fn links(&self) -> NlResult<Vec<LinkEntry>> {
        let mut request = LinkMessage::default();
        request.attributes.push(LinkAttribute::ExtMask(vec![LinkExtentMask::SkipStats]));
        let mut links = Vec::new();
        self.read_in_place(RouteNetlinkMessage::GetLink(request), NLM_F_DUMP, |kind, payload| {
            if kind == RTM_NEWLINK {
                links.push(link_entry(payload).map_err(undecodable)?);
            }
            Ok(())
        })?;
        Ok(links)
    }

    /// Creates a macvlan interface in bridge mode, administratively down
    /// (so its settings can be made before it speaks); fails if the name
    /// is taken.
    pub fn add_macvlan(&self, new: &NewMacvlan) -> NlResult<()> {
        let mut request = LinkMessage::default();
        request.attributes = vec![
            LinkAttribute::IfName(new.name.to_string()),
            LinkAttribute::Link(new.parent),
            LinkAttribute::Address(new.mac.octets().to_vec()),
            LinkAttribute::IfAlias(new.alias.to_string()),
            LinkAttribute::LinkInfo(vec![
                LinkInfo::Kind(InfoKind::MacVlan),
                LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(MacVlanMode::Bridge)])),
            ]),
        ];
        let flags = NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL;
        self.exchange(RouteNetlinkMessage::NewLink(request), flags).map(drop)
    }

    /// Deletes a link; one already gone is not an error.
    pub fn delete_link(&self, ifindex: u32) -> NlResult<()> {
        let mut request = LinkMessage::default();
        request.header.index = ifindex;
        match self.exchange(RouteNetlinkMessage::DelLink(request), NLM_F_ACK) {
            Err(err) if err.errno() == Some(libc_errno::ENODEV) => Ok(()),
            done => done.map(drop),
        }
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

/// The facts of one RTM_NEWLINK payload, read where they lie.
fn link_entry(payload: &[u8]) -> Result<LinkEntry, DecodeError> {
    let header = LinkHeader::parse(payload)?;
    let mut link = LinkEntry {
        ifindex: header.index,
        name: String::new(),
        admin_up: header.flags.contains(LinkFlags::Up),
        oper_state: State::Unknown,
        mac: None,
        loopback: header.flags.contains(LinkFlags::Loopback),
        parent: None,
        kind: None,
    };
    for attribute in NlasIterator::new(payload.get(IFINFOMSG_LEN..).unwrap_or_default()) {
        let attribute: NlaBuffer<&[u8]> = attribute?;
        let value = attribute.value();
        match attribute.kind() {
            IFLA_IFNAME => {
                // A C string: up to its first NUL.
                let name = value.split(|&byte| byte == 0).next().unwrap_or_default();
                link.name = String::from_utf8_lossy(name).into_owned();
            }
            IFLA_OPERSTATE => link.oper_state = value.first().copied().map_or(State::Unknown, State::from),
            IFLA_ADDRESS => link.mac = <[u8; 6]>::try_from(value).ok().map(Mac::from),
            IFLA_LINK => link.parent = <[u8; 4]>::try_from(value).ok().map(u32::from_ne_bytes),
            IFLA_LINKINFO => link.kind = info_kind(value)?,
            _ => {}
        }
    }
    Ok(link)
}

/// The driver kind inside an IFLA_LINKINFO attribute.
fn info_kind(linkinfo: &[u8]) -> Result<Option<String>, DecodeError> {
    for attribute in NlasIterator::new(linkinfo) {
        let attribute: NlaBuffer<&[u8]> = attribute?;
        if attribute.kind() == IFLA_INFO_KIND {
            let name = attribute.value().split(|&byte| byte == 0).next().unwrap_or_default();
            return Ok(Some(String::from_utf8_lossy(name).into_owned()));
        }
    }
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rtnetlink::packet_core::Emitable;
    use rtnetlink::packet_route::link::{LinkLayerType, Stats64};

    fn payload(flags: LinkFlags, attributes: Vec<LinkAttribute>) -> Vec<u8> {
        let mut message = LinkMessage::default();
        message.header.index = 7;
        message.header.link_layer_type = LinkLayerType::Ether;
        message.header.flags = flags;
        message.attributes = attributes;
        let mut bytes = vec![0; message.buffer_len()];
        message.emit(&mut bytes);
        bytes
    }

    #[test]
    fn the_four_facts_are_read_and_every_other_attribute_skipped() {
        let bytes = payload(
            LinkFlags::Up | LinkFlags::Broadcast,
            vec![
                LinkAttribute::Mtu(1500),
                LinkAttribute::IfName("eth0".into()),
                LinkAttribute::Stats64(Stats64::default()),
                LinkAttribute::OperState(State::Up),
                LinkAttribute::Address(vec![0x02, 0, 0, 0, 0, 0x0a]),
                LinkAttribute::Link(3),
                LinkAttribute::LinkInfo(vec![LinkInfo::Kind(InfoKind::MacVlan)]),
            ],
        );
        let link = link_entry(&bytes).unwrap();
        assert_eq!(
            link,
            LinkEntry {
                ifindex: 7,
                name: "eth0".into(),
                admin_up: true,
                oper_state: State::Up,
                mac: Some(Mac::from([0x02, 0, 0, 0, 0, 0x0a])),
                loopback: false,
                parent: Some(3),
                kind: Some("macvlan".into()),
            }
        );
    }

    #[test]
    fn a_link_without_an_ethernet_address_or_state_reads_as_such() {
        let bytes = payload(
            LinkFlags::Loopback,
            vec![LinkAttribute::IfName("tun0".into()), LinkAttribute::Address(vec![1, 2, 3, 4])],
        );
        let link = link_entry(&bytes).unwrap();
        assert_eq!((link.name.as_str(), link.admin_up, link.loopback), ("tun0", false, true));
        assert_eq!((link.mac, link.oper_state), (None, State::Unknown));
        assert_eq!((link.parent, link.kind), (None, None));
    }

    #[test]
    fn a_truncated_link_message_is_an_error() {
        let bytes = payload(LinkFlags::Up, vec![LinkAttribute::IfName("eth0".into())]);
        assert!(link_entry(&bytes[..IFINFOMSG_LEN - 1]).is_err());
        assert!(link_entry(&bytes[..bytes.len() - 4]).is_err(), "an attribute cut short");
    }
}
