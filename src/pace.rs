//! One announcement budget per interface, shared by every instance of the
//! agent on the node (`announce_rate_limit`): the ledger of the frames sent
//! and promised on one interface, and where a new frame fits so that no
//! one-second window holds more than the limit. Switches punish more:
//! Cisco's Dynamic ARP Inspection err-disables a port past 15 ARP frames a
//! second by default, and a node starting 100 VIPs at once sends hundreds.
//!
//! Urgent frames (a VIP's probes and first announcement) reserve the
//! earliest slot that fits, possibly ahead of time. Repeats never reserve
//! ahead: they take a slot only when one fits at once, below a headroom
//! kept for urgent frames, so a first announcement never queues behind
//! other VIPs' repeats. A start books its probes and its first announcement
//! as one block (`Ledger::book_block`), so that under a burst the VIPs are
//! served one after another instead of every VIP's probes first. Pure: the
//! caller holds the ledger's lock, reads and writes it, and sleeps.

use serde::{Deserialize, Serialize};

/// The clock the ledgers keep: ms since the epoch, shared by every process.
pub fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// The window the limit applies to.
pub const WINDOW_MS: u64 = 1000;
/// How late a sender may wake for its slot and still take it; a later one
/// books again.
pub const LATE_MS: u64 = 10;
/// How long a sender may be held up between its last look at the clock and
/// its frame reaching the wire: a process preempted there on a loaded node.
/// With only the wake margin for it (9 ms), a CI run of 200 starts at once
/// on 2 cores put one frame too many in a one-second window on the wire.
const SEND_SLACK_MS: u64 = 30;
/// Frames are spaced by the window, a late wake (and the millisecond the
/// clock is read in) and the slack, so that late senders never crowd a
/// window on the wire: only the first frame of a window can widen it, and
/// only by its own lateness.
const SPAN_MS: u64 = WINDOW_MS + 2 * LATE_MS + SEND_SLACK_MS;
/// Cisco DAI's default: past this many ARP frames a second the port is shut.
pub const SWITCH_DEFAULT_LIMIT: usize = 15;

/// The frames of one interface, sent or promised: `(when in ms since the
/// epoch, sender's pid)`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ledger {
    pub slots: Vec<(u64, u32)>,
    /// Whether a start warned that the instances exceed the switch default
    /// without a limit (said once per interface until the node reboots).
    #[serde(default)]
    pub warned: bool,
}

/// Which frames wait for which.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Urgency {
    /// Probes and a VIP's first announcement.
    Urgent,
    /// Everything after the first announcement.
    Repeat,
}

impl Ledger {
    /// Forgets the frames that left the window, and the promises of
    /// senders that died before keeping them (killed at any instant).
    /// Each sender is looked up once, however many slots it holds: a burst
    /// keeps hundreds of promises here, and this runs under the lock.
    pub fn prune(&mut self, now_ms: u64, alive: impl Fn(u32) -> bool) {
        let mut known: std::collections::HashMap<u32, bool> = std::collections::HashMap::new();
        self.slots.retain(|&(at, pid)| {
            at + SPAN_MS > now_ms && (at <= now_ms || *known.entry(pid).or_insert_with(|| alive(pid)))
        });
    }

    /// The booked times, in order.
    fn times(&self) -> Vec<u64> {
        let mut times: Vec<u64> = self.slots.iter().map(|s| s.0).collect();
        times.sort_unstable();
        times
    }

    /// How many frames a class may fill a window with: repeats leave a
    /// quarter of the limit (at least one frame) to urgent frames.
    fn allowed(limit: usize, urgency: Urgency) -> usize {
        match urgency {
            Urgency::Urgent => limit,
            Urgency::Repeat if limit >= 2 => limit - (limit / 4).max(1),
            Urgency::Repeat => limit,
        }
    }

    /// The earliest time at or after `now_ms` where a frame of `urgency`
    /// fits under `limit`.
    pub fn earliest(&self, now_ms: u64, limit: usize, urgency: Urgency) -> u64 {
        self.earliest_within(now_ms, Ledger::allowed(limit, urgency))
    }

    /// The earliest time at or after `now_ms` where one more frame keeps
    /// every window within `allowed` frames.
    fn earliest_within(&self, now_ms: u64, allowed: usize) -> u64 {
        let times = self.times();
        let mut candidates: Vec<u64> = vec![now_ms];
        candidates.extend(times.iter().map(|t| t + SPAN_MS).filter(|&t| t > now_ms));
        candidates.sort_unstable();
        candidates
            .into_iter()
            .find(|&t| fits(&times, t, allowed))
            // Past the last frame's window every window is empty.
            .unwrap_or_else(|| times.last().map_or(now_ms, |t| t + SPAN_MS).max(now_ms))
    }

    /// Gives back the slot `pid` booked at `at` (it woke too late for it).
    pub fn release(&mut self, at: u64, pid: u32) {
        if let Some(i) = self.slots.iter().position(|s| *s == (at, pid)) {
            self.slots.remove(i);
        }
    }

    /// Books a frame at `at` (repeats book only the present, so a slot
    /// needs no class).
    pub fn book(&mut self, at: u64, pid: u32) {
        self.slots.push((at, pid));
    }

    /// Books a start's urgent frames as one block at the earliest place
    /// the budget has: its probes, then its first announcement once the
    /// probing is over. When the block would end past the start's deadline,
    /// it adapts rather than fail (see `BlockRequest::shapes`): fewer
    /// probes, then the first announcement deferred past the deadline (sent
    /// by a worker after start returns), then no probe at all.
    pub fn book_block(&mut self, now_ms: u64, request: &BlockRequest, pid: u32) -> Block {
        let first = now_ms + request.probe_delay_ms;
        let busy =
            self.block_slot(first, request, false) > first + request.deadline_ms.saturating_sub(first) / 4;
        let margin = IN_TIME_MARGIN_MS.min(request.deadline_ms.saturating_sub(now_ms) / 4);
        let planned = request.shapes(busy).into_iter().find_map(|(probes, deferred)| {
            let block = self.place(now_ms, request, probes, deferred);
            block.fits(request, margin).then_some(block)
        });
        // The last shape (no probe, announcement deferred) always fits.
        let block = planned.unwrap_or_else(|| self.place(now_ms, request, 0, true));
        for &at in block.probes.iter().chain(&block.announcement) {
            self.book(at, pid);
        }
        block
    }

    /// Where a block of `probes` probes and the announcement would go,
    /// booked one frame after the other on a copy of the ledger.
    fn place(&self, now_ms: u64, request: &BlockRequest, probes: u64, deferred: bool) -> Block {
        let mut trial = self.clone();
        let mut next = now_ms + request.probe_delay_ms;
        let mut placed = Vec::new();
        for _ in 0..probes {
            let at = trial.block_slot(next, request, deferred);
            trial.book(at, 0);
            placed.push(at);
            next = at + request.probe_interval_ms;
        }
        let probing_ends = placed.last().map_or(now_ms, |&last| last + request.probe_wait_ms);
        let mut next = probing_ends + request.settle_ms;
        if deferred {
            // After the start returned: the room before it is for probes.
            next = next.max(request.deadline_ms + 1);
        }
        let mut announcement = Vec::new();
        for _ in 0..request.announcement_frames {
            let at = trial.block_slot(next, request, deferred);
            trial.book(at, 0);
            announcement.push(at);
            next = at;
        }
        Block { probes: placed, probing_ends, announcement, deferred, busy: false }
    }

    /// The earliest slot at or after `next` for a frame of a block. A block
    /// announced before its deadline leaves `probe_room` of every window in
    /// the second half of the time to the deadline: the room where the
    /// probes of the VIPs that come too late to be announced in time (their
    /// announcement deferred) still go out before their start returns. A
    /// burst the start timeout carries easily never reaches that half.
    fn block_slot(&self, next: u64, request: &BlockRequest, deferred: bool) -> u64 {
        let at = self.earliest_within(next, request.limit);
        let room_from = next.midpoint(request.deadline_ms.max(next));
        if deferred || at < room_from {
            return at;
        }
        self.earliest_within(at, request.limit - probe_room(request.limit))
    }

    /// Frames sent in the last second up to `now_ms`: what a switch counts now.
    pub fn last_second(&self, now_ms: u64) -> usize {
        self.slots.iter().filter(|s| s.0 <= now_ms && s.0 + WINDOW_MS > now_ms).count()
    }
}

/// What a start asks of the budget: its probes and its first
/// announcement, and the deadline its start must return by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlockRequest {
    pub limit: usize,
    /// The probes the configuration asks for (0: none), the first after
    /// `probe_delay_ms`.
    pub probes: u64,
    pub probe_delay_ms: u64,
    pub probe_interval_ms: u64,
    /// How long the start listens after its last probe.
    pub probe_wait_ms: u64,
    /// From the end of probing to the first announcement: adding the
    /// address and what follows it.
    pub settle_ms: u64,
    /// The frames of the first announcement round.
    pub announcement_frames: usize,
    pub deadline_ms: u64,
}

impl BlockRequest {
    /// The shapes a block may take, best first: every probe with the
    /// announcement before the deadline; fewer probes (down to one) so that
    /// it still fits; one probe and the announcement deferred past the
    /// deadline (checked, announced a little later); and, when not even one
    /// probe ends in time, none. A probe still answers the question that
    /// matters (does another host hold the address now?); further probes
    /// only guard against a lost frame, so while the budget is `busy` (other
    /// VIPs hold the next slot: a burst) a block asks for one.
    fn shapes(&self, busy: bool) -> Vec<(u64, bool)> {
        let most = if busy { self.probes.min(1) } else { self.probes };
        let mut shapes: Vec<(u64, bool)> = (1..=most).rev().map(|probes| (probes, false)).collect();
        if self.probes > 0 {
            shapes.push((1, true));
        }
        shapes.extend([(0, false), (0, true)]);
        shapes
    }
}

/// Where a start's urgent frames go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Block {
    /// When each probe goes out (fewer than asked when cut).
    pub probes: Vec<u64>,
    /// When the start stops listening for answers to the probes.
    pub probing_ends: u64,
    /// When the first announcement's frames go out.
    pub announcement: Vec<u64>,
    /// The first announcement goes out after the start returned.
    pub deferred: bool,
    /// Other VIPs had booked the budget far ahead (a burst): one probe.
    pub busy: bool,
}

impl Block {
    /// Whether the block is possible for `request`: probing ends before the
    /// deadline, and so does the announcement unless it is deferred.
    fn fits(&self, request: &BlockRequest, margin: u64) -> bool {
        let in_time = |at: u64| at + margin <= request.deadline_ms;
        let probing_in_time = self.probes.is_empty() || in_time(self.probing_ends);
        let announced_in_time = self.announcement.last().is_none_or(|&at| in_time(at));
        probing_in_time && (self.deferred || announced_in_time)
    }
}

/// How long before the deadline a block's probing and announcement must
/// end to count as in time (at most; a quarter of the time left when that
/// is less): a start slowed down by a loaded node (a burst is a hundred
/// processes at once) still keeps its slots.
const IN_TIME_MARGIN_MS: u64 = 1000;

/// How much of each window a block announced in time leaves to the probes
/// of VIPs whose announcement is deferred: a fifth of the limit, so that
/// under a burst larger than the start timeout can carry, the last VIPs are
/// still probed before their start returns. Below 5 frames a second there
/// is no room to spare.
fn probe_room(limit: usize) -> usize {
    limit / 5
}

/// Whether one more frame at `at` keeps every window of the ordered
/// `times` within `allowed`: it does not when `allowed` booked frames lie,
/// with `at`, inside one window. Only frames less than a window from `at`
/// can, so only those are looked at.
fn fits(times: &[u64], at: u64, allowed: usize) -> bool {
    if allowed == 0 {
        return false;
    }
    let near =
        &times[times.partition_point(|&t| t + SPAN_MS <= at)..times.partition_point(|&t| t < at + SPAN_MS)];
    near.windows(allowed).all(|run| {
        let (first, last) = (run[0], run[allowed - 1]);
        last.max(at) - first.min(at) >= SPAN_MS
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000_000;

    /// Books `n` frames of `urgency` one after the other, each as early as
    /// it fits; returns their times.
    fn book_n(ledger: &mut Ledger, n: usize, limit: usize, urgency: Urgency) -> Vec<u64> {
        (0..n)
            .map(|_| {
                let at = ledger.earliest(NOW, limit, urgency);
                ledger.book(at, 1);
                at
            })
            .collect()
    }

    /// The most frames of `times` in any one-second window.
    fn peak(times: &[u64]) -> usize {
        times
            .iter()
            .map(|&start| times.iter().filter(|&&t| t >= start && t < start + WINDOW_MS).count())
            .max()
            .unwrap_or(0)
    }

    #[test]
    fn urgent_frames_never_put_more_than_the_limit_in_a_window() {
        for limit in [1, 2, 15, 100] {
            let mut ledger = Ledger::default();
            let times = book_n(&mut ledger, limit * 3 + 1, limit, Urgency::Urgent);
            assert_eq!(peak(&times), limit, "limit {limit}: {times:?}");
            assert_eq!(times[..limit], vec![NOW; limit][..], "the first {limit} go at once");
            assert_eq!(times[limit], NOW + SPAN_MS, "the next when the first leave the window");
            assert_eq!(*times.last().unwrap(), NOW + 3 * SPAN_MS);
        }
    }

    #[test]
    fn repeats_leave_room_for_urgent_frames() {
        let mut ledger = Ledger::default();
        let repeats = book_n(&mut ledger, 12, 15, Urgency::Repeat);
        assert_eq!(repeats.iter().filter(|&&t| t == NOW).count(), 12);
        // The 12th repeat filled what repeats may use of a window of 15.
        assert_eq!(ledger.earliest(NOW, 15, Urgency::Repeat), NOW + SPAN_MS);
        let urgent = book_n(&mut ledger, 3, 15, Urgency::Urgent);
        assert_eq!(urgent, vec![NOW; 3], "urgent frames go at once, beside the repeats");
        assert_eq!(ledger.earliest(NOW, 15, Urgency::Urgent), NOW + SPAN_MS, "and the limit holds");
        assert_eq!(ledger.last_second(NOW), 15);
        assert_eq!(ledger.last_second(NOW + WINDOW_MS), 0);
    }

    #[test]
    fn a_frame_promised_ahead_counts_in_the_windows_it_falls_in() {
        let mut ledger = Ledger::default();
        ledger.book(NOW + 500, 1);
        // A limit of 1: now does not fit (the window [now, now+1s) holds
        // the promise), nor does anything closer than a window after it.
        assert_eq!(ledger.earliest(NOW, 1, Urgency::Urgent), NOW + 500 + SPAN_MS);
    }

    #[test]
    fn pruning_drops_the_past_window_and_the_promises_of_the_dead() {
        let mut ledger = Ledger::default();
        ledger.book(NOW - 2000, 1);
        ledger.book(NOW - 10, 1);
        ledger.book(NOW + 300, 7);
        ledger.book(NOW + 400, 8);
        ledger.prune(NOW, |pid| pid != 7);
        assert_eq!(ledger.slots, vec![(NOW - 10, 1), (NOW + 400, 8)]);
    }

    #[test]
    fn pruning_looks_up_each_sender_once() {
        let mut ledger = Ledger::default();
        for i in 0..30 {
            ledger.book(NOW + 100 + i, 1 + (i as u32 % 3));
        }
        let lookups = std::cell::Cell::new(0);
        ledger.prune(NOW, |pid| {
            lookups.set(lookups.get() + 1);
            pid != 2
        });
        assert_eq!(lookups.get(), 3);
        assert_eq!(ledger.slots.len(), 20);
    }

    #[test]
    fn fits_agrees_with_counting_every_window() {
        // Every window of length SPAN_MS that contains `at` holds at most
        // `allowed` frames once `at` is added (the fullest such window
        // starts at a frame, or at `at`).
        let brute = |times: &[u64], at: u64, allowed: usize| {
            let mut all = times.to_vec();
            all.push(at);
            all.iter()
                .filter(|&&start| start <= at && at < start + SPAN_MS)
                .all(|&start| all.iter().filter(|&&t| t >= start && t < start + SPAN_MS).count() <= allowed)
        };
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = |bound: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % bound
        };
        for _ in 0..500 {
            let mut times: Vec<u64> = (0..next(30)).map(|_| NOW + next(4000)).collect();
            times.sort_unstable();
            let (at, allowed) = (NOW + next(4000), 1 + next(6) as usize);
            assert_eq!(fits(&times, at, allowed), brute(&times, at, allowed), "{times:?} + {at}, {allowed}");
        }
    }

    fn request(probes: u64, deadline_ms: u64) -> BlockRequest {
        BlockRequest {
            limit: 15,
            probes,
            probe_delay_ms: 0,
            probe_interval_ms: 2,
            probe_wait_ms: 8,
            settle_ms: 20,
            announcement_frames: 2,
            deadline_ms,
        }
    }

    /// `vips` starts booking one after the other, each with its own pid.
    fn burst(vips: u32, request: &BlockRequest) -> (Ledger, Vec<Block>) {
        let mut ledger = Ledger::default();
        let blocks = (1..=vips).map(|pid| ledger.book_block(NOW, request, pid)).collect();
        (ledger, blocks)
    }

    #[test]
    fn a_block_books_the_probes_then_the_announcement_after_the_probing() {
        let (ledger, blocks) = burst(1, &request(2, NOW + 18_000));
        let block = &blocks[0];
        assert_eq!(block.probes, vec![NOW, NOW + 2]);
        assert_eq!(block.probing_ends, NOW + 10);
        assert_eq!(block.announcement, vec![NOW + 30; 2]);
        assert!(!block.deferred);
        assert_eq!(ledger.slots.len(), 4);
    }

    #[test]
    fn under_a_burst_vips_are_served_one_after_another_within_the_limit() {
        let (ledger, blocks) = burst(100, &request(2, NOW + 60_000));
        let times = ledger.times();
        assert_eq!(peak(&times), 15);
        assert!(blocks.iter().all(|b| !b.probes.is_empty() && !b.deferred), "a minute is time enough");
        // The second probe is given up only once the backlog passed a
        // quarter of the time to the deadline.
        for block in blocks.iter().filter(|b| b.probes.len() < 2) {
            assert!(block.probes[0] > NOW + 15_000 - SPAN_MS, "{block:?}");
        }
        // Each VIP's frames lie close together: the next VIP's block never
        // starts before the previous one's announcement is booked.
        for pair in blocks.windows(2) {
            assert!(pair[1].probes[0] >= pair[0].probes[0], "{pair:?}");
            let span = pair[0].announcement.last().unwrap() - pair[0].probes[0];
            assert!(span <= 2 * SPAN_MS, "one VIP's block spread over {span} ms: {:?}", pair[0]);
        }
    }

    #[test]
    fn a_block_that_would_miss_the_deadline_cuts_probes_then_defers_and_never_fails() {
        let deadline = NOW + 18_000;
        for vips in [100, 200] {
            let (ledger, blocks) = burst(vips, &request(2, deadline));
            assert_eq!(peak(&ledger.times()), 15, "{vips} VIPs");
            assert_eq!(blocks.len(), vips as usize);
            for block in &blocks {
                assert!(block.fits(&request(2, deadline), IN_TIME_MARGIN_MS), "{block:?}");
                if !block.deferred {
                    assert!(*block.announcement.last().unwrap() + IN_TIME_MARGIN_MS <= deadline, "{block:?}");
                }
                if !block.probes.is_empty() {
                    assert!(block.probing_ends + IN_TIME_MARGIN_MS <= deadline, "{block:?}");
                }
            }
            // Probes are cut only when the full block no longer fits: the
            // first ones keep both.
            assert_eq!(blocks[0].probes.len(), 2);
            let cut = blocks.iter().position(|b| b.probes.len() < 2).unwrap_or(blocks.len());
            assert!(blocks[cut..].iter().all(|b| b.probes.len() < 2), "once cut, the later ones are cut too");
            // The wire is kept busy: the last announcement goes out within
            // 1.25 times what the frames booked need at the limit.
            let frames = ledger.slots.len() as u64;
            let last = blocks.iter().filter_map(|b| b.announcement.last()).max().unwrap() - NOW;
            let floor = frames * SPAN_MS / 15;
            assert!(last * 4 <= floor * 5, "{vips} VIPs: last announcement at {last} ms, floor {floor} ms");
        }
        let (_, blocks) = burst(200, &request(2, deadline));
        assert!(blocks.iter().any(|b| b.deferred), "200 VIPs at 15/s cannot all be announced in 18 s");
    }

    #[test]
    fn without_probes_asked_none_are_sent_and_the_announcement_is_deferred_when_late() {
        let (_, blocks) = burst(300, &request(0, NOW + 18_000));
        assert!(blocks.iter().all(|b| b.probes.is_empty()));
        assert!(!blocks[0].deferred && blocks[299].deferred);
    }

    #[test]
    fn a_late_sender_gives_its_slot_back() {
        let mut ledger = Ledger::default();
        ledger.book(NOW, 3);
        ledger.book(NOW, 4);
        ledger.release(NOW, 3);
        assert_eq!(ledger.slots, vec![(NOW, 4)]);
        ledger.release(NOW, 3);
        assert_eq!(ledger.slots.len(), 1, "only its own, once");
    }

    #[test]
    fn the_ledger_reads_back_as_written() {
        let mut ledger = Ledger { warned: true, ..Ledger::default() };
        ledger.book(NOW, 42);
        let text = serde_json::to_string(&ledger).unwrap();
        assert_eq!(serde_json::from_str::<Ledger>(&text).unwrap(), ledger);
        assert_eq!(serde_json::from_str::<Ledger>("{\"slots\":[]}").unwrap(), Ledger::default());
    }
}
