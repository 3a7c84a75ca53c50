//! `allow_missing_subnet`: LifeKeeper's "restore and recover disabled" for
//! multi-site clusters. On a node with no interface on the VIP's subnet (a
//! disaster-recovery site), start succeeds without the address so that the
//! resources depending on it can run, and records that in HA_RSCTMP:
//!
//! - monitor reports running while the record exists and the subnet is
//!   still absent; once the subnet appears it reports the address's real
//!   state (not running, until Pacemaker restarts it and start adds it);
//! - stop removes the record and succeeds;
//! - validate-all warns instead of failing.
//!
//! The record lives in HA_RSCTMP, which does not survive a reboot, just as
//! an address does not.

use super::context::Vip;
use crate::discover;
use crate::error::{AgentError, AgentResult, Doing};
use crate::ocf::log;
use crate::store::Kind;
use serde::{Deserialize, Serialize};

/// Why start succeeded without configuring the address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum StandIn {
    /// No interface of this node is on the VIP's subnet (allow_missing_subnet).
    NoSubnet,
}

impl<'a> Vip<'a> {
    /// `allow_missing_subnet` for this VIP.
    pub fn missing_subnet(&self) -> MissingSubnet<'a> {
        MissingSubnet { vip: *self }
    }
}

/// `allow_missing_subnet` for one VIP: whether its subnet is here, and the
/// record of a start that succeeded without it.
pub struct MissingSubnet<'a> {
    vip: Vip<'a>,
}

impl MissingSubnet<'_> {
    /// Whether this node has an interface on the VIP's subnet (on `nic` when
    /// one is configured), or holds the VIP already.
    pub fn subnet_present(&self) -> AgentResult<bool> {
        let (nl, params) = (self.vip.nl, self.vip.params);
        if nl.local_address_holder(params.ip).doing(|| format!("looking for {}", params.ip))?.is_some() {
            return Ok(true);
        }
        let only = match &params.nic {
            Some(name) => match nl.link_by_name(name).doing(|| format!("looking up nic {name}"))? {
                Some(link) => Some(link.ifindex),
                None => return Ok(false),
            },
            None => None,
        };
        Ok(discover::find_route(nl, params, only)?.is_some())
    }

    fn file(&self) -> String {
        self.vip.key.file(Kind::StandIn)
    }

    /// Whether start left the VIP unconfigured here for lack of its subnet.
    pub fn is_standing_in(&self) -> bool {
        matches!(self.vip.run_dir().load::<StandIn>(&self.file()), Ok(Some(_)))
    }

    /// Start on a node without the subnet: succeed without the address.
    pub fn stand_in(&self) -> AgentResult<()> {
        let params = self.vip.params;
        self.vip
            .run_dir()
            .save(&self.file(), &StandIn::NoSubnet)
            .doing(|| format!("recording that {} runs without its address", params.ip))?;
        log::warn(format!(
            "no interface of this node is on the subnet of {}: started without configuring it (allow_missing_subnet)",
            params.ip
        ));
        Ok(())
    }

    /// Ends the stand-in state (stop, or a start that configures the address).
    pub fn end(&self) -> AgentResult<()> {
        let params = self.vip.params;
        self.vip.run_dir().remove(&self.file()).map_err(|err| {
            AgentError::generic(format!("removing the stand-in record of {}: {err}", params.ip))
        })
    }
}
