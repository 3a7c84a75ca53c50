//! `announce_rate_limit` (see `crate::pace`): every frame the agent sends
//! on an interface (probes, announcements, questions to the gateways)
//! passes through the interface's shared ledger, under its lock, which the
//! kernel releases if the agent is killed; a killed sender's promises are
//! dropped by the next one. Without a limit the ledger only counts, so
//! that a start can warn when the instances together exceed what a switch
//! tolerates. A monitor that sends nothing never opens it.

use super::Vip;
use crate::invocation::Action;
use crate::ocf::log;
use crate::pace::{LATE_MS, Ledger, SWITCH_DEFAULT_LIMIT, Urgency};
use crate::rawsock::PacketSocket;
use crate::store::{RunDir, key};
use std::io;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

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
    /// Whether this process has an output to warn on (the background
    /// announcer has none).
    can_warn: bool,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_millis() as u64).unwrap_or(0)
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
            ledger: key::interface_file("pace", ifindex, ns),
            lock: key::interface_file("pace-lock", ifindex, ns),
            nic: nic.to_string(),
            limit: self.params.announce.rate_limit,
            deadline: self.inv.budget.deadline(),
            can_warn: self.inv.action != Action::AnnounceWorker,
        }
    }

    /// Whether this action's first round is a first announcement (start,
    /// recover), which goes ahead of other VIPs' repeats.
    pub fn announces_first(&self) -> bool {
        matches!(self.inv.action, Action::Start | Action::Recover)
    }
}

impl Pacer {
    /// Sends nothing past `deadline` (the background announcer's own, not
    /// the action's).
    pub fn until(self, deadline: Instant) -> Pacer {
        Pacer { deadline, ..self }
    }

    /// Sends `frames` on `sock` within the budget; `false` when the budget
    /// has no slot for them before the action's deadline (nothing more is
    /// sent then).
    pub fn send(&self, sock: &PacketSocket, frames: &[Vec<u8>], urgency: Urgency) -> io::Result<bool> {
        if self.limit == 0 {
            self.count(frames.len());
            for frame in frames {
                sock.send(frame)?;
            }
            return Ok(true);
        }
        for frame in frames {
            loop {
                match self.slot(urgency) {
                    Ok(Some(at)) => {
                        sleep_until_ms(at);
                        if now_ms() <= at + LATE_MS {
                            break;
                        }
                        // Woken too late (a loaded node): sending now could
                        // crowd a later window; book again.
                        let pid = std::process::id();
                        if let Err(err) = self.with_ledger(|ledger, _| ledger.release(at, pid)) {
                            log::debug(format!("announce_rate_limit on {}: {err}", self.nic));
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
        }
        Ok(true)
    }

    /// Books the earliest slot for one frame: an urgent frame books ahead,
    /// a repeat waits until one fits at once. `None` past the deadline.
    fn slot(&self, urgency: Urgency) -> io::Result<Option<u64>> {
        let pid = std::process::id();
        let deadline_ms =
            now_ms() + self.deadline.saturating_duration_since(Instant::now()).as_millis() as u64;
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

    /// Runs `f` on the interface's ledger, pruned, under its lock, and
    /// saves it.
    fn with_ledger<T>(&self, f: impl FnOnce(&mut Ledger, u64) -> T) -> io::Result<T> {
        let _turn = self.run_dir.lock(&self.lock, self.deadline)?;
        let text = match self.run_dir.read_capped(&self.ledger, MAX_LEDGER_BYTES) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::InvalidData => None,
            Err(err) => return Err(err),
        };
        // A damaged or oversized ledger is only a count: start it afresh.
        let mut ledger: Ledger = text.and_then(|text| serde_json::from_str(&text).ok()).unwrap_or_default();
        let now = now_ms();
        ledger.prune(now, |pid| i32::try_from(pid).is_ok_and(crate::process::is_running));
        let result = f(&mut ledger, now);
        self.run_dir.save(&self.ledger, &ledger)?;
        Ok(result)
    }
}
