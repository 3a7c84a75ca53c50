//! Adding and removing the address and its IPv6 address label: one
//! implementation each, for the plain VIP and the cluster IP alike (as
//! keepalived's one `netlink_ipaddress` serves every caller), so the two
//! modes cannot drift apart.

use super::context::Vip;
use super::owned::{OwnedPart, Removal};
use super::place::Whereabouts;
use super::place::{Site, Target};
use crate::error::{AgentError, AgentResult, Doing};
use crate::netlink::{AddressEntry, IpFamily, NewAddress, SavedRoute, libc_errno};
use crate::ocf::log;
use crate::params::Lifetime;
use crate::sysctl;
use ipnetwork::IpNetwork;
use rtnetlink::packet_route::address::AddressFlags;

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

/// Whether an add put the address there or found it already added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// This call added it: undo it if the start fails later.
    ByUs,
    /// A racing start of the same VIP added it first.
    Already,
}

impl Vip<'_> {
    /// Adds the address at `target` with every attribute IPaddr2 sets.
    pub fn add_address(&self, target: &Target) -> AgentResult<Added> {
        let params = self.params;
        // On virtual_mac's interface the VIP's own table holds its subnet
        // route: one in main through that interface could come first (after
        // the parent's link flaps, or the node's own address is added
        // again) and give the node's own traffic the VIP as source.
        let on_virtual_link = self.virtual_link().is_some_and(|v| v.ifindex == Some(target.ifindex()));
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
            protocol: self.record.filter(|record| record.tagged).map(|_| ADDRESS_PROTOCOL),
        };
        log::info(describe_add(&new, target.nic()));
        match self.nl.add_address(&new) {
            Ok(()) => Ok(Added::ByUs),
            Err(err) if err.errno() == Some(libc_errno::EEXIST) => Ok(Added::Already),
            Err(err) => {
                Err(err).doing(|| format!("adding {}/{} to {}", params.ip, target.prefix, target.nic()))
            }
        }
    }

    /// Removes exactly `entry` from `site`, keeping the other addresses of
    /// its subnet, and flushes the route cache when `flush_routes` asks.
    pub fn remove_address(&self, site: &Site, entry: &AddressEntry, why: Removal) -> AgentResult<()> {
        if entry.ip.is_ipv4() && !entry.is_secondary() {
            self.keep_secondaries_alive(site, entry);
        }
        log::info(format!("Removing {}/{} from {}", entry.ip, entry.prefix, site.nic));
        let others = self.others_on_link_routes(site, entry);
        // Right before the deletion, so that the peers hear it from here and
        // have no time to reconnect to this node.
        if why == Removal::Stop {
            self.reset_connections(Some(site.ifindex));
        }
        match self.nl.delete_address(entry.ip, entry.prefix, site.ifindex) {
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
        if self.params.flush_routes {
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
        let Ok(addresses) = self.nl.addresses(site.ifindex, IpFamily::V4) else { return };
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
        match self.nl.subnet_routes(site.ifindex, subnet) {
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
        let Ok(now) = self.nl.subnet_routes(site.ifindex, subnet) else { return };
        let mut restored = false;
        for route in others.iter().filter(|route| !now.iter().any(|r| r.same_route(route))) {
            match self.nl.replace_route(route) {
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
            if let Err(err) = self.nl.delete_route(stray) {
                log::warn(format!(
                    "removing the kernel's route {} left after {}: {err}",
                    stray.describe(),
                    entry.ip
                ));
            }
        }
    }
}

impl<'a> Vip<'a> {
    /// This resource's address, as a part of it.
    pub fn own_address(&self) -> OwnAddress<'a> {
        OwnAddress { vip: *self }
    }
}

/// The address itself, with its tag, label, lifetimes and metric, as the
/// part of a resource monitor verifies and stop removes.
pub struct OwnAddress<'a> {
    vip: Vip<'a>,
}

impl OwnedPart for OwnAddress<'_> {
    /// A tag someone's `ip addr change` dropped: put back, with a warning.
    fn verify(&self, site: &Site, entry: &AddressEntry) -> AgentResult<Vec<String>> {
        self.vip.restore_tag(site, entry);
        Ok(Vec::new())
    }

    /// The address where this resource put it, removed; a copy it did not
    /// add is neither deleted nor hidden (stop's last check names it).
    fn remove(&self, why: Removal) -> AgentResult<()> {
        match self.vip.whereabouts()? {
            Whereabouts::InPlace { site, entry } => self.vip.remove_address(&site, &entry, why),
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
