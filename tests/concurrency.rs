//! Many instances at once, as Pacemaker runs them: 64 VIPs, IPv4 and IPv6
//! mixed, started, monitored and stopped in parallel on one NIC; and two
//! agents racing start and stop of the same VIP.

mod common;
use common::{Lab, ocf};
use std::thread;
use std::time::{Duration, Instant};

/// The 64 instances: 16 IPv4 VIPs in the node's own subnet, 16 in a
/// subnet the node has no address in (so one of them is the primary
/// address there), and 32 IPv6 VIPs, half of them with DAD.
fn instances() -> Vec<Vec<(&'static str, String)>> {
    let mut all = Vec::new();
    for i in 0..16 {
        all.push(vec![
            ("ip", format!("192.0.2.{}", 150 + i)),
            ("cidr_netmask", "24".into()),
            ("nic", "eth0".into()),
        ]);
        all.push(vec![
            ("ip", format!("198.51.100.{}", 10 + i)),
            ("cidr_netmask", "24".into()),
            ("nic", "eth0".into()),
        ]);
    }
    for i in 0..32 {
        let mut p =
            vec![("ip", format!("2001:db8::a:{i:x}")), ("cidr_netmask", "64".into()), ("nic", "eth0".into())];
        if i % 2 == 0 {
            p.push(("nodad", "true".into()));
        }
        all.push(p);
    }
    all
}

fn cidr(params: &[(&str, String)]) -> String {
    let get = |k: &str| params.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    format!("{}/{}", get("ip"), get("cidr_netmask"))
}

/// Runs `action` for every instance at the same time; returns the exit codes.
fn in_parallel(lab: &Lab, action: &str, all: &[Vec<(&'static str, String)>]) -> Vec<i32> {
    thread::scope(|scope| {
        let handles: Vec<_> = all
            .iter()
            .map(|params| {
                scope.spawn(move || {
                    let borrowed: Vec<(&str, &str)> = params.iter().map(|(k, v)| (*k, v.as_str())).collect();
                    lab.agent(action, &borrowed).code
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("agent thread")).collect()
    })
}

#[test]
fn sixty_four_instances_in_parallel_end_exactly_where_they_should() {
    let lab = Lab::new();
    let all = instances();
    assert_eq!(all.len(), 64);
    let starts = in_parallel(&lab, "start", &all);
    assert!(starts.iter().all(|c| *c == ocf::SUCCESS), "starts: {starts:?}");
    for params in &all {
        assert!(lab.node.has_address("eth0", &cidr(params)), "{} missing", cidr(params));
    }
    let monitors = in_parallel(&lab, "monitor", &all);
    assert!(monitors.iter().all(|c| *c == ocf::SUCCESS), "monitors: {monitors:?}");

    // Stop every other instance: the rest must stay untouched.
    let (stopping, staying): (Vec<_>, Vec<_>) =
        all.iter().cloned().enumerate().partition(|(i, _)| i % 2 == 0);
    let stopping: Vec<_> = stopping.into_iter().map(|(_, p)| p).collect();
    let staying: Vec<_> = staying.into_iter().map(|(_, p)| p).collect();
    let stops = in_parallel(&lab, "stop", &stopping);
    assert!(stops.iter().all(|c| *c == ocf::SUCCESS), "stops: {stops:?}");
    for params in &stopping {
        assert!(!lab.node.has_address("eth0", &cidr(params)), "{} still there", cidr(params));
    }
    for params in &staying {
        assert!(
            lab.node.has_address("eth0", &cidr(params)),
            "{} lost by another instance's stop",
            cidr(params)
        );
    }
    let monitors = in_parallel(&lab, "monitor", &staying);
    assert!(monitors.iter().all(|c| *c == ocf::SUCCESS), "monitors after partial stop: {monitors:?}");
    let stops = in_parallel(&lab, "stop", &staying);
    assert!(stops.iter().all(|c| *c == ocf::SUCCESS));
    let left = lab.node.addresses("eth0");
    assert!(
        left.contains("192.0.2.1/24") && left.contains("2001:db8::1/64"),
        "the node's own addresses survive: {left}"
    );
    for params in &all {
        assert!(!lab.node.has_address("eth0", &cidr(params)));
    }
}

#[test]
fn racing_start_and_stop_of_one_vip_leave_a_state_monitor_reports_truthfully() {
    let lab = Lab::new();
    let params = [("ip", "192.0.2.77"), ("cidr_netmask", "24"), ("nic", "eth0")];
    for round in 0..20 {
        let (start, stop) = thread::scope(|s| {
            let a = s.spawn(|| lab.agent("start", &params).code);
            let b = s.spawn(|| lab.agent("stop", &params).code);
            (a.join().unwrap(), b.join().unwrap())
        });
        assert_eq!((start, stop), (ocf::SUCCESS, ocf::SUCCESS), "round {round}");
        let present = lab.node.has_address("eth0", "192.0.2.77/24");
        let monitor = lab.agent("monitor", &params).code;
        assert_eq!(monitor, if present { ocf::SUCCESS } else { ocf::NOT_RUNNING }, "round {round}");
        assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    }
    // Two starts racing each other: one adds, the other finds it added.
    for round in 0..10 {
        let codes = thread::scope(|s| {
            let a = s.spawn(|| lab.agent("start", &params).code);
            let b = s.spawn(|| lab.agent("start", &params).code);
            (a.join().unwrap(), b.join().unwrap())
        });
        assert_eq!(codes, (ocf::SUCCESS, ocf::SUCCESS), "round {round}");
        assert_eq!(lab.agent("monitor", &params).code, ocf::SUCCESS);
        assert_eq!(lab.agent("stop", &params).code, ocf::SUCCESS);
    }
}

#[test]
fn a_stop_run_while_a_start_waits_for_dad_takes_its_turn_after_it() {
    let lab = Lab::new();
    let params = [("ip", "2001:db8::77"), ("cidr_netmask", "64"), ("nic", "eth0")];
    let (start, stop) = thread::scope(|s| {
        let start = s.spawn(|| lab.agent("start", &params));
        // The start has recorded and added the address, and waits for DAD
        // (a second) to prove that no other host has it.
        let deadline = Instant::now() + Duration::from_secs(5);
        while !lab.node.addresses("eth0").contains("2001:db8::77/64") {
            assert!(Instant::now() < deadline, "the start never added its address");
            thread::sleep(Duration::from_millis(5));
        }
        let stop = lab.agent("stop", &params);
        (start.join().unwrap(), stop)
    });
    // Both succeed, in turn: the start does not fail because its address
    // vanished under it, and the stop removes what the start finished.
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    assert_eq!(stop.code, ocf::SUCCESS, "{stop:#?}");
    assert!(!lab.node.has_address("eth0", "2001:db8::77/64"));
    assert_eq!(lab.agent("monitor", &params).code, ocf::NOT_RUNNING);
}
