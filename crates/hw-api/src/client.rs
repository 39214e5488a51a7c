//! The client and its operations: one method per operation of the spec, each a generated
//! call carried out by the transport (`transport.rs`). The flows that take more than one call
//! add their methods beside it, one module a job: `package.rs`, `commit.rs`, `wait.rs` and
//! `create_once.rs`.

use std::sync::Arc;

use hw_api_gen::Id;
use hw_api_gen::types::{
    Audience, ErrorResponse, NewProduct, NewShippingLabel, NewSubmission, PreprodAsset,
    PreprodPackage, Product, ProductUpdate, ShippingLabel, ShippingLabelUpdate, Submission,
    SubmissionUpdate,
};

use crate::error::Error;
use crate::inner::Inner;
use crate::pager::{Envelope, Pager};
use crate::redact;
use crate::transport::Operation;

/// Declares the operations the client calls: constant, spec id, method, path, idempotent.
macro_rules! operations {
    ($($name:ident = $id:literal, $method:literal, $path:literal, $idempotent:literal;)*) => {
        $(pub(crate) const $name: Operation = Operation {
            id: $id,
            method: $method,
            path: $path,
            idempotent: $idempotent,
        };)*

        /// The operation of the spec's `operationId` `id` (for resending a recorded request).
        #[cfg(feature = "test-util")]
        pub(crate) fn operation(id: &str) -> Option<&'static Operation> {
            match id {
                $($id => Some(&$name),)*
                _ => None,
            }
        }

        /// Every operation the client knows, for checks against the spec (the `test-util`
        /// feature).
        #[cfg(feature = "test-util")]
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

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &redact::url(self.inner.api.base()))
            .field("retry", self.inner.api.retry())
            .finish_non_exhaustive()
    }
}

impl Client {
    pub(crate) fn from_inner(inner: Inner) -> Self {
        Self {
            inner: Arc::new(inner),
        }
    }

    pub(crate) fn inner(&self) -> &Inner {
        &self.inner
    }

    /// The API's base URL.
    pub fn base_url(&self) -> &url::Url {
        self.inner.api.base()
    }

    /// The service's clock: the `Date` of its answer to a GET of the base URL sent without a
    /// token (whatever its status), for telling how far this machine's clock is off. Sent once,
    /// with the client's settings (proxy, user agent, certificates), and recorded like any
    /// other request.
    pub async fn service_clock(&self) -> Result<std::time::SystemTime, Error> {
        self.inner.api.service_clock().await
    }

    /// Every product of the account, across all pages.
    pub fn list_products(&self) -> Pager<Product> {
        self.pager(&LIST_PRODUCTS, |g| async move { g.list_products().await })
    }

    /// One product.
    pub async fn get_product(&self, product: Id) -> Result<Product, Error> {
        self.inner
            .api
            .call(
                &GET_PRODUCT,
                |g| async move { g.get_product(&product).await },
            )
            .await
    }

    /// Creates a product. Not idempotent: retried only when it provably was not processed.
    pub async fn create_product(&self, body: &NewProduct) -> Result<Product, Error> {
        self.inner
            .api
            .call(
                &CREATE_PRODUCT,
                |g| async move { g.create_product(body).await },
            )
            .await
    }

    /// Changes a product's name, marketing names or announcement date.
    pub async fn update_product(&self, product: Id, body: &ProductUpdate) -> Result<(), Error> {
        self.inner
            .api
            .call_unit(&UPDATE_PRODUCT, |g| async move {
                g.update_product(&product, body).await
            })
            .await
    }

    /// Every submission of a product, across all pages. List items usually lack
    /// `workflowStatus` and `downloads`; [`get_submission`](Self::get_submission) has them.
    pub fn list_submissions(&self, product: Id) -> Pager<Submission> {
        self.pager(&LIST_SUBMISSIONS, move |g| async move {
            g.list_submissions(&product).await
        })
    }

    /// One submission, with its workflow status and downloads.
    pub async fn get_submission(&self, product: Id, submission: Id) -> Result<Submission, Error> {
        self.inner
            .api
            .call(&GET_SUBMISSION, |g| async move {
                g.get_submission(&product, &submission).await
            })
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
            .api
            .call(&CREATE_SUBMISSION, |g| async move {
                g.create_submission(&product, body).await
            })
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
            .api
            .call_unit(&UPDATE_SUBMISSION, |g| async move {
                g.update_submission(&product, &submission, body).await
            })
            .await
    }

    /// Sends the commit request once (see [`commit_submission`](Self::commit_submission) for a
    /// commit that settles unclear outcomes).
    pub(crate) async fn send_commit(&self, product: Id, submission: Id) -> Result<(), Error> {
        self.inner
            .api
            .call_unit(&COMMIT_SUBMISSION, |g| async move {
                g.commit_submission(&product, &submission).await
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
            .api
            .call_unit(&CREATE_PUBLISHER_METADATA, |g| async move {
                g.create_publisher_metadata(&product, &submission).await
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
        let include = targeting.then_some(true);
        self.pager(&LIST_SHIPPING_LABELS, move |g| async move {
            g.list_shipping_labels(&product, &submission, include).await
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
            .api
            .call(&GET_SHIPPING_LABEL, |g| async move {
                g.get_shipping_label(&product, &submission, &label, include)
                    .await
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
            .api
            .call(&CREATE_SHIPPING_LABEL, |g| async move {
                g.create_shipping_label(&product, &submission, body).await
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
            .api
            .call_unit(&UPDATE_SHIPPING_LABEL, |g| async move {
                g.update_shipping_label(&product, &submission, &label, body)
                    .await
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
            .api
            .call_unit(&CANCEL_SHIPPING_LABEL, |g| async move {
                g.cancel_shipping_label(&product, &submission, &label).await
            })
            .await
    }

    /// Every audience a label can be restricted to.
    pub fn list_audiences(&self) -> Pager<Audience> {
        self.pager(&LIST_AUDIENCES, |g| async move { g.list_audiences().await })
    }

    /// A partner's shared submission as it is known in your account.
    pub async fn get_partner_submission(
        &self,
        publisher: Id,
        product: Id,
        submission: Id,
    ) -> Result<Submission, Error> {
        self.inner
            .api
            .call(&GET_PARTNER_SUBMISSION, |g| async move {
                g.get_partner_submission(&publisher, &product, &submission)
                    .await
            })
            .await
    }

    /// Sends a package (an EV-signed cab) for pre-production signing. Not idempotent.
    pub async fn upload_preprod_package(
        &self,
        package: bytes::Bytes,
    ) -> Result<PreprodPackage, Error> {
        self.inner
            .api
            .call(&UPLOAD_PREPROD_PACKAGE, |g| async move {
                g.upload_preprod_package(package).await
            })
            .await
    }

    /// A pre-production package and its signing status.
    pub async fn get_preprod_package(&self, package: &str) -> Result<PreprodPackage, Error> {
        self.inner
            .api
            .call(&GET_PREPROD_PACKAGE, |g| async move {
                g.get_preprod_package(package).await
            })
            .await
    }

    /// The signed assets of a pre-production package.
    pub async fn list_preprod_assets(&self, package: &str) -> Result<Vec<PreprodAsset>, Error> {
        let list = self
            .inner
            .api
            .call(&LIST_PREPROD_ASSETS, |g| async move {
                g.list_preprod_assets(package).await
            })
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
            .api
            .call(&GET_PREPROD_ASSET, |g| async move {
                g.get_preprod_asset(package, asset).await
            })
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
        let api = &self.inner.api;
        let built = api
            .build(&DOWNLOAD_PREPROD_ASSET, |g| async move {
                g.download_preprod_asset(package, asset).await
            })
            .await?;
        let mut part = dest.as_os_str().to_owned();
        part.push(".part");
        let part = std::path::PathBuf::from(part);
        let (size, actual) = api
            .download(&DOWNLOAD_PREPROD_ASSET, built.request, &part)
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
        tokio::fs::rename(&part, dest).await.map_err(|source| {
            Error::Transfer(Box::new(crate::transfer::TransferError::File {
                path: dest.to_owned(),
                source,
            }))
        })?;
        Ok(size)
    }

    /// A pager over the list operation `op` whose first page the generated call `first`
    /// fetches; relative `next_link`s resolve from the first page's URL.
    fn pager<E, F, Fut>(&self, op: &'static Operation, first: F) -> Pager<E::Item>
    where
        E: Envelope,
        F: FnOnce(hw_api_gen::Client) -> Fut + Send + 'static,
        Fut: std::future::Future<
                Output = Result<hw_api_gen::ResponseValue<E>, hw_api_gen::Error<ErrorResponse>>,
            > + Send
            + 'static,
    {
        Pager::new(self.inner.clone(), op, first)
    }
}
