//! The `ClientHooks` implementation every generated call runs through.
//!
//! It must live in this crate (the orphan rule: `ClientHooks` is implemented for the generated
//! `Client`). It does three things:
//!
//! 1. removes the `api-version` header progenitor adds to every request (the service has no such
//!    header, and a real gateway might object to it);
//! 2. hands the request to an [`Interceptor`] if one is installed (the hand-written client puts
//!    authentication and retries there);
//! 3. makes every error response decodable: progenitor decodes an error body with the spec's
//!    `ErrorResponse` schema, and on an empty or non-JSON body (an HTML page from a gateway) it
//!    returns an error that has lost the HTTP status. Such a body is replaced by the flat error
//!    shape `{"statusCode", "message", "rawBody"}`, where `rawBody` is a bounded excerpt of what
//!    was received, and the header [`REPLACED_BODY_HEADER`] marks the response.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use progenitor_client::{ClientHooks, ClientInfo, Error, OperationInfo};

use crate::generated::{Client, types::ErrorResponse};

/// The header set on an error response whose body the hooks replaced.
pub const REPLACED_BODY_HEADER: &str = "x-hw-api-replaced-body";

/// The most of an error body that is read; error bodies are small, a larger one is cut here.
const MAX_ERROR_BODY: usize = 64 * 1024;

/// The most of a replaced body kept in `rawBody`.
const RAW_BODY_EXCERPT: usize = 1024;

/// The future an [`Interceptor`] returns.
pub type InterceptorFuture<'a> =
    Pin<Box<dyn Future<Output = reqwest::Result<reqwest::Response>> + Send + 'a>>;

/// Sends a request on behalf of a generated call, for example with authentication and retries.
pub trait Interceptor: Send + Sync + 'static {
    /// Sends `request` with `client`; `operation_id` is the spec's id of the calling operation.
    fn execute<'a>(
        &'a self,
        client: &'a reqwest::Client,
        request: reqwest::Request,
        operation_id: &'static str,
    ) -> InterceptorFuture<'a>;
}

/// The hooks state carried by the generated `Client` (its progenitor "inner type").
#[derive(Clone, Default)]
pub struct Hooks {
    interceptor: Option<Arc<dyn Interceptor>>,
}

impl Hooks {
    /// Hooks that send requests as they are.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hooks that send every request through `interceptor`.
    pub fn with_interceptor(interceptor: Arc<dyn Interceptor>) -> Self {
        Self {
            interceptor: Some(interceptor),
        }
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("interceptor", &self.interceptor.is_some())
            .finish()
    }
}

impl ClientHooks<Hooks> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        request.headers_mut().remove("api-version");
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let response = match &self.inner().interceptor {
            Some(interceptor) => {
                interceptor
                    .execute(self.client(), request, info.operation_id)
                    .await?
            }
            None => self.client().execute(request).await?,
        };
        decodable_error_body(response).await
    }
}

/// Leaves successes and decodable error bodies alone; replaces any other error body.
async fn decodable_error_body(
    mut response: reqwest::Response,
) -> reqwest::Result<reqwest::Response> {
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return Ok(response);
    }
    let mut body = Vec::new();
    while body.len() < MAX_ERROR_BODY {
        match response.chunk().await? {
            Some(chunk) => body.extend_from_slice(&chunk),
            None => break,
        }
    }
    let mut headers = response.headers().clone();
    let version = response.version();
    if serde_json::from_slice::<ErrorResponse>(&body).is_err() {
        body = replacement_body(status, &body);
        headers.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/json"),
        );
        headers.insert(REPLACED_BODY_HEADER, http::HeaderValue::from_static("1"));
    }
    headers.remove(http::header::CONTENT_LENGTH);
    headers.remove(http::header::TRANSFER_ENCODING);
    let mut rebuilt = http::Response::new(body);
    *rebuilt.status_mut() = status;
    *rebuilt.version_mut() = version;
    *rebuilt.headers_mut() = headers;
    Ok(reqwest::Response::from(rebuilt))
}

fn replacement_body(status: http::StatusCode, body: &[u8]) -> Vec<u8> {
    let text = String::from_utf8_lossy(body);
    let excerpt: String = text.chars().take(RAW_BODY_EXCERPT).collect();
    let replacement = serde_json::json!({
        "statusCode": status.as_u16(),
        "message": status.canonical_reason().unwrap_or("error"),
        "rawBody": excerpt,
    });
    replacement.to_string().into_bytes()
}
