//! Middleware that counts each request and injects the fault the plan ([`crate::faults`])
//! picks for it.

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::faults::{Dropped, Fault, Service};
use crate::shared::Shared;
use crate::{api, blob, state};

/// The operation a request to `service` is, for fault rules and request counts.
pub(crate) fn operation_of(service: Service, request: &Request) -> String {
    let op = match service {
        Service::Token => Some("token"),
        Service::Api => api::operation_id(request.method(), request.uri().path()),
        Service::Blob => blob::operation(request.method(), request.uri().query()),
    };
    op.unwrap_or("other").to_owned()
}

/// Middleware: counts the request and injects a fault if a rule says so.
pub(crate) async fn inject(
    State((sim, service)): State<(Arc<Shared>, Service)>,
    request: Request,
    next: Next,
) -> Response {
    let operation = operation_of(service, &request);
    let nth = {
        let mut store = state::lock(&sim.store);
        let count = store.requests.entry(operation.clone()).or_default();
        *count += 1;
        let nth = *count;
        let (now, peak) = store.in_flight.entry(operation.clone()).or_default();
        *now += 1;
        *peak = (*peak).max(*now);
        nth
    };
    let _handled = Handled {
        sim: &sim,
        operation: &operation,
    };
    let is_blob = service == Service::Blob;
    match sim.faults.pick(&operation, nth) {
        None => next.run(request).await,
        Some(Fault::Slow(delay)) => {
            let response = next.run(request).await;
            tokio::time::sleep(delay).await;
            response
        }
        Some(Fault::DropConnection) => drop_partway(next.run(request).await).await,
        Some(Fault::Corrupt) => corrupt(next.run(request).await).await,
        Some(Fault::Throttle { retry_after }) => {
            let mut response = failure(&sim, is_blob, StatusCode::TOO_MANY_REQUESTS, "Rate limit is exceeded. Try again later.");
            let seconds = retry_after.as_millis().div_ceil(1000).to_string();
            let headers = response.headers_mut();
            headers.insert(header::RETRY_AFTER, HeaderValue::from_str(&seconds).unwrap_or(HeaderValue::from_static("1")));
            if let Ok(ms) = HeaderValue::from_str(&retry_after.as_millis().to_string()) {
                headers.insert("x-ms-retry-after-ms", ms);
            }
            response
        }
        Some(Fault::InternalError) => failure(&sim, is_blob, StatusCode::INTERNAL_SERVER_ERROR, "Internal server error"),
        Some(Fault::InternalErrorAfter) => {
            drop(next.run(request).await);
            failure(&sim, is_blob, StatusCode::INTERNAL_SERVER_ERROR, "Internal server error")
        }
        Some(Fault::Unavailable) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/html")],
            "<html><head><title>503 Service Unavailable</title></head><body><h1>Service Unavailable</h1></body></html>",
        )
            .into_response(),
    }
}

/// Counts a request as no longer being handled when its response is ready (or it was dropped).
struct Handled<'a> {
    sim: &'a Shared,
    operation: &'a str,
}

impl Drop for Handled<'_> {
    fn drop(&mut self) {
        if let Some((now, _)) = state::lock(&self.sim.store)
            .in_flight
            .get_mut(self.operation)
        {
            *now = now.saturating_sub(1);
        }
    }
}

fn failure(sim: &Shared, is_blob: bool, status: StatusCode, message: &str) -> Response {
    if is_blob {
        let code = if status == StatusCode::TOO_MANY_REQUESTS {
            "ServerBusy"
        } else {
            "InternalError"
        };
        let body = crate::blob::error_body(code, message);
        (status, [(header::CONTENT_TYPE, "application/xml")], body).into_response()
    } else {
        api::gateway(status, message, &sim.activity_id())
    }
}

/// The response with one byte in the middle of its body changed.
async fn corrupt(response: Response) -> Response {
    let (parts, body) = response.into_parts();
    let mut bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .map(Vec::from)
        .unwrap_or_default();
    let middle = bytes.len() / 2;
    if let Some(byte) = bytes.get_mut(middle) {
        *byte ^= 0x5a;
    }
    Response::from_parts(parts, Body::from(bytes))
}

/// The response with its headers (and declared length) but only part of its body, then a
/// broken connection.
pub(crate) async fn drop_partway(response: Response) -> Response {
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, usize::MAX)
        .await
        .unwrap_or_default();
    let half = bytes.slice(..bytes.len() / 2);
    parts.headers.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(bytes.len().max(1)),
    );
    // Send the first half, give it time to leave, then break the connection.
    let chunks = futures_util::stream::unfold(Some(Some(half)), |state| async move {
        match state? {
            Some(half) => Some((Ok(half), Some(None))),
            None => {
                tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                let reset = std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "hw-sim dropped the connection",
                );
                Some((Err(reset), None))
            }
        }
    });
    parts.extensions.insert(Dropped);
    Response::from_parts(parts, Body::from_stream(chunks))
}
