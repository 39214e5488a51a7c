//! Helpers shared by the wire-level tests.
#![allow(dead_code)]

use std::time::Duration;

use hw_api::auth::ClientCredentials;
use hw_api::{Client, ClientBuilder, RetryPolicy};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

pub(crate) const TENANT: &str = "contoso.onmicrosoft.com";
pub(crate) const CLIENT_ID: &str = "00000000-0000-0000-0000-00000000c1d0";
pub(crate) const SECRET: &str = "super-secret-client-value";
pub(crate) const PRODUCT: u64 = 14_631_253_285_588_838;
pub(crate) const SUBMISSION: u64 = 1_152_921_504_621_465_124;

/// A retry policy fast enough for tests.
pub(crate) fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_initial_delay(Duration::from_millis(5))
        .with_max_delay(Duration::from_millis(20))
        .with_max_attempts(4)
}

/// The API base URL on a mock server.
pub(crate) fn base(server: &MockServer) -> String {
    format!("{}/v2.0/my", server.uri())
}

/// A client with a fixed token `static-token` and quick retries.
pub(crate) fn static_client(server: &MockServer) -> Client {
    static_client_with(server, |builder| builder)
}

/// Like [`static_client`], with more settings.
pub(crate) fn static_client_with(
    server: &MockServer,
    configure: impl FnOnce(ClientBuilder) -> ClientBuilder,
) -> Client {
    let builder = Client::builder()
        .base_url(base(server))
        .access_token("static-token".to_owned().into())
        .retry_policy(quick_retries());
    configure(builder).build().unwrap()
}

/// Client credentials against the token endpoint on `authority`.
pub(crate) fn credentials(authority: &MockServer) -> ClientCredentials {
    ClientCredentials::new(TENANT, CLIENT_ID, SECRET.to_owned().into())
        .with_authority(&authority.uri())
        .unwrap()
        .with_retry_policy(quick_retries())
}

/// A client that gets its tokens from the token endpoint on `authority`.
pub(crate) fn entra_client(api: &MockServer, authority: &MockServer) -> Client {
    Client::builder()
        .base_url(base(api))
        .token_provider(credentials(authority))
        .retry_policy(quick_retries())
        .build()
        .unwrap()
}

/// A v2 token response.
pub(crate) fn token_response(token: &str, expires_in: u64) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({
        "token_type": "Bearer",
        "expires_in": expires_in,
        "ext_expires_in": expires_in,
        "access_token": token,
    }))
}

/// The v2 token endpoint path of the test tenant.
pub(crate) fn v2_token_path() -> String {
    format!("/{TENANT}/oauth2/v2.0/token")
}

/// Mounts a token endpoint that always hands out `token`.
pub(crate) async fn mount_token(authority: &MockServer, token: &str) {
    Mock::given(method("POST"))
        .and(path(v2_token_path()))
        .respond_with(token_response(token, 3599))
        .mount(authority)
        .await;
}

/// A product JSON with the given id.
pub(crate) fn product(id: u64) -> serde_json::Value {
    json!({"id": id, "productName": format!("product {id}")})
}
