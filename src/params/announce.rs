//! Announcing the address (gratuitous ARP, unsolicited NA) and probing for
//! a duplicate before adding it: IPaddr2's `arp_*` and `send_arp_opts`,
//! and our `arp_mode`, `arp_target` and `probe_*`.

use super::reader::{Reader, invalid};
use super::sendarp;
use crate::error::AgentResult;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

/// Which gratuitous ARP messages an announcement round sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArpMode {
    Request,
    Reply,
    Both,
}

/// Announcement settings (gratuitous ARP / unsolicited NA).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AnnounceParams {
    pub interval: Duration,
    /// Announcement rounds after start.
    pub count: u64,
    /// Announcement rounds during each monitor.
    pub count_refresh: u64,
    pub background: bool,
    pub mode: ArpMode,
    /// An extra host to aim gratuitous requests at (IPv4).
    pub target: Option<Ipv4Addr>,
    /// Frames per second per interface, shared by every instance; 0: no limit.
    pub rate_limit: usize,
}

/// Duplicate-address probing before start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeParams {
    /// Probes to send; 0 disables probing.
    pub count: u64,
    pub interval: Duration,
    /// How long to listen after the last probe.
    pub wait: Duration,
    /// RFC 5227's full timing: random delay up to 1 s, probes 1-2 s apart, 2 s wait.
    pub rfc5227: bool,
}

/// The announcement settings, with what `send_arp_opts` overrides.
pub(super) fn parse_announce(r: &mut Reader, ip: IpAddr) -> AgentResult<AnnounceParams> {
    let mut interval_ms = r.integer("arp_interval", 1, 3_600_000)?;
    let mut count = r.integer("arp_count", 1, 1_000_000)?;
    let count_refresh = r.integer("arp_count_refresh", 0, 1_000_000)?;
    let rate_limit = usize::try_from(r.integer("announce_rate_limit", 0, 100_000)?).unwrap_or(usize::MAX);
    let background = match r.given("arp_bg") {
        None => ip.is_ipv4(),
        Some(_) => r.flag("arp_bg")?,
    };
    // Every sender IPaddr2 knew maps onto the built-in one.
    r.with_default("arp_sender", (), |v| match v {
        "" | "send_arp" | "ipoibarping" | "iputils_arping" | "libnet_arping" => Ok(()),
        other => Err(invalid("arp_sender", other, "send_arp, ipoibarping, iputils_arping or libnet_arping")),
    })?;
    let mut mode = r.with_default("arp_mode", ArpMode::Both, |v| match v {
        "both" => Ok(ArpMode::Both),
        "request" => Ok(ArpMode::Request),
        "reply" => Ok(ArpMode::Reply),
        other => Err(invalid("arp_mode", other, "request, reply or both")),
    })?;
    let target = r.optional("arp_target", None, |given| {
        let Some(text) = given else { return Ok(None) };
        match text.parse::<Ipv4Addr>() {
            Ok(addr) if ip.is_ipv4() => Ok(Some(addr)),
            Ok(_) => Err("arp_target is for IPv4 addresses".to_string()),
            Err(_) => Err(invalid("arp_target", text, "an IPv4 address")),
        }
    })?;
    let opts = r.with_default("send_arp_opts", sendarp::SendArpOptions::default(), sendarp::parse)?;
    for warning in &opts.warnings {
        r.warn(warning.clone());
    }
    match (opts.reply_only, opts.request_only) {
        (true, false) => mode = ArpMode::Reply,
        (false, true) => mode = ArpMode::Request,
        _ => {}
    }
    count = opts.count.unwrap_or(count);
    interval_ms = opts.interval_ms.unwrap_or(interval_ms);
    Ok(AnnounceParams {
        interval: Duration::from_millis(interval_ms),
        count,
        count_refresh,
        background,
        mode,
        target,
        rate_limit,
    })
}

pub(super) fn parse_probe(r: &mut Reader) -> AgentResult<ProbeParams> {
    // IPaddr2's opt-in collision check is our default probing; the flag
    // stays accepted (and checked) for existing configurations.
    r.flag("run_arping")?;
    Ok(ProbeParams {
        count: r.integer("probe_count", 0, 100)?,
        interval: Duration::from_millis(r.integer("probe_interval", 1, 60_000)?),
        wait: Duration::from_millis(r.integer("probe_wait", 0, 60_000)?),
        rfc5227: r.flag("probe_rfc5227")?,
    })
}
