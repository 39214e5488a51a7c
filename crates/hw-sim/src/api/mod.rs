//! The Hardware Dev Center API: routes, authentication, and which operation a request is.
//!
//! Helpers here return `Result<_, Response>`: the error is the response to send, built once per
//! failed request, so its size does not matter.
#![allow(clippy::result_large_err)]

mod errors;
mod outputs;
mod paging;
mod products;
mod submissions;

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};

pub use errors::{functional, gateway};

use crate::server::Shared;
use crate::state;

/// The API router (state and middleware attached by the server).
pub fn router(sim: Arc<Shared>) -> Router {
    let hardware = Router::new()
        .route("/{version}/my/hardware/products", get(products::list))
        .route(
            "/{version}/my/hardware/products/{product}",
            get(products::get),
        )
        .route(
            "/{version}/my/hardware/products/{product}/submissions",
            get(submissions::list).post(submissions::create),
        )
        .route(
            "/{version}/my/hardware/products/{product}/submissions/{submission}",
            get(submissions::get),
        )
        .route(
            "/{version}/my/hardware/products/{product}/submissions/{submission}/commit",
            post(submissions::commit),
        )
        .route_layer(middleware::from_fn_with_state(sim.clone(), authenticate));
    Router::new()
        .merge(hardware)
        .route(
            "/dashboard/hardware/Driver/DownloadCertificationReport/{seller}/{product}/{submission}",
            get(outputs::certification_report),
        )
        .with_state(sim)
}

/// The spec's operation id of an API request, if it is one.
pub fn operation_id(method: &Method, path: &str) -> Option<&'static str> {
    let rest = path
        .strip_prefix("/v2.0/my")
        .or_else(|| path.strip_prefix("/v1.0/my"))?;
    let segments: Vec<&str> = rest.trim_matches('/').split('/').collect();
    let op = match (method.as_str(), segments.as_slice()) {
        ("GET", ["hardware", "products"]) => "listProducts",
        ("GET", ["hardware", "products", _]) => "getProduct",
        ("GET", ["hardware", "products", _, "submissions"]) => "listSubmissions",
        ("POST", ["hardware", "products", _, "submissions"]) => "createSubmission",
        ("GET", ["hardware", "products", _, "submissions", _]) => "getSubmission",
        ("POST", ["hardware", "products", _, "submissions", _, "commit"]) => "commitSubmission",
        _ => return None,
    };
    Some(op)
}

/// 401 unless the request carries a token the token endpoint issued (and that has not expired)
/// or one of the configured static tokens.
async fn authenticate(State(sim): State<Arc<Shared>>, request: Request, next: Next) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim);
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
        gateway(StatusCode::UNAUTHORIZED, "Unauthorized", &activity)
    }
}

/// The `/v2.0/my` prefix of a request's version, or 404 for an unknown version.
fn prefix(sim: &Shared, version: &str) -> Result<String, Response> {
    if version == "v2.0" || version == "v1.0" {
        Ok(format!("{}/{version}/my", sim.urls.api_origin))
    } else {
        Err(functional(
            StatusCode::NOT_FOUND,
            "entityNotFound",
            "Resource not found",
        ))
    }
}

/// An id from a path segment.
fn id(segment: &str, what: &str) -> Result<u64, Response> {
    segment.parse().map_err(|_| {
        functional(
            StatusCode::BAD_REQUEST,
            "invalidInput",
            &format!("The {what} id is not a number"),
        )
    })
}

/// What a request's path names: its version prefix and ids.
struct Target {
    prefix: String,
    product: u64,
    submission: u64,
}

/// Reads the version and the product (and submission) ids of a path.
fn target(
    sim: &Shared,
    version: &str,
    product: &str,
    submission: Option<&str>,
) -> Result<Target, Response> {
    Ok(Target {
        prefix: prefix(sim, version)?,
        product: id(product, "product")?,
        submission: submission
            .map(|s| id(s, "submission"))
            .transpose()?
            .unwrap_or_default(),
    })
}
