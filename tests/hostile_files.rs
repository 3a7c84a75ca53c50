//! Something planted under a name the agent uses (a FIFO, a directory, a
//! socket, in the run directory or in metrics_dir) never hangs an action,
//! and never makes stop say 0 while the address is up: the agent replaces
//! it, or fails with a reason naming it, within the action's time.

mod common;
use common::{Lab, Run, ocf};
use std::path::{Path, PathBuf};
use std::time::Duration;

const VIP: &str = "192.0.2.50";
/// Longer than any action may take with CRM_meta_timeout=10000.
const HANG: Duration = Duration::from_secs(30);

/// Runs `action` like Pacemaker with a 10 s timeout; `None` if it hung.
fn bounded(lab: &Lab, action: &str, params: &[(&str, &str)], env: &[(&str, &str)]) -> Option<Run> {
    common::run_agent_bounded(&lab.node, &lab.rsctmp, action, params, env, HANG)
}

#[derive(Debug, Clone, Copy)]
enum Plant {
    Fifo,
    Directory,
    Socket,
}

fn plant(path: &Path, what: Plant) -> Option<std::os::unix::net::UnixListener> {
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("parent dir");
    // The agent's own file from an earlier case (the history, say).
    let _ = std::fs::remove_file(path).or_else(|_| std::fs::remove_dir_all(path));
    match what {
        Plant::Fifo => {
            nix::unistd::mkfifo(path, nix::sys::stat::Mode::from_bits_truncate(0o666)).expect("mkfifo");
            None
        }
        Plant::Directory => {
            std::fs::create_dir(path).expect("mkdir");
            None
        }
        Plant::Socket => Some(std::os::unix::net::UnixListener::bind(path).expect("bind")),
    }
}

/// A resource of each mode and the names it uses, planted one at a time.
struct Case {
    params: Vec<(&'static str, String)>,
    env: Vec<(&'static str, &'static str)>,
    /// Where to plant, relative to the run directory (or metrics_dir for `metrics:`).
    names: Vec<String>,
}

fn cases(metrics: &Path) -> Vec<Case> {
    let base = |extra: &[(&'static str, &str)]| {
        let mut params = vec![
            ("ip", VIP.to_string()),
            ("cidr_netmask", "24".to_string()),
            ("nic", "eth0".to_string()),
            ("metrics_dir", metrics.display().to_string()),
            ("arp_count", "30".to_string()),
            ("arp_interval", "1000".to_string()),
        ];
        params.extend(extra.iter().map(|(k, v)| (*k, v.to_string())));
        params
    };
    let key = "192.0.2.50+rweb";
    let per_resource = ["vip", "history", "metrics", "observe-lock", "action-lock", "announce"]
        .iter()
        .map(|kind| format!("IPaddr-{kind}-{key}"))
        .chain(["IPaddr-partial".to_string(), "metrics:ocf_ipaddr_web.prom".to_string()])
        .collect();
    vec![
        Case { params: base(&[]), env: vec![("OCF_RESOURCE_INSTANCE", "web")], names: per_resource },
        Case {
            params: base(&[("lvs_support", "true")]),
            env: vec![("OCF_RESOURCE_INSTANCE", "web")],
            names: vec![format!("IPaddr-lvs-{key}")],
        },
        Case {
            params: base(&[("announce_rate_limit", "100"), ("arp_target", "192.0.2.100")]),
            env: vec![("OCF_RESOURCE_INSTANCE", "web")],
            names: vec![
                "IPaddr-pace-2".to_string(),
                "IPaddr-pace-lock-2".to_string(),
                format!("IPaddr-converge-{key}"),
            ],
        },
        Case {
            params: base(&[("preferred_source", "true")]),
            env: vec![("OCF_RESOURCE_INSTANCE", "web")],
            names: vec![format!("IPaddr-srcroutes-{key}"), "IPaddr-srcroutes-lock-2".to_string()],
        },
        Case {
            params: base(&[("unique_clone_address", "false")]),
            env: vec![
                ("OCF_RESOURCE_INSTANCE", "web:0"),
                ("OCF_RESKEY_CRM_meta_clone_max", "2"),
                ("OCF_RESKEY_CRM_meta_clone", "0"),
                ("OCF_RESKEY_CRM_meta_globally_unique", "true"),
            ],
            names: vec![format!("IPaddr-clusterip-lock-{VIP}")],
        },
    ]
}

fn run_case(case: &Case, name: &str, what: Plant, lab: &Lab, metrics: &Path) -> Vec<String> {
    let path: PathBuf = match name.strip_prefix("metrics:") {
        Some(file) => metrics.join(file),
        None => lab.rsctmp.join(name),
    };
    let _listener = plant(&path, what);
    let params: Vec<(&str, &str)> = case.params.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let mut seen = Vec::new();
    for action in ["start", "monitor", "stop"] {
        let Some(run) = bounded(lab, action, &params, &case.env) else {
            panic!("{action} hung with a {what:?} at {}", path.display());
        };
        if ![ocf::SUCCESS, ocf::NOT_RUNNING].contains(&run.code) {
            let reason = run.reasons().join(" ");
            assert!(
                reason.contains(path.file_name().and_then(|n| n.to_str()).unwrap_or_default()),
                "{action} failed with a {what:?} at {} without naming it: {run:#?}",
                path.display()
            );
        }
        if action == "stop" && run.code == ocf::SUCCESS {
            assert!(
                !lab.node.has_address("eth0", &format!("{VIP}/24")),
                "stop said 0 with the address up ({what:?} at {}): {run:#?}",
                path.display()
            );
        }
        seen.push(format!("{action}={}", run.code));
    }
    // Whatever happened, the node is cleaned for the next case.
    let _ = std::fs::remove_file(&path).or_else(|_| std::fs::remove_dir_all(&path));
    let stop = bounded(lab, "stop", &params, &case.env).expect("a clean stop ends");
    assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
    seen
}

#[test]
fn nothing_planted_under_a_name_the_agent_uses_hangs_an_action_or_makes_stop_lie() {
    let lab = Lab::new();
    let metrics = lab.rsctmp.join("metrics");
    std::fs::create_dir_all(&metrics).expect("metrics dir");
    let mut report = Vec::new();
    for case in cases(&metrics) {
        for name in &case.names {
            for what in [Plant::Fifo, Plant::Directory, Plant::Socket] {
                let seen = run_case(&case, name, what, &lab, &metrics);
                report.push(format!("{name} {what:?}: {}", seen.join(" ")));
            }
        }
    }
    println!("{}", report.join("\n"));
}

#[test]
fn fifos_at_the_predictable_temporary_textfile_names_of_the_previous_release_never_hang_stop() {
    let lab = Lab::new();
    let metrics = lab.rsctmp.join("metrics");
    std::fs::create_dir_all(&metrics).expect("metrics dir");
    let params = [
        ("ip", VIP),
        ("cidr_netmask", "24"),
        ("nic", "eth0"),
        ("metrics_dir", metrics.to_str().expect("UTF-8")),
    ];
    let env = [("OCF_RESOURCE_INSTANCE", "web")];
    assert_eq!(bounded(&lab, "start", &params, &env).expect("start ends").code, ocf::SUCCESS);
    // Whoever can write metrics_dir (node_exporter's user, typically) plants
    // a FIFO at `.<textfile>.<pid>` for the pids the next processes get.
    let last: u32 = std::fs::read_to_string("/proc/sys/kernel/ns_last_pid")
        .expect("last pid")
        .trim()
        .parse()
        .expect("a pid");
    for pid in last + 1..last + 3000 {
        let _ = nix::unistd::mkfifo(
            &metrics.join(format!(".ocf_ipaddr_web.prom.{pid}")),
            nix::sys::stat::Mode::from_bits_truncate(0o666),
        );
    }
    let stop = bounded(&lab, "stop", &params, &env).expect("stop hung on a FIFO in metrics_dir");
    assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
    assert!(!lab.node.has_address("eth0", &format!("{VIP}/24")));
    let text = std::fs::read_to_string(metrics.join("ocf_ipaddr_web.prom")).expect("the textfile");
    assert!(
        text.contains("ocf_ipaddr_stops_total{resource=\"web\",ip=\"192.0.2.50\",nic=\"eth0\"} 1\n"),
        "{text}"
    );
}
