//! Every parameter: where it comes from (`raw`), how each group is parsed
//! (`address`, `clone`, `announce`, `ping`, `cluster`), the typed model
//! (`Params`) and the cross-checks between groups (`parse`). No I/O here:
//! checks that need the kernel (does the NIC exist?) belong to the layers
//! above.

pub mod address;
pub mod announce;
pub mod clone;
pub mod cluster;
pub mod names;
pub mod ping;
pub mod raw;
mod reader;
pub mod sendarp;
pub mod spec;
pub mod values;
pub mod virtual_mac;

use crate::error::{AgentError, AgentResult};
use crate::ocf::OcfEnv;
use reader::Reader;
use std::net::IpAddr;

pub use announce::{AnnounceParams, ArpMode, ProbeParams};
pub use cluster::{ClusterHash, ClusterIpParams, Firewall};
pub use ping::PingParams;
pub use raw::RawParams;
pub use reader::Strictness;
pub use values::{BroadcastSpec, Lifetime, ocf_is_true};
pub use virtual_mac::VirtualMac;

/// LVS direct-routing support.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LvsParams {
    /// `lvs_support`: the VIP's copy on lo moves off while the VIP runs here.
    pub support: bool,
    /// `lvs_ipv6_addrlabel(_value)`: the IPv6 address-selection label to
    /// give the VIP, when enabled (IPv6 only).
    pub ipv6_label: Option<u32>,
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
    pub network_namespace: Option<String>,
    pub lvs: LvsParams,
    pub flush_routes: bool,
    /// Reset the VIP's TCP connections before and after stop removes it.
    pub kill_connections_on_stop: bool,
    /// A watcher puts the address back when another process removes it.
    pub repair_removed: bool,
    pub nodad: bool,
    pub noprefixroute: bool,
    pub preferred_lft: Lifetime,
    /// The metric of the subnet route added with the address, if given.
    pub metric: Option<u32>,
    /// Where node_exporter's textfile collector reads this VIP's metrics.
    pub metrics_dir: Option<std::path::PathBuf>,
    /// `check_link_status` as given; `link_checked` supplies the default.
    pub check_link_status: Option<bool>,
    /// Make "the VIP would be the NIC's only address in its subnet" an error.
    pub require_maintenance_address: bool,
    /// Make the VIP the preferred source of its subnet's routes while it runs.
    pub preferred_source: bool,
    /// Multi-site: start without the address where its subnet is absent.
    pub allow_missing_subnet: bool,
    pub ping: PingParams,
    pub announce: AnnounceParams,
    pub probe: ProbeParams,
    pub cluster_ip: Option<ClusterIpParams>,
    /// The VIP's own MAC, on a macvlan interface the resource creates.
    pub virtual_mac: Option<VirtualMac>,
}

impl Params {
    pub fn is_ipv4(&self) -> bool {
        self.ip.is_ipv4()
    }

    /// Whether a link that is down fails the VIP: as configured, else the
    /// distribution's default (read only when an action asks).
    pub fn link_checked(&self) -> bool {
        self.check_link_status.unwrap_or_else(crate::distro::link_check_default)
    }

    /// The VIP's address family, as the kernel's requests take it.
    pub fn family(&self) -> crate::netlink::IpFamily {
        crate::netlink::IpFamily::of(self.ip)
    }
}

/// Parsed parameters and the warnings parsing produced.
#[derive(Debug)]
pub struct Parsed {
    pub params: Params,
    pub warnings: Vec<String>,
}

/// Parses and cross-checks all parameters for one action.
pub fn parse(raw: &RawParams, env: &OcfEnv, strictness: Strictness) -> AgentResult<Parsed> {
    let mut r = Reader::new(raw, strictness);
    let clone = clone::parse(&mut r, env)?;
    let address = address::parse(&mut r, &clone)?;
    let ip = address.ip;
    let lvs = parse_lvs(&mut r, ip)?;
    if lvs.support && clone.max > 1 {
        return Err(AgentError::configured("LVS and load sharing do not go together well"));
    }
    let preferred_source = r.flag("preferred_source")?;
    let cluster_ip = match clone.shares_address() {
        true => Some(cluster::parse(&mut r, ip, &clone)?),
        false => None,
    };
    if cluster_ip.is_some() && preferred_source {
        // Connections a node opens from a shared address get their answers
        // hashed to any node.
        return Err(AgentError::configured(
            "preferred_source cannot be used with a cluster IP (clone-max > 1)",
        ));
    }
    let virtual_mac = parse_virtual_mac(&mut r, &clone, &address, &lvs, cluster_ip.is_some())?;
    let params = Params {
        ip,
        nic: address.nic,
        label_suffix: address.label_suffix,
        prefix: address.prefix,
        broadcast: address.broadcast,
        proto: address.proto,
        network_namespace: address.network_namespace,
        lvs,
        flush_routes: r.flag("flush_routes")?,
        kill_connections_on_stop: r.flag("kill_connections_on_stop")?,
        repair_removed: r.flag("repair_removed")?,
        nodad: r.flag("nodad")?,
        noprefixroute: r.flag("noprefixroute")?,
        preferred_lft: r.with_default("preferred_lft", Lifetime::Forever, values::lifetime)?,
        metric: r.optional("metric", None, |given| {
            given.map(|v| values::integer("metric", v, 0, u64::from(u32::MAX)).map(|n| n as u32)).transpose()
        })?,
        metrics_dir: r.optional("metrics_dir", None, |given| given.map(values::absolute_dir).transpose())?,
        check_link_status: match r.given("check_link_status") {
            Some(_) => Some(r.flag("check_link_status")?),
            None => None,
        },
        require_maintenance_address: r.flag("require_maintenance_address")?,
        preferred_source,
        allow_missing_subnet: r.flag("allow_missing_subnet")?,
        ping: ping::parse(&mut r, ip)?,
        announce: announce::parse_announce(&mut r, ip)?,
        probe: announce::parse_probe(&mut r)?,
        cluster_ip,
        virtual_mac,
    };
    Ok(Parsed { params, warnings: r.warnings })
}

/// `virtual_mac`, refused where the VIP cannot have a MAC of its own: a
/// cluster IP (every node answers with one shared multicast MAC), an LVS
/// real server's address (its copy on lo is what answers), a label (the
/// address lives on the resource's own interface, whose name the label
/// would have to start with), and one fixed MAC for instances that each
/// have their own address.
fn parse_virtual_mac(
    r: &mut Reader,
    clone: &clone::CloneMeta,
    address: &address::AddressParams,
    lvs: &LvsParams,
    cluster_ip: bool,
) -> AgentResult<Option<VirtualMac>> {
    r.optional("virtual_mac", None, |given| {
        let Some(text) = given else { return Ok(None) };
        let mac = virtual_mac::parse(text)?;
        let conflict = if cluster_ip {
            Some("a cluster IP (clone-max > 1) answers with one shared multicast MAC on every node")
        } else if lvs.support {
            Some("lvs_support moves an LVS real server's copy on lo, which answers with the node's MAC")
        } else if address.label_suffix.is_some() {
            Some("the address lives on the resource's own interface, so it takes no iflabel")
        } else if clone.unique_address && matches!(mac, VirtualMac::Fixed(_)) {
            Some("each instance of unique_clone_address needs a MAC of its own: use virtual_mac=auto")
        } else {
            None
        };
        match conflict {
            Some(why) => Err(format!("virtual_mac cannot be used here: {why}")),
            None => Ok(Some(mac)),
        }
    })
}

/// The LVS settings; the IPv6 address label applies to IPv6 VIPs only.
fn parse_lvs(r: &mut Reader, ip: IpAddr) -> AgentResult<LvsParams> {
    let support = r.identity_flag("lvs_support")?;
    if support && ip.is_ipv6() {
        return Err(AgentError::configured(
            "lvs_support is for IPv4; for IPv6 LVS-DR use lvs_ipv6_addrlabel",
        ));
    }
    // On by default since resource-agents 4.15, which stopped refusing it for IPv4.
    let ipv6_label = match r.identity_flag("lvs_ipv6_addrlabel")? && ip.is_ipv6() {
        true => {
            let name = "lvs_ipv6_addrlabel_value";
            let default = spec::find(name).map(|p| p.default).unwrap_or_default();
            let max = u64::from(u32::MAX - 1);
            Some(r.identity(name, |given| values::integer(name, given.unwrap_or(default), 0, max))? as u32)
        }
        false => None,
    };
    Ok(LvsParams { support, ipv6_label })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn raw(pairs: &[(&str, &str)]) -> RawParams {
        RawParams::from_vars(pairs.iter().map(|(k, v)| (format!("OCF_RESKEY_{k}"), v.to_string())))
    }

    fn env() -> OcfEnv {
        OcfEnv::from_lookup(|_| None)
    }

    fn strict(pairs: &[(&str, &str)]) -> AgentResult<Parsed> {
        parse(&raw(pairs), &env(), Strictness::Strict)
    }

    fn lenient(pairs: &[(&str, &str)]) -> AgentResult<Parsed> {
        parse(&raw(pairs), &env(), Strictness::Lenient)
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
        assert_eq!(p.check_link_status, None, "the distribution's default applies");
        assert!(!p.lvs.support && !p.flush_routes && !p.nodad && !p.noprefixroute);
        assert_eq!(p.lvs.ipv6_label, None, "no address label for IPv4");
        assert_eq!(p.preferred_lft, Lifetime::Forever);
        assert!(parsed.warnings.is_empty());
        let v6 = strict(&[("ip", "2001:db8::5")]).unwrap().params;
        assert!(!v6.announce.background, "arp_bg defaults to false for IPv6");
        assert_eq!(v6.lvs.ipv6_label, Some(99));
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
    fn ipaddr2s_label_spellings_are_taken_as_it_takes_them() {
        let label = |pairs: &[(&str, &str)]| {
            let p = strict(pairs).unwrap().params;
            (p.nic.unwrap_or_default(), p.label_suffix)
        };
        assert_eq!(label(&[("ip", "10.0.0.5"), ("nic", "eth0:")]), ("eth0".into(), None));
        // The label part of nic wins over iflabel, even an empty one.
        assert_eq!(label(&[("ip", "10.0.0.5"), ("nic", "eth0:"), ("iflabel", "web")]), ("eth0".into(), None));
        assert_eq!(label(&[("ip", "10.0.0.5"), ("nic", "eth0:a:b")]), ("eth0".into(), Some("a:b".into())));
        assert_eq!(
            label(&[("ip", "10.0.0.5"), ("nic", "eth0"), ("iflabel", "a:b")]),
            ("eth0".into(), Some("a:b".into()))
        );
        // The whole label still has to fit the kernel's limit.
        let long = strict(&[("ip", "10.0.0.5"), ("nic", "eth0"), ("iflabel", "a:bcdefghijk")]);
        assert_eq!(long.unwrap_err().exit, crate::ocf::ExitCode::ErrConfigured);
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
            &[("ip", "2001:db8::5"), ("lvs_ipv6_addrlabel_value", "-1")],
            &[("ip", "2001:db8::5"), ("lvs_support", "true")],
            &[("ip", "fe80::5")],
            &[("ip", "127.0.0.2"), ("nic", "eth0")],
            &[("ip", "127.0.0.1")],
            &[("ip", "::1")],
            &[("ip", "10.0.0.5"), ("nic", "eth0;reboot")],
            &[("ip", "10.0.0.5"), ("ping_list", "10.0.0.1 host")],
            &[("ip", "10.0.0.5"), ("ping_list", "2001:db8::1")],
            &[("ip", "10.0.0.5"), ("ping_list", "224.0.0.1")],
            &[("ip", "10.0.0.5"), ("ping_list", "10.0.0.5")],
            &[("ip", "10.0.0.5"), ("ping_timeout", "0")],
            &[("ip", "10.0.0.5"), ("ping_on_start", "true")],
            &[("ip", "10.0.0.5"), ("proto", "kernl")],
        ];
        for case in cases {
            let err = strict(case).expect_err(&format!("{case:?} accepted"));
            assert_eq!(err.exit, crate::ocf::ExitCode::ErrConfigured, "{case:?}");
        }
    }

    #[test]
    fn unique_clone_address_needs_a_clone_pacemaker_says_is_globally_unique() {
        let pairs = raw(&[("ip", "10.0.0.5"), ("unique_clone_address", "true")]);
        let clone = |unique: Option<&str>| {
            let unique = unique.map(str::to_string);
            OcfEnv::from_lookup(move |key| match key {
                "OCF_RESKEY_CRM_meta_clone" => Some("2".into()),
                "OCF_RESKEY_CRM_meta_clone_max" => Some("3".into()),
                "OCF_RESKEY_CRM_meta_globally_unique" => unique.clone(),
                _ => None,
            })
        };
        let ip = |env: &OcfEnv| parse(&pairs, env, Strictness::Strict).map(|p| p.params.ip.to_string());
        assert_eq!(ip(&clone(Some("true"))).unwrap(), "10.0.0.7");
        let refused = ip(&clone(Some("false"))).unwrap_err();
        assert_eq!(refused.exit, crate::ocf::ExitCode::ErrConfigured);
        // A primitive: refused as IPaddr2 refuses it, but stop still
        // finds instance 0's address.
        let refused = ip(&env()).unwrap_err();
        assert_eq!(refused.exit, crate::ocf::ExitCode::ErrConfigured);
        assert!(refused.to_string().contains("no clone meta attributes"), "{refused}");
        let stop = parse(&pairs, &env(), Strictness::Lenient).unwrap();
        assert_eq!(stop.params.ip.to_string(), "10.0.0.5");
        assert!(stop.warnings.iter().any(|w| w.contains("globally_unique")), "{:?}", stop.warnings);
    }

    #[test]
    fn lenient_mode_ignores_what_removal_does_not_need() {
        let parsed = lenient(&[("ip", "10.0.0.5"), ("arp_count", "lots"), ("arp_sender", "magic")]).unwrap();
        assert_eq!(parsed.params.announce.count, 5);
        assert_eq!(parsed.warnings.len(), 2);
        let opts = raw(&[("ip", "10.0.0.5"), ("send_arp_opts", "-A -c 2"), ("arp_count", "9")]);
        let a = parse(&opts, &env(), Strictness::Strict).unwrap().params.announce;
        assert_eq!((a.mode, a.count), (ArpMode::Reply, 2), "send_arp_opts wins over arp_count");
        assert!(lenient(&[("ip", "10.0.0.500")]).is_err());
    }

    #[test]
    fn stop_leniency_covers_every_parameter_that_does_not_identify_the_address() {
        let identifying = [
            "ip",
            "nic",
            "cidr_netmask",
            "netmask",
            "network_namespace",
            "unique_clone_address",
            "lvs_support",
            "lvs_ipv6_addrlabel",
            "lvs_ipv6_addrlabel_value",
        ];
        for spec in spec::PARAMS.iter().filter(|p| !identifying.contains(&p.name)) {
            for garbage in ["$(reboot)", "999999999999999999999", "-"] {
                let pairs = [("ip", "10.0.0.5"), ("nic", "eth0"), (spec.name, garbage)];
                let parsed = lenient(&pairs);
                assert!(parsed.is_ok(), "lenient parsing failed on {}={garbage}: {parsed:?}", spec.name);
            }
        }
        for (name, value) in
            [("ping_on_start", "true"), ("broadcast", "x"), ("iflabel", "a b"), ("proto", "?")]
        {
            let parsed = lenient(&[("ip", "10.0.0.5"), (name, value)]);
            assert!(parsed.is_ok(), "{name}={value}: {parsed:?}");
        }
    }

    #[test]
    fn a_value_that_is_not_utf8_is_named_not_dropped() {
        use std::os::unix::ffi::OsStringExt;
        let bad = |name: &str| {
            RawParams::from_os_vars([
                ("OCF_RESKEY_ip".into(), "10.0.0.5".into()),
                (format!("OCF_RESKEY_{name}").into(), std::ffi::OsString::from_vec(b"x\xffy".to_vec())),
            ])
        };
        for name in ["network_namespace", "nic", "arp_count"] {
            let err = parse(&bad(name), &env(), Strictness::Strict).unwrap_err();
            assert_eq!(err.exit, crate::ocf::ExitCode::ErrConfigured, "{name}");
            assert!(err.reason.contains(name) && err.reason.contains("UTF-8"), "{}", err.reason);
        }
        let err = parse(&bad("network_namespace"), &env(), Strictness::Lenient).unwrap_err();
        assert!(err.reason.contains("network_namespace"), "identifying parameters stay strict");
        let parsed = parse(&bad("arp_count"), &env(), Strictness::Lenient).unwrap();
        assert!(parsed.warnings.iter().any(|w| w.contains("arp_count")));
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
    fn virtual_mac_is_refused_where_the_vip_cannot_have_a_mac_of_its_own() {
        let mac = |pairs: &[(&str, &str)], env: &OcfEnv| parse(&raw(pairs), env, Strictness::Strict);
        let auto = ("virtual_mac", "auto");
        let p = mac(&[("ip", "10.0.0.5"), auto], &env()).unwrap().params;
        assert_eq!(p.virtual_mac, Some(VirtualMac::Derived));
        assert_eq!(mac(&[("ip", "10.0.0.5")], &env()).unwrap().params.virtual_mac, None);
        let clone = |unique: bool| {
            OcfEnv::from_lookup(move |key| match key {
                "OCF_RESKEY_CRM_meta_clone_max" => Some("2".into()),
                "OCF_RESKEY_CRM_meta_clone" => Some("1".into()),
                "OCF_RESKEY_CRM_meta_globally_unique" => unique.then(|| "true".into()),
                _ => None,
            })
        };
        let fixed = ("virtual_mac", "02:00:5e:10:00:32");
        for (pairs, env, why) in [
            (vec![("ip", "10.0.0.5"), auto], clone(false), "cluster IP"),
            (vec![("ip", "10.0.0.5"), auto, ("lvs_support", "true")], env(), "lvs_support"),
            (vec![("ip", "10.0.0.5"), auto, ("iflabel", "web")], env(), "iflabel"),
            (vec![("ip", "10.0.0.5"), fixed, ("unique_clone_address", "true")], clone(true), "auto"),
        ] {
            let err = mac(&pairs, &env).unwrap_err();
            assert_eq!(err.exit, crate::ocf::ExitCode::ErrConfigured, "{pairs:?}");
            assert!(err.reason.contains(why), "{pairs:?}: {}", err.reason);
            // Stop still parses: the record says what start created.
            assert!(parse(&raw(&pairs), &env, Strictness::Lenient).is_ok(), "{pairs:?}");
        }
        let unique = mac(&[("ip", "10.0.0.5"), auto, ("unique_clone_address", "true")], &clone(true));
        assert_eq!(
            unique.unwrap().params.virtual_mac,
            Some(VirtualMac::Derived),
            "auto gives each instance its own"
        );
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
            assert!(parse(&raw(&[("ip", "10.0.0.5"), bad]), &env, Strictness::Lenient).is_ok(), "{bad:?}");
        }
        let source = raw(&[("ip", "10.0.0.5"), ("preferred_source", "true")]);
        assert!(parse(&source, &env, Strictness::Strict).is_err(), "preferred_source in a cluster IP");
        let bad_mac = raw(&[("ip", "10.0.0.5"), ("mac", "00:11:22:33:44:55")]);
        assert!(parse(&bad_mac, &env, Strictness::Strict).is_err());
        let good_mac = raw(&[("ip", "10.0.0.5"), ("mac", "01:11:22:33:44:5f")]);
        let cip = parse(&good_mac, &env, Strictness::Strict).unwrap().params.cluster_ip.unwrap();
        assert_eq!(cip.mac, Some(crate::packet::Mac(1, 0x11, 0x22, 0x33, 0x44, 0x5f)));
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
