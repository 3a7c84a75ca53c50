//! Entering a named network namespace (`network_namespace`), as
//! `ip netns exec` would, but in-process: every socket opened afterwards
//! (netlink, raw packets) lives in that namespace.

use crate::error::{AgentError, AgentResult};
use nix::fcntl::{OFlag, open};
use nix::sched::{CloneFlags, setns};
use nix::sys::stat::Mode;

/// Where `ip netns add` keeps its namespaces.
const NETNS_RUN_DIR: &str = "/run/netns";

/// Whether the named namespace exists.
pub fn exists(name: &str) -> bool {
    std::path::Path::new(NETNS_RUN_DIR).join(name).exists()
}

/// Moves this process into the named network namespace.
pub fn enter(name: &str) -> AgentResult<()> {
    let path = std::path::Path::new(NETNS_RUN_DIR).join(name);
    let fd = open(&path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).map_err(|err| {
        AgentError::installed(format!(
            "network namespace {name} is not available ({}): {err}",
            path.display()
        ))
    })?;
    setns(&fd, CloneFlags::CLONE_NEWNET)
        .map_err(|err| AgentError::generic(format!("entering network namespace {name} failed: {err}")))
}
