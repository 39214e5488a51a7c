//! Tokens: cached, fetched once under concurrency, refreshed after a 401, errors explained, and
//! sent nowhere but the API origin.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::*;
use hw_api::auth::{AuthError, EntraEndpoint};
use hw_api::{Client, Error, Id};
use serde_json::json;
use wiremock::matchers::{body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

#[tokio::test]
async fn fifty_concurrent_calls_cause_one_token_request() {
    let api = MockServer::start().await;
    let authority = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(v2_token_path()))
        .and(body_string_contains("grant_type=client_credentials"))
        .and(body_string_contains(
            "scope=https%3A%2F%2Fmanage.devcenter.microsoft.com%2F.default",
        ))
        .respond_with(token_response("token-1", 3599).set_delay(Duration::from_millis(200)))
        .expect(1)
        .mount(&authority)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v2.0/my/hardware/products/{PRODUCT}")))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(product(PRODUCT)))
        .expect(50)
        .mount(&api)
        .await;
    let client = Arc::new(entra_client(&api, &authority));
    let calls = (0..50).map(|_| {
        let client = client.clone();
        tokio::spawn(async move { client.get_product(Id(PRODUCT)).await })
    });
    for call in futures_util::future::join_all(calls).await {
        assert_eq!(call.unwrap().unwrap().id, Id(PRODUCT));
    }
}

#[tokio::test]
async fn a_401_invalidates_the_token_and_retries_once() {
    let api = MockServer::start().await;
    let authority = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(v2_token_path()))
        .respond_with(token_response("token-1", 3599))
        .up_to_n_times(1)
        .expect(1)
        .mount(&authority)
        .await;
    Mock::given(method("POST"))
        .and(path(v2_token_path()))
        .respond_with(token_response("token-2", 3599))
        .expect(1)
        .mount(&authority)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(401))
        .expect(1)
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer token-2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(product(PRODUCT)))
        .expect(2)
        .mount(&api)
        .await;
    let client = entra_client(&api, &authority);
    client.get_product(Id(PRODUCT)).await.unwrap();
    // The fresh token is cached: no third token request.
    client.get_product(Id(PRODUCT)).await.unwrap();
}

#[tokio::test]
async fn a_second_401_is_an_error_with_the_status() {
    let api = MockServer::start().await;
    let authority = MockServer::start().await;
    mount_token(&authority, "token-x").await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(401).set_body_json(
            json!({"statusCode": 401, "message": "Unauthorized", "activityId": "a-1"}),
        ))
        .expect(2)
        .mount(&api)
        .await;
    let err = entra_client(&api, &authority)
        .get_product(Id(PRODUCT))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(401));
    assert_eq!(err.service().unwrap().activity_id.as_deref(), Some("a-1"));
}

#[tokio::test]
async fn the_v1_endpoint_with_a_string_expires_in() {
    let api = MockServer::start().await;
    let authority = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/{TENANT}/oauth2/token")))
        .and(body_string_contains(
            "resource=https%3A%2F%2Fmanage.devcenter.microsoft.com",
        ))
        .and(body_string_contains(format!("client_id={CLIENT_ID}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "token_type": "Bearer", "expires_in": "3599", "ext_expires_in": "3599",
            "expires_on": "1700000000", "not_before": "1699996100",
            "resource": "https://manage.devcenter.microsoft.com", "access_token": "v1-token"
        })))
        .expect(1)
        .mount(&authority)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer v1-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(product(PRODUCT)))
        .expect(1)
        .mount(&api)
        .await;
    let client = Client::builder()
        .base_url(base(&api))
        .token_provider(credentials(&authority).with_endpoint(EntraEndpoint::v1()))
        .build()
        .unwrap();
    client.get_product(Id(PRODUCT)).await.unwrap();
}

#[tokio::test]
async fn aadsts_errors_are_explained_and_not_retried() {
    let api = MockServer::start().await;
    let authority = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": "invalid_client",
            "error_description": "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the request is the client secret value.\r\nTrace ID: 0000-trace\r\nCorrelation ID: 0000-corr\r\nTimestamp: 2026-11-21 10:00:00Z",
            "error_codes": [7000215],
            "timestamp": "2026-11-21 10:00:00Z",
            "trace_id": "0000-trace",
            "correlation_id": "0000-corr"
        })))
        .expect(1)
        .mount(&authority)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&api)
        .await;
    let err = entra_client(&api, &authority)
        .get_product(Id(PRODUCT))
        .await
        .unwrap_err();
    let Error::Auth {
        source: AuthError::Rejected(rejected),
        ..
    } = &err
    else {
        panic!("expected a token endpoint rejection, got {err:?}");
    };
    assert_eq!(rejected.codes, vec![7_000_215]);
    assert_eq!(rejected.trace_id.as_deref(), Some("0000-trace"));
    // Display says its own level; the report adds the causes.
    assert_eq!(err.to_string(), "getProduct: no access token");
    let shown = hw_api::Report::new(&err).to_string();
    assert!(shown.contains("HTTP 401 invalid_client (AADSTS7000215): AADSTS7000215: Invalid client secret provided."), "{shown}");
    assert!(shown.contains("the client secret is wrong"), "{shown}");
    assert!(shown.contains("correlation id 0000-corr"), "{shown}");
    assert!(!shown.contains('\n'), "one line: {shown}");
}

#[tokio::test]
async fn token_endpoint_outages_are_retried() {
    let api = MockServer::start().await;
    let authority = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .expect(2)
        .mount(&authority)
        .await;
    mount_token(&authority, "after-outage").await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer after-outage"))
        .respond_with(ResponseTemplate::new(200).set_body_json(product(PRODUCT)))
        .mount(&api)
        .await;
    entra_client(&api, &authority)
        .get_product(Id(PRODUCT))
        .await
        .unwrap();
}

/// The stated bound on a token fetch inside an API call: the provider's own retry policy (4
/// attempts by default). A fetch that fails ends the call with `Error::Auth`: the API's retries
/// never repeat it, and the API is not asked.
#[tokio::test]
async fn a_failing_token_endpoint_is_asked_as_often_as_its_own_policy_says_and_no_more() {
    let api = MockServer::start().await;
    let authority = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503))
        .expect(4)
        .mount(&authority)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(product(PRODUCT)))
        .expect(0)
        .mount(&api)
        .await;
    let quick = hw_api::RetryPolicy::default()
        .with_initial_delay(Duration::from_millis(1))
        .with_max_delay(Duration::from_millis(4));
    let client = Client::builder()
        .base_url(base(&api))
        .token_provider(
            credentials(&authority).with_retry_policy(quick.clone().with_max_attempts(4)),
        )
        .retry_policy(quick.with_max_attempts(6))
        .build()
        .unwrap();
    let error = client.get_product(Id(PRODUCT)).await.unwrap_err();
    assert!(matches!(error, Error::Auth { .. }), "{error:?}");
}

#[tokio::test]
async fn a_redirect_never_carries_the_token_elsewhere() {
    let api = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/steal", elsewhere.uri())),
        )
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let err = static_client(&api)
        .get_product(Id(PRODUCT))
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(307));
}

#[tokio::test]
async fn the_token_endpoint_gets_the_secret_in_the_body_and_no_bearer_token() {
    let api = MockServer::start().await;
    let authority = MockServer::start().await;
    Mock::given(method("POST"))
        .and(body_string_contains(format!("client_secret={SECRET}")))
        .respond_with(token_response("origin-token", 3599))
        .expect(1)
        .mount(&authority)
        .await;
    Mock::given(method("GET"))
        .and(header("authorization", "Bearer origin-token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(product(PRODUCT)))
        .expect(1)
        .mount(&api)
        .await;
    entra_client(&api, &authority)
        .get_product(Id(PRODUCT))
        .await
        .unwrap();
    for request in authority.received_requests().await.unwrap() {
        assert!(!request.headers.contains_key("authorization"));
    }
}

#[tokio::test]
async fn a_token_endpoint_redirect_is_not_followed_with_the_secret() {
    let api = MockServer::start().await;
    let authority = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(307)
                .insert_header("location", format!("{}/token", elsewhere.uri())),
        )
        .mount(&authority)
        .await;
    Mock::given(method("POST"))
        .respond_with(token_response("stolen", 3599))
        .expect(0)
        .mount(&elsewhere)
        .await;
    let err = entra_client(&api, &authority)
        .get_product(Id(PRODUCT))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Auth { .. }), "{err:?}");
}

#[test]
fn plain_http_to_a_remote_host_is_refused() {
    let err = Client::builder()
        .base_url("http://manage.devcenter.microsoft.com/v2.0/my")
        .access_token("t".to_owned().into())
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("must use https"), "{err}");
    let err = Client::builder().build().unwrap_err();
    assert!(err.to_string().contains("no token provider"), "{err}");
}
