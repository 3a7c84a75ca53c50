//! The VIP under a real systemd-networkd that manages its interface without
//! `KeepConfiguration`: networkd removes addresses it did not configure
//! whenever it configures the link (`networkctl reload` after a change of
//! the `.network` file, `networkctl reconfigure`), and the resource's
//! watcher puts the VIP back, naming networkd.
//!
//! networkd runs inside the node's namespace with a private mount
//! namespace of its own (tmpfs over its configuration and state, its own
//! system bus for networkctl, /sys read-only so that it does not wait for
//! udev), started and ended by the test.

mod common;
use common::daemon::NodeDaemon;
use common::{Lab, ocf, wait_for};
use std::time::Duration;

const V4: [(&str, &str); 3] = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0")];
const NAMED: [(&str, &str); 1] = [("OCF_RESOURCE_INSTANCE", "vip")];
const WAIT: Duration = Duration::from_secs(20);

/// The lab's own addresses as networkd's configuration of eth0.
const NETWORK: &str = "[Match]\nName=eth0\n[Network]\nAddress=192.0.2.1/24\nAddress=2001:db8::1/64\n";

const SETUP: &str = r#"set -e
for dir in /etc/systemd/network /run/systemd /run/dbus /var/lib/systemd; do
    mkdir -p "$dir"; mount -t tmpfs tmpfs "$dir"
done
# networkd waits for udev to initialise links where /sys is writable.
mount -o remount,ro /sys
printf '%s' "$NETWORK" > /etc/systemd/network/10-eth0.network
mkdir -p /run/systemd/netif
chown systemd-network:systemd-network /run/systemd/netif
dbus-daemon --system --fork --nopidfile
exec /lib/systemd/systemd-networkd
"#;

/// The node's eth0 by index, as networkd's bus names its links.
fn eth0_index(lab: &Lab) -> String {
    let link = lab.node.ip(&["-o", "link", "show", "eth0"]);
    link.split(':').next().unwrap_or("").trim().to_string()
}

/// systemd-networkd in the lab's node namespace, ended with it.
struct Networkd {
    daemon: NodeDaemon,
}

impl Networkd {
    fn start(lab: &Lab) -> Networkd {
        let networkd = Networkd { daemon: NodeDaemon::spawn(&lab.node, SETUP, &[("NETWORK", NETWORK)]) };
        let configured = wait_for(WAIT, || networkd.networkctl(&["status", "eth0"]).contains("configured"));
        assert!(
            configured.is_some(),
            "networkd configured eth0: {}",
            networkd.networkctl(&["status", "eth0"])
        );
        networkd
    }

    /// networkctl in networkd's own namespaces, where its bus is.
    fn networkctl(&self, args: &[&str]) -> String {
        self.daemon.tool("networkctl", args)
    }

    /// Restarts networkd, as `systemctl restart systemd-networkd` (or a
    /// package upgrade) does: the new one starts in the same namespaces,
    /// which its bus keeps alive, and configures eth0 again.
    fn restart(&mut self, lab: &Lab) {
        let bus = lab.node.processes_named("dbus-daemon");
        let bus = *bus.first().expect("networkd's bus outlives networkd");
        self.daemon.restart(bus, "/lib/systemd/systemd-networkd");
        // `networkctl status` reads the state file the old networkd left
        // ("configured"), so ask the new one over its bus: the answer
        // comes from it only once it owns the bus name, and says
        // "configured" only once it has configured eth0 itself.
        let ifindex = eth0_index(lab);
        let state = || self.link_property(&ifindex, "AdministrativeState");
        let configured = wait_for(WAIT, || state() == "s \"configured\"");
        assert!(configured.is_some(), "the new networkd configured eth0 again: {}", state());
    }

    /// Waits until networkd has configured eth0 again (its own address
    /// back, asked over its bus) with the VIP on it: the watcher's repair
    /// can come before networkd has finished, and networkd may drop the
    /// VIP more than once while it configures.
    fn settles_with_the_vip(&self, lab: &Lab) {
        let ifindex = eth0_index(lab);
        let settled = wait_for(WAIT, || {
            self.link_property(&ifindex, "AdministrativeState") == "s \"configured\""
                && lab.node.has_address("eth0", "192.0.2.1/24")
                && lab.node.has_address("eth0", "192.0.2.50/24")
        });
        assert!(
            settled.is_some(),
            "networkd configured eth0 again, its own address and the VIP on it: {}",
            lab.node.addresses("eth0")
        );
    }

    /// A property of link `ifindex` as the running networkd answers it.
    fn link_property(&self, ifindex: &str, property: &str) -> String {
        // sd-bus escapes the leading digit of an object path's label.
        let (first, rest) = ifindex.split_at(1.min(ifindex.len()));
        let path =
            format!("/org/freedesktop/network1/link/_{:x}{rest}", first.bytes().next().unwrap_or(b'0'));
        let args = [
            "--system",
            "get-property",
            "org.freedesktop.network1",
            &path,
            "org.freedesktop.network1.Link",
            property,
        ];
        self.daemon.tool("busctl", &args).trim().to_string()
    }

    /// Rewrites eth0's `.network` file, as an admin or netplan does.
    fn configure(&self, text: &str) {
        let path = format!("/proc/{}/root/etc/systemd/network/10-eth0.network", self.daemon.pid());
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("writing {path}: {e}"));
    }
}

#[test]
fn networkd_s_reload_and_reconfigure_remove_the_vip_and_the_watcher_puts_it_back_naming_networkd() {
    let lab = Lab::new();
    let networkd = Networkd::start(&lab);
    assert_eq!(lab.agent_env(&lab.node, "start", &V4, &NAMED).code, ocf::SUCCESS);

    // A changed .network file and a reload: networkd reconfigures eth0 and
    // drops the address it did not configure.
    networkd.configure(&format!("{NETWORK}Description=changed\n"));
    networkd.networkctl(&["reload"]);
    let seen = lab.repairs_of(&V4, 1);
    assert!(seen[0].contains("systemd-network"), "networkd is named: {seen:?}");
    networkd.settles_with_the_vip(&lab);

    networkd.networkctl(&["reconfigure", "eth0"]);
    let seen = lab.repairs_of(&V4, 2);
    assert!(seen[1].contains("systemd-network"), "{seen:?}");
    networkd.settles_with_the_vip(&lab);

    assert_eq!(lab.agent_env(&lab.node, "stop", &V4, &NAMED).code, ocf::SUCCESS);
    assert!(!lab.node.has_address("eth0", "192.0.2.50/24"));
}

/// Measured, not assumed: networkd 252 restarted (configured again, from
/// its saved state) leaves an address it did not configure alone; only a
/// reload after a change and a reconfigure drop it. The VIP stays and
/// nothing needs putting back.
#[test]
fn a_networkd_restart_leaves_the_vip_where_it_is() {
    let lab = Lab::new();
    let mut networkd = Networkd::start(&lab);
    assert_eq!(lab.agent_env(&lab.node, "start", &V4, &NAMED).code, ocf::SUCCESS);
    networkd.restart(&lab);
    assert!(lab.node.has_address("eth0", "192.0.2.50/24"));
    // The restarted networkd is live: a reconfigure still drops the VIP,
    // and the watcher puts it back.
    networkd.networkctl(&["reconfigure", "eth0"]);
    let seen = lab.repairs_of(&V4, 1);
    assert_eq!(seen.len(), 1, "one repair, for the reconfigure: {seen:?}");
    assert!(seen[0].contains("systemd-network"), "networkd is named: {seen:?}");
    assert!(lab.node.has_address("eth0", "192.0.2.50/24"));
    assert_eq!(lab.agent_env(&lab.node, "stop", &V4, &NAMED).code, ocf::SUCCESS);
    assert!(!lab.node.has_address("eth0", "192.0.2.50/24"));
}

#[test]
fn without_the_watcher_networkd_s_reconfigure_takes_the_vip_away() {
    let lab = Lab::new();
    let networkd = Networkd::start(&lab);
    let params = [V4[0], V4[1], V4[2], ("repair_removed", "false")];
    assert_eq!(lab.agent_env(&lab.node, "start", &params, &NAMED).code, ocf::SUCCESS);
    networkd.networkctl(&["reconfigure", "eth0"]);
    let gone = wait_for(WAIT, || !lab.node.has_address("eth0", "192.0.2.50/24"));
    assert!(gone.is_some(), "networkd removed the foreign address, as docs/self-healing.md says");
    let run =
        lab.agent_env(&lab.node, "monitor", &params, &[NAMED[0], ("OCF_RESKEY_CRM_meta_interval", "10000")]);
    assert_eq!(run.code, ocf::NOT_RUNNING);
}
