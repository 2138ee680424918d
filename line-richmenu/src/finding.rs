//! One problem a validator found, at one place: what every error of the crate can carry.

use std::fmt;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Severity {
    /// LINE would reject it, or it cannot work.
    Error,
    /// Allowed, but probably a mistake.
    Warning,
}

/// One problem, at one place.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Finding {
    /// Error or warning.
    pub severity: Severity,
    /// JSON pointer of the place in the definition.
    pub place: String,
    /// What is wrong, in lowercase.
    pub message: String,
}

impl Finding {
    /// An error at `place`.
    pub fn error(place: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            place: place.into(),
            message: message.into(),
        }
    }

    /// A warning at `place`.
    pub fn warning(place: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            place: place.into(),
            message: message.into(),
        }
    }

    /// Whether this is an error.
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// `error|warning<TAB>place<TAB>message`, the format of `linectl` validators.
impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sev = match self.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let place = if self.place.is_empty() { "/" } else { &self.place };
        write!(f, "{sev}\t{place}\t{}", self.message)
    }
}
