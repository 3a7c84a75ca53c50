//! The raw socket a VIP probes and announces through: opened on its
//! interface for its family, or taken over from the action that handed it
//! to the background announcer. One socket serves a whole start (the probes,
//! then the first announcement, then the announcer's rounds): opening and
//! closing packet sockets is what costs time here.

use super::context::Vip;
use super::pacing::Pacer;
use super::place::Site;
use crate::convergence::Asking;
use crate::error::{AgentError, AgentResult, Doing};
use crate::netlink::LinkEntry;
use crate::ocf::log;
use crate::pace::Urgency;
use crate::packet::Mac;
use crate::probe;
use crate::rawsock::PacketSocket;
use std::io;
use std::time::Instant;

/// A raw socket on the VIP's interface and the MAC to send from.
pub struct Wire {
    pub(super) sock: PacketSocket,
    pub(super) mac: Mac,
    pub(super) link: LinkEntry,
}

impl Wire {
    /// Opens the wire for `vip`'s family on `site`, or `None` (with the
    /// reason logged) where ARP/NDP do not apply: loopback, a link without a
    /// 6-byte hardware address, or a link that is administratively down (a
    /// socket opened then cannot send later).
    pub fn open(vip: &Vip, site: &Site) -> AgentResult<Option<Wire>> {
        let link = vip
            .nl
            .link(site.ifindex)
            .doing(|| format!("reading the state of {}", site.nic))?
            .ok_or_else(|| AgentError::generic(format!("nic {} disappeared", site.nic)))?;
        if link.loopback {
            log::debug(format!("{} is a loopback interface: no ARP/NDP needed", link.name));
            return Ok(None);
        }
        if !link.admin_up {
            log::debug(format!("{} is administratively down: no raw socket yet", link.name));
            return Ok(None);
        }
        let Some(mac) = link.mac else {
            log::warn(format!(
                "{} has no Ethernet address: the built-in sender cannot probe or announce on it",
                link.name
            ));
            return Ok(None);
        };
        let sock = PacketSocket::open(site.ifindex, probe::ethertype_for(vip.params.ip))
            .doing(|| format!("opening a raw socket on {}", site.nic))?;
        Ok(Some(Wire { sock, mac, link }))
    }

    /// Takes over the socket an action handed to `vip`'s background
    /// announcer as `fd`.
    pub fn inherited(vip: &Vip, fd: i32, site: &Site) -> Option<Wire> {
        let sock = PacketSocket::adopt(fd).ok()?;
        let link = vip.nl.link(site.ifindex).ok()??;
        Some(Wire { mac: link.mac?, sock, link })
    }

    /// Asks the gateways `asking` awaits, within `pacer`'s budget, and
    /// listens until `until` or until every one has answered.
    pub fn ask(&self, pacer: &Pacer, asking: &mut Asking, until: Instant) -> AgentResult<()> {
        pacer
            .send(&self.sock, &asking.questions(self.mac), Urgency::Repeat)
            .doing(|| format!("asking the gateways on {}", self.link.name))?;
        self.listen(asking, until).doing(|| format!("listening for the gateways on {}", self.link.name))
    }

    /// Hears the answers `asking` awaits until `until`, or until none is awaited.
    pub(super) fn listen(&self, asking: &mut Asking, until: Instant) -> io::Result<()> {
        let mut buf = [0u8; 2048];
        while !asking.is_done() {
            let Some(len) = self.sock.receive_until(until, &mut buf)? else { break };
            asking.hear(&buf[..len]);
        }
        Ok(())
    }
}
