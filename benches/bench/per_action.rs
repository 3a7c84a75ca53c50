//! Per action: each action of ours and IPaddr2's, interleaved, against the
//! cost of starting a static binary at all.

use crate::measure::{Agent, Stats, children, ms, run};
use crate::report::Report;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const ITERATIONS: usize = 40;

/// What the later sections and the chart need from this one.
pub struct PerAction {
    /// (action, ours median ms, IPaddr2 median ms)
    pub chart: Vec<(String, f64, f64)>,
    pub floor_ms: f64,
}

/// Runs in the node namespace the caller entered; `agents` is ours, then IPaddr2.
pub fn measure(agents: &[Agent], rsctmp: &Path, md: &mut String, report: &mut Report) -> PerAction {
    let ours = &agents[0].path;
    let floor_bin = PathBuf::from("/bin/true");
    // Per-action timings, interleaved: ours, IPaddr2, ours, IPaddr2...
    let actions =
        ["meta-data", "validate-all", "monitor (probe, not running)", "start", "monitor (running)", "stop"];
    let mut stats: BTreeMap<(&str, &str), Stats> = BTreeMap::new();
    let mut floor = Stats::default();
    let no_extra: [(&str, &str); 0] = [];
    for _ in 0..ITERATIONS {
        for action in actions {
            // The floor is sampled right before each of our runs, in the
            // same cache state (just after an IPaddr2 run), so that the
            // ratio compares like with like.
            let (t, _, rss) = run(&floor_bin, "", &[]);
            floor.push(t, rss);
            for agent in agents {
                let verb = action.split(' ').next().unwrap();
                let env = agent.env(rsctmp, agent.vip, &no_extra);
                let (t, code, rss) = run(&agent.path, verb, &env);
                let expected = match action {
                    "monitor (probe, not running)" => 7,
                    _ => 0,
                };
                assert_eq!(code, expected, "{} {action} exited {code}", agent.name);
                stats.entry((agent.name, action)).or_default().push(t, rss);
            }
        }
    }
    let floor_ms = ms(floor.median());
    writeln!(md, "\n## Per action ({ITERATIONS} runs each, interleaved)\n\nThe exec floor is the time to start `/bin/true` the same way, sampled before every run of ours: {floor_ms:.2} ms (median). Settings for both: `ip`, `cidr_netmask=24`, `nic=eth0`, `arp_count=1`, `arp_bg=false`; ours also `probe_count=0` (IPaddr2 does not probe).\n").unwrap();
    md.push_str("| action | ours median | ours p95 | × floor | IPaddr2 median | IPaddr2 p95 | IPaddr2 / ours | processes spawned (ours / IPaddr2) | peak RSS KiB (ours / IPaddr2) |\n|---|---|---|---|---|---|---|---|---|\n");
    let mut chart = Vec::new();
    for action in actions {
        let o = &stats[&("ocf:rust:IPaddr", action)];
        let i = &stats[&("IPaddr2", action)];
        let verb = action.split(' ').next().unwrap();
        // Children are counted in a state matching the action, and without
        // the watcher start leaves (`repair_removed`: its own section
        // measures it), which strace -f would follow until it ends.
        let state_env = |a: &Agent| a.env(rsctmp, a.vip, &[("repair_removed", "false")]);
        let prepare = |a: &Agent, up: bool| {
            let _ = run(&a.path, if up { "start" } else { "stop" }, &state_env(a));
        };
        let up = matches!(action, "monitor (running)" | "stop");
        prepare(&agents[0], up);
        let ours_children = children(&agents[0].path, verb, &state_env(&agents[0]), rsctmp);
        prepare(&agents[1], up);
        let theirs_children = children(&agents[1].path, verb, &state_env(&agents[1]), rsctmp);
        prepare(&agents[0], false);
        prepare(&agents[1], false);
        let ratio = ms(i.median()) / ms(o.median());
        writeln!(
            md,
            "| {action} | {:.2} ms | {:.2} ms | {:.2} | {:.2} ms | {:.2} ms | {ratio:.1}× | {ours_children} / {theirs_children} | {} / {} |",
            ms(o.median()),
            ms(o.p95()),
            ms(o.median()) / floor_ms,
            ms(i.median()),
            ms(i.p95()),
            o.peak_rss_kib,
            i.peak_rss_kib
        )
        .unwrap();
        chart.push((action.to_string(), ms(o.median()), ms(i.median())));
        report.check(
            &format!("zero child processes in {action}"),
            ours_children == 0,
            format!("{ours_children} (IPaddr2: {theirs_children})"),
        );
    }
    let m = |a: &str| ms(stats[&("ocf:rust:IPaddr", a)].median());
    let t = |a: &str| ms(stats[&("IPaddr2", a)].median());
    report.check(
        "monitor within 1.5× the exec floor",
        m("monitor (running)") <= 1.5 * floor_ms,
        format!(
            "{:.2} ms vs floor {floor_ms:.2} ms ({:.2}×)",
            m("monitor (running)"),
            m("monitor (running)") / floor_ms
        ),
    );
    report.check(
        "monitor at least 20× faster than IPaddr2",
        t("monitor (running)") >= 20.0 * m("monitor (running)"),
        format!("{:.1}×", t("monitor (running)") / m("monitor (running)")),
    );
    report.check(
        "stop at least 15× faster than IPaddr2",
        t("stop") >= 15.0 * m("stop"),
        format!("{:.1}×", t("stop") / m("stop")),
    );
    // Start does what stop does plus one foreground announcement, whose cost
    // is the raw socket: measured here on its own (probing is off).
    let socket = packet_socket_cost();
    report.check(
        "start as fast as stop plus the foreground announcement",
        m("start") <= (m("stop") + ms(socket)) * 1.2,
        format!(
            "start {:.2} ms ≤ 1.2 × (stop {:.2} ms + announcement {:.2} ms: opening and closing a packet socket, which waits for an RCU grace period)",
            m("start"),
            m("stop"),
            ms(socket)
        ),
    );
    let peak = actions.iter().map(|a| stats[&("ocf:rust:IPaddr", *a)].peak_rss_kib).max().unwrap_or(0);
    report.check("peak RSS under 8 MiB", peak < 8 * 1024, format!("{peak} KiB"));
    let size = std::fs::metadata(ours).map(|m| m.len()).unwrap_or(u64::MAX);
    report.check(
        "stripped binary under 4 MiB",
        size < 4 * 1024 * 1024,
        format!("{:.2} MiB", size as f64 / 1048576.0),
    );

    // With the defaults: probing on, IPv4 announcements in the background.
    let mut defaults = Stats::default();
    let default_env = agents[0].env(rsctmp, "192.0.2.70", &[]);
    let default_env: Vec<_> = default_env
        .into_iter()
        .filter(|(k, _)| !k.contains("probe_count") && !k.contains("arp_bg") && !k.contains("arp_count"))
        .collect();
    for _ in 0..10 {
        let (t, code, _) = run(ours, "start", &default_env);
        assert_eq!(code, 0);
        defaults.push(t, 0);
        run(ours, "stop", &default_env);
    }
    writeln!(md, "\nWith the defaults (2 probes over 10 ms, first announcement in the foreground, the rest in the background), ours starts in {:.2} ms (median of 10).\n", ms(defaults.median())).unwrap();
    PerAction { chart, floor_ms }
}

/// Median time to open, bind and close an AF_PACKET socket on eth0, which
/// is what one foreground announcement costs beyond sending a frame.
fn packet_socket_cost() -> Duration {
    use nix::libc;
    let mut stats = Stats::default();
    let ifindex = nix::net::if_::if_nametoindex("eth0").expect("eth0") as i32;
    for _ in 0..20 {
        let started = Instant::now();
        // SAFETY: plain socket/bind/close on a fresh descriptor and a zeroed sockaddr_ll.
        unsafe {
            let fd = libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0);
            assert!(fd >= 0);
            let mut addr: libc::sockaddr_ll = std::mem::zeroed();
            addr.sll_family = libc::AF_PACKET as u16;
            addr.sll_protocol = 0x0806u16.to_be();
            addr.sll_ifindex = ifindex;
            libc::bind(
                fd,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as u32,
            );
            libc::close(fd);
        }
        stats.push(started.elapsed(), 0);
    }
    stats.median()
}
