//! The client and its operations.

use std::sync::Arc;

use hw_api_gen::types::{NewSubmission, Product, Submission};
use hw_api_gen::{AuthorizeFuture, Authorizer, Hooks, Id};
use reqwest::header::AUTHORIZATION;
use url::Url;

use crate::auth::TokenProvider;
use crate::auth::cache::Lease;
use crate::auth::cache::TokenCache;
use crate::call::{ATTEMPT_LEASE, Operation, bearer, from_generated};
use crate::config::ClientBuilder;
use crate::error::Error;
use crate::pager::Pager;
use crate::retry::RetryPolicy;
use crate::{origin, redact};

const LIST_PRODUCTS: Operation = Operation {
    id: "listProducts",
    method: "GET",
    path: "/hardware/products",
    idempotent: true,
};
const GET_PRODUCT: Operation = Operation {
    id: "getProduct",
    method: "GET",
    path: "/hardware/products/{productId}",
    idempotent: true,
};
const LIST_SUBMISSIONS: Operation = Operation {
    id: "listSubmissions",
    method: "GET",
    path: "/hardware/products/{productId}/submissions",
    idempotent: true,
};
const GET_SUBMISSION: Operation = Operation {
    id: "getSubmission",
    method: "GET",
    path: "/hardware/products/{productId}/submissions/{submissionId}",
    idempotent: true,
};
const CREATE_SUBMISSION: Operation = Operation {
    id: "createSubmission",
    method: "POST",
    path: "/hardware/products/{productId}/submissions",
    idempotent: false,
};

/// Every operation the client knows, for checks against the spec.
#[doc(hidden)]
pub fn operations() -> Vec<(&'static str, &'static str, &'static str, bool)> {
    [
        LIST_PRODUCTS,
        GET_PRODUCT,
        LIST_SUBMISSIONS,
        GET_SUBMISSION,
        CREATE_SUBMISSION,
    ]
    .iter()
    .map(|o| (o.id, o.method, o.path, o.idempotent))
    .collect()
}

/// A client of the Hardware Dev Center API. Cheap to clone; clones share connections and the
/// token cache.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub(crate) generated: hw_api_gen::Client,
    pub(crate) http: reqwest::Client,
    pub(crate) base: Url,
    pub(crate) tokens: Arc<TokenCache>,
    pub(crate) retry: RetryPolicy,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &redact::url(&self.inner.base))
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// Attaches the bearer token to generated calls, only on the API origin.
struct Bearer {
    base: Url,
    tokens: Arc<TokenCache>,
}

impl Authorizer for Bearer {
    fn authorize<'a>(
        &'a self,
        request: &'a mut reqwest::Request,
        _operation: &'static str,
    ) -> AuthorizeFuture<'a> {
        Box::pin(async move {
            if !origin::same_origin(request.url(), &self.base) {
                return Err(format!(
                    "refusing to send the access token to {}, which is not the API origin",
                    redact::url(request.url())
                ));
            }
            let lease = match ATTEMPT_LEASE.try_with(Lease::clone) {
                Ok(lease) => lease,
                Err(_) => self.tokens.get().await.map_err(|e| e.to_string())?,
            };
            request
                .headers_mut()
                .insert(AUTHORIZATION, bearer(&lease.secret)?);
            Ok(())
        })
    }
}

impl Client {
    /// A builder with the production defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    pub(crate) fn from_parts(
        base: Url,
        http: reqwest::Client,
        tokens: Arc<dyn TokenProvider>,
        retry: RetryPolicy,
    ) -> Self {
        let tokens = Arc::new(TokenCache::new(tokens));
        let hooks = Hooks::with_authorizer(Arc::new(Bearer {
            base: base.clone(),
            tokens: tokens.clone(),
        }));
        let generated = hw_api_gen::Client::new_with_client(
            base.as_str().trim_end_matches('/'),
            http.clone(),
            hooks,
        );
        Self {
            inner: Arc::new(Inner {
                generated,
                http,
                base,
                tokens,
                retry,
            }),
        }
    }

    /// The API's base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// Every product of the account, across all pages.
    pub fn list_products(&self) -> Pager<Product> {
        let inner = self.inner.clone();
        let first_url = self.inner.url(LIST_PRODUCTS.path);
        let first = Box::pin(async move {
            let generated = &inner.generated;
            inner
                .call(&LIST_PRODUCTS, LIST_PRODUCTS.path, |_| {
                    from_generated(generated.list_products())
                })
                .await
        });
        Pager::new(self.inner.clone(), &LIST_PRODUCTS, first_url, first)
    }

    /// One product.
    pub async fn get_product(&self, product: Id) -> Result<Product, Error> {
        let generated = &self.inner.generated;
        self.inner
            .call(&GET_PRODUCT, GET_PRODUCT.path, |_| {
                from_generated(generated.get_product(&product))
            })
            .await
    }

    /// Every submission of a product, across all pages. List items usually lack
    /// `workflowStatus` and `downloads`; [`get_submission`](Self::get_submission) has them.
    pub fn list_submissions(&self, product: Id) -> Pager<Submission> {
        let inner = self.inner.clone();
        let first_url = self
            .inner
            .url(&format!("/hardware/products/{product}/submissions"));
        let first = Box::pin(async move {
            let generated = &inner.generated;
            inner
                .call(&LIST_SUBMISSIONS, LIST_SUBMISSIONS.path, |_| {
                    from_generated(generated.list_submissions(&product))
                })
                .await
        });
        Pager::new(self.inner.clone(), &LIST_SUBMISSIONS, first_url, first)
    }

    /// One submission, with its workflow status and downloads.
    pub async fn get_submission(&self, product: Id, submission: Id) -> Result<Submission, Error> {
        let generated = &self.inner.generated;
        self.inner
            .call(&GET_SUBMISSION, GET_SUBMISSION.path, |_| {
                from_generated(generated.get_submission(&product, &submission))
            })
            .await
    }

    /// Creates a submission. Not idempotent: it is retried only when the request provably was
    /// not processed (a refused connection, a 429); any other failure after sending is an
    /// [`Error::Ambiguous`], never a blind resend.
    pub async fn create_submission(
        &self,
        product: Id,
        body: &NewSubmission,
    ) -> Result<Submission, Error> {
        let generated = &self.inner.generated;
        self.inner
            .call(&CREATE_SUBMISSION, CREATE_SUBMISSION.path, |_| {
                from_generated(generated.create_submission(&product, body))
            })
            .await
    }
}

impl Inner {
    /// The absolute URL of `path` under the base URL.
    fn url(&self, path: &str) -> Url {
        let joined = format!("{}{path}", self.base.as_str().trim_end_matches('/'));
        Url::parse(&joined).unwrap_or_else(|_| self.base.clone())
    }
}
