//! The Hardware Dev Center API: routes, authentication, and which operation a request is.

pub(crate) mod errors;
mod extract;
mod labels;
mod outputs;
mod paging;
mod preprod;
mod products;
mod quota;
mod submissions;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};

pub(crate) use errors::gateway;
pub(crate) use paging::MAX_PAGE_SIZE;

use crate::shared::Shared;
use crate::state;

/// The API router (state and middleware attached by the server).
pub(crate) fn router(sim: Arc<Shared>) -> Router {
    const PRODUCTS: &str = "/{version}/my/hardware/products";
    const SUBMISSIONS: &str = "/{version}/my/hardware/products/{product}/submissions";
    const SUBMISSION: &str = "/{version}/my/hardware/products/{product}/submissions/{submission}";
    const LABELS: &str =
        "/{version}/my/hardware/products/{product}/submissions/{submission}/shippingLabels";
    const LABEL: &str =
        "/{version}/my/hardware/products/{product}/submissions/{submission}/shippingLabels/{label}";
    const PREPROD: &str = "/{version}/my/hardware/preprod/packages";
    let hardware = Router::new()
        .route(PRODUCTS, get(products::list).post(products::create))
        .route(&format!("{PRODUCTS}/"), get(products::list).post(products::create))
        .route(&format!("{PRODUCTS}/{{product}}"), get(products::get).patch(products::update))
        .route(SUBMISSIONS, get(submissions::list).post(submissions::create))
        .route(SUBMISSION, get(submissions::get).patch(submissions::update))
        .route(&format!("{SUBMISSION}/commit"), post(submissions::commit))
        .route(&format!("{SUBMISSION}/createpublishermetadata"), post(submissions::create_publisher_metadata))
        .route(LABELS, get(labels::list).post(labels::create))
        .route(&format!("{LABELS}/"), get(labels::list).post(labels::create))
        .route(LABEL, get(labels::get).patch(labels::update))
        .route(&format!("{LABEL}/cancel"), put(labels::cancel))
        .route("/{version}/my/hardware/audiences", get(labels::audiences))
        .route("/{version}/my/hardware/audiences/", get(labels::audiences))
        .route(
            "/{version}/my/hardware/products/relationships/sourcepubliherid/{publisher}/sourceproductid/{product}/sourcesubmissionid/{submission}",
            get(submissions::partner),
        )
        .route(PREPROD, put(preprod::upload))
        .route(&format!("{PREPROD}/"), put(preprod::upload))
        .route(&format!("{PREPROD}/{{package}}"), get(preprod::get))
        .route(&format!("{PREPROD}/{{package}}/assets"), get(preprod::assets))
        .route(&format!("{PREPROD}/{{package}}/assets/{{asset}}"), get(preprod::get_asset))
        .route(&format!("{PREPROD}/{{package}}/assets/{{asset}}/download"), get(preprod::download))
        // The media type is judged last, on a signed-in request within the quota.
        .route_layer(middleware::from_fn_with_state(sim.clone(), media_type))
        // The quota counts signed-in requests: it runs after `authenticate`, which wraps it.
        .route_layer(middleware::from_fn_with_state(sim.clone(), quota::enforce))
        .route_layer(middleware::from_fn_with_state(sim.clone(), authenticate))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_API_BODY));
    Router::new()
        .merge(hardware)
        .route(
            "/dashboard/hardware/Driver/DownloadCertificationReport/{seller}/{product}/{submission}",
            get(outputs::certification_report),
        )
        .with_state(sim)
}

/// The largest API request body (preprod packages are sent to the API itself).
const MAX_API_BODY: usize = 512 * 1024 * 1024;

/// The spec's operation id of an API request, if it is one.
pub(crate) fn operation_id(method: &Method, path: &str) -> Option<&'static str> {
    let rest = path
        .strip_prefix("/v2.0/my")
        .or_else(|| path.strip_prefix("/v1.0/my"))?;
    let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let op = match (method.as_str(), segments.as_slice()) {
        ("GET", ["hardware", "products"]) => "listProducts",
        ("POST", ["hardware", "products"]) => "createProduct",
        (
            "GET",
            [
                "hardware",
                "products",
                "relationships",
                "sourcepubliherid",
                _,
                "sourceproductid",
                _,
                "sourcesubmissionid",
                _,
            ],
        ) => "getPartnerSubmission",
        ("GET", ["hardware", "products", _]) => "getProduct",
        ("PATCH", ["hardware", "products", _]) => "updateProduct",
        ("GET", ["hardware", "products", _, "submissions"]) => "listSubmissions",
        ("POST", ["hardware", "products", _, "submissions"]) => "createSubmission",
        ("GET", ["hardware", "products", _, "submissions", _]) => "getSubmission",
        ("PATCH", ["hardware", "products", _, "submissions", _]) => "updateSubmission",
        ("POST", ["hardware", "products", _, "submissions", _, "commit"]) => "commitSubmission",
        (
            "POST",
            [
                "hardware",
                "products",
                _,
                "submissions",
                _,
                "createpublishermetadata",
            ],
        ) => "createPublisherMetadata",
        (
            "GET",
            [
                "hardware",
                "products",
                _,
                "submissions",
                _,
                "shippingLabels",
            ],
        ) => "listShippingLabels",
        (
            "POST",
            [
                "hardware",
                "products",
                _,
                "submissions",
                _,
                "shippingLabels",
            ],
        ) => "createShippingLabel",
        (
            "GET",
            [
                "hardware",
                "products",
                _,
                "submissions",
                _,
                "shippingLabels",
                _,
            ],
        ) => "getShippingLabel",
        (
            "PATCH",
            [
                "hardware",
                "products",
                _,
                "submissions",
                _,
                "shippingLabels",
                _,
            ],
        ) => "updateShippingLabel",
        (
            "PUT",
            [
                "hardware",
                "products",
                _,
                "submissions",
                _,
                "shippingLabels",
                _,
                "cancel",
            ],
        ) => "cancelShippingLabel",
        ("GET", ["hardware", "audiences"]) => "listAudiences",
        ("PUT", ["hardware", "preprod", "packages"]) => "uploadPreprodPackage",
        ("GET", ["hardware", "preprod", "packages", _]) => "getPreprodPackage",
        ("GET", ["hardware", "preprod", "packages", _, "assets"]) => "listPreprodAssets",
        ("GET", ["hardware", "preprod", "packages", _, "assets", _]) => "getPreprodAsset",
        (
            "GET",
            [
                "hardware",
                "preprod",
                "packages",
                _,
                "assets",
                _,
                "download",
            ],
        ) => "downloadPreprodAsset",
        _ => return None,
    };
    Some(op)
}

/// The media type the spec gives the body of a request with `method` to the operation
/// `operation`: JSON for every POST, PUT and PATCH (a bodiless one included: the service wants an
/// empty JSON body, `docs/service-notes.md`, "Hardware API: base URL and headers"), the package's
/// bytes for a preprod upload; `None` for a read.
fn request_media_type(method: &Method, operation: &str) -> Option<&'static str> {
    match *method {
        Method::POST | Method::PUT | Method::PATCH if operation == "uploadPreprodPackage" => {
            Some("application/octet-stream")
        }
        Method::POST | Method::PUT | Method::PATCH => Some("application/json"),
        _ => None,
    }
}

/// 415, as the service's gateway answers it, to a request whose `Content-Type` is missing or is
/// not the one the spec gives its operation (parameters such as `charset` aside).
async fn media_type(State(sim): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let expected = operation_id(request.method(), request.uri().path())
        .and_then(|operation| request_media_type(request.method(), operation));
    let Some(expected) = expected else {
        return next.run(request).await;
    };
    let sent = request
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(str::trim);
    if sent.is_some_and(|sent| sent.eq_ignore_ascii_case(expected)) {
        next.run(request).await
    } else {
        gateway(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Unsupported Media Type",
            &sim.activity_id(),
        )
    }
}

/// 401 unless the request carries a token the token endpoint issued (and that has not expired)
/// or one of the configured static tokens.
pub(crate) async fn authenticate(
    State(sim): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim());
    let valid = token.is_some_and(|token| {
        if sim.config.static_tokens.iter().any(|t| t == token) {
            return true;
        }
        let store = state::lock(&sim.store);
        store
            .tokens
            .get(token)
            .is_some_and(|expires| Instant::now() < *expires)
    });
    if valid {
        next.run(request).await
    } else {
        let activity = sim.activity_id();
        let mut response = gateway(StatusCode::UNAUTHORIZED, "Unauthorized", &activity);
        response.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static("Bearer"),
        );
        response
    }
}
