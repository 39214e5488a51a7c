//! What kind of failure an error is, whatever it came from.

use std::fmt;

/// What kind of failure an [`Error`](super::Error) is: what a caller (a pipeline, a command-line tool) does
/// about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The client or a request is set up wrongly: a bad URL, plain HTTP to a remote host, a
    /// missing setting.
    Config,
    /// No access token could be had, or the service refused the credentials or the permission
    /// (401, 403, an expired or read-only SAS URL).
    Auth,
    /// What was asked for does not exist (404).
    NotFound,
    /// A rule refused the request: the service's validation or state rules (400, 409, 422, …),
    /// or the client's own check of them before sending.
    Rejected,
    /// The service asked to slow down (429) for longer than the retries lasted.
    Throttled,
    /// An outage, a network failure or a timeout that outlasted the retries; the same request
    /// may succeed later.
    Transient,
    /// The service failed with a status a retry does not fix (501, 505).
    Server,
    /// A request that is not safe to repeat may or may not have been processed, and checking
    /// did not settle it.
    Ambiguous,
    /// Microsoft's processing of a submission or shipping label failed.
    WorkflowFailed,
    /// A wait for Microsoft's processing ran past its deadline.
    TimedOut,
    /// Bytes are not what the service says they are (a size or checksum mismatch).
    Integrity,
    /// A local file could not be read or written.
    LocalIo,
    /// Blob storage refused the SAS URL (401, 403: expired, or without the permission). Not a
    /// sign-in problem: a fresh URL, read from the submission again, may work.
    StorageRefused,
    /// A response does not fit the API: a body that does not decode, a link to another origin,
    /// a list that does not end.
    InvalidResponse,
    /// The server's certificate is not trusted here, or is not for the host: a network that
    /// inspects TLS with a CA this machine does not trust. Configuration fixes it (the CA
    /// installed, or given in `SSL_CERT_FILE`), not another attempt.
    Certificate,
    /// The proxy refused the credentials (407) or the destination, or cannot be reached.
    /// Configuration fixes it, not another attempt.
    Proxy,
}

impl ErrorKind {
    /// Every kind, in declaration order.
    pub const ALL: [ErrorKind; 16] = [
        ErrorKind::Config,
        ErrorKind::Auth,
        ErrorKind::NotFound,
        ErrorKind::Rejected,
        ErrorKind::Throttled,
        ErrorKind::Transient,
        ErrorKind::Server,
        ErrorKind::Ambiguous,
        ErrorKind::WorkflowFailed,
        ErrorKind::TimedOut,
        ErrorKind::Integrity,
        ErrorKind::LocalIo,
        ErrorKind::StorageRefused,
        ErrorKind::InvalidResponse,
        ErrorKind::Certificate,
        ErrorKind::Proxy,
    ];

    /// The kind as a stable snake_case word (for JSON output and logs).
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Config => "config",
            ErrorKind::Auth => "auth",
            ErrorKind::NotFound => "not_found",
            ErrorKind::Rejected => "rejected",
            ErrorKind::Throttled => "throttled",
            ErrorKind::Transient => "transient",
            ErrorKind::Server => "server",
            ErrorKind::Ambiguous => "ambiguous",
            ErrorKind::WorkflowFailed => "workflow_failed",
            ErrorKind::TimedOut => "timed_out",
            ErrorKind::Integrity => "integrity",
            ErrorKind::LocalIo => "local_io",
            ErrorKind::StorageRefused => "storage_refused",
            ErrorKind::InvalidResponse => "invalid_response",
            ErrorKind::Certificate => "certificate",
            ErrorKind::Proxy => "proxy",
        }
    }

    /// The kind of an error status from a service (the API or blob storage).
    pub(crate) fn of_status(status: u16) -> Self {
        match status {
            401 | 403 => ErrorKind::Auth,
            // A forward proxy's answer to a plain-HTTP request.
            407 => ErrorKind::Proxy,
            404 => ErrorKind::NotFound,
            429 => ErrorKind::Throttled,
            s if crate::retry::is_transient(s) => ErrorKind::Transient,
            500..=599 => ErrorKind::Server,
            _ => ErrorKind::Rejected,
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}
