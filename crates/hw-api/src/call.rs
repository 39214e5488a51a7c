//! How one operation is carried out: a token for each attempt, the request, and then — by what
//! failed and whether the operation is safe to repeat — a retry, a fresh token after a 401, an
//! ambiguous outcome, or a typed error. One tracing span per operation and one per attempt.

use std::future::Future;
use std::time::SystemTime;

use hw_api_gen::ResponseValue;
use hw_api_gen::types::ErrorResponse;
use reqwest::header::{ACCEPT, AUTHORIZATION, HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use tracing::{Instrument, field::Empty};
use url::Url;

use crate::auth::cache::Lease;
use crate::client::Inner;
use crate::error::{Error, FieldError, ServiceError};
use crate::redact;
use crate::retry::server_wait;

tokio::task_local! {
    /// The token of the current attempt, for the generated core's authorizer: the request then
    /// carries exactly the token that a 401 invalidates.
    pub(crate) static ATTEMPT_LEASE: Lease;
}

/// The most of an error body that is read.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The most of a body kept in an error.
const EXCERPT_CHARS: usize = 512;

/// Response headers that carry a request id, in order of preference.
const REQUEST_ID_HEADERS: [&str; 5] = [
    "x-ms-request-id",
    "request-id",
    "x-request-id",
    "x-ms-correlation-id",
    "ms-cv",
];

/// What the client knows about an operation of the spec.
#[derive(Debug)]
pub(crate) struct Operation {
    /// The spec's `operationId`.
    pub(crate) id: &'static str,
    /// The HTTP method.
    pub(crate) method: &'static str,
    /// The path template under the base URL.
    pub(crate) path: &'static str,
    /// Whether sending it twice has the effect of sending it once.
    pub(crate) idempotent: bool,
}

/// A successful attempt.
pub(crate) struct Success<T> {
    pub(crate) value: T,
    pub(crate) status: u16,
    pub(crate) request_id: Option<String>,
}

/// A failed attempt.
pub(crate) enum Failure {
    /// An error status.
    Status {
        status: u16,
        headers: HeaderMap,
        body: ErrorBody,
    },
    /// No response.
    Transport {
        kind: TransportKind,
        message: String,
    },
    /// A response that does not fit the spec.
    Decode {
        status: Option<u16>,
        path: String,
        message: String,
    },
    /// Refused before sending.
    Refused(String),
}

/// An error body: decoded by the generated client, or raw bytes.
pub(crate) enum ErrorBody {
    Decoded(Box<ErrorResponse>),
    Raw(Vec<u8>),
}

/// Where a transport failure happened, which decides whether the request was sent.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum TransportKind {
    /// The connection was never made: nothing was sent.
    Connect,
    /// No answer in time: the request may have been processed.
    Timeout,
    /// The connection broke: the request may have been processed.
    Other,
}

/// What to do after a failed attempt.
enum Next {
    Reauthenticate,
    Retry(Option<std::time::Duration>),
    Ambiguous,
    Stop,
}

impl Failure {
    fn next(&self, op: &Operation) -> Next {
        match self {
            Failure::Status { status: 401, .. } => Next::Reauthenticate,
            Failure::Status {
                status: 429,
                headers,
                ..
            } => Next::Retry(server_wait(headers, SystemTime::now())),
            Failure::Status {
                status: 408 | 500 | 502 | 503 | 504,
                headers,
                ..
            } => {
                if op.idempotent {
                    Next::Retry(server_wait(headers, SystemTime::now()))
                } else {
                    Next::Ambiguous
                }
            }
            Failure::Transport {
                kind: TransportKind::Connect,
                ..
            } => Next::Retry(None),
            Failure::Transport { .. } if op.idempotent => Next::Retry(None),
            Failure::Transport { .. } => Next::Ambiguous,
            Failure::Status { .. } | Failure::Decode { .. } | Failure::Refused(_) => Next::Stop,
        }
    }

    fn status(&self) -> Option<u16> {
        match self {
            Failure::Status { status, .. } => Some(*status),
            Failure::Decode { status, .. } => *status,
            _ => None,
        }
    }

    fn into_error(self, op: &Operation, attempts: u32) -> Error {
        match self {
            Failure::Status {
                status,
                headers,
                body,
            } => Error::Service(Box::new(service_error(
                op, attempts, status, &headers, body,
            ))),
            Failure::Transport {
                kind: TransportKind::Timeout,
                message,
            } => Error::Timeout {
                operation: op.id,
                attempts,
                message,
            },
            Failure::Transport { message, .. } => Error::Transport {
                operation: op.id,
                attempts,
                message,
            },
            Failure::Decode {
                status,
                path,
                message,
            } => Error::Decode {
                operation: op.id,
                status,
                path,
                message,
            },
            Failure::Refused(message) => Error::InvalidRequest {
                operation: op.id,
                message,
            },
        }
    }
}

impl Inner {
    /// Runs `attempt` until it succeeds or the failure is final. `path` is shown in traces.
    pub(crate) async fn call<T, F, Fut>(
        &self,
        op: &Operation,
        path: &str,
        mut attempt: F,
    ) -> Result<T, Error>
    where
        F: FnMut(Lease) -> Fut,
        Fut: Future<Output = Result<Success<T>, Failure>>,
    {
        let span = tracing::info_span!(
            "hw_api.operation",
            operation = op.id,
            http.request.method = op.method,
            server.address = self.base.host_str().unwrap_or_default(),
            url.path = path,
            http.response.status_code = Empty,
            attempts = Empty,
        );
        async move {
            let started = tokio::time::Instant::now();
            let mut attempts = 0u32;
            let mut reauthenticated = false;
            loop {
                attempts += 1;
                let lease = self.tokens.get().await.map_err(|source| Error::Auth {
                    operation: op.id,
                    source,
                })?;
                let generation = lease.generation;
                let attempt_span = tracing::debug_span!(
                    "hw_api.attempt",
                    attempt = attempts,
                    http.response.status_code = Empty,
                    request_id = Empty,
                );
                let outcome = ATTEMPT_LEASE
                    .scope(lease.clone(), attempt(lease))
                    .instrument(attempt_span.clone())
                    .await;
                let current = tracing::Span::current();
                current.record("attempts", attempts);
                let failure = match outcome {
                    Ok(success) => {
                        attempt_span.record("http.response.status_code", success.status);
                        if let Some(id) = &success.request_id {
                            attempt_span.record("request_id", id.as_str());
                        }
                        current.record("http.response.status_code", success.status);
                        return Ok(success.value);
                    }
                    Err(failure) => failure,
                };
                if let Some(status) = failure.status() {
                    attempt_span.record("http.response.status_code", status);
                    current.record("http.response.status_code", status);
                }
                if let Failure::Status { headers, .. } = &failure
                    && let Some(id) = request_id(headers)
                {
                    attempt_span.record("request_id", id.as_str());
                }
                let counted = attempts - u32::from(reauthenticated);
                match failure.next(op) {
                    Next::Reauthenticate if !reauthenticated => {
                        reauthenticated = true;
                        tracing::debug!("the API refused the token (401): fetching a new one and trying once more");
                        self.tokens.invalidate(generation);
                    }
                    Next::Retry(server_wait) => {
                        match self.retry.delay_before_retry(counted, started.elapsed(), server_wait) {
                            Some(delay) => {
                                tracing::debug!(
                                    retry.attempt = attempts,
                                    retry.delay_ms = delay.as_millis() as u64,
                                    http.response.status_code = failure.status(),
                                    "retrying"
                                );
                                tokio::time::sleep(delay).await;
                            }
                            None => return Err(failure.into_error(op, attempts)),
                        }
                    }
                    Next::Ambiguous => {
                        return Err(Error::Ambiguous {
                            operation: op.id,
                            source: Box::new(failure.into_error(op, attempts)),
                        });
                    }
                    Next::Reauthenticate | Next::Stop => return Err(failure.into_error(op, attempts)),
                }
            }
        }
        .instrument(span)
        .await
    }

    /// GETs `url` (already checked to be on the API origin) with the token and decodes it as `T`.
    pub(crate) async fn get_json<T: DeserializeOwned>(
        &self,
        url: &Url,
        lease: Lease,
    ) -> Result<Success<T>, Failure> {
        let response = self
            .http
            .get(url.clone())
            .header(ACCEPT, "application/json")
            .header(
                AUTHORIZATION,
                bearer(&lease.secret).map_err(Failure::Refused)?,
            )
            .send()
            .await
            .map_err(transport)?;
        finish(response).await
    }
}

impl Inner {
    /// GETs `url` (on the API origin) with the token and streams a success into `dest`,
    /// returning its size and SHA-256 (hex).
    pub(crate) async fn get_to_file(
        &self,
        url: &Url,
        lease: Lease,
        dest: &std::path::Path,
    ) -> Result<Success<(u64, String)>, Failure> {
        use sha2::Digest;
        use tokio::io::AsyncWriteExt;
        let mut response = self
            .http
            .get(url.clone())
            .header(
                AUTHORIZATION,
                bearer(&lease.secret).map_err(Failure::Refused)?,
            )
            .send()
            .await
            .map_err(transport)?;
        if !response.status().is_success() {
            return finish(response).await;
        }
        let status = response.status().as_u16();
        let request_id = request_id(response.headers());
        let file_failure =
            |e: std::io::Error| Failure::Refused(format!("cannot write {}: {e}", dest.display()));
        let mut file = tokio::fs::File::create(dest).await.map_err(file_failure)?;
        let mut hash = sha2::Sha256::new();
        let mut size = 0u64;
        while let Some(chunk) = response.chunk().await.map_err(transport)? {
            hash.update(&chunk);
            size += chunk.len() as u64;
            file.write_all(&chunk).await.map_err(file_failure)?;
        }
        file.flush().await.map_err(file_failure)?;
        let hex = hash.finalize().iter().map(|b| format!("{b:02x}")).collect();
        Ok(Success {
            value: (size, hex),
            status,
            request_id,
        })
    }
}

/// A raw response as an attempt: a success decoded as `T`, anything else an error status.
async fn finish<T: DeserializeOwned>(response: reqwest::Response) -> Result<Success<T>, Failure> {
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    if response.status().is_success() {
        let body = response.bytes().await.map_err(transport)?;
        let value = decode::<T>(&body, Some(status))?;
        return Ok(Success {
            value,
            status,
            request_id: request_id(&headers),
        });
    }
    let body = read_bounded(response).await?;
    Err(Failure::Status {
        status,
        headers,
        body: ErrorBody::Raw(body),
    })
}

/// A generated call as an attempt.
pub(crate) async fn from_generated<T, F>(call: F) -> Result<Success<T>, Failure>
where
    T: DeserializeOwned,
    F: Future<Output = Result<ResponseValue<T>, hw_api_gen::Error<ErrorResponse>>>,
{
    use hw_api_gen::Error as E;
    match call.await {
        Ok(value) => Ok(Success {
            status: value.status().as_u16(),
            request_id: request_id(value.headers()),
            value: value.into_inner(),
        }),
        Err(E::ErrorResponse(response)) => Err(Failure::Status {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: ErrorBody::Decoded(Box::new(response.into_inner())),
        }),
        // Includes a success status the spec does not list (200 for 201): still a success.
        Err(E::UnexpectedResponse(response)) => finish(response).await,
        Err(E::CommunicationError(e) | E::InvalidUpgrade(e) | E::ResponseBodyError(e)) => {
            Err(transport(e))
        }
        Err(E::InvalidResponsePayload(body, e)) => Err(decode::<T>(&body, None)
            .err()
            .unwrap_or_else(|| Failure::Decode {
                status: None,
                path: ".".into(),
                message: redact::text(&e.to_string()),
            })),
        Err(E::InvalidRequest(message) | E::Custom(message)) => Err(Failure::Refused(message)),
    }
}

/// Decodes `body` as `T`, naming the JSON path that failed.
///
/// Plain serde_json first: tracking the path costs every field (measured: about a tenth of the
/// time to page through 100,000 products), so it is paid only to explain a failure.
fn decode<T: DeserializeOwned>(body: &[u8], status: Option<u16>) -> Result<T, Failure> {
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(body);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        let path = e.path().to_string();
        Failure::Decode {
            status,
            path,
            message: redact::text(&redact::single_line(&e.into_inner().to_string())),
        }
    })?;
    // The fast path failed only on what follows the value.
    deserializer.end().map_err(|e| Failure::Decode {
        status,
        path: ".".into(),
        message: redact::text(&redact::single_line(&e.to_string())),
    })?;
    Ok(value)
}

/// An `Authorization` header value, marked sensitive so that `Debug` hides it.
pub(crate) fn bearer(token: &SecretString) -> Result<HeaderValue, String> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
        .map_err(|_| "the access token has characters a header cannot carry".to_owned())?;
    value.set_sensitive(true);
    Ok(value)
}

/// A transport error as a failure, its message without URL secrets.
pub(crate) fn transport(error: reqwest::Error) -> Failure {
    if error.is_builder() || error.is_redirect() {
        return Failure::Refused(describe(error));
    }
    let kind = if error.is_connect() {
        TransportKind::Connect
    } else if error.is_timeout() {
        TransportKind::Timeout
    } else {
        TransportKind::Other
    };
    Failure::Transport {
        kind,
        message: describe(error),
    }
}

/// A reqwest error and its causes on one line, with the URL redacted.
pub(crate) fn describe(error: reqwest::Error) -> String {
    let url = error.url().map(redact::url);
    let error = error.without_url();
    let mut message = error.to_string();
    let mut source = std::error::Error::source(&error);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    if let Some(url) = url {
        message.push_str(&format!(" ({url})"));
    }
    redact::text(&redact::single_line(&message))
}

async fn read_bounded(mut response: reqwest::Response) -> Result<Vec<u8>, Failure> {
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match response.chunk().await.map_err(transport)? {
            Some(chunk) => body.extend_from_slice(&chunk),
            None => break,
        }
    }
    Ok(body)
}

fn request_id(headers: &HeaderMap) -> Option<String> {
    REQUEST_ID_HEADERS
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

fn excerpt(text: &str) -> Option<String> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut cut: String = text.chars().take(EXCERPT_CHARS).collect();
    if cut.len() < text.len() {
        cut.push('…');
    }
    Some(redact::text(&redact::single_line(&cut)))
}

/// An error response body of `status` as a service error (for the fuzz harness).
pub(crate) fn decode_error_body(status: u16, body: &[u8]) -> ServiceError {
    const OPERATION: Operation = Operation {
        id: "fuzz",
        method: "GET",
        path: "/",
        idempotent: true,
    };
    service_error(
        &OPERATION,
        1,
        status,
        &HeaderMap::new(),
        ErrorBody::Raw(body.to_vec()),
    )
}

/// Text from the service as it may be shown: one line, secrets redacted.
fn clean(text: &str) -> String {
    redact::text(&redact::single_line(text))
}

fn service_error(
    op: &Operation,
    attempts: u32,
    status: u16,
    headers: &HeaderMap,
    body: ErrorBody,
) -> ServiceError {
    let (parsed, text) = match body {
        ErrorBody::Decoded(parsed) => {
            let text = serde_json::to_string(&parsed).unwrap_or_default();
            (Some(*parsed), text)
        }
        ErrorBody::Raw(bytes) => (
            serde_json::from_slice::<ErrorResponse>(&bytes).ok(),
            String::from_utf8_lossy(&bytes).into_owned(),
        ),
    };
    // A body the generated core's hook replaced (empty, HTML, …) says nothing of the service's
    // own: keep only the excerpt of what was received.
    let (parsed, raw_excerpt) = if headers.contains_key(hw_api_gen::REPLACED_BODY_HEADER) {
        let raw = parsed
            .as_ref()
            .and_then(|p| p.extra.get("rawBody"))
            .and_then(|v| v.as_str())
            .and_then(excerpt);
        (None, raw)
    } else {
        (parsed, excerpt(&text))
    };
    let detail = parsed.as_ref().and_then(|p| p.error.as_ref());
    let message = detail
        .and_then(|d| d.message.clone())
        .or_else(|| parsed.as_ref().and_then(|p| p.message.clone()))
        .map(|m| clean(&m));
    let validation = detail
        .map(|d| &d.validation_errors)
        .filter(|v| !v.is_empty())
        .or_else(|| parsed.as_ref().map(|p| &p.validation_errors))
        .map(|list| {
            list.iter()
                .map(|v| FieldError {
                    target: v.target.as_deref().map(clean),
                    message: v.message.as_deref().map(clean),
                })
                .collect()
        })
        .unwrap_or_default();
    ServiceError {
        operation: op.id,
        status,
        code: detail.and_then(|d| d.code.clone()),
        message,
        validation_errors: validation,
        activity_id: parsed
            .as_ref()
            .and_then(|p| p.activity_id.as_deref())
            .map(clean),
        request_id: request_id(headers).as_deref().map(clean),
        retry_after: server_wait(headers, SystemTime::now()),
        body_excerpt: raw_excerpt,
        attempts,
    }
}
