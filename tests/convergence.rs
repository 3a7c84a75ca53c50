//! Verified convergence: after the VIP is added, the agent asks the
//! gateway from the VIP (ARP request, Neighbor Solicitation) and records
//! the answer that proves the gateway now sends to this node. The client
//! namespace plays the gateway: the node routes through it.

mod common;
use common::wire::{neighbor_mac, no_neighbor_locktime, stale_neighbor};
use common::{Lab, Run, metrics, ocf, wait_for};
use std::time::Duration;

/// A MAC no interface here has: the VIP's previous owner.
const OLD_OWNER: &str = "02:00:00:00:00:99";

const OCF_1_1: &[(&str, &str)] =
    &[("OCF_RA_VERSION_MAJOR", "1"), ("OCF_RA_VERSION_MINOR", "1"), ("OCF_RESKEY_crm_feature_set", "3.16.2")];

struct Family {
    vip: &'static str,
    params: &'static [(&'static str, &'static str)],
    gateway: &'static str,
    /// An address of the node's subnet that nobody has.
    nobody: &'static str,
    ip_flag: &'static str,
    drops_announcements: &'static str,
}

const V4: Family = Family {
    vip: "192.0.2.50",
    params: &[("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0")],
    gateway: "192.0.2.100",
    nobody: "192.0.2.254",
    ip_flag: "-4",
    drops_announcements: "net.ipv4.conf.eth0.drop_gratuitous_arp=1",
};

const V6: Family = Family {
    vip: "2001:db8::50",
    params: &[("ip", "2001:db8::50"), ("cidr_netmask", "64"), ("nic", "eth0"), ("nodad", "true")],
    gateway: "2001:db8::100",
    nobody: "2001:db8::fe",
    ip_flag: "-6",
    drops_announcements: "net.ipv6.conf.eth0.drop_unsolicited_na=1",
};

/// The node routes through `via`; the client is a gateway that ignores
/// gratuitous announcements and still sends the VIP's traffic to its
/// previous owner.
fn gateway_lab(family: &Family, via: &str) -> Lab {
    let lab = Lab::new();
    lab.node.ip(&[family.ip_flag, "route", "add", "default", "via", via, "dev", "eth0"]);
    lab.client.sysctl(family.drops_announcements);
    no_neighbor_locktime(&lab.client);
    stale_neighbor(&lab.client, family.vip, OLD_OWNER);
    lab
}

/// The events of the node's history, as `name detail` lines.
fn history(lab: &Lab) -> Vec<String> {
    let Ok(entries) = std::fs::read_dir(&lab.rsctmp) else { return Vec::new() };
    let mut lines = Vec::new();
    for entry in entries.flatten() {
        if entry.file_name().to_string_lossy().starts_with("IPaddr-history-") {
            let text = std::fs::read_to_string(entry.path()).unwrap_or_default();
            for line in text.lines() {
                let event: serde_json::Value = serde_json::from_str(line).expect("a history line is JSON");
                lines.push(format!("{} {}", event["event"].as_str().unwrap_or(""), event));
            }
        }
    }
    lines
}

fn has_event(lab: &Lab, name: &str) -> bool {
    history(lab).iter().any(|line| line.starts_with(&format!("{name} ")))
}

fn level_10(lab: &Lab, params: &[(&str, &str)]) -> Run {
    let mut env = OCF_1_1.to_vec();
    env.extend([("OCF_CHECK_LEVEL", "10"), ("OCF_RESKEY_CRM_meta_interval", "10000")]);
    lab.agent_env(&lab.node, "monitor", params, &env)
}

/// `IPaddr explain --format json` as the lab's agent runs (no resource name).
fn explain(lab: &Lab, params: &[(&str, &str)]) -> serde_json::Value {
    let mut command = common::agent_command(&lab.node, &lab.rsctmp, &common::agent_path(), "explain");
    command.args(["--format", "json"]);
    for (key, value) in params {
        command.env(format!("OCF_RESKEY_{key}"), value);
    }
    let run = common::finish(command);
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("{e}: {run:?}"))
}

fn with<'a>(base: &[(&'a str, &'a str)], extra: &[(&'a str, &'a str)]) -> Vec<(&'a str, &'a str)> {
    base.iter().chain(extra).copied().collect()
}

#[test]
fn a_gateway_that_drops_gratuitous_announcements_follows_the_vip_and_the_proof_is_recorded() {
    for family in [V4, V6] {
        let lab = gateway_lab(&family, family.gateway);
        let dir = metrics::metrics_dir(&lab.rsctmp);
        let params = with(family.params, &[("metrics_dir", dir.to_str().unwrap())]);
        let start = lab.agent("start", &params);
        assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
        let node_mac = lab.node.mac("eth0");
        let switched = wait_for(Duration::from_secs(3), || {
            neighbor_mac(&lab.client, family.vip).as_deref() == Some(node_mac.as_str())
        });
        assert!(
            switched.is_some(),
            "{}: the gateway still sends to {:?}",
            family.vip,
            neighbor_mac(&lab.client, family.vip)
        );
        assert!(
            wait_for(Duration::from_secs(3), || has_event(&lab, "converged")).is_some(),
            "{}: {:#?}",
            family.vip,
            history(&lab)
        );
        let converged = history(&lab).into_iter().find(|l| l.starts_with("converged ")).unwrap();
        assert!(converged.contains(family.gateway), "{converged}");
        let monitor = level_10(&lab, &params);
        assert_eq!(monitor.code, ocf::SUCCESS, "{monitor:#?}");
        let explain = explain(&lab, &params);
        assert_eq!(explain["neighbours"]["gateways"][0], family.gateway, "{explain:#}");
        // Timed from the answer, not from the end of the rounds (4 more
        // rounds 200 ms apart, then 200 ms of listening).
        let after_ms = explain["neighbours"]["converged_after_ms"].as_u64().expect("proven");
        assert!(
            after_ms < 800,
            "{}: the proof is dated {after_ms} ms after the add: {explain:#}",
            family.vip
        );
        let text = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| std::fs::read_to_string(e.path()).unwrap())
            .collect::<String>();
        assert!(text.contains("ocf_ipaddr_neighbours_unproven{") && text.contains("} 0\n"), "{text}");
        assert!(text.contains("ocf_ipaddr_neighbours_converged_seconds{"), "{text}");
        assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    }
}

#[test]
fn without_the_question_a_gateway_that_drops_announcements_keeps_the_previous_owner() {
    // The premise of the test above, shown with the previous release,
    // which only announced: the gateway never switches.
    for family in [V4, V6] {
        let lab = gateway_lab(&family, family.gateway);
        let start = common::run_agent_at(
            &lab.node,
            &lab.rsctmp,
            &common::previous_release_path(),
            "start",
            family.params,
            &[],
        );
        assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
        std::thread::sleep(Duration::from_millis(1500));
        assert_eq!(neighbor_mac(&lab.client, family.vip).as_deref(), Some(OLD_OWNER), "{}", family.vip);
        assert_eq!(lab.agent("stop", family.params).code, ocf::SUCCESS);
    }
}

#[test]
fn a_silent_gateway_is_named_and_degrades_the_deep_monitor_until_it_answers() {
    for family in [V4, V6] {
        let lab = gateway_lab(&family, family.nobody);
        let dir = metrics::metrics_dir(&lab.rsctmp);
        // Without arp_bg, start sends every round itself and says what it heard.
        let params = with(family.params, &[("metrics_dir", dir.to_str().unwrap()), ("arp_bg", "false")]);
        let start = lab.agent("start", &params);
        assert_eq!(start.code, ocf::SUCCESS, "a silent gateway never fails a start: {start:#?}");
        assert!(
            start.stderr.contains(&format!("WARNING: {}: no answer from {}", family.vip, family.nobody)),
            "{start:#?}"
        );
        assert!(has_event(&lab, "unconverged"), "{:#?}", history(&lab));
        assert_eq!(lab.agent("monitor", &params).code, ocf::SUCCESS, "the plain monitor does not ask");
        let degraded = level_10(&lab, &params);
        assert_eq!(degraded.code, ocf::DEGRADED, "{degraded:#?}");
        assert!(
            degraded.reason().contains(&format!("{} has not answered it", family.nobody)),
            "{degraded:#?}"
        );
        let textfile = || {
            std::fs::read_dir(&dir)
                .unwrap()
                .flatten()
                .map(|e| std::fs::read_to_string(e.path()).unwrap())
                .collect::<String>()
        };
        assert!(
            textfile().contains("_neighbours_unproven{") && textfile().contains("} 1\n"),
            "{}",
            textfile()
        );
        // The gateway comes up: the next deep monitor gets its answer.
        lab.client.ip(&["addr", "add", family.nobody, "dev", "eth0", "nodad"]);
        let healed = level_10(&lab, &params);
        assert_eq!(healed.code, ocf::SUCCESS, "{healed:#?}");
        assert!(has_event(&lab, "converged"), "{:#?}", history(&lab));
        let node_mac = lab.node.mac("eth0");
        assert_eq!(neighbor_mac(&lab.client, family.vip), Some(node_mac));
        assert!(
            !textfile().contains("_neighbours_unproven{resource=\"vip\"") || textfile().contains("} 0\n")
        );
        assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
        let after = level_10(&lab, &params);
        assert_eq!(after.code, ocf::NOT_RUNNING, "{after:#?}");
    }
}

#[test]
fn with_arp_bg_the_start_does_not_wait_and_the_announcer_records_the_silence() {
    let lab = gateway_lab(&V4, V4.nobody);
    let start = lab.agent("start", V4.params);
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    assert!(!has_event(&lab, "unconverged"), "start returned before the announcement window ended");
    assert!(
        wait_for(Duration::from_secs(5), || has_event(&lab, "unconverged")).is_some(),
        "{:#?}",
        history(&lab)
    );
    let event = history(&lab).into_iter().find(|l| l.starts_with("unconverged ")).unwrap();
    assert!(event.contains(V4.nobody), "{event}");
    assert_eq!(level_10(&lab, V4.params).code, ocf::DEGRADED);
    assert_eq!(lab.agent("stop", V4.params).code, ocf::SUCCESS);
}

#[test]
fn arp_target_names_the_gateway_and_without_any_the_agent_says_so_once() {
    let lab = Lab::new();
    no_neighbor_locktime(&lab.client);
    let aimed = with(V4.params, &[("arp_target", "192.0.2.100"), ("arp_bg", "false")]);
    let start = lab.agent("start", &aimed);
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    assert!(has_event(&lab, "converged"), "{:#?}", history(&lab));
    assert_eq!(lab.agent("stop", &aimed).code, ocf::SUCCESS);
    // No route through a gateway and no arp_target: nobody to ask.
    let start = lab.agent("start", V6.params);
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    let said = start.stderr.matches("no gateway on eth0 to ask").count();
    assert_eq!(said, 1, "{start:#?}");
    assert_eq!(level_10(&lab, V6.params).code, ocf::SUCCESS, "nothing to prove is not degraded");
    assert_eq!(lab.agent("stop", V6.params).code, ocf::SUCCESS);
}
