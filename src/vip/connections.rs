//! `kill_connections_on_stop`: the VIP's TCP connections are reset when it
//! leaves, so that every peer reconnects at once (to the node that takes
//! the VIP over) instead of waiting on a dead connection. Nothing here
//! fails a stop: a kernel that cannot reset connections gets a warning.

use super::Vip;
use crate::netlink;
use crate::observe::{self, history::Event};
use crate::ocf::log;

impl Vip<'_> {
    /// Resets the VIP's connections when the parameter asks for it;
    /// returns how many the kernel reset.
    pub fn reset_connections(&self) -> u64 {
        if !self.params.kill_connections_on_stop {
            return 0;
        }
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

    /// Records what stop reset, once the address is gone.
    pub fn record_resets(&self, reset: u64) {
        if reset == 0 {
            return;
        }
        log::info(format!("reset {reset} TCP connections of {}", self.params.ip));
        observe::count("connections_reset", reset);
        observe::event(Event::ConnectionsReset { count: reset });
    }
}
