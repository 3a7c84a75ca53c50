//! Every parameter: where it comes from (`OCF_RESKEY_*` or a command-line
//! flag), its default, how it is parsed and validated. No I/O here: checks
//! that need the kernel (does the NIC exist?) belong to `discover`.

pub mod sendarp;
pub mod spec;
pub mod values;

use crate::error::{AgentError, AgentResult};
use crate::ocf::OcfEnv;
use crate::ocf::log::printable;
use crate::packet::Mac;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

pub use values::{BroadcastSpec, Lifetime, ocf_is_true};

/// Parameter values as given, before parsing: environment first, then the
/// command line, whose flags win (a debugging session overrides the CIB).
#[derive(Debug, Default, Clone)]
pub struct RawParams {
    values: BTreeMap<&'static str, String>,
    /// `OCF_RESKEY_*` names that no parameter has (typos, other agents' keys).
    pub unknown: Vec<String>,
}

impl RawParams {
    /// Reads `OCF_RESKEY_<name>` for every known parameter from `vars`.
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> RawParams {
        let mut raw = RawParams::default();
        for (key, value) in vars {
            let Some(name) = key.strip_prefix("OCF_RESKEY_") else { continue };
            match spec::find(name) {
                Some(p) => {
                    raw.values.insert(p.name, value);
                }
                // What Pacemaker passes to every agent besides parameters.
                None if name.starts_with("CRM_meta_")
                    || matches!(name, "crm_feature_set" | "OCF_CHECK_LEVEL") => {}
                None => raw.unknown.push(name.to_string()),
            }
        }
        raw
    }

    /// The given parameters as (name, value) pairs, e.g. to hand to a child.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.values.iter().map(|(k, v)| (*k, v.as_str()))
    }

    /// Sets a parameter from the command line, replacing the environment's value.
    pub fn set(&mut self, name: &'static str, value: String) {
        self.values.insert(name, value);
    }

    /// The value given for `name`; an empty value counts as not given.
    pub fn given(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// The given value or the parameter's default.
    fn value_or_default(&self, name: &str) -> &str {
        self.given(name).or_else(|| spec::find(name).map(|p| p.default)).unwrap_or("")
    }
}

/// How strictly to treat bad values of parameters an action does not need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// Every parameter must be valid (start, monitor, validate-all).
    Strict,
    /// Only what removing the address needs must be valid (stop): a typo in
    /// `arp_count` must never keep a VIP from being released.
    Lenient,
}

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

/// The reachability check (OCF_CHECK_LEVEL 10, and start with `on_start`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PingParams {
    /// Hosts to ping, of the VIP's family.
    pub hosts: Vec<IpAddr>,
    /// Without hosts, ping the subnet's broadcast (IPv6: all-nodes) address.
    pub broadcast: bool,
    pub timeout: Duration,
    pub on_start: bool,
}

impl PingParams {
    /// Whether a reachability check has anyone to ask.
    pub fn is_configured(&self) -> bool {
        !self.hosts.is_empty() || self.broadcast
    }
}

/// The most hosts a ping list may name: the check asks them all at once.
const MAX_PING_HOSTS: usize = 64;

/// What the cluster IP's hash covers (IPaddr2's `clusterip_hash`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[allow(clippy::enum_variant_names)] // named after IPaddr2's values
pub enum ClusterHash {
    SourceIp,
    SourceIpSourcePort,
    SourceIpSourcePortDestPort,
}

/// Which packet filter programs the cluster IP's buckets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firewall {
    /// nftables when `nft` is installed, else iptables.
    Auto,
    Nft,
    Iptables,
}

/// Settings of IPaddr2's load-shared "cluster IP" (clone) mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterIpParams {
    /// Hash buckets: the clone's clone-max.
    pub total_nodes: u32,
    /// The bucket this instance serves: its clone number plus one.
    pub local_node: u32,
    pub hash: ClusterHash,
    /// `clusterip_hash_seed`; derived from the address when not given.
    pub seed: Option<u32>,
    pub firewall: Firewall,
    /// iptables only: where the rules go.
    pub table: String,
    pub chain: String,
    /// The shared multicast MAC (`mac`); derived from the address when not given.
    pub mac: Option<Mac>,
}

/// Every parameter, parsed and checked for consistency.
#[derive(Debug, Clone)]
pub struct Params {
    pub ip: IpAddr,
    pub nic: Option<String>,
    /// The label suffix, from `iflabel` or the deprecated `nic=eth0:label`.
    pub label_suffix: Option<String>,
    pub prefix: Option<u8>,
    pub broadcast: BroadcastSpec,
    pub proto: Option<u8>,
    pub lvs_support: bool,
    pub lvs_ipv6_addrlabel: bool,
    pub lvs_ipv6_addrlabel_value: u32,
    pub flush_routes: bool,
    pub nodad: bool,
    pub noprefixroute: bool,
    pub preferred_lft: Lifetime,
    pub check_link_status: bool,
    /// Make "the VIP would be the NIC's only address in its subnet" an error.
    pub require_maintenance_address: bool,
    pub network_namespace: Option<String>,
    /// Make the VIP the preferred source of its subnet's routes while it runs.
    pub preferred_source: bool,
    /// Multi-site: start without the address where its subnet is absent.
    pub allow_missing_subnet: bool,
    pub ping: PingParams,
    pub announce: AnnounceParams,
    pub probe: ProbeParams,
    pub cluster_ip: Option<ClusterIpParams>,
}

impl Params {
    pub fn is_ipv4(&self) -> bool {
        self.ip.is_ipv4()
    }
}

/// Parsed parameters and the warnings parsing produced.
#[derive(Debug)]
pub struct Parsed {
    pub params: Params,
    pub warnings: Vec<String>,
}

struct Parser<'a> {
    raw: &'a RawParams,
    strictness: Strictness,
    warnings: Vec<String>,
}

impl Parser<'_> {
    /// Parses a parameter the action may not need: in lenient mode a bad
    /// value becomes a warning and the default is used instead.
    fn optional<T>(
        &mut self,
        name: &str,
        fallback: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> AgentResult<T> {
        match parse(self.raw.value_or_default(name)) {
            Ok(value) => Ok(value),
            Err(reason) if self.strictness == Strictness::Lenient => {
                self.warnings.push(format!("{reason} (ignored for this action)"));
                Ok(fallback)
            }
            Err(reason) => Err(AgentError::configured(reason)),
        }
    }

    fn flag(&mut self, name: &str) -> bool {
        let (value, warning) = values::boolean(name, self.raw.value_or_default(name));
        self.warnings.extend(warning);
        value
    }

    fn integer(&mut self, name: &str, min: u64, max: u64) -> AgentResult<u64> {
        let fallback = spec::find(name).and_then(|p| p.default.parse().ok()).unwrap_or(min);
        self.optional(name, fallback, |v| values::integer(name, v, min, max))
    }
}

/// Parses and cross-checks all parameters for one action.
pub fn parse(raw: &RawParams, env: &OcfEnv, strictness: Strictness) -> AgentResult<Parsed> {
    let mut p = Parser { raw, strictness, warnings: Vec::new() };

    let ip_text = raw
        .given("ip")
        .ok_or_else(|| AgentError::configured("IP address (the ip parameter) is mandatory"))?;
    let mut ip = values::vip(ip_text).map_err(AgentError::configured)?;

    let clone_max = match &env.clone_max {
        None => 1,
        Some(text) => values::integer("clone_max", text, 1, u64::from(u32::MAX)).map_err(|_| {
            AgentError::configured(format!(
                "invalid meta-attribute clone_max [{}]: expected a positive whole number",
                printable(text)
            ))
        })? as u32,
    };
    let clone_id = env.clone_id.as_deref().and_then(|c| c.parse::<u32>().ok()).unwrap_or(0);
    let unique_clone_address = p.flag("unique_clone_address");
    if unique_clone_address {
        if !env.globally_unique {
            return Err(AgentError::configured(
                "unique_clone_address makes sense only with meta globally_unique set",
            ));
        }
        ip = values::offset_address(ip, clone_id).map_err(AgentError::configured)?;
    }

    let (mut nic, mut label_suffix) = (None, None);
    if let Some(text) = raw.given("nic") {
        let (name, label) = match text.split_once(':') {
            Some((name, label)) => {
                p.warnings.push(format!(
                    "nic=[{}] carries a label; the form nic:label is deprecated, use iflabel",
                    printable(text)
                ));
                (name, Some(label))
            }
            None => (text, None),
        };
        values::interface_name(name).map_err(AgentError::configured)?;
        nic = Some(name.to_string());
        label_suffix = label.map(str::to_string);
    }
    if label_suffix.is_none() {
        label_suffix = raw.given("iflabel").map(str::to_string);
    }
    if let Some(suffix) = &label_suffix {
        values::label_suffix(suffix).map_err(AgentError::configured)?;
        if let Some(nic) = &nic {
            values::full_label(nic, suffix).map_err(AgentError::configured)?;
        }
        if ip.is_ipv6() {
            p.warnings
                .push("iflabel is ignored for IPv6 addresses: the kernel keeps labels for IPv4 only".into());
            label_suffix = None;
        }
    }

    let netmask = match (raw.given("cidr_netmask"), raw.given("netmask")) {
        (Some(cidr), _) => Some(cidr),
        (None, Some(alias)) => {
            p.warnings.push("the netmask parameter is deprecated; use cidr_netmask".into());
            Some(alias)
        }
        (None, None) => None,
    };
    let prefix = match netmask {
        None => None,
        Some(text) => {
            let (len, warning) = values::prefix_len(text, ip).map_err(AgentError::configured)?;
            p.warnings.extend(warning);
            Some(len)
        }
    };

    if let IpAddr::V6(v6) = ip {
        if nic.is_none() && v6.is_unicast_link_local() {
            return Err(AgentError::configured(format!(
                "the nic parameter is mandatory for a link-local address [{ip}]"
            )));
        }
    }
    if ip.is_loopback() && nic.as_deref().is_some_and(|n| n != "lo") {
        return Err(AgentError::configured(format!(
            "loopback address {ip} can only live on lo, not on nic {}",
            nic.as_deref().unwrap_or_default()
        )));
    }

    let broadcast =
        values::broadcast(raw.value_or_default("broadcast"), ip).map_err(AgentError::configured)?;
    let proto = match raw.given("proto") {
        None => None,
        Some(text) => Some(values::route_protocol(text).map_err(AgentError::configured)?),
    };

    let lvs_support = p.flag("lvs_support");
    if lvs_support && ip.is_ipv6() {
        return Err(AgentError::configured(
            "lvs_support is for IPv4; for IPv6 LVS-DR use lvs_ipv6_addrlabel",
        ));
    }
    if lvs_support && clone_max > 1 {
        return Err(AgentError::configured("LVS and load sharing do not go together well"));
    }
    let lvs_ipv6_addrlabel = p.flag("lvs_ipv6_addrlabel") && ip.is_ipv6();
    let lvs_ipv6_addrlabel_value = if lvs_ipv6_addrlabel {
        p.integer("lvs_ipv6_addrlabel_value", 0, u64::from(u32::MAX - 1))? as u32
    } else {
        99
    };
    let flush_routes = p.flag("flush_routes");
    let nodad = p.flag("nodad");
    let noprefixroute = p.flag("noprefixroute");
    let check_link_status = p.flag("check_link_status");
    let require_maintenance_address = p.flag("require_maintenance_address");
    // IPaddr2's opt-in collision check is our default probing; the flag
    // stays accepted (and checked) for existing configurations.
    let _run_arping = p.flag("run_arping");
    let preferred_lft = p.optional("preferred_lft", Lifetime::Forever, values::lifetime)?;

    let network_namespace = match raw.given("network_namespace") {
        None => None,
        Some(name) => {
            values::namespace_name(name).map_err(AgentError::configured)?;
            Some(name.to_string())
        }
    };

    let announce = parse_announce(&mut p, ip)?;
    let probe = ProbeParams {
        count: p.integer("probe_count", 0, 100)?,
        interval: Duration::from_millis(p.integer("probe_interval", 1, 60_000)?),
        wait: Duration::from_millis(p.integer("probe_wait", 0, 60_000)?),
        rfc5227: p.flag("probe_rfc5227"),
    };

    let ping = parse_ping(&mut p, ip)?;
    let preferred_source = p.flag("preferred_source");
    let allow_missing_subnet = p.flag("allow_missing_subnet");

    let cluster_ip = if clone_max > 1 && !unique_clone_address {
        Some(parse_cluster_ip(&mut p, ip, clone_max, clone_id)?)
    } else {
        None
    };
    if cluster_ip.is_some() && preferred_source {
        // Connections a node opens from a shared address get their answers
        // hashed to any node.
        return Err(AgentError::configured(
            "preferred_source cannot be used with a cluster IP (clone-max > 1)",
        ));
    }

    Ok(Parsed {
        params: Params {
            ip,
            nic,
            label_suffix,
            prefix,
            broadcast,
            proto,
            lvs_support,
            lvs_ipv6_addrlabel,
            lvs_ipv6_addrlabel_value,
            flush_routes,
            nodad,
            noprefixroute,
            preferred_lft,
            check_link_status,
            require_maintenance_address,
            network_namespace,
            preferred_source,
            allow_missing_subnet,
            ping,
            announce,
            probe,
            cluster_ip,
        },
        warnings: p.warnings,
    })
}

/// The announcement settings, with what `send_arp_opts` overrides.
fn parse_announce(p: &mut Parser, ip: IpAddr) -> AgentResult<AnnounceParams> {
    let mut interval_ms = p.integer("arp_interval", 1, 3_600_000)?;
    let mut count = p.integer("arp_count", 1, 1_000_000)?;
    let count_refresh = p.integer("arp_count_refresh", 0, 1_000_000)?;
    let background = match p.raw.given("arp_bg") {
        None => ip.is_ipv4(),
        Some(_) => p.flag("arp_bg"),
    };
    // Every sender IPaddr2 knew maps onto the built-in one.
    p.optional("arp_sender", (), |v| match v {
        "" | "send_arp" | "ipoibarping" | "iputils_arping" | "libnet_arping" => Ok(()),
        other => Err(format!("unrecognized arp_sender value: [{}]", printable(other))),
    })?;
    let mut mode = p.optional("arp_mode", ArpMode::Both, |v| match v {
        "both" => Ok(ArpMode::Both),
        "request" => Ok(ArpMode::Request),
        "reply" => Ok(ArpMode::Reply),
        other => Err(format!("invalid arp_mode [{}]: expected request, reply or both", printable(other))),
    })?;
    let target = p.optional("arp_target", None, |v| match v {
        "" => Ok(None),
        text => match text.parse::<Ipv4Addr>() {
            Ok(addr) if ip.is_ipv4() => Ok(Some(addr)),
            Ok(_) => Err("arp_target is for IPv4 addresses".to_string()),
            Err(_) => Err(format!("invalid arp_target [{}]: expected an IPv4 address", printable(text))),
        },
    })?;
    let opts = p.optional("send_arp_opts", sendarp::SendArpOptions::default(), sendarp::parse)?;
    p.warnings.extend(opts.warnings.iter().cloned());
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
    })
}

/// The reachability check: a list of addresses of the VIP's family.
fn parse_ping(p: &mut Parser, ip: IpAddr) -> AgentResult<PingParams> {
    let hosts = p.optional("ping_list", Vec::new(), |list| {
        let hosts = list
            .split(|c: char| c == ',' || c.is_whitespace())
            .filter(|item| !item.is_empty())
            .map(|item| ping_host(item, ip))
            .collect::<Result<Vec<_>, _>>()?;
        if hosts.len() > MAX_PING_HOSTS {
            return Err(format!(
                "ping_list names {} hosts; at most {MAX_PING_HOSTS} are allowed",
                hosts.len()
            ));
        }
        Ok(hosts)
    })?;
    let ping = PingParams {
        hosts,
        broadcast: p.flag("ping_broadcast"),
        timeout: Duration::from_millis(p.integer("ping_timeout", 10, 60_000)?),
        on_start: p.flag("ping_on_start"),
    };
    if ping.on_start && !ping.is_configured() {
        return Err(AgentError::configured("ping_on_start needs a ping_list or ping_broadcast=true"));
    }
    Ok(ping)
}

/// One ping_list entry: a unicast address of the VIP's family.
fn ping_host(text: &str, vip: IpAddr) -> Result<IpAddr, String> {
    let host: IpAddr = text
        .parse()
        .map_err(|_| format!("invalid ping_list entry [{}]: expected an IP address", printable(text)))?;
    if host.is_ipv4() != vip.is_ipv4() {
        return Err(format!("ping_list entry {host} is not of the VIP's address family"));
    }
    if host.is_unspecified() || host.is_multicast() || host == vip {
        return Err(format!("ping_list entry {host} cannot answer for the network (use ping_broadcast)"));
    }
    Ok(host)
}

/// Checks the cluster-IP settings the way IPaddr2 does in clone mode.
fn parse_cluster_ip(p: &mut Parser, ip: IpAddr, total: u32, clone_id: u32) -> AgentResult<ClusterIpParams> {
    let seed_text = p.raw.value_or_default("clusterip_hash_seed");
    let seed = match seed_text {
        "" => None,
        text => Some(parse_seed(text).ok_or_else(|| {
            AgentError::configured(format!(
                "invalid clusterip_hash_seed [{}]: expected a decimal or 0x-prefixed hexadecimal 32-bit number",
                printable(text)
            ))
        })?),
    };
    let hash = match p.raw.value_or_default("clusterip_hash") {
        "sourceip" => ClusterHash::SourceIp,
        "sourceip-sourceport" => ClusterHash::SourceIpSourcePort,
        "sourceip-sourceport-destport" => ClusterHash::SourceIpSourcePortDestPort,
        other => {
            return Err(AgentError::configured(format!(
                "invalid clusterip_hash [{}]: expected sourceip, sourceip-sourceport or sourceip-sourceport-destport",
                printable(other)
            )));
        }
    };
    let firewall = match p.raw.value_or_default("clusterip_firewall") {
        "auto" => Firewall::Auto,
        "nft" => Firewall::Nft,
        "iptables" => Firewall::Iptables,
        other => {
            return Err(AgentError::configured(format!(
                "invalid clusterip_firewall [{}]: expected auto, nft or iptables",
                printable(other)
            )));
        }
    };
    if p.flag("clusterip_mac_mangle") && ip.is_ipv6() {
        return Err(AgentError::configured("clusterip_mac_mangle is not supported for IPv6"));
    }
    let table = p.raw.value_or_default("clusterip_table").to_string();
    let chain = p.raw.value_or_default("clusterip_chain").to_string();
    for (name, value) in [("clusterip_table", &table), ("clusterip_chain", &chain)] {
        values::firewall_name(name, value).map_err(AgentError::configured)?;
    }
    let mac = match p.raw.given("mac") {
        None => None,
        Some(text) => Some(parse_multicast_mac(text).ok_or_else(|| {
            AgentError::configured(format!(
                "invalid mac [{}]: cluster IP needs a multicast MAC (odd first octet, six octets)",
                printable(text)
            ))
        })?),
    };
    Ok(ClusterIpParams {
        total_nodes: total,
        local_node: clone_id + 1,
        hash,
        seed,
        firewall,
        table,
        chain,
        mac,
    })
}

/// A hash seed: decimal, or hexadecimal with 0x, that fits 32 bits.
fn parse_seed(text: &str) -> Option<u32> {
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) if !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit()) => {
            u32::from_str_radix(hex, 16).ok()
        }
        Some(_) => None,
        None if !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) => text.parse().ok(),
        None => None,
    }
}

/// Six hex octets with `:` or `-` between them, the multicast bit set in the first.
fn parse_multicast_mac(text: &str) -> Option<Mac> {
    let octets: Vec<&str> = text.split([':', '-']).collect();
    if octets.len() != 6 || octets.iter().any(|o| o.len() != 2) {
        return None;
    }
    let mut mac = [0u8; 6];
    for (byte, octet) in mac.iter_mut().zip(&octets) {
        *byte = u8::from_str_radix(octet, 16).ok()?;
    }
    (mac[0] & 1 == 1).then_some(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(pairs: &[(&str, &str)]) -> RawParams {
        RawParams::from_vars(pairs.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string())))
    }

    fn env() -> OcfEnv {
        OcfEnv::from_lookup(|_| None)
    }

    fn strict(pairs: &[(&str, &str)]) -> AgentResult<Parsed> {
        parse(&raw(pairs), &env(), Strictness::Strict)
    }

    #[test]
    fn defaults_match_ipaddr2() {
        let parsed = strict(&[("ip", "10.0.0.5")]).unwrap();
        let p = parsed.params;
        assert_eq!(p.announce.count, 5);
        assert_eq!(p.announce.interval, Duration::from_millis(200));
        assert_eq!(p.announce.mode, ArpMode::Both);
        assert_eq!(p.probe.count, 2);
        assert_eq!(p.announce.count_refresh, 0);
        assert!(p.announce.background, "arp_bg defaults to true for IPv4");
        assert!(p.check_link_status);
        assert!(!p.lvs_support && !p.flush_routes && !p.nodad && !p.noprefixroute);
        assert_eq!(p.preferred_lft, Lifetime::Forever);
        assert!(parsed.warnings.is_empty());
        let v6 = strict(&[("ip", "2001:db8::5")]).unwrap().params;
        assert!(!v6.announce.background, "arp_bg defaults to false for IPv6");
        assert!(v6.lvs_ipv6_addrlabel);
        assert_eq!(v6.lvs_ipv6_addrlabel_value, 99);
    }

    #[test]
    fn missing_ip_is_a_configuration_error() {
        let err = strict(&[("nic", "eth0")]).unwrap_err();
        assert_eq!(err.exit, crate::ocf::ExitCode::ErrConfigured);
        assert!(err.reason.contains("mandatory"));
    }

    #[test]
    fn netmask_is_an_alias_and_cidr_netmask_wins() {
        assert_eq!(strict(&[("ip", "10.0.0.5"), ("netmask", "16")]).unwrap().params.prefix, Some(16));
        let both = strict(&[("ip", "10.0.0.5"), ("netmask", "16"), ("cidr_netmask", "24")]);
        assert_eq!(both.unwrap().params.prefix, Some(24));
    }

    #[test]
    fn label_in_nic_is_split_off() {
        let p = strict(&[("ip", "10.0.0.5"), ("nic", "eth0:web")]).unwrap();
        assert_eq!(p.params.nic.as_deref(), Some("eth0"));
        assert_eq!(p.params.label_suffix.as_deref(), Some("web"));
        assert!(!p.warnings.is_empty());
    }

    #[test]
    fn bad_values_are_configuration_errors_in_strict_mode() {
        let cases: &[&[(&str, &str)]] = &[
            &[("ip", "10.0.0.5"), ("cidr_netmask", "33")],
            &[("ip", "10.0.0.5"), ("cidr_netmask", "64")],
            &[("ip", "10.0.0.5"), ("arp_count", "0")],
            &[("ip", "10.0.0.5"), ("arp_interval", "abc")],
            &[("ip", "10.0.0.5"), ("arp_sender", "magic")],
            &[("ip", "10.0.0.5"), ("iflabel", "a b")],
            &[("ip", "10.0.0.5"), ("nic", "eth0"), ("iflabel", "waytoolong1")],
            &[("ip", "2001:db8::5"), ("broadcast", "+")],
            &[("ip", "2001:db8::5"), ("lvs_support", "true")],
            &[("ip", "fe80::5")],
            &[("ip", "127.0.0.2"), ("nic", "eth0")],
            &[("ip", "10.0.0.5"), ("nic", "eth0;reboot")],
            &[("ip", "10.0.0.5"), ("unique_clone_address", "true")],
            &[("ip", "10.0.0.5"), ("ping_list", "10.0.0.1 host")],
            &[("ip", "10.0.0.5"), ("ping_list", "2001:db8::1")],
            &[("ip", "10.0.0.5"), ("ping_list", "224.0.0.1")],
            &[("ip", "10.0.0.5"), ("ping_list", "10.0.0.5")],
            &[("ip", "10.0.0.5"), ("ping_timeout", "0")],
            &[("ip", "10.0.0.5"), ("ping_on_start", "true")],
        ];
        for case in cases {
            let err = strict(case).expect_err(&format!("{case:?} accepted"));
            assert_eq!(err.exit, crate::ocf::ExitCode::ErrConfigured, "{case:?}");
        }
    }

    #[test]
    fn lenient_mode_ignores_what_removal_does_not_need() {
        let r = raw(&[("ip", "10.0.0.5"), ("arp_count", "lots"), ("arp_sender", "magic")]);
        let parsed = parse(&r, &env(), Strictness::Lenient).unwrap();
        assert_eq!(parsed.params.announce.count, 5);
        assert_eq!(parsed.warnings.len(), 2);
        let opts = raw(&[("ip", "10.0.0.5"), ("send_arp_opts", "-A -c 2"), ("arp_count", "9")]);
        let a = parse(&opts, &env(), Strictness::Strict).unwrap().params.announce;
        assert_eq!((a.mode, a.count), (ArpMode::Reply, 2), "send_arp_opts wins over arp_count");
        let bad_ip = raw(&[("ip", "10.0.0.500")]);
        assert!(parse(&bad_ip, &env(), Strictness::Lenient).is_err());
    }

    #[test]
    fn ping_list_takes_spaces_and_commas() {
        let p = strict(&[("ip", "10.0.0.5"), ("ping_list", " 10.0.0.1, 10.0.0.2 10.0.0.3,")]).unwrap().params;
        let hosts: Vec<String> = p.ping.hosts.iter().map(|h| h.to_string()).collect();
        assert_eq!(hosts, ["10.0.0.1", "10.0.0.2", "10.0.0.3"]);
        assert!(p.ping.is_configured() && !p.ping.broadcast);
        assert_eq!(p.ping.timeout, Duration::from_millis(1000));
        let none = strict(&[("ip", "10.0.0.5")]).unwrap().params;
        assert!(!none.ping.is_configured());
        let many: Vec<String> = (1..=65).map(|i| format!("10.0.1.{i}")).collect();
        assert!(strict(&[("ip", "10.0.0.5"), ("ping_list", &many.join(" "))]).is_err());
        let on_start = strict(&[("ip", "2001:db8::5"), ("ping_broadcast", "yes"), ("ping_on_start", "1")]);
        assert!(on_start.unwrap().params.ping.on_start);
    }

    #[test]
    fn clone_mode_is_detected_and_checked() {
        let lookup = |k: &str| match k {
            "OCF_RESKEY_CRM_meta_clone_max" => Some("3".to_string()),
            "OCF_RESKEY_CRM_meta_clone" => Some("1".to_string()),
            _ => None,
        };
        let env = OcfEnv::from_lookup(lookup);
        let p = parse(&raw(&[("ip", "10.0.0.5")]), &env, Strictness::Strict).unwrap();
        let cip = p.params.cluster_ip.expect("clone mode");
        assert_eq!((cip.total_nodes, cip.local_node), (3, 2));
        assert_eq!(
            (cip.hash, cip.firewall, cip.seed, cip.mac),
            (ClusterHash::SourceIpSourcePort, Firewall::Auto, None, None)
        );
        let seeded =
            raw(&[("ip", "10.0.0.5"), ("clusterip_hash_seed", "0x1F"), ("clusterip_hash", "sourceip")]);
        let cip = parse(&seeded, &env, Strictness::Strict).unwrap().params.cluster_ip.unwrap();
        assert_eq!((cip.seed, cip.hash), (Some(31), ClusterHash::SourceIp));
        for bad in [
            ("clusterip_hash_seed", "0x1_0"),
            ("clusterip_hash_seed", "4294967296"),
            ("clusterip_chain", "PRE ROUTING"),
            ("clusterip_firewall", "pf"),
        ] {
            assert!(parse(&raw(&[("ip", "10.0.0.5"), bad]), &env, Strictness::Strict).is_err(), "{bad:?}");
        }
        let source = raw(&[("ip", "10.0.0.5"), ("preferred_source", "true")]);
        assert!(parse(&source, &env, Strictness::Strict).is_err(), "preferred_source in a cluster IP");
        let bad_mac = raw(&[("ip", "10.0.0.5"), ("mac", "00:11:22:33:44:55")]);
        assert!(parse(&bad_mac, &env, Strictness::Strict).is_err());
        let good_mac = raw(&[("ip", "10.0.0.5"), ("mac", "01:11:22:33:44:5f")]);
        let cip = parse(&good_mac, &env, Strictness::Strict).unwrap().params.cluster_ip.unwrap();
        assert_eq!(cip.mac, Some([1, 0x11, 0x22, 0x33, 0x44, 0x5f]));
    }

    #[test]
    fn unknown_keys_are_collected_but_meta_attributes_are_not() {
        let r = RawParams::from_vars([
            ("OCF_RESKEY_ip".to_string(), "10.0.0.5".to_string()),
            ("OCF_RESKEY_nci".to_string(), "eth0".to_string()),
            ("OCF_RESKEY_CRM_meta_timeout".to_string(), "20000".to_string()),
            ("OCF_RESKEY_crm_feature_set".to_string(), "3.16.2".to_string()),
            ("PATH".to_string(), "/bin".to_string()),
        ]);
        assert_eq!(r.unknown, vec!["nci".to_string()]);
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever the caller puts in any parameter, parsing answers with
        /// parameters or an OCF_ERR_CONFIGURED reason on one line, never a panic.
        #[test]
        fn any_values_parse_or_fail_cleanly(
            values in proptest::collection::vec((0..spec::PARAMS.len(), ".{0,40}"), 0..8),
            lenient in any::<bool>(),
        ) {
            let mut vars = vec![("OCF_RESKEY_ip".to_string(), "192.0.2.5".to_string())];
            for (index, value) in values {
                vars.push((format!("OCF_RESKEY_{}", spec::PARAMS[index].name), value));
            }
            let raw = RawParams::from_vars(vars);
            let env = OcfEnv::from_lookup(|_| None);
            let strictness = if lenient { Strictness::Lenient } else { Strictness::Strict };
            if let Err(err) = parse(&raw, &env, strictness) {
                prop_assert_eq!(err.exit, crate::ocf::ExitCode::ErrConfigured);
                prop_assert!(!err.reason.is_empty());
            }
        }
    }
}
