//! The OCF resource-agent contract: exit codes, the caller's environment,
//! ocf_log-compatible logging and the metadata document.
//!
//! Spec: <https://github.com/ClusterLabs/OCF-spec/blob/main/ra/1.1/resource-agent-api.md>

pub mod env;
pub mod exit;
pub mod log;
pub mod metadata;

pub use env::OcfEnv;
pub use exit::ExitCode;
