//! What every action starts with: the resource's turn, its record, the
//! parameters (with the address start recorded in place of a host name),
//! the namespace and a netlink connection there.

use super::context::Vip;
use super::place::Lack;
use super::record::{HostName, Record};
use super::upgrade;
use crate::error::{AgentError, AgentResult};
use crate::hosts;
use crate::invocation::Invocation;
use crate::netlink::Netlink;
use crate::netns;
use crate::ocf::{ExitCode, log};
use crate::params::{self, Params, RawParams, Strictness};
use crate::store::{Kind, ResourceKey, RunDir};
use nix::fcntl::Flock;
use std::fs::File;
use std::net::IpAddr;

/// The parameters, with what start recorded.
pub struct Configuration {
    pub params: Params,
    pub record: Option<Record>,
    pub key: ResourceKey,
    /// The host name `ip` was, if it was one.
    pub host_name: Option<HostName>,
    /// Held for the whole action when it changes the node (see `take_turn`).
    _turn: Option<Flock<File>>,
}

/// What every action starts with: the record, the parameters, and a
/// netlink connection inside the VIP's namespace.
pub struct Prepared {
    pub config: Configuration,
    pub nl: Netlink,
}

impl Prepared {
    /// The borrowed context the steps work through.
    pub fn vip<'a>(&'a self, inv: &'a Invocation) -> Vip<'a> {
        let config = &self.config;
        Vip {
            inv,
            params: &config.params,
            nl: &self.nl,
            record: config.record.as_ref(),
            key: &config.key,
            host_name: config.host_name.as_ref(),
        }
    }
}

/// Reads the record and parses the parameters, with the record's address
/// (or /etc/hosts's) in place of a host name. `Ok(Err(lack))` when `ip` is
/// a name this node cannot resolve.
pub fn configuration(inv: &Invocation, strictness: Strictness) -> AgentResult<Result<Configuration, Lack>> {
    let Some(key) = ResourceKey::of(inv) else {
        // No ip, or one that is no address: parsing says which.
        parse_params(inv, &inv.raw, strictness)?;
        return Err(AgentError::configured(format!(
            "ip [{}] is neither an IP address nor a host name",
            log::printable(inv.raw.given("ip").unwrap_or_default())
        )));
    };
    let run_dir = inv.run_dir();
    let turn = take_turn(inv, &run_dir, &key)?;
    let own_record = Record::read(&run_dir, &key);
    let kept_none = own_record.is_none();
    let record = own_record.or_else(|| upgrade::take_over_record(&run_dir, &key, inv.raw.given("nic")));
    let (raw, host_name) = match resolve_ip(inv, record.as_ref()) {
        Ok(Some((raw, host))) => (Some(raw), Some(host)),
        Ok(None) => (None, None),
        Err(lack) => return Ok(Err(lack)),
    };
    let raw = raw.as_ref().unwrap_or(&inv.raw);
    let params = match (parse_params(inv, raw, strictness), &record) {
        // What identifies the address changed since start (an edit, a typo):
        // stop still removes what the record says start added.
        (Err(err), Some(record))
            if strictness == Strictness::Lenient && err.exit == ExitCode::ErrConfigured =>
        {
            log::warn(format!("{}; stopping what start recorded instead", err.reason));
            let mut minimal = raw.keeping(&["network_namespace"]);
            minimal.set("ip", record.ip.to_string());
            parse_params(inv, &minimal, strictness)?
        }
        (parsed, _) => parsed?,
    };
    if let Some(host) = &host_name {
        let source = match record {
            Some(_) => "as recorded at start".to_string(),
            None => format!("in {}", hosts::HOSTS_FILE),
        };
        let note = format!("ip {} is {} {source}", host.name, params.ip);
        if inv.action.is_routine() { log::debug(note) } else { log::info(note) }
    }
    if kept_none {
        upgrade::take_over_address_files(&run_dir, &key, &params);
    }
    Ok(Ok(Configuration { params, record, key, host_name, _turn: turn }))
}

/// Start, stop, recover and reload-agent of one resource take turns, from
/// before the record is read to the end of the action: a stop that read
/// "no record" while a start recorded and added the address would find an
/// address it cannot prove its own and fail. Pacemaker never overlaps them;
/// a person running the agent by hand beside it may. The kernel releases
/// the lock of an action killed at any instant.
fn take_turn(inv: &Invocation, run_dir: &RunDir, key: &ResourceKey) -> AgentResult<Option<Flock<File>>> {
    if !inv.action.changes_the_node() {
        return Ok(None);
    }
    let name = key.file(Kind::ActionLock);
    match run_dir.lock(&name, inv.budget.deadline()) {
        Ok(lock) => Ok(Some(lock)),
        Err(err) if err.kind() == std::io::ErrorKind::TimedOut => Err(AgentError::generic(format!(
            "waiting for another start, stop or recover of this resource to finish: {err}"
        ))),
        // A run directory that cannot hold the lock fails the writes that
        // need it; a stop must not fail for the lock alone.
        Err(err) => {
            log::warn(format!("locking {} for this action: {err}", run_dir.file(&name).display()));
            Ok(None)
        }
    }
}

/// `configuration`, then the VIP's namespace and a netlink connection in it.
/// `Ok(Err(lack))` when this node lacks the namespace or the host name.
pub fn prepare(inv: &Invocation, strictness: Strictness) -> AgentResult<Result<Prepared, Lack>> {
    let config = match configuration(inv, strictness)? {
        Ok(config) => config,
        Err(lack) => return Ok(Err(lack)),
    };
    let params = &config.params;
    crate::observe::identify(crate::observe::Identity {
        key: config.key.clone(),
        ip: params.ip.to_string(),
        nic: config.record.as_ref().map(|r| r.nic.clone()).or_else(|| params.nic.clone()).unwrap_or_default(),
        metrics_dir: params.metrics_dir.clone(),
    });
    if let Some(name) = &config.params.network_namespace {
        if let Err(reason) = netns::enter(name) {
            return Ok(Err(Lack::Namespace(reason)));
        }
    }
    let nl = Netlink::open()
        .map_err(|err| AgentError::generic(format!("opening a netlink socket failed: {err}")))?;
    Ok(Ok(Prepared { config, nl }))
}

/// The parameters with the address in place of a host name: the address
/// start recorded for the name (a changed /etc/hosts cannot move a running
/// VIP), else /etc/hosts's (never DNS). It is the name's own address: a
/// clone's offset is added by parsing, as for a literal `ip`. `None` when
/// `ip` is no host name.
fn resolve_ip(inv: &Invocation, record: Option<&Record>) -> Result<Option<(RawParams, HostName)>, Lack> {
    let Some(given) = inv.raw.given("ip").map(str::trim) else { return Ok(None) };
    if !hosts::looks_like_host_name(given) {
        return Ok(None);
    }
    let recorded = record.and_then(|r| r.host_name.as_ref()).filter(|host| host.name == given);
    let address: IpAddr = match recorded {
        Some(host) => host.address,
        None => hosts::lookup_file(given).ok_or_else(|| {
            Lack::HostName(format!(
                "ip [{given}] is a host name that {} on this node does not list (names are never looked up in DNS)",
                hosts::HOSTS_FILE
            ))
        })?,
    };
    let mut resolved = inv.raw.clone();
    resolved.set("ip", address.to_string());
    Ok(Some((resolved, HostName { name: given.to_string(), address })))
}

/// OCF 1.1's validate-all at `OCF_CHECK_LEVEL` 0: the configuration alone,
/// without looking at this node (no interface, route, namespace, record or
/// /etc/hosts), so that a check made on one node says nothing of what that
/// node lacks. A host name `ip` is checked as either family could resolve
/// it: a value wrong for both is wrong on every node.
pub fn check_configuration_alone(inv: &Invocation) -> AgentResult<()> {
    let given = inv.raw.given("ip").map(str::trim).unwrap_or_default();
    if !hosts::looks_like_host_name(given) {
        return parse_params(inv, &inv.raw, Strictness::Strict).map(drop);
    }
    let as_family = |placeholder: &str| {
        let mut raw = inv.raw.clone();
        raw.set("ip", placeholder.to_string());
        parse_params(inv, &raw, Strictness::Strict).map(drop)
    };
    as_family("192.0.2.1").or_else(|v4| as_family("2001:db8::1").map_err(|_| v4))
}

/// Parses parameters for `inv.action`, logging the warnings parsing found
/// (at debug level for monitor, which runs every few seconds).
fn parse_params(inv: &Invocation, raw: &RawParams, strictness: Strictness) -> AgentResult<Params> {
    let parsed = params::parse(raw, &inv.env, strictness)?;
    for warning in &parsed.warnings {
        if inv.action.is_routine() { log::debug(warning) } else { log::warn(warning) }
    }
    Ok(parsed.params)
}
