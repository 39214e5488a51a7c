//! What a check finds: a [`Finding`] with its [`Severity`], and the collector of one INF's.

use std::fmt;
use std::path::PathBuf;

/// How serious a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Severity {
    /// Worth knowing; the service accepts it.
    Warning,
    /// The service (or Windows) refuses it.
    Error,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Finding {
    /// How serious it is.
    pub severity: Severity,
    /// The file, relative to the folder checked.
    pub file: PathBuf,
    /// The line, when there is one.
    pub line: Option<usize>,
    /// The rule's id in the package rules (`V1`, `S5`, …).
    pub rule: &'static str,
    /// What is wrong, and what to do.
    pub message: String,
}

impl Finding {
    /// A finding of a rule checked outside a package: a pre-flight rule of a request, whose
    /// `file` names what it is about (`product 7`).
    pub fn new(
        severity: Severity,
        file: impl Into<PathBuf>,
        line: Option<usize>,
        rule: &'static str,
        message: String,
    ) -> Self {
        Self {
            severity,
            file: file.into(),
            line,
            rule,
            message,
        }
    }
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let severity = match self.severity {
            Severity::Warning => "warning",
            Severity::Error => "error",
        };
        write!(f, "{severity} {}", self.file.display())?;
        if let Some(line) = self.line {
            write!(f, ":{line}")?;
        }
        write!(f, " [{}] {}", self.rule, self.message)
    }
}

/// Findings of one INF.
pub(super) struct Findings {
    pub(super) file: PathBuf,
    pub(super) found: Vec<Finding>,
}

impl Findings {
    fn add(
        &mut self,
        severity: Severity,
        line: Option<usize>,
        rule: &'static str,
        message: String,
    ) {
        self.found.push(Finding {
            severity,
            file: self.file.clone(),
            line,
            rule,
            message,
        });
    }

    pub(super) fn error(&mut self, line: Option<usize>, rule: &'static str, message: String) {
        self.add(Severity::Error, line, rule, message);
    }

    pub(super) fn warning(&mut self, line: Option<usize>, rule: &'static str, message: String) {
        self.add(Severity::Warning, line, rule, message);
    }
}
