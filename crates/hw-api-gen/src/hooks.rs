//! The generated `Client`'s inner type, [`Hooks`], and what every generated call does to its
//! request before it is sent or captured ([`declare_empty_body`]). The `ClientHooks`
//! implementation that uses them is in `factory.rs`, beside the [`RequestFactory`] that
//! captures requests: this file is below the generated code, which names `Hooks`.
//!
//! [`RequestFactory`]: crate::RequestFactory

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

/// The hooks state carried by the generated `Client` (its progenitor "inner type").
#[derive(Clone, Default)]
pub struct Hooks {
    pub(crate) capture: Option<Capture>,
}

impl Hooks {
    /// Hooks that let the generated client send its requests itself.
    pub fn new() -> Self {
        Self::default()
    }
}

impl fmt::Debug for Hooks {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Hooks")
            .field("captures", &self.capture.is_some())
            .finish()
    }
}

/// Where one generated call leaves its request.
#[derive(Clone, Default)]
pub(crate) struct Capture(Arc<Mutex<Option<reqwest::Request>>>);

impl Capture {
    pub(crate) fn put(&self, request: reqwest::Request) {
        *self.0.lock().unwrap_or_else(PoisonError::into_inner) = Some(request);
    }

    pub(crate) fn take(&self) -> Option<reqwest::Request> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).take()
    }
}

/// Gives a POST or PUT that has no body (commit, publisher metadata, a label's cancel) the
/// headers of an empty JSON body, `Content-Type: application/json` and `Content-Length: 0`: the
/// service answers 415 without them. A request with a body keeps the media type its generated
/// call set from the spec. The hooks apply it to every generated call; a request built by hand
/// for the API applies it too.
pub fn declare_empty_body(request: &mut reqwest::Request) {
    use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
    let sends = matches!(
        *request.method(),
        reqwest::Method::POST | reqwest::Method::PUT
    );
    if !sends || request.body().is_some() {
        return;
    }
    let headers = request.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(CONTENT_LENGTH, HeaderValue::from_static("0"));
    *request.body_mut() = Some(reqwest::Body::from(Vec::new()));
}
