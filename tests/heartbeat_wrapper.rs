//! The Heartbeat v1 wrapper (heartbeat-scripts/IPaddr) maps haresources'
//! `ip[/cidr[/nic[:label]][/broadcast]]` onto the agent's parameters and
//! prints `running`/`stopped` for status, as Heartbeat expects.

mod common;
use common::{Lab, agent_path};
use std::process::{Command, Output};

/// The installed wrapper when `OCF_IPADDR_WRAPPER` names one, else the source copy.
fn wrapper() -> String {
    std::env::var("OCF_IPADDR_WRAPPER")
        .unwrap_or_else(|_| concat!(env!("CARGO_MANIFEST_DIR"), "/heartbeat-scripts/IPaddr").to_string())
}

fn run(lab: &Lab, spec: &str, action: &str) -> Output {
    Command::new("ip")
        .args(["netns", "exec", &lab.node.name, &wrapper(), spec, action])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HA_RSCTMP", &lab.rsctmp)
        .env("OCF_IPADDR_AGENT", agent_path())
        .output()
        .expect("wrapper runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn full_haresources_syntax_starts_reports_and_stops() {
    let lab = Lab::new();
    let spec = "192.0.2.50/24/eth0:web/192.0.2.255";
    let status = run(&lab, spec, "status");
    assert_eq!(stdout(&status), "stopped");
    assert!(run(&lab, spec, "start").status.success());
    let line = lab.node.addresses("eth0");
    assert!(line.contains("192.0.2.50/24 brd 192.0.2.255") && line.contains("eth0:web"), "{line}");
    let status = run(&lab, spec, "status");
    assert_eq!((status.status.code(), stdout(&status).as_str()), (Some(0), "running"));
    assert_eq!(run(&lab, spec, "monitor").status.code(), Some(0));
    assert!(run(&lab, spec, "stop").status.success());
    assert!(!lab.node.has_address("eth0", "192.0.2.50/24"));
    assert_eq!(stdout(&run(&lab, spec, "status")), "stopped");
    assert_eq!(run(&lab, spec, "monitor").status.code(), Some(7));
}

#[test]
fn optional_haresources_fields_may_be_left_out() {
    let lab = Lab::new();
    for (spec, on_nic) in [
        ("192.0.2.51", "192.0.2.51/24"),
        ("192.0.2.52/25", "192.0.2.52/25"),
        ("192.0.2.53/24/eth0", "192.0.2.53/24"),
        ("192.0.2.54/24/192.0.2.255", "192.0.2.54/24"),
    ] {
        let out = run(&lab, spec, "start");
        assert!(out.status.success(), "{spec}: {out:?}");
        assert!(lab.node.has_address("eth0", on_nic), "{spec}: {}", lab.node.addresses("eth0"));
        assert_eq!(stdout(&run(&lab, spec, "status")), "running", "{spec}");
        assert!(run(&lab, spec, "stop").status.success(), "{spec}");
    }
}

#[test]
fn bad_usage_and_bad_specs_fail_without_changes() {
    let lab = Lab::new();
    lab.settled();
    let before = lab.node.snapshot();
    assert_eq!(run(&lab, "192.0.2.50/24", "restart").status.code(), Some(3));
    let out = Command::new(wrapper()).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(run(&lab, "192.0.2.50/24/eth0/192.0.2.255/x", "start").status.code(), Some(2));
    assert_eq!(run(&lab, "192.0.2.50/99/eth0", "start").status.code(), Some(6));
    assert_eq!(run(&lab, "$(reboot)/24", "start").status.code(), Some(6));
    assert_eq!(lab.node.snapshot(), before);
}
