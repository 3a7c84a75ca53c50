//! The hidden `__watch` action: the resource's watcher (`repair_removed`).
//! Start leaves it behind, holding the lock that lets stop find and end it
//! before removing anything. It sleeps on a netlink socket that the kernel
//! wakes only for news about this VIP's address and about links (see
//! netlink/notifications.rs), and for each removal runs one repair
//! (`__repair`, actions/repair.rs) in a child process and waits for it.
//! It decides nothing itself: who removed the address is all it adds,
//! found at once, while the remover may still be there to be named.

use super::repair::{HEARD_AT_VAR, HEARD_VAR, REMOVED_BY_VAR, monotonic_nanos};
use super::{Invocation, prepare};
use crate::background::{self, LOCK_VAR, REPAIR_ACTION};
use crate::error::{AgentError, AgentResult};
use crate::netlink::{Notice, Subscription};
use crate::ocf::{ExitCode, log};
use crate::params::Strictness;
use crate::process::{self, Sender};
use crate::vip::Whereabouts;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

pub(super) fn run(inv: &Invocation) -> AgentResult<ExitCode> {
    let lock = std::env::var(LOCK_VAR).ok().and_then(|fd| fd.parse::<i32>().ok());
    background::close_inherited_descriptors(&lock.into_iter().collect::<Vec<_>>());
    if let Some(fd) = lock {
        // The repairs it starts must not hold the lock that stop looks for.
        let _ = nix::fcntl::fcntl(
            // SAFETY: the descriptor was inherited for this process to keep for its whole life.
            unsafe { std::os::fd::BorrowedFd::borrow_raw(fd) },
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
    }
    let prepared = match prepare(inv, Strictness::Lenient)? {
        Ok(prepared) => prepared,
        Err(code) => return Ok(code),
    };
    // A watcher takes no turn: only its repairs do, each while it runs.
    let vip = prepared.vip(inv);
    let Some(record) = vip.record else { return Ok(ExitCode::NotRunning) };
    if !vip.is_watched() {
        return Ok(ExitCode::Success);
    }
    let (ip, ifindex, file) = (vip.params.ip, record.ifindex, vip.watcher_file());
    // virtual_mac's table follows main at once, not at the next monitor.
    let follows_routing = vip.virtual_mac().is_some();
    crate::crash_point::pause("subscribe");
    let mut subscription = Subscription::open(ip, follows_routing)
        .map_err(|err| AgentError::generic(format!("listening for the kernel's news about {ip}: {err}")))?;
    // A removal between start's add and the subscription was not heard:
    // look once, here (a repair's process is started only when needed, so
    // that a failover of hundreds of VIPs does not pay for one each).
    // So was a route that changed then (virtual_mac's table).
    let missed = match vip.whereabouts()? {
        Whereabouts::InPlace { site, .. } if follows_routing && !vip.virtual_table_in_step(&site)? => {
            Some(Heard::RoutingChange)
        }
        Whereabouts::InPlace { .. } => None,
        _ => Some(Heard::Unheard),
    };
    let mut waiting_for_link = match missed {
        None => false,
        Some(heard) => match repair(&file, &Sender::Gone { port: 0 }, heard)? {
            Next::Watch => false,
            Next::WhenLinkUp => true,
            Next::End => return Ok(ExitCode::Success),
        },
    };
    let mut remover = None;
    let mut removed_by_port = None;
    loop {
        let notices = subscription
            .next()
            .map_err(|err| AgentError::generic(format!("reading the kernel's news about {ip}: {err}")))?;
        // A burst of routing news (a link coming up adds several routes)
        // needs one look per datagram.
        let mut routing_seen = false;
        for notice in notices {
            let unknown = Sender::Gone { port: 0 };
            let next = match notice {
                Notice::AddressRemoved { by_port, .. } => {
                    removed_by_port = Some(by_port).filter(|port| *port != 0);
                    let by = process::netlink_sender(by_port);
                    log::debug(format!("{ip} was removed by {by}"));
                    let next = repair(&file, &by, Heard::Removal)?;
                    remover = Some(by);
                    next
                }
                // The process that removed it added it back itself (a
                // network manager): the repair may take that copy as ours.
                Notice::AddressAdded { by_port, .. } if removed_by_port == Some(by_port) => {
                    removed_by_port = None;
                    repair(&file, remover.as_ref().unwrap_or(&unknown), Heard::Readded)?
                }
                Notice::Link { ifindex: changed, up: true } if waiting_for_link && changed == ifindex => {
                    repair(&file, remover.as_ref().unwrap_or(&unknown), Heard::Removal)?
                }
                Notice::Overrun => repair(&file, remover.as_ref().unwrap_or(&unknown), Heard::Unheard)?,
                Notice::Routing { by_port, rule_removed } if !routing_seen || rule_removed => {
                    routing_seen = true;
                    let heard = if rule_removed { Heard::RuleRemoval } else { Heard::RoutingChange };
                    repair(&file, &process::netlink_sender(by_port), heard)?
                }
                Notice::Link { .. } | Notice::Routing { .. } | Notice::AddressAdded { .. } => continue,
            };
            match next {
                Next::Watch => waiting_for_link = false,
                Next::WhenLinkUp => waiting_for_link = true,
                Next::End => return Ok(ExitCode::Success),
            }
        }
    }
}

/// What the watcher does after a repair.
enum Next {
    Watch,
    WhenLinkUp,
    End,
}

/// What made the watcher run a repair.
#[derive(Clone, Copy)]
enum Heard {
    /// The address was removed.
    Removal,
    /// The process that removed it added it back.
    Readded,
    /// Nothing was heard (before the subscription, or notifications were
    /// lost): whatever happened, its author is not known.
    Unheard,
    /// A route of the main table changed (virtual_mac's table follows).
    RoutingChange,
    /// A rule was removed (perhaps the VIP's source rule).
    RuleRemoval,
}

impl Heard {
    fn word(self) -> &'static str {
        match self {
            Heard::Removal | Heard::Unheard => "address",
            Heard::Readded => "readded",
            Heard::RoutingChange => "routing",
            Heard::RuleRemoval => "rule",
        }
    }
}

/// Runs one repair in a child process and waits for it, telling it who
/// did what (`heard`).
fn repair(file: &str, by: &Sender, heard: Heard) -> AgentResult<Next> {
    let by = match heard {
        Heard::Unheard => "someone (while the watcher was not listening)".to_string(),
        _ => by.to_string(),
    };
    let mut command = Command::new("/proc/self/exe");
    command
        .arg0("IPaddr")
        .arg(REPAIR_ACTION)
        .arg(file)
        .env(REMOVED_BY_VAR, by)
        .env(HEARD_VAR, heard.word())
        .env(HEARD_AT_VAR, monotonic_nanos().unwrap_or(0).to_string())
        .env_remove(LOCK_VAR)
        .stdin(Stdio::null());
    let watcher = nix::unistd::getpid().as_raw();
    // SAFETY: runs in the forked child before exec and only calls prctl
    // and getppid, which are async-signal-safe.
    unsafe {
        command.pre_exec(move || {
            // A repair never outlives its watcher: stop ends the watcher
            // while holding the resource's turn, which the repair waits for.
            if nix::libc::prctl(nix::libc::PR_SET_PDEATHSIG, nix::libc::SIGKILL) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            // Ended before the request took hold: the repair must not run.
            if nix::libc::getppid() != watcher {
                return Err(std::io::Error::from(std::io::ErrorKind::Interrupted));
            }
            Ok(())
        });
    }
    crate::crash_point::before("spawn", &REPAIR_ACTION);
    let status =
        command.status().map_err(|err| AgentError::generic(format!("starting a repair of {file}: {err}")))?;
    Ok(match status.code() {
        Some(0) => Next::Watch,
        Some(1) => Next::WhenLinkUp,
        _ => Next::End,
    })
}
