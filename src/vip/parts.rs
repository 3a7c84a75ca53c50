//! What a resource puts on the node, as one list: the parts in the order
//! start applies them. Stop removes them in the reverse order, a start
//! that fails half-way undoes the parts it applied the same way, and
//! monitor asks each part that can drift whether it still holds. A mode
//! that adds something to the node adds its part here, and stop, rollback
//! and monitor take it with the others.
//!
//! Each part is a type of its own in the module of its mode, implementing
//! `OwnedPart` (apply, verify, remove); `Vip::owned` lists them. Each
//! removal decides from what the resource recorded, never from the
//! parameters as they are now: an admin who turns `repair_removed` or
//! `lvs_support` off while the VIP runs still gets a stop that ends the
//! watcher and gives the loopback copy back.

use super::context::Vip;
use super::owned::{OwnedPart, Removal};
use super::place::Site;
use crate::error::AgentResult;
use crate::netlink::AddressEntry;

/// One thing start puts on the node for a resource, in start's order (the
/// order of declaration, which `Ord` follows).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Part {
    /// `lvs_support`: the real server's copy on lo, taken away before the
    /// address is added and given back after it is removed.
    LoopbackCopy,
    /// The IPv6 address-selection label (`ip addrlabel`) of the address.
    AddressLabel,
    /// `virtual_mac`: the macvlan interface the address goes on, its source
    /// rule and routing table, and the parent's `arp_ignore` hold.
    VirtualLink,
    /// The address itself, with its tag, label, lifetimes and metric.
    Address,
    /// `preferred_source`: the subnet's routes whose source the VIP took over.
    SourceRoutes,
    /// The background announcer (`arp_bg`) and its rounds.
    Announcer,
    /// `repair_removed`: the watcher that puts a removed VIP back.
    Watcher,
}

impl Part {
    /// Every part, in the order start applies them.
    pub const ALL: [Part; 7] = [
        Part::LoopbackCopy,
        Part::AddressLabel,
        Part::VirtualLink,
        Part::Address,
        Part::SourceRoutes,
        Part::Announcer,
        Part::Watcher,
    ];

    /// The parts `bring_up` applies, in order: all but the watcher, which
    /// start and recover start once everything else holds (a cluster IP's
    /// instances have none, and a repair is the watcher's own doing).
    pub fn brought_up() -> impl Iterator<Item = Part> {
        Part::ALL.into_iter().filter(|part| *part != Part::Watcher)
    }

    /// The parts a start has applied once it got as far as `last`, last
    /// first: the order they come off in.
    pub fn applied_up_to(last: Part) -> impl Iterator<Item = Part> {
        Part::ALL.into_iter().rev().filter(move |part| *part <= last)
    }
}

impl<'a> Vip<'a> {
    /// `part` of this resource, as what knows how start applies it, whether
    /// it still holds, and how it comes off.
    pub fn owned(&self, part: Part) -> Box<dyn OwnedPart + 'a> {
        match part {
            Part::LoopbackCopy => Box::new(self.loopback_take_over()),
            Part::AddressLabel => Box::new(self.address_label()),
            Part::VirtualLink => Box::new(self.virtual_interface()),
            Part::Address => Box::new(self.own_address()),
            Part::SourceRoutes => Box::new(self.source_routes()),
            Part::Announcer => Box::new(self.announcer()),
            Part::Watcher => Box::new(self.watcher()),
        }
    }

    /// Takes `part` off the node, as far as this resource's record says it
    /// put it there; `why` says what the removal is for (only stop's
    /// removal of the address resets its connections).
    pub fn remove_part(&self, part: Part, why: Removal) -> AgentResult<()> {
        self.owned(part).remove(why)
    }

    /// Asks each part whether it still holds, for the address in place at
    /// `site` as `entry`: what drifted and was put back (the VIP served
    /// meanwhile), or an error for what clients feel and this action could
    /// not put back.
    pub fn verify_parts(&self, site: &Site, entry: &AddressEntry) -> AgentResult<Vec<String>> {
        let mut drifted = Vec::new();
        for part in Part::ALL {
            drifted.extend(self.owned(part).verify(site, entry)?);
        }
        Ok(drifted)
    }

    /// What of any part is still on the node after it was removed.
    pub fn parts_left_over(&self) -> Option<String> {
        Part::ALL.into_iter().find_map(|part| self.owned(part).left_over())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_come_off_in_the_reverse_of_start_order() {
        let stop: Vec<Part> = Part::applied_up_to(Part::Watcher).collect();
        let mut start = Part::ALL.to_vec();
        start.reverse();
        assert_eq!(stop, start);
        // The address goes after what depends on it and before what it sits on.
        let address = stop.iter().position(|p| *p == Part::Address);
        let routes = stop.iter().position(|p| *p == Part::SourceRoutes);
        let link = stop.iter().position(|p| *p == Part::VirtualLink);
        assert!(routes < address && address < link, "{stop:?}");
    }

    #[test]
    fn a_start_that_failed_before_the_address_undoes_only_what_came_before_it() {
        assert_eq!(
            Part::applied_up_to(Part::VirtualLink).collect::<Vec<_>>(),
            [Part::VirtualLink, Part::AddressLabel, Part::LoopbackCopy]
        );
        assert_eq!(Part::applied_up_to(Part::LoopbackCopy).collect::<Vec<_>>(), [Part::LoopbackCopy]);
    }
}
