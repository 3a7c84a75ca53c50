//! The address itself as a part of the resource (`OwnAddress`): adding it,
//! waiting until it is whole, and removing it. One implementation each, for
//! the plain VIP and the cluster IP alike (as keepalived's one
//! `netlink_ipaddress` serves every caller), so the two modes cannot drift
//! apart. Its identity (the tag, the creation time) is `identity`'s.

use super::context::Vip;
use super::owned::{Added, OwnedPart, Progress, Removal};
use super::place::{Site, Target, Whereabouts, link_problem};
use crate::error::{AgentError, AgentResult, Doing};
use crate::netlink::{AddressEntry, IpFamily, NewAddress, SavedRoute, libc_errno};
use crate::ocf::log;
use crate::params::Lifetime;
use crate::sysctl;
use ipnetwork::IpNetwork;
use rtnetlink::packet_route::address::AddressFlags;
use std::time::Duration;

/// How often the DAD state of a new IPv6 address is polled.
const DAD_POLL: Duration = Duration::from_millis(20);

/// The address-protocol tag (IFA_PROTO) on every address this agent adds:
/// `ip -d addr` on iproute2 6.3+ shows it as `proto 177` (or by name, with
/// `177 ocf-ipaddr` in /etc/iproute2/rt_addrprotos). A copy without it, at
/// a place where this resource's address carries it, was added by someone
/// else. keepalived tags its addresses the same way (with 18).
pub const ADDRESS_PROTOCOL: u8 = 177;

/// Whether the kernel keeps address-protocol tags (Linux 5.18+); an older
/// one drops the attribute silently, so the agent does not rely on it.
pub fn kernel_keeps_address_tags() -> bool {
    let Ok(name) = nix::sys::utsname::uname() else { return false };
    let release = name.release().to_string_lossy();
    let mut numbers = release.split(|c: char| !c.is_ascii_digit()).filter_map(|n| n.parse::<u32>().ok());
    let (major, minor) = (numbers.next().unwrap_or(0), numbers.next().unwrap_or(0));
    (major, minor) >= (5, 18)
}

impl<'a> Vip<'a> {
    /// This resource's address, as a part of it.
    pub fn own_address(&self) -> OwnAddress<'a> {
        OwnAddress { vip: *self }
    }
}

/// The address itself, with its tag, label, lifetimes and metric, as the
/// part of a resource start adds, monitor verifies and stop removes.
pub struct OwnAddress<'a> {
    pub(super) vip: Vip<'a>,
}

impl OwnAddress<'_> {
    /// Adds the address at `target` with every attribute IPaddr2 sets.
    pub fn add(&self, target: &Target) -> AgentResult<Added> {
        let params = self.vip.params;
        // On virtual_mac's interface the VIP's own table holds its subnet
        // route: one in main through that interface could come first (after
        // the parent's link flaps, or the node's own address is added
        // again) and give the node's own traffic the VIP as source.
        let on_virtual_link = self.vip.virtual_link().is_some_and(|v| v.ifindex == Some(target.ifindex()));
        let noprefixroute = params.noprefixroute || on_virtual_link;
        let new = NewAddress {
            ip: params.ip,
            prefix: target.prefix,
            ifindex: target.ifindex(),
            broadcast: target.broadcast,
            label: target.label.clone(),
            nodad: params.nodad && params.ip.is_ipv6(),
            noprefixroute,
            preferred_lft: match params.preferred_lft {
                lifetime @ Lifetime::Seconds(_) if params.ip.is_ipv6() => Some(lifetime.as_netlink()),
                _ => None,
            },
            metric: target.metric.filter(|_| !noprefixroute),
            protocol: self.vip.record.filter(|record| record.tagged).map(|_| ADDRESS_PROTOCOL),
        };
        log::info(describe_add(&new, target.nic()));
        match self.vip.nl.add_address(&new) {
            Ok(()) => Ok(Added::ByUs),
            Err(err) if err.errno() == Some(libc_errno::EEXIST) => Ok(Added::Already),
            Err(err) => {
                Err(err).doing(|| format!("adding {}/{} to {}", params.ip, target.prefix, target.nic()))
            }
        }
    }

    /// Removes exactly `entry` from `site`, keeping the other addresses of
    /// its subnet, and flushes the route cache when `flush_routes` asks.
    pub fn remove_entry(&self, site: &Site, entry: &AddressEntry, why: Removal) -> AgentResult<()> {
        if entry.ip.is_ipv4() && !entry.is_secondary() {
            self.keep_secondaries_alive(site, entry);
        }
        log::info(format!("Removing {}/{} from {}", entry.ip, entry.prefix, site.nic));
        let others = self.others_on_link_routes(site, entry);
        // Right before the deletion, so that the peers hear it from here and
        // have no time to reconnect to this node.
        if why == Removal::Stop {
            self.vip.reset_connections(Some(site.ifindex));
        }
        match self.vip.nl.delete_address(entry.ip, entry.prefix, site.ifindex) {
            Ok(()) => {}
            // Someone removed it between our look and our delete: it is gone, as wanted.
            Err(err) if err.errno() == Some(libc_errno::EADDRNOTAVAIL) => {}
            Err(err) => {
                return Err(AgentError::generic(format!(
                    "Unable to remove IP [{}/{}] from interface [{}]: {err}",
                    entry.ip, entry.prefix, site.nic
                )));
            }
        }
        if !others.is_empty() {
            self.keep_others_on_link_routes(site, entry, &others);
        }
        if self.vip.params.flush_routes {
            if let Err(err) = sysctl::flush_route_cache(entry.ip) {
                log::warn(format!("flushing the route cache failed: {err}"));
            }
        }
        Ok(())
    }

    /// Deleting a primary IPv4 address makes the kernel delete the
    /// secondary addresses of its subnet too (other resources' VIPs, the
    /// node's own addresses) unless promote_secondaries is on: turn it on
    /// for this NIC in that case.
    fn keep_secondaries_alive(&self, site: &Site, entry: &AddressEntry) {
        let Ok(subnet) = IpNetwork::new(entry.ip, entry.prefix) else { return };
        let Ok(addresses) = self.vip.nl.addresses(site.ifindex, IpFamily::V4) else { return };
        let has_secondaries =
            addresses.iter().any(|a| a.ip != entry.ip && a.is_secondary() && subnet.contains(a.ip));
        if !has_secondaries || sysctl::promotes_secondaries(&site.nic) {
            return;
        }
        log::info(format!(
            "{} is the primary address of its subnet on {}; enabling promote_secondaries there so the other addresses survive its removal",
            entry.ip, site.nic
        ));
        if let Err(err) = sysctl::promote_secondaries(&site.nic) {
            log::warn(format!("could not enable promote_secondaries on {}: {err}", site.nic));
        }
    }

    /// The on-link routes onto an IPv6 address's prefix on its interface that
    /// the kernel did not add (an admin's static route). When the last
    /// address of a prefix goes, the kernel deletes the prefix's lowest-metric
    /// on-link route, whoever added it: one of these, if its metric is below
    /// the kernel's own 256.
    fn others_on_link_routes(&self, site: &Site, entry: &AddressEntry) -> Vec<SavedRoute> {
        if entry.ip.is_ipv4() || entry.prefix == 128 || entry.flags.contains(AddressFlags::Noprefixroute) {
            return Vec::new();
        }
        let Some(subnet) = prefix_network(entry) else { return Vec::new() };
        match self.vip.nl.subnet_routes(site.ifindex, subnet) {
            Ok(routes) => {
                routes.into_iter().filter(|r| !r.is_kernels() && r.network() == Some(subnet)).collect()
            }
            Err(err) => {
                log::warn(format!("reading the routes onto {subnet} on {}: {err}", site.nic));
                Vec::new()
            }
        }
    }

    /// Puts back the routes of `others` the kernel deleted with the address,
    /// and removes the kernel's own prefix route it left in their place.
    fn keep_others_on_link_routes(&self, site: &Site, entry: &AddressEntry, others: &[SavedRoute]) {
        let Some(subnet) = prefix_network(entry) else { return };
        let Ok(now) = self.vip.nl.subnet_routes(site.ifindex, subnet) else { return };
        let mut restored = false;
        for route in others.iter().filter(|route| !now.iter().any(|r| r.same_route(route))) {
            match self.vip.nl.replace_route(route) {
                Ok(()) => {
                    log::info(format!(
                        "the kernel took route {} with {}; put it back",
                        route.describe(),
                        entry.ip
                    ));
                    restored = true;
                }
                Err(err) => log::error(format!(
                    "restoring route {} after removing {}: {err}",
                    route.describe(),
                    entry.ip
                )),
            }
        }
        if !restored {
            return;
        }
        for stray in now.iter().filter(|r| r.is_kernels() && r.network() == Some(subnet)) {
            if let Err(err) = self.vip.nl.delete_route(stray) {
                log::warn(format!(
                    "removing the kernel's route {} left after {}: {err}",
                    stray.describe(),
                    entry.ip
                ));
            }
        }
    }

    /// Removes the address a failed start added at `target`, for `why`.
    pub fn remove_at(&self, target: &Target, why: Removal) -> AgentResult<()> {
        match self.vip.lookup().at(target)? {
            Whereabouts::InPlace { site, entry } => self.remove_entry(&site, &entry, why),
            _ => Ok(()),
        }
    }

    /// After the add: link up, DAD, then a check that the VIP is really
    /// whole; the address as the kernel holds it.
    fn settle(&self, target: &Target) -> AgentResult<AddressEntry> {
        let (nl, ip) = (self.vip.nl, self.vip.params.ip);
        let link = nl
            .link(target.ifindex())
            .doing(|| format!("reading the state of {}", target.nic()))?
            .ok_or_else(|| AgentError::generic(format!("nic {} disappeared during start", target.nic())))?;
        if !link.admin_up {
            log::info(format!("Bringing device {} up", target.nic()));
            nl.set_link_up(target.ifindex()).doing(|| format!("bringing {} up", target.nic()))?;
        }
        if ip.is_ipv6() && !self.vip.params.nodad {
            self.wait_for_dad(target)?;
        }
        let entry = match self.vip.lookup().at(target)? {
            Whereabouts::InPlace { entry, .. } => {
                if let Some(label) = target.missing_label(&entry) {
                    return Err(AgentError::generic(format!(
                        "{ip} was added to {} but the kernel did not keep its label {label}",
                        target.nic()
                    )));
                }
                entry
            }
            other => {
                return Err(AgentError::generic(format!(
                    "{ip} is not configured on {} after adding it ({other:?})",
                    target.nic()
                )));
            }
        };
        if self.vip.params.link_checked() {
            let link =
                nl.link(target.ifindex()).doing(|| format!("reading the state of {}", target.nic()))?;
            let problem = match link {
                Some(link) => link_problem(&link),
                None => Some(format!("nic {} does not exist any more", target.nic())),
            };
            if let Some(problem) = problem {
                return Err(AgentError::generic(format!("{ip} cannot be brought up: {problem}")));
            }
        }
        Ok(entry)
    }

    /// Waits for IPv6 duplicate address detection to end. A duplicate fails
    /// the start; a DAD still running when the budget is spent is logged and
    /// the start succeeds, as in IPaddr2.
    fn wait_for_dad(&self, target: &Target) -> AgentResult<()> {
        let ip = self.vip.params.ip;
        loop {
            let entries = self
                .vip
                .nl
                .addresses(target.ifindex(), IpFamily::V6)
                .doing(|| format!("reading the DAD state of {ip} on {}", target.nic()))?;
            let Some(entry) = entries.iter().find(|a| a.ip == ip) else {
                return Err(AgentError::generic(format!("{ip} vanished from {} during DAD", target.nic())));
            };
            if entry.is_dad_failed() {
                return Err(AgentError::generic(format!(
                    "IPv6 address collision: duplicate address detection found {ip} already in use on the link of {}",
                    target.nic()
                )));
            }
            if !entry.is_tentative() {
                return Ok(());
            }
            if self.vip.inv.budget.remaining() < DAD_POLL {
                log::warn(format!(
                    "{ip}: duplicate address detection still running when the start timeout nears"
                ));
                return Ok(());
            }
            std::thread::sleep(DAD_POLL);
        }
    }
}

impl OwnedPart for OwnAddress<'_> {
    /// Adds the address with what this start recorded, waits until it is
    /// whole, and remembers its creation time; virtual_mac's source rule
    /// and table route from the address, so they come once it is there.
    fn apply(&self, start: &mut Progress) -> AgentResult<()> {
        let address = self.vip.with_record(&start.record).own_address();
        start.added = Some(address.add(&start.target)?);
        let entry = address.settle(&start.target)?;
        address.remember_creation(&entry);
        address.vip.virtual_interface().route_from(&start.target)
    }

    /// A tag someone's `ip addr change` dropped: put back, with a warning.
    fn verify(&self, site: &Site, entry: &AddressEntry) -> AgentResult<Vec<String>> {
        self.restore_tag(site, entry);
        Ok(Vec::new())
    }

    /// The address where this resource put it, removed; a copy it did not
    /// add is neither deleted nor hidden (stop's last check names it).
    fn remove(&self, why: Removal) -> AgentResult<()> {
        match self.vip.whereabouts()? {
            Whereabouts::InPlace { site, entry } => self.remove_entry(&site, &entry, why),
            Whereabouts::Foreign(foreign) if foreign.claimed_by.is_some() => {
                log::info(format!(
                    "{}; it is not this resource's to remove",
                    foreign.describe(self.vip.params.ip)
                ));
                Ok(())
            }
            Whereabouts::Foreign(foreign) => {
                log::warn(format!("{}; stop leaves it alone", foreign.describe(self.vip.params.ip)));
                Ok(())
            }
            Whereabouts::Absent => {
                log::debug(format!("{} is not configured on this node", self.vip.params.ip));
                Ok(())
            }
            Whereabouts::Unplaced(lack) => {
                log::debug(format!("{}: nothing to remove", lack.reason()));
                Ok(())
            }
        }
    }
}

/// The network an address's prefix names, as routes carry it (host bits clear).
fn prefix_network(entry: &AddressEntry) -> Option<IpNetwork> {
    let network = IpNetwork::new(entry.ip, entry.prefix).ok()?;
    IpNetwork::new(network.network(), entry.prefix).ok()
}

fn describe_add(new: &NewAddress, nic: &str) -> String {
    let family = if new.ip.is_ipv4() { "inet" } else { "inet6" };
    let mut text = format!("Adding {family} address {}/{} ", new.ip, new.prefix);
    if let Some(broadcast) = new.broadcast {
        text.push_str(&format!("with broadcast address {broadcast} "));
    }
    text.push_str(&format!("to device {nic}"));
    let mut extras = Vec::new();
    if let Some(label) = &new.label {
        extras.push(format!("label {label}"));
    }
    if new.nodad {
        extras.push("nodad".into());
    }
    if new.noprefixroute {
        extras.push("noprefixroute".into());
    }
    if let Some(lft) = new.preferred_lft {
        extras.push(format!("preferred_lft {lft}"));
    }
    if let Some(metric) = new.metric {
        extras.push(format!("metric {metric}"));
    }
    if !extras.is_empty() {
        text.push_str(&format!(" (with {})", extras.join(" ")));
    }
    text
}
