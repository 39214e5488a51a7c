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

/// The one request that `call` sends, through a client of a server that answers `verb` on `at`
/// with `status` and `body`.
async fn sent<F, Fut, T>(
    verb: &str,
    at: &str,
    status: u16,
    body: serde_json::Value,
    call: F,
) -> Request
where
    F: FnOnce(hw_api::Client) -> Fut,
    Fut: std::future::Future<Output = Result<T, hw_api::Error>>,
{
    let server = MockServer::start().await;
    answer(&server, verb, at, status, body).await;
    call(static_client(&server)).await.unwrap();
    only_request(&server).await
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
    let at = format!("/hardware/products/{PRODUCT}/submissions/{SUBMISSION}/commit");
    let request = sent("POST", &at, 202, serde_json::Value::Null, |c| async move {
        c.commit_submission(Id(PRODUCT), Id(SUBMISSION)).await
    })
    .await;
    assert_empty_json(&request);
}

#[tokio::test]
async fn publisher_metadata_goes_as_an_empty_json_body() {
    let at =
        format!("/hardware/products/{PRODUCT}/submissions/{SUBMISSION}/createpublishermetadata");
    let request = sent("POST", &at, 202, serde_json::Value::Null, |c| async move {
        c.create_publisher_metadata(Id(PRODUCT), Id(SUBMISSION))
            .await
    })
    .await;
    assert_empty_json(&request);
}

#[tokio::test]
async fn a_label_cancel_goes_as_an_empty_json_body() {
    let at = format!(
        "/hardware/products/{PRODUCT}/submissions/{SUBMISSION}/shippingLabels/{LABEL}/cancel"
    );
    let request = sent("PUT", &at, 204, serde_json::Value::Null, |c| async move {
        c.cancel_shipping_label(Id(PRODUCT), Id(SUBMISSION), Id(LABEL))
            .await
    })
    .await;
    assert_empty_json(&request);
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

/// `value` as the request type `T`.
fn typed<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> T {
    serde_json::from_value(value.clone()).unwrap()
}

#[tokio::test]
async fn every_json_body_goes_as_json_with_its_length() {
    let product = format!("/hardware/products/{PRODUCT}");
    let submissions = format!("{product}/submissions");
    let submission = format!("{submissions}/{SUBMISSION}");
    let labels = format!("{submission}/shippingLabels");
    let label = format!("{labels}/{LABEL}");
    let none = serde_json::Value::Null;

    let body = json!({"productName": "p", "testHarness": "attestation"});
    let answered = json!({"id": PRODUCT, "productName": "p"});
    let request = sent("POST", "/hardware/products", 201, answered, |c| {
        let request_body = typed(&body);
        async move { c.create_product(&request_body).await }
    })
    .await;
    assert_json(&request, &body);

    let body = json!({"productName": "renamed"});
    let request = sent("PATCH", &product, 204, none.clone(), |c| {
        let request_body = typed(&body);
        async move { c.update_product(Id(PRODUCT), &request_body).await }
    })
    .await;
    assert_json(&request, &body);

    let body = json!({"name": "v1", "type": "initial"});
    let answered = json!({"id": SUBMISSION, "productId": PRODUCT, "name": "v1", "type": "initial"});
    let request = sent("POST", &submissions, 201, answered, |c| {
        let request_body = typed(&body);
        async move { c.create_submission(Id(PRODUCT), &request_body).await }
    })
    .await;
    assert_json(&request, &body);

    let body = json!({"name": "v2"});
    let request = sent("PATCH", &submission, 204, none.clone(), |c| {
        let request_body = typed(&body);
        async move {
            c.update_submission(Id(PRODUCT), Id(SUBMISSION), &request_body)
                .await
        }
    })
    .await;
    assert_json(&request, &body);

    let body = json!({
        "name": "l", "destination": "windowsUpdate",
        "publishingSpecifications": {
            "isAutoInstallOnApplicableSystems": true, "manualAcquisition": false,
            "additionalInfoForMsApproval": {"microsoftContact": "a@contoso.example", "businessJustification": "fix"}
        },
        "targeting": {"hardwareIds": [{"bundleId": "b", "infId": "x.inf", "operatingSystemCode": "WINDOWS_v100_X64_RS5_FULL", "pnpString": "pci\\ven_1"}]}
    });
    let answered = json!({"id": LABEL, "name": "l", "destination": "windowsUpdate"});
    let request = sent("POST", &labels, 201, answered, |c| {
        let request_body = typed(&body);
        async move {
            c.create_shipping_label(Id(PRODUCT), Id(SUBMISSION), &request_body)
                .await
        }
    })
    .await;
    assert_json(&request, &body);

    let body = json!({"targeting": {"restrictedToAudiences": []}});
    let request = sent("PATCH", &label, 204, none, |c| {
        let request_body = typed(&body);
        async move {
            c.update_shipping_label(Id(PRODUCT), Id(SUBMISSION), Id(LABEL), &request_body)
                .await
        }
    })
    .await;
    assert_json(&request, &body);
}

#[tokio::test]
async fn a_preprod_package_goes_as_bytes() {
    let answered = json!({"id": "pkg-1", "signingStatus": "Processing"});
    let request = sent(
        "PUT",
        "/hardware/preprod/packages",
        200,
        answered,
        |c| async move {
            c.upload_preprod_package(bytes::Bytes::from_static(b"MSCF a package"))
                .await
        },
    )
    .await;
    assert_eq!(
        header(&request, "content-type"),
        Some("application/octet-stream")
    );
    assert_eq!(header(&request, "content-length"), Some("14"));
    assert_eq!(request.body, b"MSCF a package");
}

#[tokio::test]
async fn a_read_sends_no_content_type() {
    let at = format!("/hardware/products/{PRODUCT}/submissions/{SUBMISSION}");
    let answered = json!({"id": SUBMISSION, "productId": PRODUCT, "name": "v1"});
    let request = sent("GET", &at, 200, answered, |c| async move {
        c.get_submission(Id(PRODUCT), Id(SUBMISSION)).await
    })
    .await;
    assert!(header(&request, "content-type").is_none());
    assert!(request.body.is_empty());
}
