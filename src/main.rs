//! ocf-ipaddr: a floating-IP resource agent for Pacemaker, IPaddr2-compatible.
//! `main` only reads the command line, runs the action and turns its result
//! into an OCF exit status and `ocf-exit-reason:` line.

// The agent has its own entry point (`agent_main`, see startup.rs); its
// unit tests keep the test harness's.
#![cfg_attr(not(test), no_main)]

mod actions;
mod announce;
mod background;
mod budget;
mod cli;
mod cluster_ip;
mod convergence;
mod crash_point;
mod discover;
mod distro;
mod error;
mod hosts;
mod invocation;
mod netlink;
mod netns;
mod observe;
mod ocf;
mod pace;
mod packet;
mod params;
mod probe;
mod process;
mod rawsock;
mod reach;
mod startup;
mod store;
mod sysctl;
mod vip;

use invocation::{Action, Invocation};
use ocf::{ExitCode, OcfEnv, log};
use std::time::Instant;

/// The entry point the C runtime calls as `main`, in place of std's
/// start-up.
// SAFETY: the symbol `main` is defined once, here, and only in the agent
// binary (its unit tests use the harness's); the C runtime calls it once,
// with the usual argc and argv, which std reads on its own.
#[cfg_attr(not(test), unsafe(export_name = "main"))]
#[cfg_attr(test, allow(dead_code))]
extern "C" fn agent_main(_argc: std::ffi::c_int, _argv: *const *const std::ffi::c_char) -> std::ffi::c_int {
    startup::prepare();
    let code = run();
    // Flushes stdout on the way out, as returning from std's main does.
    std::process::exit(code.code().into())
}

fn run() -> ExitCode {
    let started = Instant::now();
    observe::begin(started);
    let command_line = cli::parse();
    log::init(command_line.verbosity);
    let Some(action_name) = command_line.action else {
        eprint!("{}", actions::USAGE);
        return ExitCode::ErrArgs;
    };
    crash_point::arm(&action_name);
    log::start_trace(&action_name);
    if background::is_worker_action(&action_name) {
        log::to_syslog();
    }
    let Some(mut action) = Action::parse(&action_name) else {
        eprint!("{}", actions::USAGE);
        log::exit_reason(&format!("unknown action [{}]", log::printable(&action_name)));
        return ExitCode::ErrUnimplemented;
    };
    if let Action::Explain { format } = &mut action {
        *format = command_line.format;
    }
    let mut env = OcfEnv::from_process();
    if let Some(resource) = command_line.resource {
        env.instance = Some(resource);
    }
    let mut raw = params::RawParams::from_os_vars(std::env::vars_os());
    for (name, value) in command_line.overrides {
        raw.set(name, value);
    }
    let budget = budget::Budget::new(started, env.timeout);
    let invocation = Invocation { action, env, raw, budget };
    match actions::run(&invocation) {
        Ok(code) => {
            observe::finish(&invocation, code);
            code
        }
        Err(err) => {
            log::exit_reason(&err.reason);
            log::debug(format!("{} exits {}", action.name(), err.exit.name()));
            observe::finish(&invocation, err.exit);
            err.exit
        }
    }
}
