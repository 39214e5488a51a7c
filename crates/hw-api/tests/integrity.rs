//! A download asks for its ranges as storage expects (pinned to the ETag, with each range's MD5);
//! one whose bytes do not match the blob's `Content-MD5` is refused and removed; with the check
//! turned off it is kept, and the report says it was not checked.

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

/// A blob whose advertised MD5 is that of `advertised`: its properties, and its one range, which
/// is answered only when asked for as storage expects (pinned to the ETag, with the range's MD5
/// requested, when `checked`) and carries the MD5 of what is sent.
async fn blob_server(advertised: &[u8], checked: bool) -> MockServer {
    let server = MockServer::start().await;
    let advertised = STANDARD.encode(Md5::digest(advertised));
    Mock::given(method("HEAD"))
        .and(path("/signed/package.cab"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("etag", "\"0x1\"")
                .insert_header("content-length", BODY.len().to_string().as_str())
                .insert_header("x-ms-blob-content-md5", advertised.as_str()),
        )
        .mount(&server)
        .await;
    let mut range = Mock::given(method("GET"))
        .and(path("/signed/package.cab"))
        .and(header(
            "range",
            format!("bytes=0-{}", BODY.len() - 1).as_str(),
        ))
        .and(header("if-match", "\"0x1\""));
    if checked {
        range = range.and(header("x-ms-range-get-content-md5", "true"));
    }
    range
        .respond_with(
            ResponseTemplate::new(206)
                .insert_header("etag", "\"0x1\"")
                .insert_header(
                    "content-range",
                    format!("bytes 0-{}/{}", BODY.len() - 1, BODY.len()).as_str(),
                )
                .insert_header("content-md5", STANDARD.encode(Md5::digest(BODY)).as_str())
                .insert_header("x-ms-blob-content-md5", advertised.as_str())
                .set_body_bytes(BODY),
        )
        .mount(&server)
        .await;
    server
}

fn sas(server: &MockServer) -> String {
    format!(
        "{}/signed/package.cab?sv=2019-12-12&sr=b&sp=r&se=2099-01-01T00%3A00%3A00Z&sig=c2lnbmF0dXJl",
        server.uri()
    )
}

/// A fresh destination under the system temporary directory.
fn destination(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("hw-api-integrity-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("package.cab")
}

fn part_of(dest: &std::path::Path) -> PathBuf {
    dest.with_file_name("package.cab.part")
}

#[tokio::test]
async fn a_matching_download_is_verified() {
    let server = blob_server(BODY, true).await;
    let client = common::static_client(&server);
    let dest = destination("match");
    let report = client
        .download_from(&sas(&server), &dest, &Silent)
        .await
        .unwrap();
    assert!(report.md5_verified);
    assert_eq!(report.ranges_verified, 1, "{report:?}");
    assert_eq!(std::fs::read(&dest).unwrap(), BODY);
}

#[tokio::test]
async fn a_corrupted_download_is_refused_and_removed() {
    let server = blob_server(b"what was uploaded", true).await;
    let client = common::static_client(&server);
    let dest = destination("corrupt");
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
    assert!(!dest.exists(), "a corrupted file is never put in place");
    assert!(!part_of(&dest).exists(), "nor kept to be resumed");
}

#[tokio::test]
async fn with_the_check_off_the_file_is_kept_and_reported_unchecked() {
    let server = blob_server(b"what was uploaded", false).await;
    let client = common::static_client_with(&server, |builder| {
        builder.transfer_options(TransferOptions::default().with_verify_md5(false))
    });
    let dest = destination("unchecked");
    let report = client
        .download_from(&sas(&server), &dest, &Silent)
        .await
        .unwrap();
    assert!(!report.md5_verified);
    assert_eq!(std::fs::read(&dest).unwrap(), BODY);
}
