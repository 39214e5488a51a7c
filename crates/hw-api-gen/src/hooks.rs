//! The `ClientHooks` implementation every generated call runs through.
//!
//! It must live in this crate (the orphan rule: `ClientHooks` is implemented for the generated
//! `Client`). It does three things:
//!
//! 1. removes the `api-version` header progenitor adds to every request (the service has no such
//!    header, and a real gateway might object to it);
//! 2. lets an [`Authorizer`] add credentials to the request, if one is installed (the
//!    hand-written client attaches its bearer token there, after checking the request's origin;
//!    it runs retries around whole generated calls, so that its errors stay typed);
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

/// The future an [`Authorizer`] returns: `Err` carries a message for a person, and the generated
/// call then fails with `Error::Custom` without sending anything.
pub type AuthorizeFuture<'a> = Pin<Box<dyn Future<Output = Result<(), String>> + Send + 'a>>;

/// Adds credentials to the request of a generated call before it is sent.
pub trait Authorizer: Send + Sync + 'static {
    /// Authorizes `request`; `operation_id` is the spec's id of the calling operation.
    fn authorize<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        operation_id: &'static str,
    ) -> AuthorizeFuture<'a>;
}

/// The hooks state carried by the generated `Client` (its progenitor "inner type").
#[derive(Clone, Default)]
pub struct Hooks {
    authorizer: Option<Arc<dyn Authorizer>>,
}

impl Hooks {
    /// Hooks that send requests as they are.
    pub fn new() -> Self {
        Self::default()
    }

    /// Hooks that let `authorizer` add credentials to every request.
    pub fn with_authorizer(authorizer: Arc<dyn Authorizer>) -> Self {
        Self {
            authorizer: Some(authorizer),
        }
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("authorizer", &self.authorizer.is_some())
            .finish()
    }
}

impl ClientHooks<Hooks> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        request.headers_mut().remove("api-version");
        match &self.inner().authorizer {
            Some(authorizer) => authorizer
                .authorize(request, info.operation_id)
                .await
                .map_err(Error::Custom),
            None => Ok(()),
        }
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let response = self.client().execute(request).await?;
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
