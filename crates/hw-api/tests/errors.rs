//! Error responses of every shape become one typed, readable error.

mod common;

use common::*;
use hw_api::types::ErrorCode;
use hw_api::types::{NewSubmission, SubmissionType};
use hw_api::{Error, Id, RetryPolicy};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn failing_with(response: ResponseTemplate) -> Error {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(response)
        .mount(&server)
        .await;
    let client = static_client_with(&server, |b| b.retry_policy(RetryPolicy::none()));
    client.get_product(Id(PRODUCT)).await.unwrap_err()
}

#[tokio::test]
async fn the_nested_shape_with_a_camel_case_code() {
    let err = failing_with(
        ResponseTemplate::new(404)
            .insert_header("x-ms-request-id", "req-42")
            .set_body_json(
                json!({"error": {"code": "entityNotFound", "message": "Product not found"}}),
            ),
    )
    .await;
    assert_eq!(err.status(), Some(404));
    assert_eq!(err.code(), Some(&ErrorCode::EntityNotFound));
    let service = err.service().unwrap();
    assert_eq!(service.request_id.as_deref(), Some("req-42"));
    assert_eq!(
        err.to_string(),
        "getProduct: HTTP 404 entityNotFound: Product not found (request id req-42)"
    );
}

#[tokio::test]
async fn validation_errors_with_targets() {
    let err = failing_with(ResponseTemplate::new(422).set_body_json(json!({
        "error": {"code": "InvalidInput", "message": "Validation Failed.",
                  "validationErrors": [{"target": "targetingInfo.chids", "message": "At least one property is required for update."}]}
    })))
    .await;
    assert_eq!(
        err.code(),
        Some(&ErrorCode::InvalidInput),
        "codes compare case-insensitively"
    );
    let service = err.service().unwrap();
    assert_eq!(
        service.validation_errors[0].target.as_deref(),
        Some("targetingInfo.chids")
    );
    assert!(
        err.to_string()
            .contains("[targetingInfo.chids: At least one property is required for update.]"),
        "{err}"
    );
}

#[tokio::test]
async fn the_flat_gateway_shape_with_an_activity_id() {
    let err = failing_with(ResponseTemplate::new(500).set_body_json(json!({
        "statusCode": 500, "message": "Internal server error", "activityId": "0f8fad5b-d9cb-469f-a165-70867728950e"
    })))
    .await;
    let service = err.service().unwrap();
    assert_eq!(service.status, 500);
    assert_eq!(service.message.as_deref(), Some("Internal server error"));
    assert_eq!(
        service.activity_id.as_deref(),
        Some("0f8fad5b-d9cb-469f-a165-70867728950e")
    );
    assert!(err.to_string().contains("activity id 0f8fad5b"), "{err}");
}

#[tokio::test]
async fn html_gateway_pages_and_empty_bodies_keep_the_status() {
    let html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>";
    for status in [500, 502] {
        let err = failing_with(
            ResponseTemplate::new(status)
                .insert_header("content-type", "text/html")
                .set_body_string(html),
        )
        .await;
        assert_eq!(err.status(), Some(status));
        let service = err.service().unwrap();
        assert!(
            service
                .body_excerpt
                .as_deref()
                .unwrap()
                .contains("502 Bad Gateway"),
            "{service:?}"
        );
        assert!(service.message.is_none());
        assert!(!err.to_string().contains('\n'));
    }
    let err = failing_with(ResponseTemplate::new(403)).await;
    assert_eq!(err.to_string(), "getProduct: HTTP 403: Forbidden");
}

#[tokio::test]
async fn a_malformed_success_names_the_json_path() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"value": [{"id": 1}, {"id": "not-a-number"}]})),
        )
        .mount(&server)
        .await;
    let err =
        futures_util::TryStreamExt::try_collect::<Vec<_>>(static_client(&server).list_products())
            .await
            .unwrap_err();
    let Error::Decode { path, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(path, "value[1].id");
    assert!(
        err.to_string().starts_with(
            "listProducts: the response does not fit the API description at `value[1].id`"
        ),
        "{err}"
    );
}

/// A value no caller needs that does not fit (a mistyped name list, a flag as a string, a
/// broken link of an item) is let go and the item kept; a needed one (an id) still fails.
#[tokio::test]
async fn values_no_caller_needs_are_let_go_and_the_items_kept() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"value": [
            {"id": 1, "productName": "Touch", "marketingNames": 7, "isTestSign": "yes",
             "links": [{"rel": "self"}], "announcementDate": {"year": 2026}},
            {"id": 2, "productName": "Pad"}
        ]})))
        .mount(&server)
        .await;
    let products: Vec<_> =
        futures_util::TryStreamExt::try_collect(static_client(&server).list_products())
            .await
            .unwrap();
    assert_eq!(products.len(), 2, "no item dropped");
    assert_eq!(products[0].id, Id(1));
    assert_eq!(products[0].product_name.as_deref(), Some("Touch"));
    assert!(products[0].marketing_names.is_empty());
    assert_eq!(products[0].is_test_sign, None);
    assert_eq!(products[0].announcement_date, None);
    assert_eq!(products[1].product_name.as_deref(), Some("Pad"));
}

#[tokio::test]
async fn a_success_status_other_than_the_spec_says_still_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": SUBMISSION, "productId": PRODUCT})),
        )
        .mount(&server)
        .await;
    let body = NewSubmission {
        name: "n".try_into().unwrap(),
        type_: SubmissionType::Initial,
    };
    let created = static_client(&server)
        .create_submission(Id(PRODUCT), &body)
        .await
        .unwrap();
    assert_eq!(created.id, Id(SUBMISSION));
}

/// Every 2xx the service might send to a commit, a PATCH or a cancel, with or without a body.
fn every_success() -> Vec<ResponseTemplate> {
    vec![
        ResponseTemplate::new(200).set_body_json(json!({"commitStatus": "commitReceived"})),
        ResponseTemplate::new(201).set_body_json(json!({"id": SUBMISSION, "name": "x"})),
        ResponseTemplate::new(202).set_body_json(json!({"anything": [1, 2, 3]})),
        ResponseTemplate::new(202),
        ResponseTemplate::new(204),
        ResponseTemplate::new(200)
            .insert_header("content-type", "text/plain")
            .set_body_string("OK"),
        ResponseTemplate::new(200).set_body_string("{not json"),
    ]
}

#[tokio::test]
async fn commit_patch_and_cancel_succeed_on_any_2xx_whatever_the_body() {
    let submission_update: hw_api::types::SubmissionUpdate =
        serde_json::from_value(json!({"name": "renamed"})).unwrap();
    let product_update: hw_api::types::ProductUpdate =
        serde_json::from_value(json!({"productName": "renamed"})).unwrap();
    let label_update: hw_api::types::ShippingLabelUpdate =
        serde_json::from_value(json!({"targeting": {}})).unwrap();
    for (n, response) in every_success().into_iter().enumerate() {
        let server = MockServer::start().await;
        Mock::given(wiremock::matchers::any())
            .respond_with(response)
            .mount(&server)
            .await;
        let client = static_client_with(&server, |b| b.retry_policy(RetryPolicy::none()));
        let (p, s, l) = (Id(PRODUCT), Id(SUBMISSION), Id(7));
        client
            .commit_submission(p, s)
            .await
            .unwrap_or_else(|e| panic!("commit, case {n}: {e}"));
        client
            .update_submission(p, s, &submission_update)
            .await
            .unwrap_or_else(|e| panic!("PATCH submission, case {n}: {e}"));
        client
            .update_product(p, &product_update)
            .await
            .unwrap_or_else(|e| panic!("PATCH product, case {n}: {e}"));
        client
            .update_shipping_label(p, s, l, &label_update)
            .await
            .unwrap_or_else(|e| panic!("PATCH label, case {n}: {e}"));
        client
            .cancel_shipping_label(p, s, l)
            .await
            .unwrap_or_else(|e| panic!("cancel, case {n}: {e}"));
        assert_eq!(server.received_requests().await.unwrap().len(), 5);
    }
}

#[tokio::test]
async fn an_unclear_create_that_cannot_be_settled_lists_its_candidates() {
    let server = MockServer::start().await;
    let named = |ids: &[u64]| {
        let value: Vec<_> = ids
            .iter()
            .map(|id| json!({"id": id, "productName": "Contoso Touch"}))
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"value": value, "links": []}))
    };
    // Before the create: one older product of that name; after it: two new ones.
    Mock::given(method("GET"))
        .respond_with(named(&[1]))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(named(&[1, 2, 3]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    let client = static_client(&server);
    let body: hw_api::types::NewProduct =
        serde_json::from_value(json!({"productName": "Contoso Touch", "testHarness": "hlk", "requestedSignatures": ["WINDOWS_v100_X64_RS5_FULL"]})).unwrap();
    let err = client.create_product_once(&body).await.unwrap_err();
    let Error::Unreconciled { candidates, .. } = &err else {
        panic!("expected an unreconciled create, got {err:?}");
    };
    assert_eq!(candidates, &[Id(2), Id(3)]);
    assert_eq!(err.kind(), hw_api::ErrorKind::Ambiguous);
    let shown = err.to_string();
    assert!(shown.contains("candidates: 2, 3"), "{shown}");
    assert!(shown.contains("delete the others"), "{shown}");
}
