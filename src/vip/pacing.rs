//! `announce_rate_limit` (see `crate::pace`): every frame the agent sends
//! on an interface (probes, announcements, questions to the gateways)
//! passes through the interface's shared ledger, under its lock, which the
//! kernel releases if the agent is killed; a killed sender's promises are
//! dropped by the next one. Without a limit the ledger only counts, so
//! that a start can warn when the instances together exceed what a switch
//! tolerates. A monitor that sends nothing never opens it.

use super::context::Vip;
use crate::invocation::Action;
use crate::ocf::log;
use crate::pace::{Block, BlockRequest, LATE_MS, Ledger, SWITCH_DEFAULT_LIMIT, Urgency, now_ms};
use crate::probe::ProbePlan;
use crate::rawsock::PacketSocket;
use crate::store::RunDir;
use crate::store::key::{self, Shared};
use std::io;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Slots this process booked ahead for its next urgent frames, by ledger:
/// a start's block (probes, then the first announcement), or the deferred
/// announcement a start handed to its announcer. Taken in order by `send`.
static RESERVED: Mutex<Vec<(String, u64)>> = Mutex::new(Vec::new());

fn reserved() -> std::sync::MutexGuard<'static, Vec<(String, u64)>> {
    // A poisoned list only means a thread panicked holding it; the slots
    // in it are still this process's.
    RESERVED.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Room for tens of thousands of frames sent or promised (a few hundred
/// VIPs starting at once under a low limit book far ahead).
const MAX_LEDGER_BYTES: u64 = 1 << 20;

/// The budget of one interface, as this action uses it.
pub struct Pacer {
    run_dir: RunDir,
    ledger: String,
    lock: String,
    nic: String,
    limit: usize,
    deadline: Instant,
    /// How long to wait for the ledger's lock, when not until `deadline`.
    lock_until: Option<Instant>,
    /// Whether this process has an output to warn on (the background
    /// announcer has none).
    can_warn: bool,
}

fn sleep_until_ms(at: u64) {
    std::thread::sleep(Duration::from_millis(at.saturating_sub(now_ms())));
}

impl Vip<'_> {
    /// The budget of the interface `ifindex` (named `nic`).
    /// Frames from the VIP's virtual-MAC interface leave by its parent's
    /// port: they count against the parent's budget, which one ledger keeps
    /// whatever interfaces come and go on it.
    pub fn pacer(&self, ifindex: u32, nic: &str) -> Pacer {
        let virtual_link = self.record.and_then(|record| record.virtual_link.as_ref());
        let (ifindex, nic) = match virtual_link {
            Some(link) if link.ifindex == Some(ifindex) || link.name == nic => {
                (link.parent_ifindex, link.parent.as_str())
            }
            _ => (ifindex, nic),
        };
        let ns = self.params.network_namespace.as_deref();
        Pacer {
            run_dir: self.run_dir(),
            ledger: key::interface_file(Shared::PaceLedger, ifindex, ns),
            lock: key::interface_file(Shared::PaceLock, ifindex, ns),
            nic: nic.to_string(),
            limit: self.params.announce.rate_limit,
            deadline: self.inv.budget.deadline(),
            lock_until: None,
            can_warn: self.inv.action != Action::AnnounceWorker,
        }
    }

    /// Whether this action's first round is a first announcement (start,
    /// recover, or the announcer a start deferred its first one to), which
    /// goes ahead of other VIPs' repeats.
    pub fn announces_first(&self) -> bool {
        match self.inv.action {
            Action::Start | Action::Recover => true,
            Action::AnnounceWorker => std::env::var_os(crate::background::SLOTS_VAR).is_some(),
            _ => false,
        }
    }
}

impl Pacer {
    /// Sends nothing past `deadline` (the background announcer's own, not
    /// the action's).
    pub fn until(self, deadline: Instant) -> Pacer {
        Pacer { deadline, ..self }
    }

    /// The same budget with the ledger's lock waited for until the
    /// deadline, or up to `wait` from now when that is later (booking a
    /// deferred frame, past the deadline if need be).
    pub fn lock_wait(self, wait: Duration) -> Pacer {
        Pacer { lock_until: Some(self.deadline.max(Instant::now() + wait)), ..self }
    }

    /// Whether frames sent here are paced (`announce_rate_limit` is set).
    pub fn is_limited(&self) -> bool {
        self.limit > 0
    }

    /// Books a start's probes and first announcement as one block (see
    /// `Ledger::book_block`), for this process's next urgent frames.
    /// `plan` is the probing asked for (`None`: no probe), `settle` the
    /// time from the end of probing to the first announcement.
    pub fn reserve_block(
        &self,
        plan: Option<&ProbePlan>,
        settle: Duration,
        announcement_frames: usize,
    ) -> io::Result<Block> {
        let pid = std::process::id();
        let deadline_ms = self.deadline_ms();
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        let block = self.with_ledger(|ledger, now| {
            let request = BlockRequest {
                limit: self.limit,
                probes: plan.map_or(0, |plan| plan.count),
                probe_delay_ms: plan.map_or(0, |plan| ms(plan.initial_delay)),
                probe_interval_ms: plan.map_or(0, |plan| ms(plan.interval)),
                probe_wait_ms: plan.map_or(0, |plan| ms(plan.wait)),
                settle_ms: ms(settle),
                announcement_frames,
                deadline_ms,
            };
            ledger.book_block(now, &request, pid)
        })?;
        let mut list = reserved();
        list.retain(|(ledger, _)| *ledger != self.ledger);
        list.extend(block.probes.iter().chain(&block.announcement).map(|&at| (self.ledger.clone(), at)));
        Ok(block)
    }

    /// The slots this process still holds ahead on this interface.
    pub fn reserved_slots(&self) -> Vec<u64> {
        reserved().iter().filter(|(ledger, _)| *ledger == self.ledger).map(|&(_, at)| at).collect()
    }

    /// Gives the slots this process holds ahead to the worker `to` (and
    /// forgets them here), so that they outlive this process: a promise of
    /// a dead sender is dropped. `from` is the process that booked them.
    pub fn hand_over(&self, slots: &[u64], from: u32, to: u32) -> io::Result<usize> {
        reserved().retain(|(ledger, at)| !(*ledger == self.ledger && slots.contains(at)));
        self.with_ledger(|ledger, _| {
            let mut kept = 0;
            for slot in
                ledger.slots.iter_mut().filter(|(at, pid)| slots.contains(at) && (*pid == from || *pid == to))
            {
                slot.1 = to;
                kept += 1;
            }
            kept
        })
    }

    /// Takes the slots a start handed to this worker, as far as the ledger
    /// still holds them for the start or for this worker (a slot the start's
    /// death let go is booked again when its frame is sent).
    pub fn adopt(&self, slots: &[u64], from: u32) -> io::Result<()> {
        let own = std::process::id();
        let kept: Vec<u64> = self.with_ledger(|ledger, _| {
            let mut kept = Vec::new();
            for slot in ledger
                .slots
                .iter_mut()
                .filter(|(at, pid)| slots.contains(at) && (*pid == from || *pid == own))
            {
                slot.1 = own;
                kept.push(slot.0);
            }
            kept
        })?;
        reserved().extend(kept.into_iter().map(|at| (self.ledger.clone(), at)));
        Ok(())
    }

    /// Gives back the slots this process still holds ahead here (a first
    /// announcement that missed its slots books anew).
    pub fn forget_reserved(&self) {
        let slots = self.reserved_slots();
        reserved().retain(|(ledger, _)| *ledger != self.ledger);
        for at in slots {
            self.release(at);
        }
    }

    /// The next slot this process booked ahead on this interface.
    fn take_reserved(&self) -> Option<u64> {
        let mut list = reserved();
        let i = list.iter().position(|(ledger, _)| *ledger == self.ledger)?;
        Some(list.remove(i).1)
    }

    /// The deadline, in ms since the epoch as the ledger counts.
    pub fn deadline_ms(&self) -> u64 {
        now_ms() + self.deadline.saturating_duration_since(Instant::now()).as_millis() as u64
    }

    /// Sends `frames` on `sock` within the budget; `false` when the budget
    /// has no slot for them before the action's deadline (nothing more is
    /// sent then). Slots booked ahead (`reserve_block`) are used first.
    pub fn send(&self, sock: &PacketSocket, frames: &[Vec<u8>], urgency: Urgency) -> io::Result<bool> {
        if self.limit == 0 {
            self.count(frames.len());
            for frame in frames {
                sock.send(frame)?;
            }
            return Ok(true);
        }
        for frame in frames {
            if let Some(booked) = self.take_reserved() {
                let at = self.sooner(booked);
                sleep_until_ms(at);
                if now_ms() <= at + LATE_MS || self.retake(at, Urgency::Urgent) {
                    sock.send(frame)?;
                    continue;
                }
                // Woken too late for the slot booked ahead, and no room
                // now: book again, as urgently as the block was booked.
                if !self.send_one(sock, frame, Urgency::Urgent)? {
                    return Ok(false);
                }
                continue;
            }
            if !self.send_one(sock, frame, urgency)? {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// A slot booked ahead, moved to now when the frame is ready before it
    /// and the budget has room now (a block leaves generous time for adding
    /// the address; without a burst the announcement need not wait for it).
    fn sooner(&self, booked: u64) -> u64 {
        if booked <= now_ms() + LATE_MS {
            return booked;
        }
        let pid = std::process::id();
        // A look without the lock first (the ledger is replaced whole, by
        // rename): under a burst the budget is booked far ahead and nothing
        // moves, and a lock taken for every frame of 200 starts to learn
        // that is what made starts wait past their deadline.
        if let Some(mut seen) = self.peek() {
            seen.release(booked, pid);
            if seen.earliest(now_ms(), self.limit, Urgency::Urgent) >= booked {
                return booked;
            }
        }
        let moved = self.with_ledger(|ledger, now| {
            ledger.release(booked, pid);
            let at = ledger.earliest(now, self.limit, Urgency::Urgent);
            let at = if at < booked { at } else { booked };
            ledger.book(at, pid);
            at
        });
        moved.unwrap_or(booked)
    }

    /// For a frame woken too late for its slot `at`: moves the slot to now
    /// when a frame now keeps every window within the limit, so that a
    /// sender a loaded node wakes late keeps its turn instead of going to
    /// the back of a burst's queue (and, waking late again there, never
    /// sending). `true`: send at once. `false`: the slot is given back.
    fn retake(&self, at: u64, urgency: Urgency) -> bool {
        let pid = std::process::id();
        let moved = self.with_ledger(|ledger, now| {
            ledger.release(at, pid);
            let fits = ledger.earliest(now, self.limit, urgency) == now;
            if fits {
                ledger.book(now, pid);
            }
            fits.then_some(now)
        });
        match moved {
            // Sent right after the ledger's lock is let go: the frame is
            // as late as a frame on time may be.
            Ok(Some(now)) => {
                now_ms() <= now + LATE_MS || {
                    self.release(now);
                    false
                }
            }
            Ok(None) => false,
            Err(err) => {
                log::debug(format!("announce_rate_limit on {}: {err}", self.nic));
                self.release(at);
                false
            }
        }
    }

    /// Gives back a slot this process booked.
    fn release(&self, at: u64) {
        let pid = std::process::id();
        if let Err(err) = self.with_ledger(|ledger, _| ledger.release(at, pid)) {
            log::debug(format!("announce_rate_limit on {}: {err}", self.nic));
        }
    }

    /// Sends one frame at the earliest slot for its urgency.
    fn send_one(&self, sock: &PacketSocket, frame: &[u8], urgency: Urgency) -> io::Result<bool> {
        loop {
            match self.slot(urgency) {
                Ok(Some(at)) => {
                    sleep_until_ms(at);
                    // Woken too late (a loaded node), sending now could crowd
                    // a later window: only if the budget has room now, or
                    // book again.
                    if now_ms() <= at + LATE_MS || self.retake(at, urgency) {
                        break;
                    }
                }
                Ok(None) => return Ok(false),
                // The other senders held the ledger until the deadline.
                Err(err) if err.kind() == io::ErrorKind::TimedOut => return Ok(false),
                // A ledger that cannot be used must not silence the VIP.
                Err(err) => {
                    log::debug(format!("announce_rate_limit on {}: {err}; sending unpaced", self.nic));
                    break;
                }
            }
        }
        sock.send(frame)?;
        Ok(true)
    }

    /// Books the earliest slot for one frame: an urgent frame books ahead,
    /// a repeat waits until one fits at once. `None` past the deadline.
    fn slot(&self, urgency: Urgency) -> io::Result<Option<u64>> {
        let pid = std::process::id();
        let deadline_ms = self.deadline_ms();
        loop {
            let (at, booked) = self.with_ledger(|ledger, now| {
                let at = ledger.earliest(now, self.limit, urgency);
                let book = at <= deadline_ms && (urgency == Urgency::Urgent || at == now);
                if book {
                    ledger.book(at, pid);
                }
                (at, book)
            })?;
            if booked {
                return Ok(Some(at));
            }
            if at > deadline_ms {
                return Ok(None);
            }
            sleep_until_ms(at);
        }
    }

    /// Without a limit: books the frames as sent now, and warns once when
    /// the interface's frames of the last second exceed a switch's default.
    fn count(&self, frames: usize) {
        let pid = std::process::id();
        let counted = self.with_ledger(|ledger, now| {
            for _ in 0..frames {
                ledger.book(now, pid);
            }
            let sent = ledger.last_second(now);
            let warn = self.can_warn && !ledger.warned && sent > SWITCH_DEFAULT_LIMIT;
            ledger.warned |= warn;
            (sent, warn)
        });
        match counted {
            Ok((sent, true)) => log::warn(format!(
                "{sent} ARP/NA frames went out on {} within one second, from all VIPs there: switches with Dynamic ARP Inspection shut a port past {SWITCH_DEFAULT_LIMIT} a second by default; set announce_rate_limit on these VIPs to pace them (said once)",
                self.nic
            )),
            Ok(_) => {}
            Err(err) => log::debug(format!("counting the frames sent on {}: {err}", self.nic)),
        }
    }

    /// The interface's ledger as last saved, read without its lock: a hint
    /// only (unpruned, and maybe changed since), for deciding whether a
    /// transaction is worth its lock.
    fn peek(&self) -> Option<Ledger> {
        self.read_ledger().ok()
    }

    /// The interface's ledger as saved, unpruned. A damaged or oversized
    /// ledger is only a count: it reads as empty, to start afresh.
    fn read_ledger(&self) -> io::Result<Ledger> {
        let text = match self.run_dir.read_capped(&self.ledger, MAX_LEDGER_BYTES) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::InvalidData => None,
            Err(err) => return Err(err),
        };
        Ok(text.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default())
    }

    /// Runs `f` on the interface's ledger, pruned, under its lock, and
    /// saves it.
    fn with_ledger<T>(&self, f: impl FnOnce(&mut Ledger, u64) -> T) -> io::Result<T> {
        let _turn = self.run_dir.lock_queued(&self.lock, self.lock_until.unwrap_or(self.deadline))?;
        let mut ledger = self.read_ledger()?;
        let now = now_ms();
        ledger.prune(now, |pid| i32::try_from(pid).is_ok_and(crate::process::is_running));
        let result = f(&mut ledger, now);
        self.run_dir.save(&self.ledger, &ledger)?;
        Ok(result)
    }
}
