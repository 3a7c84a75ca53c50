//! This VIP in this action: the steps the actions compose. Every action
//! starts with `prepare` (record, parameters, namespace, netlink), then
//! works through a borrowed `Vip`: where the address is (`locate`), adding
//! and removing it (`address`), and the features around it (announcing,
//! deep checks, LVS, source routes, multi-site, the cluster IP).

pub mod address;
mod address_label;
pub mod announcing;
mod bring_up;
pub mod checks;
pub mod cluster;
mod connections;
pub mod context;
pub mod convergence;
pub mod identity;
pub mod locate;
mod loopback_copy;
pub mod lvs;
pub mod multisite;
pub mod owned;
mod pacing;
pub mod parts;
pub mod place;
mod prepare;
pub mod probing;
pub mod record;
pub mod repair;
pub mod source_routes;
mod tear_down;
mod upgrade;
pub mod virtual_link;
pub mod wire;

pub use context::Vip;
pub use place::{Foreign, Lack, Placement, Site, Spot, Target, Whereabouts};
pub use prepare::{Prepared, check_configuration_alone, configuration, prepare};
