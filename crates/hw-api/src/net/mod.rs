//! The sending layer, at the bottom of hw-api: the kinds of traffic ([`Traffic`]), the one
//! place every HTTP client is built (`clients.rs`), the pipeline of ordered steps every request
//! goes through (`pipeline.rs`), the sender of traffic no step stops (`sender.rs`) and the
//! step that makes each attempt's tracing span (`attempt_span.rs`). It imports none of the
//! features (auth, recording, transfers, flows): they plug their steps in.

mod attempt_span;
mod clients;
mod pipeline;
mod sender;

pub(crate) use attempt_span::AttemptSpan;
pub use clients::DEFAULT_USER_AGENT;
pub(crate) use clients::HttpSettings;
#[cfg(test)]
pub(crate) use pipeline::tests as pipeline_tests;
pub(crate) use pipeline::{Halt, Next, Outgoing, Pipeline, Sent, Step};
pub(crate) use sender::Sender;

/// The kinds of traffic the toolkit sends. Each has its own HTTP client (settings such as the
/// proxy and the timeouts differ) and its own rows in the retry decision table
/// (`retry::decide`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Traffic {
    /// The Hardware Dev Center API: carries the bearer token, paced, timed out as a whole.
    Api,
    /// Azure Blob Storage through SAS URLs: no total timeout (requests are watched for stalls
    /// instead), never a token.
    Blob,
    /// A token endpoint or a CI system's OIDC token service.
    Issuer,
    /// A managed identity endpoint of the host (the VM metadata service, App Service's): never
    /// through a proxy, short timeouts.
    Identity,
}

impl Traffic {
    /// Every kind, for tests that go through them all.
    #[cfg(test)]
    pub(crate) const ALL: [Traffic; 4] = [
        Traffic::Api,
        Traffic::Blob,
        Traffic::Issuer,
        Traffic::Identity,
    ];
}
