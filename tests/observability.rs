//! Metrics and history with the real components: Debian's
//! prometheus-node-exporter reading the agent's textfiles in a node
//! namespace, scraped over HTTP from the client, checked by promtool.

mod common;
use common::metrics::{metrics_dir, scrape, value};
use common::{Lab, Segment, ocf};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Stdio};

const NODE_EXPORTER: &str = "/usr/bin/prometheus-node-exporter";
const PROMTOOL: &str = "/usr/bin/promtool";

/// node_exporter with only the textfile collector, listening on the node's
/// address inside its namespace; killed when dropped.
struct NodeExporter(Child);

impl NodeExporter {
    fn start(ns: &common::Netns, listen: &str, dir: &Path) -> NodeExporter {
        let child = Command::new("ip")
            .args([
                "netns",
                "exec",
                &ns.name,
                NODE_EXPORTER,
                "--collector.disable-defaults",
                "--collector.textfile",
            ])
            .arg(format!("--collector.textfile.directory={}", dir.display()))
            .arg(format!("--web.listen-address={listen}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("prometheus-node-exporter runs (make check installs it)");
        NodeExporter(child)
    }
}

impl Drop for NodeExporter {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// promtool's verdict on an exposition text (stdin); passes when it says nothing.
fn promtool_check(text: &str) -> (bool, String) {
    let mut child = Command::new(PROMTOOL)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (make check installs it)");
    child.stdin.take().expect("stdin").write_all(text.as_bytes()).expect("feed promtool");
    let out = child.wait_with_output().expect("promtool finishes");
    let said = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success() && said.trim().is_empty(), said)
}

#[test]
fn node_exporter_serves_what_start_monitor_a_conflict_and_stop_did() {
    let seg = Segment::new(2);
    let dir = metrics_dir(&seg.rsctmp);
    let _exporter = NodeExporter::start(&seg.nodes[0], "192.0.2.11:9100", &dir);
    let metrics = dir.to_string_lossy().into_owned();
    let params =
        [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("metrics_dir", metrics.as_str())];
    let run = |action: &str, extra: &[(&str, &str)]| {
        let rsctmp = seg.rsctmp.join("node0");
        std::fs::create_dir_all(&rsctmp).unwrap();
        let mut env = vec![("OCF_RESOURCE_INSTANCE", "web-vip")];
        env.extend_from_slice(extra);
        common::run_agent(&seg.nodes[0], &rsctmp, action, &params, &env)
    };
    assert_eq!(run("start", &[]).code, ocf::SUCCESS);
    let monitor = run("monitor", &[("OCF_RESKEY_CRM_meta_interval", "10000")]);
    assert_eq!(monitor.code, ocf::SUCCESS, "{monitor:?}");
    assert!(monitor.stderr.is_empty(), "metrics add no noise to a quiet monitor: {monitor:?}");

    let labels = &[r#"resource="web-vip""#, r#"ip="192.0.2.50""#, r#"nic="eth0""#][..];
    let up = scrape(&seg.client, "192.0.2.11:9100");
    assert_eq!(value(&up, "ocf_ipaddr_up", labels), Some(1.0), "{up}");
    assert_eq!(value(&up, "ocf_ipaddr_starts_total", labels), Some(1.0));
    assert_eq!(value(&up, "ocf_ipaddr_last_action_exit_code", &[r#"action="monitor""#]), Some(0.0));
    assert!(value(&up, "ocf_ipaddr_probes_sent_total", labels) >= Some(2.0), "start probed: {up}");
    assert!(value(&up, "ocf_ipaddr_announcements_sent_total", labels) >= Some(1.0), "start announced");
    let probe = value(&up, "ocf_ipaddr_last_start_probe_seconds", labels).expect("probe latency");
    let first =
        value(&up, "ocf_ipaddr_last_start_first_announcement_seconds", labels).expect("announce latency");
    assert!(probe > 0.0 && first >= probe && first < 5.0, "probe {probe} s, first announcement {first} s");

    // A rogue host brings the VIP up too; the level-20 watch sees it.
    seg.nodes[1].ip(&["addr", "add", "192.0.2.50/24", "dev", "eth0"]);
    let rogue_mac = seg.nodes[1].mac("eth0");
    let watch = run("monitor", &[("OCF_CHECK_LEVEL", "20"), ("OCF_RESKEY_CRM_meta_interval", "20000")]);
    assert_eq!(watch.code, ocf::ERR_GENERIC, "{watch:?}");
    seg.nodes[1].ip(&["addr", "del", "192.0.2.50/24", "dev", "eth0"]);
    assert_eq!(run("stop", &[]).code, ocf::SUCCESS);

    let after = scrape(&seg.client, "192.0.2.11:9100");
    assert_eq!(value(&after, "ocf_ipaddr_up", labels), Some(0.0), "{after}");
    assert_eq!(value(&after, "ocf_ipaddr_stops_total", labels), Some(1.0));
    assert_eq!(value(&after, "ocf_ipaddr_conflicts_total", labels), Some(1.0));
    assert_eq!(value(&after, "ocf_ipaddr_monitor_failures_total", labels), Some(1.0));
    assert_eq!(
        value(&after, "ocf_ipaddr_last_conflict_info", &[&format!(r#"mac="{rogue_mac}""#)]),
        Some(1.0)
    );
    assert!(
        value(&after, "ocf_ipaddr_announcements_sent_total", labels)
            > value(&up, "ocf_ipaddr_announcements_sent_total", labels),
        "the watch announced this node again"
    );
    let ours: String = after
        .lines()
        .filter(|l| {
            l.starts_with("ocf_ipaddr_")
                || l.starts_with("# HELP ocf_ipaddr_")
                || l.starts_with("# TYPE ocf_ipaddr_")
        })
        .map(|l| format!("{l}\n"))
        .collect();
    let (clean, said) = promtool_check(&ours);
    assert!(clean, "promtool check metrics: {said}\n{ours}");

    let explain = run("explain", &[]);
    assert_eq!(explain.code, ocf::SUCCESS, "{explain:?}");
    for event in ["started on eth0", "conflict-seen claimed by", "announced", "stopped"] {
        assert!(explain.stdout.contains(event), "explain shows {event}: {}", explain.stdout);
    }
}

#[test]
fn parallel_instances_never_leave_a_textfile_that_fails_to_parse() {
    let lab = Lab::new();
    let dir = metrics_dir(&lab.rsctmp);
    let metrics = dir.to_string_lossy().into_owned();
    // Readers copy every file they find while writers rewrite them.
    let reader_dir = dir.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reading = stop.clone();
    let reader = std::thread::spawn(move || {
        let mut seen = Vec::new();
        while !reading.load(std::sync::atomic::Ordering::Relaxed) {
            let Ok(entries) = std::fs::read_dir(&reader_dir) else { break };
            for entry in entries.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.ends_with(".prom") {
                    if let Ok(text) = std::fs::read_to_string(entry.path()) {
                        seen.push(text);
                    }
                }
            }
        }
        seen
    });
    let results: Vec<Vec<(&str, i32)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..6)
            .map(|i| {
                let (ns, rsctmp, metrics) = (&lab.node, &lab.rsctmp, &metrics);
                scope.spawn(move || {
                    // Two workers per VIP rewrite the same file: one starts,
                    // monitors and stops it, the other only monitors.
                    let ip = format!("192.0.2.{}", 60 + i / 2);
                    let resource = format!("vip{}", i / 2);
                    let cycles = i % 2 == 0;
                    let params = [
                        ("ip", ip.as_str()),
                        ("cidr_netmask", "24"),
                        ("nic", "eth0"),
                        ("metrics_dir", metrics.as_str()),
                    ];
                    let env = [
                        ("OCF_RESOURCE_INSTANCE", resource.as_str()),
                        ("OCF_RESKEY_CRM_meta_interval", "10000"),
                    ];
                    let mut codes = Vec::new();
                    for round in 0..15 {
                        let action = match round % 5 {
                            0 if cycles => "start",
                            4 if cycles => "stop",
                            _ => "monitor",
                        };
                        codes.push((action, common::run_agent(ns, rsctmp, action, &params, &env).code));
                    }
                    codes
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().expect("worker")).collect()
    });
    let mut succeeded = std::collections::HashMap::new();
    for (i, codes) in results.iter().enumerate() {
        for &(action, code) in codes {
            assert!([ocf::SUCCESS, ocf::NOT_RUNNING].contains(&code), "{action} exited {code}");
            if code == ocf::SUCCESS {
                *succeeded.entry((i / 2, action)).or_insert(0.0) += 1.0;
            }
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let seen = reader.join().expect("reader");
    assert!(seen.len() > 10, "the reader saw the files being rewritten ({} reads)", seen.len());
    let mut checked = std::collections::HashSet::new();
    for text in &seen {
        assert!(
            text.ends_with('\n') && text.contains("ocf_ipaddr_reachability_failures_total{"),
            "a whole file: {text:?}"
        );
        if checked.insert(text.clone()) && checked.len() <= 40 {
            let (clean, said) = promtool_check(text);
            assert!(clean, "promtool check metrics: {said}\n{text}");
        }
    }
    let leftovers: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(leftovers.len(), 3, "one file per resource, no temporary file left: {leftovers:?}");
    // Every instance read the file its predecessor left, under the VIP's
    // lock: no increment was lost to a writer racing another.
    for vip in 0..3 {
        let text = std::fs::read_to_string(dir.join(format!("ocf_ipaddr_vip{vip}.prom"))).unwrap();
        for (action, counter) in [("start", "ocf_ipaddr_starts_total"), ("stop", "ocf_ipaddr_stops_total")] {
            let done = succeeded.get(&(vip, action)).copied().unwrap_or(0.0);
            assert_eq!(value(&text, counter, &[]), Some(done), "vip{vip}: {text}");
        }
    }
}

/// Runs start, monitor and stop with `metrics_dir` made unusable by
/// `spoil` inside a private mount namespace.
fn actions_with_spoiled_dir(spoil: &str) {
    let lab = Lab::new();
    let dir = metrics_dir(&lab.rsctmp);
    let metrics = dir.to_string_lossy().into_owned();
    let params =
        [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("metrics_dir", metrics.as_str())];
    for (action, expected) in [("start", ocf::SUCCESS), ("monitor", ocf::SUCCESS), ("stop", ocf::SUCCESS)] {
        // The agent runs in a mount namespace of its own where the
        // directory is spoiled; the test's view stays as it was.
        let mut cmd = Command::new("unshare");
        cmd.args(["-m", "--propagation", "private", "sh", "-c"])
            .arg(format!("{spoil} && exec ip netns exec \"$0\" \"$1\" \"$2\""))
            .arg(&lab.node.name)
            .arg(common::agent_path())
            .arg(action)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("HA_RSCTMP", &lab.rsctmp)
            .stdin(Stdio::null());
        for (k, v) in params {
            cmd.env(format!("OCF_RESKEY_{k}"), v);
        }
        cmd.env("OCF_RESOURCE_INSTANCE", "vip").env("OCF_RESKEY_CRM_meta_interval", "0");
        let run = common::finish(cmd);
        assert_eq!(run.code, expected, "{action} with {spoil}: {run:?}");
        if action != "monitor" {
            assert!(
                run.stderr.contains("WARNING") && run.stderr.contains("metrics"),
                "{action} warns: {run:?}"
            );
        }
    }
    assert!(!lab.node.has_address("eth0", "192.0.2.50/24"), "stop removed the VIP");
}

#[test]
fn a_read_only_metrics_dir_never_fails_an_action() {
    let lab_dir = "mount -o bind,ro \"$OCF_RESKEY_metrics_dir\" \"$OCF_RESKEY_metrics_dir\"";
    actions_with_spoiled_dir(lab_dir);
}

#[test]
fn a_full_metrics_dir_never_fails_an_action() {
    let fill = "mount -t tmpfs -o size=4k tmpfs \"$OCF_RESKEY_metrics_dir\" && (dd if=/dev/zero of=\"$OCF_RESKEY_metrics_dir/fill\" bs=4k count=8 2>/dev/null; true)";
    actions_with_spoiled_dir(fill);
}

#[test]
fn a_missing_metrics_dir_never_fails_an_action() {
    actions_with_spoiled_dir("(rmdir \"$OCF_RESKEY_metrics_dir\" 2>/dev/null; true)");
}

#[test]
fn a_planted_textfile_is_replaced_never_followed_nor_trusted_for_counters() {
    let lab = Lab::new();
    let dir = metrics_dir(&lab.rsctmp);
    let metrics = dir.to_string_lossy().into_owned();
    let params =
        [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0"), ("metrics_dir", metrics.as_str())];
    let victim = lab.rsctmp.join("victim");
    std::fs::write(&victim, "precious\n").unwrap();
    for (starts, what) in (1..).zip(["a symbolic link", "garbage", "a huge file", "counters of its own"]) {
        let file = dir.join("ocf_ipaddr_vip.prom");
        let _ = std::fs::remove_file(&file);
        match what {
            "a symbolic link" => std::os::unix::fs::symlink(&victim, &file).unwrap(),
            "garbage" => std::fs::write(&file, b"\xff\xfe not { a \"metric\n").unwrap(),
            "a huge file" => std::fs::write(&file, "# x\n".repeat(100_000)).unwrap(),
            _ => std::fs::write(
                &file,
                "ocf_ipaddr_starts_total{resource=\"vip\",ip=\"192.0.2.50\",nic=\"eth0\"} 1000\n",
            )
            .unwrap(),
        }
        let run =
            common::run_agent(&lab.node, &lab.rsctmp, "start", &params, &[("OCF_RESOURCE_INSTANCE", "vip")]);
        assert_eq!(run.code, ocf::SUCCESS, "{what}: {run:?}");
        // (Four starts in a row may be told they exceed a switch's ARP rate.)
        let warned = run.stderr.lines().any(|l| l.contains("WARNING") && !l.contains("announce_rate_limit"));
        assert!(!warned, "{what} is simply replaced: {run:?}");
        assert!(!file.is_symlink(), "{what}: the link itself was replaced");
        let text = std::fs::read_to_string(&file).unwrap();
        // The counters live in the agent's own state, not in what the
        // metrics directory holds: nothing planted there changes them.
        assert_eq!(value(&text, "ocf_ipaddr_starts_total", &[]), Some(starts as f64), "{what}: {text}");
        let (clean, said) = promtool_check(&text);
        assert!(clean, "{what}: promtool check metrics: {said}\n{text}");
        let stop =
            common::run_agent(&lab.node, &lab.rsctmp, "stop", &params, &[("OCF_RESOURCE_INSTANCE", "vip")]);
        assert_eq!(stop.code, ocf::SUCCESS, "{what}: {stop:?}");
        let names: Vec<_> = std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name()).collect();
        assert_eq!(names, ["ocf_ipaddr_vip.prom"], "{what}: nothing left beside the textfile");
    }
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n", "the link's target is untouched");
}

#[test]
fn reachability_lost_and_regained_are_counted_and_recorded_once_each() {
    let lab = Lab::new();
    let dir = metrics_dir(&lab.rsctmp);
    let metrics = dir.to_string_lossy().into_owned();
    let params = [
        ("ip", "192.0.2.50"),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("ping_list", "192.0.2.100"),
        ("ping_timeout", "300"),
        ("metrics_dir", metrics.as_str()),
    ];
    let env = [("OCF_RESOURCE_INSTANCE", "vip")];
    let level_10 = [
        ("OCF_RESOURCE_INSTANCE", "vip"),
        ("OCF_CHECK_LEVEL", "10"),
        ("OCF_RESKEY_CRM_meta_interval", "30000"),
    ];
    assert_eq!(lab.agent_env(&lab.node, "start", &params, &env).code, ocf::SUCCESS);
    assert_eq!(lab.agent_env(&lab.node, "monitor", &params, &level_10).code, ocf::SUCCESS);
    lab.client.ip(&["addr", "del", "192.0.2.100/24", "dev", "eth0"]);
    for _ in 0..2 {
        let silent = lab.agent_env(&lab.node, "monitor", &params, &level_10);
        assert_eq!(silent.code, ocf::ERR_GENERIC, "{silent:?}");
    }
    lab.client.ip(&["addr", "add", "192.0.2.100/24", "dev", "eth0"]);
    assert_eq!(lab.agent_env(&lab.node, "monitor", &params, &level_10).code, ocf::SUCCESS);

    let report = common::explain_report(&lab.node, &lab.rsctmp, "vip", &params);
    let reachability: Vec<&str> = report["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["event"].as_str())
        .filter(|e| e.starts_with("reachability"))
        .collect();
    assert_eq!(
        reachability,
        ["reachability-lost", "reachability-regained"],
        "a change is news, a repeat is not"
    );
    let text = std::fs::read_to_string(dir.join("ocf_ipaddr_vip.prom")).expect("the textfile");
    assert!(
        text.contains(
            "ocf_ipaddr_reachability_failures_total{resource=\"vip\",ip=\"192.0.2.50\",nic=\"eth0\"} 2\n"
        ),
        "{text}"
    );
    assert!(
        text.contains(
            "ocf_ipaddr_monitor_failures_total{resource=\"vip\",ip=\"192.0.2.50\",nic=\"eth0\"} 2\n"
        ),
        "{text}"
    );
}

#[test]
fn resources_whose_names_differ_only_in_dots_colons_and_underscores_keep_their_own_counters() {
    let lab = Lab::new();
    let dir = metrics_dir(&lab.rsctmp);
    let metrics = dir.to_string_lossy().into_owned();
    let resources = [
        ("web.vip", "192.0.2.50"),
        ("web_vip", "192.0.2.51"),
        ("vip:1", "192.0.2.52"),
        ("vip_1", "192.0.2.53"),
    ];
    for (round, (resource, ip)) in resources.iter().enumerate() {
        let params =
            [("ip", *ip), ("cidr_netmask", "24"), ("nic", "eth0"), ("metrics_dir", metrics.as_str())];
        // Each resource starts and stops a different number of times.
        for _ in 0..=round {
            for action in ["start", "stop"] {
                let run = common::run_agent(
                    &lab.node,
                    &lab.rsctmp,
                    action,
                    &params,
                    &[("OCF_RESOURCE_INSTANCE", resource)],
                );
                assert_eq!(run.code, ocf::SUCCESS, "{resource} {action}: {run:?}");
            }
        }
    }
    let files: Vec<_> = std::fs::read_dir(&dir).unwrap().flatten().map(|e| e.file_name()).collect();
    assert_eq!(files.len(), resources.len(), "one textfile each: {files:?}");
    for (round, (resource, _)) in resources.iter().enumerate() {
        let text =
            std::fs::read_to_string(dir.join(format!("ocf_ipaddr_{resource}.prom"))).expect("its textfile");
        let label = format!(r#"resource="{resource}""#);
        assert_eq!(value(&text, "ocf_ipaddr_starts_total", &[&label]), Some(round as f64 + 1.0), "{text}");
        assert_eq!(value(&text, "ocf_ipaddr_stops_total", &[&label]), Some(round as f64 + 1.0), "{text}");
    }
}

#[test]
fn the_alert_rules_in_the_docs_pass_promtool_and_name_only_series_the_agent_writes() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/observability.md")).unwrap();
    let rules = doc
        .split("```yaml\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("docs/observability.md has the alert rules in a yaml block");
    let dir = std::env::temp_dir().join(format!("oib-rules-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("ocf-ipaddr.rules.yml");
    std::fs::write(&file, rules).unwrap();
    let checked = std::process::Command::new(PROMTOOL).args(["check", "rules"]).arg(&file).output().unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    assert!(
        checked.status.success(),
        "{}{}",
        String::from_utf8_lossy(&checked.stdout),
        String::from_utf8_lossy(&checked.stderr)
    );
    let source =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/observe/metrics.rs")).unwrap();
    for series in
        rules.split(|c: char| !(c.is_alphanumeric() || c == '_')).filter(|w| w.starts_with("ocf_ipaddr_"))
    {
        let name = series.trim_start_matches("ocf_ipaddr_");
        let name = name.strip_suffix("_total").unwrap_or(name);
        assert!(source.contains(&format!("\"{name}\"")), "{series} is no series the agent writes");
    }
}
