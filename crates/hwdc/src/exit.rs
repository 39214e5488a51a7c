//! How a failure ends the process: its exit code, and its description for a person or as JSON.

use hw_api::{Error, ErrorKind};
use serde_json::{Value, json};

use crate::config::ConfigError;

/// Why a command failed.
#[derive(Debug)]
pub enum Failure {
    /// The API client failed.
    Api(Error),
    /// The settings are wrong.
    Config(ConfigError),
    /// A local problem (a file, a check of ours).
    Local { kind: &'static str, message: String },
    /// Ctrl-C.
    Interrupted,
    /// Entries of a batch failed; the code is the most serious of theirs (the summary has
    /// each).
    Batch(u8),
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

/// The exit code of each kind of API failure (see `cli::EXIT_CODES`); `None` for a kind this
/// version of hwdc does not know yet, which a test rules out for every kind hw-api has.
fn exit_code(kind: ErrorKind) -> Option<u8> {
    Some(match kind {
        ErrorKind::Config => 2,
        ErrorKind::Auth => 3,
        ErrorKind::NotFound => 4,
        ErrorKind::Rejected => 5,
        ErrorKind::WorkflowFailed => 6,
        ErrorKind::TimedOut => 7,
        // A re-run is safe and resumes: uploads and downloads continue, a refused SAS URL is
        // read afresh from the submission, a download that failed its check starts over.
        ErrorKind::Throttled
        | ErrorKind::Transient
        | ErrorKind::Integrity
        | ErrorKind::StorageRefused => 75,
        // A person must look first: the message lists the candidates.
        ErrorKind::Ambiguous => 8,
        ErrorKind::LocalIo | ErrorKind::InvalidResponse | ErrorKind::Server => 1,
        _ => return None,
    })
}

impl Failure {
    /// The exit code (see `cli::EXIT_CODES`).
    pub fn code(&self) -> u8 {
        match self {
            Failure::Config(_) => 2,
            Failure::Interrupted => 130,
            Failure::Batch(code) => *code,
            Failure::Local { kind: "usage", .. } => 2,
            Failure::Local {
                kind: "not_found", ..
            } => 4,
            Failure::Local {
                kind: "check_failed",
                ..
            } => 5,
            Failure::Local { .. } => 1,
            Failure::Api(e) => exit_code(e.kind()).unwrap_or(1),
        }
    }

    /// One line for a person.
    pub fn message(&self) -> String {
        match self {
            Failure::Api(e) => hw_api::chain(e),
            Failure::Config(e) => e.to_string(),
            Failure::Local { message, .. } => message.clone(),
            Failure::Interrupted => "interrupted; re-run the command to resume".into(),
            Failure::Batch(_) => {
                "entries of the batch failed (the summary says which and why); re-run it to resume the unfinished ones".into()
            }
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Failure::Config(_) => "config",
            Failure::Interrupted => "interrupted",
            Failure::Batch(_) => "batch",
            Failure::Local { kind, .. } => kind,
            Failure::Api(e) => e.name(),
        }
    }

    /// The JSON description: kind, message, status, code, activity and request ids.
    pub fn json(&self) -> Value {
        let service = match self {
            Failure::Api(e) => e.service(),
            _ => None,
        };
        json!({
            "kind": self.kind(),
            "class": match self { Failure::Api(e) => Some(e.kind().as_str()), _ => None },
            "message": self.message(),
            "exit_code": self.code(),
            "status": match self { Failure::Api(e) => e.status(), _ => None },
            "code": service.and_then(|s| s.code.as_ref()).map(ToString::to_string),
            "activity_id": service.and_then(|s| s.activity_id.clone()),
            "request_id": service.and_then(|s| s.request_id.clone()),
            "candidates": match self {
                Failure::Api(e) => e.candidates().iter().map(|id| id.get()).collect::<Vec<_>>(),
                _ => Vec::new(),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_exit_code() {
        for kind in ErrorKind::ALL {
            assert!(
                exit_code(kind).is_some(),
                "hwdc has no exit code for {kind}: add it to `exit_code` and `cli::EXIT_CODES`"
            );
        }
    }
}
