//! Defaults that IPaddr2 sets per distribution. Since resource-agents 4.17
//! `check_link_status` is on, except on Red Hat family releases before
//! 10.1, where it stays off so that an update does not start failing VIPs
//! on links that were down all along. The release is read from os-release
//! only when an action needs the default.

use std::cmp::Ordering;

const OS_RELEASE: [&str; 2] = ["/etc/os-release", "/usr/lib/os-release"];

/// Distribution IDs IPaddr2 counts as Red Hat based.
const RED_HAT_FAMILY: [&str; 7] = ["rhel", "centos", "fedora", "ol", "almalinux", "rocky", "scientific"];

/// The first Red Hat family release whose IPaddr2 checks the link by default.
const LINK_CHECK_SINCE: [u64; 2] = [10, 1];

/// `check_link_status` when the configuration does not set it.
pub fn link_check_default() -> bool {
    let text = OS_RELEASE.iter().find_map(|path| std::fs::read_to_string(path).ok()).unwrap_or_default();
    link_check_default_for(&text)
}

fn link_check_default_for(os_release: &str) -> bool {
    let field = |key: &str| {
        os_release.lines().find_map(|line| {
            let value = line.trim().strip_prefix(key)?.strip_prefix('=')?;
            Some(value.trim().trim_matches(|c| c == '"' || c == '\'').to_ascii_lowercase())
        })
    };
    let is_red_hat = field("ID").is_some_and(|id| RED_HAT_FAMILY.contains(&id.as_str()));
    match (is_red_hat, field("VERSION_ID")) {
        (true, Some(version)) => compare_versions(&version, &LINK_CHECK_SINCE) != Ordering::Less,
        _ => true,
    }
}

/// Compares a dotted version with `other`, part by part as numbers; a
/// missing part counts as 0 and a part that is not a number ends it.
fn compare_versions(version: &str, other: &[u64]) -> Ordering {
    let parts: Vec<u64> = version.split('.').map_while(|part| part.parse().ok()).collect();
    for i in 0..parts.len().max(other.len()) {
        let ordering = parts.get(i).unwrap_or(&0).cmp(other.get(i).unwrap_or(&0));
        if ordering != Ordering::Equal {
            return ordering;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(id: &str, version: &str) -> String {
        format!("NAME=\"Some Linux\"\nID={id}\nVERSION_ID=\"{version}\"\n")
    }

    #[test]
    fn red_hat_family_releases_before_10_1_do_not_check_the_link() {
        for (id, version) in [("rhel", "9.4"), ("centos", "9"), ("almalinux", "10.0"), ("\"ol\"", "8.10")] {
            assert!(!link_check_default_for(&release(id, version)), "{id} {version}");
        }
        for (id, version) in [("rhel", "10.1"), ("rocky", "10.2"), ("fedora", "41"), ("rhel", "11")] {
            assert!(link_check_default_for(&release(id, version)), "{id} {version}");
        }
    }

    #[test]
    fn other_distributions_and_unreadable_releases_check_the_link() {
        assert!(link_check_default_for(&release("debian", "12")));
        assert!(link_check_default_for(&release("sles", "15.6")));
        assert!(link_check_default_for("ID=rhel\n"), "no version: the upstream default");
        assert!(link_check_default_for(""));
    }

    #[test]
    fn versions_compare_part_by_part() {
        assert_eq!(compare_versions("9.6", &[10, 1]), Ordering::Less);
        assert_eq!(compare_versions("10", &[10, 1]), Ordering::Less);
        assert_eq!(compare_versions("10.1", &[10, 1]), Ordering::Equal);
        assert_eq!(compare_versions("10.1.0", &[10, 1]), Ordering::Equal);
        assert_eq!(compare_versions("10.10", &[10, 1]), Ordering::Greater);
    }
}
