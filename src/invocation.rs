//! What the caller asked for: the action, its environment, the parameters
//! as given and the time budget. Every layer below `main` reads it; none
//! changes it.

use crate::background::{REPAIR_ACTION, WATCHER_ACTION, WORKER_ACTION};
use crate::budget::Budget;
use crate::ocf::OcfEnv;
use crate::params::RawParams;
use crate::store::RunDir;

/// The actions the agent implements (OCF 1.1 plus IPaddr2's `status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Start,
    Stop,
    /// OCF 1.1 local recovery: fix the VIP in place.
    Recover,
    /// OCF 1.1: take changed reloadable parameters without a restart.
    ReloadAgent,
    Monitor,
    Status,
    ValidateAll,
    MetaData,
    Usage,
    /// The detached background announcer (not an OCF action).
    AnnounceWorker,
    /// The detached watcher that puts back what others remove (not an OCF action).
    WatchWorker,
    /// One repair, run by the watcher in a process of its own (not an OCF action).
    Repair,
    /// What the agent sees and would do, for humans (not an OCF action).
    Explain {
        format: OutputFormat,
    },
}

/// How `explain` prints what it found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutputFormat {
    /// One `name  value` line per fact, for people.
    Text,
    /// A JSON document, for programs.
    Json,
}

impl Action {
    pub fn parse(name: &str) -> Option<Action> {
        Some(match name {
            "start" => Action::Start,
            "stop" => Action::Stop,
            "recover" => Action::Recover,
            "reload-agent" => Action::ReloadAgent,
            "monitor" => Action::Monitor,
            "status" => Action::Status,
            "validate-all" => Action::ValidateAll,
            "meta-data" | "metadata" => Action::MetaData,
            "usage" | "help" => Action::Usage,
            WORKER_ACTION => Action::AnnounceWorker,
            WATCHER_ACTION => Action::WatchWorker,
            REPAIR_ACTION => Action::Repair,
            "explain" => Action::Explain { format: OutputFormat::Text },
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            Action::Start => "start",
            Action::Stop => "stop",
            Action::Recover => "recover",
            Action::ReloadAgent => "reload-agent",
            Action::Monitor => "monitor",
            Action::Status => "status",
            Action::ValidateAll => "validate-all",
            Action::MetaData => "meta-data",
            Action::Usage => "usage",
            Action::AnnounceWorker => WORKER_ACTION,
            Action::WatchWorker => WATCHER_ACTION,
            Action::Repair => REPAIR_ACTION,
            Action::Explain { .. } => "explain",
        }
    }

    /// Monitor and status run every few seconds: their warnings are debug lines.
    pub fn is_routine(self) -> bool {
        matches!(self, Action::Monitor | Action::Status)
    }

    /// The actions that add, remove or reconfigure what a resource holds:
    /// those of one resource take turns.
    pub fn changes_the_node(self) -> bool {
        matches!(self, Action::Start | Action::Stop | Action::Recover | Action::ReloadAgent | Action::Repair)
    }
}

/// Everything an action needs from its caller.
pub struct Invocation {
    pub action: Action,
    pub env: OcfEnv,
    pub raw: RawParams,
    pub budget: Budget,
}

impl Invocation {
    /// The directory of this node's run-time files (`HA_RSCTMP`).
    pub fn run_dir(&self) -> RunDir {
        RunDir::new(&self.env.rsctmp)
    }
}
