//! Announcing the VIP once it is added (`Announcing`: the rounds, their
//! pacing, the questions to the gateways between them), and the background
//! announcer that sends the rounds after the first (`Announcer`, a part of
//! the resource). The probes' socket (a `Wire`) is kept for the first
//! round and handed to the announcer.

use super::context::Vip;
use super::convergence::{Convergence, Window};
use super::owned::{OwnedPart, Progress, Removal};
use super::pacing::Pacer;
use super::place::Spot;
use super::wire::Wire;
use crate::announce::{self, Rounds, RoundsEnded, Timing};
use crate::background;
use crate::convergence::Asking;
use crate::error::{AgentError, AgentResult, Doing};
use crate::ocf::log;
use crate::pace::Urgency;
use crate::packet::{self, Mac};
use crate::rawsock::PacketSocket;
use crate::store::{Kind, legacy};
use std::io;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

/// Whether a start's (or recover's) first announcement went out:
/// `announce_rate_limit` may have had no slot for it before the action's
/// time ran out. That alone among announcing's outcomes fails the action:
/// the VIP would stay unannounced.
#[must_use]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FirstRound {
    Out,
    NoSlot,
}

/// How long deferring a first announcement waits for the ledger, past the
/// action's deadline if need be.
const DEFER_LOCK_WAIT: Duration = Duration::from_millis(500);

impl<'a> Vip<'a> {
    /// Announcing this VIP: what start, recover, a monitor's conflict watch
    /// and the announcer send.
    pub fn announcing(&self) -> Announcing<'a> {
        Announcing { vip: *self }
    }
}

/// Announcing one VIP on its link: the rounds, paced under
/// `announce_rate_limit`, each asking the gateways that have not answered.
pub struct Announcing<'a> {
    vip: Vip<'a>,
}

impl Announcing<'_> {
    /// The slots of a start's first announcement when they lie past the
    /// start's deadline (a burst under `announce_rate_limit`), or wherever
    /// they lie when `late` (the start already missed the slots it had):
    /// booked with the probes, or now when nothing was booked ahead.
    fn deferred_slots(&self, spot: Spot, wire: &Wire, late: bool) -> Option<Vec<u64>> {
        let pacer = self.vip.pacer(spot.site.ifindex, &spot.site.nic);
        if !pacer.is_limited() || !self.vip.announces_first() {
            return None;
        }
        let deadline = pacer.deadline_ms();
        // A start that ran late may be past its deadline: deferring still
        // needs the ledger (the reserve kept for cleaning up allows it).
        let pacer = pacer.lock_wait(DEFER_LOCK_WAIT);
        let mut slots = pacer.reserved_slots();
        if slots.is_empty() {
            let frames = self.round_frames(wire.mac).len();
            slots = match pacer.reserve_block(None, Duration::ZERO, frames) {
                Ok(block) => block.announcement,
                Err(err) => {
                    // The announcer books its own slot, later.
                    log::warn(format!("booking the first announcement of {}: {err}", self.vip.params.ip));
                    return Some(Vec::new());
                }
            };
        }
        (late || slots.first().is_none_or(|&first| first > deadline)).then_some(slots)
    }

    /// Leaves every round, the first at its slot past the start's deadline,
    /// to a background announcer that takes over the slots, and returns at
    /// once: no start fails only because the budget is busy. `NoSlot` when
    /// no announcer can be started.
    fn defer_announcement(&self, spot: Spot, count: u64, wire: Wire, slots: Vec<u64>) -> FirstRound {
        let pacer = self.vip.pacer(spot.site.ifindex, &spot.site.nic);
        let deadline = pacer.deadline_ms();
        let pacer = pacer.lock_wait(DEFER_LOCK_WAIT);
        let own = std::process::id();
        let listed: Vec<String> = slots.iter().map(u64::to_string).collect();
        let slots_told = (background::SLOTS_VAR, format!("{own}:{}", listed.join(",")));
        let worker = match self.vip.announcer().spawn(&wire, count, Some(slots_told)) {
            Ok(worker) => worker,
            Err(err) => {
                log::warn(format!(
                    "cannot start the announcer the first announcement of {} is deferred to: {err}",
                    self.vip.params.ip
                ));
                return FirstRound::NoSlot;
            }
        };
        if let Err(err) = pacer.hand_over(&slots, own, worker) {
            // The announcer takes them over itself, or books again.
            log::debug(format!("handing the slots of {} to its announcer: {err}", self.vip.params.ip));
        }
        let when = match slots.first() {
            Some(&first) if first > deadline => {
                format!("to {} ms past the start's deadline", first - deadline)
            }
            _ => "to its background announcer".to_string(),
        };
        let detail = format!(
            "first announcement deferred {when}: announce_rate_limit {}/s on {} had no slot before it",
            self.vip.params.announce.rate_limit, spot.site.nic
        );
        log::warn(format!("{}: {detail}", self.vip.params.ip));
        crate::observe::event(crate::observe::history::Event::Paced { detail });
        FirstRound::Out
    }

    /// Announces the VIP in `count` rounds. The first round goes out at
    /// once; with `arp_bg` the rest is left to a detached announcer, which
    /// inherits the socket, otherwise they are sent before returning.
    pub fn announce(&self, spot: Spot, count: u64, wire: Option<Wire>) -> AgentResult<FirstRound> {
        let Some(wire) = wire else { return Ok(FirstRound::Out) };
        if count == 0 {
            return Ok(FirstRound::Out);
        }
        if let Some(slots) = self.deferred_slots(spot, &wire, false) {
            return Ok(self.defer_announcement(spot, count, wire, slots));
        }
        let deadline = self.vip.inv.budget.deadline();
        if !self.vip.params.announce.background || count == 1 {
            // One round leaves no time to hear an answer without delaying
            // the start: the level-10 monitor asks again.
            let window = if count == 1 { Window::Opens } else { Window::Closes { tail: Duration::ZERO } };
            let ended =
                self.send_rounds(spot, &wire, self.rounds(count, Duration::ZERO, deadline), window)?;
            if self.first_round(ended) == FirstRound::NoSlot {
                return Ok(self.defer_late_announcement(spot, count, wire));
            }
            if let RoundsEnded::OutOfTime { sent } = ended {
                log::warn(format!(
                    "sent {sent} of {count} announcements for {}; the rest did not fit in the action timeout",
                    self.vip.params.ip
                ));
            }
            return Ok(FirstRound::Out);
        }
        let first = self.send_rounds(spot, &wire, self.rounds(1, Duration::ZERO, deadline), Window::Opens)?;
        if self.first_round(first) == FirstRound::NoSlot {
            return Ok(self.defer_late_announcement(spot, count, wire));
        }
        if let Err(err) = self.vip.announcer().spawn(&wire, count - 1, None) {
            // An announcer stop could not find must never run: announce here.
            log::warn(format!(
                "cannot start a tracked background announcer for {} ({err}); announcing in the foreground",
                self.vip.params.ip
            ));
            let ended = self.send_rounds(
                spot,
                &wire,
                self.rounds(count - 1, self.vip.params.announce.interval, deadline),
                Window::Closes { tail: Duration::ZERO },
            )?;
            if let RoundsEnded::OutOfTime { sent } = ended {
                log::warn(format!("sent {} of {count} announcements for {}", sent + 1, self.vip.params.ip));
            }
        }
        Ok(FirstRound::Out)
    }

    /// The first announcement missed the slots booked for it (a start slower
    /// than planned, woken late on a loaded node) and got no other before
    /// the deadline: it is booked again and left to the announcer, like a
    /// block that was late from the start, wherever the new slot lies (a
    /// slot before the deadline the start could miss again).
    fn defer_late_announcement(&self, spot: Spot, count: u64, wire: Wire) -> FirstRound {
        self.vip.pacer(spot.site.ifindex, &spot.site.nic).lock_wait(DEFER_LOCK_WAIT).forget_reserved();
        match self.deferred_slots(spot, &wire, true) {
            Some(slots) => self.defer_announcement(spot, count, wire, slots),
            None => FirstRound::NoSlot,
        }
    }

    /// Whether the rounds that `ended` so were a first announcement the
    /// budget had no slot for (a start already out of time before its
    /// first round warns and succeeds, as it always has).
    fn first_round(&self, ended: RoundsEnded) -> FirstRound {
        let limited = self.vip.params.announce.rate_limit > 0;
        let nothing_sent = ended == (RoundsEnded::OutOfTime { sent: 0 });
        if limited && nothing_sent && self.vip.announces_first() {
            FirstRound::NoSlot
        } else {
            FirstRound::Out
        }
    }

    /// The reason a start or recover fails when its first announcement got
    /// no slot.
    pub fn no_slot(&self, spot: Spot) -> AgentError {
        AgentError::generic(format!(
            "announce_rate_limit {}/s on {}: no slot for the first announcement of {} before the action's timeout (the other VIPs there hold the budget); raise the limit or the start timeout",
            self.vip.params.announce.rate_limit, spot.site.nic, self.vip.params.ip
        ))
    }

    /// Sends the rounds from this process, the first after `first_delay`,
    /// stopping early if the VIP leaves its interface. While a gateway has
    /// not answered the VIP, each round asks it again and the time between
    /// rounds is spent listening for the answer.
    pub fn send_rounds(
        &self,
        spot: Spot,
        wire: &Wire,
        timing: Timing,
        window: Window,
    ) -> AgentResult<RoundsEnded> {
        let ip = self.vip.params.ip;
        let watch = self.vip.neighbours().state().and_then(|state| Some((state.asking(ip)?, state)));
        let pacer = self.vip.pacer(spot.site.ifindex, &spot.site.nic).until(timing.deadline);
        let first_is_urgent = self.vip.announces_first() && timing.first_delay.is_zero();
        let mut rounds = VipRounds { announcing: self, spot, wire, watch, pacer, first_is_urgent };
        let ended = announce::send_rounds(&wire.sock, &timing, &mut rounds)
            .doing(|| format!("announcing {ip} on {}", spot.site.nic))?;
        if let (Window::Closes { tail }, RoundsEnded::Done) = (window, ended) {
            rounds.wait_until((Instant::now() + tail).min(timing.deadline));
        }
        // Nobody was asked when no round went out (the budget had no slot).
        let asked = !matches!(ended, RoundsEnded::AddressGone { .. } | RoundsEnded::OutOfTime { sent: 0 });
        if let Some((_, state)) = &mut rounds.watch {
            if matches!(window, Window::Closes { .. }) && asked {
                self.vip.neighbours().window_ended(state);
            }
        }
        let sent = match ended {
            RoundsEnded::Done => timing.count,
            RoundsEnded::AddressGone { sent } | RoundsEnded::OutOfTime { sent } => sent,
        };
        if sent > 0 {
            crate::observe::count("announcements_sent", sent);
            crate::observe::event(crate::observe::history::Event::Announced { rounds: sent });
        }
        Ok(ended)
    }

    /// `count` rounds at the configured interval, the first after `first_delay`.
    pub fn rounds(&self, count: u64, first_delay: Duration, deadline: Instant) -> Timing {
        Timing { count, first_delay, interval: self.vip.params.announce.interval, deadline }
    }

    /// One round's frames from the NIC's `mac`. A cluster IP claims the VIP
    /// for the shared multicast MAC, while the frames still come from the
    /// NIC's own address.
    pub(super) fn round_frames(&self, mac: Mac) -> Vec<Vec<u8>> {
        let params = self.vip.params;
        let Some(cip) = &params.cluster_ip else {
            return announce::round_frames(params.ip, mac, &params.announce);
        };
        let shared = cip.mac.unwrap_or_else(|| crate::cluster_ip::derived_mac(params.ip));
        let mut frames = announce::round_frames(params.ip, shared, &params.announce);
        for frame in &mut frames {
            packet::set_ethernet_source(frame, mac);
        }
        frames
    }
}

/// The rounds of one VIP: its announcement, and the questions to the
/// gateways that have not answered it yet, with the state they update.
struct VipRounds<'v, 'a> {
    announcing: &'v Announcing<'a>,
    spot: Spot<'v>,
    wire: &'v Wire,
    watch: Option<(Asking, Convergence)>,
    pacer: Pacer,
    /// The first round is this VIP's first announcement.
    first_is_urgent: bool,
}

impl Rounds for VipRounds<'_, '_> {
    fn next_round(&mut self) -> Option<Vec<Vec<u8>>> {
        let (vip, site) = (self.announcing.vip, self.spot.site);
        let ip: IpAddr = vip.params.ip;
        let entries = vip.nl.address_entries(site.ifindex, ip).ok()?;
        entries.iter().any(|a| a.prefix == self.spot.prefix).then_some(())?;
        // The MAC may change under a running VIP (a bond's failover).
        let mac = match vip.nl.link(site.ifindex) {
            Ok(Some(link)) => link.mac.unwrap_or(self.wire.mac),
            _ => self.wire.mac,
        };
        crate::observe::first_announcement();
        let mut frames = self.announcing.round_frames(mac);
        if let Some((asking, _)) = &self.watch {
            // arp_target's request is the question to that gateway already.
            for question in asking.questions(mac) {
                if !frames.contains(&question) {
                    frames.push(question);
                }
            }
        }
        Some(frames)
    }

    fn wait_until(&mut self, due: Instant) {
        if let Some((asking, state)) = self.watch.as_mut().filter(|(asking, _)| !asking.is_done()) {
            // A socket that fails here fails the next send, which says so.
            let _ = self.wire.listen(asking, due);
            // Recorded as soon as heard: the time is the answer's.
            self.announcing.vip.neighbours().heard(state, asking);
        }
        std::thread::sleep(due.saturating_duration_since(Instant::now()));
    }

    fn send(&mut self, sock: &PacketSocket, frames: &[Vec<u8>], first: bool) -> io::Result<bool> {
        let urgency = if first && self.first_is_urgent { Urgency::Urgent } else { Urgency::Repeat };
        self.pacer.send(sock, frames, urgency)
    }
}

impl<'a> Vip<'a> {
    /// This resource's background announcer, as a part of it.
    pub fn announcer(&self) -> Announcer<'a> {
        Announcer { vip: *self }
    }
}

/// The background announcer (`arp_bg`) and its rounds, as the part of a
/// resource stop ends before anything else it removes is gone.
pub struct Announcer<'a> {
    vip: Vip<'a>,
}

impl Announcer<'_> {
    /// The tracking file of this VIP's background announcer.
    pub fn file(&self) -> String {
        self.vip.key.file(Kind::Announcer)
    }

    /// Starts this VIP's background announcer with `wire`'s socket, to send
    /// `count` rounds (and, when `told`, to take over the slots booked for
    /// them); its pid.
    fn spawn(&self, wire: &Wire, count: u64, told: Option<(&str, String)>) -> io::Result<u32> {
        let mut env = self.vip.worker_env();
        env.push((background::COUNT_VAR.to_string(), count.to_string()));
        env.extend(told.map(|(name, value)| (name.to_string(), value)));
        let socket = Some(wire.sock.as_raw_fd());
        background::spawn(&self.vip.run_dir(), background::WORKER_ACTION, &self.file(), socket, &env)
    }

    /// Ends this VIP's background announcer, if one runs, and one the
    /// previous version started under the address's name (its command line
    /// names that file, so it cannot be taken over by a rename).
    pub fn stop(&self) {
        let wait = self.vip.inv.budget.remaining().min(Duration::from_secs(1));
        let (run_dir, deadline) = (self.vip.run_dir(), Instant::now() + wait);
        background::stop(&run_dir, &self.file(), deadline);
        let ns = self.vip.params.network_namespace.as_deref();
        if let Some(previous) = legacy::address_file(Kind::Announcer, self.vip.key, self.vip.params.ip, ns) {
            background::stop(&run_dir, &previous, deadline);
        }
    }
}

impl OwnedPart for Announcer<'_> {
    /// The first round, from the probes' socket when the address stayed on
    /// it; the rest is the announcer's (`arp_bg`). The address is up
    /// whatever happens here, so a failure to announce is logged, not a
    /// failed start (as in IPaddr2); only a first announcement that
    /// `announce_rate_limit` could not fit before the timeout fails the
    /// start: the VIP would stay unannounced.
    fn apply(&self, start: &mut Progress) -> AgentResult<()> {
        let probes_wire = start.wire.take();
        let (vip, spot) = (self.vip.with_record(&start.record), start.spot());
        let wire = match probes_wire {
            Some(wire) => Ok(Some(wire)),
            // The link was down before the add; it is up now.
            None => Wire::open(&vip, spot.site),
        };
        vip.neighbours().begin(spot);
        let announcing = vip.announcing();
        match wire.and_then(|wire| announcing.announce(spot, vip.params.announce.count, wire)) {
            Ok(FirstRound::Out) => Ok(()),
            Ok(FirstRound::NoSlot) => Err(announcing.no_slot(spot)),
            Err(err) => {
                log::error(format!("Could not announce {}: {}", vip.params.ip, err.reason));
                Ok(())
            }
        }
    }

    fn remove(&self, _why: Removal) -> AgentResult<()> {
        self.stop();
        Ok(())
    }
}
