//! A recorded API request sent again through the one pipeline (authorized, retried, read and
//! decoded like any other), its success decoded as its operation's type: how the tests replay
//! a user's trace through the client (`tests/traces.rs`, `docs/traces.md`).

use hw_api_gen::types::{
    AudienceList, PreprodAsset, PreprodAssetList, PreprodPackage, Product, ProductList,
    ShippingLabel, ShippingLabelList, Submission, SubmissionList,
};
use reqwest::header::{ACCEPT, CONTENT_TYPE, HeaderValue};

use crate::client::{Client, operation};
use crate::error::Error;
use crate::redact;

impl Client {
    /// Sends the recorded request of `operation` (its path and query `target`, under the API
    /// base URL's origin, and its JSON `body`) again, and decodes a success as the operation's
    /// type. For replaying traces; not a stable API.
    #[doc(hidden)]
    pub async fn resend_recorded(
        &self,
        operation_id: &str,
        target: &str,
        body: Option<&serde_json::Value>,
    ) -> Result<(), Error> {
        let invalid = |message: String| Error::InvalidRequest {
            operation: "resend",
            message,
        };
        let op = operation(operation_id)
            .ok_or_else(|| invalid(format!("{operation_id} is not an operation of the client")))?;
        let api = &self.inner().api;
        let url = api
            .base()
            .join(target)
            .map_err(|e| invalid(format!("{}: {e}", redact::text(target))))?;
        let method = reqwest::Method::from_bytes(op.method.as_bytes())
            .map_err(|e| invalid(e.to_string()))?;
        let mut request = reqwest::Request::new(method, url);
        request
            .headers_mut()
            .insert(ACCEPT, HeaderValue::from_static("application/json"));
        if let Some(body) = body {
            request
                .headers_mut()
                .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
            *request.body_mut() = Some(body.to_string().into());
        }
        hw_api_gen::declare_empty_body(&mut request);
        match op.id {
            "listProducts" => api.json::<ProductList>(op, request).await.map(drop),
            "listSubmissions" => api.json::<SubmissionList>(op, request).await.map(drop),
            "listShippingLabels" => api.json::<ShippingLabelList>(op, request).await.map(drop),
            "listAudiences" => api.json::<AudienceList>(op, request).await.map(drop),
            "listPreprodAssets" => api.json::<PreprodAssetList>(op, request).await.map(drop),
            "getProduct" | "createProduct" => api.json::<Product>(op, request).await.map(drop),
            "getSubmission" | "createSubmission" | "getPartnerSubmission" => {
                api.json::<Submission>(op, request).await.map(drop)
            }
            "getShippingLabel" | "createShippingLabel" => {
                api.json::<ShippingLabel>(op, request).await.map(drop)
            }
            "getPreprodPackage" | "uploadPreprodPackage" => {
                api.json::<PreprodPackage>(op, request).await.map(drop)
            }
            "getPreprodAsset" => api.json::<PreprodAsset>(op, request).await.map(drop),
            // Updates, commit, cancel and a download: any 2xx, whatever its body.
            _ => api.unit(op, request).await,
        }
    }
}
