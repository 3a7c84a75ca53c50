//! LVS direct-routing support (`lvs_support`): a real server keeps the VIP
//! on lo so it accepts the balancer's traffic without answering ARP for it.
//! When the VIP starts here, the lo copy is taken away and remembered; when
//! it stops, the lo copy comes back, as IPaddr2 does.

use super::context::Vip;
use super::locate::LOOPBACK_IFINDEX;
use super::owned::{OwnedPart, Progress, Removal};
use crate::error::{AgentResult, Doing};
use crate::netlink::{IpFamily, NewAddress};
use crate::ocf::log;
use crate::store::Kind;
use serde::{Deserialize, Serialize};
use std::net::Ipv4Addr;

/// The loopback copy start took away, as it was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LoopbackCopy {
    pub prefix: u8,
    pub broadcast: Option<Ipv4Addr>,
}

impl<'a> Vip<'a> {
    /// This resource's `lvs_support` part: the real server's copy on lo it takes over.
    pub fn loopback_take_over(&self) -> LoopbackTakeOver<'a> {
        LoopbackTakeOver { vip: *self }
    }
}

/// `lvs_support`'s part of a resource: the real server's copy of the VIP on
/// lo, taken away (and remembered) before the address is added, given back
/// after it is removed.
pub struct LoopbackTakeOver<'a> {
    vip: Vip<'a>,
}

impl LoopbackTakeOver<'_> {
    fn file(&self) -> String {
        self.vip.key.file(Kind::Loopback)
    }

    /// Removes the VIP from lo, if it is there, and records how it was.
    fn take(&self) -> AgentResult<()> {
        if !self.vip.params.lvs.support {
            return Ok(());
        }
        let (nl, params, run_dir) = (self.vip.nl, self.vip.params, self.vip.run_dir());
        let on_lo = nl
            .addresses(LOOPBACK_IFINDEX, IpFamily::V4)
            .doing(|| "listing the addresses of lo".to_string())?;
        let Some(entry) = on_lo.into_iter().find(|a| a.ip == params.ip) else {
            return Ok(());
        };
        let copy = LoopbackCopy { prefix: entry.prefix, broadcast: entry.broadcast };
        if let Err(err) = run_dir.save(&self.file(), &copy) {
            log::error(format!(
                "could not save the loopback address {}: {err}; it will not be restored on stop",
                params.ip
            ));
        }
        let lo = self.vip.lookup().site_by_index(LOOPBACK_IFINDEX, "lo")?;
        self.vip.own_address().remove_entry(&lo, &entry, Removal::LoopbackHandOver)
    }

    /// Puts the VIP back on lo if `take` removed it.
    fn give_back(&self) -> AgentResult<()> {
        if !self.vip.params.lvs.support {
            return Ok(());
        }
        let (nl, params, run_dir) = (self.vip.nl, self.vip.params, self.vip.run_dir());
        let name = self.file();
        let copy = match run_dir.load::<LoopbackCopy>(&name) {
            Ok(Some(copy)) if (1..=32).contains(&copy.prefix) => copy,
            Ok(None) => return Ok(()),
            Ok(Some(_)) => {
                log::warn(format!("ignoring corrupt loopback record {name}"));
                let _ = run_dir.remove(&name);
                return Ok(());
            }
            Err(err) => {
                log::warn(format!("ignoring the unreadable loopback record: {err}"));
                let _ = run_dir.remove(&name);
                return Ok(());
            }
        };
        let (prefix, broadcast) = (copy.prefix, copy.broadcast);
        log::info(format!("Restoring loopback address {}/{prefix} on lo", params.ip));
        let new = NewAddress {
            ip: params.ip,
            prefix,
            ifindex: LOOPBACK_IFINDEX,
            broadcast,
            label: None,
            nodad: false,
            noprefixroute: false,
            preferred_lft: None,
            metric: None,
            // The admin's copy, given back as it was: not the agent's.
            protocol: None,
        };
        match nl.add_address(&new) {
            Err(err) if err.errno() != Some(crate::netlink::libc_errno::EEXIST) => {
                return Err(err).doing(|| format!("restoring {}/{prefix} on lo", params.ip));
            }
            _ => {}
        }
        run_dir.remove(&name).doing(|| "removing the loopback record".to_string())
    }
}

impl OwnedPart for LoopbackTakeOver<'_> {
    fn apply(&self, _start: &mut Progress) -> AgentResult<()> {
        self.take()
    }

    fn remove(&self, _why: Removal) -> AgentResult<()> {
        self.give_back()
    }
}
