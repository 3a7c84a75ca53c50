//! `announce_rate_limit`: one budget of ARP frames per second per
//! interface, shared by every instance of the agent, measured where a
//! switch would count them (a capture on the client's end of the link).

mod common;
use common::wire::{Capture, Frame, arps};
use common::{Lab, Run, ocf, wait_for};
use std::process::Child;
use std::time::{Duration, Instant};

/// The most frames from `mac` in any one-second window of the capture.
fn peak_per_second(frames: &[Frame], mac: &str) -> usize {
    peak_per_second_from(frames, |src| src == mac)
}

/// The most frames from the sources `from` accepts in any one-second
/// window of the capture.
fn peak_per_second_from(frames: &[Frame], from: impl Fn(&str) -> bool) -> usize {
    let ours: Vec<_> = arps(frames).into_iter().filter(|a| from(&a.eth_src)).collect();
    let in_window =
        |start: u64| ours.iter().filter(move |a| a.micros >= start && a.micros < start + 1_000_000);
    let (peak, start) = ours.iter().map(|a| (in_window(a.micros).count(), a.micros)).max().unwrap_or((0, 0));
    if std::env::var_os("OCF_IPADDR_SHOW_PEAK").is_some() {
        for a in in_window(start) {
            println!(
                "{} {} {} -> {}",
                a.micros,
                if a.reply { "reply" } else { "request" },
                a.sender_ip,
                a.target_ip
            );
        }
    }
    peak
}

fn vip_params(ip: &str, limit: &str) -> Vec<(&'static str, String)> {
    vec![
        ("ip", ip.to_string()),
        ("cidr_netmask", "24".into()),
        ("nic", "eth0".into()),
        ("announce_rate_limit", limit.into()),
        ("arp_mode", "request".into()),
        ("arp_count", "2".into()),
    ]
}

/// Starts `IPaddr start` in the node's namespace without waiting.
fn spawn_start(lab: &Lab, params: &[(&str, String)], timeout_ms: &str) -> Child {
    let mut command = common::agent_command(&lab.node, &lab.rsctmp, &common::agent_path(), "start");
    for (key, value) in params {
        command.env(format!("OCF_RESKEY_{key}"), value);
    }
    command.env("OCF_RESKEY_CRM_meta_timeout", timeout_ms);
    command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    command.spawn().expect("the agent starts")
}

fn finish(child: Child) -> Option<Run> {
    let out = child.wait_with_output().ok()?;
    let code = out.status.code()?;
    Some(Run {
        code,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}

/// Waits until no background announcer runs on the node.
fn announcers_done(lab: &Lab) {
    let done = wait_for(Duration::from_secs(60), || lab.node.processes_with_arg("__announce").is_empty());
    assert!(done.is_some(), "background announcers still running");
}

/// Waits for the announcers, then checks on the wire that each of `vips`
/// was announced from `mac`, never more than one frame a second.
fn all_announced_at_one_frame_a_second(lab: &Lab, capture: Capture, vips: &[String], mac: &str) {
    announcers_done(lab);
    let frames = capture.stop();
    let announced = arps(&frames);
    for ip in vips {
        let ip: std::net::Ipv4Addr = ip.parse().unwrap();
        assert!(announced.iter().any(|a| a.sender_ip == ip && a.eth_src == mac), "{ip} never announced");
    }
    assert!(peak_per_second(&frames, mac) <= 1);
}

/// Sets `key` to `value` in `params`, replacing what was there.
fn set(params: &mut Vec<(&'static str, String)>, key: &'static str, value: &str) {
    params.retain(|(k, _)| *k != key);
    params.push((key, value.to_string()));
}

fn as_refs<'a>(params: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    params.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn the_limit_holds_when_200_vips_start_at_once_and_some_are_killed() {
    const LIMIT: usize = 150;
    let lab = Lab::new();
    let node_mac = lab.node.mac("eth0");
    let capture = Capture::start_filtered(&lab.client, "eth0", &lab.rsctmp, "arp");
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().subsec_nanos();
    println!("seed {seed}");
    let vips: Vec<String> = (1..=200).map(|i| format!("198.51.100.{i}")).collect();
    let began = Instant::now();
    let mut children: Vec<Option<Child>> =
        vips.iter().map(|ip| Some(spawn_start(&lab, &vip_params(ip, &LIMIT.to_string()), "60000"))).collect();
    // kill -9 twenty of them at moments spread over the first two seconds.
    let mut killed = Vec::new();
    for k in 0..20u32 {
        let victim = (seed.wrapping_mul(2654435761).wrapping_add(k * 7919) % 200) as usize;
        std::thread::sleep(Duration::from_millis(u64::from(seed.wrapping_add(k * 104729) % 100)));
        if let Some(child) = children[victim].as_mut() {
            let _ = child.kill();
            killed.push(victim);
        }
    }
    let runs: Vec<Option<Run>> = children.into_iter().map(|c| c.and_then(finish)).collect();
    let all_started = began.elapsed();
    announcers_done(&lab);
    let frames = capture.stop();
    let peak = peak_per_second(&frames, &node_mac);
    println!(
        "200 VIPs at announce_rate_limit={LIMIT}: the last start ended after {all_started:?}; peak {peak} frames/s; {} instances killed",
        killed.len()
    );
    assert!(peak <= LIMIT, "{peak} frames in one second, over the limit of {LIMIT}");
    let announced = arps(&frames);
    for (i, run) in runs.iter().enumerate() {
        if killed.contains(&i) {
            continue;
        }
        let run = run.as_ref().unwrap_or_else(|| panic!("{} ended by a signal", vips[i]));
        assert_eq!(run.code, ocf::SUCCESS, "{}: {run:#?}", vips[i]);
        let ip: std::net::Ipv4Addr = vips[i].parse().unwrap();
        assert!(
            announced.iter().any(|a| a.sender_ip == ip && a.target_ip == ip),
            "{} never announced",
            vips[i]
        );
    }
    // Killed at any instant: stop still cleans up every one.
    for ip in &vips {
        let stop = lab.agent("stop", &as_refs(&vip_params(ip, &LIMIT.to_string())));
        assert_eq!(stop.code, ocf::SUCCESS, "{ip}: {stop:#?}");
    }
    assert!(!lab.node.addresses("eth0").contains("198.51.100."), "{}", lab.node.addresses("eth0"));
}

#[test]
fn a_first_announcement_does_not_wait_behind_another_vips_repeats() {
    const LIMIT: &str = "20";
    let lab = Lab::new();
    let node_mac = lab.node.mac("eth0");
    let capture = Capture::start_filtered(&lab.client, "eth0", &lab.rsctmp, "arp");
    // A VIP whose announcer repeats as fast as the budget lets it.
    let mut noisy = vip_params("192.0.2.60", LIMIT);
    // 100 rounds a second wanted, for 3 s: the budget lets 15 of 20 through.
    set(&mut noisy, "arp_count", "300");
    set(&mut noisy, "arp_interval", "10");
    assert_eq!(lab.agent("start", &as_refs(&noisy)).code, ocf::SUCCESS);
    std::thread::sleep(Duration::from_millis(1500));
    let quiet = vip_params("192.0.2.61", LIMIT);
    let start = lab.agent("start", &as_refs(&quiet));
    assert_eq!(start.code, ocf::SUCCESS, "{start:#?}");
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(lab.agent("stop", &as_refs(&noisy)).code, ocf::SUCCESS);
    let frames = capture.stop();
    let ours: Vec<_> = arps(&frames).into_iter().filter(|a| a.eth_src == node_mac).collect();
    let first_probe =
        ours.iter().find(|a| a.target_ip.to_string() == "192.0.2.61").expect("the probe").micros;
    let announced = ours
        .iter()
        .find(|a| a.sender_ip.to_string() == "192.0.2.61")
        .unwrap_or_else(|| panic!("192.0.2.61 never announced: {ours:#?}"))
        .micros;
    let repeats_between = ours
        .iter()
        .filter(|a| a.sender_ip.to_string() == "192.0.2.60" && (first_probe..announced).contains(&a.micros));
    let repeats_between = repeats_between.count();
    println!(
        "first announcement {} ms after the first probe, {repeats_between} repeats between",
        (announced - first_probe) / 1000
    );
    assert!(repeats_between <= 1, "the first announcement waited behind {repeats_between} repeats");
    let repeats = ours.iter().filter(|a| a.sender_ip.to_string() == "192.0.2.60").count();
    assert!(repeats > 20, "the noisy VIP kept repeating ({repeats} frames)");
    assert!(peak_per_second(&frames, &node_mac) <= 20);
    assert_eq!(lab.agent("stop", &as_refs(&quiet)).code, ocf::SUCCESS);
}

#[test]
fn a_start_whose_first_announcement_gets_no_slot_in_time_succeeds_and_announces_after_it() {
    let lab = Lab::new();
    let node_mac = lab.node.mac("eth0");
    let capture = Capture::start_filtered(&lab.client, "eth0", &lab.rsctmp, "arp");
    let vips: Vec<String> = (70..74).map(|i| format!("192.0.2.{i}")).collect();
    let params = |ip: &str| {
        let mut p = vip_params(ip, "1");
        set(&mut p, "probe_count", "0");
        set(&mut p, "arp_count", "1");
        p
    };
    // One frame a second and 1 s of start time (1.5 s less the reserve):
    // only the first start's announcement fits before its deadline.
    let children: Vec<Child> = vips.iter().map(|ip| spawn_start(&lab, &params(ip), "1500")).collect();
    let runs: Vec<Run> = children.into_iter().map(|c| finish(c).expect("an exit code")).collect();
    for (i, run) in runs.iter().enumerate() {
        assert_eq!(run.code, ocf::SUCCESS, "{}: {run:#?}", vips[i]);
        assert!(lab.node.has_address("eth0", &format!("{}/24", vips[i])), "{}", vips[i]);
    }
    let deferred: Vec<usize> =
        (0..vips.len()).filter(|&i| runs[i].stderr.contains("first announcement deferred to")).collect();
    assert!(!deferred.is_empty() && deferred.len() < vips.len(), "{runs:#?}");
    all_announced_at_one_frame_a_second(&lab, capture, &vips, &node_mac);
    // explain shows what was deferred, from the resource's history.
    let late = &vips[deferred[0]];
    let mut explain = common::agent_command(&lab.node, &lab.rsctmp, &common::agent_path(), "explain");
    explain.args(["--format", "json"]);
    for (key, value) in params(late) {
        explain.env(format!("OCF_RESKEY_{key}"), value);
    }
    let explain = common::finish(explain);
    let report: serde_json::Value =
        serde_json::from_str(&explain.stdout).unwrap_or_else(|e| panic!("{e}: {explain:#?}"));
    let events = report["events"].as_array().cloned().unwrap_or_default();
    assert!(events.iter().any(|e| e["event"] == "paced"), "{report:#}");
    for ip in &vips {
        assert_eq!(lab.agent("stop", &as_refs(&params(ip))).code, ocf::SUCCESS);
    }
}

/// A first announcement deferred past its start whose announcer misses the
/// slot booked for it (it woke late on a loaded node) books the next one,
/// however far ahead later VIPs have booked the budget: it is the VIP's only
/// announcement. The announcer is held at its first round (the crash-point
/// build's pause gate) until a VIP booked after it has been announced, then
/// let go.
#[test]
fn a_deferred_first_announcement_that_misses_its_slot_takes_the_next_one() {
    let lab = Lab::new();
    let node_mac = lab.node.mac("eth0");
    let capture = Capture::start_filtered(&lab.client, "eth0", &lab.rsctmp, "arp");
    let params = |ip: &str| {
        let mut p = vip_params(ip, "1");
        set(&mut p, "probe_count", "0");
        set(&mut p, "arp_count", "1");
        p
    };
    let gate = lab.scratch("gate");
    std::fs::write(&gate, "").expect("the gate");
    let held = lab.scratch("gate.held");
    let gate_text = gate.to_string_lossy().into_owned();
    let start = |ip: &str, env: &[(&str, &str)]| {
        let mut command = common::agent_command(&lab.node, &lab.rsctmp, &common::crash_agent(), "start");
        for (key, value) in params(ip) {
            command.env(format!("OCF_RESKEY_{key}"), value);
        }
        command.env("OCF_RESKEY_CRM_meta_timeout", "1500").envs(env.iter().copied());
        common::finish(command)
    };
    // One frame a second and 1 s of start time: the first VIP is announced
    // at once, each later one after its start, a second after the one before.
    let vips: Vec<String> = (70..78).map(|i| format!("192.0.2.{i}")).collect();
    assert_eq!(start(&vips[0], &[]).code, ocf::SUCCESS);
    let pause =
        [("OCF_IPADDR_PAUSE_AT", "__announce:first-round"), ("OCF_IPADDR_PAUSE_GATE", gate_text.as_str())];
    let late = start(&vips[1], &pause);
    assert_eq!(late.code, ocf::SUCCESS, "{late:#?}");
    assert!(late.stderr.contains("first announcement deferred to"), "{late:#?}");
    assert!(wait_for(Duration::from_secs(30), || held.exists()).is_some(), "the announcer waits at the gate");
    for ip in &vips[2..] {
        let run = start(ip, &[]);
        assert!(
            run.code == ocf::SUCCESS && run.stderr.contains("first announcement deferred to"),
            "{run:#?}"
        );
    }
    // The next VIP's slot came after the held one's: once it is on the
    // wire, the held announcer has missed its slot, and the budget is
    // booked seconds ahead by the rest.
    let next: std::net::Ipv4Addr = vips[2].parse().unwrap();
    let next_out =
        wait_for(Duration::from_secs(30), || arps(&capture.so_far()).iter().any(|a| a.sender_ip == next));
    assert!(next_out.is_some(), "{next} announced");
    std::fs::remove_file(&gate).expect("the gate opens");
    all_announced_at_one_frame_a_second(&lab, capture, &vips, &node_mac);
    for ip in &vips {
        assert_eq!(lab.agent("stop", &as_refs(&params(ip))).code, ocf::SUCCESS);
    }
}

/// `vips` VIPs started at once with a limit of 15 frames a second and
/// Pacemaker's default 20 s start timeout: every start succeeds, the peak
/// stays at the limit, every VIP is announced, and the last first
/// announcement goes out within 1.25 times the floor the docs state (the
/// frames sent until then at 15 per window of 1.05 s).
fn burst_of(vips: usize) {
    const LIMIT: u64 = 15;
    let lab = Lab::new();
    let node_mac = lab.node.mac("eth0");
    let capture = Capture::start_filtered(&lab.client, "eth0", &lab.rsctmp, "arp");
    let ips: Vec<std::net::Ipv4Addr> = (0..vips)
        .map(|i| std::net::Ipv4Addr::new(198, 51, 100 + (i / 200) as u8, 1 + (i % 200) as u8))
        .collect();
    let params = |ip: &std::net::Ipv4Addr| {
        let mut p = vip_params(&ip.to_string(), &LIMIT.to_string());
        set(&mut p, "cidr_netmask", "16");
        set(&mut p, "arp_mode", "both");
        set(&mut p, "arp_count", "1");
        p
    };
    let began = Instant::now();
    let children: Vec<Child> = ips.iter().map(|ip| spawn_start(&lab, &params(ip), "20000")).collect();
    let runs: Vec<Option<Run>> = children.into_iter().map(finish).collect();
    let all_started = began.elapsed();
    for (ip, run) in ips.iter().zip(&runs) {
        let run = run.as_ref().unwrap_or_else(|| panic!("{ip} ended by a signal"));
        assert_eq!(run.code, ocf::SUCCESS, "{ip}: {run:#?}");
    }
    announcers_done(&lab);
    let frames = capture.stop();
    let ours: Vec<_> = arps(&frames).into_iter().filter(|a| a.eth_src == node_mac).collect();
    let first_frame = ours.first().expect("frames on the wire").micros;
    let probes = ours.iter().filter(|a| a.sender_ip.is_unspecified()).count() as u64;
    let mut last_first = 0;
    for ip in &ips {
        let first =
            ours.iter().find(|a| a.sender_ip == *ip).unwrap_or_else(|| panic!("{ip} never announced"));
        last_first = last_first.max(first.micros);
    }
    let frames_until = probes + 2 * vips as u64;
    let floor_us = frames_until * 1_050_000 / LIMIT;
    let last_us = last_first - first_frame;
    let count = |word: &str| runs.iter().flatten().filter(|r| r.stderr.contains(word)).count();
    let peak = peak_per_second(&frames, &node_mac);
    println!(
        "{vips} VIPs at announce_rate_limit={LIMIT}, 20 s start timeout: all started after {all_started:?}; \
         {probes} probes; {} probed less, {} not at all, {} announced after their start; last first \
         announcement after {} ms, floor {} ms; peak {peak} frames/s",
        count(" probes: announce_rate_limit"),
        count(": 0 of "),
        count("first announcement deferred"),
        last_us / 1000,
        floor_us / 1000
    );
    assert!(peak as u64 <= LIMIT, "{peak} frames in one second");
    assert!(
        last_us * 4 <= floor_us * 5,
        "the last first announcement after {last_us} µs, floor {floor_us} µs"
    );
    for ip in &ips {
        assert_eq!(lab.agent("stop", &as_refs(&params(ip))).code, ocf::SUCCESS, "{ip}");
    }
}

#[test]
fn a_burst_of_100_vips_all_start_within_pacemaker_s_default_timeout() {
    burst_of(100);
}

#[test]
fn a_burst_of_200_vips_all_start_within_pacemaker_s_default_timeout() {
    burst_of(200);
}

#[test]
fn without_a_limit_a_start_warns_once_when_the_vips_together_exceed_what_a_switch_allows() {
    let lab = Lab::new();
    let params = |i: usize| {
        let mut p = vip_params(&format!("198.51.100.{i}"), "0");
        p.retain(|(k, _)| *k != "announce_rate_limit");
        set(&mut p, "arp_mode", "both");
        p
    };
    let children: Vec<Child> = (1..=20).map(|i| spawn_start(&lab, &params(i), "20000")).collect();
    let runs: Vec<Run> = children.into_iter().map(|c| finish(c).expect("an exit code")).collect();
    assert!(runs.iter().all(|r| r.code == ocf::SUCCESS), "{runs:#?}");
    let warned: Vec<&Run> = runs.iter().filter(|r| r.stderr.contains("set announce_rate_limit")).collect();
    assert_eq!(warned.len(), 1, "{runs:#?}");
    assert!(warned[0].stderr.contains("within one second, from all VIPs there"), "{:#?}", warned[0]);
    // Said once: a later burst says nothing more.
    let again: Vec<Run> = (21..=40).map(|i| lab.agent("start", &as_refs(&params(i)))).collect();
    assert!(again.iter().all(|r| !r.stderr.contains("announce_rate_limit")), "{again:#?}");
    announcers_done(&lab);
    for i in 1..=40 {
        assert_eq!(lab.agent("stop", &as_refs(&params(i))).code, ocf::SUCCESS);
    }
}

/// With `virtual_mac` each VIP speaks from an interface and a MAC of its
/// own, but every frame leaves by the parent's port, where a switch counts
/// them: the VIPs of one port share its one budget, and the interfaces
/// that come and go leave no budget of their own behind.
#[test]
fn virtual_mac_vips_share_their_port_s_budget_and_leave_no_ledger_of_their_own() {
    const LIMIT: usize = 4;
    let lab = Lab::new();
    let capture = Capture::start_filtered(&lab.client, "eth0", &lab.rsctmp, "arp");
    let vips: Vec<String> = (1..=8).map(|i| format!("198.51.100.{i}")).collect();
    let params = |ip: &str| {
        let mut params = vip_params(ip, &LIMIT.to_string());
        params.push(("virtual_mac", "auto".to_string()));
        params
    };
    let children: Vec<Child> = vips.iter().map(|ip| spawn_start(&lab, &params(ip), "60000")).collect();
    for (ip, child) in vips.iter().zip(children) {
        let run = finish(child).unwrap_or_else(|| panic!("{ip} ended by a signal"));
        assert_eq!(run.code, ocf::SUCCESS, "{ip}: {run:#?}");
    }
    announcers_done(&lab);
    let frames = capture.stop();
    let node_mac = lab.node.mac("eth0");
    let announced = arps(&frames);
    for ip in &vips {
        let ip: std::net::Ipv4Addr = ip.parse().unwrap();
        assert!(
            announced.iter().any(|a| a.sender_ip == ip && a.target_ip == ip && a.eth_src != node_mac),
            "{ip} never announced from its own MAC"
        );
    }
    let peak = peak_per_second_from(&frames, |_| true);
    println!("8 virtual_mac VIPs at announce_rate_limit={LIMIT}: peak {peak} frames/s on the port");
    assert!(peak <= LIMIT, "{peak} frames in one second on eth0's port, over the limit of {LIMIT}");
    for ip in &vips {
        let stop = lab.agent("stop", &as_refs(&params(ip)));
        assert_eq!(stop.code, ocf::SUCCESS, "{ip}: {stop:#?}");
    }
    let link = lab.node.ip(&["-o", "link", "show", "eth0"]);
    let parent = link.split(':').next().unwrap_or_default().trim();
    let budgets: Vec<String> = std::fs::read_dir(&lab.rsctmp)
        .expect("the run directory")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with("IPaddr-pace-"))
        .collect();
    let port_s = [format!("IPaddr-pace-{parent}"), format!("IPaddr-pace-lock-{parent}")];
    assert!(budgets.contains(&port_s[0]), "the port's budget was used: {budgets:?}");
    assert!(
        budgets.iter().all(|name| port_s.contains(name)),
        "budgets besides eth0's (index {parent}): {budgets:?}"
    );
}
