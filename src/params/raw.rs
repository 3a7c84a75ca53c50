//! Where parameter values come from: `OCF_RESKEY_<name>` variables, then
//! the command line's flags, which win (a debugging session overrides the
//! CIB). Values are kept as given; one that is not valid UTF-8 is
//! remembered as such, so that parsing can name it instead of silently
//! dropping it (a dropped `network_namespace` would put the VIP in the
//! wrong namespace).

use super::spec;
use std::collections::BTreeMap;
use std::ffi::OsString;

/// Parameter values as given, before parsing.
#[derive(Debug, Default, Clone)]
pub struct RawParams {
    values: BTreeMap<&'static str, String>,
    /// Parameters whose value is not valid UTF-8.
    not_utf8: Vec<&'static str>,
    /// `OCF_RESKEY_*` names that no parameter has (typos, other agents' keys).
    pub unknown: Vec<String>,
}

impl RawParams {
    /// Reads `OCF_RESKEY_<name>` for every known parameter from `vars`.
    pub fn from_os_vars(vars: impl IntoIterator<Item = (OsString, OsString)>) -> RawParams {
        let mut raw = RawParams::default();
        for (key, value) in vars {
            // Only our own keys matter, and those are ASCII.
            let Some(key) = key.to_str() else { continue };
            let Some(name) = key.strip_prefix("OCF_RESKEY_") else { continue };
            match spec::find(name) {
                Some(p) => match value.into_string() {
                    Ok(text) => {
                        raw.values.insert(p.name, text);
                    }
                    Err(_) => raw.not_utf8.push(p.name),
                },
                // What Pacemaker passes to every agent besides parameters,
                // and what ocf-shellfuncs reads for every agent (tracing).
                None if name.starts_with("CRM_meta_")
                    || matches!(name, "crm_feature_set" | "OCF_CHECK_LEVEL" | "trace_ra" | "trace_dir") => {}
                None => raw.unknown.push(name.to_string()),
            }
        }
        raw
    }

    /// `from_os_vars` for text pairs.
    #[cfg(test)]
    pub fn from_vars(vars: impl IntoIterator<Item = (String, String)>) -> RawParams {
        RawParams::from_os_vars(vars.into_iter().map(|(k, v)| (k.into(), v.into())))
    }

    /// The given parameters as (name, value) pairs, e.g. to hand to a child.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.values.iter().map(|(k, v)| (*k, v.as_str()))
    }

    /// Sets a parameter from the command line, replacing the environment's value.
    pub fn set(&mut self, name: &'static str, value: String) {
        self.not_utf8.retain(|n| *n != name);
        self.values.insert(name, value);
    }

    /// The value given for `name`; an empty value counts as not given.
    pub fn given(&self, name: &str) -> Option<&str> {
        self.values.get(name).map(String::as_str).filter(|v| !v.is_empty())
    }

    /// Only the given parameters named in `names`.
    pub fn keeping(&self, names: &[&str]) -> RawParams {
        let values =
            self.values.iter().filter(|(k, _)| names.contains(k)).map(|(k, v)| (*k, v.clone())).collect();
        RawParams { values, not_utf8: Vec::new(), unknown: Vec::new() }
    }

    /// Whether the value given for `name` is not valid UTF-8.
    pub fn is_not_utf8(&self, name: &str) -> bool {
        self.not_utf8.contains(&name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt;

    #[test]
    fn unknown_keys_are_collected_but_meta_attributes_are_not() {
        let r = RawParams::from_vars([
            ("OCF_RESKEY_ip".to_string(), "10.0.0.5".to_string()),
            ("OCF_RESKEY_nci".to_string(), "eth0".to_string()),
            ("OCF_RESKEY_CRM_meta_timeout".to_string(), "20000".to_string()),
            ("OCF_RESKEY_crm_feature_set".to_string(), "3.16.2".to_string()),
            ("PATH".to_string(), "/bin".to_string()),
        ]);
        assert_eq!(r.unknown, vec!["nci".to_string()]);
        assert_eq!(r.given("ip"), Some("10.0.0.5"));
    }

    #[test]
    fn values_that_are_not_utf8_are_remembered_not_dropped() {
        let bad = OsString::from_vec(b"ns\xff1".to_vec());
        let mut r = RawParams::from_os_vars([("OCF_RESKEY_network_namespace".into(), bad)]);
        assert!(r.is_not_utf8("network_namespace"));
        assert_eq!(r.given("network_namespace"), None);
        r.set("network_namespace", "ns1".into());
        assert!(!r.is_not_utf8("network_namespace"), "a flag replaces the bad value");
        assert_eq!(r.given("network_namespace"), Some("ns1"));
    }
}
