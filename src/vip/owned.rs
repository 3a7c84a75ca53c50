//! What every part of a resource (see `parts`) knows once start applied
//! it: whether it still holds, and how it comes off, and why.

use super::place::Site;
use crate::error::AgentResult;
use crate::netlink::AddressEntry;

/// Why an address of this resource is removed: only stop's removal resets
/// the address's connections (`kill_connections_on_stop`); the others keep
/// the VIP on this node (recover taking it back from another interface,
/// start taking over an LVS real server's copy on lo, whose connections
/// the real server still serves) or undo a start that never served it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Removal {
    /// Stop, or the last instance of a cluster IP stopping.
    Stop,
    /// A failed start undoing its own add.
    Rollback,
    /// Recover taking the address back from where it was moved, or start
    /// moving an unrecorded copy onto virtual_mac's interface.
    TakeBack,
    /// Start taking over an LVS real server's copy on lo.
    LoopbackHandOver,
}

/// What each part of a resource knows once start applied it: whether it
/// still holds, and how it comes off. Each removal decides from what the
/// resource recorded, never from the parameters as they are now.
pub trait OwnedPart {
    /// What drifted since start and was put back (the VIP served
    /// meanwhile); an error for what clients feel and this action could
    /// not put back. Most parts cannot drift in a way clients see: the
    /// loopback copy stays off lo while the VIP is up, the label only
    /// orders source choices, the announcer ends by itself, and the watcher
    /// is the monitor's own to start again once the rest holds.
    fn verify(&self, _site: &Site, _entry: &AddressEntry) -> AgentResult<Vec<String>> {
        Ok(Vec::new())
    }

    /// Takes the part off the node, as far as the record says it put it
    /// there, for `why`.
    fn remove(&self, why: Removal) -> AgentResult<()>;

    /// What of it is still on the node once removed (stop's last check),
    /// beyond the address itself, which stop looks for on its own.
    fn left_over(&self) -> Option<String> {
        None
    }
}
