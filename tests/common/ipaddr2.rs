//! Debian's IPaddr2 as users have it, beside this agent: Debian 12's
//! (resource-agents 4.12, on the host) and Debian 13's (4.16, in the root
//! `make check` builds, run chrooted in the test's namespace with a
//! private /proc, the test's run directory and the host's named network
//! namespaces mounted in).

use super::{Netns, Run, agent_command, agent_path, debian13_root, finish};
use std::path::Path;
use std::process::{Command, Stdio};

pub const IPADDR2: &str = "/usr/lib/ocf/resource.d/heartbeat/IPaddr2";

/// Where Debian 13's IPaddr2 finds its HA_RSCTMP: the test's own run
/// directory, bind-mounted in a private mount namespace. The root is a
/// mount of its own there, as `ip netns exec` (network_namespace) needs.
const CHROOT_RSCTMP: &str = "/run/ocf-ipaddr-tests";

/// One of the agents a user could be running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agent {
    Ours,
    Ipaddr2Debian12,
    Ipaddr2Debian13,
}

impl Agent {
    pub const ALL: [Agent; 3] = [Agent::Ours, Agent::Ipaddr2Debian12, Agent::Ipaddr2Debian13];

    pub fn name(self) -> &'static str {
        match self {
            Agent::Ours => "ocf:rust:IPaddr",
            Agent::Ipaddr2Debian12 => "IPaddr2 4.12 (Debian 12)",
            Agent::Ipaddr2Debian13 => "IPaddr2 4.16 (Debian 13)",
        }
    }

    /// Runs `ACTION` in `ns` as Pacemaker's executor would.
    pub fn run(
        self,
        ns: &Netns,
        rsctmp: &Path,
        action: &str,
        params: &[(&str, &str)],
        env: &[(&str, &str)],
    ) -> Run {
        let mut cmd = self.command(ns, rsctmp, action);
        for (key, value) in params {
            cmd.env(format!("OCF_RESKEY_{key}"), value);
        }
        cmd.envs(env.iter().copied());
        finish(cmd)
    }

    /// The command that runs `ACTION` in `ns` with a clean environment,
    /// for the caller to add OCF_RESKEY_* variables to.
    pub fn command(self, ns: &Netns, rsctmp: &Path, action: &str) -> Command {
        match self {
            Agent::Ours => agent_command(ns, rsctmp, &agent_path(), action),
            Agent::Ipaddr2Debian12 => agent_command(ns, rsctmp, Path::new(IPADDR2), action),
            Agent::Ipaddr2Debian13 => {
                let root = debian13_root();
                for mount_point in [CHROOT_RSCTMP, "/run/netns"] {
                    std::fs::create_dir_all(root.join(mount_point.trim_start_matches('/')))
                        .expect("mount point");
                }
                let mut cmd = Command::new("nsenter");
                cmd.arg(format!("--net=/run/netns/{}", ns.name))
                    .args(["unshare", "-m", "--", "sh", "-c"])
                    .arg(format!(
                        r#"mount --bind "$0" "$0" && mount -t proc proc "$0/proc" && mount --bind "$1" "$0{CHROOT_RSCTMP}" && mount --rbind /run/netns "$0/run/netns" && shift && exec chroot "$0" "$@""#
                    ))
                    .arg(&root)
                    .arg(rsctmp)
                    .arg(IPADDR2)
                    .arg(action)
                    .env_clear()
                    .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
                    .env("HA_RSCTMP", CHROOT_RSCTMP)
                    .env("OCF_ROOT", "/usr/lib/ocf")
                    .stdin(Stdio::null());
                cmd
            }
        }
    }
}
