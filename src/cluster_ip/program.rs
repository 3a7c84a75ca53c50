//! Running the packet-filter programs: found on a fixed search path (never
//! through a shell), arguments passed as a list, input on standard input.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// Where the filter programs live on Debian, RHEL and SUSE.
const SEARCH_PATH: &[&str] = &["/usr/sbin", "/sbin", "/usr/bin", "/bin"];

/// The full path of `name`, if it is installed.
pub fn find(name: &str) -> Option<PathBuf> {
    SEARCH_PATH.iter().map(|dir| PathBuf::from(dir).join(name)).find(|path| path.is_file())
}

/// Runs `name args` with `input` on its standard input and returns its
/// standard output. A failure carries the program's own error text; an
/// error that says "No such file or directory" (a missing table, rule or
/// chain) comes back as `ErrorKind::NotFound`.
pub fn run_with_input(name: &str, args: &[&str], input: &str) -> io::Result<String> {
    let path = find(name).ok_or_else(|| io::Error::other(format!("{name} is not installed")))?;
    crate::crash_point::before("run", &name);
    let mut child = Command::new(&path)
        .args(args)
        .env_clear()
        .env("PATH", SEARCH_PATH.join(":"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(input.as_bytes())?;
    }
    let output = child.wait_with_output()?;
    if output.status.success() {
        return Ok(String::from_utf8_lossy(&output.stdout).into_owned());
    }
    let text = String::from_utf8_lossy(&output.stderr);
    let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("no error text").trim().to_string();
    let kind = if text.contains("No such file or directory") || text.contains("does not exist") {
        io::ErrorKind::NotFound
    } else {
        io::ErrorKind::Other
    };
    Err(io::Error::new(kind, format!("{name} {}: {first}", args.join(" "))))
}
