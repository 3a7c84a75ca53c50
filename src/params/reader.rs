//! Reads parameter values with the strictness the action asks for. Every
//! parameter goes through here, so stop's leniency holds for all of them:
//! a bad value of a parameter that does not identify the address becomes a
//! warning and its default, never a reason to keep a VIP up.

use super::raw::RawParams;
use super::{spec, values};
use crate::error::{AgentError, AgentResult};
use crate::ocf::log::printable;

/// How strictly to treat bad values of parameters an action does not need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strictness {
    /// Every parameter must be valid (start, monitor, validate-all).
    Strict,
    /// Only what identifies the address must be valid (stop, the background
    /// announcer): a typo in `arp_count` must never keep a VIP from being released.
    Lenient,
}

/// Parameter values read for one action, and the warnings reading produced.
pub(super) struct Reader<'a> {
    raw: &'a RawParams,
    strictness: Strictness,
    pub warnings: Vec<String>,
}

impl<'a> Reader<'a> {
    pub fn new(raw: &'a RawParams, strictness: Strictness) -> Reader<'a> {
        Reader { raw, strictness, warnings: Vec::new() }
    }

    /// The value given for `name` (empty counts as not given), or why it
    /// cannot be read.
    fn text(&self, name: &str) -> Result<Option<&'a str>, String> {
        if self.raw.is_not_utf8(name) {
            return Err(format!("the value of {name} is not valid UTF-8"));
        }
        Ok(self.raw.given(name))
    }

    /// A value that identifies the address (ip, nic, prefix, namespace, LVS
    /// settings): a bad one is an error whatever the strictness, since no
    /// action can tell which address it means.
    pub fn identity<T>(
        &mut self,
        name: &str,
        parse: impl FnOnce(Option<&'a str>) -> Result<T, String>,
    ) -> AgentResult<T> {
        self.text(name).and_then(parse).map_err(AgentError::configured)
    }

    /// A value the action may not need: in lenient mode a bad value becomes
    /// a warning and `fallback` is used instead.
    pub fn optional<T>(
        &mut self,
        name: &str,
        fallback: T,
        parse: impl FnOnce(Option<&'a str>) -> Result<T, String>,
    ) -> AgentResult<T> {
        match self.text(name).and_then(parse) {
            Ok(value) => Ok(value),
            Err(reason) if self.strictness == Strictness::Lenient => {
                self.warnings.push(format!("{reason} (ignored for this action)"));
                Ok(fallback)
            }
            Err(reason) => Err(AgentError::configured(reason)),
        }
    }

    /// `optional` for a value that always has one: the given one or the default.
    pub fn with_default<T>(
        &mut self,
        name: &str,
        fallback: T,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> AgentResult<T> {
        let default = spec::find(name).map(|p| p.default).unwrap_or("");
        self.optional(name, fallback, |given| parse(given.unwrap_or(default)))
    }

    /// A boolean as IPaddr2 reads it (anything not true is false, with a
    /// warning for spellings that are neither).
    pub fn flag(&mut self, name: &str) -> AgentResult<bool> {
        let default = spec::find(name).map(|p| p.default).unwrap_or("");
        let text = match self.text(name) {
            Ok(given) => given.unwrap_or(default),
            Err(reason) if self.strictness == Strictness::Lenient => {
                self.warnings.push(format!("{reason} (ignored for this action)"));
                default
            }
            Err(reason) => return Err(AgentError::configured(reason)),
        };
        let (value, warning) = values::boolean(name, text);
        self.warnings.extend(warning);
        Ok(value)
    }

    /// A boolean that identifies the address (LVS settings): never lenient.
    pub fn identity_flag(&mut self, name: &str) -> AgentResult<bool> {
        let default = spec::find(name).map(|p| p.default).unwrap_or("");
        let text = self.identity(name, |given| Ok(given.unwrap_or(default)))?;
        let (value, warning) = values::boolean(name, text);
        self.warnings.extend(warning);
        Ok(value)
    }

    /// A whole number in `min..=max`, its default when not given.
    pub fn integer(&mut self, name: &str, min: u64, max: u64) -> AgentResult<u64> {
        let fallback = spec::find(name).and_then(|p| p.default.parse().ok()).unwrap_or(min);
        self.with_default(name, fallback, |v| values::integer(name, v, min, max))
    }

    /// The raw value of a parameter that needs no parsing (its validity is
    /// checked by the caller), or `None`.
    pub fn given(&self, name: &str) -> Option<&'a str> {
        self.text(name).ok().flatten()
    }

    /// Records a warning about a value that is accepted as it is.
    pub fn warn(&mut self, warning: String) {
        self.warnings.push(warning);
    }
}

/// A reason naming an invalid value.
pub(super) fn invalid(name: &str, value: &str, expected: &str) -> String {
    format!("invalid {name} [{}]: expected {expected}", printable(value))
}
