//! Probing before the address is added and announcing it afterwards, as
//! the actions use them. One raw socket (a `Wire`) serves both, and is
//! handed to the background announcer when there is one: opening and
//! closing packet sockets is what costs time here.

use super::{Invocation, run_dir, state_file_name};
use crate::announce::{self, RoundsEnded};
use crate::background;
use crate::error::{AgentError, AgentResult, Doing};
use crate::inspect::{Target, link_problem};
use crate::netlink::{LinkEntry, Netlink};
use crate::ocf::log;
use crate::packet::{self, Mac};
use crate::params::Params;
use crate::probe::{self, ProbeOutcome, ProbePlan};
use crate::rawsock::PacketSocket;
use std::time::{Duration, Instant};

/// A raw socket on the VIP's interface and the MAC to send from.
pub(super) struct Wire {
    sock: PacketSocket,
    mac: Mac,
    link: LinkEntry,
}

impl Wire {
    /// Opens the wire for the VIP's family on the target interface, or
    /// `None` (with the reason logged) where ARP/NDP do not apply: loopback,
    /// a link without a 6-byte hardware address, or a link that is
    /// administratively down (a socket opened then cannot send later).
    pub(super) fn open(nl: &Netlink, params: &Params, target: &Target) -> AgentResult<Option<Wire>> {
        let link = nl
            .link(target.ifindex)
            .doing(|| format!("reading the state of {}", target.nic))?
            .ok_or_else(|| AgentError::generic(format!("nic {} disappeared", target.nic)))?;
        if link.loopback {
            log::debug(format!("{} is a loopback interface: no ARP/NDP needed", link.name));
            return Ok(None);
        }
        if !link.admin_up {
            log::debug(format!("{} is administratively down: no raw socket yet", link.name));
            return Ok(None);
        }
        let Some(mac) = link.mac else {
            log::warn(format!(
                "{} has no Ethernet address: the built-in sender cannot probe or announce on it",
                link.name
            ));
            return Ok(None);
        };
        let sock = PacketSocket::open(target.ifindex, probe::ethertype_for(params.ip))
            .doing(|| format!("opening a raw socket on {}", target.nic))?;
        Ok(Some(Wire { sock, mac, link }))
    }

    /// Takes over the socket the agent handed to the background announcer.
    pub(super) fn inherited(fd: i32, nl: &Netlink, target: &Target) -> Option<Wire> {
        let sock = PacketSocket::adopt(fd).ok()?;
        let link = nl.link(target.ifindex).ok()??;
        Some(Wire { mac: link.mac?, sock, link })
    }
}

/// Probes for the VIP before it is added; fails the start if another host
/// answers. IPv6 without `nodad` relies on the kernel's DAD instead.
pub(super) fn probe_before_add(
    nl: &Netlink,
    params: &Params,
    target: &Target,
    wire: Option<&Wire>,
    inv: &Invocation,
) -> AgentResult<()> {
    let plan = ProbePlan::from_params(&params.probe);
    if plan.count == 0 || (params.ip.is_ipv6() && !params.nodad) {
        return Ok(());
    }
    let Some(wire) = wire else {
        log::warn(format!("cannot probe for {} on {}: adding it without a probe", params.ip, target.nic));
        return Ok(());
    };
    if let Some(problem) = link_problem(&wire.link) {
        log::warn(format!("{problem}: nobody could answer a probe, so {} is added without one", params.ip));
        return Ok(());
    }
    log::debug(format!(
        "probing for {} on {}: {} probes, {:?} in all",
        params.ip,
        target.nic,
        plan.count,
        plan.duration()
    ));
    match run_probe(nl, params, wire, &plan, inv)? {
        ProbeOutcome::Free => Ok(()),
        ProbeOutcome::CutShort => {
            log::warn(format!(
                "probing for {} was cut short by the action timeout; nobody had answered",
                params.ip
            ));
            Ok(())
        }
        ProbeOutcome::InUse { mac } => Err(AgentError::generic(format!(
            "{} is already in use on the link of {}: {} answered the duplicate-address probe",
            params.ip,
            target.nic,
            packet::mac_string(&mac)
        ))),
    }
}

/// Announces the VIP in `count` rounds. The first round goes out at once;
/// with `arp_bg` the rest is left to a detached announcer, which inherits
/// the socket, otherwise they are sent before returning.
pub(super) fn announce(
    nl: &Netlink,
    params: &Params,
    target: &Target,
    inv: &Invocation,
    count: u64,
    wire: Option<Wire>,
) -> AgentResult<()> {
    let Some(wire) = wire else { return Ok(()) };
    if count == 0 {
        return Ok(());
    }
    let deadline = inv.budget.deadline();
    if !params.announce.background || count == 1 {
        let ended = send(nl, params, target, &wire, count, Duration::ZERO, deadline)?;
        if let RoundsEnded::OutOfTime { sent } = ended {
            log::warn(format!(
                "sent {sent} of {count} announcements for {}; the rest did not fit in the action timeout",
                params.ip
            ));
        }
        return Ok(());
    }
    send(nl, params, target, &wire, 1, Duration::ZERO, deadline)?;
    let mut env: Vec<(String, String)> =
        inv.raw.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string())).collect();
    // The clone meta attributes make the worker announce a cluster IP alike.
    let meta = [("clone_max", &inv.env.clone_max), ("clone", &inv.env.clone_id)];
    for (name, value) in meta {
        if let Some(value) = value {
            env.push((format!("OCF_RESKEY_CRM_meta_{name}"), value.clone()));
        }
    }
    if inv.env.globally_unique {
        env.push(("OCF_RESKEY_CRM_meta_globally_unique".into(), "true".into()));
    }
    let fd = wire.sock.inheritable().ok();
    background::spawn(&run_dir(inv), &announcer_file(params), count - 1, fd, &env)
        .doing(|| format!("starting the background announcer for {}", params.ip))?;
    Ok(())
}

/// Sends the rounds from this process, the first after `first_delay`,
/// stopping early if the VIP leaves its interface.
pub(super) fn send(
    nl: &Netlink,
    params: &Params,
    target: &Target,
    wire: &Wire,
    count: u64,
    first_delay: Duration,
    deadline: Instant,
) -> AgentResult<RoundsEnded> {
    let frames = round_frames(params, wire);
    let still_ours = || {
        nl.addresses(target.ifindex, params.is_ipv4())
            .is_ok_and(|addrs| addrs.iter().any(|a| a.ip == params.ip && Some(a.prefix) == target.prefix))
    };
    announce::send_rounds(
        &wire.sock,
        &frames,
        count,
        first_delay,
        params.announce.interval,
        deadline,
        still_ours,
    )
    .doing(|| format!("announcing {} on {}", params.ip, target.nic))
}

/// One round's frames. A cluster IP claims the VIP for the shared multicast
/// MAC, while the frames still come from the NIC's own address.
fn round_frames(params: &Params, wire: &Wire) -> Vec<Vec<u8>> {
    let Some(cip) = &params.cluster_ip else {
        return announce::round_frames(params.ip, wire.mac, &params.announce);
    };
    let shared = cip.mac.unwrap_or_else(|| crate::cluster_ip::derived_mac(params.ip));
    let mut frames = announce::round_frames(params.ip, shared, &params.announce);
    for frame in &mut frames {
        packet::set_ethernet_source(frame, wire.mac);
    }
    frames
}

/// The tracking file of this VIP's background announcer.
pub(super) fn announcer_file(params: &Params) -> String {
    state_file_name("announce", params)
}

/// Ends this VIP's background announcer, if one runs.
pub(super) fn stop_background(params: &Params, inv: &Invocation) {
    let wait = inv.budget.remaining().min(Duration::from_secs(1));
    background::stop(&run_dir(inv), &announcer_file(params), Instant::now() + wait);
}

/// Asks the link, with a short probe, whether another host answers for the
/// VIP (for `explain`): its MAC, or `None`.
pub(super) fn other_owner(
    nl: &Netlink,
    params: &Params,
    wire: &Wire,
    inv: &Invocation,
) -> AgentResult<Option<Mac>> {
    let plan = ProbePlan {
        initial_delay: Duration::ZERO,
        count: 2,
        interval: Duration::from_millis(10),
        wait: Duration::from_millis(30),
    };
    Ok(match run_probe(nl, params, wire, &plan, inv)? {
        ProbeOutcome::InUse { mac } => Some(mac),
        ProbeOutcome::Free | ProbeOutcome::CutShort => None,
    })
}

/// Probes for the VIP on the wire, not counting answers from this host's
/// own interfaces, within the action's budget.
pub(super) fn run_probe(
    nl: &Netlink,
    params: &Params,
    wire: &Wire,
    plan: &ProbePlan,
    inv: &Invocation,
) -> AgentResult<ProbeOutcome> {
    let own_macs = nl.link_macs().doing(|| "listing this host's interfaces".to_string())?;
    probe::run(&wire.sock, wire.mac, &own_macs, params.ip, plan, inv.budget.deadline())
        .doing(|| format!("probing for {} on {}", params.ip, wire.link.name))
}
