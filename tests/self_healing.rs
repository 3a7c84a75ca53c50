//! Self-healing (`repair_removed`, on by default): while the resource runs,
//! its watcher puts back what another process removes, names who did it,
//! and never fights: not after stop, not for an address moved elsewhere or
//! claimed by another host, not while the link is down, not past its
//! budget, not when turned off.

mod common;
use common::{Lab, Netns, agent_path, explain_report, neighbor_mac, no_neighbor_locktime, ocf, wait_for};
use std::time::Duration;

const V4: [(&str, &str); 3] = [("ip", "192.0.2.50"), ("cidr_netmask", "24"), ("nic", "eth0")];
const V4_CIDR: &str = "192.0.2.50/24";
/// A repair takes milliseconds; this bounds a wait for one on a loaded machine.
const REPAIR_WAIT: Duration = Duration::from_secs(10);

/// Pacemaker's recurring monitor, from an OCF 1.1 caller that understands 190.
const RECURRING: [(&str, &str); 5] = [
    ("OCF_RESOURCE_INSTANCE", "vip"),
    ("OCF_RESKEY_CRM_meta_interval", "10000"),
    ("OCF_RA_VERSION_MAJOR", "1"),
    ("OCF_RA_VERSION_MINOR", "1"),
    ("OCF_RESKEY_crm_feature_set", "3.16.2"),
];
const NAMED: [(&str, &str); 1] = [("OCF_RESOURCE_INSTANCE", "vip")];

fn act(lab: &Lab, action: &str, params: &[(&str, &str)]) -> common::Run {
    lab.agent_env(&lab.node, action, params, &NAMED)
}

fn monitor(lab: &Lab, params: &[(&str, &str)]) -> common::Run {
    lab.agent_env(&lab.node, "monitor", params, &RECURRING)
}

fn watchers(ns: &Netns) -> Vec<u32> {
    ns.processes_with_arg("__watch")
}

fn has_vip(lab: &Lab) -> bool {
    lab.node.has_address("eth0", V4_CIDR)
}

/// Deletes the VIP as an admin would and waits until it is back.
fn delete_and_wait_for_repair(lab: &Lab) -> Duration {
    lab.node.ip(&["addr", "del", V4_CIDR, "dev", "eth0"]);
    wait_for(REPAIR_WAIT, || has_vip(lab)).expect("the watcher puts the VIP back")
}

/// The history's event names, oldest first, as explain shows them.
fn events(lab: &Lab, params: &[(&str, &str)]) -> Vec<(String, String)> {
    let report = explain_report(&lab.node, &lab.rsctmp, "vip", params);
    report["events"]
        .as_array()
        .expect("explain lists events")
        .iter()
        .map(|e| {
            (e["event"].as_str().unwrap_or("").to_string(), e["detail"].as_str().unwrap_or("").to_string())
        })
        .collect()
}

/// Waits until the history shows `event` `count` times.
fn wait_for_event(lab: &Lab, params: &[(&str, &str)], event: &str, count: usize) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    wait_for(REPAIR_WAIT, || {
        seen = events(lab, params);
        seen.iter().filter(|(name, _)| name == event).count() >= count
    })
    .unwrap_or_else(|| panic!("no {count} {event} events: {seen:?}"));
    seen
}

/// Starts the resource with the crash-point build, its watcher held before
/// it reads anything (the pause gate): the gate to remove, and whether the
/// watcher was seen waiting at it.
fn start_with_the_watcher_held(lab: &Lab, params: &[(&str, &str)]) -> (std::path::PathBuf, Option<Duration>) {
    let agent = common::crash_agent();
    let gate = lab.scratch("gate");
    std::fs::write(&gate, "").expect("the gate");
    let held = gate.with_extension("held");
    let gate_text = gate.to_string_lossy().into_owned();
    let env =
        [NAMED[0], ("OCF_IPADDR_PAUSE_AT", "__watch:listen"), ("OCF_IPADDR_PAUSE_GATE", gate_text.as_str())];
    let start = common::run_agent_at(&lab.node, &lab.rsctmp, &agent, "start", params, &env);
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    let waiting = wait_for(REPAIR_WAIT, || held.exists());
    (gate, waiting)
}

#[test]
fn a_deleted_vip_is_put_back_announced_and_the_next_monitor_says_who_once() {
    let lab = Lab::new();
    no_neighbor_locktime(&lab.client);
    assert_eq!(act(&lab, "start", &V4).code, ocf::SUCCESS);
    let watcher = watchers(&lab.node);
    assert_eq!(watcher.len(), 1, "one watcher runs for the resource");
    let exe = std::fs::read_link(format!("/proc/{}/exe", watcher[0])).unwrap();
    let agent = std::fs::canonicalize(agent_path()).unwrap();
    assert_eq!(exe, agent, "the watcher is the agent itself, no other program");
    // A client that still has some other MAC for the VIP follows the repair.
    common::stale_neighbor(&lab.client, "192.0.2.50", "02:00:00:00:00:99");
    delete_and_wait_for_repair(&lab);
    let history = wait_for_event(&lab, &V4, "repaired", 1);
    let (_, detail) = history.iter().find(|(name, _)| name == "repaired").unwrap();
    assert!(detail.contains("removed by") && detail.contains("pid"), "{detail}");
    let mac = lab.node.mac("eth0");
    assert!(
        wait_for(REPAIR_WAIT, || neighbor_mac(&lab.client, "192.0.2.50").as_deref() == Some(mac.as_str()))
            .is_some(),
        "the repair announced the VIP again"
    );
    let first = monitor(&lab, &V4);
    assert_eq!(first.code, ocf::DEGRADED, "{first:?}");
    assert!(
        first.reason().contains("192.0.2.50 removed by") && first.reason().contains("put back after"),
        "{first:?}"
    );
    assert_eq!(monitor(&lab, &V4).code, ocf::SUCCESS, "said once");
    assert_eq!(watchers(&lab.node), watcher, "the same watcher keeps watching");
    assert_eq!(act(&lab, "stop", &V4).code, ocf::SUCCESS);
}

#[test]
fn a_caller_without_ocf_1_1_gets_0_and_a_warning() {
    let lab = Lab::new();
    assert_eq!(act(&lab, "start", &V4).code, ocf::SUCCESS);
    delete_and_wait_for_repair(&lab);
    wait_for_event(&lab, &V4, "repaired", 1);
    let old_caller = [("OCF_RESOURCE_INSTANCE", "vip"), ("OCF_RESKEY_CRM_meta_interval", "10000")];
    let run = lab.agent_env(&lab.node, "monitor", &V4, &old_caller);
    assert_eq!(run.code, ocf::SUCCESS, "{run:?}");
    assert!(run.stderr.contains("WARNING") && run.stderr.contains("put back after"), "{run:?}");
}

#[test]
fn a_flush_of_the_nic_gets_the_vip_back_and_nothing_else() {
    let lab = Lab::new();
    assert_eq!(act(&lab, "start", &V4).code, ocf::SUCCESS);
    lab.node.ip(&["addr", "flush", "dev", "eth0"]);
    assert!(wait_for(REPAIR_WAIT, || has_vip(&lab)).is_some(), "{}", lab.node.addresses("eth0"));
    wait_for_event(&lab, &V4, "repaired", 1);
    assert!(!lab.node.has_address("eth0", "192.0.2.1/24"), "the node's own address is not the resource's");
    assert_eq!(act(&lab, "stop", &V4).code, ocf::SUCCESS);
    assert!(!has_vip(&lab));
}

#[test]
fn an_ipv6_vip_is_put_back_too() {
    let lab = Lab::new();
    let params = [("ip", "2001:db8::50"), ("cidr_netmask", "64"), ("nic", "eth0")];
    assert_eq!(act(&lab, "start", &params).code, ocf::SUCCESS);
    lab.node.ip(&["addr", "del", "2001:db8::50/64", "dev", "eth0"]);
    assert!(wait_for(REPAIR_WAIT, || lab.node.has_address("eth0", "2001:db8::50/64")).is_some());
    wait_for_event(&lab, &params, "repaired", 1);
    assert_eq!(monitor(&lab, &params).code, ocf::DEGRADED);
    assert_eq!(act(&lab, "stop", &params).code, ocf::SUCCESS);
    assert!(!lab.node.has_address("eth0", "2001:db8::50/64"));
}

#[test]
fn past_its_budget_the_watcher_leaves_it_to_pacemaker() {
    let lab = Lab::new();
    assert_eq!(act(&lab, "start", &V4).code, ocf::SUCCESS);
    for n in 1..=3 {
        delete_and_wait_for_repair(&lab);
        wait_for_event(&lab, &V4, "repaired", n);
    }
    lab.node.ip(&["addr", "del", V4_CIDR, "dev", "eth0"]);
    let history = wait_for_event(&lab, &V4, "not-repaired", 1);
    assert!(
        history.iter().any(|(name, detail)| name == "not-repaired" && detail.contains("3 repairs")),
        "{history:?}"
    );
    assert!(wait_for(REPAIR_WAIT, || watchers(&lab.node).is_empty()).is_some(), "the watcher ended");
    assert!(!has_vip(&lab), "not put back a fourth time");
    let run = monitor(&lab, &V4);
    assert_eq!(run.code, ocf::NOT_RUNNING, "{run:?}");
    assert!(run.reason().contains("not put back"), "{run:?}");
    // Pacemaker's recovery: stop, then start with a new watcher.
    assert_eq!(act(&lab, "stop", &V4).code, ocf::SUCCESS);
    assert_eq!(act(&lab, "start", &V4).code, ocf::SUCCESS);
    assert_eq!(watchers(&lab.node).len(), 1);
}

#[test]
fn repair_removed_false_keeps_ipaddr2_s_behaviour() {
    let lab = Lab::new();
    let params = [V4[0], V4[1], V4[2], ("repair_removed", "false")];
    assert_eq!(act(&lab, "start", &params).code, ocf::SUCCESS);
    assert!(watchers(&lab.node).is_empty(), "no watcher when turned off");
    lab.node.ip(&["addr", "del", V4_CIDR, "dev", "eth0"]);
    // Monitor runs after the deletion: had a watcher existed, nothing says
    // it would have run yet, so the absence of one is what is checked.
    assert_eq!(monitor(&lab, &params).code, ocf::NOT_RUNNING);
    assert!(!has_vip(&lab));
    assert!(watchers(&lab.node).is_empty(), "a monitor of a stopped VIP starts none");
}

#[test]
fn a_probe_starts_no_watcher_and_a_recurring_monitor_restores_a_lost_one() {
    let lab = Lab::new();
    assert_eq!(act(&lab, "start", &V4).code, ocf::SUCCESS);
    for pid in watchers(&lab.node) {
        common::sh("kill", &["-9", &pid.to_string()]);
    }
    assert!(wait_for(REPAIR_WAIT, || watchers(&lab.node).is_empty()).is_some());
    let probe = lab.agent_env(&lab.node, "monitor", &V4, &[NAMED[0], ("OCF_RESKEY_CRM_meta_interval", "0")]);
    assert_eq!(probe.code, ocf::SUCCESS);
    assert!(watchers(&lab.node).is_empty(), "a probe never acts");
    assert_eq!(monitor(&lab, &V4).code, ocf::SUCCESS);
    assert_eq!(watchers(&lab.node).len(), 1, "the recurring monitor started the watcher again");
    delete_and_wait_for_repair(&lab);
    assert_eq!(act(&lab, "stop", &V4).code, ocf::SUCCESS);
}

#[test]
fn stop_ends_the_watcher_first_and_nothing_comes_back() {
    let lab = Lab::new();
    assert_eq!(act(&lab, "start", &V4).code, ocf::SUCCESS);
    assert_eq!(act(&lab, "stop", &V4).code, ocf::SUCCESS);
    assert!(watchers(&lab.node).is_empty(), "stop ended the watcher");
    assert!(!has_vip(&lab));
    let leftovers: Vec<_> = std::fs::read_dir(&lab.rsctmp)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains("watch") || name.contains("repaired"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_stop_racing_a_deletion_leaves_nothing_behind() {
    for _ in 0..5 {
        let lab = Lab::new();
        assert_eq!(act(&lab, "start", &V4).code, ocf::SUCCESS);
        lab.node.ip(&["addr", "del", V4_CIDR, "dev", "eth0"]);
        assert_eq!(act(&lab, "stop", &V4).code, ocf::SUCCESS);
        assert!(!has_vip(&lab), "{}", lab.node.addresses("eth0"));
        assert!(watchers(&lab.node).is_empty());
        // A repair the watcher had begun dies with it (or finds no record).
        assert!(wait_for(REPAIR_WAIT, || lab.node.processes_with_arg("__repair").is_empty()).is_some());
        assert!(!has_vip(&lab), "a repair put the VIP back after stop");
    }
}

#[test]
fn an_address_moved_to_another_nic_is_reported_not_doubled() {
    let lab = Lab::new();
    lab.add_eth1();
    assert_eq!(act(&lab, "start", &V4).code, ocf::SUCCESS);
    // Added there before it leaves eth0: when the watcher looks, it is on eth1.
    lab.node.ip(&["addr", "add", V4_CIDR, "dev", "eth1"]);
    lab.node.ip(&["addr", "del", V4_CIDR, "dev", "eth0"]);
    let history = wait_for_event(&lab, &V4, "not-repaired", 1);
    assert!(
        history.iter().any(|(name, detail)| name == "not-repaired" && detail.contains("eth1")),
        "{history:?}"
    );
    assert!(!has_vip(&lab), "never a second copy on eth0");
    assert_eq!(monitor(&lab, &V4).code, ocf::ERR_GENERIC);
}

/// The local table can lag behind the addresses: IPv6 adds a copy's local
/// route from a work queue, and removing the copy on eth0 can take the
/// route the two copies shared. A repair that trusted it alone put the VIP
/// back on eth0 beside its copy on eth1 (seen once in the differential
/// suite). The watcher is held before it reads, the VIP is added on eth1
/// and its local route removed by hand (the lag, made), the VIP leaves
/// eth0, and the gate opens: the repair finds eth1's copy in the address
/// table and leaves it.
#[test]
fn a_move_the_local_table_does_not_show_yet_is_not_undone() {
    let lab = Lab::new();
    lab.add_eth1();
    let params = [("ip", "2001:db8::50"), ("cidr_netmask", "64"), ("nic", "eth0")];
    let (gate, waiting) = start_with_the_watcher_held(&lab, &params);
    lab.node.ip(&["addr", "add", "2001:db8::50/64", "dev", "eth1", "nodad"]);
    let _ = lab
        .node
        .exec("ip", &["-6", "route", "del", "local", "2001:db8::50", "dev", "eth1", "table", "local"]);
    lab.node.ip(&["addr", "del", "2001:db8::50/64", "dev", "eth0"]);
    let route = lab.node.ip(&["-6", "route", "show", "table", "local", "2001:db8::50"]);
    std::fs::remove_file(&gate).expect("the gate opens");
    assert!(waiting.is_some(), "the watcher waits at the gate before it reads");
    assert!(route.trim().is_empty(), "the local table shows no copy: {route}");
    let history = wait_for_event(&lab, &params, "not-repaired", 1);
    assert!(
        history.iter().any(|(name, detail)| name == "not-repaired" && detail.contains("eth1")),
        "{history:?}"
    );
    assert!(!lab.node.has_address("eth0", "2001:db8::50/64"), "never a second copy on eth0");
}

#[test]
fn an_address_another_host_answers_for_is_not_taken_back() {
    let lab = Lab::new();
    assert_eq!(act(&lab, "start", &V4).code, ocf::SUCCESS);
    // The client claims the address (nodad: it answers at once), then the node loses it.
    lab.client.ip(&["addr", "add", V4_CIDR, "dev", "eth0"]);
    lab.node.ip(&["addr", "del", V4_CIDR, "dev", "eth0"]);
    let history = wait_for_event(&lab, &V4, "not-repaired", 1);
    assert!(!has_vip(&lab), "{history:?}");
    let run = monitor(&lab, &V4);
    assert_eq!(run.code, ocf::NOT_RUNNING, "{run:?}");
    assert!(run.reason().contains("not put back") || run.reason().contains("failed"), "{run:?}");
}

#[test]
fn a_deletion_while_the_link_is_down_is_repaired_when_it_comes_back() {
    let lab = Lab::new();
    let params = [V4[0], V4[1], V4[2], ("check_link_status", "true")];
    assert_eq!(act(&lab, "start", &params).code, ocf::SUCCESS);
    lab.client.ip(&["link", "set", "eth0", "down"]);
    lab.node.ip(&["addr", "del", V4_CIDR, "dev", "eth0"]);
    // The repair that ran for the deletion found no carrier and put nothing back.
    let history = wait_for_event(&lab, &params, "not-repaired", 1);
    assert!(history.iter().any(|(_, detail)| detail.contains("when the link is up")), "{history:?}");
    assert!(!has_vip(&lab));
    lab.client.ip(&["link", "set", "eth0", "up"]);
    assert!(wait_for(REPAIR_WAIT, || has_vip(&lab)).is_some(), "put back when the carrier returned");
    wait_for_event(&lab, &params, "repaired", 1);
}

#[test]
fn a_vip_placed_by_its_route_comes_back_where_start_put_it_when_the_flush_took_the_route_too() {
    // No nic: start found eth0 from the route of the node's own address,
    // which the flush removes with the VIP (as a network manager
    // reconfiguring the link does, for a moment).
    let lab = Lab::new();
    let params = [("ip", "192.0.2.50"), ("cidr_netmask", "24")];
    assert_eq!(act(&lab, "start", &params).code, ocf::SUCCESS);
    lab.node.ip(&["-4", "addr", "flush", "dev", "eth0"]);
    assert!(wait_for(REPAIR_WAIT, || has_vip(&lab)).is_some(), "{}", lab.node.addresses("eth0"));
    wait_for_event(&lab, &params, "repaired", 1);
    assert_eq!(act(&lab, "stop", &params).code, ocf::SUCCESS);
    assert!(!has_vip(&lab));
}

#[test]
fn a_vip_its_remover_adds_back_itself_is_taken_as_the_resources_own() {
    // One `ip` process (one netlink socket) removes the VIP and adds it
    // back, untagged, as systemd-networkd 252 sometimes does when it
    // reconfigures the link. Whichever comes first, the watcher's repair or
    // the re-add, the resource ends up owning the one copy.
    let lab = Lab::new();
    assert_eq!(act(&lab, "start", &V4).code, ocf::SUCCESS);
    let batch = lab.rsctmp.join("readd.batch");
    std::fs::write(&batch, format!("addr del {V4_CIDR} dev eth0\naddr add {V4_CIDR} dev eth0\n")).unwrap();
    let out = lab.node.exec("ip", &["-force", "-batch", batch.to_str().unwrap()]);
    assert!(has_vip(&lab), "{out:?}");
    wait_for_event(&lab, &V4, "repaired", 1);
    let monitor = monitor(&lab, &V4);
    assert_eq!(monitor.code, ocf::DEGRADED, "the one copy is the resource's: {monitor:?}");
    assert_eq!(act(&lab, "stop", &V4).code, ocf::SUCCESS);
    assert!(!has_vip(&lab), "stop removed it");
}

/// A removal right after start is named however late the watcher first
/// runs: start subscribes for it before it answers. The watcher is held
/// before it reads anything (the crash-point build's pause gate), `ip`
/// removes the VIP and exits, and the gate opens: the repair names `ip`'s
/// pid, not "someone".
#[test]
fn a_removal_before_the_watcher_first_runs_is_heard_with_its_author() {
    let lab = Lab::new();
    let (gate, waiting) = start_with_the_watcher_held(&lab, &V4);
    let remover = lab.node.exec("ip", &["addr", "del", V4_CIDR, "dev", "eth0"]);
    std::fs::remove_file(&gate).expect("the gate opens");
    assert!(waiting.is_some(), "the watcher waits at the gate before it reads");
    assert!(remover.status.success(), "{remover:?}");
    let seen = lab.repairs_of(&V4, 1);
    assert!(seen[0].starts_with("removed by ") && seen[0].contains("pid "), "named: {seen:?}");
    assert!(!seen[0].contains("someone"), "heard, not found afterwards: {seen:?}");
    assert_eq!(act(&lab, "stop", &V4).code, ocf::SUCCESS);
    assert!(!has_vip(&lab));
}

#[test]
fn a_copy_added_in_its_place_by_another_process_stays_someone_elses() {
    // An admin deletes it with one command and adds it back with another
    // (another process): that copy is not taken over.
    let lab = Lab::new();
    let params = [V4[0], V4[1], V4[2], ("probe_count", "0")];
    assert_eq!(act(&lab, "start", &params).code, ocf::SUCCESS);
    let batch = lab.rsctmp.join("hand.batch");
    std::fs::write(&batch, format!("addr add {V4_CIDR} dev eth0\n")).unwrap();
    lab.node.ip(&["addr", "del", V4_CIDR, "dev", "eth0"]);
    // Whether the repair or the hand-made add comes first, one copy is there.
    let _ = lab.node.exec("ip", &["-batch", batch.to_str().unwrap()]);
    let history = wait_for(REPAIR_WAIT, || {
        let seen = events(&lab, &params);
        seen.iter().any(|(name, _)| name == "repaired" || name == "not-repaired")
    });
    assert!(history.is_some());
    let seen = events(&lab, &params);
    let adopted = seen.iter().any(|(_, detail)| detail.contains("added back by it"));
    assert!(!adopted, "another process's copy is never adopted: {seen:?}");
}

/// The watcher and its repairs have no caller to read their output: their
/// lines go to syslog (facility daemon, `IPaddr(<resource>)[pid]:` as the
/// identifier), as a shell agent's `ha_log` lines do. The start runs in a
/// private mount namespace whose /dev/log is the test's socket, and the
/// watcher it leaves stays there.
#[test]
fn the_watcher_tells_syslog_who_removed_the_vip_and_that_it_is_back() {
    use std::os::unix::net::UnixDatagram;
    let lab = Lab::new();
    let dir = lab.scratch("syslog");
    std::fs::create_dir_all(&dir).unwrap();
    let socket = dir.join("log");
    let syslog = UnixDatagram::bind(&socket).expect("a syslog socket");
    syslog.set_read_timeout(Some(REPAIR_WAIT)).unwrap();
    let (d, sock, ns, rsctmp) = (dir.display(), socket.display(), &lab.node.name, lab.rsctmp.display());
    let agent = agent_path();
    let script = format!(
        "set -e
mkdir -p {d}/dev.orig
mount --rbind /dev {d}/dev.orig
mount -t tmpfs tmpfs /dev
for n in null zero random urandom; do touch /dev/$n; mount --bind {d}/dev.orig/$n /dev/$n; done
ln -s {sock} /dev/log
exec ip netns exec {ns} env HA_RSCTMP={rsctmp} OCF_RESOURCE_INSTANCE=vip OCF_RESKEY_ip=192.0.2.50 \
    OCF_RESKEY_cidr_netmask=24 OCF_RESKEY_nic=eth0 {} start",
        agent.display()
    );
    let start = std::process::Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .output()
        .expect("unshare runs");
    assert!(start.status.success(), "{start:?}");
    assert_eq!(watchers(&lab.node).len(), 1);
    lab.node.ip(&["addr", "del", V4_CIDR, "dev", "eth0"]);
    let mut heard = Vec::new();
    let mut buf = [0u8; 2048];
    while let Ok(n) = syslog.recv(&mut buf) {
        let line = String::from_utf8_lossy(&buf[..n]).into_owned();
        let done = line.contains("put back");
        heard.push(line);
        if done {
            break;
        }
    }
    let repaired = heard.iter().find(|l| l.contains("put back")).unwrap_or_else(|| panic!("{heard:?}"));
    // <28>: facility daemon (3 × 8), severity warning (4).
    assert!(repaired.starts_with("<28>IPaddr(vip)["), "{repaired}");
    // `ip` has often exited before the watcher asks who it was: named by pid then.
    assert!(repaired.contains("WARNING: 192.0.2.50 was removed by "), "{repaired}");
    assert!(repaired.contains("put back on eth0 after "), "{repaired}");
    assert_eq!(act(&lab, "stop", &V4).code, ocf::SUCCESS);
    let _ = std::fs::remove_dir_all(&dir);
}
