//! The agent's one error type: what went wrong, said for an admin, and the
//! OCF exit code it maps to. Every failure path ends here, and `main` turns
//! it into the `ocf-exit-reason:` line and the exit status.

use crate::ocf::ExitCode;
use std::fmt::Display;

/// A failed action: the exit code Pacemaker must see and the reason it shows.
#[derive(Debug, thiserror::Error)]
#[error("{reason}")]
pub struct AgentError {
    pub exit: ExitCode,
    pub reason: String,
}

pub type AgentResult<T> = Result<T, AgentError>;

impl AgentError {
    pub fn new(exit: ExitCode, reason: impl Into<String>) -> AgentError {
        AgentError { exit, reason: reason.into() }
    }

    /// The configuration can never work on any node (OCF_ERR_CONFIGURED).
    pub fn configured(reason: impl Into<String>) -> AgentError {
        AgentError::new(ExitCode::ErrConfigured, reason)
    }

    /// Something this node lacks (a NIC, a namespace): OCF_ERR_INSTALLED, so
    /// Pacemaker tries another node instead of giving up on the resource.
    pub fn installed(reason: impl Into<String>) -> AgentError {
        AgentError::new(ExitCode::ErrInstalled, reason)
    }

    /// A failure of this attempt (OCF_ERR_GENERIC).
    pub fn generic(reason: impl Into<String>) -> AgentError {
        AgentError::new(ExitCode::ErrGeneric, reason)
    }

    pub fn perm(reason: impl Into<String>) -> AgentError {
        AgentError::new(ExitCode::ErrPerm, reason)
    }
}

/// Adds "what was being done" to a low-level error and makes it a generic
/// failure: `nl.add(..).doing(|| format!("adding {vip} to {nic}"))?`.
pub trait Doing<T> {
    fn doing<S: Display>(self, what: impl FnOnce() -> S) -> AgentResult<T>;
}

impl<T, E: Display> Doing<T> for Result<T, E> {
    fn doing<S: Display>(self, what: impl FnOnce() -> S) -> AgentResult<T> {
        self.map_err(|err| AgentError::generic(format!("{} failed: {err}", what())))
    }
}

/// The failures of a sequence that tries every step (stop): each step's
/// error is noted and the next step still runs; all are reported together.
#[derive(Debug, Default)]
pub struct Failures {
    reasons: Vec<String>,
}

impl Failures {
    /// Notes `result`'s failure, if any, and hands back its value.
    pub fn note<T>(&mut self, result: AgentResult<T>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(err) => {
                self.reasons.push(err.reason);
                None
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.reasons.is_empty()
    }

    /// Success, or one generic failure that names every reason.
    pub fn into_result(self) -> AgentResult<()> {
        if self.reasons.is_empty() { Ok(()) } else { Err(AgentError::generic(self.reasons.join("; "))) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failures_keep_every_reason_and_the_sequence_goes_on() {
        let mut failures = Failures::default();
        assert_eq!(failures.note(Ok::<_, AgentError>(3)), Some(3));
        assert_eq!(failures.note(Err::<(), _>(AgentError::generic("first"))), None);
        failures.note(Err::<(), _>(AgentError::generic("second")));
        let err = failures.into_result().unwrap_err();
        assert_eq!((err.exit, err.reason.as_str()), (ExitCode::ErrGeneric, "first; second"));
        assert!(Failures::default().into_result().is_ok());
    }
}
