//! The cluster IP (a clone with clone-max > 1, IPaddr2's load sharing):
//! each instance serves one hash bucket of the VIP's traffic. All
//! instances on a node share the address and the filter's common rules;
//! the first to start creates them, the last to stop removes them, under a
//! lock, so that instances moving between nodes only add and remove their
//! own bucket rule. The address itself goes up and down through the same
//! steps as a plain VIP's.

use super::context::Vip;
use super::place::Target;
use super::place::Whereabouts;
use crate::cluster_ip::{Backend, Plan, find_program};
use crate::error::{AgentError, AgentResult, Doing};
use crate::ocf::{ExitCode, log};
use crate::params::{ClusterHash, ClusterIpParams, Params};
use crate::store::key::Shared;

impl<'a> Vip<'a> {
    /// This resource as one instance of the cluster IP `cip`.
    pub fn cluster_member(&self, cip: &'a ClusterIpParams) -> ClusterMember<'a> {
        ClusterMember { vip: *self, cip }
    }

    /// The same VIP with other parameters (the cluster IP's start turns probing off).
    fn with_params<'p>(&self, params: &'p Params) -> Vip<'p>
    where
        Self: 'p,
    {
        Vip { params, ..*self }
    }
}

/// One instance of a cluster IP: its bucket, the filter it shares with
/// the node's other instances, and the address they share.
pub struct ClusterMember<'a> {
    vip: Vip<'a>,
    cip: &'a ClusterIpParams,
}

impl ClusterMember<'_> {
    /// The plan for this instance, with the VIP on `nic`.
    pub fn plan(&self, nic: &str) -> Plan {
        let backend = Backend::chosen(self.cip.firewall, |program| find_program(program).is_some());
        Plan::new(self.vip.params.ip, nic, self.cip, backend)
    }

    /// Serialises the instances of one VIP on this node, within the
    /// action's budget. The lock is inherited by the filter programs we
    /// run: if this agent is killed while `nft` runs, the next instance
    /// waits until that `nft` has finished too, instead of racing it.
    fn lock(&self) -> AgentResult<nix::fcntl::Flock<std::fs::File>> {
        use nix::fcntl::{FcntlArg, FdFlag, fcntl};
        let ip = self.vip.params.ip;
        let lock = self
            .vip
            .run_dir()
            .lock(&self.vip.address_file(Shared::ClusterIpLock), self.vip.inv.budget.deadline())
            .doing(|| format!("waiting for the other instances of the cluster IP {ip}"))?;
        fcntl(&*lock, FcntlArg::F_SETFD(FdFlag::empty()))
            .doing(|| format!("sharing the lock of {ip} with the filter programs"))?;
        Ok(lock)
    }

    /// Whether the filter program this plan needs is installed.
    pub fn check_installed(&self) -> AgentResult<()> {
        let program = self.plan("").program();
        if find_program(program).is_none() {
            return Err(AgentError::installed(format!(
                "{program} is not installed: the cluster IP {} needs it (clusterip_firewall)",
                self.vip.params.ip
            )));
        }
        Ok(())
    }

    /// Start: the shared filter if this is the node's first instance, this
    /// instance's bucket, then the address (added once per node).
    pub fn start(&self, target: &Target, now: Whereabouts) -> AgentResult<ExitCode> {
        self.check_installed()?;
        let _lock = self.lock()?;
        let ip = self.vip.params.ip;
        let plan = self.plan(target.nic());
        let listed = plan.served().doing(|| format!("reading the {} rules of {ip}", plan.program()))?;
        let mut served = match listed {
            Some(buckets) => buckets,
            None => {
                log::info(format!(
                    "Setting up cluster IP {ip} on {}: {} buckets, shared MAC {}",
                    target.nic(),
                    plan.total,
                    plan.mac
                ));
                plan.set_up().doing(|| format!("setting up the {} rules of {ip}", plan.program()))?;
                if plan.backend == Backend::Iptables && plan.hash != ClusterHash::SourceIp {
                    log::info(
                        "iptables' cluster match hashes source addresses only: clusterip_hash has no effect",
                    );
                }
                Vec::new()
            }
        };
        if !served.contains(&plan.bucket) {
            log::info(format!("Serving bucket {} of {} for {ip}", plan.bucket, plan.total));
            let added =
                plan.add_bucket(plan.bucket).doing(|| format!("adding bucket {} of {ip}", plan.bucket));
            if let Err(err) = added {
                // Leave no bucket-less filter behind that this start created.
                self.release_bucket(&plan, &served);
                return Err(err);
            }
            served.push(plan.bucket);
        }
        // Every node holds the VIP: probing would find the others, and IPv6
        // duplicate address detection would fail on them.
        let mut shared = self.vip.params.clone();
        shared.probe.count = 0;
        shared.nodad |= shared.ip.is_ipv6();
        let vip = self.vip.with_params(&shared);
        let outcome = match now {
            Whereabouts::InPlace { site, entry } => vip.confirm_running(&site, &entry),
            Whereabouts::Absent => vip.bring_up(target),
            Whereabouts::Foreign(foreign) => Err(AgentError::generic(foreign.describe(ip))),
            Whereabouts::Unplaced(lack) => Err(AgentError::generic(lack.reason().to_string())),
        };
        if outcome.is_err() {
            self.release_bucket(&plan, &served);
        }
        outcome
    }

    /// Stop: this instance's bucket; the address and the shared filter
    /// only when no other instance on this node still serves a bucket.
    pub fn stop(&self) -> AgentResult<ExitCode> {
        let _lock = self.lock()?;
        let ip = self.vip.params.ip;
        // The rules are found by the VIP alone (nft) or with its NIC
        // (iptables): look for them even when the address is gone.
        let nic = match self.vip.whereabouts()? {
            Whereabouts::InPlace { site, .. } => Some(site.nic),
            _ => self.vip.record.map(|r| r.nic.clone()).or_else(|| self.vip.params.nic.clone()),
        };
        let plan = self.plan(nic.as_deref().unwrap_or_default());
        if find_program(plan.program()).is_none() {
            log::warn(format!("{} is not installed: no {ip} rules to remove", plan.program()));
        } else {
            let served = plan.served().doing(|| format!("reading the {} rules of {ip}", plan.program()))?;
            match served {
                Some(served) if !self.release_bucket(&plan, &served) => {
                    log::info(format!("other instances still serve {ip} on this node; keeping the address"));
                    return Ok(ExitCode::Success);
                }
                Some(_) => {}
                // No instance here serves the VIP: a shared MAC still
                // joined is what a killed teardown left.
                None => plan
                    .leave_shared_mac()
                    .doing(|| format!("leaving the shared MAC {} of {ip} on {}", plan.mac, plan.nic))?,
            }
        }
        self.vip.tear_down().map(|()| ExitCode::Success)
    }

    /// Drops this instance's bucket rule from `served` (the buckets listed
    /// under the lock); tears the shared filter down when it was the last
    /// one. True when no bucket is served here any more.
    fn release_bucket(&self, plan: &Plan, served: &[u32]) -> bool {
        let ip = self.vip.params.ip;
        if served.contains(&plan.bucket) {
            if let Err(err) = plan.delete_bucket(plan.bucket) {
                // Our rule may still be there: the filter must stay with it.
                log::error(format!("removing bucket {} of {ip}: {err}", plan.bucket));
                return false;
            }
        }
        if served.iter().any(|bucket| *bucket != plan.bucket) {
            return false;
        }
        log::info(format!("Removing the cluster IP rules of {ip}"));
        if let Err(err) = plan.tear_down() {
            log::error(format!("removing the {} rules of {ip}: {err}", plan.program()));
        }
        true
    }

    /// Monitor: the address is whole (checked by the caller); is this
    /// instance's bucket served here?
    pub fn serves_bucket(&self, nic: &str) -> AgentResult<bool> {
        let plan = self.plan(nic);
        if find_program(plan.program()).is_none() {
            return Err(AgentError::installed(format!("{} is not installed", plan.program())));
        }
        let served = plan.served().doing(|| format!("reading the buckets of {}", self.vip.params.ip))?;
        Ok(served.is_some_and(|buckets| buckets.contains(&plan.bucket)))
    }
}
