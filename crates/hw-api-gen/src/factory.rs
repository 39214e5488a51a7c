//! The `ClientHooks` implementation every generated call runs through, and [`RequestFactory`],
//! which takes the request a generated call builds instead of letting it be sent.
//!
//! It must live in this crate: `ClientHooks` can only be implemented here, for the generated
//! `Client` (the orphan rule). The hooks do two things:
//!
//! 1. `pre` removes the `api-version` header progenitor adds to every request (the service has
//!    no such header, and a real gateway might object to it; `docs/service-notes.md`,
//!    "Progenitor: api-version header and error decoding"), and sends a POST or PUT without a
//!    body as an empty JSON request, as the service wants it (progenitor sets a content type
//!    only for a body; `docs/service-notes.md`, "Hardware API: base URL and headers");
//! 2. `exec` hands the finished request to the call's capture, when it has one, instead of
//!    sending it. hw-api sends every request itself, through one transport (token, retries,
//!    bounded reads, decoding); the generated methods are its typed request builders. Without a
//!    capture (`Hooks::new()`), the generated client sends the request as progenitor does, which
//!    the wire-level tests of this crate use.
//!
//! Nothing is carried between the crates but the request itself: no task-local, no private
//! header.

use std::future::Future;
use std::marker::PhantomData;
use std::task::Poll;

use progenitor_client::{ClientHooks, ClientInfo, Error, OperationInfo, ResponseValue};

use crate::generated::{Client, types::ErrorResponse};
use crate::hooks::{Capture, Hooks, declare_empty_body};

impl ClientHooks<Hooks> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        request.headers_mut().remove("api-version");
        declare_empty_body(request);
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        match &self.inner().capture {
            Some(capture) => {
                capture.put(request);
                // The call ends here: `RequestFactory::build` takes the request and drops it.
                std::future::pending().await
            }
            None => self.client().execute(request).await,
        }
    }
}

/// A request built by a generated call, with the type its success decodes to.
#[derive(Debug)]
pub struct Built<T> {
    /// The request, complete but for credentials.
    pub request: reqwest::Request,
    decodes: PhantomData<fn() -> T>,
}

/// Builds the requests of generated calls without sending them.
#[derive(Clone, Debug)]
pub struct RequestFactory {
    baseurl: String,
    http: reqwest::Client,
}

impl RequestFactory {
    /// Builds requests under `baseurl` (no trailing slash) for `http`, which will send them.
    pub fn new(baseurl: &str, http: reqwest::Client) -> Self {
        Self {
            baseurl: baseurl.trim_end_matches('/').to_owned(),
            http,
        }
    }

    /// The request that the generated call `call` makes, given a client of its own; `Err` with
    /// progenitor's message when the call cannot build it (a body that cannot be serialized,
    /// a header value that is not valid, …).
    pub async fn build<T, F, Fut>(&self, call: F) -> Result<Built<T>, String>
    where
        F: FnOnce(Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, Error<ErrorResponse>>>,
    {
        let capture = Capture::default();
        let client = Client::new_with_client(
            &self.baseurl,
            self.http.clone(),
            Hooks {
                capture: Some(capture.clone()),
            },
        );
        let mut call = std::pin::pin!(call(client));
        let request = std::future::poll_fn(|cx| match call.as_mut().poll(cx) {
            Poll::Pending => match capture.take() {
                Some(request) => Poll::Ready(Ok(request)),
                None => Poll::Pending,
            },
            Poll::Ready(Err(e)) => Poll::Ready(Err(e.to_string())),
            Poll::Ready(Ok(_)) => Poll::Ready(Err(
                "the generated call finished without building a request".to_owned(),
            )),
        })
        .await?;
        Ok(Built {
            request,
            decodes: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Id;

    #[tokio::test]
    async fn a_built_request_is_complete_and_unsent() {
        // Port 9 (discard) on loopback: nothing is listening, so a send would fail.
        let factory = RequestFactory::new("http://127.0.0.1:9/v2.0/my/", reqwest::Client::new());
        let built = factory
            .build(|g| async move { g.get_product(&Id(14_631_253_285_588_838)).await })
            .await
            .unwrap();
        assert_eq!(built.request.method(), reqwest::Method::GET);
        assert_eq!(
            built.request.url().as_str(),
            "http://127.0.0.1:9/v2.0/my/hardware/products/14631253285588838"
        );
        assert!(built.request.headers().get("api-version").is_none());
        assert_eq!(built.request.headers()["accept"], "application/json");
    }

    #[tokio::test]
    async fn path_segments_are_path_encoded() {
        let factory = RequestFactory::new("https://api.test/v2.0/my", reqwest::Client::new());
        let built = factory
            .build(|g| async move { g.get_preprod_asset("a b+c", "d/e").await })
            .await
            .unwrap();
        assert_eq!(
            built.request.url().path(),
            "/v2.0/my/hardware/preprod/packages/a%20b+c/assets/d%2Fe"
        );
    }
}
