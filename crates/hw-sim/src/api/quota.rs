//! The account's quota as a middleware of the API's routes: a signed-in request the bucket
//! (`crate::quota`) refuses gets 429, as the service's gateway answers it.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;

use crate::shared::Shared;

/// Middleware (after sign-in): lets a request through if the quota allows, else answers 429.
pub(crate) async fn enforce(
    State(sim): State<Arc<Shared>>,
    request: Request,
    next: Next,
) -> Response {
    let Some(quota) = &sim.quota else {
        return next.run(request).await;
    };
    match quota.take() {
        Ok(()) => next.run(request).await,
        Err(wait) => {
            let seconds = wait.as_millis().div_ceil(1000).max(1);
            let activity = sim.activity_id();
            let mut response = super::errors::gateway(
                StatusCode::TOO_MANY_REQUESTS,
                &format!("Rate limit is exceeded. Try again in {seconds} seconds."),
                &activity,
            );
            let headers = response.headers_mut();
            if let Ok(value) = HeaderValue::from_str(&seconds.to_string()) {
                headers.insert(header::RETRY_AFTER, value);
            }
            if let Ok(value) = HeaderValue::from_str(&wait.as_millis().max(1).to_string()) {
                headers.insert("x-ms-retry-after-ms", value);
            }
            response
        }
    }
}
