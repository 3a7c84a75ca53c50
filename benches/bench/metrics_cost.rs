//! What metrics add to a monitor, by where the textfiles live: the CPU
//! time of one monitor of the do-nothing agent, of this agent without
//! metrics, and of this agent writing its textfile to a tmpfs and to a
//! directory on the host's disk (where Debian's node_exporter reads them,
//! /var/lib/prometheus/node-exporter, usually is), interleaved; and the
//! previous release's monitor beside this one's, so that a change that
//! makes monitor dearer shows in the same run.

use crate::measure::{Agent, Stats, execute, ms};
use crate::report::Report;
use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;

const ROUNDS: usize = 400;
/// Noise allowed between two medians of 400 interleaved runs.
const SAME_COST: f64 = 1.05;

/// A name, the program, its environment.
type Variant<'a> = (&'a str, &'a Path, Vec<(String, String)>);

/// Runs in the node namespace the caller entered, with `ours` started on
/// its VIP by the caller's earlier sections or here.
pub fn measure(
    ours: &Agent,
    previous: &Agent,
    null: &Path,
    rsctmp: &Path,
    md: &mut String,
    report: &mut Report,
) {
    let tmpfs = rsctmp.join("metrics-tmpfs");
    let disk = rsctmp.join("metrics-disk");
    for dir in [&tmpfs, &disk] {
        std::fs::create_dir_all(dir).expect("metrics directory");
    }
    let mounted = Command::new("mount").args(["-t", "tmpfs", "-o", "size=4m", "tmpfs"]).arg(&tmpfs).status();
    assert!(mounted.is_ok_and(|s| s.success()), "mounting a tmpfs on {}", tmpfs.display());
    let disk_type = filesystem_type(&disk);

    let no_extra: [(&str, &str); 0] = [];
    let plain = ours.env(rsctmp, ours.vip, &no_extra);
    let with_metrics = |dir: &Path| {
        let dir = dir.display().to_string();
        ours.env(rsctmp, ours.vip, &[("metrics_dir", dir.as_str())])
    };
    // The previous release on a VIP and a run directory of its own: its
    // files have other names, which this release would take over.
    let previous_rsctmp = rsctmp.join("previous-release");
    std::fs::create_dir_all(&previous_rsctmp).expect("the previous release's run directory");
    let previous_plain = previous.env(&previous_rsctmp, previous.vip, &no_extra);
    let previous_metrics = {
        let dir = tmpfs.join("previous-release");
        std::fs::create_dir_all(&dir).expect("the previous release's metrics directory");
        let dir = dir.display().to_string();
        previous.env(&previous_rsctmp, previous.vip, &[("metrics_dir", dir.as_str())])
    };
    assert_eq!(execute(&ours.path, "start", &plain).code, 0, "starting ours");
    assert_eq!(execute(&previous.path, "start", &previous_plain).code, 0, "starting the previous release");
    assert_eq!(execute(null, "start", &plain).code, 0, "starting the do-nothing agent");
    let variants: [Variant; 6] = [
        ("do-nothing", null, plain.clone()),
        ("ours", &ours.path, plain.clone()),
        ("ours + metrics on tmpfs", &ours.path, with_metrics(&tmpfs)),
        ("ours + metrics on disk", &ours.path, with_metrics(&disk)),
        ("previous release", &previous.path, previous_plain.clone()),
        ("previous release + metrics on tmpfs", &previous.path, previous_metrics),
    ];
    let mut cpu = vec![Stats::default(); variants.len()];
    for _ in 0..ROUNDS {
        for ((name, program, env), stats) in variants.iter().zip(&mut cpu) {
            let outcome = execute(program, "monitor", env);
            assert_eq!(outcome.code, 0, "{name} monitor exited {}", outcome.code);
            stats.push(outcome.cpu, outcome.peak_rss_kib);
        }
    }
    execute(&ours.path, "stop", &plain);
    execute(&previous.path, "stop", &previous_plain);
    execute(null, "stop", &plain);
    let _ = Command::new("umount").arg(&tmpfs).status();

    let floor = ms(cpu[0].median());
    writeln!(
        md,
        "\n## Monitor with metrics, by where the textfiles live ({ROUNDS} runs each, interleaved)\n\nCPU time (user + system, from wait4) of one monitor of a running VIP, outside any cluster: the do-nothing agent, this agent without `metrics_dir`, and with it on a tmpfs and on a directory of the host's disk ({disk_type}; Debian's node_exporter reads /var/lib/prometheus/node-exporter, usually on disk); the previous release ({}) beside it, on a VIP of its own. Each metrics monitor reads its textfile back and replaces it (a new file that takes the old one's name).\n\n| agent | CPU median | CPU p95 | × do-nothing |\n|---|---|---|---|"
        , previous_release_name()
    )
    .unwrap();
    for ((name, ..), stats) in variants.iter().zip(&cpu) {
        let median = ms(stats.median());
        writeln!(md, "| {name} | {median:.3} ms | {:.3} ms | {:.2} |", ms(stats.p95()), median / floor)
            .unwrap();
    }
    let added = |i: usize| ms(cpu[i].median()) - ms(cpu[1].median());
    writeln!(
        md,
        "\nWhat metrics add to a monitor: {:.3} ms on tmpfs, {:.3} ms on {disk_type}.",
        added(2),
        added(3)
    )
    .unwrap();
    report.check(
        "metrics add at most a quarter of a do-nothing agent's run to a monitor (tmpfs and disk)",
        added(2).max(added(3)) <= 0.25 * floor,
        format!(
            "+{:.3} ms (tmpfs), +{:.3} ms ({disk_type}); the do-nothing agent: {floor:.3} ms",
            added(2),
            added(3)
        ),
    );
    for (this, before) in [(1, 4), (2, 5)] {
        let (now, then) = (ms(cpu[this].median()), ms(cpu[before].median()));
        report.check(
            &format!("{}: monitor CPU no more than the previous release's", variants[this].0),
            now <= SAME_COST * then,
            format!(
                "{now:.3} ms vs {then:.3} ms ({:.2}× vs {:.2}× the do-nothing agent)",
                now / floor,
                then / floor
            ),
        );
    }
}

/// The previous release as the Makefile names it: a commit.
pub fn previous_release_name() -> String {
    let makefile =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Makefile")).unwrap_or_default();
    let commit = makefile.lines().find_map(|l| l.strip_prefix("PREVIOUS_RELEASE = ")).unwrap_or("unknown");
    format!("commit {}", &commit[..commit.len().min(7)])
}

/// The type of the file system `dir` is on, as mounted (`ext4`, `xfs`, …).
fn filesystem_type(dir: &Path) -> String {
    let out = Command::new("findmnt").args(["-n", "-o", "FSTYPE", "-T"]).arg(dir).output();
    out.ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_else(|| "unknown".into())
}
