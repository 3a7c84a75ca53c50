//! Scale without a cluster: N VIPs on one NIC, started, monitored and
//! stopped one after another.

use crate::measure::{Agent, ms, run};
use crate::report::Report;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::Path;
use std::time::{Duration, Instant};

/// Runs in a namespace with eth0 on 198.18.0.0/16, which the caller entered.
pub fn measure(agents: &[Agent], rsctmp: &Path, md: &mut String, report: &mut Report) {
    md.push_str("\n## Scale: N VIPs on one NIC\n\nTime to start all, monitor all once and stop all; per-VIP cost in parentheses. Our monitor asks the kernel for the addresses of the VIP's NIC only (`RTM_GETADDR` with the interface index and strict checking), so other NICs' addresses cost nothing; the VIP's own NIC still returns its N addresses.\n\n| N | agent | start all | monitor all | stop all |\n|---|---|---|---|---|\n");
    let mut per_vip_monitor = BTreeMap::new();
    for n in [1usize, 100, 1000] {
        for agent in agents {
            let base = if agent.name == "IPaddr2" { 10_000u32 } else { 0 };
            let vips: Vec<String> = (0..n as u32)
                .map(|k| {
                    let x = base + k + 2;
                    format!("198.18.{}.{}", x / 250, x % 250 + 1)
                })
                .collect();
            let phase = |verb: &str| {
                let started = Instant::now();
                for vip in &vips {
                    let mut env = agent.env(rsctmp, vip, &[]);
                    for (k, v) in env.iter_mut() {
                        if k == "OCF_RESKEY_cidr_netmask" {
                            *v = "16".into();
                        }
                    }
                    let (_, code, _) = run(&agent.path, verb, &env);
                    assert_eq!(code, 0, "{} {verb} {vip}", agent.name);
                }
                started.elapsed()
            };
            let (s, mo, st) = (phase("start"), phase("monitor"), phase("stop"));
            let per = |d: Duration| ms(d) / n as f64;
            writeln!(
                md,
                "| {n} | {} | {:.0} ms ({:.2}) | {:.0} ms ({:.2}) | {:.0} ms ({:.2}) |",
                agent.name,
                ms(s),
                per(s),
                ms(mo),
                per(mo),
                ms(st),
                per(st)
            )
            .unwrap();
            per_vip_monitor.insert((agent.name, n), per(mo));
            println!("scale {n} {}: monitor per VIP {:.2} ms", agent.name, per(mo));
        }
    }
    let flat = per_vip_monitor[&("ocf:rust:IPaddr", 1000)] / per_vip_monitor[&("ocf:rust:IPaddr", 1)];
    report.check("per-VIP monitor cost at 1000 VIPs within 2× of 1 VIP", flat <= 2.0, format!("{flat:.2}×"));
}
