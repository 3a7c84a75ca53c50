//! The report: markdown for docs/benchmarks.md and the targets' verdicts.

use std::process::Command;

pub struct Report {
    pub md: String,
    pub checks: Vec<(String, bool, String)>,
}

impl Report {
    pub fn check(&mut self, name: &str, pass: bool, detail: String) {
        println!("{} {name}: {detail}", if pass { "PASS" } else { "FAIL" });
        self.checks.push((name.to_string(), pass, detail));
    }
}

/// A duration as people read it in the report: `377 ms`, or `never` with
/// how long was waited (`patience`).
pub fn ms_or_never(d: Option<std::time::Duration>, patience: std::time::Duration) -> String {
    match d {
        Some(d) => format!("{} ms", d.as_millis()),
        None => format!("never (waited {} s)", patience.as_secs()),
    }
}

pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|c| {
            c.lines()
                .find(|l| l.starts_with("model name"))
                .map(|l| l.split(':').nth(1).unwrap_or("").trim().to_string())
        })
        .unwrap_or_default();
    let out = |cmd: &str, args: &[&str]| {
        Command::new(cmd)
            .args(args)
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_default()
    };
    format!(
        "- CPU: {cpu} ({} cores)\n- kernel: {}\n- ocf-ipaddr {} ({})\n- resource-agents {} (IPaddr2)\n",
        out("nproc", &[]),
        out("uname", &["-r"]),
        env!("CARGO_PKG_VERSION"),
        out("rustc", &["--version"]),
        out("dpkg-query", &["-W", "-f=${Version}", "resource-agents"]),
    )
}
