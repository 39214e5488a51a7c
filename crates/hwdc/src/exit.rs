//! How a failure ends the process: its exit code, and its description for a person or as JSON.

use hw_api::Error;
use hw_api::auth::AuthError;
use hw_api::transfer::TransferError;
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

fn by_status(status: u16) -> u8 {
    match status {
        401 | 403 => 3,
        404 => 4,
        408 | 429 | 500..=599 => 75,
        _ => 5,
    }
}

impl Failure {
    /// The exit code (see `cli::EXIT_CODES`).
    pub fn code(&self) -> u8 {
        match self {
            Failure::Config(_) => 2,
            Failure::Interrupted => 130,
            Failure::Local { kind: "usage", .. } => 2,
            Failure::Local {
                kind: "not_found", ..
            } => 4,
            Failure::Local { .. } => 1,
            Failure::Api(e) => match e {
                Error::Config(_) => 2,
                Error::Auth { source, .. } => match source {
                    AuthError::Transport { .. } => 75,
                    AuthError::Rejected(r) if r.status == 429 || r.status >= 500 => 75,
                    _ => 3,
                },
                Error::Service(s) => by_status(s.status),
                Error::Transport { .. }
                | Error::Timeout { .. }
                | Error::Ambiguous { .. }
                | Error::Unreconciled { .. } => 75,
                Error::InvalidRequest { .. } => 5,
                Error::WorkflowFailed(_) => 6,
                Error::WaitTimedOut { .. } => 7,
                Error::Transfer(t) => match &**t {
                    TransferError::Sas { .. } | TransferError::TooLarge(_) => 5,
                    TransferError::Refused { status, .. } => by_status(*status),
                    // A re-run downloads again from the start.
                    TransferError::Transport { .. } | TransferError::Integrity { .. } => 75,
                    _ => 1,
                },
                _ => 1,
            },
        }
    }

    /// One line for a person.
    pub fn message(&self) -> String {
        match self {
            Failure::Api(e) => e.to_string(),
            Failure::Config(e) => e.to_string(),
            Failure::Local { message, .. } => message.clone(),
            Failure::Interrupted => "interrupted; re-run the command to resume".into(),
        }
    }

    fn kind(&self) -> &'static str {
        match self {
            Failure::Config(_) => "config",
            Failure::Interrupted => "interrupted",
            Failure::Local { kind, .. } => kind,
            Failure::Api(e) => match e {
                Error::Config(_) => "config",
                Error::Auth { .. } => "auth",
                Error::Service(_) => "service",
                Error::Transport { .. } => "transport",
                Error::Timeout { .. } => "timeout",
                Error::Decode { .. } => "decode",
                Error::Ambiguous { .. } => "ambiguous",
                Error::Unreconciled { .. } => "unreconciled",
                Error::ForeignLink { .. } => "foreign_link",
                Error::InvalidRequest { .. } => "invalid_request",
                Error::WorkflowFailed(_) => "workflow_failed",
                Error::WaitTimedOut { .. } => "wait_timed_out",
                Error::Transfer(_) => "transfer",
                _ => "other",
            },
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
            "message": self.message(),
            "exit_code": self.code(),
            "status": match self { Failure::Api(e) => e.status(), _ => None },
            "code": service.and_then(|s| s.code.as_ref()).map(ToString::to_string),
            "activity_id": service.and_then(|s| s.activity_id.clone()),
            "request_id": service.and_then(|s| s.request_id.clone()),
        })
    }
}
