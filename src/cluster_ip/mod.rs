//! The load-shared cluster IP (IPaddr2's clone mode): every node holds the
//! VIP, answers ARP for it with one shared multicast MAC so that the switch
//! delivers each client's packets to all nodes, and a packet filter lets
//! through only the hash buckets of the clone instances running here.
//!
//! The filter is nftables, programmed by running `nft -f -` with the rules
//! on standard input (never a shell), or iptables with its `cluster` match.
//! Why a program and not netlink: the Rust nftables-over-netlink crates
//! either bind the C libnftnl (which our static build cannot carry) or do not
//! cover the expressions needed here (jhash, setting the packet type), while
//! `nft` is the interface netfilter's own developers keep stable. It runs
//! only in start and stop, and once per monitor of a clone.

pub mod iptables;
pub mod maddr;
pub mod nft;
mod program;

use crate::packet::Mac;
use crate::params::{ClusterHash, ClusterIpParams, Firewall};
use std::io;
use std::net::IpAddr;

pub use program::find as find_program;

/// Everything the filter rules need, resolved for one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub vip: IpAddr,
    pub nic: String,
    pub mac: Mac,
    pub seed: u32,
    pub total: u32,
    pub bucket: u32,
    pub hash: ClusterHash,
    pub backend: Backend,
    /// iptables table and chain.
    pub table: String,
    pub chain: String,
}

/// The filter that is actually used.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Nft,
    Iptables,
}

impl Backend {
    /// The back end `firewall` asks for; `auto` takes nftables when
    /// `installed` says `nft` is there.
    pub fn chosen(firewall: Firewall, installed: impl Fn(&str) -> bool) -> Backend {
        match firewall {
            Firewall::Nft => Backend::Nft,
            Firewall::Iptables => Backend::Iptables,
            Firewall::Auto if installed("nft") => Backend::Nft,
            Firewall::Auto => Backend::Iptables,
        }
    }
}

impl Plan {
    /// The plan for `cip` with the VIP on `nic`, filtered by `backend`.
    pub fn new(vip: IpAddr, nic: &str, cip: &ClusterIpParams, backend: Backend) -> Plan {
        Plan {
            vip,
            nic: nic.to_string(),
            mac: cip.mac.unwrap_or_else(|| derived_mac(vip)),
            seed: cip.seed.unwrap_or_else(|| derived_seed(vip)),
            total: cip.total_nodes,
            bucket: cip.local_node,
            hash: cip.hash,
            backend,
            table: cip.table.clone(),
            chain: cip.chain.clone(),
        }
    }
}

impl Plan {
    /// The program this plan's back end runs.
    pub fn program(&self) -> &'static str {
        match (self.backend, self.vip) {
            (Backend::Nft, _) => "nft",
            (Backend::Iptables, IpAddr::V4(_)) => "iptables",
            (Backend::Iptables, IpAddr::V6(_)) => "ip6tables",
        }
    }

    /// The buckets served on this node, or `None` when the VIP's filter
    /// (the rules every bucket shares) does not exist: one listing.
    pub fn served(&self) -> io::Result<Option<Vec<u32>>> {
        match self.backend {
            Backend::Nft => {
                Ok(nft::buckets(self)?.map(|rules| rules.into_iter().map(|(bucket, _)| bucket).collect()))
            }
            Backend::Iptables => Ok(iptables::is_set_up(self).then(|| iptables::buckets(self))),
        }
    }

    /// Creates the VIP's filter and joins the shared MAC on the NIC.
    pub fn set_up(&self) -> io::Result<()> {
        match self.backend {
            Backend::Nft => nft::apply(&nft::setup_script(self))?,
            Backend::Iptables => iptables::setup(self)?,
        }
        maddr::join(&self.nic, self.mac)
    }

    /// Removes the VIP's filter and leaves the shared MAC; every step is tried.
    pub fn tear_down(&self) -> io::Result<()> {
        let filter = match self.backend {
            Backend::Nft => nft::apply(&nft::teardown_script(self)),
            Backend::Iptables => iptables::teardown(self),
        };
        let membership = maddr::leave(&self.nic, self.mac);
        filter.and(membership)
    }

    /// Leaves the shared MAC when the filter is gone already: a teardown
    /// killed between the two leaves the membership alone behind.
    /// Without a NIC there is nothing to leave.
    pub fn leave_shared_mac(&self) -> io::Result<()> {
        if self.nic.is_empty() {
            return Ok(());
        }
        match maddr::leave(&self.nic, self.mac) {
            Err(err) if err.raw_os_error() == Some(nix::libc::ENODEV) => Ok(()),
            left => left,
        }
    }

    pub fn add_bucket(&self, bucket: u32) -> io::Result<()> {
        match self.backend {
            Backend::Nft => nft::apply(&nft::bucket_script(self, bucket)),
            Backend::Iptables => iptables::add_bucket(self, bucket),
        }
    }

    pub fn delete_bucket(&self, bucket: u32) -> io::Result<()> {
        match self.backend {
            Backend::Nft => {
                let rules = nft::buckets(self)?.unwrap_or_default();
                let script: String = rules
                    .iter()
                    .filter(|(b, _)| *b == bucket)
                    .map(|(_, handle)| nft::delete_rule_script(self, *handle))
                    .collect();
                if script.is_empty() { Ok(()) } else { nft::apply(&script) }
            }
            Backend::Iptables => iptables::delete_bucket(self, bucket),
        }
    }
}

/// FNV-1a: small, stable across builds and machines, which is all a value
/// every node must derive alike needs.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3))
}

/// The shared MAC when `mac` is not set: derived from the address, with
/// the multicast and locally-administered bits set (IPv6: 33:33 prefix, as
/// IPaddr2 does).
pub fn derived_mac(vip: IpAddr) -> Mac {
    let bytes = fnv1a(vip.to_string().as_bytes()).to_be_bytes();
    let mut mac = [bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5]];
    if vip.is_ipv6() {
        mac[0] = 0x33;
        mac[1] = 0x33;
    } else {
        mac[0] = (mac[0] & 0xfc) | 0x03;
    }
    Mac::from(mac)
}

/// The hash seed when `clusterip_hash_seed` is not set: derived from the
/// address, so every node of the clone uses the same one.
pub fn derived_seed(vip: IpAddr) -> u32 {
    (fnv1a(format!("seed {vip}").as_bytes()) >> 32) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_macs_are_multicast_and_stable() {
        let v4: IpAddr = "192.0.2.60".parse().unwrap();
        let mac = derived_mac(v4);
        assert!(mac.is_multicast());
        assert!(mac.is_local(), "locally administered");
        assert_eq!(mac, derived_mac(v4), "every node derives the same MAC");
        assert_ne!(mac, derived_mac("192.0.2.61".parse().unwrap()));
        let v6 = derived_mac("2001:db8::60".parse().unwrap());
        assert_eq!(&v6.octets()[..2], &[0x33, 0x33]);
    }

    #[test]
    fn seeds_are_stable_and_differ_between_addresses() {
        let a: IpAddr = "192.0.2.60".parse().unwrap();
        assert_eq!(derived_seed(a), derived_seed(a));
        assert_ne!(derived_seed(a), derived_seed("192.0.2.61".parse().unwrap()));
    }

    #[test]
    fn auto_prefers_nft() {
        let cip = ClusterIpParams {
            total_nodes: 3,
            local_node: 2,
            hash: ClusterHash::SourceIp,
            seed: Some(7),
            firewall: Firewall::Auto,
            table: "mangle".into(),
            chain: "PREROUTING".into(),
            mac: None,
        };
        let vip: IpAddr = "192.0.2.60".parse().unwrap();
        assert_eq!(Backend::chosen(cip.firewall, |_| true), Backend::Nft);
        assert_eq!(Backend::chosen(cip.firewall, |_| false), Backend::Iptables);
        let forced = ClusterIpParams { firewall: Firewall::Iptables, ..cip };
        let plan = Plan::new(vip, "eth0", &forced, Backend::chosen(forced.firewall, |_| true));
        assert_eq!((plan.backend, plan.seed, plan.bucket, plan.total), (Backend::Iptables, 7, 2, 3));
    }
}
