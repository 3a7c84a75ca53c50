//! The VIP under a real NetworkManager that manages its interface:
//! `nmcli connection up` applies the connection's addresses and removes
//! every other one, and the resource's watcher puts the VIP back, naming
//! NetworkManager (docs/self-healing.md).
//!
//! NetworkManager runs inside the node's namespace with a private mount
//! namespace of its own (tmpfs over its configuration and state, its own
//! system bus for nmcli), started and ended by the test. There is no udev
//! in the namespace: the test writes the udev database entries that tell
//! NetworkManager the node's links are initialised, which udev would.

mod common;
use common::daemon::NodeDaemon;
use common::{Lab, ocf, wait_for};
use std::time::Duration;

const V4: [(&str, &str); 3] = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0")];
const NAMED: [(&str, &str); 1] = [("OCF_RESOURCE_INSTANCE", "vip")];
const WAIT: Duration = Duration::from_secs(20);

/// The lab's own addresses as NetworkManager's connection for eth0.
const CONNECTION: &str = "[connection]\nid=eth0\ntype=ethernet\ninterface-name=eth0\n\
[ipv4]\nmethod=manual\naddress1=192.0.2.1/24\n[ipv6]\nmethod=manual\naddress1=2001:db8::1/64\n";

const SETUP: &str = r#"set -e
for dir in /etc/NetworkManager /run/NetworkManager /var/lib/NetworkManager /run/dbus /run/udev; do
    mkdir -p "$dir"; mount -t tmpfs tmpfs "$dir"
done
mkdir -p /etc/NetworkManager/system-connections /run/udev/data
# What udev would have recorded: each link is initialised.
for link in /sys/class/net/*; do printf 'I:1\n' > "/run/udev/data/n$(cat "$link/ifindex")"; done
printf '[main]\nplugins=keyfile\nno-auto-default=*\n' > /etc/NetworkManager/NetworkManager.conf
printf '%s' "$CONNECTION" > /etc/NetworkManager/system-connections/eth0.nmconnection
chmod 600 /etc/NetworkManager/system-connections/eth0.nmconnection
dbus-daemon --system --fork --nopidfile
exec /usr/sbin/NetworkManager --no-daemon
"#;

/// NetworkManager in the lab's node namespace, ended with it.
struct NetworkManager {
    daemon: NodeDaemon,
}

impl NetworkManager {
    fn start(lab: &Lab) -> NetworkManager {
        let manager =
            NetworkManager { daemon: NodeDaemon::spawn(&lab.node, SETUP, &[("CONNECTION", CONNECTION)]) };
        let managed = wait_for(WAIT, || manager.device_state().starts_with("connected"));
        assert!(managed.is_some(), "NetworkManager manages eth0: {}", manager.nmcli(&["device", "status"]));
        manager
    }

    /// nmcli in NetworkManager's own namespaces, where its bus is.
    fn nmcli(&self, args: &[&str]) -> String {
        self.daemon.tool("nmcli", args)
    }

    /// eth0's state as nmcli tells it (`connected`, `connected (externally)`, ...).
    fn device_state(&self) -> String {
        let states = self.nmcli(&["-t", "-f", "DEVICE,STATE", "device", "status"]);
        states.lines().find_map(|line| line.strip_prefix("eth0:")).unwrap_or("").to_string()
    }

    /// `nmcli connection up eth0`, as an admin (or a script) does.
    fn connection_up(&self) {
        let out = self.nmcli(&["connection", "up", "eth0"]);
        assert!(out.contains("successfully activated"), "{out}");
    }
}

#[test]
fn nmcli_connection_up_removes_the_vip_and_the_watcher_puts_it_back_naming_networkmanager() {
    let lab = Lab::new();
    let manager = NetworkManager::start(&lab);
    assert_eq!(lab.agent_env(&lab.node, "start", &V4, &NAMED).code, ocf::SUCCESS);
    manager.connection_up();
    let seen = lab.repairs_of(&V4, 1);
    assert!(seen[0].contains("NetworkManager"), "NetworkManager is named: {seen:?}");
    assert!(lab.node.has_address("eth0", "192.0.2.50/24"));
    assert!(lab.node.has_address("eth0", "192.0.2.1/24"), "NetworkManager's own address is its own");
    // Each activation removes it again, and it is put back again (within
    // the repair budget of 3 a minute).
    manager.connection_up();
    let seen = lab.repairs_of(&V4, 2);
    assert!(seen[1].contains("NetworkManager"), "{seen:?}");
    let recurring = [NAMED[0], ("OCF_RESKEY_CRM_meta_interval", "10000")];
    assert!(lab.node.has_address("eth0", "192.0.2.50/24"));
    let monitor = lab.agent_env(&lab.node, "monitor", &V4, &recurring);
    assert_eq!(monitor.code, ocf::SUCCESS, "{monitor:#?}");
    assert_eq!(lab.agent_env(&lab.node, "stop", &V4, &NAMED).code, ocf::SUCCESS);
    assert!(!lab.node.has_address("eth0", "192.0.2.50/24"));
}

#[test]
fn without_the_watcher_nmcli_connection_up_takes_the_vip_away() {
    let lab = Lab::new();
    let manager = NetworkManager::start(&lab);
    let params = [V4[0], V4[1], V4[2], ("repair_removed", "false")];
    assert_eq!(lab.agent_env(&lab.node, "start", &params, &NAMED).code, ocf::SUCCESS);
    manager.connection_up();
    let gone = wait_for(WAIT, || !lab.node.has_address("eth0", "192.0.2.50/24"));
    assert!(gone.is_some(), "NetworkManager removed the foreign address, as docs/self-healing.md says");
    let recurring = [NAMED[0], ("OCF_RESKEY_CRM_meta_interval", "10000")];
    assert_eq!(lab.agent_env(&lab.node, "monitor", &params, &recurring).code, ocf::NOT_RUNNING);
}
