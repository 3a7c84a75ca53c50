//! `kill_connections_on_stop`: the VIP's TCP connections are reset when it
//! leaves, so that every peer reconnects at once (to the node that takes
//! the VIP over) instead of waiting on a dead connection. Nothing here
//! fails a stop: a kernel that cannot reset connections gets a warning.

use super::context::Vip;
use crate::netlink;
use crate::observe;
use crate::ocf::log;

impl Vip<'_> {
    /// Resets the VIP's connections when the parameter asks for it, pass
    /// after pass until one finds none left (a peer reconnects within a
    /// round trip of its reset, while the address is still here): run right
    /// before the address goes, so that the window for such a reconnection
    /// is as short as the deletion itself. Once the address is gone the
    /// kernel can no longer send a reset from it.
    ///
    /// `leaving` is the interface whose copy this stop removes next (`None`
    /// once it is gone). A connection does not say by which copy of an
    /// address it came, so while another copy stays on the node (another
    /// resource's on another NIC, an LVS real server's on lo, the copy other
    /// instances of a cluster IP keep) nothing is reset: those connections
    /// are not this resource's.
    pub fn reset_connections(&self, leaving: Option<u32>) {
        if !self.params.kill_connections_on_stop {
            return;
        }
        let ip = self.params.ip;
        match self.nl.interfaces_holding(ip) {
            Ok(holders) => {
                if let Some(other) = holders.into_iter().find(|ifindex| Some(*ifindex) != leaving) {
                    let nic = self
                        .lookup()
                        .site_by_index(other, "")
                        .map(|site| site.nic)
                        .unwrap_or_else(|_| other.to_string());
                    log::info(format!(
                        "kill_connections_on_stop: {ip} stays on this node (interface {nic}); its connections are not only this resource's, none reset"
                    ));
                    return;
                }
            }
            Err(err) => {
                log::warn(format!(
                    "kill_connections_on_stop: cannot tell where else {ip} is: {err}; none reset"
                ));
                return;
            }
        }
        for _ in 0..MAX_PASSES {
            let reset = self.reset_pass();
            if reset == 0 {
                return;
            }
            log::info(format!("reset {reset} TCP connections of {ip}"));
            observe::connections_reset(reset);
        }
    }

    /// One pass: how many connections the kernel reset.
    fn reset_pass(&self) -> u64 {
        let ip = self.params.ip;
        match netlink::reset_connections(ip) {
            Ok(resets) => {
                if resets.unsupported > 0 {
                    log::warn(format!(
                        "kill_connections_on_stop: this kernel cannot reset TCP connections (it lacks CONFIG_INET_DIAG_DESTROY); {} connections of {ip} are left to time out",
                        resets.unsupported
                    ));
                }
                resets.reset
            }
            Err(err) => {
                log::warn(format!("kill_connections_on_stop: resetting the TCP connections of {ip}: {err}"));
                0
            }
        }
    }
}

/// Passes before giving up on peers that keep reconnecting.
const MAX_PASSES: usize = 4;
