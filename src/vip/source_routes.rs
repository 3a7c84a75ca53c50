//! `preferred_source`: while the VIP runs it is the preferred source
//! address of the routes onto its subnet (LifeKeeper's "source address"
//! setting), so connections this node opens there come from the VIP.
//!
//! The kernel deletes every route whose preferred source is an address
//! being removed, so the routes must be given back before the VIP goes.
//! Start saves each route's original message in HA_RSCTMP before changing
//! it; stop puts back, byte for byte, those that still carry the VIP (or
//! that the VIP's removal took away), and leaves alone any route someone
//! changed since.

use super::Vip;
use super::announcing::Spot;
use crate::error::{AgentError, AgentResult, Doing};
use crate::netlink::{Netlink, SavedRoute};
use crate::ocf::log;
use crate::params::Params;
use ipnetwork::IpNetwork;

impl Vip<'_> {
    fn source_routes_file(&self) -> String {
        self.state_file("srcroutes")
    }

    /// Makes the VIP the preferred source of its subnet's routes on its NIC.
    pub fn take_over_routes(&self, spot: Spot) -> AgentResult<()> {
        if !self.params.preferred_source {
            return Ok(());
        }
        let (nl, params, prefix) = (self.nl, self.params, spot.prefix);
        let subnet = IpNetwork::new(params.ip, prefix)
            .map_err(|err| AgentError::configured(format!("{}/{prefix}: {err}", params.ip)))?;
        let routes = nl
            .subnet_routes(spot.site.ifindex, subnet)
            .doing(|| format!("reading the routes onto {subnet} on {}", spot.site.nic))?;
        if routes.is_empty() {
            log::warn(format!(
                "no route onto {subnet} on {}: {} is the source of none",
                spot.site.nic, params.ip
            ));
            return Ok(());
        }
        let to_change: Vec<SavedRoute> =
            routes.into_iter().filter(|route| route.preferred_source() != Some(params.ip)).collect();
        if to_change.is_empty() {
            return Ok(());
        }
        // Saved before anything changes: a start killed half-way still leaves
        // stop what it needs. Originals from an earlier start are kept.
        let dir = self.run_dir();
        let mut saved = self.saved_routes()?;
        for route in &to_change {
            if !saved.iter().any(|kept| kept.same_route(route)) {
                saved.push(route.clone());
            }
        }
        let text: String = saved.iter().map(|route| route.encode() + "\n").collect();
        dir.write(&self.source_routes_file(), &text).doing(|| format!("saving the routes onto {subnet}"))?;
        for route in &to_change {
            nl.replace_route(&route.with_preferred_source(Some(params.ip)))
                .doing(|| format!("making {} the source of route {}", params.ip, route.describe()))?;
            log::info(format!("{} is the preferred source of route {} now", params.ip, route.describe()));
        }
        Ok(())
    }

    /// Puts back the routes `take_over_routes` changed. Never fails: the address must
    /// go whatever happens to the routes; what cannot be restored is logged.
    pub fn give_back_routes(&self) {
        let (nl, params) = (self.nl, self.params);
        let saved = match self.saved_routes() {
            Ok(saved) if saved.is_empty() => return,
            Ok(saved) => saved,
            Err(err) => {
                log::error(err.reason);
                return;
            }
        };
        for original in &saved {
            if let Err(err) = restore(nl, params, original) {
                log::error(err.reason);
            }
        }
        if let Err(err) = self.run_dir().remove(&self.source_routes_file()) {
            log::warn(format!("removing the saved routes of {}: {err}", params.ip));
        }
    }
}

fn restore(nl: &Netlink, params: &Params, original: &SavedRoute) -> AgentResult<()> {
    let current = match (original.oif(), original.network()) {
        (Some(oif), Some(network)) => nl
            .subnet_routes(oif, network)
            .doing(|| format!("reading route {}", original.describe()))?
            .into_iter()
            .find(|route| route.same_route(original)),
        _ => None,
    };
    match current {
        Some(route) if route.preferred_source() != Some(params.ip) => {
            log::info(format!(
                "route {} was changed since {} started; leaving it as it is",
                original.describe(),
                params.ip
            ));
            Ok(())
        }
        _ => {
            let restored = nl.replace_route(original).or_else(|_| {
                // Its old source may be gone meanwhile: let the kernel choose.
                nl.replace_route(&original.with_preferred_source(None))
            });
            restored.doing(|| format!("restoring route {}", original.describe()))?;
            log::info(format!("restored route {}", original.describe()));
            Ok(())
        }
    }
}

impl Vip<'_> {
    fn saved_routes(&self) -> AgentResult<Vec<SavedRoute>> {
        let params = self.params;
        let text = self
            .run_dir()
            .read(&self.source_routes_file())
            .doing(|| format!("reading the saved routes of {}", params.ip))?
            .unwrap_or_default();
        text.lines()
            .filter(|line| !line.trim().is_empty())
            .map(|line| {
                SavedRoute::decode(line).doing(|| format!("reading the saved routes of {}", params.ip))
            })
            .collect()
    }
}
