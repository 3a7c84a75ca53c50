//! This agent and Debian's IPaddr2, side by side: every generated case runs
//! validate-all, start, monitor, start, stop, a probe and stop with each
//! agent on identical fresh namespaces, and the exit codes and the kernel
//! state after every step are compared. Both IPaddr2 versions users have
//! are measured: Debian 12's 4.12 and Debian 13's 4.16, each against a
//! table of its own. Every difference must be listed, with its reason, in
//! the migration guide's table for that version; a difference the table
//! does not list fails the test, and so does a row that no case shows any
//! more.

mod cases;
#[path = "../common/mod.rs"]
mod common;
mod table;
mod world;

use cases::Case;
use common::ipaddr2::Agent;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use table::Difference;
use world::{Snapshot, World};

const RECURRING: &[(&str, &str)] = &[("OCF_RESKEY_CRM_meta_interval", "10000")];
/// Pacemaker's probe: interval 0, as Pacemaker passes it.
const PROBE: &[(&str, &str)] = &[("OCF_RESKEY_CRM_meta_interval", "0")];

/// Extra environment for an action.
type Env = &'static [(&'static str, &'static str)];

/// The steps, as (name, action, extra environment).
const STEPS: [(&str, &str, Env); 7] = [
    ("validate-all", "validate-all", &[]),
    ("start", "start", &[]),
    ("monitor", "monitor", RECURRING),
    ("start-again", "start", &[]),
    ("stop", "stop", &[]),
    ("probe", "monitor", PROBE),
    ("stop-again", "stop", &[]),
];

/// What one agent did with one case: exit codes and state after each step.
struct Trace {
    codes: Vec<i32>,
    states: Vec<Snapshot>,
}

fn trace(agent: Agent, case: &Case) -> Trace {
    let world = World::new();
    if let Some(setup) = case.setup {
        world.set_up(setup, case.v4);
    }
    let mut trace = Trace { codes: Vec::new(), states: Vec::new() };
    for (step, action, env) in STEPS {
        if step == "monitor" {
            if let Some(change) = case.change {
                world.change(change, case.v4);
            }
        }
        let env: Vec<(&str, &str)> = case.meta.iter().chain(env.iter()).copied().collect();
        trace.codes.push(world.run(agent, action, &case.params, &env));
        trace.states.push(world.snapshot());
    }
    trace
}

fn compare(case: &Case, ours: &Trace, theirs: &Trace) -> Vec<Difference> {
    let mut found = Vec::new();
    for (i, (step, _, _)) in STEPS.iter().enumerate() {
        let (mine, ipaddr2) = (ours.codes[i], theirs.codes[i]);
        if mine != ipaddr2 {
            let what = format!("rc {mine} / {ipaddr2}");
            found.push(Difference { case: case.name.clone(), step, what, detail: String::new() });
        }
        for (section, detail) in ours.states[i].differences(&theirs.states[i]) {
            let what = format!("state {section}");
            found.push(Difference { case: case.name.clone(), step, what, detail });
        }
    }
    found
}

#[test]
fn every_difference_from_debian_12s_ipaddr2_is_listed_with_its_reason() {
    compare_with(Agent::Ipaddr2Debian12, table::DEBIAN_12);
}

#[test]
fn every_difference_from_debian_13s_ipaddr2_is_listed_with_its_reason() {
    compare_with(Agent::Ipaddr2Debian13, table::DEBIAN_13);
}

/// Runs every case with this agent and `reference`, and holds what differs
/// against the guide's table under `section`.
fn compare_with(reference: Agent, section: &str) {
    // OCF_IPADDR_DIFF_SHOW=PATTERN runs only the matching cases and prints
    // every difference they show, listed or not (to write or review a row);
    // rows that other cases cover are then not checked for staleness.
    let only = std::env::var("OCF_IPADDR_DIFF_SHOW").ok();
    let mut cases = cases::all();
    cases.retain(|case| only.as_deref().is_none_or(|pattern| table::glob(pattern, &case.name)));
    let rows = table::read(section);
    let next = AtomicUsize::new(0);
    let found = Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        // The runs wait on the kernel (DAD) and on IPaddr2's sleeps, not the CPU.
        for _ in 0..12 {
            scope.spawn(|| {
                while let Some(case) = cases.get(next.fetch_add(1, Ordering::SeqCst)) {
                    let (ours, theirs) = std::thread::scope(|both| {
                        let ours = both.spawn(|| trace(Agent::Ours, case));
                        let theirs = both.spawn(|| trace(reference, case));
                        (ours.join().expect("our run"), theirs.join().expect("IPaddr2's run"))
                    });
                    found.lock().unwrap().extend(compare(case, &ours, &theirs));
                }
            });
        }
    });
    let found = found.into_inner().unwrap();
    let unlisted: Vec<&Difference> = found.iter().filter(|d| !rows.iter().any(|row| row.covers(d))).collect();
    let stale: Vec<&table::Row> = rows.iter().filter(|row| !found.iter().any(|d| row.covers(d))).collect();
    println!(
        "{} cases, {} steps each, compared with {}: {} differences, in {} rows of the migration guide",
        cases.len(),
        STEPS.len(),
        reference.name(),
        found.len(),
        rows.len()
    );
    if only.is_some() {
        for difference in &found {
            println!(
                "SHOW {} {}: {} {}",
                difference.case, difference.step, difference.what, difference.detail
            );
        }
    }
    for difference in &unlisted {
        println!(
            "UNLISTED {} {}: {} {}",
            difference.case, difference.step, difference.what, difference.detail
        );
    }
    for row in &rows {
        let covered = found.iter().filter(|d| row.covers(d)).count();
        println!("  {covered:4}  {:?} {:?} {:?}: {}", row.cases, row.steps, row.whats, row.why);
    }
    for row in &stale {
        println!("STALE ROW {:?} {:?} {:?}", row.cases, row.steps, row.whats);
    }
    assert!(unlisted.is_empty(), "{} differences are not in the migration guide's table", unlisted.len());
    assert!(
        only.is_some() || stale.is_empty(),
        "{} rows of the table match no difference any more",
        stale.len()
    );
}
