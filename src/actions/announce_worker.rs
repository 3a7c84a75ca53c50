//! The hidden `__announce` action: the detached background announcer that
//! start (and monitor, for refreshes) leaves behind when `arp_bg` is on. It
//! keeps the lock that lets stop find it, and its raw socket; it closes
//! every other descriptor it inherited.

use super::{Invocation, prepare};
use crate::background::{self, COUNT_VAR, LOCK_VAR, SLOTS_VAR, SOCKET_VAR};
use crate::error::AgentResult;
use crate::ocf::ExitCode;
use crate::params::Strictness;
use crate::vip::Spot;
use crate::vip::convergence::Window;
use crate::vip::wire::Wire;
use crate::vip::{Vip, Whereabouts};
use std::time::{Duration, Instant};

pub(super) fn run(inv: &Invocation) -> AgentResult<ExitCode> {
    let inherited = |name: &str| std::env::var(name).ok().and_then(|fd| fd.parse::<i32>().ok());
    let (socket, lock) = (inherited(SOCKET_VAR), inherited(LOCK_VAR));
    background::close_inherited_descriptors(&[socket, lock].into_iter().flatten().collect::<Vec<_>>());
    let count: u64 = std::env::var(COUNT_VAR).ok().and_then(|c| c.parse().ok()).unwrap_or(0);
    let prepared = match prepare(inv, Strictness::Lenient)? {
        Ok(prepared) => prepared,
        Err(code) => return Ok(code),
    };
    let slots = std::env::var(SLOTS_VAR).ok().and_then(|text| deferred_slots(&text));
    announce(&prepared.vip(inv), count, socket, slots)
}

/// How long a deferred first announcement may wait for a slot past the
/// ones booked for it: none was booked, or they were missed (the worker
/// woke late on a loaded node, or the start was killed before it handed
/// them over) and the budget, still carrying the burst, is booked far
/// ahead. Booking again must not lose the VIP's only announcement.
const FIRST_ROUND_PATIENCE: Duration = Duration::from_secs(120);

/// The start's pid and the slots it booked for the first announcement it
/// deferred to this worker: `PID:MS,MS`.
fn deferred_slots(text: &str) -> Option<(u32, Vec<u64>)> {
    let (pid, listed) = text.split_once(':')?;
    // None listed: the start could not book any; the first round books its own.
    let slots = match listed {
        "" => Vec::new(),
        listed => listed.split(',').map(|slot| slot.parse().ok()).collect::<Option<Vec<u64>>>()?,
    };
    Some((pid.parse().ok()?, slots))
}

fn announce(
    vip: &Vip,
    count: u64,
    socket: Option<i32>,
    slots: Option<(u32, Vec<u64>)>,
) -> AgentResult<ExitCode> {
    let Whereabouts::InPlace { site, entry } = vip.whereabouts()? else {
        return Ok(ExitCode::NotRunning);
    };
    let wire = match socket.and_then(|fd| Wire::inherited(vip, fd, &site)) {
        Some(wire) => wire,
        None => match Wire::open(vip, &site)? {
            Some(wire) => wire,
            None => return Ok(ExitCode::Success),
        },
    };
    let interval = vip.params.announce.interval;
    let mut first_delay = interval;
    let mut begin = Instant::now();
    if let Some((start, slots)) = &slots {
        // The first round is the start's, deferred: at its slots, then the rest.
        let pacer = vip.pacer(site.ifindex, &site.nic);
        if let Err(err) = pacer.adopt(slots, *start) {
            crate::ocf::log::debug(format!("taking over the slots of the first announcement: {err}"));
        }
        let last = slots.iter().max().map_or(0, |&last| last.saturating_sub(crate::pace::now_ms()));
        begin += Duration::from_millis(last) + FIRST_ROUND_PATIENCE;
        first_delay = Duration::ZERO;
        crate::crash_point::pause("first-round");
    }
    let deadline = begin + interval * u32::try_from(count + 1).unwrap_or(u32::MAX) + Duration::from_secs(1);
    // The last answers may follow the last round: listen one interval more.
    let tail = interval.min(Duration::from_secs(1));
    vip.announcing().send_rounds(
        Spot { site: &site, prefix: entry.prefix },
        &wire,
        vip.announcing().rounds(count, first_delay, deadline),
        Window::Closes { tail },
    )?;
    Ok(ExitCode::Success)
}
