//! The Entra ID token endpoints, in both shapes: v2 (`/oauth2/v2.0/token` with a scope, numbers)
//! and v1 (`/oauth2/token` with a resource, numbers as strings), with AADSTS error bodies; the
//! app proves itself with its secret or a client assertion (`assertion.rs`). The same server
//! is the simulator's OIDC issuer and managed-identity endpoint (`identity.rs`).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::http::{HeaderMap, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;

use crate::assertion;
use crate::config::{AppCredential, SIM_ISSUER};
use crate::shared::Shared;

const RESOURCE: &str = "https://manage.devcenter.microsoft.com";

/// The token endpoint router.
pub(crate) fn router(sim: Arc<Shared>) -> Router {
    Router::new()
        .route("/{tenant}/oauth2/v2.0/token", post(endpoint::<false>))
        .route("/{tenant}/oauth2/token", post(endpoint::<true>))
        .merge(crate::identity::routes())
        .with_state(sim)
}

/// The form fields of a token request.
type Fields = HashMap<String, String>;

/// Reads the form body; anything else is AADSTS900144, as Entra answers.
fn form(sim: &Shared, headers: &HeaderMap, body: &[u8]) -> Result<Fields, Response> {
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.to_ascii_lowercase()
                .starts_with("application/x-www-form-urlencoded")
        });
    let fields: Fields = url::form_urlencoded::parse(body).into_owned().collect();
    for required in ["grant_type", "client_id"] {
        if !is_form || fields.get(required).is_none_or(|v| v.is_empty()) {
            return Err(aadsts(
                sim,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                900144,
                &format!("The request body must contain the following parameter: '{required}'."),
            ));
        }
    }
    Ok(fields)
}

/// The v2.0 endpoint (`V1` false) or the v1 endpoint (`V1` true).
async fn endpoint<const V1: bool>(
    State(sim): State<Arc<Shared>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    token(&sim, &tenant, &headers, &body, V1)
}

/// A token request to the v1 (`resource`) or v2 (`scope`) endpoint.
fn token(sim: &Shared, tenant: &str, headers: &HeaderMap, body: &[u8], v1: bool) -> Response {
    let form = match form(sim, headers, body) {
        Ok(form) => form,
        Err(e) => return e,
    };
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if v1 && field("resource").trim_end_matches('/') != RESOURCE {
        let resource = field("resource");
        return aadsts(
            sim,
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500011,
            &format!("The resource principal named {resource} was not found in the tenant."),
        );
    }
    if !v1 && field("scope") != format!("{RESOURCE}/.default") {
        let scope = field("scope");
        return aadsts(
            sim,
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            70011,
            &format!(
                "The provided value for the input parameter 'scope' is not valid. The scope {scope} is not valid."
            ),
        );
    }
    issue(sim, tenant, &form, v1)
}

fn issue(sim: &Shared, tenant: &str, form: &HashMap<String, String>, v1: bool) -> Response {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    if field("grant_type") != "client_credentials" {
        return aadsts(
            sim,
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    if !sim.config.apps.iter().any(|a| a.tenant_id == tenant) {
        return aadsts(
            sim,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!("Tenant '{tenant}' not found."),
        );
    }
    let Some(app) = sim
        .config
        .apps
        .iter()
        .find(|a| a.tenant_id == tenant && a.client_id == field("client_id"))
    else {
        return aadsts(
            sim,
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!(
                "Application with identifier '{}' was not found in the directory '{tenant}'.",
                field("client_id")
            ),
        );
    };
    if let Err(refusal) = proven(sim, tenant, app, form, v1) {
        return refusal;
    }
    let lifetime = sim.config.token_lifetime;
    let token = sim.new_token(lifetime);
    let seconds = lifetime.as_secs();
    if v1 {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        Json(json!({
            "token_type": "Bearer",
            "expires_in": seconds.to_string(),
            "ext_expires_in": seconds.to_string(),
            "expires_on": (now + seconds).to_string(),
            "not_before": now.to_string(),
            "resource": RESOURCE,
            "access_token": token,
        }))
        .into_response()
    } else {
        Json(json!({"token_type": "Bearer", "expires_in": seconds, "ext_expires_in": seconds, "access_token": token})).into_response()
    }
}

/// Whether the request proves the app: its secret, or a client assertion.
fn proven(
    sim: &Shared,
    tenant: &str,
    app: &AppCredential,
    form: &HashMap<String, String>,
    v1: bool,
) -> Result<(), Response> {
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let Some(assertion) = form.get("client_assertion") else {
        if app.secret == field("client_secret") {
            return Ok(());
        }
        return Err(aadsts(
            sim,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.",
        ));
    };
    if field("client_assertion_type") != assertion::JWT_BEARER {
        return Err(aadsts(
            sim,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            50027,
            "The client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
        ));
    }
    let audience = sim.token_url(tenant, v1);
    assertion::check(assertion, app, &audience, SIM_ISSUER, &sim.oidc_key).map_err(|r| {
        let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::UNAUTHORIZED);
        aadsts(sim, status, r.error, r.code, &r.message)
    })
}

fn aadsts(sim: &Shared, status: StatusCode, error: &str, code: u64, message: &str) -> Response {
    let trace = sim.activity_id();
    let correlation = sim.activity_id();
    let timestamp = humantime::format_rfc3339_seconds(SystemTime::now()).to_string();
    let description = format!(
        "AADSTS{code}: {message}\r\nTrace ID: {trace}\r\nCorrelation ID: {correlation}\r\nTimestamp: {timestamp}"
    );
    let body = json!({
        "error": error,
        "error_description": description,
        "error_codes": [code],
        "timestamp": timestamp,
        "trace_id": trace,
        "correlation_id": correlation,
        "error_uri": "https://login.microsoftonline.com/error?code=".to_owned() + &code.to_string(),
    });
    (status, Json(body)).into_response()
}
