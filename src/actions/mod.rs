//! The OCF actions. Each composes the layers below it: parameters, then
//! the target and state from the kernel, then kernel operations, then an
//! exit code.

mod announce_worker;
mod announcing;
mod checks;
mod clone;
mod explain;
mod lvs;
mod monitor;
mod multisite;
mod recover;
mod reload;
mod source_routes;
mod start;
mod stop;
mod validate;

use crate::budget::Budget;
use crate::error::{AgentError, AgentResult};
use crate::netlink::Netlink;
use crate::netns;
use crate::ocf::{ExitCode, OcfEnv, log, metadata};
use crate::params::{self, Params, RawParams, Strictness};
use crate::rundir::RunDir;

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
    /// What the agent sees and would do, for humans (not an OCF action).
    Explain {
        json: bool,
    },
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
            crate::background::WORKER_ACTION => Action::AnnounceWorker,
            "explain" => Action::Explain { json: false },
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
            Action::AnnounceWorker => crate::background::WORKER_ACTION,
            Action::Explain { .. } => "explain",
        }
    }
}

/// The usage text printed by `usage`/`help` and for an unknown action.
pub const USAGE: &str =
    "usage: IPaddr {start|stop|status|monitor|recover|reload-agent|validate-all|meta-data|usage|explain} [--PARAMETER VALUE ...]

Expects an OCF environment (OCF_RESKEY_ip=... etc.) or the same parameters
as flags (IPaddr start --ip 10.0.0.5 --cidr-netmask 24 --nic eth0);
flags win over the environment. IPaddr --help lists every flag.
";

/// Everything an action needs from its caller.
pub struct Invocation {
    pub action: Action,
    pub env: OcfEnv,
    pub raw: RawParams,
    pub budget: Budget,
}

/// Runs one action and returns its exit code; failures carry their reason.
pub fn run(inv: &Invocation) -> AgentResult<ExitCode> {
    match inv.action {
        Action::MetaData => print_all(metadata::XML),
        Action::Usage => print_all(USAGE),
        Action::Start => start::run(inv),
        Action::Stop => stop::run(inv),
        Action::Recover => recover::run(inv),
        Action::ReloadAgent => reload::run(inv),
        Action::Monitor => monitor::run(inv, false),
        Action::Status => monitor::run(inv, true),
        Action::ValidateAll => validate::run(inv),
        Action::AnnounceWorker => announce_worker::run(inv),
        Action::Explain { json } => explain::run(inv, json),
    }
}

/// Writes `text` to stdout in one go (`print!` would flush line by line).
pub(super) fn print_all(text: &str) -> AgentResult<ExitCode> {
    use std::io::Write;
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map(|()| ExitCode::Success)
        .map_err(|err| AgentError::generic(format!("writing to standard output failed: {err}")))
}

/// Parses parameters for `inv.action`, logging the warnings parsing found
/// (at debug level for monitor, which runs every few seconds).
fn parse_params(inv: &Invocation, strictness: Strictness) -> AgentResult<Params> {
    let resolved = resolve_host_name(&inv.raw)?;
    let parsed = params::parse(resolved.as_ref().unwrap_or(&inv.raw), &inv.env, strictness)?;
    let quiet = matches!(inv.action, Action::Monitor | Action::Status);
    if let (Some(name), Some(_)) = (inv.raw.given("ip"), &resolved) {
        let note = format!("ip {name} is {} in {}", parsed.params.ip, crate::hosts::HOSTS_FILE);
        if quiet { log::debug(note) } else { log::info(note) }
    }
    for warning in &parsed.warnings {
        if quiet { log::debug(warning) } else { log::warn(warning) }
    }
    Ok(parsed.params)
}

/// When `ip` is a host name, the parameters with its address from
/// /etc/hosts in its place (never DNS); `None` when `ip` is no name.
fn resolve_host_name(raw: &RawParams) -> AgentResult<Option<RawParams>> {
    let Some(name) = raw.given("ip").filter(|ip| crate::hosts::looks_like_host_name(ip)) else {
        return Ok(None);
    };
    let hosts = std::fs::read_to_string(crate::hosts::HOSTS_FILE).unwrap_or_default();
    let address = crate::hosts::lookup(&hosts, name).ok_or_else(|| {
        AgentError::configured(format!(
            "ip [{name}] is a host name that {} does not list (names are never looked up in DNS)",
            crate::hosts::HOSTS_FILE
        ))
    })?;
    let mut resolved = raw.clone();
    resolved.set("ip", address.to_string());
    Ok(Some(resolved))
}

/// Refuses actions that change the host when not run as root.
fn require_root(action: Action) -> AgentResult<()> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err(AgentError::perm(format!("You must be root for {} operation.", action.name())))
    }
}

/// How an action answers "this node lacks what the VIP needs" (its NIC, its
/// network, its namespace), as IPaddr2 does: a start fails so that
/// Pacemaker tries another node, a probe says "not running here", a stop
/// has nothing to remove.
fn node_lacks(inv: &Invocation, reason: String) -> AgentResult<ExitCode> {
    match inv.action {
        Action::Start | Action::Recover => Err(AgentError::installed(reason)),
        Action::ValidateAll => Err(AgentError::configured(reason)),
        Action::Stop => {
            log::info(format!("{reason}; nothing to stop"));
            Ok(ExitCode::Success)
        }
        Action::Monitor if !inv.env.is_probe_interval() => Err(AgentError::generic(reason)),
        _ => {
            log::debug(reason);
            Ok(ExitCode::NotRunning)
        }
    }
}

/// Enters the configured namespace, then opens netlink inside it.
fn connect(inv: &Invocation, params: &Params) -> AgentResult<Result<Netlink, ExitCode>> {
    if let Some(name) = &params.network_namespace {
        if !netns::exists(name) {
            let reason = format!("network namespace {name} does not exist on this node");
            return node_lacks(inv, reason).map(Err);
        }
        netns::enter(name)?;
    }
    Netlink::open()
        .map(Ok)
        .map_err(|err| AgentError::generic(format!("opening a netlink socket failed: {err}")))
}

fn run_dir(inv: &Invocation) -> RunDir {
    RunDir::new(&inv.env.rsctmp)
}

/// A file name for per-address state: the address in canonical form, and
/// its namespace, since one address may live in several namespaces.
fn state_file_name(kind: &str, params: &Params) -> String {
    match &params.network_namespace {
        Some(ns) => format!("IPaddr-{kind}-{ns}-{}", params.ip),
        None => format!("IPaddr-{kind}-{}", params.ip),
    }
}
