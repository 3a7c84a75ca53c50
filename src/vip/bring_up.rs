//! Bringing the address up, shared by start, recover, the watcher's repair
//! and the cluster IP: check, probe and record, then apply the parts
//! (`parts`) in order; and undo what was applied if any part fails, so
//! that a failed start leaves nothing behind.

use super::context::Vip;
use super::owned::{Added, Progress, Removal};
use super::parts::Part;
use super::place::{Site, Spot, Target, site_problem};
use super::wire::Wire;
use crate::error::{AgentError, AgentResult};
use crate::netlink::AddressEntry;
use crate::ocf::{ExitCode, log};

impl Vip<'_> {
    /// The address is in place already (with its label: `whereabouts`
    /// checked it): succeed if its link is whole, and apply what a start
    /// killed half-way may have left out.
    pub fn confirm_running(&self, site: &Site, entry: &AddressEntry) -> AgentResult<ExitCode> {
        let ip = self.params.ip;
        if let Some(problem) = site_problem(site).filter(|_| self.params.link_checked()) {
            return Err(AgentError::installed(format!("{ip} is configured, but {problem}")));
        }
        self.source_routes().take_over(Spot { site, prefix: entry.prefix })?;
        // A start killed before it recorded the creation time, or a tag
        // someone's change dropped since.
        let address = self.own_address();
        address.remember_creation(entry);
        address.restore_tag(site, entry);
        let drifted = self.virtual_interface().verify_at(site)?;
        if !drifted.is_empty() {
            log::warn(format!("{ip}: {}", drifted.join("; ")));
        }
        log::debug(format!("{ip}/{} is already on {}", entry.prefix, site.nic));
        Ok(ExitCode::Success)
    }

    /// Probes, records, then applies every part (see `parts`) up to the
    /// announcer at `target`; undoes what it applied if any part fails.
    pub fn bring_up(&self, target: &Target) -> AgentResult<ExitCode> {
        let params = self.params;
        if params.require_maintenance_address {
            self.checks().maintenance_address(target)?;
        }
        if params.ping.on_start {
            // A check that can never run is a configuration error, found before any change.
            self.checks().ping_targets(Spot { site: &target.site, prefix: target.prefix })?;
        }
        if let Some(mac) = self.virtual_mac() {
            self.virtual_interface().check_mac(mac, target.ifindex())?;
        }
        // Probes leave by the NIC, with the node's MAC (virtual_mac's interface does not exist yet).
        let wire = Wire::open(self, &target.site)?;
        self.probing().before_add(&target.site, wire.as_ref())?;
        // Recorded before the add: a start killed at any instant leaves stop what it needs.
        let record = self.write_record(target, super::address::kernel_keeps_address_tags(), None)?;
        let mut start = Progress { record, target: target.clone(), wire, added: None };
        for part in Part::brought_up() {
            if let Err(err) = self.owned(part).apply(&mut start) {
                start.undo_failed(self, part);
                return Err(err);
            }
        }
        let vip = self.with_record(&start.record);
        if params.ping.on_start {
            if let Err(err) = vip.checks().ping_after_start(start.spot()) {
                match start.added {
                    // The racing start that added it keeps it; the VIP it
                    // announces does not reach the network.
                    Some(Added::Already) => vip.announcer().stop(),
                    _ => start.undo(self, Part::Announcer),
                }
                return Err(err);
            }
        }
        Ok(ExitCode::Success)
    }
}

impl Progress {
    /// Undoes a start whose `failed` part could not be applied: the part
    /// itself (it may have got halfway) and every part before it; once the
    /// address was added, everything up to the announcer. Nothing is undone
    /// when a racing start of this VIP added the address: what it holds is
    /// its own.
    fn undo_failed(&self, vip: &Vip, failed: Part) {
        let last = match self.added {
            Some(Added::Already) => return,
            Some(Added::ByUs) => Part::Announcer,
            // The add itself failed: this start put nothing there.
            None if failed == Part::Address => Part::VirtualLink,
            None => failed,
        };
        self.undo(vip, last);
    }

    /// Undoes a start of `vip` that failed once it had applied `last` (see
    /// `parts`): every part up to it comes off, last first, by what this
    /// start recorded, and the record goes once nothing it names is left,
    /// so that a start killed during the undo leaves stop what it needs.
    fn undo(&self, vip: &Vip, last: Part) {
        let vip = vip.with_record(&self.record);
        let mut all_gone = true;
        for part in Part::applied_up_to(last) {
            let undone = match part {
                // Where this start put it, whatever the record says by now.
                Part::Address => vip.own_address().remove_at(&self.target, Removal::Rollback),
                part => vip.remove_part(part, Removal::Rollback),
            };
            if let Err(err) = undone {
                log::error(format!("after the failed start: {}", err.reason));
                all_gone = false;
            }
        }
        if all_gone {
            let _ = vip.remove_record();
        }
    }
}
