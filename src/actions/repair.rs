//! The hidden `__repair` action: one repair, run by the resource's watcher
//! in a process of its own after the kernel said the address was removed.
//! It takes the resource's turn like start and stop (so it never runs
//! beside them, and finds no record once stop has run), looks at the node
//! afresh, and puts the address back only when it is simply gone: never
//! when it now sits on another interface, the link is down, another host
//! answers for it (start's probe), or the repair budget is spent.
//!
//! Its exit code tells the watcher what to do next: 0 keep watching (put
//! back, or nothing to do), 1 keep watching and try again when the link
//! comes back, 7 end: the resource no longer runs here, or what happened
//! is for Pacemaker to decide.

use super::{Invocation, prepare, require_root};
use crate::error::{AgentError, AgentResult};
use crate::observe::{self, history::Event};
use crate::ocf::{ExitCode, log};
use crate::params::Strictness;
use crate::vip::place::site_problem;
use crate::vip::repair::{REPAIR_LIMIT, REPAIR_WINDOW};
use crate::vip::{Placement, Vip, Whereabouts};

/// Who removed the address, as the watcher found it.
pub const REMOVED_BY_VAR: &str = "OCF_IPADDR_REMOVED_BY";
/// When the watcher heard of it (CLOCK_MONOTONIC, nanoseconds).
pub const HEARD_AT_VAR: &str = "OCF_IPADDR_HEARD_AT";
/// What it heard: `address` (removed), `readded` (added back by the process
/// that removed it), `routing` (main's routes changed), `rule` (a rule was
/// removed).
pub const HEARD_VAR: &str = "OCF_IPADDR_HEARD";

pub(super) fn run(inv: &Invocation) -> AgentResult<ExitCode> {
    require_root(inv.action)?;
    let prepared = match prepare(inv, Strictness::Lenient)? {
        Ok(prepared) => prepared,
        Err(_) => return Ok(ExitCode::NotRunning),
    };
    let vip = prepared.vip(inv);
    if vip.record.is_none() || !vip.watcher().is_on() {
        // Stopped (or never started by this resource): nothing to guard.
        return Ok(ExitCode::NotRunning);
    }
    let by = std::env::var(REMOVED_BY_VAR).unwrap_or_else(|_| "another process".into());
    let ip = vip.params.ip;
    let refuse = |why: String| {
        log::warn(format!("{ip} was removed by {by}; not putting it back: {why}"));
        vip.watcher().leave_notice(&format!("{ip} removed by {by}; not put back: {why}"));
        observe::event(Event::NotRepaired { by: by.clone(), why });
        Ok(ExitCode::NotRunning)
    };
    let heard = std::env::var(HEARD_VAR).unwrap_or_default();
    match vip.whereabouts()? {
        Whereabouts::InPlace { site, .. } => return follow(&vip, &site, &by, &heard),
        Whereabouts::Foreign(foreign) if heard == "readded" => {
            let Some((site, entry)) = vip.repair().untagged_copy_in_place()? else {
                return refuse(foreign.describe(ip));
            };
            vip.repair().adopt(&site, &entry)?;
            let what = format!("{ip} removed by {by}, which added it back itself; taken as this resource's");
            log::warn(&what);
            vip.watcher().leave_notice(&what);
            observe::count("repairs", 1);
            observe::event(Event::Repaired {
                by: format!("{by} (added back by it)"),
                after_ms: ms_since_heard(),
            });
            return Ok(ExitCode::Success);
        }
        Whereabouts::Foreign(_) if vip.repair().untagged_copy_in_place()?.is_some() => {
            // Someone's copy in its place: its remover may be putting it
            // back (then the watcher hears the add and adopts it); else it
            // stays someone else's, as monitor and stop report.
            let why = "an untagged copy is in its place, which this resource did not add".to_string();
            observe::event(Event::NotRepaired { by: by.clone(), why });
            return Ok(ExitCode::Success);
        }
        Whereabouts::Foreign(foreign) => {
            observe::event(Event::MovedAway { to: foreign.nic.clone() });
            return refuse(foreign.describe(ip));
        }
        Whereabouts::Unplaced(lack) => return refuse(lack.reason().to_string()),
        Whereabouts::Absent => {
            // Moved, though the local table does not show it yet.
            if let Some(nic) = vip.repair().held_elsewhere()? {
                observe::event(Event::MovedAway { to: nic.clone() });
                return refuse(format!("{ip} is on {nic} now"));
            }
        }
    }
    let target = match vip.placement()?.0 {
        Placement::Target(target) => target,
        Placement::Unplaced(lack) => match vip.repair().recorded_target()? {
            Some(target) => {
                log::info(format!(
                    "{}; putting {ip} back where start put it, on {}",
                    lack.reason(),
                    target.nic()
                ));
                target
            }
            None => return refuse(lack.reason().to_string()),
        },
    };
    if let Some(problem) = site_problem(&target.site).filter(|_| vip.params.link_checked()) {
        let why = format!("{problem}; put back when the link is up again");
        log::info(format!("{ip} was removed by {by}; {why}"));
        observe::event(Event::NotRepaired { by, why });
        return Ok(ExitCode::ErrGeneric);
    }
    let recent = vip.repair().recent_repairs();
    if recent >= REPAIR_LIMIT {
        return refuse(format!(
            "{recent} repairs within {} s already (repair_removed gives up there, so that Pacemaker decides)",
            REPAIR_WINDOW.as_secs()
        ));
    }
    put_back(&vip, &target, &by)
}

/// The address is in place (back already, or never gone): with
/// virtual_mac, its table follows main's routes and its rule and the
/// parent's `arp_ignore` are put back now, not at the next monitor. A
/// route the node added or removed is followed silently (the history keeps
/// it); what someone took away is told to the next monitor too.
fn follow(vip: &Vip, site: &crate::vip::Site, by: &str, heard: &str) -> AgentResult<ExitCode> {
    let drifted = vip.virtual_interface().verify_at(site)?;
    if drifted.is_empty() {
        return Ok(ExitCode::Success);
    }
    let what = format!("{}: {} (after a change by {by})", vip.params.ip, drifted.join("; "));
    if heard == "routing" {
        log::debug(&what);
    } else {
        log::warn(&what);
        vip.watcher().leave_notice(&what);
    }
    observe::event(Event::Drifted { detail: what });
    Ok(ExitCode::Success)
}

/// Adds the address again as start does, probe and announcement included.
fn put_back(vip: &Vip, target: &crate::vip::Target, by: &str) -> AgentResult<ExitCode> {
    let ip = vip.params.ip;
    match vip.bring_up(target) {
        Ok(_) => {
            let after_ms = ms_since_heard();
            log::warn(format!("{ip} was removed by {by}; put back on {} after {after_ms} ms", target.nic()));
            vip.watcher().leave_notice(&format!("{ip} removed by {by}, put back after {after_ms} ms"));
            observe::count("repairs", 1);
            observe::event(Event::Repaired { by: by.to_string(), after_ms });
            Ok(ExitCode::Success)
        }
        Err(err) => {
            let why = err.reason;
            // Someone put a copy in its place while the repair was adding
            // it (the add found it there): the resource is as it was before
            // the removal, so its record is kept, and the watcher goes on:
            // if that copy's author removed the address, it adopts it.
            if vip.repair().untagged_copy_in_place()?.is_some() {
                if let Some(record) = vip.record {
                    record
                        .write(&vip.run_dir(), vip.key)
                        .map_err(|e| AgentError::generic(format!("keeping the record of {ip}: {e}")))?;
                }
                observe::event(Event::NotRepaired { by: by.to_string(), why });
                return Ok(ExitCode::Success);
            }
            vip.watcher().leave_notice(&format!("{ip} removed by {by}; putting it back failed: {why}"));
            observe::event(Event::NotRepaired { by: by.to_string(), why });
            Ok(ExitCode::NotRunning)
        }
    }
}

/// How long ago the watcher heard of the removal, in milliseconds (0
/// when it did not say).
fn ms_since_heard() -> u64 {
    let since = || {
        let heard: u128 = std::env::var(HEARD_AT_VAR).ok()?.parse().ok()?;
        u64::try_from(monotonic_nanos()?.checked_sub(heard)? / 1_000_000).ok()
    };
    since().unwrap_or(0)
}

/// CLOCK_MONOTONIC in nanoseconds: one clock for the watcher and its child.
pub fn monotonic_nanos() -> Option<u128> {
    let mut now = nix::libc::timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: clock_gettime fills in the timespec it is given.
    if unsafe { nix::libc::clock_gettime(nix::libc::CLOCK_MONOTONIC, &mut now) } != 0 {
        return None;
    }
    Some(u128::try_from(now.tv_sec).ok()? * 1_000_000_000 + u128::try_from(now.tv_nsec).ok()?)
}
