//! Logging compatible with ocf-shellfuncs' `ocf_log` and `ocf_exit_reason`:
//! one line per message on stderr, `LEVEL: text`, prefixed with the
//! resource tag when Pacemaker names the instance. Debug lines appear only
//! when `OCF_TRACE_RA` or `HA_debug` asks for them.

use std::fmt::Display;
use std::io::Write;
use std::sync::OnceLock;

struct LogConfig {
    tag: Option<String>,
    debug: bool,
    reason_prefix: String,
}

static CONFIG: OnceLock<LogConfig> = OnceLock::new();

/// Whether debug lines are wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verbosity {
    /// As `OCF_TRACE_RA` or `HA_debug` say.
    FromEnvironment,
    /// Always (the command line's `--debug`).
    Debug,
}

/// Sets the log tag and debug switch from the environment; call once, early.
pub fn init(verbosity: Verbosity) {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let debug = verbosity == Verbosity::Debug
        || var("OCF_TRACE_RA").is_some_and(|v| v != "0")
        || var("HA_debug").is_some_and(|v| v != "0");
    let tag = var("OCF_RESOURCE_INSTANCE")
        .map(|instance| format!("IPaddr({})[{}]", printable(&instance), std::process::id()));
    let reason_prefix = var("OCF_EXIT_REASON_PREFIX").unwrap_or_else(|| "ocf-exit-reason:".into());
    let _ = CONFIG.set(LogConfig { tag, debug, reason_prefix });
}

fn config() -> &'static LogConfig {
    CONFIG.get_or_init(|| LogConfig { tag: None, debug: false, reason_prefix: "ocf-exit-reason:".into() })
}

/// Whether debug output was asked for.
pub fn debug_enabled() -> bool {
    config().debug
}

fn emit(level: &str, msg: &dyn Display) {
    let line = match &config().tag {
        Some(tag) => format!("{tag}: {level}: {}\n", one_line(&msg.to_string())),
        None => format!("{level}: {}\n", one_line(&msg.to_string())),
    };
    // A closed stderr must not turn into a failed action.
    let _ = std::io::stderr().write_all(line.as_bytes());
}

pub fn debug(msg: impl Display) {
    if debug_enabled() {
        emit("DEBUG", &msg);
    }
}

pub fn info(msg: impl Display) {
    emit("INFO", &msg);
}

pub fn warn(msg: impl Display) {
    emit("WARNING", &msg);
}

pub fn error(msg: impl Display) {
    emit("ERROR", &msg);
}

/// Prints the one `ocf-exit-reason:` line Pacemaker shows in `crm_mon`.
pub fn exit_reason(reason: &str) {
    let line = format!("{}{}\n", config().reason_prefix, one_line(reason));
    let _ = std::io::stderr().write_all(line.as_bytes());
}

/// Keeps a message on one line: Pacemaker reads the reason line by line.
fn one_line(text: &str) -> String {
    text.chars().map(|c| if c == '\n' || c == '\r' { ' ' } else { c }).collect()
}

/// Quotes a user-supplied value for a log line: control characters escaped,
/// long values cut, so hostile input cannot forge lines or flood the log.
pub fn printable(value: &str) -> String {
    const MAX_CHARS: usize = 64;
    let mut out = String::new();
    for (count, c) in value.chars().enumerate() {
        if count == MAX_CHARS {
            out.push_str(&format!("…({} bytes)", value.len()));
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_escapes_control_characters() {
        assert_eq!(printable("eth0\nERROR: fake"), "eth0\\nERROR: fake");
        assert_eq!(printable("a\tb"), "a\\tb");
    }

    #[test]
    fn printable_cuts_long_values_and_says_how_long_they_were() {
        let long = "x".repeat(70_000);
        let shown = printable(&long);
        assert!(shown.starts_with(&"x".repeat(64)));
        assert!(shown.ends_with("…(70000 bytes)"));
    }

    #[test]
    fn one_line_removes_line_breaks() {
        assert_eq!(one_line("a\nb\r\nc"), "a b  c");
    }
}
