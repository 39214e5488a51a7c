//! What CI systems and Azure hosts give a job to sign in with, simulated on the token endpoint's
//! server: a GitHub Actions-style and an Azure Pipelines-style OIDC token service (tokens of the
//! simulator's own issuer, which its token endpoint accepts as federated assertions), and
//! managed-identity endpoints in the App Service, Cloud Shell and instance-metadata shapes,
//! which hand out API tokens directly.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use axum::Json;
use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::json;

use crate::assertion::federated_token;
use crate::config::{
    FEDERATION_AUDIENCE, GITHUB_SUBJECT, MANAGED_IDENTITY_ISSUER, SIM_ISSUER,
    managed_identity_subject, pipelines_subject,
};
use crate::shared::Shared;

/// How long the simulator's OIDC tokens last (GitHub's last about 5 minutes, like these).
const OIDC_LIFETIME: Duration = Duration::from_secs(300);

/// The resource managed-identity tokens are for.
const RESOURCE: &str = "https://manage.devcenter.microsoft.com";

/// The paths, on the token endpoint's server.
pub(crate) fn routes() -> Router<Arc<Shared>> {
    Router::new()
        .route("/oidc/github", get(github))
        .route("/oidc/pipelines", post(pipelines))
        .route("/msi/token", get(app_service))
        .route("/msi/cloudshell", post(cloud_shell))
        .route("/metadata/identity/oauth2/token", get(imds))
}

type Params = Query<HashMap<String, String>>;

fn error(status: StatusCode, error: &str, description: &str) -> Response {
    (
        status,
        Json(json!({"error": error, "error_description": description})),
    )
        .into_response()
}

/// Whether the request carries the OIDC services' bearer token.
fn authorized(sim: &Shared, headers: &HeaderMap) -> bool {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|token| token == sim.config.oidc_request_token)
}

/// GitHub Actions: `GET ?audience=…` with the request token; `{"value": <token>}`.
async fn github(State(sim): State<Arc<Shared>>, headers: HeaderMap, Query(q): Params) -> Response {
    if !authorized(&sim, &headers) {
        return error(StatusCode::UNAUTHORIZED, "unauthorized", "Bad credentials");
    }
    let Some(audience) = q.get("audience") else {
        return error(StatusCode::BAD_REQUEST, "invalid_request", "no audience");
    };
    let token = federated_token(
        &sim.oidc_key,
        SIM_ISSUER,
        GITHUB_SUBJECT,
        audience,
        OIDC_LIFETIME,
    );
    Json(json!({"count": 1, "value": token})).into_response()
}

/// Azure Pipelines: `POST ?api-version=7.1&serviceConnectionId=…` with the job's access token;
/// `{"oidcToken": <token>}`.
async fn pipelines(
    State(sim): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    if !authorized(&sim, &headers) {
        return error(StatusCode::UNAUTHORIZED, "unauthorized", "Access denied");
    }
    let Some(connection) = q.get("serviceConnectionId") else {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "no serviceConnectionId",
        );
    };
    let token = federated_token(
        &sim.oidc_key,
        SIM_ISSUER,
        &pipelines_subject(connection),
        FEDERATION_AUDIENCE,
        OIDC_LIFETIME,
    );
    Json(json!({"oidcToken": token})).into_response()
}

/// A managed identity's token, or why it cannot be had: the resource must be the API's (an
/// API token) or Entra's federation audience (a signed token of the managed-identity issuer
/// about the identity, which the token endpoint takes as an app's client assertion), and a
/// user-assigned identity must be known.
fn identity_token(
    sim: &Shared,
    q: &HashMap<String, String>,
) -> Result<(String, u64, &'static str), Response> {
    let resource = q.get("resource").map(|r| r.trim_end_matches('/'));
    if resource != Some(RESOURCE) && resource != Some(FEDERATION_AUDIENCE) {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            "AADSTS500011: The resource principal was not found in the tenant.",
        ));
    }
    if let Some(id) = q.get("client_id")
        && !sim.config.managed_identities.contains(id)
    {
        return Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Identity not found",
        ));
    }
    let lifetime = sim.config.token_lifetime;
    let now = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let federation = resource == Some(FEDERATION_AUDIENCE);
    let token = if federation {
        federated_token(
            &sim.oidc_key,
            MANAGED_IDENTITY_ISSUER,
            &managed_identity_subject(q.get("client_id").map(String::as_str)),
            FEDERATION_AUDIENCE,
            lifetime,
        )
    } else {
        sim.new_token(lifetime)
    };
    let resource = if federation {
        FEDERATION_AUDIENCE
    } else {
        RESOURCE
    };
    Ok((token, now + lifetime.as_secs(), resource))
}

/// App Service, Functions, Container Apps: `X-IDENTITY-HEADER`, api-version 2019-08-01,
/// `expires_on` as a string of seconds since the epoch.
async fn app_service(
    State(sim): State<Arc<Shared>>,
    headers: HeaderMap,
    Query(q): Params,
) -> Response {
    let header = headers
        .get("x-identity-header")
        .and_then(|v| v.to_str().ok());
    if header != Some(sim.config.identity_header.as_str()) {
        return error(
            StatusCode::UNAUTHORIZED,
            "unauthorized",
            "The X-IDENTITY-HEADER is missing or wrong.",
        );
    }
    match identity_token(&sim, &q) {
        Ok((token, expires_on, resource)) => Json(json!({
            "access_token": token,
            "expires_on": expires_on.to_string(),
            "resource": resource,
            "token_type": "Bearer",
            "client_id": q.get("client_id").cloned().unwrap_or_else(|| "system-assigned".into()),
        }))
        .into_response(),
        Err(refused) => refused,
    }
}

/// 400 unless the request carries `Metadata: true`, as Cloud Shell's and the instance
/// metadata service's endpoints want.
fn metadata_header(headers: &HeaderMap) -> Result<(), Response> {
    if headers.get("metadata").and_then(|v| v.to_str().ok()) == Some("true") {
        Ok(())
    } else {
        Err(error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Required metadata header not specified",
        ))
    }
}

/// Cloud Shell: `POST` with `Metadata: true` and the resource as a form; no user-assigned
/// identities.
async fn cloud_shell(
    State(sim): State<Arc<Shared>>,
    headers: HeaderMap,
    axum::Form(form): axum::Form<HashMap<String, String>>,
) -> Response {
    if let Err(refused) = metadata_header(&headers) {
        return refused;
    }
    if form.contains_key("client_id") {
        return error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Cloud Shell has no user-assigned identities",
        );
    }
    match identity_token(&sim, &form) {
        Ok((token, expires_on, resource)) => Json(json!({
            "access_token": token,
            "expires_in": sim.config.token_lifetime.as_secs().to_string(),
            "expires_on": expires_on.to_string(),
            "resource": resource,
            "token_type": "Bearer",
        }))
        .into_response(),
        Err(refused) => refused,
    }
}

/// The instance metadata service: `Metadata: true`, api-version 2018-02-01, numbers as strings.
async fn imds(State(sim): State<Arc<Shared>>, headers: HeaderMap, Query(q): Params) -> Response {
    if let Err(refused) = metadata_header(&headers) {
        return refused;
    }
    match identity_token(&sim, &q) {
        Ok((token, expires_on, resource)) => {
            let seconds = sim.config.token_lifetime.as_secs().to_string();
            Json(json!({
                "access_token": token,
                "expires_in": seconds,
                "ext_expires_in": seconds,
                "expires_on": expires_on.to_string(),
                "resource": resource,
                "token_type": "Bearer",
            }))
            .into_response()
        }
        Err(refused) => refused,
    }
}
