//! `start`: bring the VIP up on its NIC, exactly once, and leave nothing
//! half-done if it cannot.

use super::{
    Invocation, announcing, connect, lvs, multisite, node_lacks, parse_params, require_root, run_dir,
    source_routes,
};
use crate::discover;
use crate::error::{AgentError, AgentResult, Doing};
use crate::inspect::{self, Lookup, Need, State, Target};
use crate::netlink::{AddressEntry, Netlink, NewAddress, libc_errno};
use crate::ocf::{ExitCode, log};
use crate::params::{Lifetime, Params, Strictness};
use std::time::Duration;

/// How often the DAD state of a new IPv6 address is polled.
const DAD_POLL: Duration = Duration::from_millis(20);

/// What start and recover share before acting: checked parameters, a
/// netlink connection in the right namespace, and the VIP's target and state.
pub(super) struct Prepared {
    pub params: Params,
    pub nl: Netlink,
    pub target: Target,
    pub state: State,
    pub prefix: u8,
}

/// Prepares start or recover; `Ok(Err(code))` when the answer is already
/// known (the node lacks the NIC or the namespace).
pub(super) fn prepare(inv: &Invocation) -> AgentResult<Result<Prepared, ExitCode>> {
    require_root(inv.action)?;
    let params = parse_params(inv, Strictness::Strict)?;
    let nl = match connect(inv, &params)? {
        Ok(nl) => nl,
        Err(code) => return Ok(Err(code)),
    };
    if params.allow_missing_subnet {
        if !multisite::subnet_present(&nl, &params)? {
            multisite::stand_in(inv, &params)?;
            return Ok(Err(ExitCode::Success));
        }
        multisite::clear(inv, &params)?;
    }
    let (target, state) = match inspect::lookup(&nl, &params, Need::FullTarget)? {
        Lookup::NicMissing(nic) => {
            return node_lacks(inv, format!("nic {nic} does not exist on this node")).map(Err);
        }
        Lookup::NoNetwork => return Err(discover::no_network_error(&params)),
        Lookup::Found { target, state } => (target, state),
    };
    let prefix = target.prefix.ok_or_else(|| discover::no_network_error(&params))?;
    Ok(Ok(Prepared { params, nl, target, state, prefix }))
}

pub(super) fn run(inv: &Invocation) -> AgentResult<ExitCode> {
    let prepared = match prepare(inv)? {
        Ok(prepared) => prepared,
        Err(code) => return Ok(code),
    };
    if let Some(cip) = prepared.params.cluster_ip.clone() {
        return super::clone::start(prepared, &cip, inv);
    }
    let Prepared { params, nl, target, state, prefix } = prepared;
    match state {
        State::Configured(entry) => return already_running(&nl, &params, &target, &entry),
        State::WrongPrefix(entry) => {
            return Err(AgentError::generic(format!(
                "{} is already configured on {} as {}/{}, not /{prefix}; it is not managed by this resource, refusing to touch it",
                params.ip, target.nic, entry.ip, entry.prefix
            )));
        }
        State::Elsewhere { nic } => {
            return Err(AgentError::generic(format!(
                "{} is already configured on {nic}, not on {}; remove it there or set nic={nic}",
                params.ip, target.nic
            )));
        }
        State::Absent => {}
    }
    add_and_announce(&nl, &params, &target, prefix, inv)
}

/// Probes, adds the VIP with every attribute, waits for DAD, verifies and
/// announces it; undoes what it did if any step fails.
pub(super) fn add_and_announce(
    nl: &Netlink,
    params: &Params,
    target: &Target,
    prefix: u8,
    inv: &Invocation,
) -> AgentResult<ExitCode> {
    if params.require_maintenance_address {
        super::validate::maintenance_address_check(nl, params, target)?;
    }
    if params.ping.on_start {
        // A check that can never run is a configuration error, found before any change.
        super::checks::ping_targets(params, target, prefix)?;
    }
    let wire = announcing::Wire::open(nl, params, target)?;
    announcing::probe_before_add(nl, params, target, wire.as_ref(), inv)?;
    let run_dir = run_dir(inv);
    if params.lvs.support {
        lvs::take_from_loopback(nl, params, &run_dir)?;
    }
    if let Some(value) = params.lvs.ipv6_label {
        add_address_label(nl, params, value);
    }
    let new = NewAddress {
        ip: params.ip,
        prefix,
        ifindex: target.ifindex,
        broadcast: target.broadcast,
        label: target.label.clone(),
        nodad: params.nodad && params.ip.is_ipv6(),
        noprefixroute: params.noprefixroute,
        preferred_lft: match params.preferred_lft {
            Lifetime::Forever => None,
            lifetime if params.ip.is_ipv6() => Some(lifetime.as_netlink()),
            _ => None,
        },
        metric: target.metric,
    };
    log::info(describe_add(&new, target));
    let added_here = match nl.add_address(&new) {
        Ok(()) => true,
        // Another start of the same VIP won the race: verify below.
        Err(err) if err.errno() == Some(libc_errno::EEXIST) => false,
        Err(err) => {
            undo_side_effects(nl, params, inv);
            return Err(err).doing(|| format!("adding {}/{prefix} to {}", params.ip, target.nic));
        }
    };
    let mut outcome = finish_start(nl, params, target, inv);
    if outcome.is_ok() && params.preferred_source {
        outcome = source_routes::take_over(nl, params, target, prefix, inv).map(|()| ExitCode::Success);
    }
    if outcome.is_ok() {
        announce_started(nl, params, target, inv, wire);
        if params.ping.on_start {
            outcome = ping_after_start(nl, params, target, prefix, inv);
            if outcome.is_err() {
                announcing::stop_background(params, inv);
            }
        }
    }
    if outcome.is_err() && added_here {
        source_routes::give_back(nl, params, inv);
        if let Err(err) = nl.delete_address(params.ip, prefix, target.ifindex) {
            log::error(format!(
                "could not remove {}/{prefix} from {} after the failed start: {err}",
                params.ip, target.nic
            ));
        }
        undo_side_effects(nl, params, inv);
    }
    outcome
}

/// `ping_on_start`: the VIP must reach the network before start succeeds.
fn ping_after_start(
    nl: &Netlink,
    params: &Params,
    target: &Target,
    prefix: u8,
    inv: &Invocation,
) -> AgentResult<ExitCode> {
    match super::checks::unreachable(nl, params, target, prefix, inv)? {
        None => Ok(ExitCode::Success),
        Some(problem) => Err(AgentError::generic(format!("{problem}; ping_on_start fails the start"))),
    }
}

/// Announces the new owner. The address is up whatever happens here, so a
/// failure to announce is logged, not a failed start (as in IPaddr2).
fn announce_started(
    nl: &Netlink,
    params: &Params,
    target: &Target,
    inv: &Invocation,
    wire: Option<announcing::Wire>,
) {
    let wire = match wire {
        Some(wire) => Ok(Some(wire)),
        // The link was down before the add; it is up now.
        None => announcing::Wire::open(nl, params, target),
    };
    let announced =
        wire.and_then(|wire| announcing::announce(nl, params, target, inv, params.announce.count, wire));
    if let Err(err) = announced {
        log::error(format!("Could not announce {}: {}", params.ip, err.reason));
    }
}

/// The address is there already: succeed at once if it is whole.
pub(super) fn already_running(
    nl: &Netlink,
    params: &Params,
    target: &Target,
    entry: &AddressEntry,
) -> AgentResult<ExitCode> {
    if let Some(label) = target.missing_label(entry) {
        return Err(AgentError::generic(format!(
            "{} is configured on {} but without its label {label}",
            params.ip, target.nic
        )));
    }
    if params.check_link_status {
        if let Some(problem) = link_problem(nl, target)? {
            return Err(AgentError::installed(format!("{} is configured, but {problem}", params.ip)));
        }
    }
    log::debug(format!("{}/{} is already on {}", params.ip, entry.prefix, target.nic));
    Ok(ExitCode::Success)
}

/// After the add: link up, DAD, then a check that the VIP is really whole.
fn finish_start(nl: &Netlink, params: &Params, target: &Target, inv: &Invocation) -> AgentResult<ExitCode> {
    let link = nl
        .link(target.ifindex)
        .doing(|| format!("reading the state of {}", target.nic))?
        .ok_or_else(|| AgentError::generic(format!("nic {} disappeared during start", target.nic)))?;
    if !link.admin_up {
        log::info(format!("Bringing device {} up", target.nic));
        nl.set_link_up(target.ifindex).doing(|| format!("bringing {} up", target.nic))?;
    }
    if params.ip.is_ipv6() && !params.nodad {
        wait_for_dad(nl, params, target, inv)?;
    }
    match inspect::lookup(nl, params, Need::StateOnly)? {
        Lookup::Found { state: State::Configured(entry), target: now } => {
            if let Some(label) = target.missing_label(&entry) {
                return Err(AgentError::generic(format!(
                    "{} was added to {} but the kernel did not keep its label {label}",
                    params.ip, now.nic
                )));
            }
        }
        other => {
            return Err(AgentError::generic(format!(
                "{} is not configured on {} after adding it ({other:?})",
                params.ip, target.nic
            )));
        }
    }
    if params.check_link_status {
        if let Some(problem) = link_problem(nl, target)? {
            return Err(AgentError::generic(format!("{} cannot be brought up: {problem}", params.ip)));
        }
    }
    Ok(ExitCode::Success)
}

/// Why the target link cannot carry the VIP, if it cannot.
pub(super) fn link_problem(nl: &Netlink, target: &Target) -> AgentResult<Option<String>> {
    let link = nl.link(target.ifindex).doing(|| format!("reading the state of {}", target.nic))?;
    Ok(match link {
        Some(link) => inspect::link_problem(&link),
        None => Some(format!("nic {} does not exist any more", target.nic)),
    })
}

/// Waits for IPv6 duplicate address detection to end. A duplicate removes
/// the address and fails the start; a DAD still running when the budget is
/// spent is logged and the start succeeds, as in IPaddr2.
fn wait_for_dad(nl: &Netlink, params: &Params, target: &Target, inv: &Invocation) -> AgentResult<()> {
    loop {
        let entries = nl
            .addresses(target.ifindex, false)
            .doing(|| format!("reading the DAD state of {} on {}", params.ip, target.nic))?;
        let Some(entry) = entries.iter().find(|a| a.ip == params.ip) else {
            return Err(AgentError::generic(format!(
                "{} vanished from {} during DAD",
                params.ip, target.nic
            )));
        };
        if entry.is_dad_failed() {
            return Err(AgentError::generic(format!(
                "IPv6 address collision: duplicate address detection found {} already in use on the link of {}",
                params.ip, target.nic
            )));
        }
        if !entry.is_tentative() {
            return Ok(());
        }
        if inv.budget.remaining() < DAD_POLL {
            log::warn(format!(
                "{}: duplicate address detection still running when the start timeout nears",
                params.ip
            ));
            return Ok(());
        }
        std::thread::sleep(DAD_POLL);
    }
}

fn add_address_label(nl: &Netlink, params: &Params, value: u32) {
    log::info(format!("Adding IPv6 address label prefix {}/128 label {value}", params.ip));
    match nl.address_label(true, params.ip, value) {
        Err(err) if err.errno() != Some(libc_errno::EEXIST) => {
            log::warn(format!("adding IPv6 address label for {} failed: {err}", params.ip));
        }
        _ => {}
    }
}

/// Reverts what start did besides adding the address (labels, lo copy).
fn undo_side_effects(nl: &Netlink, params: &Params, inv: &Invocation) {
    if let Some(value) = params.lvs.ipv6_label {
        let _ = nl.address_label(false, params.ip, value);
    }
    if params.lvs.support {
        if let Err(err) = lvs::give_back_to_loopback(nl, params, &run_dir(inv)) {
            log::error(err);
        }
    }
}

fn describe_add(new: &NewAddress, target: &Target) -> String {
    let family = if new.ip.is_ipv4() { "inet" } else { "inet6" };
    let mut text = format!("Adding {family} address {}/{} ", new.ip, new.prefix);
    if let Some(broadcast) = new.broadcast {
        text.push_str(&format!("with broadcast address {broadcast} "));
    }
    text.push_str(&format!("to device {}", target.nic));
    let mut extras = Vec::new();
    if let Some(label) = &new.label {
        extras.push(format!("label {label}"));
    }
    if new.nodad {
        extras.push("nodad".into());
    }
    if new.noprefixroute {
        extras.push("noprefixroute".into());
    }
    if let Some(lft) = new.preferred_lft {
        extras.push(format!("preferred_lft {lft}"));
    }
    if let Some(metric) = new.metric {
        extras.push(format!("metric {metric}"));
    }
    if !extras.is_empty() {
        text.push_str(&format!(" (with {})", extras.join(" ")));
    }
    text
}
