//! How a failure ends the process: its exit code, and its description for a person or as JSON.

use hw_api::{Error, ErrorKind};

/// The version of the JSON hwdc prints (every result object, every list item, the error): a
/// change to their shape is additive, or this moves (CHANGELOG.md).
pub(crate) const SCHEMA_VERSION: u32 = 1;

use crate::config::ConfigError;

/// Why a command failed.
#[derive(Debug)]
pub(crate) enum Failure {
    /// The API client failed.
    Api(Error),
    /// The settings are wrong.
    Config(ConfigError),
    /// A local problem (a file, a check of ours), of the library's kinds.
    Local { kind: ErrorKind, message: String },
    /// Ctrl-C.
    Interrupted,
    /// Entries of a batch failed; the outcome is the most serious of theirs (the summary has
    /// each).
    Batch(Outcome),
    /// Not a failure: the flow stopped where `--until` asked, its journal kept; the result is
    /// on standard output.
    Pending,
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Api(e)
    }
}

impl From<ConfigError> for Failure {
    fn from(e: ConfigError) -> Self {
        Failure::Config(e)
    }
}

/// How a run of hwdc ends: one exit code per outcome, with its meaning. The `--help` text, the
/// README's table and a batch's worst entry all come from here.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Outcome {
    /// Everything asked was done.
    Success,
    /// A local error, or an answer a retry does not fix.
    Local,
    /// Bad flags or configuration.
    Usage,
    /// Signing in or a permission failed.
    Auth,
    /// Something named does not exist.
    NotFound,
    /// Refused by the service or by the package checks.
    Rejected,
    /// Microsoft's workflow failed.
    WorkflowFailed,
    /// A wait ran out of time.
    TimedOut,
    /// A create or commit may or may not have happened.
    Unclear,
    /// Stopped where `--until` asked; a later run continues.
    Pending,
    /// Failed after retries; a re-run resumes.
    Transient,
    /// Ctrl-C.
    Interrupted,
}

impl Outcome {
    /// Every outcome, in the order of their codes.
    pub(crate) const ALL: [Outcome; 12] = [
        Outcome::Success,
        Outcome::Local,
        Outcome::Usage,
        Outcome::Auth,
        Outcome::NotFound,
        Outcome::Rejected,
        Outcome::WorkflowFailed,
        Outcome::TimedOut,
        Outcome::Unclear,
        Outcome::Pending,
        Outcome::Transient,
        Outcome::Interrupted,
    ];

    /// The failures from most to least serious: what a person must look at first (an unclear
    /// outcome, a credential), then what the service or Microsoft refused, then local and
    /// transient failures, which a re-run may fix; last the entries stopped as asked.
    const SEVERITY: [Outcome; 11] = [
        Outcome::Unclear,
        Outcome::Auth,
        Outcome::WorkflowFailed,
        Outcome::Rejected,
        Outcome::NotFound,
        Outcome::Usage,
        Outcome::Local,
        Outcome::TimedOut,
        Outcome::Transient,
        Outcome::Interrupted,
        Outcome::Pending,
    ];

    /// The process's exit code.
    pub(crate) fn code(self) -> u8 {
        match self {
            Outcome::Success => 0,
            Outcome::Local => 1,
            Outcome::Usage => 2,
            Outcome::Auth => 3,
            Outcome::NotFound => 4,
            Outcome::Rejected => 5,
            Outcome::WorkflowFailed => 6,
            Outcome::TimedOut => 7,
            Outcome::Unclear => 8,
            Outcome::Pending => 9,
            Outcome::Transient => 75,
            Outcome::Interrupted => 130,
        }
    }

    /// What the code means to a person or a script.
    pub(crate) fn meaning(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Local => {
                "a local error (a file that cannot be read or written, an unexpected response, a server error a retry does not fix such as 501)"
            }
            Outcome::Usage => {
                "usage or configuration error (bad flags or settings; a server certificate not trusted here, as on a network that inspects TLS; a proxy that refuses the credentials or the destination, or cannot be reached): the message says what to change; a re-run as it is fails the same way"
            }
            Outcome::Auth => "authentication or permission failure",
            Outcome::NotFound => "not found",
            Outcome::Rejected => {
                "rejected by the service (a validation or state rule), or by `check` or `package`"
            }
            Outcome::WorkflowFailed => "the submission's or label's workflow failed",
            Outcome::TimedOut => "a wait timed out",
            Outcome::Unclear => {
                "outcome unknown: a create or commit may or may not have happened and checking did not settle it; the message (and `candidates` in JSON) lists the candidate ids when there are any, and what to do; look before running again (`submit --submission ID` continues with the one you keep)"
            }
            Outcome::Pending => {
                "pending: `submit --until` (or `batch --until`) stopped where it was asked to; the journal is kept, and `submit` run again with it (in a later job, from another folder with `--state`) continues"
            }
            Outcome::Transient => {
                "transient failure after retries (throttling, outages, a token endpoint outage, an expired or refused SAS URL, a download that failed its MD5 check): a re-run is safe and resumes"
            }
            Outcome::Interrupted => {
                "interrupted (Ctrl-C or Ctrl-Break); re-run upload, download, submit or batch to resume"
            }
        }
    }

    /// The outcome of an API failure of `kind`; `None` for a kind this version of hwdc does
    /// not know yet, which a test rules out for every kind hw-api has.
    pub(crate) fn of(kind: ErrorKind) -> Option<Outcome> {
        Some(match kind {
            ErrorKind::Config | ErrorKind::Certificate | ErrorKind::Proxy => Outcome::Usage,
            ErrorKind::Auth => Outcome::Auth,
            ErrorKind::NotFound => Outcome::NotFound,
            ErrorKind::Rejected => Outcome::Rejected,
            ErrorKind::WorkflowFailed => Outcome::WorkflowFailed,
            ErrorKind::TimedOut => Outcome::TimedOut,
            // A re-run is safe and resumes: uploads and downloads continue, a refused SAS URL
            // is read afresh from the submission, a download that failed its check starts over.
            ErrorKind::Throttled
            | ErrorKind::Transient
            | ErrorKind::Integrity
            | ErrorKind::StorageRefused => Outcome::Transient,
            // A person must look first: the message lists the candidates.
            ErrorKind::Ambiguous => Outcome::Unclear,
            ErrorKind::LocalIo | ErrorKind::InvalidResponse | ErrorKind::Server => Outcome::Local,
            _ => return None,
        })
    }

    /// The most serious of `outcomes`: a batch's, whose entries ended so; success when none
    /// failed.
    pub(crate) fn worst(outcomes: impl IntoIterator<Item = Outcome>) -> Outcome {
        outcomes
            .into_iter()
            .filter(|o| *o != Outcome::Success)
            .min_by_key(|o| Self::SEVERITY.iter().position(|s| s == o))
            .unwrap_or(Outcome::Success)
    }

    /// The exit codes as `--help` lists them.
    pub(crate) fn help() -> String {
        let mut text = String::from("Exit codes:\n");
        for outcome in Self::ALL {
            text.push_str(&format!("  {:<4}{}\n", outcome.code(), outcome.meaning()));
        }
        let order: Vec<String> = Self::SEVERITY
            .iter()
            .map(|o| o.code().to_string())
            .collect();
        text.push_str(&format!(
            "batch exits 0 when every entry succeeded or was skipped, else with the most serious entry's code: {}",
            order.join(", ")
        ));
        text
    }

    /// The exit codes as the README's table (Markdown).
    #[cfg(test)]
    fn table() -> String {
        let mut text = String::from("| exit code | meaning |\n|---|---|\n");
        for outcome in Self::ALL {
            text.push_str(&format!("| {} | {} |\n", outcome.code(), outcome.meaning()));
        }
        text
    }
}

impl Failure {
    /// How the run ends.
    pub(crate) fn outcome(&self) -> Outcome {
        match self {
            Failure::Config(_) => Outcome::Usage,
            Failure::Interrupted => Outcome::Interrupted,
            Failure::Batch(outcome) => *outcome,
            Failure::Pending => Outcome::Pending,
            Failure::Local { kind, .. } => Outcome::of(*kind).unwrap_or(Outcome::Local),
            Failure::Api(e) => Outcome::of(e.kind()).unwrap_or(Outcome::Local),
        }
    }

    /// The exit code.
    pub(crate) fn code(&self) -> u8 {
        self.outcome().code()
    }

    /// One line for a person.
    pub(crate) fn message(&self) -> String {
        match self {
            Failure::Api(e) => hw_api::Report::new(e).to_string(),
            Failure::Config(e) => e.to_string(),
            Failure::Local { message, .. } => message.clone(),
            Failure::Interrupted => "interrupted; re-run the command to resume".into(),
            Failure::Batch(_) => {
                "entries of the batch failed (the summary says which and why); re-run it to resume the unfinished ones".into()
            }
            Failure::Pending => {
                "stopped where --until asked; run it again with the same journal to continue".into()
            }
        }
    }

    /// The library's word for the kind of failure (`ErrorKind`), or hwdc's where the
    /// library has none.
    fn kind(&self) -> &'static str {
        match self {
            Failure::Config(_) => ErrorKind::Config.as_str(),
            Failure::Interrupted => "interrupted",
            Failure::Batch(_) => "batch",
            Failure::Pending => "pending",
            Failure::Local { kind, .. } => kind.as_str(),
            Failure::Api(e) => e.kind().as_str(),
        }
    }

    /// Which failure it is, in the library's words (`Error::name`) or hwdc's.
    fn name(&self) -> &'static str {
        match self {
            Failure::Config(_) => "settings",
            Failure::Interrupted => "interrupted",
            Failure::Batch(_) => "batch",
            Failure::Pending => "pending",
            Failure::Local { .. } => "local",
            Failure::Api(e) => e.name(),
        }
    }

    /// The JSON description: kind, name, message, exit code, status, the service's code,
    /// activity and request ids, candidates.
    pub(crate) fn json(&self) -> ErrorObject {
        let service = match self {
            Failure::Api(e) => e.service(),
            _ => None,
        };
        ErrorObject {
            schema_version: SCHEMA_VERSION,
            kind: self.kind().to_owned(),
            name: self.name().to_owned(),
            message: self.message(),
            exit_code: self.code(),
            status: match self {
                Failure::Api(e) => e.status(),
                _ => None,
            },
            code: service
                .and_then(|s| s.code.as_ref())
                .map(ToString::to_string),
            activity_id: service.and_then(|s| s.activity_id.clone()),
            request_id: service.and_then(|s| s.request_id.clone()),
            candidates: match self {
                Failure::Api(e) => e.candidates().iter().map(|id| id.get()).collect(),
                _ => Vec::new(),
            },
            detail: None,
        }
    }
}

/// A failure, as `--output json` writes it to standard error: `{"error": {…}}`.
#[derive(serde::Serialize, schemars::JsonSchema)]
pub(crate) struct ErrorEnvelope {
    /// The failure.
    pub error: ErrorObject,
}

/// A failure.
#[derive(serde::Serialize, schemars::JsonSchema, Clone, Debug)]
pub(crate) struct ErrorObject {
    /// The version of the shape.
    pub schema_version: u32,
    /// Its class (`auth`, `not_found`, `rejected`, `transient`, …: the library's `ErrorKind`).
    pub kind: String,
    /// Which failure it is (the library's error name, or hwdc's: `usage`, `settings`, …).
    pub name: String,
    /// What happened and what to do.
    pub message: String,
    /// The process's exit code.
    pub exit_code: u8,
    /// The HTTP status, when the service answered.
    pub status: Option<u16>,
    /// The service's error code.
    pub code: Option<String>,
    /// The service's activity id, for a support request.
    pub activity_id: Option<String>,
    /// The service's request id.
    pub request_id: Option<String>,
    /// The ids an unclear create may have made (exit 8).
    pub candidates: Vec<u64>,
    /// For a usage error: clap's class of it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_outcome() {
        for kind in ErrorKind::ALL {
            assert!(
                Outcome::of(kind).is_some(),
                "hwdc has no exit code for {kind}: add it to `Outcome::of`"
            );
        }
    }

    #[test]
    fn codes_are_distinct_and_every_failure_has_a_severity() {
        let codes: std::collections::BTreeSet<u8> = Outcome::ALL.iter().map(|o| o.code()).collect();
        assert_eq!(codes.len(), Outcome::ALL.len());
        for outcome in &Outcome::ALL[1..] {
            assert!(Outcome::SEVERITY.contains(outcome), "{outcome:?}");
        }
    }

    #[test]
    fn the_most_serious_outcome_wins() {
        use Outcome::*;
        assert_eq!(Outcome::worst([Success, Success]), Success);
        assert_eq!(Outcome::worst([]), Success);
        assert_eq!(Outcome::worst([Transient, Success, Rejected]), Rejected);
        assert_eq!(Outcome::worst([Local, Unclear, Auth]), Unclear);
        assert_eq!(Outcome::worst([Interrupted, Transient]), Transient);
        assert_eq!(Outcome::worst([TimedOut, Local]), Local);
        assert_eq!(
            Outcome::worst([WorkflowFailed, Rejected, NotFound]),
            WorkflowFailed
        );
        assert_eq!(Outcome::worst([Usage, NotFound]), NotFound);
        assert_eq!(Outcome::worst([Pending, Success]), Pending);
        assert_eq!(Outcome::worst([Pending, Interrupted]), Interrupted);
    }

    /// The README's table of exit codes is this type's, word for word.
    #[test]
    fn the_readme_lists_the_exit_codes_of_this_type() {
        let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md");
        let readme = std::fs::read_to_string(readme)
            .unwrap()
            .replace("\r\n", "\n");
        let table = Outcome::table();
        if std::env::var_os("HWDC_PRINT_TABLE").is_some() {
            println!("{table}");
        }
        assert!(
            readme.contains(&table),
            "the README's table differs from:\n{table}"
        );
        let order = Outcome::help().rsplit(": ").next().unwrap().to_owned();
        assert!(
            readme.contains(&format!("in this order:\n  {order} (")),
            "the README's batch order differs from {order}"
        );
    }

    #[test]
    fn the_help_lists_every_code_with_its_meaning() {
        let help = Outcome::help();
        for outcome in Outcome::ALL {
            assert!(
                help.contains(&format!("  {:<4}{}", outcome.code(), outcome.meaning())),
                "{help}"
            );
        }
        assert!(
            help.ends_with("code: 8, 3, 6, 5, 4, 2, 1, 7, 75, 130, 9"),
            "{help}"
        );
    }
}
