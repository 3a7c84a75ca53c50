//! The OCF 1.1 `recover` action puts the VIP right in place: re-added after
//! someone deleted it, taken back from another NIC it was moved to, and
//! announced again in every case so clients follow.

mod common;
use common::{Lab, neighbor_mac, no_neighbor_locktime, ocf, stale_neighbor, wait_for};
use std::time::Duration;

/// Without the watcher, which would put a deleted VIP back before recover
/// is asked to (tests/self_healing.rs).
const PARAMS: [(&str, &str); 5] = [
    ("ip", "192.0.2.50"),
    ("cidr_netmask", "24"),
    ("nic", "eth0"),
    ("arp_bg", "false"),
    ("repair_removed", "false"),
];

fn client_follows(lab: &Lab) -> bool {
    let mac = lab.node.mac("eth0");
    wait_for(Duration::from_millis(300), || {
        neighbor_mac(&lab.client, "192.0.2.50").as_deref() == Some(mac.as_str())
    })
    .is_some()
}

#[test]
fn recover_re_adds_a_deleted_vip_and_announces_it() {
    let lab = Lab::new();
    no_neighbor_locktime(&lab.client);
    assert_eq!(lab.agent("start", &PARAMS).code, ocf::SUCCESS);
    lab.node.ip(&["addr", "del", "192.0.2.50/24", "dev", "eth0"]);
    stale_neighbor(&lab.client, "192.0.2.50", "02:00:00:00:00:99");
    assert_eq!(lab.agent("monitor", &PARAMS).code, ocf::NOT_RUNNING);
    let run = lab.agent("recover", &PARAMS);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert!(lab.node.has_address("eth0", "192.0.2.50/24"));
    assert_eq!(lab.agent("monitor", &PARAMS).code, ocf::SUCCESS);
    assert!(client_follows(&lab));
}

/// A node with eth1 beside eth0, where the VIP started on eth0 was moved
/// by hand to eth1.
fn vip_moved_to_eth1() -> Lab {
    let lab = Lab::new();
    lab.add_eth1();
    assert_eq!(lab.agent("start", &PARAMS).code, ocf::SUCCESS);
    lab.node.ip(&["addr", "del", "192.0.2.50/24", "dev", "eth0"]);
    lab.node.ip(&["addr", "add", "192.0.2.50/24", "dev", "eth1"]);
    lab
}

#[test]
fn recover_takes_the_vip_back_from_another_nic() {
    let lab = vip_moved_to_eth1();
    assert_eq!(lab.agent("monitor", &PARAMS).code, ocf::ERR_GENERIC);
    let run = lab.agent("recover", &PARAMS);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert!(lab.node.has_address("eth0", "192.0.2.50/24"));
    assert!(!lab.node.has_address("eth1", "192.0.2.50/24"));
    assert_eq!(lab.agent("monitor", &PARAMS).code, ocf::SUCCESS);
}

#[test]
fn recover_of_a_healthy_vip_only_announces_it_again() {
    let lab = Lab::new();
    no_neighbor_locktime(&lab.client);
    assert_eq!(lab.agent("start", &PARAMS).code, ocf::SUCCESS);
    let before = lab.node.snapshot();
    stale_neighbor(&lab.client, "192.0.2.50", "02:00:00:00:00:99");
    assert_eq!(lab.agent("recover", &PARAMS).code, ocf::SUCCESS);
    assert_eq!(lab.node.snapshot(), before);
    assert!(client_follows(&lab));
}

#[test]
fn recover_is_advertised_in_the_metadata() {
    let lab = Lab::new();
    assert!(lab.agent("meta-data", &[]).stdout.contains("<action name=\"recover\""));
}

#[test]
fn recover_taking_back_the_primary_of_its_subnet_on_another_nic_keeps_that_nics_other_addresses() {
    // On eth1 the VIP is the first (primary) address of 192.0.2.0/24, and
    // another address of that subnet comes after it.
    let lab = vip_moved_to_eth1();
    lab.node.ip(&["addr", "add", "192.0.2.77/24", "dev", "eth1"]);
    let run = lab.agent("recover", &PARAMS);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert!(lab.node.has_address("eth0", "192.0.2.50/24"));
    assert!(!lab.node.has_address("eth1", "192.0.2.50/24"));
    assert!(
        lab.node.has_address("eth1", "192.0.2.77/24"),
        "the kernel deletes a primary's secondaries with it unless promote_secondaries is on:\n{}",
        lab.node.snapshot()
    );
}
