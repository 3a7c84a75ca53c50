//! This VIP in this action: the borrowed context every step works
//! through, and the few things every step asks of it (the run directory,
//! the resource's turn, its record).

use super::place::{Site, Target};
use super::record::{HostName, Record};
use crate::error::{AgentError, AgentResult};
use crate::invocation::Invocation;
use crate::netlink::Netlink;
use crate::ocf::log;
use crate::params::{self, Params};
use crate::store::key::Shared;
use crate::store::{Kind, ResourceKey, RunDir};
use nix::fcntl::Flock;
use std::fs::File;

/// This VIP in this action: the borrowed things every step needs.
#[derive(Clone, Copy)]
pub struct Vip<'a> {
    pub inv: &'a Invocation,
    pub params: &'a Params,
    /// Only `vip/` talks to the kernel: actions ask it through `Vip`.
    pub(super) nl: &'a Netlink,
    /// What start added, if it left a record.
    pub record: Option<&'a Record>,
    pub key: &'a ResourceKey,
    pub host_name: Option<&'a HostName>,
}

impl<'a> Vip<'a> {
    /// This VIP working from `record`: what a start recorded so far.
    pub fn with_record<'r>(&self, record: &'r Record) -> Vip<'r>
    where
        'a: 'r,
    {
        Vip { record: Some(record), ..*self }
    }

    pub fn run_dir(&self) -> RunDir {
        self.inv.run_dir()
    }

    /// A file shared by every resource of this address in this namespace
    /// (the cluster IP's lock, which a clone's instances take in turn).
    pub fn address_file(&self, shared: Shared) -> String {
        crate::store::key::address_file(shared, self.params.ip, self.params.network_namespace.as_deref())
    }

    /// The right to put back what drifted, for this action: `None` when it
    /// must only report (a probe, or a start, stop or recover of this
    /// resource still running after a short wait, which decides instead). A
    /// monitor takes the resource's turn, waiting up to 2 s for it; an
    /// action that changes the node holds it already. Dropping the value
    /// lets go of the turn.
    pub fn turn_to_repair(&self) -> Option<Option<Flock<File>>> {
        if self.inv.action.changes_the_node() {
            return Some(None);
        }
        if self.inv.env.is_probe_interval() {
            return None;
        }
        // A repair by the resource's watcher holds the turn for
        // milliseconds: wait for it (within the action's time), then look
        // again, rather than report what it is putting back.
        let wait = self.inv.budget.remaining().min(std::time::Duration::from_secs(2));
        match self.run_dir().lock(&self.key.file(Kind::ActionLock), std::time::Instant::now() + wait) {
            Ok(turn) => Some(Some(turn)),
            Err(err) => {
                log::debug(format!("not putting back what drifted now: {err}"));
                None
            }
        }
    }

    /// What a detached worker of this VIP is told, beside the environment
    /// it inherits: the parameters as this action has them (flags given by
    /// hand included), and the clone meta attributes, so that it finds the
    /// same address (a cluster IP's alike).
    pub fn worker_env(&self) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> =
            self.inv.raw.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string())).collect();
        let env_meta = &self.inv.env;
        for (name, value) in [("clone_max", &env_meta.clone_max), ("clone", &env_meta.clone_id)] {
            if let Some(value) = value {
                env.push((format!("OCF_RESKEY_CRM_meta_{name}"), value.clone()));
            }
        }
        if env_meta.globally_unique == Some(true) {
            env.push(("OCF_RESKEY_CRM_meta_globally_unique".into(), "true".into()));
        }
        env
    }

    /// Records that this resource's address is `target`, before it is
    /// added; `tagged` when it carries (or will carry) the agent's
    /// address-protocol tag, `created` when the kernel holds it already.
    pub fn write_record(&self, target: &Target, tagged: bool, created: Option<u32>) -> AgentResult<Record> {
        crate::observe::located_on(target.nic());
        let record = Record {
            ip: self.params.ip,
            prefix: target.prefix,
            ifindex: target.ifindex(),
            nic: target.nic().to_string(),
            label: target.label.clone(),
            host_name: self.host_name.cloned(),
            resource: self.inv.env.instance.clone(),
            tagged,
            created,
            // A label an earlier, killed start of this resource added is still its own.
            address_label: self.record.and_then(|record| record.address_label),
            virtual_link: self.record.and_then(|record| record.virtual_link.clone()),
        };
        record.write(&self.run_dir(), self.key).map_err(|err| {
            AgentError::generic(format!(
                "recording {} failed: {err}; not adding an address stop could not find",
                self.params.ip
            ))
        })?;
        Ok(record)
    }

    /// The label the address should carry on `site`: the configured one,
    /// else the one start recorded.
    pub fn expected_label(&self, site: &Site) -> AgentResult<Option<String>> {
        match &self.params.label_suffix {
            Some(suffix) => {
                params::names::full_label(&site.nic, suffix).map(Some).map_err(AgentError::configured)
            }
            None => Ok(self.record.and_then(|record| record.label.clone())),
        }
    }

    /// Forgets the record once the address is gone.
    pub fn remove_record(&self) -> AgentResult<()> {
        // What start learnt about the neighbours, and what the conflict
        // watch heard, end with what it added.
        for (kind, what) in [(Kind::Convergence, "convergence state"), (Kind::Conflict, "conflict state")] {
            if let Err(err) = self.run_dir().remove(&self.key.file(kind)) {
                log::warn(format!("removing the {what} of {}: {err}", self.params.ip));
            }
        }
        Record::remove(&self.run_dir(), self.key).map_err(|err| {
            AgentError::generic(format!("removing the record of {}: {err}", self.params.ip))
        })?;
        // Half-written files of a killed action (a record, the routes or
        // loopback copy it kept) go with the resource.
        let files: Vec<String> = Kind::ALL.iter().map(|kind| self.key.file(*kind)).collect();
        self.run_dir().sweep_dead_copies(&files);
        Ok(())
    }
}
