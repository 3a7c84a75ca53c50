//! LVS direct-routing support (`lvs_support`): a real server keeps the VIP
//! on lo so it accepts the balancer's traffic without answering ARP for it.
//! When the VIP starts here, the lo copy is taken away and remembered; when
//! it stops, the lo copy comes back, as IPaddr2 does.

use super::Vip;
use super::locate::LOOPBACK_IFINDEX;
use crate::error::{AgentResult, Doing};
use crate::netlink::{IpFamily, NewAddress};
use crate::ocf::log;

impl Vip<'_> {
    fn lvs_file(&self) -> String {
        self.state_file("lvs")
    }

    /// Removes the VIP from lo, if it is there, and records how it was.
    pub fn take_from_loopback(&self) -> AgentResult<()> {
        if !self.params.lvs.support {
            return Ok(());
        }
        let (nl, params, run_dir) = (self.nl, self.params, self.run_dir());
        let on_lo = nl
            .addresses(LOOPBACK_IFINDEX, IpFamily::V4)
            .doing(|| "listing the addresses of lo".to_string())?;
        let Some(entry) = on_lo.into_iter().find(|a| a.ip == params.ip) else {
            return Ok(());
        };
        log::info(format!("Removing conflicting loopback address {}/{} from lo", entry.ip, entry.prefix));
        let record = format!(
            "{} {}\n",
            entry.prefix,
            entry.broadcast.map(|b| b.to_string()).unwrap_or_else(|| "-".into())
        );
        if let Err(err) = run_dir.write(&self.lvs_file(), &record) {
            log::error(format!(
                "could not save the loopback address {} in {}: {err}; it will not be restored on stop",
                params.ip,
                run_dir.path().display()
            ));
        }
        nl.delete_address(entry.ip, entry.prefix, LOOPBACK_IFINDEX)
            .doing(|| format!("removing {}/{} from lo", entry.ip, entry.prefix))
    }

    /// Puts the VIP back on lo if `take_from_loopback` removed it.
    pub fn give_back_to_loopback(&self) -> AgentResult<()> {
        if !self.params.lvs.support {
            return Ok(());
        }
        let (nl, params, run_dir) = (self.nl, self.params, self.run_dir());
        let name = self.lvs_file();
        let record = match run_dir.read(&name) {
            Ok(Some(record)) => record,
            Ok(None) => return Ok(()),
            Err(err) => {
                log::warn(format!("ignoring unreadable loopback record {name}: {err}"));
                let _ = run_dir.remove(&name);
                return Ok(());
            }
        };
        let mut fields = record.split_whitespace();
        let prefix = fields.next().and_then(|p| p.parse::<u8>().ok()).filter(|p| (1..=32).contains(p));
        let broadcast = fields.next().and_then(|b| b.parse().ok());
        let Some(prefix) = prefix else {
            log::warn(format!("ignoring corrupt loopback record {name}"));
            let _ = run_dir.remove(&name);
            return Ok(());
        };
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
        };
        match nl.add_address(&new) {
            Err(err) if err.errno() != Some(crate::netlink::libc_errno::EEXIST) => {
                return Err(err).doing(|| format!("restoring {}/{prefix} on lo", params.ip));
            }
            _ => {}
        }
        run_dir.remove(&name).doing(|| format!("removing {}", run_dir.file(&name).display()))
    }
}
