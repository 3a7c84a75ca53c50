//! Bringing the address up, shared by start, recover, the watcher's repair
//! and the cluster IP: check, probe and record, then apply the parts
//! (`parts`) in order; and undo what was applied if any part fails, so
//! that a failed start leaves nothing behind.

use super::address::Added;
use super::announcing::{FirstRound, Wire};
use super::context::Vip;
use super::owned::Removal;
use super::parts::{Part, Progress};
use super::place::{Site, Spot, Target, Whereabouts, link_problem, site_problem};
use crate::error::{AgentError, AgentResult, Doing};
use crate::netlink::{AddressEntry, IpFamily};
use crate::ocf::{ExitCode, log};
use std::time::Duration;

/// How often the DAD state of a new IPv6 address is polled.
const DAD_POLL: Duration = Duration::from_millis(20);

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
        self.remember_creation(entry);
        self.restore_tag(site, entry);
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
            self.maintenance_address_check(target)?;
        }
        if params.ping.on_start {
            // A check that can never run is a configuration error, found before any change.
            self.ping_targets(Spot { site: &target.site, prefix: target.prefix })?;
        }
        if let Some(mac) = self.virtual_mac() {
            self.virtual_interface().check_mac(mac, target.ifindex())?;
        }
        // Probes leave by the NIC, with the node's MAC (virtual_mac's interface does not exist yet).
        let wire = self.open_wire(&target.site)?;
        self.probe_before_add(&target.site, wire.as_ref())?;
        // Recorded before the add: a start killed at any instant leaves stop what it needs.
        let record = self.write_record(target, super::address::kernel_keeps_address_tags(), None)?;
        let mut start = Progress { record, target: target.clone(), wire, added: None };
        for part in Part::brought_up() {
            if let Err(err) = self.apply_part(part, &mut start) {
                self.undo_failed_start(part, &start);
                return Err(err);
            }
        }
        let vip = self.with_record(&start.record);
        if params.ping.on_start {
            if let Err(err) = vip.ping_after_start(start.spot()) {
                match start.added {
                    // The racing start that added it keeps it; the VIP it
                    // announces does not reach the network.
                    Some(Added::Already) => vip.announcer().stop(),
                    _ => vip.undo_start(Part::Announcer, &start.target),
                }
                return Err(err);
            }
        }
        Ok(ExitCode::Success)
    }

    /// Undoes a start whose `failed` part could not be applied: the part
    /// itself (it may have got halfway) and every part before it; once the
    /// address was added, everything up to the announcer. Nothing is undone
    /// when a racing start of this VIP added the address: what it holds is
    /// its own.
    fn undo_failed_start(&self, failed: Part, start: &Progress) {
        let last = match start.added {
            Some(Added::Already) => return,
            Some(Added::ByUs) => Part::Announcer,
            // The add itself failed: this start put nothing there.
            None if failed == Part::Address => Part::VirtualLink,
            None => failed,
        };
        self.with_record(&start.record).undo_start(last, &start.target);
    }

    /// Undoes a start that failed once it had applied `last` (see `parts`):
    /// every part up to it comes off, last first, and the record goes once
    /// nothing it names is left, so that a start killed during the undo
    /// leaves stop what it needs.
    fn undo_start(&self, last: Part, target: &Target) {
        let mut all_gone = true;
        for part in Part::applied_up_to(last) {
            let undone = match part {
                // Where this start put it, whatever the record says by now.
                Part::Address => self.roll_back(target),
                part => self.remove_part(part, Removal::Rollback),
            };
            if let Err(err) = undone {
                log::error(format!("after the failed start: {}", err.reason));
                all_gone = false;
            }
        }
        if all_gone {
            let _ = self.remove_record();
        }
    }

    /// Removes the address a failed start added, the way stop would.
    fn roll_back(&self, target: &Target) -> AgentResult<()> {
        match self.whereabouts_at(target)? {
            Whereabouts::InPlace { site, entry } => self.remove_address(&site, &entry, Removal::Rollback),
            _ => Ok(()),
        }
    }

    /// `ping_on_start`: the VIP must reach the network before start succeeds.
    fn ping_after_start(&self, spot: Spot) -> AgentResult<()> {
        match self.unreachable(spot)? {
            None => Ok(()),
            Some(problem) => Err(AgentError::generic(format!("{problem}; ping_on_start fails the start"))),
        }
    }

    /// Announces the new owner. The address is up whatever happens here, so
    /// a failure to announce is logged, not a failed start (as in IPaddr2);
    /// only a first announcement that `announce_rate_limit` could not fit
    /// before the timeout fails the start: the VIP would stay unannounced.
    pub(super) fn announce_started(&self, spot: Spot, wire: Option<Wire>) -> AgentResult<()> {
        let wire = match wire {
            Some(wire) => Ok(Some(wire)),
            // The link was down before the add; it is up now.
            None => self.open_wire(spot.site),
        };
        self.begin_convergence(spot);
        let announced = wire.and_then(|wire| self.announce(spot, self.params.announce.count, wire));
        match announced {
            Ok(FirstRound::Out) => Ok(()),
            Ok(FirstRound::NoSlot) => Err(self.no_slot(spot)),
            Err(err) => {
                log::error(format!("Could not announce {}: {}", self.params.ip, err.reason));
                Ok(())
            }
        }
    }

    /// After the add: link up, DAD, then a check that the VIP is really
    /// whole; the address as the kernel holds it.
    pub(super) fn finish_start(&self, target: &Target) -> AgentResult<AddressEntry> {
        let (nl, ip) = (self.nl, self.params.ip);
        let link = nl
            .link(target.ifindex())
            .doing(|| format!("reading the state of {}", target.nic()))?
            .ok_or_else(|| AgentError::generic(format!("nic {} disappeared during start", target.nic())))?;
        if !link.admin_up {
            log::info(format!("Bringing device {} up", target.nic()));
            nl.set_link_up(target.ifindex()).doing(|| format!("bringing {} up", target.nic()))?;
        }
        if ip.is_ipv6() && !self.params.nodad {
            self.wait_for_dad(target)?;
        }
        let entry = match self.whereabouts_at(target)? {
            Whereabouts::InPlace { entry, .. } => {
                if let Some(label) = target.missing_label(&entry) {
                    return Err(AgentError::generic(format!(
                        "{ip} was added to {} but the kernel did not keep its label {label}",
                        target.nic()
                    )));
                }
                entry
            }
            other => {
                return Err(AgentError::generic(format!(
                    "{ip} is not configured on {} after adding it ({other:?})",
                    target.nic()
                )));
            }
        };
        if self.params.link_checked() {
            let link =
                nl.link(target.ifindex()).doing(|| format!("reading the state of {}", target.nic()))?;
            let problem = match link {
                Some(link) => link_problem(&link),
                None => Some(format!("nic {} does not exist any more", target.nic())),
            };
            if let Some(problem) = problem {
                return Err(AgentError::generic(format!("{ip} cannot be brought up: {problem}")));
            }
        }
        Ok(entry)
    }

    /// Waits for IPv6 duplicate address detection to end. A duplicate fails
    /// the start; a DAD still running when the budget is spent is logged and
    /// the start succeeds, as in IPaddr2.
    fn wait_for_dad(&self, target: &Target) -> AgentResult<()> {
        let ip = self.params.ip;
        loop {
            let entries = self
                .nl
                .addresses(target.ifindex(), IpFamily::V6)
                .doing(|| format!("reading the DAD state of {ip} on {}", target.nic()))?;
            let Some(entry) = entries.iter().find(|a| a.ip == ip) else {
                return Err(AgentError::generic(format!("{ip} vanished from {} during DAD", target.nic())));
            };
            if entry.is_dad_failed() {
                return Err(AgentError::generic(format!(
                    "IPv6 address collision: duplicate address detection found {ip} already in use on the link of {}",
                    target.nic()
                )));
            }
            if !entry.is_tentative() {
                return Ok(());
            }
            if self.inv.budget.remaining() < DAD_POLL {
                log::warn(format!(
                    "{ip}: duplicate address detection still running when the start timeout nears"
                ));
                return Ok(());
            }
            std::thread::sleep(DAD_POLL);
        }
    }
}
