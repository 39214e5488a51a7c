//! Keeps every API response (operation, status, JSON body) when asked, so that tests can check
//! the simulator against the spec.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::shared::Shared;
use crate::state::{self, Recorded};
use crate::{api, faults};

/// Middleware: records the response of an API operation.
pub(crate) async fn record(
    State(sim): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let operation = api::operation_id(request.method(), request.uri().path());
    let response = next.run(request).await;
    let dropped = response.extensions().get::<faults::Dropped>().is_some();
    let (Some(operation), true, false) = (operation, sim.config.record_responses, dropped) else {
        return response;
    };
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 * 1024 * 1024).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let json = serde_json::from_slice(&bytes).ok();
    state::lock(&sim.store).recorded.push(Recorded {
        operation: operation.to_owned(),
        status: parts.status.as_u16(),
        body: json,
    });
    Response::from_parts(parts, Body::from(bytes))
}
