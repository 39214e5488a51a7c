//! The media type of every request that sends (or could send) a body, as hw-api puts it on the
//! wire: a POST or PUT without a body goes as an empty JSON body, a JSON body as JSON, and a
//! preprod package as bytes (`docs/service-notes.md`, "Hardware API: base URL and headers").

mod common;

use common::{PRODUCT, SUBMISSION, static_client};
use hw_api::Id;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const LABEL: u64 = 1_152_921_504_606_979_496;

/// Answers `verb` on `at` (under `/v2.0/my`) with `status` and `body`.
async fn answer(server: &MockServer, verb: &str, at: &str, status: u16, body: serde_json::Value) {
    let mut response = ResponseTemplate::new(status);
    if !body.is_null() {
        response = response.set_body_json(body);
    }
    Mock::given(method(verb))
        .and(path(format!("/v2.0/my{at}")))
        .respond_with(response)
        .mount(server)
        .await;
}

/// The one request the server received.
async fn only_request(server: &MockServer) -> Request {
    let mut received = server.received_requests().await.unwrap();
    assert_eq!(received.len(), 1, "{received:?}");
    received.remove(0)
}

/// The value of header `name` of `request`, as text.
fn header<'a>(request: &'a Request, name: &str) -> Option<&'a str> {
    request.headers.get(name).map(|v| v.to_str().unwrap())
}

/// Asserts that `request` went as an empty JSON body.
fn assert_empty_json(request: &Request) {
    assert_eq!(
        header(request, "content-type"),
        Some("application/json"),
        "{} {}",
        request.method,
        request.url
    );
    assert_eq!(
        header(request, "content-length"),
        Some("0"),
        "{}",
        request.url
    );
    assert!(
        header(request, "transfer-encoding").is_none(),
        "{}",
        request.url
    );
    assert!(request.body.is_empty(), "{}", request.url);
}

#[tokio::test]
async fn a_commit_goes_as_an_empty_json_body() {
    let server = MockServer::start().await;
    let at = format!("/hardware/products/{PRODUCT}/submissions/{SUBMISSION}/commit");
    answer(&server, "POST", &at, 202, serde_json::Value::Null).await;
    static_client(&server)
        .commit_submission(Id(PRODUCT), Id(SUBMISSION))
        .await
        .unwrap();
    assert_empty_json(&only_request(&server).await);
}

#[tokio::test]
async fn publisher_metadata_goes_as_an_empty_json_body() {
    let server = MockServer::start().await;
    let at =
        format!("/hardware/products/{PRODUCT}/submissions/{SUBMISSION}/createpublishermetadata");
    answer(&server, "POST", &at, 202, serde_json::Value::Null).await;
    static_client(&server)
        .create_publisher_metadata(Id(PRODUCT), Id(SUBMISSION))
        .await
        .unwrap();
    assert_empty_json(&only_request(&server).await);
}

#[tokio::test]
async fn a_label_cancel_goes_as_an_empty_json_body() {
    let server = MockServer::start().await;
    let at = format!(
        "/hardware/products/{PRODUCT}/submissions/{SUBMISSION}/shippingLabels/{LABEL}/cancel"
    );
    answer(&server, "PUT", &at, 204, serde_json::Value::Null).await;
    static_client(&server)
        .cancel_shipping_label(Id(PRODUCT), Id(SUBMISSION), Id(LABEL))
        .await
        .unwrap();
    assert_empty_json(&only_request(&server).await);
}

/// Asserts that `request` went as the JSON `expected`, with its length.
fn assert_json(request: &Request, expected: &serde_json::Value) {
    let at = format!("{} {}", request.method, request.url);
    assert_eq!(
        header(request, "content-type"),
        Some("application/json"),
        "{at}"
    );
    assert_eq!(
        header(request, "content-length"),
        Some(request.body.len().to_string().as_str()),
        "{at}"
    );
    let sent: serde_json::Value = serde_json::from_slice(&request.body).unwrap();
    assert_eq!(&sent, expected, "{at}");
}

#[tokio::test]
async fn every_json_body_goes_as_json_with_its_length() {
    let submissions = format!("/hardware/products/{PRODUCT}/submissions");
    let submission = format!("{submissions}/{SUBMISSION}");
    let labels = format!("{submission}/shippingLabels");
    let product_json = json!({"id": PRODUCT, "productName": "p"});
    let submission_json =
        json!({"id": SUBMISSION, "productId": PRODUCT, "name": "v1", "type": "initial"});
    let label_json = json!({"id": LABEL, "name": "l", "destination": "windowsUpdate"});

    let server = MockServer::start().await;
    answer(&server, "POST", "/hardware/products", 201, product_json).await;
    let body = json!({"productName": "p", "testHarness": "attestation"});
    static_client(&server)
        .create_product(&serde_json::from_value(body.clone()).unwrap())
        .await
        .unwrap();
    assert_json(&only_request(&server).await, &body);

    let server = MockServer::start().await;
    let at = format!("/hardware/products/{PRODUCT}");
    answer(&server, "PATCH", &at, 204, serde_json::Value::Null).await;
    let body = json!({"productName": "renamed"});
    static_client(&server)
        .update_product(Id(PRODUCT), &serde_json::from_value(body.clone()).unwrap())
        .await
        .unwrap();
    assert_json(&only_request(&server).await, &body);

    let server = MockServer::start().await;
    answer(&server, "POST", &submissions, 201, submission_json).await;
    let body = json!({"name": "v1", "type": "initial"});
    static_client(&server)
        .create_submission(Id(PRODUCT), &serde_json::from_value(body.clone()).unwrap())
        .await
        .unwrap();
    assert_json(&only_request(&server).await, &body);

    let server = MockServer::start().await;
    answer(&server, "PATCH", &submission, 204, serde_json::Value::Null).await;
    let body = json!({"name": "v2"});
    static_client(&server)
        .update_submission(
            Id(PRODUCT),
            Id(SUBMISSION),
            &serde_json::from_value(body.clone()).unwrap(),
        )
        .await
        .unwrap();
    assert_json(&only_request(&server).await, &body);

    let server = MockServer::start().await;
    answer(&server, "POST", &labels, 201, label_json).await;
    let body = json!({
        "name": "l", "destination": "windowsUpdate",
        "publishingSpecifications": {
            "isAutoInstallOnApplicableSystems": true, "manualAcquisition": false,
            "additionalInfoForMsApproval": {"microsoftContact": "a@contoso.example", "businessJustification": "fix"}
        },
        "targeting": {"hardwareIds": [{"bundleId": "b", "infId": "x.inf", "operatingSystemCode": "WINDOWS_v100_X64_RS5_FULL", "pnpString": "pci\\ven_1"}]}
    });
    static_client(&server)
        .create_shipping_label(
            Id(PRODUCT),
            Id(SUBMISSION),
            &serde_json::from_value(body.clone()).unwrap(),
        )
        .await
        .unwrap();
    assert_json(&only_request(&server).await, &body);

    let server = MockServer::start().await;
    let at = format!("{labels}/{LABEL}");
    answer(&server, "PATCH", &at, 204, serde_json::Value::Null).await;
    let body = json!({"targeting": {"restrictedToAudiences": []}});
    static_client(&server)
        .update_shipping_label(
            Id(PRODUCT),
            Id(SUBMISSION),
            Id(LABEL),
            &serde_json::from_value(body.clone()).unwrap(),
        )
        .await
        .unwrap();
    assert_json(&only_request(&server).await, &body);
}

#[tokio::test]
async fn a_preprod_package_goes_as_bytes() {
    let server = MockServer::start().await;
    answer(
        &server,
        "PUT",
        "/hardware/preprod/packages",
        200,
        json!({"id": "pkg-1", "signingStatus": "Processing"}),
    )
    .await;
    static_client(&server)
        .upload_preprod_package(bytes::Bytes::from_static(b"MSCF a package"))
        .await
        .unwrap();
    let request = only_request(&server).await;
    assert_eq!(
        header(&request, "content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(header(&request, "content-length"), Some("14"));
    assert_eq!(request.body, b"MSCF a package");
}

#[tokio::test]
async fn a_read_sends_no_content_type() {
    let server = MockServer::start().await;
    let at = format!("/hardware/products/{PRODUCT}/submissions/{SUBMISSION}");
    let submission = json!({"id": SUBMISSION, "productId": PRODUCT, "name": "v1"});
    answer(&server, "GET", &at, 200, submission).await;
    static_client(&server)
        .get_submission(Id(PRODUCT), Id(SUBMISSION))
        .await
        .unwrap();
    let request = only_request(&server).await;
    assert!(header(&request, "content-type").is_none());
    assert!(request.body.is_empty());
}
