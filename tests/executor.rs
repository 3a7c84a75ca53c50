//! The agent through Pacemaker's own executor, action by action: a
//! standalone pacemaker-execd (Debian 13's Pacemaker 3.0) in a node's
//! namespaces, driven with cts-exec-helper as Pacemaker's conformance tests
//! drive it. Each result is checked as the executor names it (`rc:OK`,
//! `rc:Not running`, `rc:Service is active but might fail soon` for OCF
//! 1.1's degraded, ...), with the executor's environment, timeouts and
//! process handling, not the test's. What the controller would add to an
//! operation's parameters (the feature set, `CRM_meta_interval`) is given
//! as it gives it.

mod common;
use common::cluster::{Cluster, Stack};

const VIP: &str = "192.0.2.50";
const HELPER: &str = "/usr/lib/pacemaker/cts-exec-helper";
/// How Pacemaker 3.0 names OCF 1.1's 190 (degraded).
const DEGRADED: &str = "Service is active but might fail soon";
const CIDR: &str = "192.0.2.50/24";

/// A standalone executor, driven as Pacemaker's conformance tests drive it.
struct Executor {
    cluster: Cluster,
}

impl Executor {
    fn start() -> Executor {
        Executor { cluster: Cluster::executor_only(Stack::Debian13) }
    }

    fn register(&self, rsc: &str) {
        let args =
            ["-c", "register_rsc", "-r", rsc, "-C", "ocf", "-P", "rust", "-T", "IPaddr", "-t", "10000"];
        let event = format!("NEW_EVENT event_type:register rsc_id:{rsc} action:none rc:OK op_status:Done");
        self.cluster.executor(&args, &event);
    }

    /// Runs `action` of `rsc` once with `params`; its result must be `rc`.
    fn exec(&self, rsc: &str, action: &str, params: &[(&str, &str)], rc: &str) {
        self.cluster.executor(&exec_args(rsc, action, "0", "20000", params), &done(rsc, action, rc));
    }

    /// Runs `action` of `rsc` every `interval` and returns once its first
    /// result is `first`; the helper goes on listening (the executor tells
    /// only the client that asked, and a recurring result only when it
    /// changes) until a result is `then` or `timeout_ms` passes.
    /// The controller passes an operation's interval to the agent as the
    /// parameter `CRM_meta_interval` (the executor alone passes only what it
    /// is given): without it a recurring monitor looks like a probe.
    fn recurring(&self, rsc: &str, action: &str, interval_ms: u64, params: &[(&str, &str)]) -> Recurring {
        let mut params: Vec<(String, String)> =
            params.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        params.push(("CRM_meta_interval".to_string(), interval_ms.to_string()));
        Recurring {
            rsc: rsc.to_string(),
            action: action.to_string(),
            interval: format!("{interval_ms}ms"),
            params,
        }
    }

    /// Cancels a recurring operation, whatever its last result was.
    fn cancel(&self, rsc: &str, action: &str, interval: &str) {
        let args = ["-c", "cancel", "-r", rsc, "-a", action, "-i", interval, "-t", "10000", "-V", "-l", "-"];
        let out = self.cluster.on(0, HELPER, &args);
        let seen =
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let cancelled = format!("NEW_EVENT event_type:exec_complete rsc_id:{rsc} action:{action} rc:");
        let heard =
            seen.lines().any(|line| line.contains(&cancelled) && line.ends_with("op_status:Cancelled"));
        assert!(heard, "{action} of {rsc} every {interval} not cancelled: {seen}");
    }

    fn node(&self) -> &common::Netns {
        &self.cluster.seg.nodes[0]
    }
}

/// A recurring operation, before it is started.
struct Recurring {
    rsc: String,
    action: String,
    interval: String,
    params: Vec<(String, String)>,
}

impl Recurring {
    /// Starts it, waits for its first result to be `first`, then runs
    /// `meanwhile` and waits up to `timeout_ms` (from the start) for a
    /// later result `then`.
    fn expect(
        self,
        executor: &Executor,
        first: &str,
        meanwhile: impl FnOnce(),
        then: &str,
        timeout_ms: &str,
    ) {
        use std::io::{BufRead, BufReader};
        let params: Vec<(&str, &str)> = self.params.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let (rsc, action) = (self.rsc.as_str(), self.action.as_str());
        let mut args = exec_args(rsc, action, &self.interval, timeout_ms, &params);
        let later = done(rsc, action, then);
        args.extend(["-V", "-l", later.as_str()]);
        let mut helper = executor.cluster.executor_in_background(&args);
        let stderr = helper.stderr.take().expect("piped");
        let (lines, heard) = std::sync::mpsc::channel();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let _ = lines.send(line);
            }
        });
        let first = done(rsc, action, first);
        let wait = std::time::Duration::from_secs(30);
        let mut seen = Vec::new();
        while let Ok(line) = heard.recv_timeout(wait) {
            let found = line.ends_with(&first);
            seen.push(line);
            if found {
                break;
            }
        }
        assert!(seen.last().is_some_and(|line| line.ends_with(&first)), "no {first}: {seen:#?}");
        meanwhile();
        let out = helper.wait_with_output().expect("the helper ends");
        // Every line the helper wrote, up to its end of output.
        let _ = reader.join();
        seen.extend(heard.try_iter());
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(seen.iter().any(|line| line.ends_with(&later)), "no {later}: {said}{seen:#?}");
    }
}

fn exec_args<'a>(
    rsc: &'a str,
    action: &'a str,
    interval_ms: &'a str,
    timeout_ms: &'a str,
    params: &[(&'a str, &'a str)],
) -> Vec<&'a str> {
    let mut args = vec!["-c", "exec", "-r", rsc, "-a", action, "-i", interval_ms, "-t", timeout_ms];
    for (key, value) in params {
        args.extend(["-k", key, "-v", value]);
    }
    args
}

fn done(rsc: &str, action: &str, rc: &str) -> String {
    format!("NEW_EVENT event_type:exec_complete rsc_id:{rsc} action:{action} rc:{rc} op_status:Done")
}

/// The VIP, and the feature set Pacemaker 3.0's controller adds to every
/// operation's parameters (v3.20.0): the executor alone passes what it is
/// given, and the agent answers OCF 1.1's degraded only to a Pacemaker that
/// knows it.
const PARAMS: [(&str, &str); 3] = [("ip", VIP), ("cidr_netmask", "24"), ("crm_feature_set", "3.20.0")];

/// Probe, start, probe, validate-all, meta-data, a recurring monitor that
/// reports a VIP another process deleted (and the watcher put back) as
/// degraded, cancel, recover, stop twice, and the probe after it.
#[test]
fn each_action_answers_as_the_executor_names_it() {
    let executor = Executor::start();
    executor.register("vip");
    executor.exec("vip", "monitor", &PARAMS, "Not running");
    executor.exec("vip", "start", &PARAMS, "OK");
    assert!(executor.node().has_address("eth0", CIDR));
    executor.exec("vip", "monitor", &PARAMS, "OK");
    executor.exec("vip", "validate-all", &PARAMS, "OK");
    let metadata =
        executor.cluster.must(0, HELPER, &["-c", "metadata", "-C", "ocf", "-P", "rust", "-T", "IPaddr"]);
    assert!(metadata.contains("<resource-agent name=\"IPaddr\""), "{metadata}");

    // Deleted by another process: the watcher puts it back, and the next
    // recurring monitor tells Pacemaker (OCF 1.1's degraded) instead of
    // failing.
    let delete = || {
        executor.node().ip(&["addr", "del", CIDR, "dev", "eth0"]);
    };
    executor.recurring("vip", "monitor", 1000, &PARAMS).expect(&executor, "OK", delete, DEGRADED, "10000");
    assert!(executor.node().has_address("eth0", CIDR), "the watcher put the VIP back");
    executor.cancel("vip", "monitor", "1000ms");

    executor.exec("vip", "recover", &PARAMS, "OK");
    executor.exec("vip", "stop", &PARAMS, "OK");
    assert!(!executor.node().has_address("eth0", CIDR));
    executor.exec("vip", "stop", &PARAMS, "OK");
    executor.exec("vip", "monitor", &PARAMS, "Not running");
}

/// With self-healing turned off, a deleted VIP is reported by the next
/// recurring monitor as not running, within one interval (2 s, and a
/// second of the executor's own), and recover puts it back.
#[test]
fn without_self_healing_the_next_monitor_reports_a_deleted_vip_not_running() {
    let executor = Executor::start();
    executor.register("vip");
    let params = [PARAMS[0], PARAMS[1], PARAMS[2], ("repair_removed", "false")];
    executor.exec("vip", "start", &params, "OK");
    let deleted_at = std::cell::Cell::new(None);
    let delete = || {
        executor.node().ip(&["addr", "del", CIDR, "dev", "eth0"]);
        deleted_at.set(Some(std::time::Instant::now()));
    };
    executor.recurring("vip", "monitor", 2000, &params).expect(
        &executor,
        "OK",
        delete,
        "Not running",
        "20000",
    );
    let after = deleted_at.get().map(|at| at.elapsed());
    assert!(after.is_some_and(|after| after < std::time::Duration::from_secs(3)), "reported {after:?} after");
    executor.cancel("vip", "monitor", "2000ms");
    executor.exec("vip", "recover", &params, "OK");
    assert!(executor.node().has_address("eth0", CIDR), "recover put the VIP back");
    executor.exec("vip", "stop", &params, "OK");
}

/// An action's parameters.
type Params<'a> = &'a [(&'a str, &'a str)];

/// Every error class as the executor names it, and nothing changed on the
/// node by any of them.
#[test]
fn each_error_class_is_named_by_the_executor_and_changes_nothing() {
    let executor = Executor::start();
    executor.register("vip");
    let before = executor.node().snapshot();
    let cases: [(&str, Params, &str); 5] = [
        ("start", &[("ip", VIP), ("nic", "eth9")], "Not installed"),
        ("start", &[("ip", "192.0.2.300")], "Not configured"),
        ("start", &[("cidr_netmask", "24")], "Not configured"),
        ("start", &[("ip", VIP), ("cidr_netmask", "33")], "Not configured"),
        ("frobnicate", &PARAMS, "Unimplemented"),
    ];
    for (action, params, rc) in cases {
        executor.exec("vip", action, params, rc);
        assert_eq!(executor.node().snapshot(), before, "{action} {params:?} changed nothing");
    }
    executor.exec("vip", "stop", &PARAMS, "OK");
}
