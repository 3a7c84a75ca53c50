//! The names the previous layout gave a resource's files: by address
//! (`IPaddr-<kind>-<ns>-<ip>`, the namespace as given), and the metrics
//! textfile by resource name with every character but letters, digits,
//! `_` and `-` turned into `_`. Used once per resource, after an upgrade,
//! to take those files over (`vip::upgrade`).

use super::key::{Kind, ResourceKey};
use std::net::IpAddr;

/// The previous name of a resource's file of `kind` that was named by
/// address, or `None` when it is the name this layout uses.
pub fn address_file(kind: Kind, key: &ResourceKey, ip: IpAddr, namespace: Option<&str>) -> Option<String> {
    if matches!(kind, Kind::Record | Kind::History | Kind::Metrics | Kind::ObserveLock) {
        return None;
    }
    let word = kind.word();
    let name = match namespace {
        Some(ns) => format!("IPaddr-{word}-{ns}-{ip}"),
        None => format!("IPaddr-{word}-{ip}"),
    };
    (name != key.file(kind)).then_some(name)
}

/// The previous name of the textfile of the resource `resource`.
pub fn textfile(resource: &str) -> String {
    let safe: String = resource
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' || c == '-' { c } else { '_' })
        .collect();
    format!("ocf_ipaddr_{safe}.prom")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn previous_names_are_those_the_previous_release_wrote() {
        assert_eq!(textfile("vip:1"), "ocf_ipaddr_vip_1.prom");
        assert_eq!(textfile("web.vip"), "ocf_ipaddr_web_vip.prom");
        assert_eq!(textfile("../x"), "ocf_ipaddr____x.prom");
    }
}
