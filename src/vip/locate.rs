//! The one lookup every action uses: where the address belongs (its
//! record, else the configuration) and where it actually is. Start, stop,
//! monitor, recover, the clone mode and explain all answer from here, so
//! they always agree on what "running" and "stopped" mean:
//!
//! - in place, as recorded or configured: running;
//! - on no interface of this node (or its namespace): stopped;
//! - a copy somewhere this resource did not put it (another interface,
//!   another prefix): an error naming where, which stop neither deletes nor
//!   hides.
//!
//! It only reads, and every query is filtered by the kernel: one link, one
//! interface's addresses, one local-table lookup.

use super::context::Vip;
use super::identity::{self, Witness};
use super::loopback_copy::{self, LoopbackCopy};
use super::place::{Foreign, Lack, Placement, Site, Target, Whereabouts};
use super::record::Record;
use crate::discover::{self, RouteMatch};
use crate::error::{AgentError, AgentResult, Doing};
use crate::netlink::{AddressEntry, LinkEntry, libc_errno};
use crate::ocf::log;
use crate::params::{BroadcastSpec, names, values};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};

/// The interface found for the address, before its addresses are read.
enum SiteLookup {
    Found(Site, Option<RouteMatch>),
    Unplaced(Lack),
}

impl<'a> Vip<'a> {
    /// Finding this VIP on the node.
    pub fn lookup(&self) -> Lookup<'a> {
        Lookup { vip: *self }
    }

    /// Where the address is, relative to where this resource put it (see
    /// `Lookup::whereabouts`): the question every action asks first.
    pub fn whereabouts(&self) -> AgentResult<Whereabouts> {
        self.lookup().whereabouts()
    }

    /// Where start would put the address, and where it is relative to that
    /// place (see `Lookup::placement`).
    pub fn placement(&self) -> AgentResult<(Placement, Whereabouts)> {
        self.lookup().placement()
    }
}

/// Finding one VIP: where it belongs, and where it is. Only reads.
pub struct Lookup<'a> {
    vip: Vip<'a>,
}

impl Lookup<'_> {
    /// Where the address is, relative to where this resource put it (its
    /// record) or, without a record, where the configuration puts it, with
    /// the prefix start would give it there.
    pub fn whereabouts(&self) -> AgentResult<Whereabouts> {
        if let Some(record) = self.vip.record {
            let site = self.site_by_index(record.ifindex, &record.nic)?;
            return self.presence_on(site, Some(record.prefix));
        }
        match self.configured_site()? {
            SiteLookup::Found(site, route) => {
                let on_site = self.own_entries_on(&site)?;
                let prefix = match self.configured_prefix(&site, route)? {
                    (Some(prefix), _) => prefix,
                    // No route any more: a VIP started before records
                    // existed keeps the prefix it has (resource-agents #2001).
                    (None, _) => match on_site.iter().find(|a| a.ip == self.vip.params.ip) {
                        Some(present) => present.prefix,
                        None => {
                            return self.anywhere_else(
                                None,
                                Whereabouts::Unplaced(Lack::Network(self.no_network())),
                            );
                        }
                    },
                };
                self.presence_among(site, Some(prefix), &on_site)
            }
            SiteLookup::Unplaced(lack) => self.anywhere_else(None, Whereabouts::Unplaced(lack)),
        }
    }

    /// Where start would put the address (from the configuration alone),
    /// and where it is relative to that place.
    pub fn placement(&self) -> AgentResult<(Placement, Whereabouts)> {
        let (site, route) = match self.configured_site()? {
            SiteLookup::Found(site, route) => (site, route),
            SiteLookup::Unplaced(lack) => {
                let now = self.anywhere_else(None, Whereabouts::Unplaced(lack.clone()))?;
                return Ok((Placement::Unplaced(lack), now));
            }
        };
        let params = self.vip.params;
        let on_site = self.addresses_on(&site)?;
        let (prefix, route) = match self.configured_prefix(&site, route)? {
            (Some(prefix), route) => (prefix, route),
            (None, _) => {
                let lack = Lack::Network(self.no_network());
                let now = self.anywhere_else(None, Whereabouts::Unplaced(lack.clone()))?;
                return Ok((Placement::Unplaced(lack), now));
            }
        };
        let label = match &params.label_suffix {
            Some(suffix) => Some(names::full_label(&site.nic, suffix).map_err(AgentError::configured)?),
            None => None,
        };
        let broadcast = match params.ip {
            IpAddr::V4(v4) => match params.broadcast {
                BroadcastSpec::Inherit => inherited_broadcast(&on_site, route.as_ref()),
                spec => values::derived_broadcast(spec, v4, prefix),
            },
            IpAddr::V6(_) => None,
        };
        // IPaddr2 since 4.15: an IPv6 VIP's subnet route gets the metric of
        // the route that placed it, so the kernel adds no second one.
        let metric = match params.ip {
            IpAddr::V6(_) => params.metric.or(route.as_ref().and_then(|r| r.metric)),
            IpAddr::V4(_) => params.metric,
        };
        let now = self.presence_among(site.clone(), Some(prefix), &on_site)?;
        Ok((Placement::Target(Target { site, prefix, label, broadcast, metric }), now))
    }

    /// The prefix the configuration gives the address on `site`:
    /// `cidr_netmask`, else the prefix of the route covering it there. The
    /// route is looked up even when the prefix is given, as IPaddr2 does,
    /// for the broadcast of the subnet's own address (IPv4) or its metric
    /// (IPv6).
    fn configured_prefix(
        &self,
        site: &Site,
        route: Option<RouteMatch>,
    ) -> AgentResult<(Option<u8>, Option<RouteMatch>)> {
        let params = self.vip.params;
        let inherits_broadcast = params.is_ipv4() && params.broadcast == BroadcastSpec::Inherit;
        let inherits_metric = params.ip.is_ipv6() && params.metric.is_none();
        let route = match route {
            None if params.prefix.is_none() || inherits_broadcast || inherits_metric => {
                discover::find_route(self.vip.nl, params, Some(site.ifindex))?
            }
            found => found,
        };
        Ok((params.prefix.or(route.as_ref().map(|r| r.prefix)), route))
    }

    /// The interface holding the address as a local address, if any: one
    /// lookup of the address's own entry in the local table, whatever the
    /// number of addresses on the host. An LVS real server's copy on lo
    /// is not counted.
    pub fn holder(&self) -> AgentResult<Option<u32>> {
        let ip = self.vip.params.ip;
        let found = self
            .vip
            .nl
            .local_address_holder(ip)
            .doing(|| format!("looking up which interface holds {ip}"))?;
        Ok(found.filter(|index| self.can_hold(*index)))
    }

    /// Whether a copy on interface `index` counts as holding the VIP: an
    /// LVS real server's copy on lo, which `lvs_support` takes over and
    /// gives back, does not.
    pub fn can_hold(&self, index: u32) -> bool {
        !(self.vip.params.lvs.support && index == LOOPBACK_IFINDEX)
    }

    /// The name of the interface of this node that holds `ip`, if any.
    pub fn interface_holding(&self, ip: IpAddr) -> Option<String> {
        let ifindex = self.vip.nl.local_address_holder(ip).ok()??;
        Some(self.site_by_index(ifindex, "").ok()?.nic)
    }

    /// The interface the configuration puts the address on: `nic`, else
    /// the most specific route that covers it with a prefix no longer than
    /// `cidr_netmask`, for IPv6 as for IPv4 (what IPaddr2 does with a /120
    /// service subnet carved from a /64). The interface that holds
    /// the address now is not asked: without a record, a copy elsewhere is
    /// not this resource's.
    fn configured_site(&self) -> AgentResult<SiteLookup> {
        let params = self.vip.params;
        if let Some(name) = &params.nic {
            let link = self.vip.nl.link_by_name(name).doing(|| format!("looking up nic {name}"))?;
            return Ok(match link {
                Some(link) => SiteLookup::Found(site_of(link), None),
                None => SiteLookup::Unplaced(Lack::Nic(format!("nic {name} does not exist on this node"))),
            });
        }
        let Some(route) = discover::find_route(self.vip.nl, params, None)? else {
            return Ok(SiteLookup::Unplaced(Lack::Network(self.no_network())));
        };
        let site = self.site_by_index(route.ifindex, "")?;
        Ok(SiteLookup::Found(site, Some(route)))
    }

    /// Where the address is relative to `target` (start's own check after the add).
    pub fn at(&self, target: &Target) -> AgentResult<Whereabouts> {
        self.presence_on(target.site.clone(), Some(target.prefix))
    }

    /// The interface with index `ifindex`; `known_as` names it when it is gone.
    pub fn site_by_index(&self, ifindex: u32, known_as: &str) -> AgentResult<Site> {
        let link = self.vip.nl.link(ifindex).doing(|| format!("reading interface {ifindex}"))?;
        Ok(match link {
            Some(link) => site_of(link),
            None if known_as.is_empty() => Site { ifindex, nic: format!("ifindex {ifindex}"), link: None },
            None => Site { ifindex, nic: known_as.to_string(), link: None },
        })
    }

    fn addresses_on(&self, site: &Site) -> AgentResult<Vec<AddressEntry>> {
        if site.link.is_none() {
            return Ok(Vec::new());
        }
        match self.vip.nl.addresses(site.ifindex, self.vip.params.family()) {
            Err(err) if err.errno() == Some(libc_errno::ENODEV) => Ok(Vec::new()),
            listed => listed.doing(|| format!("listing the addresses of {}", site.nic)),
        }
    }

    /// The VIP's own entries on `site` (the lookup every monitor makes;
    /// address_lookup says what the other addresses there cost it).
    pub fn own_entries_on(&self, site: &Site) -> AgentResult<Vec<AddressEntry>> {
        if site.link.is_none() {
            return Ok(Vec::new());
        }
        match self.vip.nl.address_entries(site.ifindex, self.vip.params.ip) {
            Err(err) if err.errno() == Some(libc_errno::ENODEV) => Ok(Vec::new()),
            found => found.doing(|| format!("looking up {} on {}", self.vip.params.ip, site.nic)),
        }
    }

    /// The address's state on `site`, where it should have `prefix` (any,
    /// when not known).
    fn presence_on(&self, site: Site, prefix: Option<u8>) -> AgentResult<Whereabouts> {
        let on_site = self.own_entries_on(&site)?;
        self.presence_among(site, prefix, &on_site)
    }

    fn presence_among(
        &self,
        site: Site,
        prefix: Option<u8>,
        on_site: &[AddressEntry],
    ) -> AgentResult<Whereabouts> {
        let ip = self.vip.params.ip;
        let mine: Vec<&AddressEntry> = on_site.iter().filter(|a| a.ip == ip).collect();
        let wanted = prefix.or(mine.first().map(|a| a.prefix));
        if let Some(entry) = mine.iter().find(|a| Some(a.prefix) == wanted) {
            let claimed_by = self.claimed_by_another(&site, entry);
            let unlike = match &claimed_by {
                Some(owner) => Some(format!("added by {owner}")),
                None => self.unlike_ours(&site, entry)?,
            };
            return Ok(match unlike {
                None => Whereabouts::InPlace { site, entry: (*entry).clone() },
                unlike => Whereabouts::Foreign(Foreign {
                    ifindex: site.ifindex,
                    nic: site.nic.clone(),
                    prefix: Some(entry.prefix),
                    wanted: Some((site.nic, wanted)),
                    unlike,
                    claimed_by,
                    answers: None,
                }),
            });
        }
        if let Some(other) = mine.first() {
            return Ok(Whereabouts::Foreign(Foreign {
                ifindex: site.ifindex,
                nic: site.nic.clone(),
                prefix: Some(other.prefix),
                wanted: Some((site.nic, wanted)),
                unlike: None,
                claimed_by: None,
                answers: None,
            }));
        }
        self.anywhere_else(Some((site, wanted)), Whereabouts::Absent)
    }

    /// Without a record of its own, the resource whose record claims the
    /// copy at this resource's place (two resources configured for one
    /// address on one NIC): never taken over, never removed by this one.
    /// Run by hand, without a resource name, the agent speaks for whichever
    /// resource holds the address there, as it always has; and a cluster
    /// IP's instances share their one address by design.
    fn claimed_by_another(&self, site: &Site, entry: &AddressEntry) -> Option<String> {
        if self.vip.record.is_some()
            || self.vip.inv.env.instance.is_none()
            || self.vip.params.cluster_ip.is_some()
        {
            return None;
        }
        let other = Record::of_another_resource(&self.vip.run_dir(), self.vip.key, entry.ip, site.ifindex)?;
        Some(other.resource.map_or("another resource".to_string(), |r| format!("resource {r}")))
    }

    /// Why `entry`, at this resource's place with its prefix, is not this
    /// resource's address, or `None` when it is: where start tagged its
    /// address, the kernel's witnesses decide (`identity`); an IPv4 copy carries the resource's label (the
    /// configured one, else the recorded one), or none. The label is
    /// compared after the interface's name, which a rename changes; the
    /// kernel then numbers unlabelled secondary addresses (`wan7:2`).
    fn unlike_ours(&self, site: &Site, entry: &AddressEntry) -> AgentResult<Option<String>> {
        if let Witness::Other(why) = identity::witness(self.vip.record, entry) {
            return Ok(Some(why));
        }
        if entry.ip.is_ipv4() {
            let suffix = |label: &str| label.split_once(':').map(|(_, suffix)| suffix.to_string());
            let expected = self.vip.expected_label(site)?;
            let carried = entry.label.as_deref().and_then(suffix);
            let fits = match (expected.as_deref().and_then(suffix), carried.as_deref()) {
                (Some(wanted), Some(carried)) => wanted == carried,
                (Some(_), None) => false,
                (None, carried) => {
                    carried.is_none_or(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
                }
            };
            if !fits {
                let carried = entry.label.as_deref().unwrap_or(&site.nic);
                return Ok(Some(match expected {
                    Some(label) => format!("without its label {label} (labelled {carried})"),
                    None => format!("labelled {carried}, where this resource sets no label"),
                }));
            }
        }
        Ok(None)
    }

    /// `otherwise`, unless the address is held by an interface other than
    /// `site`: then that copy is foreign.
    fn anywhere_else(
        &self,
        site: Option<(Site, Option<u8>)>,
        otherwise: Whereabouts,
    ) -> AgentResult<Whereabouts> {
        let Some(index) = self.holder()? else { return Ok(otherwise) };
        if site.as_ref().is_some_and(|(s, _)| s.ifindex == index) {
            return Ok(otherwise);
        }
        // The same address may belong to two resources on two NICs (one
        // gateway address on several VLANs): a copy another resource's
        // record claims is that resource's, neither ours nor a stray one.
        if let Some(other) =
            Record::of_another_resource(&self.vip.run_dir(), self.vip.key, self.vip.params.ip, index)
        {
            log::debug(format!(
                "{} on {} belongs to {}",
                self.vip.params.ip,
                other.nic,
                other.resource.as_deref().map_or("another resource".to_string(), |r| format!("resource {r}"))
            ));
            return Ok(otherwise);
        }
        let mut answers = None;
        if index == LOOPBACK_IFINDEX {
            let ip = self.vip.params.ip;
            match loopback_copy::judge(ip, site.as_ref().map(|(s, _)| s.nic.as_str())) {
                LoopbackCopy::Silent(why) => {
                    // Once per action, which may look more than once.
                    if !LOOPBACK_COPY_REPORTED.swap(true, Ordering::Relaxed) {
                        log::warn(format!(
                            "{ip} is on lo, {why}: an LVS real server's copy, which this resource leaves alone"
                        ));
                    }
                    return Ok(otherwise);
                }
                LoopbackCopy::Answers(why) => answers = Some(why),
            }
        }
        let nic = self.site_by_index(index, "")?.nic;
        let wanted = site.map(|(s, prefix)| (s.nic, prefix));
        Ok(Whereabouts::Foreign(Foreign {
            ifindex: index,
            nic,
            prefix: None,
            wanted,
            unlike: None,
            claimed_by: None,
            answers,
        }))
    }

    fn no_network(&self) -> String {
        let params = self.vip.params;
        let scope = params.nic.as_deref().map(|n| format!(" on nic {n}")).unwrap_or_default();
        let given = params.prefix.map(|p| format!(" with prefix /{p}")).unwrap_or_default();
        format!(
            "unable to find nic or netmask for {}: no route{scope}{given} covers it; set nic and cidr_netmask or add an address in that subnet",
            params.ip
        )
    }
}

/// Whether this process has told of a silent copy on lo already.
static LOOPBACK_COPY_REPORTED: AtomicBool = AtomicBool::new(false);

/// The loopback interface has index 1 in every network namespace.
pub const LOOPBACK_IFINDEX: u32 = 1;

fn site_of(link: LinkEntry) -> Site {
    Site { ifindex: link.ifindex, nic: link.name.clone(), link: Some(link) }
}

/// IPaddr2 gives a VIP without an explicit broadcast the broadcast address
/// of the subnet's own address (the route's preferred source).
fn inherited_broadcast(on_nic: &[AddressEntry], route: Option<&RouteMatch>) -> Option<Ipv4Addr> {
    let source = route?.preferred_source?;
    on_nic.iter().find(|a| a.ip == source).and_then(|a| a.broadcast)
}
