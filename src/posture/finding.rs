//! What a rule found: its status, what it checked, what it expected and what
//! it saw, in words a person can act on.

use serde::{Deserialize, Serialize};

/// How much a rule matters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Hardening with little direct risk.
    Low,
    /// The default.
    Medium,
    /// A direct path to compromise.
    High,
    /// Compromise as it stands.
    Critical,
}

impl Severity {
    /// Parse `low`, `medium`, `high` or `critical`.
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }

    /// The lowercase word.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// The outcome of one rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    /// The system meets the rule.
    Compliant,
    /// It does not.
    NonCompliant,
    /// The rule does not apply (an optional file is not there, no sshd).
    NotApplicable,
    /// The rule could not be evaluated (a file could not be read).
    Error,
}

impl Status {
    /// The word shown in tables and logs.
    pub fn word(self) -> &'static str {
        match self {
            Status::Compliant => "COMPLIANT",
            Status::NonCompliant => "NON-COMPLIANT",
            Status::NotApplicable => "N/A",
            Status::Error => "ERROR",
        }
    }

    /// The snake_case name used in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Compliant => "compliant",
            Status::NonCompliant => "non_compliant",
            Status::NotApplicable => "not_applicable",
            Status::Error => "error",
        }
    }
}

/// What one evaluation of a rule found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// The outcome.
    pub status: Status,
    /// What was expected, e.g. `at most 0644 root:root`.
    pub expected: String,
    /// What was found, e.g. `0666 root:root`.
    pub found: String,
}

impl Finding {
    /// A finding of `status`.
    pub fn new(status: Status, expected: impl Into<String>, found: impl Into<String>) -> Finding {
        Finding {
            status,
            expected: expected.into(),
            found: found.into(),
        }
    }

    /// Compliant when `ok`, else not.
    pub fn judge(ok: bool, expected: impl Into<String>, found: impl Into<String>) -> Finding {
        let status = if ok {
            Status::Compliant
        } else {
            Status::NonCompliant
        };
        Finding::new(status, expected, found)
    }

    /// A rule that could not be evaluated.
    pub fn error(expected: impl Into<String>, why: impl std::fmt::Display) -> Finding {
        Finding::new(Status::Error, expected, why.to_string())
    }

    /// One line: `expected X, found Y` when not compliant, `found Y` otherwise.
    pub fn reason(&self) -> String {
        match self.status {
            Status::NonCompliant => format!("expected {}, found {}", self.expected, self.found),
            Status::Error => format!("cannot check: {}", self.found),
            _ => self.found.clone(),
        }
    }
}
