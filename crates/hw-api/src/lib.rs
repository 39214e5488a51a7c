//! A typed client for the Microsoft Hardware Dev Center API.
//!
//! ```no_run
//! # async fn run() -> Result<(), hw_api::Error> {
//! use futures_util::TryStreamExt;
//! use hw_api::auth::ClientCredentials;
//!
//! let credentials = ClientCredentials::new("tenant-id", "client-id", "secret".to_owned().into());
//! let client = hw_api::Client::builder().token_provider(credentials).build()?;
//! let products: Vec<_> = client.list_products().try_collect().await?;
//! # Ok(()) }
//! ```
//!
//! What it does for you:
//! - **Authentication**: Entra ID client credentials (v2 or v1 endpoint) or any
//!   [`TokenProvider`](auth::TokenProvider); tokens are cached, refreshed ahead of expiry one at a
//!   time, refreshed once after a 401, and sent only to the API's origin.
//! - **Paging**: list operations return a [`Pager`], a stream of items (or of pages) that follows
//!   `next_link` to the end.
//! - **Errors**: one [`Error`] type with the HTTP status, the service's code, message, validation
//!   errors and activity id; bodies that are empty or HTML still give the status. Each error
//!   says what [kind](ErrorKind) of failure it is and whether a retry may help.
//! - **Retries**: 408, 429, 500, 502, 503, 504 and network errors, for operations that are safe to repeat,
//!   honouring `Retry-After`; a create is never resent blindly ([`Error::Ambiguous`]).
//! - **Secrets**: tokens and secrets are `secrecy` types; SAS signatures and tokens are redacted
//!   from errors and logs.

pub mod auth;
pub mod cabinet;
mod client;
mod commit;
mod config;
mod create_once;
mod decode;
pub mod digest;
pub mod driver_check;
pub mod driver_package;
mod error;
pub mod hlkx;
pub mod inf;
mod inner;
mod origin;
mod package;
mod pager;
pub mod redact;
mod retry;
pub mod ship;
pub mod targeting;
pub mod transfer;
mod transport;
mod wait;
mod wire;

pub use client::{Client, operations};
pub use config::{ClientBuilder, DEFAULT_BASE_URL, DEFAULT_USER_AGENT};
pub use create_once::Snapshot;
pub use error::{
    Error, ErrorCode, ErrorKind, FieldError, NetworkError, ServiceError, WorkflowFailure, chain,
};
pub use pager::{DEFAULT_MAX_PAGES, Page, PageStream, Pager};
pub use retry::RetryPolicy;
pub use secrecy::{ExposeSecret, SecretString};
pub use wait::{LabelMilestone, SubmissionProgress, SubmissionStatus, WaitOptions};

/// Entry points for the fuzz harness (not a stable API).
#[doc(hidden)]
pub mod fuzzing {
    use url::Url;

    use crate::ServiceError;

    /// Decodes an error response body of `status` as the client does.
    pub fn decode_error_body(status: u16, body: &[u8]) -> ServiceError {
        crate::decode::service_error("fuzz", 1, status, &Default::default(), body)
    }

    /// Reads `bytes` as a cabinet, then checks it as a package.
    pub fn cabinet(bytes: &[u8]) {
        let path = std::path::Path::new("fuzz.cab");
        if let Ok(package) = crate::cabinet::read_cabinet_from(path, std::io::Cursor::new(bytes)) {
            let _ = crate::driver_check::check_package(&package, &Default::default());
        }
    }

    /// Checks `bytes` as an HLKX package.
    pub fn hlkx(bytes: &[u8]) {
        let path = std::path::Path::new("fuzz.hlkx");
        let _ = crate::hlkx::check_hlkx_from(path, std::io::Cursor::new(bytes));
    }

    /// Resolves the `next_link` of a page at `page_url` with `links`, and whether the token
    /// may go there (same origin as `base`).
    pub fn next_link(
        base: &Url,
        page_url: &Url,
        links: &[hw_api_gen::types::Link],
    ) -> Result<Option<(Url, bool)>, String> {
        Ok(crate::pager::next_link(page_url, links)?.map(|url| {
            let trusted = crate::origin::may_carry_token(&url, base);
            (url, trusted)
        }))
    }
}

/// The API's resource types, generated from `openapi/hardware.yaml`.
pub mod types {
    pub use hw_api_gen::types::*;
    pub use hw_api_gen::{Id, LenientInteger};
}

pub use hw_api_gen::Id;
