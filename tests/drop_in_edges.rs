//! The last edges of the drop-in promise, each run with this agent and with
//! both IPaddr2 versions users have (Debian 12's 4.12, Debian 13's 4.16)
//! on identical fresh namespaces: an IPv6 service subnet narrower than its
//! route placed without nic, IPaddr2's label spellings, unique_clone_address
//! on a primitive, and an LVS real server's copy of the VIP on lo.

mod common;
use common::ipaddr2::Agent;
use common::{Lab, Run, ocf};
use std::thread;
use std::time::{Duration, Instant};

const RECURRING: (&str, &str) = ("OCF_RESKEY_CRM_meta_interval", "10000");

/// Runs `steps` (action, extra environment) with every agent on a lab of
/// its own prepared by `set_up`, all three at once; `check` looks at each
/// lab after each step.
fn side_by_side(
    params: &[(&str, &str)],
    set_up: impl Fn(&Lab) + Sync,
    steps: &[(&str, &[(&str, &str)])],
    check: impl Fn(Agent, &Lab, usize, &Run) + Sync,
) -> Vec<(Agent, Vec<i32>)> {
    std::thread::scope(|scope| {
        let runs: Vec<_> = Agent::ALL
            .into_iter()
            .map(|agent| {
                let (set_up, check) = (&set_up, &check);
                scope.spawn(move || {
                    let lab = Lab::new();
                    set_up(&lab);
                    let codes = steps
                        .iter()
                        .enumerate()
                        .map(|(i, (action, env))| {
                            let run = agent.run(&lab.node, &lab.rsctmp, action, params, env);
                            check(agent, &lab, i, &run);
                            run.code
                        })
                        .collect();
                    (agent, codes)
                })
            })
            .collect();
        runs.into_iter().map(|run| run.join().expect("an agent's run")).collect()
    })
}

/// The exit codes of every agent, for an assertion message.
fn codes_of(results: &[(Agent, Vec<i32>)]) -> String {
    results.iter().map(|(agent, codes)| format!("{}: {codes:?}", agent.name())).collect::<Vec<_>>().join("; ")
}

const LIFECYCLE: [(&str, &[(&str, &str)]); 5] =
    [("validate-all", &[]), ("start", &[]), ("monitor", &[RECURRING]), ("stop", &[]), ("monitor", &[])];
const LIFECYCLE_CODES: [i32; 5] = [ocf::SUCCESS, ocf::SUCCESS, ocf::SUCCESS, ocf::SUCCESS, ocf::NOT_RUNNING];

#[test]
fn an_ipv6_service_subnet_narrower_than_its_route_is_placed_without_nic_as_ipaddr2_places_it() {
    for prefix in ["96", "120"] {
        let cidr = format!("2001:db8::ffb2/{prefix}");
        let params = [("ip", "2001:db8::ffb2"), ("cidr_netmask", prefix), ("nodad", "true")];
        let results = side_by_side(
            &params,
            |_| {},
            &LIFECYCLE,
            |agent, lab, step, run| match step {
                1 | 2 => assert!(
                    lab.node.has_address("eth0", &cidr),
                    "{}: {cidr} not on eth0 after step {step}: {run:#?}\n{}",
                    agent.name(),
                    lab.node.addresses("eth0")
                ),
                3 => assert!(!lab.node.addresses("eth0").contains("2001:db8::ffb2"), "{}", agent.name()),
                _ => {}
            },
        );
        for (agent, codes) in &results {
            assert_eq!(codes, &LIFECYCLE_CODES, "/{prefix}, {}: {}", agent.name(), codes_of(&results));
        }
    }
    // explain finds it with its configured prefix.
    let lab = Lab::new();
    let params = [("ip", "2001:db8::ffb2"), ("cidr_netmask", "120"), ("nodad", "true")];
    assert_eq!(lab.agent("start", &params).code, ocf::SUCCESS);
    let explained = lab.agent("explain", &params);
    assert!(explained.stdout.contains("configured on eth0 with prefix /120"), "{explained:#?}");
}

#[test]
fn ipaddr2s_label_spellings_are_taken_as_ipaddr2_takes_them() {
    // (parameters, the label the address carries: `ip -o` shows the NIC's
    // name when it has none)
    let cases: [(&[(&str, &str)], &str); 3] = [
        (&[("nic", "eth0:")], "eth0"),
        (&[("nic", "eth0"), ("iflabel", "a:b")], "eth0:a:b"),
        (&[("nic", "eth0:a:b")], "eth0:a:b"),
    ];
    for (extra, label) in cases {
        let mut params = vec![("ip", "192.0.2.50"), ("cidr_netmask", "24")];
        params.extend_from_slice(extra);
        let results = side_by_side(
            &params,
            |_| {},
            &LIFECYCLE,
            |agent, lab, step, run| {
                if step == 1 || step == 2 {
                    assert_eq!(
                        label_of(lab).as_deref(),
                        Some(label),
                        "{extra:?}, {}: {run:#?}",
                        agent.name()
                    );
                }
                if step == 3 {
                    assert_eq!(label_of(lab), None, "{extra:?}, {}: stop left it", agent.name());
                }
            },
        );
        for (agent, codes) in &results {
            assert_eq!(codes, &LIFECYCLE_CODES, "{extra:?}, {}: {}", agent.name(), codes_of(&results));
        }
    }
}

/// The label 192.0.2.50/24 carries on eth0 (`ip` shows the NIC's name
/// for an address without one), or `None` when it is not there.
fn label_of(lab: &Lab) -> Option<String> {
    let listing = lab.node.ip(&["-o", "-4", "addr", "show", "dev", "eth0"]);
    let line = listing.lines().find(|l| l.contains(" 192.0.2.50/24 "))?;
    let words: Vec<&str> = line.split_whitespace().collect();
    let end = words.iter().position(|w| *w == "valid_lft").unwrap_or(words.len());
    words[..end].iter().rev().find(|w| **w != "\\").map(|w| w.trim_end_matches('\\').to_string())
}

#[test]
fn unique_clone_address_on_a_primitive_is_refused_and_changes_nothing() {
    let params =
        [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("unique_clone_address", "true")];
    let steps: [(&str, &[(&str, &str)]); 3] = [("validate-all", &[]), ("start", &[]), ("monitor", &[])];
    let results = side_by_side(
        &params,
        |_| {},
        &steps,
        |agent, _, _, run| {
            if agent == Agent::Ours {
                assert!(run.reason().contains("only with meta globally_unique"), "{run:#?}");
            }
        },
    );
    for (agent, codes) in &results {
        assert_eq!(codes, &[ocf::ERR_CONFIGURED; 3], "{}: {}", agent.name(), codes_of(&results));
    }
    let lab = Lab::new();
    let before = lab.node.snapshot();
    for (action, _) in steps {
        lab.agent(action, &params);
    }
    assert_eq!(lab.node.snapshot(), before, "a refused configuration changes nothing");
    // stop still knows the address (instance 0's is ip itself).
    assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
}

const PROBE_LIFECYCLE: [(&str, &[(&str, &str)]); 5] =
    [("monitor", &[]), ("start", &[]), ("monitor", &[RECURRING]), ("stop", &[]), ("monitor", &[])];
const PROBE_LIFECYCLE_CODES: [i32; 5] =
    [ocf::NOT_RUNNING, ocf::SUCCESS, ocf::SUCCESS, ocf::SUCCESS, ocf::NOT_RUNNING];

/// The node as an LVS-DR real server keeps the VIP: on lo, with
/// `arp_ignore` set as given on all interfaces.
fn real_server(lab: &Lab, arp_ignore: u8, on_lo: &str) {
    lab.node.sysctl(&format!("net.ipv4.conf.all.arp_ignore={arp_ignore}"));
    lab.node.ip(&["addr", "add", on_lo, "dev", "lo"]);
    // The kernel adds an IPv6 address's local route from a work queue, which
    // a loaded machine runs late: the node answers for the copy, and the
    // agents see it, only from then on.
    let ip = on_lo.split('/').next().expect("an address");
    let family = if ip.contains(':') { "-6" } else { "-4" };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !lab.node.ip(&[family, "route", "show", "table", "local", ip]).contains("dev lo") {
        assert!(Instant::now() < deadline, "{on_lo} on lo never got its local route");
        thread::sleep(Duration::from_millis(10));
    }
}

/// Whether the client gets an answer from the VIP (ARP, then ICMP).
fn client_reaches(lab: &Lab, ip: &str) -> bool {
    lab.client.exec("ping", &["-c1", "-W1", ip]).status.success()
}

#[test]
fn an_lvs_real_servers_copy_on_lo_that_cannot_answer_is_not_a_conflict() {
    for (ip, on_lo, cidr, extra) in [
        ("192.0.2.50", "192.0.2.50/32", "192.0.2.50/24", ("cidr_netmask", "24")),
        ("2001:db8::50", "2001:db8::50/128", "2001:db8::50/64", ("cidr_netmask", "64")),
    ] {
        let params = [("ip", ip), ("nic", "eth0"), ("nodad", "true"), extra];
        let results = side_by_side(
            &params,
            |lab| real_server(lab, 1, on_lo),
            &PROBE_LIFECYCLE,
            |agent, lab, step, run| {
                let lo = lab.node.has_address("lo", on_lo);
                assert!(lo, "{ip}, {}: lo's copy is gone after step {step}: {run:#?}", agent.name());
                let on_eth0 = lab.node.has_address("eth0", cidr);
                assert_eq!(on_eth0, step == 1 || step == 2, "{ip}, {}, step {step}: {run:#?}", agent.name());
                if agent == Agent::Ours && step == 0 {
                    assert!(!client_reaches(lab, ip), "{ip}: lo's copy answers the network");
                    assert!(run.stderr.contains("is on lo"), "the probe names lo's copy: {run:#?}");
                    if ip.contains('.') {
                        assert!(run.stderr.contains("arp_ignore 1"), "{run:#?}");
                    }
                }
                if agent == Agent::Ours && step == 2 {
                    assert!(client_reaches(lab, ip), "{ip}: the VIP on eth0 answers");
                }
            },
        );
        for (agent, codes) in &results {
            assert_eq!(codes, &PROBE_LIFECYCLE_CODES, "{ip}, {}: {}", agent.name(), codes_of(&results));
        }
    }
}

#[test]
fn a_copy_on_lo_that_answers_arp_stays_a_conflict_named_with_the_setting_read() {
    let params = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0")];
    let results = side_by_side(
        &params,
        |lab| real_server(lab, 0, "192.0.2.50/32"),
        &PROBE_LIFECYCLE,
        |agent, lab, step, run| {
            assert!(lab.node.has_address("lo", "192.0.2.50/32"), "{}, step {step}", agent.name());
            if agent == Agent::Ours {
                assert!(!lab.node.has_address("eth0", "192.0.2.50/24"), "step {step}: {run:#?}");
                if step == 0 {
                    assert!(client_reaches(lab, "192.0.2.50"), "with arp_ignore 0 lo's copy answers");
                }
                if [0, 1, 3].contains(&step) {
                    let reason = run.reason();
                    assert!(
                        reason.contains("is on lo") && reason.contains("arp_ignore 0"),
                        "step {step}: {run:#?}"
                    );
                }
            }
        },
    );
    for (agent, codes) in &results {
        let expected = match agent {
            Agent::Ours => [ocf::ERR_GENERIC; 5],
            // IPaddr2 adds a second copy beside the one that answers, and
            // its stop says 0 with lo's copy answering for the VIP.
            _ => PROBE_LIFECYCLE_CODES,
        };
        assert_eq!(codes, &expected, "{}: {}", agent.name(), codes_of(&results));
    }
}
