//! The shared test harness: every test builds its own network namespaces
//! joined by veth pairs, runs the real agent binary inside them, reads back
//! what the kernel holds, and removes everything when dropped, even when
//! the test fails. Nothing here touches the host's own interfaces.
#![allow(dead_code)]

pub mod agent;
pub mod cluster;
pub mod daemon;
pub mod ipaddr2;
pub mod metrics;
pub mod netns;
pub mod servers;
pub mod topology;
pub mod wire;

// Each test crate uses a part of the harness.
#[allow(unused_imports)]
pub use agent::{
    Run, agent_command, crash_agent, explain_report, finish, ocf, run_agent, run_agent_at, run_agent_bounded,
};
#[allow(unused_imports)]
pub use netns::{Netns, in_netns, without_kernel_churn};
#[allow(unused_imports)]
pub use servers::{NameServer, ask_name, connect_for_name};
#[allow(unused_imports)]
pub use topology::{Lab, NamespaceFile, Segment};
#[allow(unused_imports)]
pub use wire::{
    Arp, Capture, Frame, Na, advertisements, arps, inject, neighbor_mac, no_neighbor_locktime, stale_neighbor,
};

use std::path::PathBuf;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

pub static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// The agent under test: the installed copy when `OCF_IPADDR_AGENT` names
/// one (make check sets it), else the binary cargo just built.
pub fn agent_path() -> PathBuf {
    std::env::var_os("OCF_IPADDR_AGENT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_IPaddr")))
}

/// The agent of the previous release, which kept every file under the
/// address's name (`make test` builds it, in the tests' light profile:
/// `make target/previous-tests/IPaddr`).
pub fn previous_release_path() -> PathBuf {
    std::env::var_os("OCF_IPADDR_PREVIOUS")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/previous-tests/IPaddr"))
}

/// The Debian 13 root `make check` builds (tests/tools/debian13-root.sh).
pub fn debian13_root() -> PathBuf {
    let root = std::env::var_os("OCF_IPADDR_DEBIAN13_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/target/debian13-root")));
    assert!(
        root.join(".ocf-ipaddr-stamp").exists(),
        "no Debian 13 root at {}: run tests/tools/debian13-root.sh (make check does)",
        root.display()
    );
    root
}

fn unique(tag: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    format!("oi{}-{}-{n}", tag, std::process::id())
}

/// Runs a command, panicking with its output if it fails.
pub fn sh(program: &str, args: &[&str]) -> String {
    let out = Command::new(program).args(args).output().unwrap_or_else(|e| panic!("{program}: {e}"));
    assert!(
        out.status.success(),
        "{program} {args:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Polls `condition` every 2 ms until it holds or `limit` passes; returns
/// how long it took.
pub fn wait_for(
    limit: std::time::Duration,
    mut condition: impl FnMut() -> bool,
) -> Option<std::time::Duration> {
    let started = std::time::Instant::now();
    while started.elapsed() < limit {
        if condition() {
            return Some(started.elapsed());
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    None
}
