//! The hidden `__announce` action: the detached background announcer that
//! start (and monitor, for refreshes) leaves behind when `arp_bg` is on.

use super::{Invocation, prepare};
use crate::background::{self, COUNT_VAR, SOCKET_VAR};
use crate::error::AgentResult;
use crate::ocf::ExitCode;
use crate::params::Strictness;
use crate::vip::announcing::Spot;
use crate::vip::{Vip, Whereabouts};
use std::time::{Duration, Instant};

pub(super) fn run(inv: &Invocation) -> AgentResult<ExitCode> {
    let socket: Option<i32> = std::env::var(SOCKET_VAR).ok().and_then(|fd| fd.parse().ok());
    background::close_inherited_descriptors(socket);
    let count: u64 = std::env::var(COUNT_VAR).ok().and_then(|c| c.parse().ok()).unwrap_or(0);
    let prepared = match prepare(inv, Strictness::Lenient)? {
        Ok(prepared) => prepared,
        Err(code) => return Ok(code),
    };
    let vip = prepared.vip(inv);
    let result = announce(&vip, count, socket);
    // Leave the tracking file alone if a newer announcer replaced us.
    let file = vip.announcer_file();
    let ours = vip
        .run_dir()
        .read(&file)
        .ok()
        .flatten()
        .is_some_and(|record| record.split_whitespace().next() == Some(&std::process::id().to_string()));
    if ours {
        let _ = vip.run_dir().remove(&file);
    }
    result
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
    vip.send_rounds(Spot { site: &site, prefix: entry.prefix }, &wire, count, interval, deadline)?;
    Ok(ExitCode::Success)
}
