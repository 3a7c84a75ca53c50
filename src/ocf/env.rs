//! What the caller (Pacemaker's executor, crm_resource, ocf-tester or a
//! human) tells the agent through the environment, besides the parameters.

use std::time::Duration;

/// The first CRM feature set with OCF 1.1 support (Pacemaker 2.1.0), where
/// the scheduler takes OCF_DEGRADED for "running".
const DEGRADED_FEATURE_SET: [u32; 3] = [3, 9, 0];

/// Pacemaker's default operation timeout, used when the caller gives none.
const DEFAULT_ACTION_TIMEOUT: Duration = Duration::from_secs(20);

/// The caller's context for one action.
#[derive(Debug, Clone)]
pub struct OcfEnv {
    /// `CRM_meta_interval` in milliseconds; 0 or absent means a one-shot call.
    /// Absent is a probe, as for IPaddr2: ocf-shellfuncs defaults it to 0
    /// (`crm_resource --force-check` passes none).
    pub interval_ms: u64,
    /// How long the caller lets this action run before killing it.
    pub timeout: Duration,
    /// `CRM_meta_clone_max`: how many clone instances exist (1 when not a clone).
    pub clone_max: Option<String>,
    /// `CRM_meta_clone`: this instance's clone number.
    pub clone_id: Option<String>,
    /// `CRM_meta_globally_unique`; `None` when not given (a primitive, or a
    /// validation by pcs or crm_resource, which pass no meta attributes).
    pub globally_unique: Option<bool>,
    /// Where per-resource run-time files live (`HA_RSCTMP`).
    pub rsctmp: String,
    /// `OCF_CHECK_LEVEL` of a monitor: 0, 10 (reachability), 20 (conflicts).
    pub check_level: u32,
    /// Whether the caller set `OCF_CHECK_LEVEL`: validate-all at an explicit
    /// 0 checks the configuration alone (OCF 1.1), unset checks this node too.
    pub check_level_given: bool,
    /// Whether the caller understands OCF 1.1's degraded exit codes.
    pub degraded_supported: bool,
    /// `OCF_RESOURCE_INSTANCE`: the resource's name (`vip`, `vip:1`).
    pub instance: Option<String>,
}

impl OcfEnv {
    /// Reads the context from the process environment.
    pub fn from_process() -> OcfEnv {
        OcfEnv::from_lookup(|key| std::env::var(key).ok())
    }

    /// Reads the context through `lookup`, so tests need not touch the process.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> OcfEnv {
        // Pacemaker exports meta attributes as OCF_RESKEY_CRM_meta_*; some
        // older callers and hand-written scripts use the bare CRM_meta_* form.
        let meta = |name: &str| {
            lookup(&format!("OCF_RESKEY_CRM_meta_{name}"))
                .or_else(|| lookup(&format!("CRM_meta_{name}")))
                .filter(|value| !value.is_empty())
        };
        let interval_ms = meta("interval").and_then(|v| v.trim().parse::<u64>().ok()).unwrap_or(0);
        let timeout = meta("timeout")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .filter(|ms| *ms > 0)
            .map(Duration::from_millis)
            .unwrap_or(DEFAULT_ACTION_TIMEOUT);
        let globally_unique = meta("globally_unique").map(|v| crate::params::ocf_is_true(&v));
        // Pacemaker exports the operation attribute bare; accept the
        // OCF_RESKEY_ form that hand-written callers use too.
        let given_level = lookup("OCF_CHECK_LEVEL")
            .or_else(|| lookup("OCF_RESKEY_OCF_CHECK_LEVEL"))
            .and_then(|v| v.trim().parse::<u32>().ok());
        let (check_level, check_level_given) = (given_level.unwrap_or(0), given_level.is_some());
        let ocf_minor = lookup("OCF_RA_VERSION_MAJOR")
            .filter(|major| major.trim() == "1")
            .and(lookup("OCF_RA_VERSION_MINOR"))
            .and_then(|minor| minor.trim().parse::<u32>().ok());
        let feature_set = lookup("OCF_RESKEY_crm_feature_set").and_then(|v| parse_version(&v));
        let degraded_supported = ocf_minor.is_some_and(|minor| minor >= 1)
            && feature_set.is_some_and(|set| set >= DEGRADED_FEATURE_SET);
        OcfEnv {
            instance: lookup("OCF_RESOURCE_INSTANCE").filter(|v| !v.is_empty()),
            check_level,
            check_level_given,
            degraded_supported,
            interval_ms,
            timeout,
            clone_max: meta("clone_max"),
            clone_id: meta("clone"),
            globally_unique,
            rsctmp: lookup("HA_RSCTMP")
                .filter(|v| !v.is_empty())
                .unwrap_or_else(|| "/run/resource-agents".to_string()),
        }
    }

    /// A monitor with interval 0 is Pacemaker's probe: "is it running here?",
    /// asked before anything was started; "no" is an answer, not a failure.
    pub fn is_probe_interval(&self) -> bool {
        self.interval_ms == 0
    }
}

/// A dotted version (3.16.2) as numbers, missing parts as 0.
fn parse_version(text: &str) -> Option<[u32; 3]> {
    let mut parts = text.trim().split('.').map(|p| p.parse::<u32>());
    let major = parts.next()?.ok()?;
    let minor = parts.next().unwrap_or(Ok(0)).ok()?;
    let patch = parts.next().unwrap_or(Ok(0)).ok()?;
    parts.next().is_none().then_some([major, minor, patch])
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, &str)]) -> OcfEnv {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        OcfEnv::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn unset_interval_is_a_probe() {
        assert!(env_of(&[]).is_probe_interval());
        assert!(env_of(&[("OCF_RESKEY_CRM_meta_interval", "0")]).is_probe_interval());
        assert!(!env_of(&[("OCF_RESKEY_CRM_meta_interval", "10000")]).is_probe_interval());
        assert!(!env_of(&[("CRM_meta_interval", "5000")]).is_probe_interval());
    }

    #[test]
    fn timeout_comes_from_crm_meta_timeout_in_milliseconds() {
        assert_eq!(env_of(&[]).timeout, DEFAULT_ACTION_TIMEOUT);
        let env = env_of(&[("OCF_RESKEY_CRM_meta_timeout", "7500")]);
        assert_eq!(env.timeout, Duration::from_millis(7500));
        let bogus = env_of(&[("OCF_RESKEY_CRM_meta_timeout", "soon")]);
        assert_eq!(bogus.timeout, DEFAULT_ACTION_TIMEOUT);
    }

    #[test]
    fn rsctmp_defaults_to_run_resource_agents() {
        assert_eq!(env_of(&[]).rsctmp, "/run/resource-agents");
        assert_eq!(env_of(&[("HA_RSCTMP", "/tmp/x")]).rsctmp, "/tmp/x");
    }

    #[test]
    fn check_level_comes_bare_or_prefixed() {
        assert_eq!(env_of(&[]).check_level, 0);
        assert!(!env_of(&[]).check_level_given);
        assert!(env_of(&[("OCF_CHECK_LEVEL", "0")]).check_level_given);
        assert_eq!(env_of(&[("OCF_CHECK_LEVEL", "10")]).check_level, 10);
        assert_eq!(env_of(&[("OCF_RESKEY_OCF_CHECK_LEVEL", "20")]).check_level, 20);
        assert_eq!(env_of(&[("OCF_CHECK_LEVEL", "deep")]).check_level, 0);
    }

    #[test]
    fn degraded_codes_need_ocf_1_1_and_pacemaker_2_1() {
        let modern = [
            ("OCF_RA_VERSION_MAJOR", "1"),
            ("OCF_RA_VERSION_MINOR", "1"),
            ("OCF_RESKEY_crm_feature_set", "3.16.2"),
        ];
        assert!(env_of(&modern).degraded_supported);
        let ocf_1_0 = [modern[0], ("OCF_RA_VERSION_MINOR", "0"), modern[2]];
        assert!(!env_of(&ocf_1_0).degraded_supported);
        let old_pacemaker = [modern[0], modern[1], ("OCF_RESKEY_crm_feature_set", "3.6.3")];
        assert!(!env_of(&old_pacemaker).degraded_supported);
        assert!(!env_of(&modern[..2]).degraded_supported, "no feature set: not Pacemaker");
        assert!(env_of(&[modern[0], modern[1], ("OCF_RESKEY_crm_feature_set", "3.9")]).degraded_supported);
    }

    #[test]
    fn versions_compare_numerically() {
        assert_eq!(parse_version("3.16.2"), Some([3, 16, 2]));
        assert_eq!(parse_version("3.9"), Some([3, 9, 0]));
        assert!(parse_version("3.16.2").unwrap() > parse_version("3.9.0").unwrap());
        assert_eq!(parse_version("3.x"), None);
        assert_eq!(parse_version("1.2.3.4"), None);
    }
}
