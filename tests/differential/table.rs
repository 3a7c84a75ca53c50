//! The tables of intended differences, read from the one place users read
//! them: the "Measured differences" sections of
//! docs/migration-from-ipaddr2.md, one per IPaddr2 version.
//! Each row names the cases it covers and the steps (patterns where `*`
//! matches anything), the differences (`rc OURS / IPADDR2`, or `state
//! SECTION` when the kernel ends up holding something else) and why. A
//! cell may list several, separated by commas.

/// One observed difference.
#[derive(Debug, Clone)]
pub struct Difference {
    pub case: String,
    pub step: &'static str,
    /// `rc 1 / 0` or `state addr` (route, link, addrlabel).
    pub what: String,
    /// The details, for a failure message.
    pub detail: String,
}

#[derive(Debug, Clone)]
pub struct Row {
    pub cases: Vec<String>,
    pub steps: Vec<String>,
    pub whats: Vec<String>,
    pub why: String,
}

impl Row {
    pub fn covers(&self, difference: &Difference) -> bool {
        self.cases.iter().any(|cases| glob(cases, &difference.case))
            && self.steps.iter().any(|step| glob(step, difference.step))
            && self.whats.contains(&difference.what)
    }
}

const GUIDE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/docs/migration-from-ipaddr2.md");
/// The sections' headings, whole lines of the guide.
pub const DEBIAN_12: &str = "## Measured differences";
pub const DEBIAN_13: &str = "## Measured differences from Debian 13's IPaddr2 4.16";

/// The rows of the guide's table under the heading `section`.
pub fn read(section: &str) -> Vec<Row> {
    let guide = std::fs::read_to_string(GUIDE).expect("the migration guide");
    let heading = format!("\n{section}\n");
    let section =
        guide.split_once(&heading).map(|(_, rest)| rest).unwrap_or_else(|| panic!("no {section:?}"));
    let table = section.split("\n## ").next().unwrap_or_default();
    table
        .lines()
        .filter(|line| line.starts_with("| `"))
        .map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            assert!(cells.len() == 4, "a row needs 4 cells: {line}");
            assert!(cells[3].len() > 10, "a row needs its reason: {line}");
            let list = |cell: &str| -> Vec<String> {
                cell.split(", ").map(|item| item.trim().trim_matches('`').to_string()).collect()
            };
            Row {
                cases: list(cells[0]),
                steps: list(cells[1]),
                whats: list(cells[2]),
                why: cells[3].to_string(),
            }
        })
        .collect()
}

/// Whether `pattern`, where `*` matches any run of characters, matches all of `text`.
pub fn glob(pattern: &str, text: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == text,
        Some((head, rest)) => {
            let Some(after) = text.strip_prefix(head) else { return false };
            (0..=after.len()).filter(|at| after.is_char_boundary(*at)).any(|at| glob(rest, &after[at..]))
        }
    }
}

#[test]
fn patterns_match_whole_names() {
    assert!(glob("v6/*", "v6/none/plain"));
    assert!(glob("*/none/*", "v4/none/iflabel=web"));
    assert!(!glob("v6/*", "v4/none/plain"));
    assert!(glob("v4/nic+cidr/iflabel=*", "v4/nic+cidr/iflabel=a b"));
    assert!(!glob("v4/nic", "v4/nic+cidr"));
}
