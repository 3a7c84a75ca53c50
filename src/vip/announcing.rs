//! Probing before the address is added and announcing it afterwards. One
//! raw socket (a `Wire`) serves both, and is handed to the background
//! announcer when there is one: opening and closing packet sockets is what
//! costs time here.

use super::context::Vip;
use super::convergence::{Convergence, Window};
use super::owned::{OwnedPart, Removal};
use super::pacing::Pacer;
use super::place::{Site, Spot, link_problem};
use crate::announce::{self, Rounds, RoundsEnded, Timing};
use crate::background;
use crate::convergence::Asking;
use crate::error::{AgentError, AgentResult, Doing};
use crate::netlink::LinkEntry;
use crate::ocf::log;
use crate::pace::Urgency;
use crate::packet::{self, Mac};
use crate::probe::{self, ProbeOutcome, ProbePlan};
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

/// The time a start's block leaves from the end of probing to the first
/// announcement (adding the address and checking it). Generous, as waiting
/// costs nothing: a frame ready before its slot takes an earlier one when
/// the budget has room (`Pacer::sooner`), and under a burst the other VIPs'
/// frames fill the gap.
const SETTLE: Duration = Duration::from_millis(250);

/// How long deferring a first announcement waits for the ledger, past the
/// action's deadline if need be.
const DEFER_LOCK_WAIT: Duration = Duration::from_millis(500);

/// A raw socket on the VIP's interface and the MAC to send from.
pub struct Wire {
    sock: PacketSocket,
    mac: Mac,
    link: LinkEntry,
}

impl Wire {
    /// Asks the gateways `asking` awaits, within `pacer`'s budget, and
    /// listens until `until` or until every one has answered.
    pub fn ask(&self, pacer: &Pacer, asking: &mut Asking, until: Instant) -> AgentResult<()> {
        pacer
            .send(&self.sock, &asking.questions(self.mac), Urgency::Repeat)
            .doing(|| format!("asking the gateways on {}", self.link.name))?;
        self.listen(asking, until).doing(|| format!("listening for the gateways on {}", self.link.name))
    }

    /// Hears the answers `asking` awaits until `until`, or until none is awaited.
    fn listen(&self, asking: &mut Asking, until: Instant) -> io::Result<()> {
        let mut buf = [0u8; 2048];
        while !asking.is_done() {
            let Some(len) = self.sock.receive_until(until, &mut buf)? else { break };
            asking.hear(&buf[..len]);
        }
        Ok(())
    }
}

impl Vip<'_> {
    /// Opens the wire for the VIP's family on `site`, or `None` (with the
    /// reason logged) where ARP/NDP do not apply: loopback, a link without a
    /// 6-byte hardware address, or a link that is administratively down (a
    /// socket opened then cannot send later).
    pub fn open_wire(&self, site: &Site) -> AgentResult<Option<Wire>> {
        let link = self
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
        let sock = PacketSocket::open(site.ifindex, probe::ethertype_for(self.params.ip))
            .doing(|| format!("opening a raw socket on {}", site.nic))?;
        Ok(Some(Wire { sock, mac, link }))
    }

    /// Takes over the socket the agent handed to the background announcer.
    pub fn inherited_wire(&self, fd: i32, site: &Site) -> Option<Wire> {
        let sock = PacketSocket::adopt(fd).ok()?;
        let link = self.nl.link(site.ifindex).ok()??;
        Some(Wire { mac: link.mac?, sock, link })
    }

    /// Probes for the VIP before it is added; fails the start if another
    /// host answers, or if the probing cannot be done in the time left.
    /// IPv6 without `nodad` relies on the kernel's DAD instead.
    pub fn probe_before_add(&self, site: &Site, wire: Option<&Wire>) -> AgentResult<()> {
        let params = self.params;
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
        let left = self.inv.budget.remaining();
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
        let outcome = self.run_probe(wire, &plan)?;
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
        let pacer = self.pacer(wire.link.ifindex, &wire.link.name);
        if !pacer.is_limited() || !self.announces_first() {
            return plan;
        }
        let frames = self.round_frames(wire.mac).len();
        let block = match pacer.reserve_block(Some(&plan), SETTLE, frames) {
            Ok(block) => block,
            Err(err) => {
                log::debug(format!("booking the probes of {} on {}: {err}", self.params.ip, wire.link.name));
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
                plan.count, self.params.announce.rate_limit, wire.link.name
            );
            log::warn(format!("{}: {detail}", self.params.ip));
            crate::observe::event(crate::observe::history::Event::Paced { detail });
        }
        ProbePlan { count: kept, ..plan }
    }

    /// The slots of a start's first announcement when they lie past the
    /// start's deadline (a burst under `announce_rate_limit`), or wherever
    /// they lie when `late` (the start already missed the slots it had):
    /// booked with the probes, or now when nothing was booked ahead.
    fn deferred_slots(&self, spot: Spot, wire: &Wire, late: bool) -> Option<Vec<u64>> {
        let pacer = self.pacer(spot.site.ifindex, &spot.site.nic);
        if !pacer.is_limited() || !self.announces_first() {
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
                    log::warn(format!("booking the first announcement of {}: {err}", self.params.ip));
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
        let pacer = self.pacer(spot.site.ifindex, &spot.site.nic);
        let deadline = pacer.deadline_ms();
        let pacer = pacer.lock_wait(DEFER_LOCK_WAIT);
        let own = std::process::id();
        let listed: Vec<String> = slots.iter().map(u64::to_string).collect();
        let mut env = self.worker_env();
        env.push((background::COUNT_VAR.to_string(), count.to_string()));
        env.push((background::SLOTS_VAR.to_string(), format!("{own}:{}", listed.join(","))));
        let fd = Some(wire.sock.as_raw_fd());
        let spawned =
            background::spawn(&self.run_dir(), background::WORKER_ACTION, &self.announcer().file(), fd, &env);
        let worker = match spawned {
            Ok(worker) => worker,
            Err(err) => {
                log::warn(format!(
                    "cannot start the announcer the first announcement of {} is deferred to: {err}",
                    self.params.ip
                ));
                return FirstRound::NoSlot;
            }
        };
        if let Err(err) = pacer.hand_over(&slots, own, worker) {
            // The announcer takes them over itself, or books again.
            log::debug(format!("handing the slots of {} to its announcer: {err}", self.params.ip));
        }
        let when = match slots.first() {
            Some(&first) if first > deadline => {
                format!("to {} ms past the start's deadline", first - deadline)
            }
            _ => "to its background announcer".to_string(),
        };
        let detail = format!(
            "first announcement deferred {when}: announce_rate_limit {}/s on {} had no slot before it",
            self.params.announce.rate_limit, spot.site.nic
        );
        log::warn(format!("{}: {detail}", self.params.ip));
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
        let deadline = self.inv.budget.deadline();
        if !self.params.announce.background || count == 1 {
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
                    self.params.ip
                ));
            }
            return Ok(FirstRound::Out);
        }
        let first = self.send_rounds(spot, &wire, self.rounds(1, Duration::ZERO, deadline), Window::Opens)?;
        if self.first_round(first) == FirstRound::NoSlot {
            return Ok(self.defer_late_announcement(spot, count, wire));
        }
        let mut env = self.worker_env();
        env.push((background::COUNT_VAR.to_string(), (count - 1).to_string()));
        let fd = Some(wire.sock.as_raw_fd());
        let spawned =
            background::spawn(&self.run_dir(), background::WORKER_ACTION, &self.announcer().file(), fd, &env);
        if let Err(err) = spawned {
            // An announcer stop could not find must never run: announce here.
            log::warn(format!(
                "cannot start a tracked background announcer for {} ({err}); announcing in the foreground",
                self.params.ip
            ));
            let ended = self.send_rounds(
                spot,
                &wire,
                self.rounds(count - 1, self.params.announce.interval, deadline),
                Window::Closes { tail: Duration::ZERO },
            )?;
            if let RoundsEnded::OutOfTime { sent } = ended {
                log::warn(format!("sent {} of {count} announcements for {}", sent + 1, self.params.ip));
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
        self.pacer(spot.site.ifindex, &spot.site.nic).lock_wait(DEFER_LOCK_WAIT).forget_reserved();
        match self.deferred_slots(spot, &wire, true) {
            Some(slots) => self.defer_announcement(spot, count, wire, slots),
            None => FirstRound::NoSlot,
        }
    }

    /// What a detached worker of this VIP is told, beside the environment
    /// it inherits: the parameters as this action has them (flags given by
    /// hand included), and the clone meta attributes, so that it finds the
    /// same address (a cluster IP's alike).
    pub fn worker_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> =
            self.inv.raw.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string())).collect();
        let env_meta = &self.inv.env;
        for (name, value) in [("clone_max", &env_meta.clone_max), ("clone", &env_meta.clone_id)] {
            if let Some(value) = value {
                env.push((format!("OCF_RESKEY_CRM_meta_{name}"), value.clone()));
            }
        }
        if env_meta.globally_unique == Some(true) {
            env.push(("OCF_RESKEY_CRM_meta_globally_unique".into(), "true".into()));
        }
        env
    }

    /// Whether the rounds that `ended` so were a first announcement the
    /// budget had no slot for (a start already out of time before its
    /// first round warns and succeeds, as it always has).
    fn first_round(&self, ended: RoundsEnded) -> FirstRound {
        let limited = self.params.announce.rate_limit > 0;
        let nothing_sent = ended == (RoundsEnded::OutOfTime { sent: 0 });
        if limited && nothing_sent && self.announces_first() { FirstRound::NoSlot } else { FirstRound::Out }
    }

    /// The reason a start or recover fails when its first announcement got
    /// no slot.
    pub fn no_slot(&self, spot: Spot) -> AgentError {
        AgentError::generic(format!(
            "announce_rate_limit {}/s on {}: no slot for the first announcement of {} before the action's timeout (the other VIPs there hold the budget); raise the limit or the start timeout",
            self.params.announce.rate_limit, spot.site.nic, self.params.ip
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
        let ip = self.params.ip;
        let watch = self.convergence().and_then(|state| Some((state.asking(ip)?, state)));
        let pacer = self.pacer(spot.site.ifindex, &spot.site.nic).until(timing.deadline);
        let first_is_urgent = self.announces_first() && timing.first_delay.is_zero();
        let mut rounds = VipRounds { vip: self, spot, wire, watch, pacer, first_is_urgent };
        let ended = announce::send_rounds(&wire.sock, &timing, &mut rounds)
            .doing(|| format!("announcing {ip} on {}", spot.site.nic))?;
        if let (Window::Closes { tail }, RoundsEnded::Done) = (window, ended) {
            rounds.wait_until((Instant::now() + tail).min(timing.deadline));
        }
        // Nobody was asked when no round went out (the budget had no slot).
        let asked = !matches!(ended, RoundsEnded::AddressGone { .. } | RoundsEnded::OutOfTime { sent: 0 });
        if let Some((_, state)) = &mut rounds.watch {
            if matches!(window, Window::Closes { .. }) && asked {
                self.window_ended(state);
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
        Timing { count, first_delay, interval: self.params.announce.interval, deadline }
    }

    /// One round's frames from the NIC's `mac`. A cluster IP claims the VIP
    /// for the shared multicast MAC, while the frames still come from the
    /// NIC's own address.
    fn round_frames(&self, mac: Mac) -> Vec<Vec<u8>> {
        let params = self.params;
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

    /// Asks the link, with a short probe, whether another host answers for
    /// the VIP (for `explain`): its MAC, or `None`.
    pub fn other_owner(&self, wire: &Wire) -> AgentResult<Option<Mac>> {
        let plan = ProbePlan {
            initial_delay: Duration::ZERO,
            count: 2,
            interval: Duration::from_millis(10),
            wait: Duration::from_millis(30),
        };
        Ok(match self.run_probe(wire, &plan)? {
            ProbeOutcome::InUse { mac } => Some(mac),
            ProbeOutcome::Free | ProbeOutcome::CutShort | ProbeOutcome::NoSlot { .. } => None,
        })
    }

    /// Probes for the VIP on the wire, not counting answers from this
    /// host's own interfaces, within the action's budget.
    pub fn run_probe(&self, wire: &Wire, plan: &ProbePlan) -> AgentResult<ProbeOutcome> {
        let mut own_macs = self.nl.link_macs().doing(|| "listing this host's interfaces".to_string())?;
        // With virtual_mac, probes leave by the parent, which this node's own
        // interface with the VIP's MAC never hears: a frame from that MAC,
        // an answer or any other, is another host's.
        if let Some(mac) = self.virtual_mac() {
            own_macs.retain(|own| *own != mac);
        }
        let virtual_mac = self.virtual_mac().filter(|mac| *mac != wire.mac);
        let seen = probe::Listener { our_mac: wire.mac, own_macs: &own_macs, virtual_mac };
        let pacer = self.pacer(wire.link.ifindex, &wire.link.name);
        let mut send = |frame: &[u8]| pacer.send(&wire.sock, &[frame.to_vec()], Urgency::Urgent);
        let outcome =
            probe::run(&wire.sock, &mut send, &seen, self.params.ip, plan, self.inv.budget.deadline())
                .doing(|| format!("probing for {} on {}", self.params.ip, wire.link.name))?;
        crate::observe::count("probes_sent", plan.count);
        if let ProbeOutcome::InUse { mac } = &outcome {
            crate::observe::conflict(&mac.to_string());
        }
        Ok(outcome)
    }
}

/// The rounds of one VIP: its announcement, and the questions to the
/// gateways that have not answered it yet, with the state they update.
struct VipRounds<'v, 'a> {
    vip: &'v Vip<'a>,
    spot: Spot<'v>,
    wire: &'v Wire,
    watch: Option<(Asking, Convergence)>,
    pacer: Pacer,
    /// The first round is this VIP's first announcement.
    first_is_urgent: bool,
}

impl Rounds for VipRounds<'_, '_> {
    fn next_round(&mut self) -> Option<Vec<Vec<u8>>> {
        let (vip, site) = (self.vip, self.spot.site);
        let ip: IpAddr = vip.params.ip;
        let entries = vip.nl.address_entries(site.ifindex, ip).ok()?;
        entries.iter().any(|a| a.prefix == self.spot.prefix).then_some(())?;
        // The MAC may change under a running VIP (a bond's failover).
        let mac = match vip.nl.link(site.ifindex) {
            Ok(Some(link)) => link.mac.unwrap_or(self.wire.mac),
            _ => self.wire.mac,
        };
        crate::observe::first_announcement();
        let mut frames = vip.round_frames(mac);
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
            self.vip.heard(state, asking);
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
    fn remove(&self, _why: Removal) -> AgentResult<()> {
        self.stop();
        Ok(())
    }
}
