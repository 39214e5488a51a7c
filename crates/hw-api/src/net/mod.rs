//! The sending layer, at the bottom of hw-api: the kinds of traffic (`traffic.rs`), the one
//! place every HTTP client is built (`clients.rs`), the pipeline of ordered steps every request
//! goes through (`pipeline.rs`), the sender of traffic no step stops (`sender.rs`) and the
//! step that makes each attempt's tracing span (`attempt_span.rs`), which server certificates
//! are trusted (`trust.rs`) and the question a refused tunnel's status needs
//! (`proxy_probe.rs`). It imports none of the features (auth, recording, transfers, flows):
//! they plug their steps in.

mod attempt_span;
mod clients;
mod pipeline;
pub(crate) mod proxy_probe;
mod sender;
mod traffic;
#[cfg(feature = "rustls")]
mod trust;

pub(crate) use attempt_span::AttemptSpan;
pub use clients::DEFAULT_USER_AGENT;
pub(crate) use clients::HttpSettings;
#[cfg(test)]
pub(crate) use pipeline::tests as pipeline_tests;
pub(crate) use pipeline::{Halt, Next, Outgoing, Pipeline, Sent, Step};
pub(crate) use sender::Sender;
pub(crate) use traffic::Traffic;
#[cfg(feature = "rustls")]
pub(crate) use trust::{RefusedCertificate, certificate_reason};
