//! The client's errors, at the bottom of its modules (each module above may use them, they use
//! none of those): the one [`Error`] type, what [kind](ErrorKind) of failure each is, and the
//! errors of the token endpoint ([`AuthError`]) and of blob storage ([`TransferError`]) that it
//! carries.

mod auth;
mod kind;
mod network;
mod network_path;
mod transfer;

use std::fmt;
use std::time::Duration;

pub use auth::{AuthError, TokenEndpointError};
use hw_api_gen::types::ErrorCode;
pub use kind::ErrorKind;
pub use network::NetworkError;
pub use network_path::NetworkProblem;
pub use transfer::TransferError;

pub(crate) use crate::report::chain;

/// Anything that can go wrong with a call. `Display` is one line for a person; URLs in it have
/// their SAS signatures and tokens redacted.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The client was configured wrongly (a bad URL, plain HTTP to a remote host, …).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The service could not be reached, or the connection broke.
    #[error("{operation}: cannot reach the service after {attempts} attempt(s)")]
    Transport {
        /// The spec's operation id.
        operation: &'static str,
        /// How many attempts were made.
        attempts: u32,
        /// What went wrong.
        #[source]
        source: NetworkError,
    },
    /// The service did not answer in time.
    #[error("{operation}: timed out after {attempts} attempt(s)")]
    Timeout {
        /// The spec's operation id.
        operation: &'static str,
        /// How many attempts were made.
        attempts: u32,
        /// What timed out.
        #[source]
        source: NetworkError,
    },
    /// No access token could be had.
    #[error("{operation}: no access token")]
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
        "{operation}: outcome unknown — the request may have been processed, so it was not sent again; check before retrying"
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
    /// A list cannot be read to its end: the service repeated a `next_link` (the list would
    /// never end) or sent more pages than the cap. Returned instead of a truncated list.
    #[error("{operation}: the list cannot be read to its end: {problem} ({url})")]
    Paging {
        /// The spec's operation id.
        operation: &'static str,
        /// The link that was not followed, redacted.
        url: String,
        /// What is wrong with it.
        problem: String,
    },
    /// An unclear create could not be settled by looking for what it would have made: a person
    /// must look at the candidates (none, or several) before anything is sent again.
    #[error(
        "{operation}: outcome unknown, and checking did not settle it: {checked}{}",
        candidates_note(candidates)
    )]
    Unreconciled {
        /// The spec's operation id.
        operation: &'static str,
        /// What was checked, and what was found.
        checked: String,
        /// The ids that could be what the request made (none when nothing new was found).
        candidates: Vec<hw_api_gen::Id>,
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
    #[error(transparent)]
    Transfer(Box<TransferError>),
    /// The request could not be built or was refused before it was sent.
    #[error("{operation}: the request was not sent: {message}")]
    InvalidRequest {
        /// The spec's operation id.
        operation: &'static str,
        /// Why.
        message: String,
    },
    /// A flow's saved state does not belong to this work (another package, another account,
    /// another submission name, a newer format): it is not used, and nothing was sent.
    #[error("{0}")]
    StateMismatch(String),
    /// Another run holds the lock of the flow's state: two runs never work from one journal.
    #[error("{0}")]
    StateLocked(String),
    /// A local file (a package, a state file) could not be read or written.
    #[error("{}", path.display())]
    Local {
        /// The file.
        path: std::path::PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
}

/// How a person continues after an unclear outcome with these candidates.
fn candidates_note(candidates: &[hw_api_gen::Id]) -> String {
    if candidates.is_empty() {
        return String::new();
    }
    let ids: Vec<String> = candidates.iter().map(ToString::to_string).collect();
    format!(
        "; candidates: {}: keep the right one (continue with its id) and delete the others in Partner Center",
        ids.join(", ")
    )
}

impl Error {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Config(_) => ErrorKind::Config,
            Error::Transport { source, .. } => source.kind(),
            Error::Timeout { .. } => ErrorKind::Transient,
            Error::Auth { source, .. } => source.kind(),
            Error::Service(e) => ErrorKind::of_status(e.status),
            Error::Decode { .. } | Error::ForeignLink { .. } | Error::Paging { .. } => {
                ErrorKind::InvalidResponse
            }
            Error::Ambiguous { .. } | Error::Unreconciled { .. } => ErrorKind::Ambiguous,
            Error::WorkflowFailed(_) => ErrorKind::WorkflowFailed,
            Error::WaitTimedOut { .. } => ErrorKind::TimedOut,
            Error::Transfer(e) => e.kind(),
            Error::InvalidRequest { .. } => ErrorKind::Rejected,
            Error::StateMismatch(_) => ErrorKind::Config,
            Error::StateLocked(_) => ErrorKind::Transient,
            Error::Local { .. } => ErrorKind::LocalIo,
        }
    }

    /// Whether the same call may succeed if it is made again later, as it is: throttling,
    /// outages, network failures and integrity failures (a download starts over). An
    /// [`ambiguous`](ErrorKind::Ambiguous) outcome is not: check what happened first.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self.kind(),
            ErrorKind::Throttled | ErrorKind::Transient | ErrorKind::Integrity
        )
    }

    /// The variant as a stable snake_case word (`service`, `transport`, …): where the failure
    /// was seen, as [`kind`](Self::kind) says what it means.
    pub fn name(&self) -> &'static str {
        match self {
            Error::Config(_) => "config",
            Error::Transport { .. } => "transport",
            Error::Timeout { .. } => "timeout",
            Error::Auth { .. } => "auth",
            Error::Service(_) => "service",
            Error::Decode { .. } => "decode",
            Error::Ambiguous { .. } => "ambiguous",
            Error::ForeignLink { .. } => "foreign_link",
            Error::Paging { .. } => "paging",
            Error::Unreconciled { .. } => "unreconciled",
            Error::WorkflowFailed(_) => "workflow_failed",
            Error::WaitTimedOut { .. } => "wait_timed_out",
            Error::Transfer(_) => "transfer",
            Error::InvalidRequest { .. } => "invalid_request",
            Error::StateMismatch(_) => "state_mismatch",
            Error::StateLocked(_) => "state_locked",
            Error::Local { .. } => "local",
        }
    }

    /// The ids that could be what an unsettled create made ([`Error::Unreconciled`]).
    pub fn candidates(&self) -> &[hw_api_gen::Id] {
        match self {
            Error::Unreconciled { candidates, .. } => candidates,
            _ => &[],
        }
    }

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_lists_every_kind_once() {
        // An exhaustive match: a new kind does not compile until it is placed here, and then
        // the check below fails until it is in `ALL`.
        let position = |kind: ErrorKind| match kind {
            ErrorKind::Config => 0,
            ErrorKind::Auth => 1,
            ErrorKind::NotFound => 2,
            ErrorKind::Rejected => 3,
            ErrorKind::Throttled => 4,
            ErrorKind::Transient => 5,
            ErrorKind::Server => 6,
            ErrorKind::Ambiguous => 7,
            ErrorKind::WorkflowFailed => 8,
            ErrorKind::TimedOut => 9,
            ErrorKind::Integrity => 10,
            ErrorKind::LocalIo => 11,
            ErrorKind::StorageRefused => 12,
            ErrorKind::InvalidResponse => 13,
            ErrorKind::Certificate => 14,
            ErrorKind::Proxy => 15,
        };
        for (i, kind) in ErrorKind::ALL.into_iter().enumerate() {
            assert_eq!(position(kind), i, "{kind}");
        }
        let names: std::collections::HashSet<_> =
            ErrorKind::ALL.iter().map(|k| k.as_str()).collect();
        assert_eq!(names.len(), ErrorKind::ALL.len());
    }

    fn service(status: u16) -> Error {
        Error::Service(Box::new(crate::decode::service_error(
            "getProduct",
            1,
            status,
            &Default::default(),
            b"",
        )))
    }

    fn transfer(e: TransferError) -> Error {
        Error::Transfer(Box::new(e))
    }

    fn rejected_token(status: u16) -> Error {
        Error::Auth {
            operation: "getProduct",
            source: AuthError::Rejected(Box::new(TokenEndpointError {
                status,
                ..TokenEndpointError::default()
            })),
        }
    }

    #[test]
    fn every_variant_knows_its_kind() {
        let network = || NetworkError::other("connection reset");
        let io = || std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let refused = |status| TransferError::Refused {
            operation: "putBlock",
            url: "https://blob.test/x".into(),
            status,
            code: None,
            message: None,
            request_id: None,
        };
        let workflow = WorkflowFailure {
            what: "submission 1".into(),
            commit_status: None,
            step: None,
            messages: vec![],
            error_report: None,
        };
        let mut cases: Vec<(Error, ErrorKind, bool)> = vec![
            (Error::Config("bad".into()), ErrorKind::Config, false),
            (
                Error::Transport {
                    operation: "getProduct",
                    attempts: 3,
                    source: network(),
                },
                ErrorKind::Transient,
                true,
            ),
            (
                Error::Timeout {
                    operation: "getProduct",
                    attempts: 3,
                    source: network(),
                },
                ErrorKind::Transient,
                true,
            ),
            (
                Error::Auth {
                    operation: "getProduct",
                    source: AuthError::Transport(network()),
                },
                ErrorKind::Transient,
                true,
            ),
            (rejected_token(400), ErrorKind::Auth, false),
            (rejected_token(429), ErrorKind::Throttled, true),
            (rejected_token(503), ErrorKind::Transient, true),
            (rejected_token(501), ErrorKind::Auth, false),
            (
                Error::Auth {
                    operation: "getProduct",
                    source: AuthError::Provider("no".into()),
                },
                ErrorKind::Auth,
                false,
            ),
            (service(400), ErrorKind::Rejected, false),
            (service(401), ErrorKind::Auth, false),
            (service(403), ErrorKind::Auth, false),
            (service(404), ErrorKind::NotFound, false),
            (service(409), ErrorKind::Rejected, false),
            (service(422), ErrorKind::Rejected, false),
            (service(429), ErrorKind::Throttled, true),
            (service(408), ErrorKind::Transient, true),
            (service(500), ErrorKind::Transient, true),
            (service(503), ErrorKind::Transient, true),
            (service(501), ErrorKind::Server, false),
            (
                Error::Decode {
                    operation: "getProduct",
                    status: Some(200),
                    path: "id".into(),
                    message: "bad".into(),
                },
                ErrorKind::InvalidResponse,
                false,
            ),
            (
                Error::Ambiguous {
                    operation: "createProduct",
                    source: Box::new(service(500)),
                },
                ErrorKind::Ambiguous,
                false,
            ),
            (
                Error::ForeignLink {
                    operation: "listProducts",
                    url: "https://elsewhere.test/".into(),
                    origin: "https://api.test".into(),
                },
                ErrorKind::InvalidResponse,
                false,
            ),
            (
                Error::Paging {
                    operation: "listProducts",
                    url: "https://api.test/p".into(),
                    problem: "repeated".into(),
                },
                ErrorKind::InvalidResponse,
                false,
            ),
            (
                Error::Unreconciled {
                    operation: "createProduct",
                    checked: "two".into(),
                    candidates: vec![hw_api_gen::Id(1), hw_api_gen::Id(2)],
                    source: Box::new(service(500)),
                },
                ErrorKind::Ambiguous,
                false,
            ),
            (
                Error::WorkflowFailed(Box::new(workflow)),
                ErrorKind::WorkflowFailed,
                false,
            ),
            (
                Error::WaitTimedOut {
                    what: "submission 1".into(),
                    waited: Duration::from_secs(1),
                    last: None,
                },
                ErrorKind::TimedOut,
                false,
            ),
            (
                transfer(TransferError::Sas {
                    url: "u".into(),
                    problem: "expired".into(),
                }),
                ErrorKind::Rejected,
                false,
            ),
            (transfer(refused(403)), ErrorKind::StorageRefused, false),
            (transfer(refused(401)), ErrorKind::StorageRefused, false),
            (
                transfer(TransferError::Refused {
                    operation: "putBlock",
                    url: "https://blob.test/x".into(),
                    status: 403,
                    code: Some("AuthorizationPermissionMismatch".into()),
                    message: None,
                    request_id: None,
                }),
                ErrorKind::Rejected,
                false,
            ),
            (
                transfer(TransferError::Expired {
                    url: "https://blob.test/x".into(),
                    expiry: "2001-01-01".into(),
                }),
                ErrorKind::StorageRefused,
                false,
            ),
            (transfer(refused(500)), ErrorKind::Transient, true),
            (transfer(refused(400)), ErrorKind::Rejected, false),
            (
                transfer(TransferError::Transport {
                    operation: "getBlob",
                    url: "u".into(),
                    attempts: 2,
                    source: network(),
                }),
                ErrorKind::Transient,
                true,
            ),
            (
                transfer(TransferError::File {
                    path: "driver.cab".into(),
                    source: io(),
                }),
                ErrorKind::LocalIo,
                false,
            ),
            (
                transfer(TransferError::Integrity {
                    what: "x".into(),
                    message: "MD5".into(),
                }),
                ErrorKind::Integrity,
                true,
            ),
            (
                transfer(TransferError::TooLarge("big".into())),
                ErrorKind::Rejected,
                false,
            ),
            (
                Error::InvalidRequest {
                    operation: "createShippingLabel",
                    message: "rule".into(),
                },
                ErrorKind::Rejected,
                false,
            ),
        ];
        cases.push((
            Error::StateMismatch("another package".into()),
            ErrorKind::Config,
            false,
        ));
        cases.push((
            Error::StateLocked("busy".into()),
            ErrorKind::Transient,
            true,
        ));
        cases.push((
            Error::Local {
                path: "driver.cab.hwdc.json".into(),
                source: io(),
            },
            ErrorKind::LocalIo,
            false,
        ));
        for (error, kind, retryable) in cases {
            assert_eq!(error.kind(), kind, "{error}");
            assert_eq!(error.is_retryable(), retryable, "{error}");
            assert!(!error.name().is_empty());
            // Display is this level only: no cause repeats in it, and the report adds each.
            let shown = error.to_string();
            let report = chain(&error);
            let mut cause = std::error::Error::source(&error);
            while let Some(next) = cause {
                // `Transfer` is transparent: its Display is the transfer error's own level.
                let text = next.to_string().trim().to_owned();
                if text != shown {
                    assert!(
                        !shown.contains(&text),
                        "{shown:?} repeats its cause {text:?}"
                    );
                    assert!(report.contains(&text), "{report:?} lacks {text:?}");
                }
                cause = next.source();
            }
        }
    }

    #[test]
    fn causes_are_kept_and_shown_once() {
        let error = Error::Transfer(Box::new(TransferError::File {
            path: "out/driver.cab".into(),
            source: std::io::Error::new(std::io::ErrorKind::PermissionDenied, "access denied"),
        }));
        let io = std::error::Error::source(&error)
            .and_then(|cause| cause.downcast_ref::<std::io::Error>())
            .expect("the io error is in the chain");
        assert_eq!(io.kind(), std::io::ErrorKind::PermissionDenied);
        let line = chain(&error);
        assert_eq!(line.matches("access denied").count(), 1, "{line}");
    }
}
