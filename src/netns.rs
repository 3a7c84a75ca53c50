//! Entering a named network namespace (`network_namespace`), as
//! `ip netns exec` would, but in-process: every socket opened afterwards
//! (netlink, raw packets) lives in that namespace.

use nix::fcntl::{OFlag, open};
use nix::sched::{CloneFlags, setns};
use nix::sys::stat::Mode;

/// Where `ip netns add` keeps its namespaces.
const NETNS_RUN_DIR: &str = "/run/netns";

/// Moves this process into the named network namespace. An error says why
/// this node does not have it: no entry under /run/netns, or a stale entry
/// (a namespace deleted uncleanly leaves an empty file that is no
/// namespace any more).
pub fn enter(name: &str) -> Result<(), String> {
    let path = std::path::Path::new(NETNS_RUN_DIR).join(name);
    let fd = open(&path, OFlag::O_RDONLY | OFlag::O_CLOEXEC, Mode::empty()).map_err(|err| {
        format!("network namespace {name} does not exist on this node ({}: {err})", path.display())
    })?;
    setns(&fd, CloneFlags::CLONE_NEWNET).map_err(|err| {
        format!(
            "network namespace {name} is not available on this node: {} is not a network namespace ({err}); a stale entry left by a namespace deleted uncleanly?",
            path.display()
        )
    })
}
