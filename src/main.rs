//! ocf-ipaddr: a floating-IP resource agent for Pacemaker, IPaddr2-compatible.
//! `main` only reads the command line, runs the action and turns its result
//! into an OCF exit status and `ocf-exit-reason:` line.

mod actions;
mod announce;
mod background;
mod budget;
mod cli;
mod cluster_ip;
mod discover;
mod distro;
mod error;
mod hosts;
mod invocation;
mod netlink;
mod netns;
mod observe;
mod ocf;
mod packet;
mod params;
mod probe;
mod process;
mod rawsock;
mod reach;
mod rundir;
mod sysctl;
mod vip;

use invocation::{Action, Invocation};
use ocf::{ExitCode, OcfEnv, log};
use std::time::Instant;

fn main() -> std::process::ExitCode {
    let started = Instant::now();
    observe::begin(started);
    let command_line = cli::parse();
    log::init(command_line.verbosity);
    let Some(action_name) = command_line.action else {
        eprint!("{}", actions::USAGE);
        return exit(ExitCode::ErrArgs);
    };
    let Some(mut action) = Action::parse(&action_name) else {
        eprint!("{}", actions::USAGE);
        log::exit_reason(&format!("unknown action [{}]", log::printable(&action_name)));
        return exit(ExitCode::ErrUnimplemented);
    };
    if let Action::Explain { format } = &mut action {
        *format = command_line.format;
    }
    let env = OcfEnv::from_process();
    let mut raw = params::RawParams::from_os_vars(std::env::vars_os());
    for (name, value) in command_line.overrides {
        raw.set(name, value);
    }
    let budget = budget::Budget::new(started, env.timeout);
    let invocation = Invocation { action, env, raw, budget };
    match actions::run(&invocation) {
        Ok(code) => {
            observe::finish(&invocation, code);
            exit(code)
        }
        Err(err) => {
            log::exit_reason(&err.reason);
            log::debug(format!("{} exits {}", action.name(), err.exit.name()));
            observe::finish(&invocation, err.exit);
            exit(err.exit)
        }
    }
}

fn exit(code: ExitCode) -> std::process::ExitCode {
    std::process::ExitCode::from(code.code())
}
