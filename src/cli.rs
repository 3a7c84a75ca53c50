//! The command line: `IPaddr ACTION [--PARAMETER VALUE ...]`. Pacemaker
//! passes only the action and sets `OCF_RESKEY_*`; a human debugging the
//! agent can pass the same parameters as flags, which win over the
//! environment.

use crate::background::is_worker_action;
use crate::invocation::OutputFormat;
use crate::ocf::log::Verbosity;
use crate::params::spec::{Kind, PARAMS};
use clap::{Arg, ArgAction, ArgMatches, Command};

/// What the command line asked for.
pub struct CommandLine {
    pub action: Option<String>,
    /// Parameters given as flags, by OCF name.
    pub overrides: Vec<(&'static str, String)>,
    pub verbosity: Verbosity,
    /// `--format` (for `explain`).
    pub format: OutputFormat,
    /// `--resource`: the Pacemaker resource acted for, as
    /// `OCF_RESOURCE_INSTANCE` names it.
    pub resource: Option<String>,
}

fn command() -> Command {
    let mut cmd = Command::new("IPaddr")
        .version(env!("CARGO_PKG_VERSION"))
        .about("Floating IP resource agent for Pacemaker (OCF 1.1), IPaddr2-compatible")
        .after_help(
            "Actions: start, stop, monitor, status, recover, reload-agent, validate-all, meta-data,\n\
             usage, and explain (what the agent sees and would do; --format json for a\n\
             machine-readable view). Deeper monitors: OCF_CHECK_LEVEL=10 or 20.\n\
             Parameters come from OCF_RESKEY_<name> or from the flags above; flags win.\n\
             Exit codes follow OCF: 0 success, 1 generic error, 2 bad arguments, 3 unimplemented,\n\
             4 permission, 5 not installed, 6 not configured, 7 not running, 190 degraded.\n\
             Example: IPaddr start --ip 192.0.2.10 --cidr-netmask 24 --nic eth0 --debug",
        )
        .arg(Arg::new("action").value_name("ACTION").help("OCF action to run"))
        .arg(
            Arg::new("debug")
                .long("debug")
                .short('d')
                .action(ArgAction::SetTrue)
                .help("Log debug lines (same as OCF_TRACE_RA=1)"),
        )
        .arg(
            Arg::new("resource")
                .long("resource")
                .value_name("NAME")
                .help("The Pacemaker resource (as OCF_RESOURCE_INSTANCE): its record, history and files"),
        )
        .arg(
            Arg::new("format")
                .long("format")
                .value_name("FORMAT")
                .value_parser(["text", "json"])
                .help("Output of explain: text or json"),
        );
    for param in PARAMS {
        cmd = cmd.arg(
            Arg::new(param.name)
                .long(param.flag)
                .value_name(match param.kind {
                    Kind::Boolean => "BOOL",
                    Kind::Integer => "N",
                    Kind::String => "VALUE",
                })
                .help(param.shortdesc)
                .allow_hyphen_values(true),
        );
    }
    cmd
}

/// Parses the process arguments; prints help or an error and exits (with
/// OCF_ERR_ARGS, 2) when clap says so.
pub fn parse() -> CommandLine {
    let mut args = std::env::args_os().skip(1);
    // Pacemaker's call, `IPaddr ACTION`, skips building the full command
    // line parser: that was a third of a monitor's instructions. A
    // background worker's own call names its file after the action.
    let (first, second) = (args.next(), args.next());
    let action = first.as_ref().and_then(|a| a.to_str()).filter(|a| !a.starts_with('-'));
    if let Some(action) = action.filter(|a| second.is_none() || is_worker_action(a)) {
        return CommandLine {
            action: Some(action.to_string()),
            overrides: Vec::new(),
            verbosity: Verbosity::FromEnvironment,
            format: OutputFormat::Text,
            resource: None,
        };
    }
    from_matches(command().get_matches())
}

fn from_matches(matches: ArgMatches) -> CommandLine {
    let overrides = PARAMS
        .iter()
        .filter_map(|p| matches.get_one::<String>(p.name).map(|v| (p.name, v.clone())))
        .collect();
    CommandLine {
        action: matches.get_one::<String>("action").cloned(),
        overrides,
        verbosity: if matches.get_flag("debug") { Verbosity::Debug } else { Verbosity::FromEnvironment },
        format: match matches.get_one::<String>("format").map(String::as_str) {
            Some("json") => OutputFormat::Json,
            _ => OutputFormat::Text,
        },
        resource: matches.get_one::<String>("resource").cloned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_args(args: &[&str]) -> CommandLine {
        from_matches(command().try_get_matches_from(args).unwrap())
    }

    #[test]
    fn flags_map_to_parameter_names() {
        let cl =
            parse_args(&["IPaddr", "start", "--ip", "10.0.0.5", "--cidr-netmask", "24", "--nic", "eth0"]);
        assert_eq!(cl.action.as_deref(), Some("start"));
        assert_eq!(
            cl.overrides,
            vec![
                ("ip", "10.0.0.5".to_string()),
                ("nic", "eth0".to_string()),
                ("cidr_netmask", "24".to_string())
            ]
        );
        assert_eq!(cl.verbosity, Verbosity::FromEnvironment);
    }

    #[test]
    fn broadcast_minus_is_a_value_not_a_flag() {
        let cl = parse_args(&["IPaddr", "--broadcast", "-", "start", "-d"]);
        assert_eq!(cl.overrides, vec![("broadcast", "-".to_string())]);
        assert_eq!(cl.verbosity, Verbosity::Debug);
    }

    #[test]
    fn unknown_flags_are_rejected() {
        assert!(command().try_get_matches_from(["IPaddr", "start", "--ipp", "x"]).is_err());
    }

    #[test]
    fn pacemaker_style_invocation_has_no_overrides() {
        let cl = parse_args(&["IPaddr", "monitor"]);
        assert!(cl.overrides.is_empty());
    }
}
