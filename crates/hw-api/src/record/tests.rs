use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};

use super::fuzz::{Memory, check};
use super::pending::synthetic;
use super::scrub;
use super::*;
use secrecy::SecretString;

fn lines(memory: &Memory) -> Vec<Value> {
    memory
        .text()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn recorder(anonymize: bool) -> (Recorder, Memory) {
    let memory = Memory::default();
    let options = RecordOptions::default()
        .with_anonymize(anonymize)
        .with_tool("test");
    (
        Recorder::to_writer(memory.clone(), options).unwrap(),
        memory,
    )
}

fn json_answer(body: &Value) -> (HeaderMap, Vec<u8>) {
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("x-ms-request-id", HeaderValue::from_static("req-1"));
    headers.insert(
        "set-cookie",
        HeaderValue::from_static("session=s3cr3tcookie"),
    );
    (headers, body.to_string().into_bytes())
}

#[test]
fn planted_secrets_never_reach_the_trace() {
    for input in [
        &b""[..],
        b"plain",
        b"{\"json\": [1, 2]}",
        b"\xff\xfe broken utf-8 \x00",
        b"https://a.test/x?sig=",
        b"<html>502</html>",
    ] {
        check(input, false).unwrap();
        check(input, true).unwrap();
    }
}

#[test]
fn the_first_line_says_what_wrote_the_trace() {
    let (_recorder, memory) = recorder(true);
    let first = &lines(&memory)[0];
    assert_eq!(first["kind"], "trace");
    assert_eq!(first["format"], FORMAT);
    assert_eq!(first["tool"], "test");
    assert_eq!(first["anonymized"], true);
}

#[test]
fn an_exchange_keeps_its_shape_and_loses_its_secrets() {
    let (recorder, memory) = recorder(false);
    recorder.add_secret(&SecretString::from("client-secret-value"));
    let url =
        url::Url::parse("https://api.test/v2.0/my/hardware/products?pageSize=5&sig=abc").unwrap();
    let mut request = reqwest::Request::new(reqwest::Method::GET, url);
    request.headers_mut().insert(
        "authorization",
        HeaderValue::from_static("Bearer the-token-value"),
    );
    let body = json!({
        "value": [{"id": 7, "productName": "Contoso", "fileUploadUrl": "https://b.test/c?sv=1&sig=SIGN"}],
        "message": "echo client-secret-value",
    });
    let (headers, bytes) = json_answer(&body);
    synthetic(
        &recorder,
        Service::Api,
        &request,
        200,
        &headers,
        &bytes,
        true,
    );
    let entry = &lines(&memory)[1];
    assert_eq!(entry["kind"], "exchange");
    assert_eq!(entry["service"], "api");
    assert_eq!(entry["method"], "GET");
    assert_eq!(entry["origin"], "https://api.test");
    assert_eq!(
        entry["target"],
        "/v2.0/my/hardware/products?pageSize=5&sig=REDACTED"
    );
    assert_eq!(entry["status"], 200);
    assert_eq!(entry["request"]["headers"], json!({}));
    assert_eq!(
        entry["response"]["headers"],
        json!({"content-type": "application/json", "x-ms-request-id": "req-1"})
    );
    let kept = &entry["response"]["body"]["json"];
    assert_eq!(kept["value"][0]["id"], 7);
    assert_eq!(kept["value"][0]["productName"], "Contoso");
    assert_eq!(
        kept["value"][0]["fileUploadUrl"],
        "https://b.test/c?sv=1&sig=REDACTED"
    );
    assert_eq!(kept["message"], "echo REDACTED");
}

#[test]
fn token_answers_and_requests_keep_only_harmless_fields() {
    let answer = scrub::body(
        Service::Token,
        Some("application/json"),
        br#"{"token_type":"Bearer","expires_in":3599,"access_token":"opaque","foo":{"bar":1}}"#,
        &[],
    );
    let super::entry::Body::Json(answer) = answer else {
        panic!("not JSON: {answer:?}")
    };
    assert_eq!(
        answer,
        json!({"token_type": "Bearer", "expires_in": 3599, "access_token": "REDACTED", "foo": "REDACTED"})
    );
    let form = scrub::body(
        Service::Token,
        Some("application/x-www-form-urlencoded"),
        b"grant_type=client_credentials&client_id=app&client_secret=s%2Bcret&client_assertion=eyJ.a.b&resource=https%3A%2F%2Fmanage.devcenter.microsoft.com",
        &[],
    );
    let super::entry::Body::Form(form) = form else {
        panic!("not a form: {form:?}")
    };
    assert_eq!(form["grant_type"], "client_credentials");
    assert_eq!(form["client_id"], "app");
    assert_eq!(form["client_secret"], "REDACTED");
    assert_eq!(form["client_assertion"], "REDACTED");
    assert_eq!(form["resource"], "https://manage.devcenter.microsoft.com");
}

#[test]
fn anonymized_ids_and_names_are_replaced_consistently() {
    let (recorder, memory) = recorder(true);
    let product = "14631253285588838";
    let url = format!("https://api.test/v2.0/my/hardware/products/{product}/submissions");
    let mut request = reqwest::Request::new(reqwest::Method::POST, url::Url::parse(&url).unwrap());
    *request.body_mut() = Some(reqwest::Body::from(
        json!({"name": "touch-1.2.3", "type": "initial"}).to_string(),
    ));
    request
        .headers_mut()
        .insert("content-type", HeaderValue::from_static("application/json"));
    let body = json!({
        "id": 1152921504606846976u64,
        "productId": 14631253285588838u64,
        "name": "touch-1.2.3",
        "links": [{"href": format!("https://api.test/v2.0/my/hardware/products/{product}/submissions/1152921504606846976"), "rel": "self"}],
        "message": "touch-1.2.3 of product 14631253285588838 was made",
    });
    let (headers, bytes) = json_answer(&body);
    synthetic(
        &recorder,
        Service::Api,
        &request,
        201,
        &headers,
        &bytes,
        true,
    );
    let text = memory.text();
    assert!(!text.contains(product), "{text}");
    assert!(!text.contains("1152921504606846976"), "{text}");
    assert!(!text.contains("touch-1.2.3"), "{text}");
    let entry = &lines(&memory)[1];
    let kept = &entry["response"]["body"]["json"];
    let product_id = kept["productId"].as_u64().expect("an id stays a number");
    let submission_id = kept["id"].as_u64().unwrap();
    assert_ne!(product_id, submission_id);
    assert_eq!(
        entry["target"],
        format!("/v2.0/my/hardware/products/{product_id}/submissions")
    );
    assert_eq!(
        kept["links"][0]["href"],
        format!(
            "https://api.test/v2.0/my/hardware/products/{product_id}/submissions/{submission_id}"
        )
    );
    assert_eq!(kept["name"], entry["request"]["body"]["json"]["name"]);
    assert_eq!(
        kept["message"],
        format!(
            "{} of product {product_id} was made",
            kept["name"].as_str().unwrap()
        )
    );
}

#[test]
fn a_trace_that_cannot_be_written_says_so() {
    struct Full;
    impl std::io::Write for Full {
        fn write(&mut self, _: &[u8]) -> std::io::Result<usize> {
            Err(std::io::Error::other("disk full"))
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let error = Recorder::to_writer(Full, RecordOptions::default()).unwrap_err();
    assert!(error.to_string().contains("disk full"), "{error}");
}

#[tokio::test]
async fn a_recorded_body_passes_unchanged_with_its_length() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    let content: Vec<u8> = (0..100_000u32).map(|i| (i % 251) as u8).collect();
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(content.clone()))
        .mount(&server)
        .await;
    let (recorder, memory) = recorder(false);
    let http = sender(Service::Blob, &recorder);
    let url = format!("{}/c/b?sv=1&sig=SIG", server.uri());
    let response = http
        .send::<()>("getBlob", http.client().get(&url), None)
        .await
        .unwrap();
    assert_eq!(response.content_length(), Some(content.len() as u64));
    assert_eq!(response.bytes().await.unwrap().to_vec(), content);
    let entry = &lines(&memory)[1];
    assert_eq!(entry["operation"], "getBlob");
    assert_eq!(entry["target"], "/c/b?sv=1&sig=REDACTED");
    assert_eq!(
        entry["response"]["body"]["digest"],
        json!({"size": content.len(), "md5": super::entry::BodyDigest::of(&content).md5})
    );
    assert!(entry.get("error").is_none());
}

#[tokio::test]
async fn a_request_given_up_before_its_answer_is_written_as_such() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_delay(std::time::Duration::from_secs(5)))
        .mount(&server)
        .await;
    let (recorder, memory) = recorder(false);
    let http = sender(Service::Api, &recorder);
    let sending = http.send::<()>("getProduct", http.client().get(server.uri()), None);
    let given_up = tokio::time::timeout(std::time::Duration::from_millis(100), sending).await;
    assert!(given_up.is_err());
    let entry = &lines(&memory)[1];
    assert_eq!(entry["operation"], "getProduct");
    assert!(entry.get("status").is_none());
    assert!(
        entry["error"]
            .as_str()
            .unwrap()
            .contains("given up before its answer"),
        "{entry}"
    );
}

/// A block sent as a stream (so that its progress can be watched) is described in the trace
/// by the digest its sender computed beforehand, because it records: its size and MD5, even
/// when no `Content-MD5` header says them.
#[tokio::test]
async fn a_streamed_upload_is_traced_with_the_digest_of_its_body() {
    use wiremock::matchers::method;
    use wiremock::{Mock, MockServer, ResponseTemplate};
    let server = MockServer::start().await;
    Mock::given(method("PUT"))
        .respond_with(ResponseTemplate::new(201))
        .mount(&server)
        .await;
    let (recorder, memory) = recorder(false);
    let http = sender(Service::Blob, &recorder);
    let data = bytes::Bytes::from(vec![9u8; 5_000]);
    let url = format!("{}/c/b?comp=block&sig=SIG", server.uri());
    crate::transfer::blob::send_body(
        &http,
        &crate::RetryPolicy::none(),
        "putBlock",
        "the blob",
        &crate::transfer::TransferOptions::default(),
        &data,
        |body| http.client().put(&url).body(body),
    )
    .await
    .unwrap();
    let entry = &lines(&memory)[1];
    assert_eq!(entry["operation"], "putBlock");
    assert_eq!(
        entry["request"]["body"]["digest"],
        json!({"size": 5_000, "md5": super::entry::BodyDigest::of(&data).md5})
    );
}

/// A sender to `service` whose recording step writes to `recorder`.
fn sender(service: Service, recorder: &Recorder) -> crate::net::Sender {
    let steps = super::steps(Some(recorder), service);
    crate::net::Sender::new(reqwest::Client::new(), steps, true)
}
