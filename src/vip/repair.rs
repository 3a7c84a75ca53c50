//! Self-healing (`repair_removed`): the resource's watcher (`Watcher`), a
//! detached worker that sleeps until the kernel says the address was
//! removed (see actions/watch_worker.rs), and what a repair leaves for the
//! next monitor to tell. The repair itself is a hidden action run in a
//! process of its own, under the resource's turn like start and stop
//! (actions/repair.rs): it decides from what the kernel and the record show
//! at that moment (`Repair`), never from what the watcher heard.

use super::address::ADDRESS_PROTOCOL;
use super::context::Vip;
use super::owned::{OwnedPart, Progress, Removal};
use super::place::{Site, Target};
use crate::background::{self, WATCHER_ACTION};
use crate::error::AgentResult;
use crate::error::Doing;
use crate::netlink::{AddressEntry, Subscription};
use crate::observe::history::{self, Event};
use crate::ocf::log;
use crate::params::{BroadcastSpec, values};
use crate::store::Kind;
use std::net::IpAddr;
use std::os::fd::AsRawFd;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// At most this many repairs within `REPAIR_WINDOW`: past it, the address
/// stays removed and the next monitor answers 7, so that Pacemaker decides
/// instead of the watcher fighting whoever keeps removing it.
pub const REPAIR_LIMIT: usize = 3;
pub const REPAIR_WINDOW: Duration = Duration::from_secs(60);

impl<'a> Vip<'a> {
    /// What a repair of this VIP decides from: where it is held, where its
    /// record puts it, and how often it was put back.
    pub fn repair(&self) -> Repair<'a> {
        Repair { vip: *self }
    }
}

/// What the watcher's repair of one VIP decides from, at the moment it
/// runs: the kernel's address table and the resource's record.
pub struct Repair<'a> {
    vip: Vip<'a>,
}

impl Repair<'_> {
    /// Another interface that holds the address, by the address table
    /// itself: the local table `whereabouts` asks can lag behind it (IPv6
    /// adds a copy's local route from a work queue, and removing a copy on
    /// one interface can take the route another copy shares). A repair
    /// runs rarely, so it can afford this dump; an LVS real server's copy
    /// on lo is not counted.
    pub fn held_elsewhere(&self) -> AgentResult<Option<String>> {
        let ip = self.vip.params.ip;
        let holders = self
            .vip
            .nl
            .interfaces_holding(ip)
            .doing(|| format!("looking for {ip} on this node's interfaces"))?;
        // Its own interface is `whereabouts`' to judge.
        let own = self.vip.record.map(|record| record.ifindex);
        let lookup = self.vip.lookup();
        let elsewhere = |index: &u32| Some(*index) != own && lookup.can_hold(*index);
        let Some(index) = holders.into_iter().find(elsewhere) else { return Ok(None) };
        Ok(Some(self.vip.lookup().site_by_index(index, "")?.nic))
    }

    /// Where start put the address, as its record says: the place a repair
    /// puts it back when the node's routes cannot say (a network manager
    /// reconfiguring the link removes the node's own address with the VIP,
    /// and the route that placed it, for a moment). `None` without a record.
    pub fn recorded_target(&self) -> AgentResult<Option<Target>> {
        let Some(record) = self.vip.record else { return Ok(None) };
        let site = self.vip.lookup().site_by_index(record.ifindex, &record.nic)?;
        let broadcast = match self.vip.params.ip {
            // The subnet's own address may be what went: `+` stands in for inheriting it.
            IpAddr::V4(v4) => match self.vip.params.broadcast {
                BroadcastSpec::Inherit => {
                    values::derived_broadcast(BroadcastSpec::HostBitsSet, v4, record.prefix)
                }
                spec => values::derived_broadcast(spec, v4, record.prefix),
            },
            IpAddr::V6(_) => None,
        };
        Ok(Some(Target {
            site,
            prefix: record.prefix,
            label: record.label.clone(),
            broadcast,
            metric: self.vip.params.metric,
        }))
    }

    /// An untagged copy of the address exactly where start put it (its
    /// interface, prefix and label), which is not the resource's own: what
    /// a network manager that removed the VIP and added it back itself
    /// leaves (systemd-networkd 252 does, at times).
    pub fn untagged_copy_in_place(&self) -> AgentResult<Option<(Site, AddressEntry)>> {
        let Some(record) = self.vip.record else { return Ok(None) };
        let ip = self.vip.params.ip;
        let entries = self
            .vip
            .nl
            .address_entries(record.ifindex, ip)
            .doing(|| format!("listing {ip} on {}", record.nic))?;
        // The kernel labels an IPv4 address without a label of its own with
        // the interface's name.
        let label_of = |e: &AddressEntry| e.label.clone().filter(|label| *label != record.nic);
        let copy = entries.into_iter().find(|e| {
            e.prefix == record.prefix && e.protocol.is_none() && (ip.is_ipv6() || label_of(e) == record.label)
        });
        Ok(match copy {
            Some(entry) => Some((self.vip.lookup().site_by_index(record.ifindex, &record.nic)?, entry)),
            None => None,
        })
    }

    /// Takes `entry` at `site` as the resource's own: records its creation
    /// time and puts the tag on it. Only for a copy that the process which
    /// removed the resource's address added back (the watcher heard both).
    pub fn adopt(&self, site: &Site, entry: &AddressEntry) -> AgentResult<()> {
        let ip = self.vip.params.ip;
        if let Some(target) = self.recorded_target()? {
            self.vip.write_record(&target, true, entry.created)?;
        }
        self.vip
            .nl
            .retag_address(entry, ADDRESS_PROTOCOL)
            .doing(|| format!("tagging {ip}/{} on {} as this resource's", entry.prefix, site.nic))
    }

    /// How many repairs the history shows within the last `REPAIR_WINDOW`.
    pub fn recent_repairs(&self) -> usize {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_secs_f64()).unwrap_or(0.0);
        let since = now - REPAIR_WINDOW.as_secs_f64();
        history::last(&self.vip.run_dir(), &crate::observe::history_file(self.vip.key), history::KEEP)
            .iter()
            .filter(|entry| entry.time >= since && matches!(entry.event, Event::Repaired { .. }))
            .count()
    }
}

impl<'a> Vip<'a> {
    /// This resource's watcher, as a part of it.
    pub fn watcher(&self) -> Watcher<'a> {
        Watcher { vip: *self }
    }
}

/// `repair_removed`'s part of a resource: the watcher, which stop ends
/// first, so that nothing stop removes comes back.
pub struct Watcher<'a> {
    vip: Vip<'a>,
}

impl Watcher<'_> {
    /// The lock file of this resource's watcher.
    pub fn file(&self) -> String {
        self.vip.key.file(Kind::Watcher)
    }

    /// Whether this resource is one a watcher guards: `repair_removed` is
    /// on, and the address is this resource's alone (a cluster IP's
    /// instances share one address, and the clone's restart decides).
    pub fn is_on(&self) -> bool {
        self.vip.params.repair_removed && self.vip.params.cluster_ip.is_none()
    }

    /// Starts this resource's watcher unless one runs already. A watcher
    /// that cannot be started costs a warning: the VIP itself is fine.
    pub fn ensure(&self) {
        if !self.is_on() {
            return;
        }
        let (run_dir, file) = (self.vip.run_dir(), self.file());
        if matches!(background::is_held(&run_dir, &file), Ok(true)) {
            return;
        }
        // Subscribed here, before the action returns: from then on every
        // removal is queued for the watcher with its author, however late
        // the watcher begins to read on a loaded node. (A watcher given
        // none subscribes itself, and what happened before it is unheard.)
        crate::crash_point::pause("subscribe");
        let ip = self.vip.params.ip;
        let subscription = match Subscription::open(ip, self.vip.virtual_mac().is_some()) {
            Ok(subscription) => Some(subscription),
            Err(err) => {
                log::warn(format!("listening for the kernel's news about {ip} for its watcher: {err}"));
                None
            }
        };
        let socket = subscription.as_ref().map(AsRawFd::as_raw_fd);
        if let Err(err) = background::spawn(&run_dir, WATCHER_ACTION, &file, socket, &self.vip.worker_env()) {
            log::warn(format!("{ip} runs without a watcher (repair_removed): starting it failed: {err}"));
        }
    }

    /// Ends this resource's watcher (first thing stop does, so that nothing
    /// stop removes comes back), and forgets what it left to tell.
    pub fn stop(&self, deadline: Instant) {
        let run_dir = self.vip.run_dir();
        background::stop(&run_dir, &self.file(), deadline);
        let _ = run_dir.remove(&self.vip.key.file(Kind::RepairNotice));
    }

    /// Leaves `what` (a repair, or why there was none) for the next
    /// recurring monitor to report.
    pub fn leave_notice(&self, what: &str) {
        if let Err(err) = self.vip.run_dir().write(&self.vip.key.file(Kind::RepairNotice), what) {
            log::warn(format!("recording the repair of {} for the next monitor: {err}", self.vip.params.ip));
        }
    }

    /// What the watcher left to tell since the last recurring monitor, once:
    /// it is taken away as it is read. A probe leaves it for the monitor.
    pub fn take_notice(&self) -> Option<String> {
        if self.vip.inv.env.is_probe_interval() {
            return None;
        }
        let run_dir = self.vip.run_dir();
        let file = self.vip.key.file(Kind::RepairNotice);
        let notice = run_dir.read_capped(&file, 4096).ok().flatten()?;
        let _ = run_dir.remove(&file);
        Some(notice)
    }
}

impl OwnedPart for Watcher<'_> {
    /// Not one of the parts `bring_up` applies (see `Part::brought_up`):
    /// start and recover start it once everything else holds, and a
    /// recurring monitor starts it again if it is gone.
    fn apply(&self, _start: &mut Progress) -> AgentResult<()> {
        self.ensure();
        Ok(())
    }

    fn remove(&self, _why: Removal) -> AgentResult<()> {
        let wait = self.vip.inv.budget.remaining().min(Duration::from_secs(1));
        self.stop(Instant::now() + wait);
        Ok(())
    }
}
