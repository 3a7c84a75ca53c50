//! The hidden `__watch` action: the resource's watcher (`repair_removed`).
//! Start leaves it behind, holding the lock that lets stop find and end it
//! before removing anything. It sleeps on a netlink socket, opened by the
//! action that started it, that the kernel wakes only for news about this
//! VIP's address and about links (see netlink/notifications.rs), and for
//! each removal runs one repair
//! (`__repair`, actions/repair.rs) in a child process and waits for it.
//! It decides nothing itself: who removed the address is all it adds,
//! found at once, while the remover may still be there to be named.

use super::repair::{HEARD_AT_VAR, HEARD_VAR, REMOVED_BY_VAR, monotonic_nanos};
use super::{Invocation, prepare};
use crate::background::{self, LOCK_VAR, REPAIR_ACTION, SOCKET_VAR};
use crate::error::{AgentError, AgentResult};
use crate::netlink::{Notice, Subscription};
use crate::ocf::{ExitCode, log};
use crate::params::Strictness;
use crate::process::{self, Sender};
use crate::vip::Whereabouts;
use std::net::IpAddr;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};

pub(super) fn run(inv: &Invocation) -> AgentResult<ExitCode> {
    let inherited = |name: &str| std::env::var(name).ok().and_then(|fd| fd.parse::<i32>().ok());
    let (lock, socket) = (inherited(LOCK_VAR), inherited(SOCKET_VAR));
    background::close_inherited_descriptors(&[lock, socket].into_iter().flatten().collect::<Vec<_>>());
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
    if !vip.watcher().is_on() {
        return Ok(ExitCode::Success);
    }
    let (ip, ifindex, file) = (vip.params.ip, record.ifindex, vip.watcher().file());
    // virtual_mac's table follows main at once, not at the next monitor.
    let follows_routing = vip.virtual_mac().is_some();
    // The subscription the action that started it opened; its own when
    // that one could not be handed over.
    crate::crash_point::pause("listen");
    let adopted = socket.and_then(|fd| Subscription::adopt(fd, ip).ok());
    let mut subscription = match adopted {
        Some(subscription) => subscription,
        None => Subscription::open(ip, follows_routing).map_err(|err| {
            AgentError::generic(format!("listening for the kernel's news about {ip}: {err}"))
        })?,
    };
    let mut watch =
        Watch { ip, file, ifindex, waiting_for_link: false, remover: None, removed_by_port: None };
    let reading =
        |err: std::io::Error| AgentError::generic(format!("reading the kernel's news about {ip}: {err}"));
    // What happened since the action subscribed is queued: heard first,
    // with its authors.
    while let Some(notices) = subscription.queued().map_err(reading)? {
        if let Next::End = watch.hear(notices)? {
            return Ok(ExitCode::Success);
        }
    }
    // A removal between start's add and the subscription was not heard:
    // look once, here (a repair's process is started only when needed, so
    // that a failover of hundreds of VIPs does not pay for one each).
    // So was a route that changed then (virtual_mac's table).
    let missed = match vip.whereabouts()? {
        Whereabouts::InPlace { site, .. }
            if follows_routing && !vip.virtual_interface().table_in_step(&site)? =>
        {
            Some(Heard::RoutingChange)
        }
        Whereabouts::InPlace { .. } => None,
        // Down while the link is: `hear` waits for it to come up.
        _ if watch.waiting_for_link => None,
        _ => Some(Heard::Unheard),
    };
    if let Some(heard) = missed {
        if let Next::End = watch.after(repair(&watch.file, &Sender::Gone { port: 0 }, heard)?) {
            return Ok(ExitCode::Success);
        }
    }
    loop {
        if let Next::End = watch.hear(subscription.next().map_err(reading)?)? {
            return Ok(ExitCode::Success);
        }
    }
}

/// What the watcher remembers between notifications.
struct Watch {
    ip: IpAddr,
    /// The repair's lock file, naming the resource.
    file: String,
    /// The interface start put the address on.
    ifindex: u32,
    /// A repair found the link down: the next one waits for it to come up.
    waiting_for_link: bool,
    /// Who removed the address last.
    remover: Option<Sender>,
    /// The netlink port that removed it, until it adds it back.
    removed_by_port: Option<u32>,
}

impl Watch {
    /// Runs what one datagram of notices calls for: End when the watcher
    /// is to end.
    fn hear(&mut self, notices: Vec<Notice>) -> AgentResult<Next> {
        let unknown = Sender::Gone { port: 0 };
        // A burst of routing news (a link coming up adds several routes)
        // needs one look per datagram.
        let mut routing_seen = false;
        for notice in notices {
            let next = match notice {
                Notice::AddressRemoved { by_port, .. } => {
                    self.removed_by_port = Some(by_port).filter(|port| *port != 0);
                    let by = process::netlink_sender(by_port);
                    log::debug(format!("{} was removed by {by}", self.ip));
                    let next = repair(&self.file, &by, Heard::Removal)?;
                    self.remover = Some(by);
                    next
                }
                // The process that removed it added it back itself (a
                // network manager): the repair may take that copy as ours.
                Notice::AddressAdded { by_port, .. } if self.removed_by_port == Some(by_port) => {
                    self.removed_by_port = None;
                    repair(&self.file, self.remover.as_ref().unwrap_or(&unknown), Heard::Readded)?
                }
                Notice::Link { ifindex: changed, up: true }
                    if self.waiting_for_link && changed == self.ifindex =>
                {
                    repair(&self.file, self.remover.as_ref().unwrap_or(&unknown), Heard::Removal)?
                }
                Notice::Overrun => {
                    repair(&self.file, self.remover.as_ref().unwrap_or(&unknown), Heard::Unheard)?
                }
                Notice::Routing { by_port, rule_removed } if !routing_seen || rule_removed => {
                    routing_seen = true;
                    let heard = if rule_removed { Heard::RuleRemoval } else { Heard::RoutingChange };
                    repair(&self.file, &process::netlink_sender(by_port), heard)?
                }
                Notice::Link { .. } | Notice::Routing { .. } | Notice::AddressAdded { .. } => continue,
            };
            if let Next::End = self.after(next) {
                return Ok(Next::End);
            }
        }
        Ok(Next::Watch)
    }

    /// Takes in what a repair said.
    fn after(&mut self, next: Next) -> Next {
        match next {
            Next::Watch => self.waiting_for_link = false,
            Next::WhenLinkUp => self.waiting_for_link = true,
            Next::End => {}
        }
        next
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
