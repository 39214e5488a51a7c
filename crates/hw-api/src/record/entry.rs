//! The lines of a trace, as they are serialized (`docs/traces.md`).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

/// A line that is not an exchange: the trace's first line, and one per client.
#[derive(Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub(super) enum Header<'a> {
    /// The first line: what wrote the trace, and when.
    Trace {
        format: u32,
        recorder: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        tool: Option<&'a str>,
        started: String,
        anonymized: bool,
    },
    /// A client that records: its API base URL.
    Client { api_base: String },
}

/// One exchange: a request and its answer, or why there was none.
#[derive(Serialize, Debug, Clone, Default)]
pub(super) struct Entry {
    /// Always `exchange`.
    pub(super) kind: &'static str,
    /// The order in which requests were sent (lines are written as answers end).
    pub(super) seq: u64,
    /// `api`, `token` or `blob`.
    pub(super) service: &'static str,
    /// The operation: the spec's `operationId` for the API, the blob or token request's name.
    pub(super) operation: &'static str,
    pub(super) method: String,
    /// `scheme://host[:port]`.
    pub(super) origin: String,
    /// The path and query.
    pub(super) target: String,
    pub(super) request: Message,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) status: Option<u16>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) response: Option<Message>,
    /// Why there is no (complete) answer.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) error: Option<String>,
    /// When the request was sent, in milliseconds since the recorder was made.
    pub(super) at_ms: u64,
    /// How long the exchange took, up to the end of its answer's body.
    pub(super) ms: u64,
}

/// The kept headers and the body of a request or a response.
#[derive(Serialize, Debug, Clone, Default)]
pub(super) struct Message {
    pub(super) headers: BTreeMap<String, String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) body: Option<Body>,
    /// The body is longer than what was kept, or was not read to its end.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub(super) truncated: bool,
}

/// A body as a trace keeps it.
#[derive(Serialize, Debug, Clone)]
#[serde(rename_all = "lowercase")]
pub(super) enum Body {
    /// JSON, secrets replaced.
    Json(Value),
    /// Other text, secrets replaced.
    Text(String),
    /// A form (a token request): the fields that carry no secret, the others replaced.
    Form(BTreeMap<String, String>),
    /// Content that is not kept (a package): its size and MD5.
    Digest(BodyDigest),
}

/// The size and MD5 (base64, as in `Content-MD5`) of a body that is not kept.
#[derive(Serialize, Debug, Clone, PartialEq, Eq)]
pub(crate) struct BodyDigest {
    pub(crate) size: u64,
    /// `None` when the body was streamed and not hashed.
    pub(crate) md5: Option<String>,
}

impl BodyDigest {
    /// The digest of `bytes`.
    pub(crate) fn of(bytes: &[u8]) -> Self {
        Self {
            size: bytes.len() as u64,
            md5: Some(crate::encode::md5_base64(bytes)),
        }
    }
}

/// Which service an exchange was with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Service {
    /// The Hardware Dev Center API.
    Api,
    /// A token endpoint or another issuer of credentials.
    Token,
    /// Azure Blob Storage, through a SAS URL.
    Blob,
}

impl Service {
    pub(super) fn name(self) -> &'static str {
        match self {
            Service::Api => "api",
            Service::Token => "token",
            Service::Blob => "blob",
        }
    }
}
