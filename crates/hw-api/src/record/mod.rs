//! Traces of a run's HTTP exchanges, for reporting a difference from the real service: one
//! JSON line per exchange with the API, the token endpoint or blob storage, redacted as it is
//! written (`docs/traces.md` has the format and what is kept).
//!
//! What is kept: the method, the origin, the path and query, the status, an allow-list of
//! headers (request ids, `Retry-After`, content type, the blob headers), the bodies, and
//! timings. What never is: the `Authorization` header or any other header off the
//! allow-list, a token, a client secret, an assertion, a SAS `sig`, a blob's content (its size
//! and MD5 instead). Each value passes through `scrub` before it is written, and the written
//! line once more through the secrets the recorder knows of (every token the client was
//! issued, and any added with [`Recorder::add_secret`]).
//!
//! Recording is a step (`http.rs`, `steps`) of every pipeline of a client with a recorder:
//! the API's, blob storage's, and the issuers' that token providers send through
//! ([`TokenHttp`](crate::auth::TokenHttp)).

mod anonymize;
mod entry;
#[cfg(any(test, feature = "fuzzing"))]
pub(crate) mod fuzz;
mod http;
mod pending;
mod recorder;
pub(crate) mod scrub;
mod tee;

pub(crate) use entry::{BodyDigest, Service};
pub(crate) use http::steps;
pub use recorder::{FORMAT, RecordOptions, Recorder};

#[cfg(test)]
mod tests;
