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
//! other VIPs' repeats. Pure: the caller holds the ledger's lock, reads and
//! writes it, and sleeps.

use serde::{Deserialize, Serialize};

/// The window the limit applies to.
pub const WINDOW_MS: u64 = 1000;
/// How late a sender may wake for its slot and still take it; a later one
/// books again. Frames are spaced by the window and twice this much (a
/// late sender, and the millisecond the clock is read in), so that late
/// senders never crowd a window on the wire.
pub const LATE_MS: u64 = 10;
const SPAN_MS: u64 = WINDOW_MS + 2 * LATE_MS;
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
    pub fn prune(&mut self, now_ms: u64, alive: impl Fn(u32) -> bool) {
        self.slots.retain(|&(at, pid)| at + SPAN_MS > now_ms && (at <= now_ms || alive(pid)));
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
        let allowed = Ledger::allowed(limit, urgency);
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

    /// Frames sent in the last second up to `now_ms`: what a switch counts now.
    pub fn last_second(&self, now_ms: u64) -> usize {
        self.slots.iter().filter(|s| s.0 <= now_ms && s.0 + WINDOW_MS > now_ms).count()
    }
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
