//! The generated client against a local HTTP server: each operation's method, path, body and
//! status on the wire, what the hooks do to requests, and the request factory that hw-api
//! sends through its own transport. How error bodies of every shape are decoded is hw-api's
//! job (`crates/hw-api/tests/errors.rs`).

use futures_util::TryStreamExt;
use hw_api_gen::types::{ErrorCode, NewSubmission, SubmissionType};
use hw_api_gen::{Client, Error, Hooks, Id, RequestFactory};
use serde_json::json;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Match, Mock, MockServer, Request, ResponseTemplate};

const PRODUCT: u64 = 14_631_253_285_588_838;
const SUBMISSION: u64 = 1_152_921_504_621_465_124;

/// Matches requests that do not carry `name`.
struct WithoutHeader(&'static str);

impl Match for WithoutHeader {
    fn matches(&self, request: &Request) -> bool {
        !request.headers.contains_key(self.0)
    }
}

async fn server_and_client() -> (MockServer, Client) {
    let server = MockServer::start().await;
    let client = Client::new(&format!("{}/v2.0/my", server.uri()), Hooks::new());
    (server, client)
}

fn submission_json() -> serde_json::Value {
    json!({
        "id": SUBMISSION,
        "productId": PRODUCT,
        "name": "VST_apdevtest1_init",
        "type": "initial",
        "commitStatus": "commitPending",
        "downloads": {"items": [{"type": "initialPackage", "url": "https://blob.test/ingestion/x?sv=2019-12-12&sr=b&sp=rw&sig=fake"}]}
    })
}

#[tokio::test]
async fn list_products_gets_the_products_path() {
    let (server, client) = server_and_client().await;
    Mock::given(method("GET"))
        .and(path("/v2.0/my/hardware/products"))
        .and(WithoutHeader("api-version"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{"id": PRODUCT, "productName": "p"}],
            "links": [{"href": "https://x/next", "rel": "next_link", "method": "GET"}]
        })))
        .expect(1)
        .mount(&server)
        .await;
    let page = client.list_products().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    assert_eq!(page.value[0].id, Id(PRODUCT));
    assert_eq!(page.links[0].href, "https://x/next");
}

#[tokio::test]
async fn get_product_puts_the_exact_id_in_the_path() {
    let (server, client) = server_and_client().await;
    Mock::given(method("GET"))
        .and(path(format!("/v2.0/my/hardware/products/{PRODUCT}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": PRODUCT})))
        .expect(1)
        .mount(&server)
        .await;
    let product = client.get_product(&Id(PRODUCT)).await.unwrap();
    assert_eq!(product.id, Id(PRODUCT));
}

#[tokio::test]
async fn list_submissions_gets_the_submissions_of_a_product() {
    let (server, client) = server_and_client().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v2.0/my/hardware/products/{PRODUCT}/submissions"
        )))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"value": [submission_json()]})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let page = client.list_submissions(&Id(PRODUCT)).await.unwrap();
    assert_eq!(page.value[0].id, Id(SUBMISSION));
    assert!(page.links.is_empty());
}

#[tokio::test]
async fn get_submission_gets_one_submission() {
    let (server, client) = server_and_client().await;
    Mock::given(method("GET"))
        .and(path(format!(
            "/v2.0/my/hardware/products/{PRODUCT}/submissions/{SUBMISSION}"
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(submission_json()))
        .expect(1)
        .mount(&server)
        .await;
    let submission = client
        .get_submission(&Id(PRODUCT), &Id(SUBMISSION))
        .await
        .unwrap();
    assert_eq!(submission.product_id, Id(PRODUCT));
}

#[tokio::test]
async fn create_submission_posts_json_and_expects_201() {
    let (server, client) = server_and_client().await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/v2.0/my/hardware/products/{PRODUCT}/submissions"
        )))
        .and(header("content-type", "application/json"))
        .and(body_json(
            json!({"name": "VST_apdevtest1_init", "type": "initial"}),
        ))
        .respond_with(ResponseTemplate::new(201).set_body_json(submission_json()))
        .expect(1)
        .mount(&server)
        .await;
    let body = NewSubmission {
        name: "VST_apdevtest1_init".try_into().unwrap(),
        type_: SubmissionType::Initial,
    };
    let created = client.create_submission(&Id(PRODUCT), &body).await.unwrap();
    assert_eq!(created.status().as_u16(), 201);
    assert_eq!(created.id, Id(SUBMISSION));
}

#[tokio::test]
async fn commit_submission_posts_an_empty_json_body_and_expects_202() {
    let (server, client) = server_and_client().await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/v2.0/my/hardware/products/{PRODUCT}/submissions/{SUBMISSION}/commit"
        )))
        .respond_with(ResponseTemplate::new(202))
        .expect(1)
        .mount(&server)
        .await;
    let accepted = client
        .commit_submission(&Id(PRODUCT), &Id(SUBMISSION))
        .await
        .unwrap();
    assert_eq!(accepted.status().as_u16(), 202);
    let received = &server.received_requests().await.unwrap()[0];
    assert!(received.body.is_empty());
    // The hooks give it the headers of an empty JSON body, as the service wants them.
    assert_eq!(received.headers["content-type"], "application/json");
    assert_eq!(received.headers["content-length"], "0");
}

#[tokio::test]
async fn a_nested_functional_error_is_typed() {
    let (server, client) = server_and_client().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"code": "requestInvalidForCurrentState", "message": "Initial submission already exists"}
        })))
        .mount(&server)
        .await;
    let body = NewSubmission {
        name: "n".try_into().unwrap(),
        type_: SubmissionType::Initial,
    };
    let Err(Error::ErrorResponse(response)) = client.create_submission(&Id(PRODUCT), &body).await
    else {
        panic!("expected a typed error response");
    };
    assert_eq!(response.status().as_u16(), 400);
    let detail = response.error.as_ref().unwrap();
    assert_eq!(detail.code, Some(ErrorCode::RequestInvalidForCurrentState));
    assert_eq!(
        detail.message.as_deref(),
        Some("Initial submission already exists")
    );
}

#[tokio::test]
async fn a_flat_gateway_error_keeps_its_activity_id() {
    let (server, client) = server_and_client().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({
            "statusCode": 500, "message": "Internal server error", "activityId": "7c9e6679-7425-40de-944b-e07fc1f90ae7"
        })))
        .mount(&server)
        .await;
    let Err(Error::ErrorResponse(response)) = client.list_products().await else {
        panic!("expected a typed error response");
    };
    assert_eq!(response.status().as_u16(), 500);
    assert_eq!(
        response.activity_id.as_deref(),
        Some("7c9e6679-7425-40de-944b-e07fc1f90ae7")
    );
}

#[tokio::test]
async fn an_undeclared_status_arrives_with_its_status() {
    let (server, client) = server_and_client().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503).set_body_string("Service Unavailable"))
        .mount(&server)
        .await;
    let err = client.list_products().await.unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(503));
}

#[tokio::test]
async fn the_request_factory_builds_exactly_what_would_be_sent_and_sends_nothing() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(201).set_body_json(submission_json()))
        .expect(1)
        .mount(&server)
        .await;
    let factory = RequestFactory::new(&format!("{}/v2.0/my", server.uri()), reqwest::Client::new());
    let body: NewSubmission =
        serde_json::from_value(json!({"name": "v1", "type": "initial"})).unwrap();
    let built = factory
        .build(|g| async move { g.create_submission(&Id(PRODUCT), &body).await })
        .await
        .unwrap();
    assert!(server.received_requests().await.unwrap().is_empty());
    let request = built.request;
    assert_eq!(request.method(), reqwest::Method::POST);
    assert_eq!(
        request.url().path(),
        format!("/v2.0/my/hardware/products/{PRODUCT}/submissions")
    );
    assert!(request.headers().get("api-version").is_none());
    assert!(request.headers().get("authorization").is_none());
    let sent: serde_json::Value =
        serde_json::from_slice(request.body().and_then(|b| b.as_bytes()).unwrap()).unwrap();
    assert_eq!(sent, json!({"name": "v1", "type": "initial"}));
    // Sending the built request reaches the server once, as the generated call would have.
    let response = reqwest::Client::new().execute(request).await.unwrap();
    assert_eq!(response.status().as_u16(), 201);
}

const LABEL: u64 = 1_152_921_504_606_978_422;

fn label_json() -> serde_json::Value {
    json!({"id": LABEL, "productId": PRODUCT, "submissionId": SUBMISSION, "name": "to WU", "destination": "windowsUpdate",
           "workflowStatus": {"currentStep": "microsoftApproval", "state": "started"}})
}

/// Mounts one expectation and returns the server, for the lifecycle operations.
async fn expect_call(
    verb: &str,
    at: String,
    status: u16,
    body: Option<serde_json::Value>,
) -> (MockServer, Client) {
    let (server, client) = server_and_client().await;
    let mut response = ResponseTemplate::new(status);
    if let Some(body) = body {
        response = response.set_body_json(body);
    }
    Mock::given(method(verb))
        .and(path(format!("/v2.0/my{at}")))
        .and(WithoutHeader("api-version"))
        .respond_with(response)
        .expect(1)
        .mount(&server)
        .await;
    (server, client)
}

async fn sent_body(server: &MockServer) -> serde_json::Value {
    let request = &server.received_requests().await.unwrap()[0];
    serde_json::from_slice(&request.body).unwrap_or(serde_json::Value::Null)
}

#[tokio::test]
async fn create_and_update_product() {
    let (server, client) = expect_call(
        "POST",
        "/hardware/products".into(),
        201,
        Some(json!({"id": PRODUCT})),
    )
    .await;
    let body: hw_api_gen::types::NewProduct =
        serde_json::from_value(json!({"productName": "p", "testHarness": "attestation"})).unwrap();
    assert_eq!(client.create_product(&body).await.unwrap().id, Id(PRODUCT));
    assert_eq!(
        sent_body(&server).await,
        json!({"productName": "p", "testHarness": "attestation"})
    );

    let (server, client) =
        expect_call("PATCH", format!("/hardware/products/{PRODUCT}"), 204, None).await;
    let update = hw_api_gen::types::ProductUpdate {
        product_name: Some("renamed".into()),
        ..Default::default()
    };
    assert_eq!(
        client
            .update_product(&Id(PRODUCT), &update)
            .await
            .unwrap()
            .status()
            .as_u16(),
        204
    );
    assert_eq!(sent_body(&server).await, json!({"productName": "renamed"}));
}

#[tokio::test]
async fn update_submission_and_publisher_metadata() {
    let at = format!("/hardware/products/{PRODUCT}/submissions/{SUBMISSION}");
    let (server, client) = expect_call("PATCH", at.clone(), 204, None).await;
    let update = hw_api_gen::types::SubmissionUpdate {
        name: "v2".try_into().unwrap(),
    };
    client
        .update_submission(&Id(PRODUCT), &Id(SUBMISSION), &update)
        .await
        .unwrap();
    assert_eq!(sent_body(&server).await, json!({"name": "v2"}));
    let (_server, client) =
        expect_call("POST", format!("{at}/createpublishermetadata"), 202, None).await;
    client
        .create_publisher_metadata(&Id(PRODUCT), &Id(SUBMISSION))
        .await
        .unwrap();
}

#[tokio::test]
async fn shipping_label_operations() {
    let labels = format!("/hardware/products/{PRODUCT}/submissions/{SUBMISSION}/shippingLabels");
    let (server, client) = expect_call(
        "GET",
        labels.clone(),
        200,
        Some(json!({"value": [label_json()]})),
    )
    .await;
    let page = client
        .list_shipping_labels(&Id(PRODUCT), &Id(SUBMISSION), Some(true))
        .await
        .unwrap();
    assert_eq!(page.value[0].id, Id(LABEL));
    assert_eq!(
        server.received_requests().await.unwrap()[0].url.query(),
        Some("includeTargetingInfo=true")
    );

    let (server, client) = expect_call("POST", labels.clone(), 201, Some(label_json())).await;
    let new: hw_api_gen::types::NewShippingLabel = serde_json::from_value(json!({
        "name": "to WU", "destination": "windowsUpdate",
        "targeting": {"hardwareIds": [{"bundleId": "b", "infId": "x.inf", "operatingSystemCode": "WINDOWS_v100_X64_RS5_FULL", "pnpString": "pci\\ven_1"}]}
    }))
    .unwrap();
    client
        .create_shipping_label(&Id(PRODUCT), &Id(SUBMISSION), &new)
        .await
        .unwrap();
    assert_eq!(
        sent_body(&server).await["targeting"]["hardwareIds"][0]["infId"],
        "x.inf"
    );

    let (_server, client) =
        expect_call("GET", format!("{labels}/{LABEL}"), 200, Some(label_json())).await;
    let label = client
        .get_shipping_label(&Id(PRODUCT), &Id(SUBMISSION), &Id(LABEL), None)
        .await
        .unwrap();
    assert_eq!(label.name.as_deref(), Some("to WU"));

    let (server, client) = expect_call("PATCH", format!("{labels}/{LABEL}"), 204, None).await;
    let update: hw_api_gen::types::ShippingLabelUpdate = serde_json::from_value(json!({
        "targeting": {"chids": [{"chid": "c", "action": "remove"}], "restrictedToAudiences": []}
    }))
    .unwrap();
    client
        .update_shipping_label(&Id(PRODUCT), &Id(SUBMISSION), &Id(LABEL), &update)
        .await
        .unwrap();
    let sent = sent_body(&server).await;
    assert_eq!(
        sent["targeting"]["restrictedToAudiences"],
        json!([]),
        "an empty audience list is sent: it clears"
    );
    assert_eq!(sent["targeting"]["chids"][0]["action"], "remove");

    let (_server, client) = expect_call("PUT", format!("{labels}/{LABEL}/cancel"), 204, None).await;
    client
        .cancel_shipping_label(&Id(PRODUCT), &Id(SUBMISSION), &Id(LABEL))
        .await
        .unwrap();
}

#[tokio::test]
async fn audiences_and_partner_submissions() {
    let (_server, client) = expect_call(
        "GET",
        "/hardware/audiences".into(),
        200,
        Some(json!({"value": [{"id": "a-1", "name": "n"}]})),
    )
    .await;
    assert_eq!(client.list_audiences().await.unwrap().value[0].id, "a-1");
    let at = format!(
        "/hardware/products/relationships/sourcepubliherid/27691110/sourceproductid/{PRODUCT}/sourcesubmissionid/{SUBMISSION}"
    );
    let (_server, client) = expect_call("GET", at, 200, Some(submission_json())).await;
    let translated = client
        .get_partner_submission(&Id(27_691_110), &Id(PRODUCT), &Id(SUBMISSION))
        .await
        .unwrap();
    assert_eq!(translated.id, Id(SUBMISSION));
}

#[tokio::test]
async fn preprod_packages() {
    let package = json!({"id": "pkg-1", "signingStatus": "Processing"});
    let (server, client) = expect_call(
        "PUT",
        "/hardware/preprod/packages".into(),
        200,
        Some(package.clone()),
    )
    .await;
    let uploaded = client
        .upload_preprod_package(b"MSCF cab bytes".to_vec())
        .await
        .unwrap();
    assert_eq!(
        uploaded.signing_status,
        Some(hw_api_gen::types::SigningStatus::Processing)
    );
    let request = &server.received_requests().await.unwrap()[0];
    assert_eq!(request.headers["content-type"], "application/octet-stream");
    assert_eq!(request.body, b"MSCF cab bytes");

    let (_server, client) = expect_call(
        "GET",
        "/hardware/preprod/packages/pkg-1".into(),
        200,
        Some(package),
    )
    .await;
    client.get_preprod_package("pkg-1").await.unwrap();
    let asset = json!({"id": "as-1", "packageId": "pkg-1", "assetType": "SignedFilesZip", "contentHash": "ab"});
    let (_server, client) = expect_call(
        "GET",
        "/hardware/preprod/packages/pkg-1/assets".into(),
        200,
        Some(json!([asset.clone()])),
    )
    .await;
    assert_eq!(
        client.list_preprod_assets("pkg-1").await.unwrap().0[0].id,
        "as-1"
    );
    let (_server, client) = expect_call(
        "GET",
        "/hardware/preprod/packages/pkg-1/assets/as-1".into(),
        200,
        Some(asset),
    )
    .await;
    client.get_preprod_asset("pkg-1", "as-1").await.unwrap();

    let (server, client) = server_and_client().await;
    Mock::given(method("GET"))
        .and(path(
            "/v2.0/my/hardware/preprod/packages/pkg-1/assets/as-1/download",
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "application/octet-stream")
                .set_body_bytes(b"PK zip".to_vec()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let stream = client
        .download_preprod_asset("pkg-1", "as-1")
        .await
        .unwrap()
        .into_inner();
    let mut stream = stream.into_inner();
    let mut bytes = Vec::new();
    while let Some(chunk) = stream.try_next().await.unwrap() {
        bytes.extend_from_slice(&chunk);
    }
    assert_eq!(bytes, b"PK zip");
}
