//! What the caller (Pacemaker's executor, crm_resource, ocf-tester or a
//! human) tells the agent through the environment, besides the parameters.

use std::time::Duration;

/// Pacemaker's default operation timeout, used when the caller gives none.
const DEFAULT_ACTION_TIMEOUT: Duration = Duration::from_secs(20);

/// The caller's context for one action.
#[derive(Debug, Clone)]
pub struct OcfEnv {
    /// `CRM_meta_interval` in milliseconds; 0 or absent means a one-shot call.
    pub interval_ms: u64,
    /// How long the caller lets this action run before killing it.
    pub timeout: Duration,
    /// `CRM_meta_clone_max`: how many clone instances exist (1 when not a clone).
    pub clone_max: Option<String>,
    /// `CRM_meta_clone`: this instance's clone number.
    pub clone_id: Option<String>,
    /// `CRM_meta_globally_unique`.
    pub globally_unique: bool,
    /// Where per-resource run-time files live (`HA_RSCTMP`).
    pub rsctmp: String,
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
        let globally_unique =
            meta("globally_unique").map(|v| crate::params::ocf_is_true(&v)).unwrap_or(false);
        OcfEnv {
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
}
