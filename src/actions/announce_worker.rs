//! The hidden `__announce` action: the detached background announcer that
//! start (and monitor, for refreshes) leaves behind when `arp_bg` is on.

use super::announcing::{self, Wire, announcer_file};
use super::{Invocation, connect, parse_params, run_dir};
use crate::background::{self, COUNT_VAR, SOCKET_VAR};
use crate::error::AgentResult;
use crate::inspect::{self, Lookup, Need, State};
use crate::ocf::ExitCode;
use crate::params::{Params, Strictness};
use std::time::{Duration, Instant};

pub(super) fn run(inv: &Invocation) -> AgentResult<ExitCode> {
    let socket: Option<i32> = std::env::var(SOCKET_VAR).ok().and_then(|fd| fd.parse().ok());
    background::close_inherited_descriptors(socket);
    let count: u64 = std::env::var(COUNT_VAR).ok().and_then(|c| c.parse().ok()).unwrap_or(0);
    let params = parse_params(inv, Strictness::Lenient)?;
    let result = announce(inv, &params, count, socket);
    // Leave the tracking file alone if a newer announcer replaced us.
    let file = announcer_file(&params);
    let ours = run_dir(inv)
        .read(&file)
        .ok()
        .flatten()
        .is_some_and(|record| record.split_whitespace().next() == Some(&std::process::id().to_string()));
    if ours {
        let _ = run_dir(inv).remove(&file);
    }
    result
}

fn announce(inv: &Invocation, params: &Params, count: u64, socket: Option<i32>) -> AgentResult<ExitCode> {
    let nl = match connect(inv, params)? {
        Ok(nl) => nl,
        Err(code) => return Ok(code),
    };
    let Lookup::Found { target, state: State::Configured(_) } =
        inspect::lookup(&nl, params, Need::StateOnly)?
    else {
        return Ok(ExitCode::NotRunning);
    };
    let wire = match socket.and_then(|fd| Wire::inherited(fd, &nl, &target)) {
        Some(wire) => wire,
        None => match Wire::open(&nl, params, &target)? {
            Some(wire) => wire,
            None => return Ok(ExitCode::Success),
        },
    };
    let interval = params.announce.interval;
    let deadline =
        Instant::now() + interval * u32::try_from(count + 1).unwrap_or(u32::MAX) + Duration::from_secs(1);
    announcing::send(&nl, params, &target, &wire, count, interval, deadline)?;
    Ok(ExitCode::Success)
}
