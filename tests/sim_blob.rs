//! The simulator's blob service enforces the Azure Block Blob rules a client must follow.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hw_api::Id;
use hw_api::types::{DownloadType, NewSubmission, SubmissionType};
use hw_sim::SimConfig;
use hw_workspace_tests::sim::TestSim;
use md5::{Digest, Md5};
use reqwest::{Client, Response};

/// A fresh upload URL (a submission's `initialPackage`).
async fn upload_url(sim: &TestSim) -> String {
    let product = Id(sim.add_product("p"));
    let body = NewSubmission {
        name: "s".try_into().unwrap(),
        type_: SubmissionType::Initial,
    };
    let submission = sim
        .client()
        .create_submission(product, &body)
        .await
        .unwrap();
    let items = submission.downloads.unwrap().items;
    items
        .into_iter()
        .find(|i| i.type_ == DownloadType::InitialPackage)
        .unwrap()
        .url
        .as_ref()
        .expect("a URL")
        .expose()
        .to_owned()
}

fn with(url: &str, extra: &str) -> String {
    format!("{url}&{extra}")
}

fn block_id(n: u32, width: usize) -> String {
    STANDARD.encode(format!("{n:0width$}"))
}

async fn code(response: Response) -> (u16, String) {
    let status = response.status().as_u16();
    let code = response
        .headers()
        .get("x-ms-error-code")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default();
    (status, code)
}

async fn put_block(http: &Client, url: &str, id: &str, data: &'static [u8]) -> Response {
    let url = with(url, &format!("comp=block&blockid={}", url_escape(id)));
    http.put(url).body(data).send().await.unwrap()
}

fn url_escape(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[tokio::test]
async fn blocks_commit_in_list_order_and_block_lists_report_them() {
    let sim = TestSim::quick().await;
    let url = upload_url(&sim).await;
    let http = Client::new();
    assert_eq!(
        put_block(&http, &url, &block_id(1, 6), b"world")
            .await
            .status(),
        201
    );
    assert_eq!(
        put_block(&http, &url, &block_id(0, 6), b"hello ")
            .await
            .status(),
        201
    );
    let listed = http
        .get(with(&url, "comp=blocklist&blocklisttype=uncommitted"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains(&block_id(0, 6)) && listed.contains("<Size>6</Size>"),
        "{listed}"
    );
    let list = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList><Latest>{}</Latest><Latest>{}</Latest></BlockList>",
        block_id(0, 6),
        block_id(1, 6)
    );
    let committed = http
        .put(with(&url, "comp=blocklist"))
        .body(list)
        .send()
        .await
        .unwrap();
    assert_eq!(committed.status(), 201);
    let content = http.get(&url).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(&content[..], b"hello world");
    let listed = http
        .get(with(&url, "comp=blocklist"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        listed.contains("<CommittedBlocks>") && !listed.contains("<UncommittedBlocks>"),
        "{listed}"
    );
}

#[tokio::test]
async fn block_ids_of_one_blob_must_have_one_length() {
    let sim = TestSim::quick().await;
    let url = upload_url(&sim).await;
    let http = Client::new();
    put_block(&http, &url, &block_id(0, 6), b"a").await;
    let (status, code) = code(put_block(&http, &url, &block_id(1, 8), b"b").await).await;
    assert_eq!((status, code.as_str()), (400, "InvalidBlobOrBlock"));
}

#[tokio::test]
async fn content_md5_is_verified() {
    let sim = TestSim::quick().await;
    let url = upload_url(&sim).await;
    let http = Client::new();
    let right = STANDARD.encode(Md5::digest(b"data"));
    let ok = http
        .put(with(
            &url,
            &format!("comp=block&blockid={}", url_escape(&block_id(0, 4))),
        ))
        .header("content-md5", right)
        .body("data")
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 201);
    let wrong = STANDARD.encode(Md5::digest(b"other"));
    let bad = http
        .put(with(
            &url,
            &format!("comp=block&blockid={}", url_escape(&block_id(1, 4))),
        ))
        .header("content-md5", wrong)
        .body("data")
        .send()
        .await
        .unwrap();
    assert_eq!(code(bad).await, (400, "Md5Mismatch".into()));
}

#[tokio::test]
async fn content_length_is_required() {
    let sim = TestSim::quick().await;
    let url = upload_url(&sim).await;
    let chunks: Vec<Result<&'static [u8], std::io::Error>> = vec![Ok(b"streamed without a length")];
    let body = reqwest::Body::wrap_stream(futures_util::stream::iter(chunks));
    let sent = Client::new()
        .put(&url)
        .header("x-ms-blob-type", "BlockBlob")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(code(sent).await, (411, "MissingContentLength".into()));
}

#[tokio::test]
async fn ranges_etags_and_md5_on_reads() {
    let sim = TestSim::quick().await;
    let url = upload_url(&sim).await;
    let http = Client::new();
    let put = http
        .put(&url)
        .header("x-ms-blob-type", "BlockBlob")
        .body("0123456789")
        .send()
        .await
        .unwrap();
    let etag = put.headers()["etag"].to_str().unwrap().to_owned();
    let part = http
        .get(&url)
        .header("range", "bytes=2-5")
        .send()
        .await
        .unwrap();
    assert_eq!(part.status(), 206);
    assert_eq!(part.headers()["content-range"], "bytes 2-5/10");
    assert_eq!(
        part.headers()["x-ms-blob-content-md5"],
        STANDARD.encode(Md5::digest(b"0123456789")).as_str()
    );
    assert_eq!(&part.bytes().await.unwrap()[..], b"2345");
    let pinned = http
        .get(&url)
        .header("if-match", &etag)
        .header("range", "bytes=8-")
        .send()
        .await
        .unwrap();
    assert_eq!(&pinned.bytes().await.unwrap()[..], b"89");
    let stale = http
        .get(&url)
        .header("if-match", "\"0x8D0000000000000\"")
        .send()
        .await
        .unwrap();
    assert_eq!(code(stale).await, (412, "ConditionNotMet".into()));
    let beyond = http
        .get(&url)
        .header("range", "bytes=10-")
        .send()
        .await
        .unwrap();
    assert_eq!(beyond.status(), 416);
}

#[tokio::test]
async fn the_sas_is_checked() {
    let sim = TestSim::quick().await;
    let url = upload_url(&sim).await;
    let http = Client::new();
    let tampered = url.replace("sp=rwl", "sp=rwld");
    let sent = http
        .put(&tampered)
        .header("x-ms-blob-type", "BlockBlob")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(code(sent).await, (403, "AuthenticationFailed".into()));
    let unsigned: String = url.split("&sig=").next().unwrap().to_owned();
    assert_eq!(http.get(&unsigned).send().await.unwrap().status(), 403);
}

#[tokio::test]
async fn an_expired_sas_is_refused() {
    let sim = TestSim::start(SimConfig {
        sas_lifetime: std::time::Duration::from_secs(1),
        ..SimConfig::default()
    })
    .await;
    let url = upload_url(&sim).await;
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let sent = Client::new()
        .put(&url)
        .header("x-ms-blob-type", "BlockBlob")
        .body("late")
        .send()
        .await
        .unwrap();
    assert_eq!(code(sent).await, (403, "AuthenticationFailed".into()));
}

#[tokio::test]
async fn an_authorization_header_is_refused_and_counted() {
    let sim = TestSim::quick().await;
    let url = upload_url(&sim).await;
    let sent = Client::new()
        .put(&url)
        .bearer_auth("api-token")
        .header("x-ms-blob-type", "BlockBlob")
        .body("x")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 403);
    assert_eq!(sim.blob_authorization_headers(), 1);
}

#[tokio::test]
async fn block_sizes_are_limited_by_the_sas_version() {
    let sim = TestSim::start(SimConfig {
        sas_version: "2015-12-11".into(),
        ..SimConfig::default()
    })
    .await;
    let url = upload_url(&sim).await;
    let http = Client::new();
    let too_big = vec![7u8; 4 * 1024 * 1024 + 1];
    let sent = http
        .put(with(
            &url,
            &format!("comp=block&blockid={}", url_escape(&block_id(0, 4))),
        ))
        .body(too_big)
        .send()
        .await
        .unwrap();
    assert_eq!(code(sent).await, (413, "RequestBodyTooLarge".into()));
    let fits = vec![7u8; 4 * 1024 * 1024];
    let sent = http
        .put(with(
            &url,
            &format!("comp=block&blockid={}", url_escape(&block_id(0, 4))),
        ))
        .body(fits)
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status(), 201);
}
