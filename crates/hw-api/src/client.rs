//! The client and its operations.

use std::sync::Arc;

use hw_api_gen::types::{
    Audience, ErrorResponse, NewProduct, NewShippingLabel, NewSubmission, PreprodAsset,
    PreprodPackage, Product, ProductUpdate, ShippingLabel, ShippingLabelUpdate, Submission,
    SubmissionUpdate,
};
use hw_api_gen::{AuthorizeFuture, Authorizer, Hooks, Id};
use reqwest::header::AUTHORIZATION;
use url::Url;

use crate::auth::TokenProvider;
use crate::auth::cache::Lease;
use crate::auth::cache::TokenCache;
use crate::call::{ATTEMPT_LEASE, Operation, bearer, from_generated};
use crate::config::ClientBuilder;
use crate::error::Error;
use crate::pager::{Envelope, Pager};
use crate::retry::RetryPolicy;
use crate::transfer::TransferOptions;
use crate::{origin, redact};

/// Declares the operations the client calls: constant, spec id, method, path, idempotent.
macro_rules! operations {
    ($($name:ident = $id:literal, $method:literal, $path:literal, $idempotent:literal;)*) => {
        $(pub(crate) const $name: Operation = Operation {
            id: $id,
            method: $method,
            path: $path,
            idempotent: $idempotent,
        };)*

        /// Every operation the client knows, for checks against the spec.
        #[doc(hidden)]
        pub fn operations() -> Vec<(&'static str, &'static str, &'static str, bool)> {
            vec![$(($id, $method, $path, $idempotent)),*]
        }
    };
}

operations! {
    LIST_PRODUCTS = "listProducts", "GET", "/hardware/products", true;
    CREATE_PRODUCT = "createProduct", "POST", "/hardware/products", false;
    GET_PRODUCT = "getProduct", "GET", "/hardware/products/{productId}", true;
    UPDATE_PRODUCT = "updateProduct", "PATCH", "/hardware/products/{productId}", true;
    LIST_SUBMISSIONS = "listSubmissions", "GET", "/hardware/products/{productId}/submissions", true;
    CREATE_SUBMISSION = "createSubmission", "POST", "/hardware/products/{productId}/submissions", false;
    GET_SUBMISSION = "getSubmission", "GET", "/hardware/products/{productId}/submissions/{submissionId}", true;
    UPDATE_SUBMISSION = "updateSubmission", "PATCH", "/hardware/products/{productId}/submissions/{submissionId}", true;
    COMMIT_SUBMISSION = "commitSubmission", "POST", "/hardware/products/{productId}/submissions/{submissionId}/commit", false;
    CREATE_PUBLISHER_METADATA = "createPublisherMetadata", "POST", "/hardware/products/{productId}/submissions/{submissionId}/createpublishermetadata", true;
    LIST_SHIPPING_LABELS = "listShippingLabels", "GET", "/hardware/products/{productId}/submissions/{submissionId}/shippingLabels", true;
    CREATE_SHIPPING_LABEL = "createShippingLabel", "POST", "/hardware/products/{productId}/submissions/{submissionId}/shippingLabels", false;
    GET_SHIPPING_LABEL = "getShippingLabel", "GET", "/hardware/products/{productId}/submissions/{submissionId}/shippingLabels/{shippingLabelId}", true;
    UPDATE_SHIPPING_LABEL = "updateShippingLabel", "PATCH", "/hardware/products/{productId}/submissions/{submissionId}/shippingLabels/{shippingLabelId}", false;
    CANCEL_SHIPPING_LABEL = "cancelShippingLabel", "PUT", "/hardware/products/{productId}/submissions/{submissionId}/shippingLabels/{shippingLabelId}/cancel", true;
    LIST_AUDIENCES = "listAudiences", "GET", "/hardware/audiences", true;
    GET_PARTNER_SUBMISSION = "getPartnerSubmission", "GET", "/hardware/products/relationships/sourcepubliherid/{sourcePublisherId}/sourceproductid/{sourceProductId}/sourcesubmissionid/{sourceSubmissionId}", true;
    UPLOAD_PREPROD_PACKAGE = "uploadPreprodPackage", "PUT", "/hardware/preprod/packages", false;
    GET_PREPROD_PACKAGE = "getPreprodPackage", "GET", "/hardware/preprod/packages/{packageId}", true;
    LIST_PREPROD_ASSETS = "listPreprodAssets", "GET", "/hardware/preprod/packages/{packageId}/assets", true;
    GET_PREPROD_ASSET = "getPreprodAsset", "GET", "/hardware/preprod/packages/{packageId}/assets/{assetId}", true;
    DOWNLOAD_PREPROD_ASSET = "downloadPreprodAsset", "GET", "/hardware/preprod/packages/{packageId}/assets/{assetId}/download", true;
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
    /// The blob client, or why it could not be built.
    pub(crate) blob: Result<reqwest::Client, String>,
    pub(crate) transfer: TransferOptions,
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
        blob: Result<reqwest::Client, String>,
        transfer: TransferOptions,
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
                blob,
                transfer,
                base,
                tokens,
                retry,
            }),
        }
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// The API's base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    /// Every product of the account, across all pages.
    pub fn list_products(&self) -> Pager<Product> {
        self.pager(&LIST_PRODUCTS, LIST_PRODUCTS.path.to_owned(), |g| {
            Box::pin(g.list_products())
        })
    }

    /// One product.
    pub async fn get_product(&self, product: Id) -> Result<Product, Error> {
        self.inner
            .run(&GET_PRODUCT, |g| g.get_product(&product))
            .await
    }

    /// Creates a product. Not idempotent: retried only when it provably was not processed.
    pub async fn create_product(&self, body: &NewProduct) -> Result<Product, Error> {
        self.inner
            .run(&CREATE_PRODUCT, |g| g.create_product(body))
            .await
    }

    /// Changes a product's name, marketing names or announcement date.
    pub async fn update_product(&self, product: Id, body: &ProductUpdate) -> Result<(), Error> {
        self.inner
            .run(&UPDATE_PRODUCT, |g| g.update_product(&product, body))
            .await
    }

    /// Every submission of a product, across all pages. List items usually lack
    /// `workflowStatus` and `downloads`; [`get_submission`](Self::get_submission) has them.
    pub fn list_submissions(&self, product: Id) -> Pager<Submission> {
        let path = format!("/hardware/products/{product}/submissions");
        self.pager(&LIST_SUBMISSIONS, path, move |g| {
            Box::pin(async move { g.list_submissions(&product).await })
        })
    }

    /// One submission, with its workflow status and downloads.
    pub async fn get_submission(&self, product: Id, submission: Id) -> Result<Submission, Error> {
        self.inner
            .run(&GET_SUBMISSION, |g| g.get_submission(&product, &submission))
            .await
    }

    /// Creates a submission. Not idempotent: it is retried only when the request provably was
    /// not processed (a refused connection, a 429); any other failure after sending is an
    /// [`Error::Ambiguous`], never a blind resend. See
    /// [`create_submission_once`](Self::create_submission_once) for a create that checks.
    pub async fn create_submission(
        &self,
        product: Id,
        body: &NewSubmission,
    ) -> Result<Submission, Error> {
        self.inner
            .run(&CREATE_SUBMISSION, |g| g.create_submission(&product, body))
            .await
    }

    /// Renames a submission.
    pub async fn update_submission(
        &self,
        product: Id,
        submission: Id,
        body: &SubmissionUpdate,
    ) -> Result<(), Error> {
        self.inner
            .run(&UPDATE_SUBMISSION, |g| {
                g.update_submission(&product, &submission, body)
            })
            .await
    }

    /// Sends the commit request once (see [`commit_submission`](Self::commit_submission) for a
    /// commit that settles unclear outcomes).
    pub(crate) async fn send_commit(&self, product: Id, submission: Id) -> Result<(), Error> {
        self.inner
            .run(&COMMIT_SUBMISSION, |g| {
                g.commit_submission(&product, &submission)
            })
            .await
    }

    /// Asks the service to generate the driver metadata of a submission shared with you.
    pub async fn create_publisher_metadata(
        &self,
        product: Id,
        submission: Id,
    ) -> Result<(), Error> {
        self.inner
            .run(&CREATE_PUBLISHER_METADATA, |g| {
                g.create_publisher_metadata(&product, &submission)
            })
            .await
    }

    /// Every shipping label of a submission, with their targeting if asked.
    pub fn list_shipping_labels(
        &self,
        product: Id,
        submission: Id,
        targeting: bool,
    ) -> Pager<ShippingLabel> {
        let mut path =
            format!("/hardware/products/{product}/submissions/{submission}/shippingLabels");
        if targeting {
            path.push_str("?includeTargetingInfo=true");
        }
        let include = targeting.then_some(true);
        self.pager(&LIST_SHIPPING_LABELS, path, move |g| {
            Box::pin(async move { g.list_shipping_labels(&product, &submission, include).await })
        })
    }

    /// One shipping label, with its targeting if asked.
    pub async fn get_shipping_label(
        &self,
        product: Id,
        submission: Id,
        label: Id,
        targeting: bool,
    ) -> Result<ShippingLabel, Error> {
        let include = targeting.then_some(true);
        self.inner
            .run(&GET_SHIPPING_LABEL, |g| {
                g.get_shipping_label(&product, &submission, &label, include)
            })
            .await
    }

    /// Creates a shipping label after checking the documented rules
    /// ([`targeting::check_new_label`](crate::targeting::check_new_label); the extension-INF
    /// rule needs the driver metadata, see [`publish`](Self::publish)). Not idempotent.
    pub async fn create_shipping_label(
        &self,
        product: Id,
        submission: Id,
        body: &NewShippingLabel,
    ) -> Result<ShippingLabel, Error> {
        self.create_checked_label(product, submission, body, false)
            .await
    }

    /// Creates a shipping label after checking the rules, with `extension_inf` saying whether
    /// the targeted INFs are extension INFs.
    pub(crate) async fn create_checked_label(
        &self,
        product: Id,
        submission: Id,
        body: &NewShippingLabel,
        extension_inf: bool,
    ) -> Result<ShippingLabel, Error> {
        crate::targeting::check_new_label(body, extension_inf).map_err(|e| {
            Error::InvalidRequest {
                operation: CREATE_SHIPPING_LABEL.id,
                message: e.to_string(),
            }
        })?;
        self.inner
            .run(&CREATE_SHIPPING_LABEL, |g| {
                g.create_shipping_label(&product, &submission, body)
            })
            .await
    }

    /// Adds or removes hardware ids and CHIDs, replaces the audiences, or gives a justification.
    pub async fn update_shipping_label(
        &self,
        product: Id,
        submission: Id,
        label: Id,
        body: &ShippingLabelUpdate,
    ) -> Result<(), Error> {
        self.inner
            .run(&UPDATE_SHIPPING_LABEL, |g| {
                g.update_shipping_label(&product, &submission, &label, body)
            })
            .await
    }

    /// Cancels a label in Microsoft approval or gradual rollout.
    pub async fn cancel_shipping_label(
        &self,
        product: Id,
        submission: Id,
        label: Id,
    ) -> Result<(), Error> {
        self.inner
            .run(&CANCEL_SHIPPING_LABEL, |g| {
                g.cancel_shipping_label(&product, &submission, &label)
            })
            .await
    }

    /// Every audience a label can be restricted to.
    pub fn list_audiences(&self) -> Pager<Audience> {
        self.pager(&LIST_AUDIENCES, LIST_AUDIENCES.path.to_owned(), |g| {
            Box::pin(g.list_audiences())
        })
    }

    /// A partner's shared submission as it is known in your account.
    pub async fn get_partner_submission(
        &self,
        publisher: Id,
        product: Id,
        submission: Id,
    ) -> Result<Submission, Error> {
        self.inner
            .run(&GET_PARTNER_SUBMISSION, |g| {
                g.get_partner_submission(&publisher, &product, &submission)
            })
            .await
    }

    /// Sends a package (an EV-signed cab) for pre-production signing. Not idempotent.
    pub async fn upload_preprod_package(
        &self,
        package: bytes::Bytes,
    ) -> Result<PreprodPackage, Error> {
        self.inner
            .run(&UPLOAD_PREPROD_PACKAGE, |g| {
                g.upload_preprod_package(package.clone())
            })
            .await
    }

    /// A pre-production package and its signing status.
    pub async fn get_preprod_package(&self, package: &str) -> Result<PreprodPackage, Error> {
        self.inner
            .run(&GET_PREPROD_PACKAGE, |g| g.get_preprod_package(package))
            .await
    }

    /// The signed assets of a pre-production package.
    pub async fn list_preprod_assets(&self, package: &str) -> Result<Vec<PreprodAsset>, Error> {
        let list = self
            .inner
            .run(&LIST_PREPROD_ASSETS, |g| g.list_preprod_assets(package))
            .await?;
        Ok(list.0)
    }

    /// One asset of a pre-production package.
    pub async fn get_preprod_asset(
        &self,
        package: &str,
        asset: &str,
    ) -> Result<PreprodAsset, Error> {
        self.inner
            .run(&GET_PREPROD_ASSET, |g| g.get_preprod_asset(package, asset))
            .await
    }

    /// Downloads an asset of a pre-production package to `dest` (through `<dest>.part`),
    /// checked against the asset's SHA-256; returns its size.
    pub async fn download_preprod_asset(
        &self,
        package: &str,
        asset: &str,
        dest: &std::path::Path,
    ) -> Result<u64, Error> {
        let expected = self.get_preprod_asset(package, asset).await?.content_hash;
        let segment =
            |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
        let url = self.inner.url(&format!(
            "/hardware/preprod/packages/{}/assets/{}/download",
            segment(package),
            segment(asset)
        ));
        let mut part = dest.as_os_str().to_owned();
        part.push(".part");
        let part = std::path::PathBuf::from(part);
        let (size, actual) = self
            .inner
            .call(
                &DOWNLOAD_PREPROD_ASSET,
                DOWNLOAD_PREPROD_ASSET.path,
                |lease| self.inner.get_to_file(&url, lease, &part),
            )
            .await?;
        if let Some(expected) = expected.filter(|e| !e.eq_ignore_ascii_case(&actual)) {
            let _ = tokio::fs::remove_file(&part).await;
            return Err(Error::Transfer(Box::new(
                crate::transfer::TransferError::Integrity {
                    what: format!("asset {asset} of preprod package {package}"),
                    message: format!("SHA-256 {actual} does not match the service's {expected}"),
                },
            )));
        }
        tokio::fs::rename(&part, dest).await.map_err(|e| {
            Error::Transfer(Box::new(crate::transfer::TransferError::File {
                path: dest.to_owned(),
                message: e.to_string(),
            }))
        })?;
        Ok(size)
    }

    /// A pager over a list operation whose first page `first` fetches; `path` (under the base
    /// URL, with its query) is where relative `next_link`s resolve from.
    fn pager<E, F>(&self, op: &'static Operation, path: String, first: F) -> Pager<E::Item>
    where
        E: Envelope,
        F: for<'a> Fn(&'a hw_api_gen::Client) -> GeneratedCall<'a, E> + Send + Sync + 'static,
    {
        let inner = self.inner.clone();
        let first_url = self.inner.url(&path);
        let first = Box::pin(async move { inner.run(op, &first).await });
        Pager::new(self.inner.clone(), op, first_url, first)
    }
}

/// A boxed generated call.
pub(crate) type GeneratedCall<'a, T> = std::pin::Pin<
    Box<
        dyn std::future::Future<
                Output = Result<hw_api_gen::ResponseValue<T>, hw_api_gen::Error<ErrorResponse>>,
            > + Send
            + 'a,
    >,
>;

impl Inner {
    /// Runs the generated call `call` as operation `op` (auth, retries, typed errors).
    pub(crate) async fn run<'a, T, F, Fut>(&'a self, op: &Operation, call: F) -> Result<T, Error>
    where
        T: serde::de::DeserializeOwned,
        F: Fn(&'a hw_api_gen::Client) -> Fut,
        Fut: std::future::Future<
                Output = Result<hw_api_gen::ResponseValue<T>, hw_api_gen::Error<ErrorResponse>>,
            >,
    {
        self.call(op, op.path, |_| from_generated(call(&self.generated)))
            .await
    }

    /// The absolute URL of `path` under the base URL.
    fn url(&self, path: &str) -> Url {
        let joined = format!("{}{path}", self.base.as_str().trim_end_matches('/'));
        Url::parse(&joined).unwrap_or_else(|_| self.base.clone())
    }
}
