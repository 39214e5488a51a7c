//! The one error type of the client.

use std::fmt;
use std::time::Duration;

pub use hw_api_gen::types::ErrorCode;

use crate::auth::AuthError;

/// Anything that can go wrong with a call. `Display` is one line for a person; URLs in it have
/// their SAS signatures and tokens redacted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client was configured wrongly (a bad URL, plain HTTP to a remote host, …).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The service could not be reached, or the connection broke.
    #[error("{operation}: cannot reach the service after {attempts} attempt(s): {message}")]
    Transport {
        /// The spec's operation id.
        operation: &'static str,
        /// How many attempts were made.
        attempts: u32,
        /// What went wrong.
        message: String,
    },
    /// The service did not answer in time.
    #[error("{operation}: timed out after {attempts} attempt(s): {message}")]
    Timeout {
        /// The spec's operation id.
        operation: &'static str,
        /// How many attempts were made.
        attempts: u32,
        /// What timed out.
        message: String,
    },
    /// No access token could be had.
    #[error("{operation}: {source}")]
    Auth {
        /// The spec's operation id.
        operation: &'static str,
        /// Why.
        #[source]
        source: AuthError,
    },
    /// The service answered with an error status.
    #[error("{0}")]
    Service(Box<ServiceError>),
    /// The response does not fit the API description.
    #[error("{operation}: the response does not fit the API description at `{path}`: {message}")]
    Decode {
        /// The spec's operation id.
        operation: &'static str,
        /// The HTTP status, where known.
        status: Option<u16>,
        /// The JSON path of the value that failed (`value[3].id`).
        path: String,
        /// What was wrong with it.
        message: String,
    },
    /// A request that is not safe to repeat failed after it was sent: it may or may not have been
    /// processed, so it was not sent again.
    #[error(
        "{operation}: outcome unknown — the request may have been processed, so it was not sent again; check before retrying ({source})"
    )]
    Ambiguous {
        /// The spec's operation id.
        operation: &'static str,
        /// The failure seen.
        #[source]
        source: Box<Error>,
    },
    /// A `next_link` pointed away from the API origin; following it would send the access token
    /// there.
    #[error(
        "{operation}: refusing to follow {url}: it is not on the API origin {origin}, the only place the access token may go"
    )]
    ForeignLink {
        /// The spec's operation id.
        operation: &'static str,
        /// The link, redacted.
        url: String,
        /// The API origin.
        origin: String,
    },
    /// An unclear create could not be settled by looking for what it would have made.
    #[error("{operation}: outcome unknown, and checking did not settle it: {checked} ({source})")]
    Unreconciled {
        /// The spec's operation id.
        operation: &'static str,
        /// What was checked, and what was found.
        checked: String,
        /// The failure of the create.
        #[source]
        source: Box<Error>,
    },
    /// Microsoft's processing of a submission or shipping label failed.
    #[error("{0}")]
    WorkflowFailed(Box<WorkflowFailure>),
    /// A wait ran past its deadline.
    #[error("gave up waiting for {what} after {} s{}", waited.as_secs(), last.as_deref().map(|s| format!(" (last seen: {s})")).unwrap_or_default())]
    WaitTimedOut {
        /// What was waited for.
        what: String,
        /// How long.
        waited: Duration,
        /// The last step and state seen.
        last: Option<String>,
    },
    /// A package transfer to or from blob storage failed.
    #[error("{0}")]
    Transfer(Box<crate::transfer::TransferError>),
    /// The request could not be built or was refused before it was sent.
    #[error("{operation}: the request was not sent: {message}")]
    InvalidRequest {
        /// The spec's operation id.
        operation: &'static str,
        /// Why.
        message: String,
    },
}

impl Error {
    /// The HTTP status of the response behind this error, if there was one.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Service(e) => Some(e.status),
            Error::Decode { status, .. } => *status,
            Error::Ambiguous { source, .. } => source.status(),
            _ => None,
        }
    }

    /// The service's error, if the service answered with one (also inside an ambiguous outcome).
    pub fn service(&self) -> Option<&ServiceError> {
        match self {
            Error::Service(e) => Some(e),
            Error::Ambiguous { source, .. } => source.service(),
            _ => None,
        }
    }

    /// The service's functional error code, if any.
    pub fn code(&self) -> Option<&ErrorCode> {
        self.service().and_then(|e| e.code.as_ref())
    }
}

/// A failed workflow: where it failed and what the service said.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct WorkflowFailure {
    /// What failed (`submission 1152921504621465124`).
    pub what: String,
    /// The commit status, for submissions.
    pub commit_status: Option<String>,
    /// The step that failed.
    pub step: Option<String>,
    /// The service's messages.
    pub messages: Vec<String>,
    /// The text of the error report, when there was one (bounded, redacted).
    pub error_report: Option<String>,
}

impl fmt::Display for WorkflowFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} failed", self.what)?;
        if let Some(step) = &self.step {
            write!(f, " at step {step}")?;
        }
        if let Some(status) = &self.commit_status {
            write!(f, " (commit status {status})")?;
        }
        if !self.messages.is_empty() {
            write!(
                f,
                ": {}",
                crate::redact::single_line(&self.messages.join("; "))
            )?;
        }
        if let Some(report) = &self.error_report {
            write!(f, " — error report: {}", crate::redact::single_line(report))?;
        }
        Ok(())
    }
}

impl std::error::Error for WorkflowFailure {}

/// One failed field of a validation error.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FieldError {
    /// The path of the field (`targetingInfo.chids`).
    pub target: Option<String>,
    /// Why it failed.
    pub message: Option<String>,
}

/// An error status from the service, with everything it said.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServiceError {
    /// The spec's operation id.
    pub operation: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// The functional error code (`entityNotFound`, …), compared case-insensitively.
    pub code: Option<ErrorCode>,
    /// The service's message.
    pub message: Option<String>,
    /// Field-level failures.
    pub validation_errors: Vec<FieldError>,
    /// The gateway's activity id, for support.
    pub activity_id: Option<String>,
    /// The request id from the response headers, for support.
    pub request_id: Option<String>,
    /// How long the service asked to wait before trying again.
    pub retry_after: Option<Duration>,
    /// A bounded, redacted excerpt of the body as received.
    pub body_excerpt: Option<String>,
    /// How many attempts were made.
    pub attempts: u32,
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: HTTP {}", self.operation, self.status)?;
        if let Some(code) = &self.code {
            write!(
                f,
                " {}",
                crate::redact::text(&crate::redact::single_line(code.as_str()))
            )?;
        }
        match &self.message {
            Some(message) => write!(f, ": {message}")?,
            None => {
                let reason = reqwest::StatusCode::from_u16(self.status)
                    .ok()
                    .and_then(|s| s.canonical_reason());
                if let Some(reason) = reason {
                    write!(f, ": {reason}")?;
                }
            }
        }
        let fields: Vec<String> = self
            .validation_errors
            .iter()
            .map(|v| {
                format!(
                    "{}: {}",
                    v.target.as_deref().unwrap_or("?"),
                    v.message.as_deref().unwrap_or("invalid")
                )
            })
            .collect();
        if !fields.is_empty() {
            write!(f, " [{}]", fields.join("; "))?;
        }
        let mut notes = Vec::new();
        if let Some(id) = &self.activity_id {
            notes.push(format!("activity id {id}"));
        }
        if let Some(id) = &self.request_id {
            notes.push(format!("request id {id}"));
        }
        if let Some(wait) = self.retry_after {
            notes.push(format!("retry after {} s", wait.as_secs_f32()));
        }
        if self.attempts > 1 {
            notes.push(format!("{} attempts", self.attempts));
        }
        if !notes.is_empty() {
            write!(f, " ({})", notes.join(", "))?;
        }
        Ok(())
    }
}

impl std::error::Error for ServiceError {}
