//! Prometheus metrics for node_exporter's textfile collector: one `.prom`
//! file per resource in the directory `metrics_dir` names, rewritten
//! atomically (a hidden temporary file, then a rename) by every action
//! that changes or observes the VIP. The file is also the counters' memory:
//! the next action reads it back, so a monitor reads one file and writes
//! one, and nothing else is kept.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::io::{self, Write as _};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

/// The counters, in the order they are printed: (name, help).
pub const COUNTERS: [(&str, &str); 8] = [
    ("starts", "Successful starts."),
    ("stops", "Successful stops."),
    ("monitor_failures", "Monitors that found the VIP failed (any result but running or not running)."),
    ("recoveries", "Successful recover actions."),
    ("announcements_sent", "Announcement rounds sent (gratuitous ARP or unsolicited NA)."),
    ("probes_sent", "Duplicate-address probes sent."),
    ("conflicts", "Times another MAC answered for the VIP (start's probe or the level-20 watch)."),
    ("reachability_failures", "Level-10 monitors whose ping from the VIP nobody answered."),
];

/// The largest textfile read back: ours are a few KiB; anything bigger is
/// not ours and is replaced, not parsed.
const MAX_TEXTFILE_BYTES: u64 = 64 * 1024;

/// What one VIP's metrics remember between invocations: everything its
/// textfile shows.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct State {
    /// By the names of `COUNTERS`.
    pub counters: BTreeMap<&'static str, u64>,
    /// Per action: (exit code, duration in seconds, unix time).
    pub last_actions: BTreeMap<String, (u8, f64, f64)>,
    pub up: Option<bool>,
    pub last_conflict: Option<(String, f64)>,
    pub start_probe_seconds: Option<f64>,
    pub start_first_announcement_seconds: Option<f64>,
    pub nic: String,
}

impl State {
    /// Reads back a textfile `render` wrote. Samples that do not parse are
    /// dropped: a counter restarting is something Prometheus handles, a
    /// failed action is not. Every monitor reads its file back: a label's
    /// value is copied only where it is kept.
    pub fn parse(text: &str) -> State {
        let mut state = State::default();
        let (mut conflict_mac, mut conflict_at) = (None, None);
        for sample in text.lines().filter_map(Sample::parse) {
            if let Some(nic) = sample.label("nic").filter(|nic| *nic != state.nic) {
                state.nic = nic.into_owned();
            }
            match sample.family {
                "up" => state.up = Some(sample.value == "1"),
                "last_action_exit_code" => {
                    if let Ok(code) = sample.value.parse() {
                        if let Some(last) = last_run(&mut state.last_actions, sample.label("action")) {
                            last.0 = code;
                        }
                    }
                }
                "last_action_duration_seconds" => {
                    if let Ok(took) = sample.value.parse() {
                        if let Some(last) = last_run(&mut state.last_actions, sample.label("action")) {
                            last.1 = took;
                        }
                    }
                }
                "last_action_timestamp_seconds" => {
                    if let Ok(at) = sample.value.parse() {
                        if let Some(last) = last_run(&mut state.last_actions, sample.label("action")) {
                            last.2 = at;
                        }
                    }
                }
                "last_conflict_info" => conflict_mac = sample.label("mac").map(Cow::into_owned),
                "last_conflict_timestamp_seconds" => conflict_at = sample.value.parse().ok(),
                "last_start_probe_seconds" => state.start_probe_seconds = sample.value.parse().ok(),
                "last_start_first_announcement_seconds" => {
                    state.start_first_announcement_seconds = sample.value.parse().ok()
                }
                family => {
                    let counter = family.strip_suffix("_total");
                    let known = counter.and_then(|c| COUNTERS.iter().find(|(name, _)| *name == c));
                    if let (Some((name, _)), Ok(value)) = (known, sample.value.parse()) {
                        state.counters.insert(name, value);
                    }
                }
            }
        }
        state.last_conflict = conflict_mac.zip(conflict_at);
        state
    }
}

/// The last run of `action` among `runs`, added when it is new.
fn last_run<'m>(
    runs: &'m mut BTreeMap<String, (u8, f64, f64)>,
    action: Option<Cow<'_, str>>,
) -> Option<&'m mut (u8, f64, f64)> {
    let action = action?;
    if !runs.contains_key(action.as_ref()) {
        runs.insert(action.clone().into_owned(), Default::default());
    }
    runs.get_mut(action.as_ref())
}

/// One sample line of our own textfile: `ocf_ipaddr_<family>{labels} value`.
struct Sample<'a> {
    family: &'a str,
    /// The label pairs as written between the braces, known to be well formed.
    labels: &'a str,
    value: &'a str,
}

impl<'a> Sample<'a> {
    fn parse(line: &'a str) -> Option<Sample<'a>> {
        let rest = line.strip_prefix("ocf_ipaddr_")?;
        let (family, labels) = rest.split_once('{')?;
        let mut rest = labels;
        loop {
            if let Some(after) = rest.strip_prefix('}') {
                let labels = &labels[..labels.len() - rest.len()];
                let value = after.trim();
                return (!value.is_empty()).then_some(Sample { family, labels, value });
            }
            (_, rest) = next_label(rest)?;
        }
    }

    fn label(&self, name: &str) -> Option<Cow<'a, str>> {
        let mut rest = self.labels;
        while !rest.is_empty() {
            let ((label, value), after) = next_label(rest)?;
            if label == name {
                return Some(value);
            }
            rest = after;
        }
        None
    }
}

/// The first `name="value"` pair of `text` (the value unescaped) and what
/// follows it and its comma.
fn next_label(text: &str) -> Option<((&str, Cow<'_, str>), &str)> {
    let (name, after) = text.split_once("=\"")?;
    let (value, after) = unescape_until_quote(after)?;
    Some(((name, value), after.strip_prefix(',').unwrap_or(after)))
}

/// A label value up to its closing quote, with `escape` undone (a copy
/// only when there was something to undo); returns the value and what
/// follows the quote.
fn unescape_until_quote(text: &str) -> Option<(Cow<'_, str>, &str)> {
    let end = text.find(['"', '\\'])?;
    if text[end..].starts_with('"') {
        return Some((Cow::Borrowed(&text[..end]), &text[end + 1..]));
    }
    let mut value = text[..end].to_string();
    let mut chars = text[end..].char_indices();
    while let Some((at, c)) = chars.next() {
        match c {
            '"' => return Some((Cow::Owned(value), &text[end + at + 1..])),
            '\\' => match chars.next()?.1 {
                'n' => value.push('\n'),
                escaped => value.push(escaped),
            },
            c => value.push(c),
        }
    }
    None
}

/// A label value written in the exposition format: backslash, quote and
/// newline escaped.
struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut rest = self.0;
        while let Some(at) = rest.find(['\\', '"', '\n']) {
            out.write_str(&rest[..at])?;
            out.write_str(match rest.as_bytes()[at] {
                b'\\' => "\\\\",
                b'"' => "\\\"",
                _ => "\\n",
            })?;
            rest = &rest[at + 1..];
        }
        out.write_str(rest)
    }
}

/// A textfile being written: families, each declared before its samples,
/// every sample with the VIP's labels.
struct Exposition {
    out: String,
    labels: String,
}

impl Exposition {
    fn family(&mut self, name: &str, kind: &str, help: &str) {
        let _ = writeln!(self.out, "# HELP ocf_ipaddr_{name} {help}\n# TYPE ocf_ipaddr_{name} {kind}");
    }

    /// A sample with one more label (`("", "")` for none).
    fn sample(&mut self, name: &str, (label, value): (&str, &str), sample: impl fmt::Display) {
        let _ = match label {
            "" => writeln!(self.out, "ocf_ipaddr_{name}{{{}}} {sample}", self.labels),
            _ => writeln!(
                self.out,
                "ocf_ipaddr_{name}{{{},{label}=\"{}\"}} {sample}",
                self.labels,
                Escaped(value)
            ),
        };
    }

    /// A family of one sample, or none when there is no value.
    fn single(&mut self, name: &str, kind: &str, help: &str, sample: Option<impl fmt::Display>) {
        if let Some(sample) = sample {
            self.family(name, kind, help);
            self.sample(name, ("", ""), sample);
        }
    }

    /// A family with one sample per action, or none when no action ran.
    fn per_action(&mut self, state: &State, name: &str, help: &str, pick: fn(&(u8, f64, f64)) -> Value) {
        if state.last_actions.is_empty() {
            return;
        }
        self.family(name, "gauge", help);
        for (action, last) in &state.last_actions {
            self.sample(name, ("action", action), pick(last));
        }
    }
}

/// A sample's value as printed: a whole number or seconds to `digits`.
enum Value {
    Whole(u64),
    Seconds(f64, usize),
}

impl fmt::Display for Value {
    fn fmt(&self, out: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Value::Whole(n) => write!(out, "{n}"),
            Value::Seconds(s, digits) => write!(out, "{s:.digits$}"),
        }
    }
}

/// The textfile for one resource.
pub fn render(resource: &str, ip: &str, state: &State) -> String {
    let labels =
        format!("resource=\"{}\",ip=\"{}\",nic=\"{}\"", Escaped(resource), Escaped(ip), Escaped(&state.nic));
    let mut file = Exposition { out: String::with_capacity(4096), labels };
    file.single(
        "up",
        "gauge",
        "Whether the VIP was running when an action last looked (1) or not (0).",
        state.up.map(u8::from),
    );
    file.per_action(state, "last_action_exit_code", "OCF exit code of the last run of each action.", |v| {
        Value::Whole(v.0.into())
    });
    file.per_action(
        state,
        "last_action_duration_seconds",
        "How long the last run of each action took.",
        |v| Value::Seconds(v.1, 6),
    );
    file.per_action(
        state,
        "last_action_timestamp_seconds",
        "When the last run of each action ended, in seconds since the epoch.",
        |v| Value::Seconds(v.2, 3),
    );
    for (name, help) in COUNTERS {
        let total = format!("{name}_total");
        file.single(&total, "counter", help, Some(state.counters.get(name).copied().unwrap_or(0)));
    }
    if let Some((mac, at)) = &state.last_conflict {
        let name = "last_conflict_info";
        file.family(name, "gauge", "The MAC that last answered for the VIP from another host.");
        file.sample(name, ("mac", mac), 1);
        file.single(
            "last_conflict_timestamp_seconds",
            "gauge",
            "When another MAC last answered for the VIP, in seconds since the epoch.",
            Some(Value::Seconds(*at, 3)),
        );
    }
    file.single(
        "last_start_probe_seconds",
        "gauge",
        "How long the last start probed for a duplicate address.",
        state.start_probe_seconds.map(|s| Value::Seconds(s, 6)),
    );
    file.single(
        "last_start_first_announcement_seconds",
        "gauge",
        "Time from the last start's beginning to its first announcement.",
        state.start_first_announcement_seconds.map(|s| Value::Seconds(s, 6)),
    );
    file.out
}

/// The file name of a resource's textfile: node_exporter reads `*.prom`.
pub fn file_name(resource: &str) -> String {
    let safe: String = resource
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .collect();
    format!("ocf_ipaddr_{safe}.prom")
}

/// Writes `text` as `dir/name` atomically, readable by node_exporter's
/// user: a hidden temporary file (not `*.prom`, so never collected half
/// written) renamed into place.
pub fn write_atomically(dir: &Path, name: &str, text: &str) -> io::Result<()> {
    let temp = dir.join(format!(".{name}.{}", std::process::id()));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o644)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC)
        .open(&temp)
        .and_then(|mut file| file.write_all(text.as_bytes()))
        .and_then(|()| put_in_place(&temp, &dir.join(name)));
    if written.is_err() {
        let _ = std::fs::remove_file(&temp);
    }
    written
}

/// Moves the written `temp` to `target` in one step, a reader seeing the
/// old file or the new one. When there is an old one, the two names are
/// swapped and the old file, now under the temporary name, removed: ext4
/// writes a file renamed over another out to disk at once (auto_da_alloc),
/// a disk write and about four times the file system work on every
/// monitor of every VIP, for a file the next monitor replaces anyway. A
/// file system that cannot swap names, and a first write, get a rename.
fn put_in_place(temp: &Path, target: &Path) -> io::Result<()> {
    use nix::errno::Errno;
    use nix::fcntl::{AT_FDCWD, RenameFlags, renameat2};
    match renameat2(AT_FDCWD, temp, AT_FDCWD, target, RenameFlags::RENAME_EXCHANGE) {
        Ok(()) => std::fs::remove_file(temp),
        Err(Errno::ENOENT | Errno::EINVAL | Errno::ENOSYS | Errno::EOPNOTSUPP) => {
            std::fs::rename(temp, target)
        }
        Err(err) => Err(err.into()),
    }
}

/// The textfile `dir/name` as the last action left it: `None` when there
/// is none, or when what is there is not a regular file of ours (a symbolic
/// link, a FIFO, something huge), which the next write replaces.
pub fn read_back(dir: &Path, name: &str) -> io::Result<Option<String>> {
    let opened = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NOFOLLOW | nix::libc::O_CLOEXEC | nix::libc::O_NONBLOCK)
        .open(dir.join(name));
    let file = match opened {
        Ok(file) => file,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(err) if err.raw_os_error() == Some(nix::libc::ELOOP) => return Ok(None),
        Err(err) => return Err(err),
    };
    let metadata = file.metadata()?;
    if !metadata.is_file() {
        return Ok(None);
    }
    match crate::rundir::read_up_to(file, metadata.len(), MAX_TEXTFILE_BYTES) {
        Err(err) if err.kind() == io::ErrorKind::InvalidData => Ok(None),
        read => read,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn state() -> State {
        let mut state = State { up: Some(true), nic: "eth0".into(), ..State::default() };
        // Every counter is printed, so every counter reads back.
        for (n, (name, _)) in COUNTERS.iter().enumerate() {
            state.counters.insert(name, n as u64 * 3);
        }
        state.counters.insert("starts", 3);
        state.counters.insert("conflicts", 1);
        state.last_actions.insert("monitor".into(), (0, 0.0012, 1_700_000_000.5));
        state.last_conflict = Some(("02:00:00:00:00:99".into(), 1_700_000_001.0));
        state.start_probe_seconds = Some(0.015);
        state
    }

    #[test]
    fn the_textfile_reads_back_as_the_state_it_shows() {
        assert_eq!(State::parse(&render("vip:1", "192.0.2.50", &state())), state());
        let odd = State { nic: "e\"th\\0\n".into(), ..state() };
        assert_eq!(State::parse(&render("a\"b", "192.0.2.50", &odd)), odd);
        assert_eq!(State::parse(""), State::default());
    }

    #[test]
    fn what_does_not_parse_is_dropped_not_fatal() {
        let text = "ocf_ipaddr_starts_total{resource=\"v\"} lots\n\
                    ocf_ipaddr_stops_total{resource=\"v\"} 4\n\
                    ocf_ipaddr_bogus_total{resource=\"v\"} 9\n\
                    ocf_ipaddr_up{resource=\"v} 1\n\
                    ocf_ipaddr_conflicts_total{resource=\"v\"}\n\
                    ocf_ipaddr_last_action_exit_code{resource=\"v\",action=\"start\"} x\n\
                    node_load1 3\n";
        let state = State::parse(text);
        assert_eq!(state.counters.into_iter().collect::<Vec<_>>(), vec![("stops", 4)]);
        assert!(state.last_actions.is_empty(), "no action from a value that does not parse");
        assert_eq!(state.up, None, "an unterminated label is no sample");
    }

    #[test]
    fn the_textfile_names_every_series_with_its_labels() {
        let text = render("vip:1", "192.0.2.50", &state());
        assert!(
            text.contains("ocf_ipaddr_up{resource=\"vip:1\",ip=\"192.0.2.50\",nic=\"eth0\"} 1\n"),
            "{text}"
        );
        assert!(
            text.contains("ocf_ipaddr_starts_total{resource=\"vip:1\",ip=\"192.0.2.50\",nic=\"eth0\"} 3\n")
        );
        assert!(
            text.contains("ocf_ipaddr_stops_total{resource=\"vip:1\",ip=\"192.0.2.50\",nic=\"eth0\"} 3\n")
        );
        let bare = render("vip:1", "192.0.2.50", &State::default());
        assert!(bare.contains("ocf_ipaddr_stops_total{resource=\"vip:1\",ip=\"192.0.2.50\",nic=\"\"} 0\n"));
        assert!(text.contains(",action=\"monitor\"} 0\n"));
        assert!(text.contains("ocf_ipaddr_last_conflict_info{resource=\"vip:1\",ip=\"192.0.2.50\",nic=\"eth0\",mac=\"02:00:00:00:00:99\"} 1\n"));
        assert!(!text.contains("first_announcement"), "no sample, no family");
        // Every sample line belongs to a family declared just before it.
        let mut declared = String::new();
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("# TYPE ") {
                declared = rest.split(' ').next().unwrap().to_string();
            } else if !line.starts_with('#') {
                assert!(line.starts_with(&format!("{declared}{{")), "{line} outside {declared}");
            }
        }
    }

    #[test]
    fn label_values_and_file_names_are_safe() {
        let text = render("a\"b\\c\nd", "192.0.2.50", &State::default());
        assert!(text.contains("resource=\"a\\\"b\\\\c\\nd\""), "{text}");
        assert_eq!(file_name("vip:1"), "ocf_ipaddr_vip_1.prom");
        assert_eq!(file_name("../x"), "ocf_ipaddr____x.prom");
    }

    #[test]
    fn a_textfile_is_put_in_place_first_by_rename_then_by_swapping_names() {
        let dir = std::env::temp_dir().join(format!("ocf-ipaddr-metrics-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let listing = || {
            let mut names: Vec<_> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().into_string().unwrap())
                .collect();
            names.sort();
            names
        };
        let target = dir.join("ocf_ipaddr_vip.prom");
        write_atomically(&dir, "ocf_ipaddr_vip.prom", "first\n").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "first\n");
        let reader = std::fs::File::open(&target).unwrap();
        write_atomically(&dir, "ocf_ipaddr_vip.prom", "second\n").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "second\n");
        assert_eq!(listing(), ["ocf_ipaddr_vip.prom"], "the old file is gone, no temporary is left");
        let mut held = String::new();
        io::Read::read_to_string(&mut &reader, &mut held).unwrap();
        assert_eq!(held, "first\n", "a reader of the old file reads it whole");

        let victim = dir.join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::fs::remove_file(&target).unwrap();
        std::os::unix::fs::symlink(&victim, &target).unwrap();
        write_atomically(&dir, "ocf_ipaddr_vip.prom", "third\n").unwrap();
        assert!(!target.is_symlink());
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "third\n");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious", "the link is never followed");
        assert_eq!(listing(), ["ocf_ipaddr_vip.prom", "victim"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
