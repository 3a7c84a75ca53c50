//! Logging compatible with ocf-shellfuncs' `ocf_log` and `ocf_exit_reason`:
//! one line per message on stderr, `LEVEL: text`, prefixed with the
//! resource tag when Pacemaker names the instance. Debug lines appear only
//! when `OCF_TRACE_RA` or `HA_debug` asks for them.
//!
//! Tracing as ocf-shellfuncs does it for shell agents (`crm resource trace`
//! sets the operation's `trace_ra=1`): when `OCF_TRACE_RA`, else
//! `OCF_RESKEY_trace_ra`, is true, every line, debug included, also goes to
//! `OCF_TRACE_FILE` (a descriptor 3-9 or an absolute path), else to
//! `$OCF_RESKEY_trace_dir/<type>/<resource>.<action>.<date>.<time>` (the
//! directory defaulting to `$HA_VARLIB/trace_ra`, `/var/lib/heartbeat/trace_ra`;
//! the time in UTC), after the action's environment, as a shell agent's
//! trace begins.

use std::fmt::Display;
use std::io::Write;
use std::sync::OnceLock;

struct LogConfig {
    tag: Option<String>,
    debug: bool,
    reason_prefix: String,
}

static CONFIG: OnceLock<LogConfig> = OnceLock::new();

/// Where the trace goes, when tracing is on.
static TRACE: OnceLock<std::sync::Mutex<std::fs::File>> = OnceLock::new();

/// The syslog socket of a background worker, whose stderr nobody reads.
static SYSLOG: OnceLock<std::os::unix::net::UnixDatagram> = OnceLock::new();

/// The local syslog socket (journald's, rsyslog's).
const SYSLOG_SOCKET: &str = "/dev/log";

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
    emit_to(level, msg, true);
}

/// Writes the line to stderr when `stderr` says so, and to the trace.
fn emit_to(level: &str, msg: &dyn Display, stderr: bool) {
    let line = match &config().tag {
        Some(tag) => format!("{tag}: {level}: {}\n", one_line(&msg.to_string())),
        None => format!("{level}: {}\n", one_line(&msg.to_string())),
    };
    // A closed stderr must not turn into a failed action.
    if stderr {
        let _ = std::io::stderr().write_all(line.as_bytes());
        syslog_line(level, &line);
    }
    trace_line(&line);
}

/// Sends `line` to syslog, facility daemon, as `ha_log` does for a shell
/// agent's lines: `<PRI>IPaddr(vip)[pid]: LEVEL: text`, which journald and
/// rsyslog read as identifier, pid and message.
fn syslog_line(level: &str, line: &str) {
    let Some(socket) = SYSLOG.get() else { return };
    let severity = match level {
        "ERROR" => 3,
        "WARNING" => 4,
        "INFO" => 6,
        _ => 7,
    };
    const DAEMON: u8 = 3;
    let line = line.trim_end();
    let message = match &config().tag {
        Some(_) => format!("<{}>{line}", DAEMON * 8 + severity),
        None => format!("<{}>IPaddr[{}]: {line}", DAEMON * 8 + severity, std::process::id()),
    };
    let _ = socket.send(message.as_bytes());
}

/// Also sends every line to syslog (a background worker: the watcher, its
/// repairs, the announcer, whose output no caller reads). A node without a
/// syslog socket keeps the history and metrics as the only record.
pub fn to_syslog() {
    let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() else { return };
    if socket.connect(SYSLOG_SOCKET).is_ok() {
        let _ = SYSLOG.set(socket);
    }
}

fn trace_line(line: &str) {
    if let Some(trace) = TRACE.get() {
        if let Ok(mut file) = trace.lock() {
            let _ = file.write_all(format!("+ {}: {line}", clock()).as_bytes());
        }
    }
}

/// The time of day in UTC, as a trace line starts.
fn clock() -> String {
    let now =
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs();
    format!("{:02}:{:02}:{:02}", now % 86400 / 3600, now % 3600 / 60, now % 60)
}

pub fn debug(msg: impl Display) {
    if debug_enabled() || TRACE.get().is_some() {
        emit_to("DEBUG", &msg, debug_enabled());
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
    syslog_line("ERROR", &line);
    trace_line(&line);
}

/// Starts the trace of `action` when tracing is asked for (see the
/// module); a destination that cannot be written costs a warning, never
/// the action.
pub fn start_trace(action: &str) {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let wanted = var("OCF_TRACE_RA").or_else(|| var("OCF_RESKEY_trace_ra"));
    if !wanted.is_some_and(|v| crate::params::values::ocf_is_true(&v)) {
        return;
    }
    let path = match trace_destination(action, var("OCF_TRACE_FILE")) {
        Ok(Some(path)) => path,
        Ok(None) => return,
        Err(why) => return warn(why),
    };
    if let Some(dir) = path.parent() {
        let _ = std::fs::create_dir_all(dir);
    }
    let file = match std::fs::OpenOptions::new().create(true).append(true).open(&path) {
        Ok(file) => file,
        Err(err) => {
            return warn(format!("{} not writable, trace not going to happen: {err}", path.display()));
        }
    };
    let mut environment: Vec<String> = std::env::vars_os()
        .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
        .collect();
    environment.sort();
    let _ = TRACE.set(std::sync::Mutex::new(file));
    trace_line(&format!("IPaddr {action}, environment:\n{}\n", environment.join("\n")));
}

/// Where ocf-shellfuncs would send the trace: `OCF_TRACE_FILE` as a
/// descriptor (3-9) or an absolute path, else the default file, which
/// needs the resource's type, name and action and no terminal on stdin.
fn trace_destination(action: &str, trace_file: Option<String>) -> Result<Option<std::path::PathBuf>, String> {
    use std::path::PathBuf;
    let default = || {
        if nix::unistd::isatty(std::io::stdin()).unwrap_or(false) {
            return None;
        }
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let (kind, instance) = (var("OCF_RESOURCE_TYPE")?, var("OCF_RESOURCE_INSTANCE")?);
        let dir = var("OCF_RESKEY_trace_dir").unwrap_or_else(|| {
            format!("{}/trace_ra", var("HA_VARLIB").unwrap_or("/var/lib/heartbeat".into()))
        });
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
        let stamp =
            crate::observe::history::utc(now.as_secs_f64()).trim_end_matches(" UTC").replacen(' ', ".", 1);
        // Path separators in the names would climb out of the directory.
        let safe = |name: String| name.replace('/', "_");
        Some(PathBuf::from(dir).join(safe(kind)).join(safe(format!("{instance}.{action}.{stamp}"))))
    };
    match trace_file.as_deref() {
        None => Ok(default()),
        Some(fd @ ("3" | "4" | "5" | "6" | "7" | "8" | "9")) => {
            Ok(Some(PathBuf::from(format!("/proc/self/fd/{fd}"))))
        }
        Some(path) if path.starts_with('/') && path[1..].contains('/') => Ok(Some(PathBuf::from(path))),
        Some(_) => {
            warn("OCF_TRACE_FILE must be set to either FD (open for writing) or absolute file path");
            Ok(default())
        }
    }
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
