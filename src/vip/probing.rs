//! Probing for the VIP on its link: before start adds it (another host
//! answering fails the start), for a monitor's conflict watch, and for
//! `explain`. Under `announce_rate_limit`, a start's probes and first
//! announcement are booked as one block of the interface's budget.

use super::context::Vip;
use super::place::{Site, link_problem};
use super::wire::Wire;
use crate::error::{AgentError, AgentResult, Doing};
use crate::ocf::log;
use crate::pace::Urgency;
use crate::packet::Mac;
use crate::probe::{self, ProbeOutcome, ProbePlan};
use std::time::{Duration, Instant};

/// The time a start's block leaves from the end of probing to the first
/// announcement (adding the address and checking it). Generous, as waiting
/// costs nothing: a frame ready before its slot takes an earlier one when
/// the budget has room (`Pacer::sooner`), and under a burst the other VIPs'
/// frames fill the gap.
const SETTLE: Duration = Duration::from_millis(250);

impl<'a> Vip<'a> {
    /// Probing for this VIP on its link.
    pub fn probing(&self) -> Probing<'a> {
        Probing { vip: *self }
    }
}

/// Probing for one VIP: whether another host answers for it.
pub struct Probing<'a> {
    vip: Vip<'a>,
}

impl Probing<'_> {
    /// Probes for the VIP before it is added; fails the start if another
    /// host answers, or if the probing cannot be done in the time left.
    /// IPv6 without `nodad` relies on the kernel's DAD instead.
    pub fn before_add(&self, site: &Site, wire: Option<&Wire>) -> AgentResult<()> {
        let params = self.vip.params;
        let plan = ProbePlan::from_params(&params.probe);
        if plan.count == 0 || (params.ip.is_ipv6() && !params.nodad) {
            return Ok(());
        }
        let Some(wire) = wire else {
            log::warn(format!("cannot probe for {} on {}: adding it without a probe", params.ip, site.nic));
            return Ok(());
        };
        if let Some(problem) = link_problem(&wire.link) {
            log::warn(format!(
                "{problem}: nobody could answer a probe, so {} is added without one",
                params.ip
            ));
            return Ok(());
        }
        let plan = self.paced_plan(wire, plan);
        if plan.count == 0 {
            return Ok(());
        }
        let left = self.vip.inv.budget.remaining();
        if left < plan.duration() {
            return Err(AgentError::generic(format!(
                "no time left to probe for {} ({} ms needed, {} ms left of the start timeout): not adding an address nobody checked; raise the start timeout or lower probe_count",
                params.ip,
                plan.duration().as_millis(),
                left.as_millis()
            )));
        }
        log::debug(format!(
            "probing for {} on {}: {} probes, {:?} in all",
            params.ip,
            site.nic,
            plan.count,
            plan.duration()
        ));
        let probing = Instant::now();
        let outcome = self.run(wire, &plan)?;
        crate::observe::start_probe_took(probing.elapsed());
        match outcome {
            ProbeOutcome::Free => Ok(()),
            // A probe that lost its slot (a start slowed down under a burst)
            // fails no start: the address goes on with the probes sent.
            ProbeOutcome::NoSlot { sent } => {
                let detail = format!(
                    "{sent} of {} probes: announce_rate_limit {}/s on {} had no slot for more before the start's timeout",
                    plan.count, params.announce.rate_limit, site.nic
                );
                log::warn(format!("{}: {detail}", params.ip));
                crate::observe::event(crate::observe::history::Event::Paced { detail });
                Ok(())
            }
            ProbeOutcome::CutShort => Err(AgentError::generic(format!(
                "probing for {} was cut short by the start timeout: not adding an address nobody checked",
                params.ip
            ))),
            ProbeOutcome::InUse { mac } => Err(AgentError::generic(format!(
                "{} is already in use on the link of {}: {} answered the duplicate-address probe",
                params.ip, site.nic, mac
            ))),
        }
    }

    /// Under `announce_rate_limit`, books a start's probes and first
    /// announcement as one block (`Ledger::book_block`), and returns the
    /// probing the block has room for: every probe asked for unless the
    /// block would end past the start's deadline under a burst of VIPs.
    fn paced_plan(&self, wire: &Wire, plan: ProbePlan) -> ProbePlan {
        let pacer = self.vip.pacer(wire.link.ifindex, &wire.link.name);
        if !pacer.is_limited() || !self.vip.announces_first() {
            return plan;
        }
        let frames = self.vip.announcing().round_frames(wire.mac).len();
        let block = match pacer.reserve_block(Some(&plan), SETTLE, frames) {
            Ok(block) => block,
            Err(err) => {
                log::debug(format!(
                    "booking the probes of {} on {}: {err}",
                    self.vip.params.ip, wire.link.name
                ));
                return plan;
            }
        };
        let kept = block.probes.len() as u64;
        if kept < plan.count {
            let why = if block.busy && kept > 0 {
                "is booked far ahead by other VIPs (a burst)"
            } else {
                "had no room for more before the start's timeout"
            };
            let detail = format!(
                "{kept} of {} probes: announce_rate_limit {}/s on {} {why}",
                plan.count, self.vip.params.announce.rate_limit, wire.link.name
            );
            log::warn(format!("{}: {detail}", self.vip.params.ip));
            crate::observe::event(crate::observe::history::Event::Paced { detail });
        }
        ProbePlan { count: kept, ..plan }
    }

    /// Asks the link, with a short probe, whether another host answers for
    /// the VIP (for `explain`): its MAC, or `None`.
    pub fn other_owner(&self, wire: &Wire) -> AgentResult<Option<Mac>> {
        let plan = ProbePlan {
            initial_delay: Duration::ZERO,
            count: 2,
            interval: Duration::from_millis(10),
            wait: Duration::from_millis(30),
        };
        Ok(match self.run(wire, &plan)? {
            ProbeOutcome::InUse { mac } => Some(mac),
            ProbeOutcome::Free | ProbeOutcome::CutShort | ProbeOutcome::NoSlot { .. } => None,
        })
    }

    /// Probes for the VIP on the wire, not counting answers from this
    /// host's own interfaces, within the action's budget.
    pub fn run(&self, wire: &Wire, plan: &ProbePlan) -> AgentResult<ProbeOutcome> {
        let mut own_macs = self.vip.nl.link_macs().doing(|| "listing this host's interfaces".to_string())?;
        // With virtual_mac, probes leave by the parent, which this node's own
        // interface with the VIP's MAC never hears: a frame from that MAC,
        // an answer or any other, is another host's.
        if let Some(mac) = self.vip.virtual_mac() {
            own_macs.retain(|own| *own != mac);
        }
        let virtual_mac = self.vip.virtual_mac().filter(|mac| *mac != wire.mac);
        let seen = probe::Listener { our_mac: wire.mac, own_macs: &own_macs, virtual_mac };
        let pacer = self.vip.pacer(wire.link.ifindex, &wire.link.name);
        let mut send = |frame: &[u8]| pacer.send(&wire.sock, &[frame.to_vec()], Urgency::Urgent);
        let outcome = probe::run(
            &wire.sock,
            &mut send,
            &seen,
            self.vip.params.ip,
            plan,
            self.vip.inv.budget.deadline(),
        )
        .doing(|| format!("probing for {} on {}", self.vip.params.ip, wire.link.name))?;
        crate::observe::count("probes_sent", plan.count);
        if let ProbeOutcome::InUse { mac } = &outcome {
            crate::observe::conflict(&mac.to_string());
        }
        Ok(outcome)
    }
}
