//! The OCF actions. Each is a straight line through the `vip` layer:
//! prepare (record, parameters, namespace), find where the address is,
//! act, answer with an exit code. No action module uses another; what
//! they share lives in `vip`.

mod announce_worker;
mod explain;
mod monitor;
mod recover;
mod reload;
mod repair;
mod start;
mod stop;
mod validate;
mod watch_worker;

use crate::error::{AgentError, AgentResult};
use crate::invocation::{Action, Invocation};
use crate::ocf::{ExitCode, log, metadata};
use crate::vip::{Lack, Prepared};

/// The usage text printed by `usage`/`help` and for an unknown action.
pub const USAGE: &str =
    "usage: IPaddr {start|stop|status|monitor|recover|reload-agent|validate-all|meta-data|usage|explain} [--PARAMETER VALUE ...]

Expects an OCF environment (OCF_RESKEY_ip=... etc.) or the same parameters
as flags (IPaddr start --ip 10.0.0.5 --cidr-netmask 24 --nic eth0);
flags win over the environment. IPaddr --help lists every flag.
";

/// Runs one action and returns its exit code; failures carry their reason.
pub fn run(inv: &Invocation) -> AgentResult<ExitCode> {
    match inv.action {
        Action::MetaData => print_all(&metadata::document()),
        Action::Usage => print_all(USAGE),
        Action::Start => start::run(inv),
        Action::Stop => stop::run(inv),
        Action::Recover => recover::run(inv),
        Action::ReloadAgent => reload::run(inv),
        Action::Monitor => monitor::run(inv),
        Action::Status => monitor::status(inv),
        Action::ValidateAll => validate::run(inv),
        Action::AnnounceWorker => announce_worker::run(inv),
        Action::WatchWorker => watch_worker::run(inv),
        Action::Repair => repair::run(inv),
        Action::Explain { format } => explain::run(inv, format),
    }
}

/// Writes `text` to stdout in one go (`print!` would flush line by line).
fn print_all(text: &str) -> AgentResult<ExitCode> {
    use std::io::Write;
    std::io::stdout()
        .lock()
        .write_all(text.as_bytes())
        .map(|()| ExitCode::Success)
        .map_err(|err| AgentError::generic(format!("writing to standard output failed: {err}")))
}

/// Refuses actions that change the host when not run as root.
fn require_root(action: Action) -> AgentResult<()> {
    if nix::unistd::geteuid().is_root() {
        Ok(())
    } else {
        Err(AgentError::perm(format!("You must be root for {} operation.", action.name())))
    }
}

/// How an action answers "this node lacks what the VIP needs". A probe
/// says "not running here" and a stop has nothing to remove, whatever is
/// missing. What this node lacks is never OCF_ERR_CONFIGURED at start or
/// recover, which Pacemaker takes as wrong on every node and bans the
/// resource everywhere: a nic, namespace or host name this node lacks is
/// OCF_ERR_INSTALLED ("try another node", as IPaddr2 answers for a missing
/// nic since resource-agents 4.17), no route a generic error (as IPaddr2).
/// validate-all keeps IPaddr2's OCF_ERR_CONFIGURED for a missing nic.
fn node_lacks(inv: &Invocation, lack: Lack) -> AgentResult<ExitCode> {
    let reason = lack.reason().to_string();
    match (inv.action, &lack) {
        (Action::ValidateAll, Lack::Nic(_)) => Err(AgentError::configured(reason)),
        (Action::Start | Action::Recover | Action::ValidateAll, Lack::Network(_)) => {
            Err(AgentError::generic(reason))
        }
        (Action::ValidateAll, Lack::Namespace(_)) => Err(AgentError::configured(reason)),
        (Action::Start | Action::Recover | Action::ValidateAll, _) => Err(AgentError::installed(reason)),
        (Action::Stop, _) => {
            log::info(format!("{reason}; nothing to stop"));
            Ok(ExitCode::Success)
        }
        (Action::Monitor, _) if !inv.env.is_probe_interval() => Err(AgentError::generic(reason)),
        _ => {
            log::debug(reason);
            Ok(ExitCode::NotRunning)
        }
    }
}

/// `vip::prepare`, with what this node lacks answered as the action does.
fn prepare(
    inv: &Invocation,
    strictness: crate::params::Strictness,
) -> AgentResult<Result<Prepared, ExitCode>> {
    match crate::vip::prepare(inv, strictness)? {
        Ok(prepared) => Ok(Ok(prepared)),
        Err(lack) => node_lacks(inv, lack).map(Err),
    }
}
