//! The table of every parameter the agent accepts: IPaddr2's parameters
//! (resource-agents 4.12 and later) under the same names and defaults, plus
//! our own. `ocf-metadata/IPaddr.xml` documents the same table; a unit test
//! keeps the two in step.

/// The OCF content type of a parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    String,
    Boolean,
    Integer,
}

impl Kind {
    /// The name the metadata uses.
    #[cfg_attr(not(test), allow(dead_code))]
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Boolean => "boolean",
            Kind::Integer => "integer",
        }
    }
}

/// One parameter: its OCF name, its command-line flag and its default.
#[derive(Debug)]
pub struct ParamSpec {
    pub name: &'static str,
    /// The long flag for direct invocation (`--cidr-netmask`).
    pub flag: &'static str,
    pub kind: Kind,
    pub default: &'static str,
    /// Documented in the metadata; the consistency test reads them.
    #[cfg_attr(not(test), allow(dead_code))]
    pub required: bool,
    #[cfg_attr(not(test), allow(dead_code))]
    /// OCF 1.1's `unique-group`: no two resources may share the values of
    /// every parameter of the group. The address's is `ip` with `nic` and
    /// `network_namespace`: one gateway address on several VLANs is one
    /// resource per VLAN.
    pub unique_group: Option<&'static str>,
    /// Pacemaker may change it with `reload-agent` instead of a restart:
    /// the agent reads it afresh in every action, and a running VIP does
    /// not depend on it.
    #[cfg_attr(not(test), allow(dead_code))]
    pub reloadable: bool,
    pub shortdesc: &'static str,
}

impl ParamSpec {
    const fn reloadable(self) -> ParamSpec {
        ParamSpec { reloadable: true, ..self }
    }
}

const fn spec(
    name: &'static str,
    flag: &'static str,
    kind: Kind,
    default: &'static str,
    shortdesc: &'static str,
) -> ParamSpec {
    ParamSpec { name, flag, kind, default, required: false, unique_group: None, reloadable: false, shortdesc }
}

use Kind::{Boolean, Integer, String as Str};

/// Every parameter, in metadata order.
pub const PARAMS: &[ParamSpec] = &[
    ParamSpec {
        required: true,
        unique_group: Some("address"),
        ..spec("ip", "ip", Str, "", "IPv4 or IPv6 address")
    },
    ParamSpec { unique_group: Some("address"), ..spec("nic", "nic", Str, "", "Network interface") },
    spec("cidr_netmask", "cidr-netmask", Str, "", "CIDR netmask"),
    spec("netmask", "netmask", Str, "", "CIDR netmask (deprecated alias)"),
    spec("broadcast", "broadcast", Str, "", "Broadcast address"),
    spec("proto", "proto", Str, "", "Route protocol to match when finding the network"),
    spec("iflabel", "iflabel", Str, "", "Interface label"),
    spec("lvs_support", "lvs-support", Boolean, "false", "Enable support for LVS DR"),
    spec("lvs_ipv6_addrlabel", "lvs-ipv6-addrlabel", Boolean, "true", "Enable adding IPv6 address label"),
    spec("lvs_ipv6_addrlabel_value", "lvs-ipv6-addrlabel-value", Integer, "99", "IPv6 address label value"),
    spec("mac", "mac", Str, "", "Cluster IP MAC address"),
    spec("clusterip_hash", "clusterip-hash", Str, "sourceip-sourceport", "Cluster IP hashing function"),
    spec("clusterip_firewall", "clusterip-firewall", Str, "auto", "Cluster IP firewall back end"),
    spec("clusterip_hash_seed", "clusterip-hash-seed", Str, "", "Cluster IP hash seed"),
    spec("clusterip_table", "clusterip-table", Str, "mangle", "Cluster IP iptables table"),
    spec("clusterip_chain", "clusterip-chain", Str, "PREROUTING", "Cluster IP iptables chain"),
    spec(
        "clusterip_mac_mangle",
        "clusterip-mac-mangle",
        Boolean,
        "false",
        "Cluster IP ARP source MAC mangling",
    ),
    spec(
        "unique_clone_address",
        "unique-clone-address",
        Boolean,
        "false",
        "Create a unique address for cloned instances",
    ),
    spec("arp_interval", "arp-interval", Integer, "200", "ARP/NA packet interval in ms").reloadable(),
    spec("arp_count", "arp-count", Integer, "5", "ARP/NA packet count sent during initialization")
        .reloadable(),
    spec(
        "arp_count_refresh",
        "arp-count-refresh",
        Integer,
        "0",
        "ARP/NA packet count sent during monitoring",
    )
    .reloadable(),
    spec("arp_bg", "arp-bg", Str, "", "ARP/NA from background").reloadable(),
    spec("arp_sender", "arp-sender", Str, "", "ARP sender (all values use the built-in sender)").reloadable(),
    spec("send_arp_opts", "send-arp-opts", Str, "", "Options for the ARP sender").reloadable(),
    spec("arp_mode", "arp-mode", Str, "both", "Gratuitous ARP form: request, reply or both").reloadable(),
    spec("arp_target", "arp-target", Str, "", "Also announce to this IPv4 host (e.g. the gateway)")
        .reloadable(),
    spec(
        "announce_rate_limit",
        "announce-rate-limit",
        Integer,
        "0",
        "Most ARP/NA frames per second on an interface, shared by all VIPs (0: no limit)",
    )
    .reloadable(),
    spec("probe_count", "probe-count", Integer, "2", "Duplicate-address probes before start (0: none)")
        .reloadable(),
    spec("probe_interval", "probe-interval", Integer, "2", "Milliseconds between duplicate-address probes")
        .reloadable(),
    spec("probe_wait", "probe-wait", Integer, "8", "Milliseconds to listen after the last probe")
        .reloadable(),
    spec("probe_rfc5227", "probe-rfc5227", Boolean, "false", "Probe with RFC 5227's full timing")
        .reloadable(),
    spec("flush_routes", "flush-routes", Boolean, "false", "Flush kernel routing table on stop"),
    spec(
        "kill_connections_on_stop",
        "kill-connections-on-stop",
        Boolean,
        "false",
        "Reset the VIP's TCP connections on stop, so clients reconnect at once",
    )
    .reloadable(),
    spec(
        "repair_removed",
        "repair-removed",
        Boolean,
        "true",
        "Put the VIP back at once when another process removes it",
    ),
    spec("run_arping", "run-arping", Str, "false", "Probe for an IPv4 address conflict before start")
        .reloadable(),
    spec("nodad", "nodad", Str, "false", "Use nodad flag"),
    spec("noprefixroute", "noprefixroute", Str, "false", "Use noprefixroute flag"),
    spec("preferred_lft", "preferred-lft", Str, "forever", "IPv6 preferred lifetime"),
    spec("metric", "metric", Integer, "", "Metric of the route to the VIP's subnet"),
    ParamSpec {
        unique_group: Some("address"),
        ..spec("network_namespace", "network-namespace", Str, "", "Network namespace to use")
    },
    spec(
        "check_link_status",
        "check-link-status",
        Str,
        "true",
        "Consider the resource failed if the interface is down",
    )
    .reloadable(),
    spec(
        "require_maintenance_address",
        "require-maintenance-address",
        Boolean,
        "false",
        "Refuse a VIP that would be the node's only address in its subnet",
    )
    .reloadable(),
    spec("ping_list", "ping-list", Str, "", "Hosts to ping from the VIP at OCF_CHECK_LEVEL 10").reloadable(),
    spec("ping_broadcast", "ping-broadcast", Boolean, "false", "Ping the VIP's broadcast address instead")
        .reloadable(),
    spec("ping_timeout", "ping-timeout", Integer, "1000", "Milliseconds to wait for a ping answer")
        .reloadable(),
    spec("ping_on_start", "ping-on-start", Boolean, "false", "Fail the start when no ping is answered")
        .reloadable(),
    spec(
        "preferred_source",
        "preferred-source",
        Boolean,
        "false",
        "Make the VIP the source address for its subnet",
    ),
    spec(
        "allow_missing_subnet",
        "allow-missing-subnet",
        Boolean,
        "false",
        "Start without the address where its subnet is absent (multi-site)",
    ),
    spec(
        "virtual_mac",
        "virtual-mac",
        Str,
        "",
        "Give the VIP its own MAC on a macvlan interface (a MAC, or auto)",
    ),
    spec("metrics_dir", "metrics-dir", Str, "", "Directory for Prometheus textfile metrics (node_exporter)")
        .reloadable(),
];

/// Looks a parameter up by its OCF name.
pub fn find(name: &str) -> Option<&'static ParamSpec> {
    PARAMS.iter().find(|p| p.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_the_names_with_dashes() {
        for p in PARAMS {
            assert_eq!(p.flag, p.name.replace('_', "-"), "flag of {}", p.name);
        }
    }

    #[test]
    fn names_are_unique() {
        for (i, p) in PARAMS.iter().enumerate() {
            assert!(PARAMS[i + 1..].iter().all(|q| q.name != p.name), "{} twice", p.name);
        }
    }
}
