//! The hidden `__announce` action: the detached background announcer that
//! start (and monitor, for refreshes) leaves behind when `arp_bg` is on. It
//! keeps the lock that lets stop find it, and its raw socket; it closes
//! every other descriptor it inherited.

use super::{Invocation, prepare};
use crate::background::{self, COUNT_VAR, LOCK_VAR, SOCKET_VAR};
use crate::error::AgentResult;
use crate::ocf::ExitCode;
use crate::params::Strictness;
use crate::vip::announcing::Spot;
use crate::vip::convergence::Window;
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
    announce(&prepared.vip(inv), count, socket)
}

fn announce(vip: &Vip, count: u64, socket: Option<i32>) -> AgentResult<ExitCode> {
    let Whereabouts::InPlace { site, entry } = vip.whereabouts()? else {
        return Ok(ExitCode::NotRunning);
    };
    let wire = match socket.and_then(|fd| vip.inherited_wire(fd, &site)) {
        Some(wire) => wire,
        None => match vip.open_wire(&site)? {
            Some(wire) => wire,
            None => return Ok(ExitCode::Success),
        },
    };
    let interval = vip.params.announce.interval;
    let deadline =
        Instant::now() + interval * u32::try_from(count + 1).unwrap_or(u32::MAX) + Duration::from_secs(1);
    // The last answers may follow the last round: listen one interval more.
    let tail = interval.min(Duration::from_secs(1));
    vip.send_rounds(
        Spot { site: &site, prefix: entry.prefix },
        &wire,
        vip.rounds(count, interval, deadline),
        Window::Closes { tail },
    )?;
    Ok(ExitCode::Success)
}
