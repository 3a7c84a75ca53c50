//! Everything the agent keeps on disk, and the only code that names, reads,
//! writes or locks those files. Files are JSON (serde_json), written
//! atomically through exclusively created temporary files with random
//! names, and opened without following symlinks and without blocking, so
//! that nothing planted under a name the agent uses (a FIFO, a socket, a
//! device, a symlink, a directory) can hang an action or be written
//! through. Locks wait at most until the action's deadline.
//!
//! | file (`HA_RSCTMP`, per resource: `IPaddr-<kind>-<key>`) | owner | lock |
//! |---|---|---|
//! | `vip`: what start added | `vip::record` | none: one writer (start), atomic |
//! | `history`: events, one JSON object a line | `observe::history` | `observe-lock` |
//! | `metrics`: the counters and last results the textfile shows | `observe::metrics` | `observe-lock` |
//! | `announce`: the background announcer's lock | `background` | POSIX lock held by the announcer |
//! | `lvs`: the loopback copy lvs_support took | `vip::lvs` | none: start and stop |
//! | `nosubnet`: started without the address | `vip::multisite` | none: start and stop |
//! | `srcroutes`: routes preferred_source took over | `vip::source_routes` | the interface's `srcroutes-lock` |
//! | `converge`: the gateways asked since the add, and which answered | `vip::convergence` | none: atomic, the last writer's |
//! | `action-lock`: start, stop, recover and reload-agent of one resource take turns | `vip` | flock |
//! | `observe-lock`: serialises the actions that record history and metrics | `observe` | flock |
//! | `watch`: the watcher's lock | `background`, `vip::repair` | POSIX lock held by the watcher |
//! | `repaired`: what the watcher put back or refused to, for the next monitor | `vip::repair` | none: atomic, taken away as it is read |
//!
//! | shared file (`key::Shared`) | owner | lock |
//! |---|---|---|
//! | `IPaddr-clusterip-lock-<ns>-<ip>`: shared by a clone's instances | `vip::cluster` | flock |
//! | `IPaddr-srcroutes-lock-<ns>-<ifindex>`: shared by an interface's VIPs | `vip::source_routes` | flock |
//! | `IPaddr-pace-<ns>-<ifindex>`: the frames an interface's VIPs sent and promised | `vip::pacing` | `pace-lock-<ns>-<ifindex>` |
//! | `IPaddr-vmac-parent-<ns>-<ifindex>`: the virtual_mac VIPs holding a parent's `arp_ignore` | `vip::virtual_link` | `vmac-parent-lock-<ns>-<ifindex>` |
//! | `metrics_dir/ocf_ipaddr_<resource>.prom`: node_exporter's textfile, 0644 | `observe::metrics` | `observe-lock` |

mod dir;
pub mod key;
pub mod legacy;
pub mod textfile;

pub use dir::RunDir;
pub use key::{Kind, ResourceKey};
