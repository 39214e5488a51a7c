//! Moving packages to and from the Azure Blob SAS URLs of submissions, with a client of its own
//! that never carries the API's token and never follows redirects.
//!
//! Hand-written rather than with azure_storage_blob, which would bring its own HTTP pipeline and
//! 47 more crates for four REST calls (`docs/service-notes.md`, "Blob transfer: crate choice").
//!
//! Requests are retried by the client's one retry engine (`retry.rs`); every blob
//! operation used here may be repeated.

pub(crate) mod blob;
mod download;
mod options;
mod progress;
mod ranges;
mod sas;
mod upload;
mod watch;
mod xml;

pub use crate::error::TransferError;
pub(crate) use blob::blob_client;
pub use download::DownloadReport;
pub use options::{RangeMd5, TransferOptions};
pub use progress::{Progress, Silent};
pub use sas::{Access, Limits, SasUrl};
pub use upload::UploadReport;

pub(crate) use download::{download, fetch_text};
pub(crate) use upload::upload;
