//! What every part of a resource (see `parts`) knows: how start applies
//! it, whether it still holds, and how it comes off, and why.

use super::place::{Site, Spot, Target};
use super::record::Record;
use super::wire::Wire;
use crate::error::AgentResult;
use crate::netlink::AddressEntry;

/// What a start carries from one part to the next.
pub struct Progress {
    /// What this start recorded so far (the label and the virtual link add
    /// to it, each before it is applied).
    pub record: Record,
    /// Where the address goes: the configured place, then virtual_mac's
    /// interface once that is up.
    pub target: Target,
    /// The raw socket the probes used, kept for the first announcement;
    /// none once the address moved onto virtual_mac's interface, which
    /// announces from its own.
    pub wire: Option<Wire>,
    /// Whether this start added the address, once it tried.
    pub added: Option<Added>,
}

impl Progress {
    pub fn spot(&self) -> Spot<'_> {
        Spot { site: &self.target.site, prefix: self.target.prefix }
    }
}

/// Whether an add put the address there or found it already added.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Added {
    /// This call added it: undo it if the start fails later.
    ByUs,
    /// A racing start of the same VIP added it first.
    Already,
}

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

/// What each part of a resource knows: how start puts it on the node,
/// whether it still holds, and how it comes off. Each removal decides from
/// what the resource recorded, never from the parameters as they are now.
pub trait OwnedPart {
    /// Puts the part on the node for a start that got as far as `start`.
    /// The part belongs to the resource as it was before this start (with
    /// an earlier, killed start's record, if any); from the address on,
    /// each part works from what this start recorded (`start.record`).
    fn apply(&self, start: &mut Progress) -> AgentResult<()>;

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
