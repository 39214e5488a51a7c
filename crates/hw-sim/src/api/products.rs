//! Products: list and get.

use std::sync::Arc;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hw_api_gen::types::{LinkRel, Product, ProductList};

use super::errors::{functional, product_not_found};
use super::paging::{self, link};
use super::{Target, prefix, target};
use crate::server::Shared;
use crate::state;

/// A product with its links.
pub fn render(prefix: &str, product: &Product) -> Product {
    let mut product = product.clone();
    let me = format!("{prefix}/hardware/products/{}", product.id);
    product.links = vec![
        link(me.clone(), LinkRel::Self_),
        link(format!("{me}/submissions"), LinkRel::GetSubmissions),
    ];
    product
}

/// `GET /hardware/products`.
pub async fn list(
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
    let value = store
        .products
        .values()
        .skip(page.offset)
        .take(page.size)
        .map(|p| render(&prefix, p))
        .collect();
    let links = paging::links(
        &format!("{prefix}/hardware/products"),
        page,
        store.products.len(),
    );
    Json(ProductList {
        value,
        links,
        extra: Default::default(),
    })
    .into_response()
}

/// `GET /hardware/products/{productId}`.
pub async fn get(
    State(sim): State<Arc<Shared>>,
    Path((version, product)): Path<(String, String)>,
) -> Response {
    let Target {
        prefix, product, ..
    } = match target(&sim, &version, &product, None) {
        Ok(t) => t,
        Err(e) => return e,
    };
    let store = state::lock(&sim.store);
    match store.products.get(&product) {
        Some(p) => Json(render(&prefix, p)).into_response(),
        None => product_not_found(),
    }
}
