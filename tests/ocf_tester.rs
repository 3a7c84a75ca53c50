//! Debian's ocf-tester (package resource-agents) passes against the agent
//! inside a network namespace, for an IPv4 and an IPv6 VIP.

mod common;
use common::{Lab, agent_path};

fn ocf_tester(lab: &Lab, options: &[&str]) {
    let mut args = vec!["-n", "vip"];
    for option in options {
        args.extend(["-o", option]);
    }
    let agent = agent_path();
    args.push(agent.to_str().expect("utf-8 path"));
    let out = lab.node.exec("ocf-tester", &args);
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success() && text.contains("passed all tests"), "{text}");
}

#[test]
fn ocf_tester_passes_for_ipv4() {
    let lab = Lab::new();
    ocf_tester(&lab, &["ip=192.0.2.50", "cidr_netmask=24", "nic=eth0"]);
    assert!(!lab.node.has_address("eth0", "192.0.2.50/24"), "ocf-tester ends with the VIP stopped");
}

#[test]
fn ocf_tester_passes_for_ipv6_with_discovery() {
    let lab = Lab::new();
    ocf_tester(&lab, &["ip=2001:db8::50"]);
}
