//! A download asks for its ranges as storage expects (pinned to the ETag, with each range's MD5
//! when the blob has no whole MD5); one whose bytes do not match the blob's `Content-MD5` is
//! fetched again range by range, then refused and removed; with the check turned off it is kept,
//! and the report says it was not checked.

mod common;

use std::path::PathBuf;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hw_api::Error;
use hw_api::transfer::{Silent, TransferError, TransferOptions};
use md5::{Digest, Md5};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const BODY: &[u8] = b"the signed package, as the blob holds it";

/// A blob whose whole-blob MD5, when it has one, is that of `advertised`: its properties, and
/// its one range, answered only when asked for as storage expects (pinned to the ETag); with the
/// MD5 of what is sent when the range's MD5 is asked for.
async fn blob_server(advertised: Option<&[u8]>) -> MockServer {
    let server = MockServer::start().await;
    let mut properties = ResponseTemplate::new(200)
        .insert_header("etag", "\"0x1\"")
        .insert_header("content-length", BODY.len().to_string().as_str());
    if let Some(advertised) = advertised {
        properties = properties.insert_header(
            "x-ms-blob-content-md5",
            STANDARD.encode(Md5::digest(advertised)).as_str(),
        );
    }
    Mock::given(method("HEAD"))
        .and(path("/signed/package.cab"))
        .respond_with(properties)
        .mount(&server)
        .await;
    let range = ResponseTemplate::new(206)
        .insert_header("etag", "\"0x1\"")
        .insert_header(
            "content-range",
            format!("bytes 0-{}/{}", BODY.len() - 1, BODY.len()).as_str(),
        )
        .set_body_bytes(BODY);
    let asked = || {
        Mock::given(method("GET"))
            .and(path("/signed/package.cab"))
            .and(header(
                "range",
                format!("bytes=0-{}", BODY.len() - 1).as_str(),
            ))
            .and(header("if-match", "\"0x1\""))
    };
    asked()
        .and(header("x-ms-range-get-content-md5", "true"))
        .respond_with(
            range
                .clone()
                .insert_header("content-md5", STANDARD.encode(Md5::digest(BODY)).as_str()),
        )
        .with_priority(1)
        .mount(&server)
        .await;
    asked()
        .respond_with(range)
        .with_priority(2)
        .mount(&server)
        .await;
    server
}

/// How many range requests asked for the range's MD5, of how many.
async fn range_md5_requests(server: &MockServer) -> (usize, usize) {
    let requests = server.received_requests().await.unwrap_or_default();
    let ranges: Vec<_> = requests
        .iter()
        .filter(|r| r.method.as_str() == "GET")
        .collect();
    let asked = ranges
        .iter()
        .filter(|r| r.headers.contains_key("x-ms-range-get-content-md5"))
        .count();
    (asked, ranges.len())
}

fn sas(server: &MockServer) -> String {
    format!(
        "{}/signed/package.cab?sv=2019-12-12&sr=b&sp=r&se=2099-01-01T00%3A00%3A00Z&sig=c2lnbmF0dXJl",
        server.uri()
    )
}

/// A destination in a fresh directory, removed when the returned guard drops.
fn destination() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("package.cab");
    (dir, path)
}

fn part_of(dest: &std::path::Path) -> PathBuf {
    dest.with_file_name("package.cab.part")
}

#[tokio::test]
async fn a_matching_download_is_verified() {
    let server = blob_server(Some(BODY)).await;
    let client = common::static_client(&server);
    let (_dir, dest) = destination();
    let report = client
        .download_from(&sas(&server), &dest, &Silent)
        .await
        .unwrap();
    assert!(report.md5_verified);
    assert_eq!(
        range_md5_requests(&server).await,
        (0, 1),
        "the whole MD5 covers every byte: no range MD5 asked for"
    );
    assert_eq!(std::fs::read(&dest).unwrap(), BODY);
}

#[tokio::test]
async fn without_a_whole_md5_each_range_is_checked() {
    let server = blob_server(None).await;
    let client = common::static_client(&server);
    let (_dir, dest) = destination();
    let report = client
        .download_from(&sas(&server), &dest, &Silent)
        .await
        .unwrap();
    assert!(!report.md5_verified);
    assert_eq!(report.ranges_verified, 1, "{report:?}");
    assert_eq!(range_md5_requests(&server).await, (1, 1));
    assert_eq!(std::fs::read(&dest).unwrap(), BODY);
}

#[tokio::test]
async fn a_corrupted_download_is_refused_and_removed() {
    let server = blob_server(Some(b"what was uploaded")).await;
    let client = common::static_client(&server);
    let (_dir, dest) = destination();
    let err = client
        .download_from(&sas(&server), &dest, &Silent)
        .await
        .unwrap_err();
    let Error::Transfer(transfer) = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(**transfer, TransferError::Integrity { .. }),
        "{transfer:?}"
    );
    assert!(err.to_string().contains("MD5"), "{err}");
    assert_eq!(
        range_md5_requests(&server).await,
        (1, 2),
        "fetched again with its range checked before giving up"
    );
    assert!(!dest.exists(), "a corrupted file is never put in place");
    assert!(!part_of(&dest).exists(), "nor kept to be resumed");
}

#[tokio::test]
async fn with_the_check_off_the_file_is_kept_and_reported_unchecked() {
    let server = blob_server(Some(b"what was uploaded")).await;
    let client = common::static_client_with(&server, |builder| {
        builder.transfer_options(TransferOptions::default().with_verify_md5(false))
    });
    let (_dir, dest) = destination();
    let report = client
        .download_from(&sas(&server), &dest, &Silent)
        .await
        .unwrap();
    assert!(!report.md5_verified);
    assert_eq!(range_md5_requests(&server).await, (0, 1));
    assert_eq!(std::fs::read(&dest).unwrap(), BODY);
}
