//! Products: list and get.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hw_api_gen::types::{LinkRel, NewProduct, Product, ProductUpdate, SubmissionType, TestHarness};
use serde_json::Value;

use super::errors::{functional, product_not_found, validation};
use super::extract::{JsonObject, Target, Typed, prefix, text};
use super::paging::{self, link};
use crate::shared::Shared;
use crate::state;
use crate::workflow;

/// A product with its links.
pub(super) fn render(prefix: &str, product: &Product) -> Product {
    let mut product = product.clone();
    let me = format!("{prefix}/hardware/products/{}", product.id);
    product.links = vec![
        link(me.clone(), LinkRel::Self_),
        link(format!("{me}/submissions"), LinkRel::GetSubmissions),
    ];
    product
}

/// `GET /hardware/products`.
pub(super) async fn list(
    State(sim): State<Arc<Shared>>,
    Path(version): Path<String>,
    RawQuery(query): RawQuery,
) -> Response {
    let prefix = match prefix(&sim, &version) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let page = match paging::request(query.as_deref(), sim.config.page_size) {
        Ok(page) => page,
        Err(message) => return functional(StatusCode::BAD_REQUEST, "invalidInput", message),
    };
    let store = state::lock(&sim.store);
    let mut from: Box<dyn Iterator<Item = &Product>> = match page.start {
        Some(key) => Box::new(store.products.range(key..).map(|(_, p)| p)),
        None => Box::new(store.products.values().skip(page.offset)),
    };
    let value = from
        .by_ref()
        .take(page.size)
        .map(|p| render(&prefix, p))
        .collect();
    let next_start = from.next().map(|p| p.id.0);
    let links = paging::keyed_links(
        &format!("{prefix}/hardware/products"),
        page,
        store.products.len(),
        next_start,
    );
    paging::page_response(value, links)
}

/// `GET /hardware/products/{productId}`.
pub(super) async fn get(State(sim): State<Arc<Shared>>, t: Target) -> Response {
    let Target {
        prefix, product, ..
    } = t;
    let store = state::lock(&sim.store);
    match store.products.get(&product) {
        Some(p) => Json(render(&prefix, p)).into_response(),
        None => product_not_found(),
    }
}

/// `POST /hardware/products`.
pub(super) async fn create(
    State(sim): State<Arc<Shared>>,
    Path(version): Path<String>,
    JsonObject(mut fields): JsonObject,
) -> Response {
    let prefix = match prefix(&sim, &version) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let mut failures = Vec::new();
    if text(&fields, "productName").is_none() {
        failures.push(("productName", "The product name is required."));
    }
    let harness = fields
        .get("testHarness")
        .and_then(Value::as_str)
        .map(TestHarness::from);
    match &harness {
        Some(h) if h.is_known() => fields["testHarness"] = Value::from(h.as_str()),
        _ => failures.push((
            "testHarness",
            "The test harness must be HLK, HCK or Attestation.",
        )),
    }
    let product = match serde_json::from_value::<NewProduct>(fields.clone()) {
        Ok(product) => product,
        Err(e) => {
            let message = format!("The body does not describe a product: {e}");
            return functional(StatusCode::UNPROCESSABLE_ENTITY, "invalidInput", &message);
        }
    };
    // Windows Server 2016 and later refuse attestation submissions.
    let server = product.requested_signatures.iter().any(|code| {
        code.as_str()
            .to_ascii_uppercase()
            .starts_with("WINDOWS_V100_SERVER_")
    });
    if harness.as_ref() == Some(&TestHarness::Attestation) && server {
        return functional(
            StatusCode::BAD_REQUEST,
            "invalidInput",
            "Windows Server does not accept attestation signed drivers; request client signatures only.",
        );
    }
    if !failures.is_empty() {
        return validation(&failures);
    }
    if fields.get("deviceType").is_none() {
        fields["deviceType"] = "notSet".into();
    }
    let mut store = state::lock(&sim.store);
    let id = store.insert_product(fields);
    let product = render(&prefix, &store.products[&id]);
    (StatusCode::CREATED, Json(product)).into_response()
}

/// `PATCH /hardware/products/{productId}`: name, marketing names and announcement date, under
/// the documented rules.
pub(super) async fn update(
    State(sim): State<Arc<Shared>>,
    t: Target,
    Typed { value: update, .. }: Typed<ProductUpdate>,
) -> Response {
    let Target { product, .. } = t;
    let mut store = state::lock(&sim.store);
    if !store.products.contains_key(&product) {
        return product_not_found();
    }
    let step = sim.config.step_duration;
    let submissions: Vec<_> = store.submissions_of(product).cloned().collect();
    let unauthorized =
        |message: &str| functional(StatusCode::BAD_REQUEST, "updateUnauthorized", message);
    if !submissions
        .iter()
        .any(|s| s.kind == SubmissionType::Initial)
    {
        return unauthorized("Cannot update product without an initial submission");
    }
    let progress = |s: &state::SubmissionRecord| {
        workflow::progress(s.committed_at.map(|at| at.elapsed()), step, s.fail_at)
    };
    if submissions.iter().any(|s| progress(s).failed()) {
        return unauthorized("Cannot update product because the workflow has failed");
    }
    if update.announcement_date.is_some() && submissions.iter().any(|s| progress(s).finished()) {
        return unauthorized(
            "Announcement Date cannot be updated after the ingestion process is finished",
        );
    }
    let Some(p) = store.products.get_mut(&product) else {
        return product_not_found();
    };
    if let Some(name) = update.product_name {
        p.product_name = Some(name);
    }
    if !update.marketing_names.is_empty() {
        p.marketing_names = update.marketing_names;
    }
    if let Some(date) = update.announcement_date {
        p.announcement_date = Some(date);
    }
    StatusCode::NO_CONTENT.into_response()
}
