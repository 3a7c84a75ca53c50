//! `preferred_source`: while the VIP runs it is the preferred source
//! address of the routes onto its subnet (LifeKeeper's "source address"
//! setting), so connections this node opens there come from the VIP.
//!
//! Start saves each route it changes, as the kernel reported it before any
//! VIP changed it, with the VIPs that held it before this one (two VIPs of
//! one subnet may both ask). Stop hands back only routes still as it left
//! them: to the last earlier VIP still holding a claim, else as they were.
//! A route someone changed since (another source, NIC or metric) is left
//! alone. The kernel deletes every route whose source goes away, so the
//! routes are handed back before the address goes; a route the kernel took
//! with a VIP deleted behind our back comes back too.

use super::context::Vip;
use super::owned::{OwnedPart, Progress, Removal};
use super::place::{Site, Spot};
use crate::error::{AgentError, AgentResult, Doing};
use crate::netlink::{AddressEntry, SavedRoute};
use crate::ocf::log;
use crate::store::key::Shared;
use crate::store::{self, Kind, ResourceKey, RunDir};
use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};
use std::io;
use std::net::IpAddr;

/// One route a VIP took over.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claim {
    /// The route before any VIP made itself its source.
    original: SavedRoute,
    /// The VIPs that held it before this one, oldest first.
    before: Vec<IpAddr>,
}

/// A resource's claims as its file keeps them: the VIP, and each route as
/// the kernel reported it (`SavedRoute::encode`).
#[derive(Debug, Serialize, Deserialize)]
struct ClaimsFile {
    ip: IpAddr,
    claims: Vec<ClaimEntry>,
}

#[derive(Debug, Serialize, Deserialize)]
struct ClaimEntry {
    route: String,
    before: Vec<IpAddr>,
}

impl ClaimsFile {
    fn new(ip: IpAddr, claims: &[Claim]) -> ClaimsFile {
        let claims = claims
            .iter()
            .map(|c| ClaimEntry { route: c.original.encode(), before: c.before.clone() })
            .collect();
        ClaimsFile { ip, claims }
    }

    fn claims(self) -> AgentResult<Vec<Claim>> {
        self.claims
            .into_iter()
            .map(|entry| {
                let original = SavedRoute::decode(&entry.route).doing(|| "reading a saved route")?;
                Ok(Claim { original, before: entry.before })
            })
            .collect()
    }
}

/// The claims the previous release kept as text, one line a route: the
/// route, then the VIPs before this one, comma-separated.
pub fn previous_claims(text: &str) -> AgentResult<Vec<Claim>> {
    let decode = |line: &str| {
        let mut fields = line.split_whitespace();
        let original =
            SavedRoute::decode(fields.next().unwrap_or_default()).doing(|| "reading a saved route")?;
        let before = match fields.next() {
            Some(list) => list
                .split(',')
                .map(|ip| ip.parse().map_err(|_| AgentError::generic(format!("a saved route names [{ip}]"))))
                .collect::<AgentResult<Vec<IpAddr>>>()?,
            None => Vec::new(),
        };
        Ok(Claim { original, before })
    };
    text.lines().filter(|line| !line.trim().is_empty()).map(decode).collect()
}

/// Saves the claims of the resource `key`, whose VIP is `ip`.
pub fn save_claims_of(run_dir: &RunDir, key: &ResourceKey, ip: IpAddr, claims: &[Claim]) -> io::Result<()> {
    run_dir.save(&key.file(Kind::SourceRoutes), &ClaimsFile::new(ip, claims))
}

impl<'a> Vip<'a> {
    /// This resource's `preferred_source` part: the routes whose source it takes over.
    pub fn source_routes(&self) -> SourceRoutes<'a> {
        SourceRoutes { vip: *self }
    }
}

/// `preferred_source`'s part of a resource: the subnet's routes whose source
/// the VIP took over, each claim recorded, given back at stop.
pub struct SourceRoutes<'a> {
    vip: Vip<'a>,
}

impl SourceRoutes<'_> {
    /// Serialises the VIPs of one interface changing and restoring its routes.
    fn routes_lock(&self, ifindex: u32) -> AgentResult<nix::fcntl::Flock<std::fs::File>> {
        let name = store::key::interface_file(
            Shared::SourceRoutesLock,
            ifindex,
            self.vip.params.network_namespace.as_deref(),
        );
        self.vip
            .run_dir()
            .lock(&name, self.vip.inv.budget.deadline())
            .doing(|| format!("waiting for the other preferred_source VIPs of interface {ifindex}"))
    }

    /// The routes `vip` took over: this resource's own record for its own
    /// address, else every record that names `vip` (another resource's,
    /// found by reading the source-route records of the node).
    fn claims_of(&self, vip: IpAddr) -> AgentResult<Vec<Claim>> {
        let run_dir = self.vip.run_dir();
        if vip == self.vip.params.ip {
            let own = run_dir
                .load::<ClaimsFile>(&self.vip.key.file(Kind::SourceRoutes))
                .doing(|| format!("reading the saved routes of {vip}"))?;
            return own.map_or(Ok(Vec::new()), ClaimsFile::claims);
        }
        let mut claims = Vec::new();
        for name in run_dir.names_starting_with(&Kind::SourceRoutes.prefix()) {
            if let Ok(Some(file)) = run_dir.load::<ClaimsFile>(&name) {
                if file.ip == vip {
                    claims.extend(file.claims()?);
                }
            }
        }
        Ok(claims)
    }

    fn save_claims(&self, claims: &[Claim]) -> AgentResult<()> {
        save_claims_of(&self.vip.run_dir(), self.vip.key, self.vip.params.ip, claims)
            .doing(|| format!("saving the routes {} takes over", self.vip.params.ip))
    }

    /// Makes the VIP the preferred source of its subnet's routes on its NIC.
    pub fn take_over(&self, spot: Spot) -> AgentResult<()> {
        if !self.vip.params.preferred_source {
            return Ok(());
        }
        let ip = self.vip.params.ip;
        let subnet = IpNetwork::new(ip, spot.prefix)
            .map_err(|err| AgentError::configured(format!("{ip}/{}: {err}", spot.prefix)))?;
        let _lock = self.routes_lock(spot.site.ifindex)?;
        self.put_back_routes_taken_with_the_vip(spot.site.ifindex)?;
        let routes = self
            .vip
            .nl
            .subnet_routes(spot.site.ifindex, subnet)
            .doing(|| format!("reading the routes onto {subnet} on {}", spot.site.nic))?;
        if routes.is_empty() {
            log::warn(format!("no route onto {subnet} on {}: {ip} is the source of none", spot.site.nic));
            return Ok(());
        }
        let to_change: Vec<SavedRoute> =
            routes.into_iter().filter(|r| r.preferred_source() != Some(ip)).collect();
        if to_change.is_empty() {
            return Ok(());
        }
        // Saved before anything changes: a start killed half-way still
        // leaves stop what it needs. Claims from an earlier start are kept.
        let mut claims = self.claims_of(ip)?;
        for route in &to_change {
            if !claims.iter().any(|claim| claim.original.same_route(route)) {
                claims.push(self.claim_for(route)?);
            }
        }
        self.save_claims(&claims)?;
        for route in &to_change {
            self.vip
                .nl
                .replace_route(&route.with_preferred_source(Some(ip)))
                .doing(|| format!("making {ip} the source of route {}", route.describe()))?;
            log::info(format!("{ip} is the preferred source of route {} now", route.describe()));
        }
        Ok(())
    }

    /// Puts back, with the VIP as their source, the routes this resource
    /// holds on `ifindex` that the kernel removed when someone deleted the
    /// VIP (gone, and nothing to their destination in their place): left
    /// so, the node has no route onto its own subnet while the VIP is back.
    fn put_back_routes_taken_with_the_vip(&self, ifindex: u32) -> AgentResult<()> {
        let ip = self.vip.params.ip;
        for claim in self.claims_of(ip)? {
            let original = &claim.original;
            if original.oif() != Some(ifindex) {
                continue;
            }
            if self.taken_with_the_vip(original)? {
                self.vip.nl.replace_route(&original.with_preferred_source(Some(ip))).doing(|| {
                    format!("putting back route {} with {ip} as its source", original.describe())
                })?;
                log::info(format!(
                    "put back route {} with {ip} as its source: the kernel had removed it with {ip}",
                    original.describe()
                ));
            }
        }
        Ok(())
    }

    /// The claim on `route`: inherited from the VIP that holds it now, if
    /// that VIP took it over too, so the route's first state is never lost.
    fn claim_for(&self, route: &SavedRoute) -> AgentResult<Claim> {
        let ip = self.vip.params.ip;
        if let Some(holder) = route.preferred_source() {
            let theirs = self.claims_of(holder).unwrap_or_default();
            if let Some(claim) = theirs.into_iter().find(|claim| claim.original.same_route(route)) {
                let mut before: Vec<IpAddr> = claim.before.into_iter().filter(|vip| *vip != ip).collect();
                before.push(holder);
                return Ok(Claim { original: claim.original, before });
            }
        }
        Ok(Claim { original: route.clone(), before: Vec::new() })
    }

    /// Whether `vip` still holds a claim on `route` here: its address is on
    /// this node and its record lists the route.
    fn still_claims(&self, vip: IpAddr, route: &SavedRoute) -> bool {
        let local = self.vip.nl.local_address_holder(vip).is_ok_and(|holder| holder.is_some());
        local && self.claims_of(vip).is_ok_and(|claims| claims.iter().any(|c| c.original.same_route(route)))
    }

    /// Puts back the routes `take_over` changed. Never fails: the
    /// address must go whatever happens to the routes; what cannot be put
    /// back is logged.
    pub fn give_back_all(&self) {
        let ip = self.vip.params.ip;
        let claims = match self.claims_of(ip) {
            Ok(claims) if claims.is_empty() => return,
            Ok(claims) => claims,
            Err(err) => {
                log::error(err.reason);
                return;
            }
        };
        let lock = claims.first().and_then(|claim| claim.original.oif()).map(|oif| self.routes_lock(oif));
        if let Some(Err(err)) = &lock {
            log::error(format!("{}; handing the routes back without it", err.reason));
        }
        for claim in &claims {
            if let Err(err) = self.give_back(claim) {
                log::error(err.reason);
            }
        }
        if let Err(err) = self.vip.run_dir().remove(&self.vip.key.file(Kind::SourceRoutes)) {
            log::warn(format!("removing the saved routes of {ip}: {err}"));
        }
    }

    fn give_back(&self, claim: &Claim) -> AgentResult<()> {
        let (ip, original) = (self.vip.params.ip, &claim.original);
        let (Some(oif), Some(network)) = (original.oif(), original.network()) else { return Ok(()) };
        let now = self
            .vip
            .nl
            .subnet_routes(oif, network)
            .doing(|| format!("reading route {}", original.describe()))?;
        let current = now.iter().find(|route| route.same_route(original));
        match current {
            Some(route) if route.preferred_source() == Some(ip) => {
                let heir = claim.before.iter().rev().find(|vip| self.still_claims(**vip, original));
                let handed = match heir {
                    Some(vip) => original.with_preferred_source(Some(*vip)),
                    None => original.clone(),
                };
                self.restore(&handed)?;
                match heir {
                    Some(vip) => log::info(format!("route {} goes back to {vip}", original.describe())),
                    None => log::info(format!("restored route {}", original.describe())),
                }
            }
            Some(_) => log::info(format!(
                "route {} was changed since {ip} took it over; leaving it as it is",
                original.describe()
            )),
            None if self.taken_with_the_vip(original)? => {
                self.restore(original)?;
                log::info(format!(
                    "restored route {}, which the kernel removed with {ip}",
                    original.describe()
                ));
            }
            None => log::info(format!(
                "route {} was changed or removed since {ip} took it over; leaving it",
                original.describe()
            )),
        }
        Ok(())
    }

    /// Whether a route that is gone went with the VIP (the kernel deletes
    /// the routes whose source it removes): no route to the same
    /// destination stands in its place (an admin's new metric or NIC). The
    /// VIP may be here again: re-added by an action killed before it took
    /// the route over again, and the re-add does not bring it back.
    fn taken_with_the_vip(&self, original: &SavedRoute) -> AgentResult<bool> {
        let Some(network) = original.network() else { return Ok(false) };
        let everywhere = self
            .vip
            .nl
            .routes_to(network, original.table())
            .doing(|| format!("reading the routes to {network}"))?;
        Ok(everywhere.is_empty())
    }

    fn restore(&self, route: &SavedRoute) -> AgentResult<()> {
        // Its old source may be gone meanwhile: then let the kernel choose.
        let restored = self
            .vip
            .nl
            .replace_route(route)
            .or_else(|_| self.vip.nl.replace_route(&route.with_preferred_source(None)));
        restored.doing(|| format!("restoring route {}", route.describe()))
    }

    /// For monitor: a route this VIP took over that no longer carries it
    /// (nor a later VIP that took it over in turn), if any.
    pub fn lost(&self) -> AgentResult<Option<String>> {
        if !self.vip.params.preferred_source {
            return Ok(None);
        }
        let ip = self.vip.params.ip;
        for claim in self.claims_of(ip)? {
            let (Some(oif), Some(network)) = (claim.original.oif(), claim.original.network()) else {
                continue;
            };
            let now = self
                .vip
                .nl
                .subnet_routes(oif, network)
                .doing(|| format!("reading the routes onto {network}"))?;
            let source =
                now.iter().find(|r| r.same_route(&claim.original)).and_then(SavedRoute::preferred_source);
            let held = match source {
                Some(source) if source == ip => true,
                Some(later) => self.claims_of(later).is_ok_and(|theirs| {
                    theirs.iter().any(|c| c.original.same_route(&claim.original) && c.before.contains(&ip))
                }),
                None => false,
            };
            if !held {
                return Ok(Some(format!(
                    "route {} no longer has {ip} as its preferred source (preferred_source)",
                    claim.original.describe()
                )));
            }
        }
        Ok(None)
    }
}

impl OwnedPart for SourceRoutes<'_> {
    /// `preferred_source`: the subnet's routes take the VIP, just added,
    /// as their source, claimed under what this start recorded.
    fn apply(&self, start: &mut Progress) -> AgentResult<()> {
        self.vip.with_record(&start.record).source_routes().take_over(start.spot())
    }

    /// A route whose source the VIP took is no longer the VIP's: clients
    /// of the node's own connections feel it, and only a restart takes it
    /// over again.
    fn verify(&self, _site: &Site, _entry: &AddressEntry) -> AgentResult<Vec<String>> {
        match self.lost()? {
            Some(problem) => {
                Err(AgentError::generic(format!("{problem}; a restart makes it the source again")))
            }
            None => Ok(Vec::new()),
        }
    }

    /// Before the address goes, or the kernel deletes those routes with it;
    /// and also when it is gone already, which took them away. Each failure
    /// is logged: the rest of the routes still go back.
    fn remove(&self, _why: Removal) -> AgentResult<()> {
        self.give_back_all();
        Ok(())
    }
}
