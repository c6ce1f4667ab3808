//! What the generator tells its user about the spec: repairs, guesses and skipped parts.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Something the generator did on its own that changes the output (a repair, a rename).
    Warning,
    /// Worth knowing, no action needed.
    Note,
    /// An entry of the overrides file that no longer fits the spec (its target is gone,
    /// upstream fixed it, or upstream changed it to something else): skipped, and an error
    /// under `regen --strict`.
    StaleOverride,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Diagnostic {
    pub severity: Severity,
    /// Where in the spec: a JSON pointer (`#/components/schemas/X/required`) or `line L, column C`.
    pub location: String,
    pub message: String,
}

impl Diagnostic {
    pub fn warning(location: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, location: location.into(), message: message.into() }
    }

    pub fn note(location: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Note, location: location.into(), message: message.into() }
    }

    pub fn stale_override(location: impl Into<String>, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::StaleOverride, location: location.into(), message: message.into() }
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let level = match self.severity {
            Severity::Warning => "warning",
            Severity::Note => "note",
            Severity::StaleOverride => "stale override",
        };
        write!(f, "{level}: {}: {}", self.location, self.message)
    }
}

/// Escapes one reference token of a JSON pointer (RFC 6901).
pub fn escape_pointer_token(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// `#/a/b` + `c/d` -> `#/a/b/c~1d`.
pub fn pointer_join(base: &str, token: &str) -> String {
    format!("{base}/{}", escape_pointer_token(token))
}
