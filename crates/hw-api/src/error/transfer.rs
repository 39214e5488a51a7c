//! What can go wrong moving a package to or from blob storage.

use std::path::PathBuf;

use super::{ErrorKind, NetworkError};

/// What can go wrong moving a package.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TransferError {
    /// The SAS URL cannot be used for this operation.
    #[error("the SAS URL {url} cannot be used: {problem}")]
    Sas {
        /// The URL, redacted.
        url: String,
        /// Why.
        problem: String,
    },
    /// The SAS URL has expired (seen before sending: nothing was sent).
    #[error("the SAS URL {url} expired at {expiry}; read the submission again for a fresh URL")]
    Expired {
        /// The URL, redacted.
        url: String,
        /// Its expiry (`se`), as written in it.
        expiry: String,
    },
    /// Blob storage answered with an error.
    #[error(
        "blob storage refused {operation} ({url}): HTTP {status}{}",
        detail(code, message, request_id)
    )]
    Refused {
        /// The blob operation (`putBlock`, …).
        operation: &'static str,
        /// The URL, redacted.
        url: String,
        /// The HTTP status.
        status: u16,
        /// The storage error code (`x-ms-error-code`).
        code: Option<String>,
        /// The storage error message.
        message: Option<String>,
        /// The storage request id.
        request_id: Option<String>,
    },
    /// Blob storage could not be reached, or the connection broke, after the retries.
    #[error("{operation} ({url}) failed after {attempts} attempt(s)")]
    Transport {
        /// The blob operation.
        operation: &'static str,
        /// The URL, redacted.
        url: String,
        /// How many attempts were made.
        attempts: u32,
        /// What went wrong.
        #[source]
        source: NetworkError,
    },
    /// A local file could not be read or written.
    #[error("{}", path.display())]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        #[source]
        source: std::io::Error,
    },
    /// The bytes are not what the service says they are.
    #[error("{what}: {message}")]
    Integrity {
        /// What was checked.
        what: String,
        /// The mismatch.
        message: String,
    },
    /// The package cannot be uploaded within the limits of the SAS version.
    #[error("{0}")]
    TooLarge(String),
}

impl TransferError {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            TransferError::Sas { .. } | TransferError::TooLarge(_) => ErrorKind::Rejected,
            // A SAS without the permission stays without it: a re-run would not help.
            TransferError::Refused {
                status: 403,
                code: Some(code),
                ..
            } if code.eq_ignore_ascii_case("AuthorizationPermissionMismatch") => {
                ErrorKind::Rejected
            }
            TransferError::Refused {
                status: 401 | 403, ..
            } => ErrorKind::StorageRefused,
            TransferError::Expired { .. } => ErrorKind::StorageRefused,
            TransferError::Refused { status, .. } => ErrorKind::of_status(*status),
            TransferError::Transport { source, .. } => source.kind(),
            TransferError::File { .. } => ErrorKind::LocalIo,
            TransferError::Integrity { .. } => ErrorKind::Integrity,
        }
    }
}

fn detail(code: &Option<String>, message: &Option<String>, request_id: &Option<String>) -> String {
    let mut out = String::new();
    if let Some(code) = code {
        out.push_str(&format!(" {code}"));
    }
    if let Some(message) = message {
        out.push_str(&format!(": {message}"));
    }
    if let Some(id) = request_id {
        out.push_str(&format!(" (request id {id})"));
    }
    out
}
