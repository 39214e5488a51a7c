//! Error responses in the two shapes the service uses: nested functional errors with camelCase
//! codes, and the gateway's flat shape.

use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A functional error: `{"error": {"code", "message"}}`.
pub(crate) fn functional(status: StatusCode, code: &str, message: &str) -> Response {
    (
        status,
        axum::Json(json!({"error": {"code": code, "message": message}})),
    )
        .into_response()
}

/// A validation failure (422) naming the fields.
pub(crate) fn validation(failures: &[(&str, &str)]) -> Response {
    let errors: Vec<_> = failures
        .iter()
        .map(|(target, message)| json!({"target": target, "message": message}))
        .collect();
    let body = json!({"error": {"code": "invalidInput", "message": "Validation Failed.", "validationErrors": errors}});
    (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(body)).into_response()
}

/// A gateway error: `{"statusCode", "message", "activityId"}`.
pub(crate) fn gateway(status: StatusCode, message: &str, activity_id: &str) -> Response {
    let body =
        json!({"statusCode": status.as_u16(), "message": message, "activityId": activity_id});
    let mut response = (status, axum::Json(body)).into_response();
    if let Ok(value) = HeaderValue::from_str(activity_id) {
        response.headers_mut().insert("x-ms-request-id", value);
    }
    response
}

/// 404 for an unknown product.
pub(crate) fn product_not_found() -> Response {
    functional(StatusCode::NOT_FOUND, "entityNotFound", "Product not found")
}

/// 404 for an unknown submission.
pub(crate) fn submission_not_found() -> Response {
    functional(
        StatusCode::NOT_FOUND,
        "entityNotFound",
        "No submission found",
    )
}
