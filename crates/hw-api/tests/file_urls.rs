//! The URL of a submission's file, when the service does not give it at once: a new
//! submission's package URL that is not listed yet is read again while the submission is not
//! committed, and a wait that runs out says so (`docs/service-notes.md`, "Hardware API:
//! submissions and commit").

mod common;

use std::time::Duration;

use common::{PRODUCT, SUBMISSION, static_client_with};
use hw_api::types::DownloadType;
use hw_api::{Error, Id, WaitOptions};
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const URL: &str = "https://a.blob.core.windows.net/ingestion/p?sv=2019-12-12&sr=b&sp=rw&sig=S";

fn quick_wait() -> WaitOptions {
    WaitOptions::default()
        .with_first_interval(Duration::from_millis(10))
        .with_max_interval(Duration::from_millis(10))
        .with_deadline(Some(Duration::from_millis(500)))
}

/// The submission as the service shows it, with `commit_status` and `downloads` (if any).
fn submission(commit_status: &str, downloads: Option<serde_json::Value>) -> serde_json::Value {
    let mut value = json!({"id": SUBMISSION, "productId": PRODUCT, "name": "v1",
                           "commitStatus": commit_status});
    if let Some(downloads) = downloads {
        value["downloads"] = downloads;
    }
    value
}

/// Answers the submission's reads with `first` `times` times, then with `then`.
async fn reads(server: &MockServer, first: serde_json::Value, times: u64, then: serde_json::Value) {
    let at = format!("/v2.0/my/hardware/products/{PRODUCT}/submissions/{SUBMISSION}");
    Mock::given(method("GET"))
        .and(path(at.clone()))
        .respond_with(ResponseTemplate::new(200).set_body_json(first))
        .up_to_n_times(times)
        .with_priority(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_json(then))
        .with_priority(2)
        .mount(server)
        .await;
}

#[tokio::test]
async fn an_unlisted_package_url_of_an_uncommitted_submission_is_read_again() {
    let server = MockServer::start().await;
    let listed = json!({"items": [{"type": "initialPackage", "url": URL}]});
    reads(
        &server,
        submission("commitPending", None),
        2,
        submission("commitPending", Some(listed)),
    )
    .await;
    let client = static_client_with(&server, |b| b.file_url_wait(quick_wait()));
    let url = client
        .download_url(Id(PRODUCT), Id(SUBMISSION), DownloadType::InitialPackage)
        .await
        .unwrap();
    assert_eq!(url, URL);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn a_committed_submission_without_its_package_url_fails_at_once() {
    let server = MockServer::start().await;
    let committed = submission("commitComplete", Some(json!({"items": []})));
    reads(&server, committed.clone(), 1, committed).await;
    let client = static_client_with(&server, |b| b.file_url_wait(quick_wait()));
    let err = client
        .download_url(Id(PRODUCT), Id(SUBMISSION), DownloadType::InitialPackage)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_url_that_never_comes_ends_the_wait_at_its_deadline() {
    let server = MockServer::start().await;
    let null = submission(
        "commitComplete",
        Some(json!({"items": [{"type": "signedPackage", "url": null}]})),
    );
    reads(&server, null.clone(), 1, null).await;
    let client = static_client_with(&server, |b| b.file_url_wait(quick_wait()));
    let err = client
        .download_url(Id(PRODUCT), Id(SUBMISSION), DownloadType::SignedPackage)
        .await
        .unwrap_err();
    let Error::WaitTimedOut { what, waited, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(what.contains("signedPackage"), "{what}");
    assert!(*waited >= Duration::from_millis(500), "{waited:?}");
    assert!(server.received_requests().await.unwrap().len() > 2);
}
