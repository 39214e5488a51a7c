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
//!
//! # Guide: the flow, step by step
//!
//! The same steps as the workspace README's "Using the client", each with the call that does
//! it. Every
//! step can be run again after an interruption: creates are settled rather than resent,
//! transfers resume, commits are checked before they are repeated.
//!
//! ```no_run
//! # async fn flow(
//! #     client: hw_api::Client,
//! #     body: hw_api::types::NewProduct,
//! #     package: &std::path::Path,
//! #     out: &std::path::Path,
//! # ) -> Result<(), Box<dyn std::error::Error>> {
//! use hw_api::WaitOptions;
//! use hw_api::transfer::Silent;
//! use hw_api::types::{DownloadType, NewSubmission, SubmissionType};
//!
//! // 1. The product, made once: an unclear answer is settled against what existed before.
//! let product = client.create_product_once(&body).await?;
//! // 2. A submission of it (initial or derived), made once in the same way.
//! let new = NewSubmission { name: "driver 1.2.3".try_into()?, type_: SubmissionType::Initial };
//! let submission = client.create_submission_once(product.id, &new).await?;
//! // 3. The package, to the submission's blob: blocks with their MD5, resumable.
//! client.upload_package(product.id, submission.id, package, &Silent).await?;
//! // 4. The commit, checked before it is ever repeated.
//! client.commit_submission(product.id, submission.id).await?;
//! // 5. Microsoft's workflow, polled with growing pauses up to a deadline; a failure is an
//! //    error with its step, messages and error report.
//! let options = WaitOptions::default();
//! client.wait_for_submission(product.id, submission.id, &options, &mut |_| {}).await?;
//! // 6. The signed package, checked against its MD5 and renamed into place when complete.
//! let kind = DownloadType::SignedPackage;
//! client.download_package(product.id, submission.id, kind, out, &Silent).await?;
//! # Ok(()) }
//! ```
//!
//! - [`Client::ship`] runs steps 1 to 6 with a journal ([`ship::StateStore`]), so that a
//!   re-run after a crash continues the same submission.
//! - [`Client::publish`] then makes a shipping label from the driver metadata's hardware ids
//!   ([`targeting`]), checking the documented rules before it sends anything.
//! - Driver packages (INF files, the attestation CAB, HLKX, the rules a package is held to
//!   offline) are the `hw-package` crate's: it makes no request, and this crate does not need it.
//! - Sign-in: [`auth::ClientCredentials`] (a secret or a certificate), the federated sources
//!   of CI systems, managed identities, the Azure CLI, or a [`TokenProvider`](auth::TokenProvider)
//!   of your own; [`auth::choose`] picks one from the environment.
//! - Tests of your own code: `hw-sim` (a dev-dependency) starts the service, its token endpoint
//!   and its blob storage in-process; see the `test_against_hw_sim` example.

#![warn(missing_docs)]

pub mod auth;
pub mod batch;
mod client;
mod commit;
mod config;
mod create_once;
mod decode;
mod encode;
mod error;
mod inner;
mod needed;
mod net;
mod origin;
pub mod os_codes;
mod package;
mod pager;
mod poll;
pub mod preflight;
mod rate_limit;
mod record;
pub mod redact;
mod report;
#[cfg(feature = "test-util")]
mod resend;
mod retry;
mod send_failure;
pub mod ship;
pub mod targeting;
#[cfg(test)]
mod tolerance_tests;
pub mod transfer;
mod transport;
mod wait;
mod wire;

pub use client::Client;
#[cfg(feature = "test-util")]
pub use client::operations;
pub use config::{ClientBuilder, DEFAULT_BASE_URL};
pub use create_once::Snapshot;
pub use error::{
    Error, ErrorKind, FieldError, NetworkError, NetworkProblem, ServiceError, WorkflowFailure,
};
pub use net::DEFAULT_USER_AGENT;
pub use pager::{DEFAULT_MAX_PAGES, Page, PageStream, Pager};
pub use poll::WaitOptions;
pub use rate_limit::RateLimit;
pub use record::{FORMAT as TRACE_FORMAT, RecordOptions, Recorder};
pub use report::Report;
pub use retry::RetryPolicy;
pub use wait::{LabelMilestone, SubmissionProgress, SubmissionStatus};

/// Entry points for the fuzz harness (the `fuzzing` feature; not a stable API).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use url::Url;

    use crate::ServiceError;

    /// Decodes an error response body of `status` as the client does.
    pub fn decode_error_body(status: u16, body: &[u8]) -> ServiceError {
        crate::decode::service_error("fuzz", 1, status, &Default::default(), body)
    }

    /// Records exchanges made of `input` with secrets planted in every place a trace keeps,
    /// plain and anonymized; `Err` names a secret that survived into the trace.
    pub fn trace_redaction(input: &[u8]) -> Result<(), String> {
        crate::record::fuzz::check(input, false)?;
        crate::record::fuzz::check(input, true)
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
    pub use hw_api_gen::LenientInteger;
    pub use hw_api_gen::types::*;
}

pub use hw_api_gen::Id;
