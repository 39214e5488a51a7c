//! What is retried, how long it waits, and what is never resent.

mod common;

use std::time::{Duration, Instant};

use common::*;
use hw_api::types::{NewSubmission, SubmissionType};
use hw_api::{Client, Error, Id, RetryPolicy};
use serde_json::json;
use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

fn new_submission() -> NewSubmission {
    NewSubmission {
        name: "driver-1.2.3".try_into().unwrap(),
        type_: SubmissionType::Initial,
    }
}

fn created() -> ResponseTemplate {
    ResponseTemplate::new(201).set_body_json(json!({"id": SUBMISSION, "productId": PRODUCT}))
}

async fn first_then(
    server: &MockServer,
    verb: &str,
    first: ResponseTemplate,
    then: ResponseTemplate,
    first_times: u64,
) {
    Mock::given(method(verb))
        .respond_with(first)
        .up_to_n_times(first_times)
        .expect(first_times)
        .mount(server)
        .await;
    Mock::given(method(verb))
        .respond_with(then)
        .expect(1)
        .mount(server)
        .await;
}

#[tokio::test]
async fn idempotent_reads_are_retried_on_5xx_and_408() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(408))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(500))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(product(PRODUCT)))
        .expect(1)
        .mount(&server)
        .await;
    static_client(&server)
        .get_product(Id(PRODUCT))
        .await
        .unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 4);
}

#[tokio::test]
async fn retry_after_in_seconds_is_honoured() {
    let server = MockServer::start().await;
    first_then(
        &server,
        "GET",
        ResponseTemplate::new(429).insert_header("Retry-After", "1"),
        ResponseTemplate::new(200).set_body_json(product(PRODUCT)),
        1,
    )
    .await;
    let started = Instant::now();
    static_client(&server)
        .get_product(Id(PRODUCT))
        .await
        .unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "waited only {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn retry_after_in_milliseconds_is_honoured() {
    for header in ["retry-after-ms", "x-ms-retry-after-ms"] {
        let server = MockServer::start().await;
        first_then(
            &server,
            "GET",
            ResponseTemplate::new(503).insert_header(header, "300"),
            ResponseTemplate::new(200).set_body_json(product(PRODUCT)),
            1,
        )
        .await;
        let started = Instant::now();
        static_client(&server)
            .get_product(Id(PRODUCT))
            .await
            .unwrap();
        assert!(
            started.elapsed() >= Duration::from_millis(300),
            "{header}: waited only {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn a_create_is_not_resent_after_a_500() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(500))
        .expect(1)
        .mount(&server)
        .await;
    let err = static_client(&server)
        .create_submission(Id(PRODUCT), &new_submission())
        .await
        .unwrap_err();
    let Error::Ambiguous { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert_eq!(source.status(), Some(500));
    assert!(err.to_string().contains("outcome unknown"), "{err}");
}

#[tokio::test]
async fn a_create_is_retried_when_throttled() {
    let server = MockServer::start().await;
    first_then(
        &server,
        "POST",
        ResponseTemplate::new(429).insert_header("retry-after-ms", "10"),
        created(),
        2,
    )
    .await;
    let submission = static_client(&server)
        .create_submission(Id(PRODUCT), &new_submission())
        .await
        .unwrap();
    assert_eq!(submission.id, Id(SUBMISSION));
}

#[tokio::test]
async fn a_create_is_retried_when_the_connection_is_refused() {
    let unused = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = unused.local_addr().unwrap();
    drop(unused);
    let client = Client::builder()
        .base_url(format!("http://{address}/v2.0/my"))
        .access_token("t".to_owned().into())
        .retry_policy(quick_retries())
        .build()
        .unwrap();
    let err = client
        .create_submission(Id(PRODUCT), &new_submission())
        .await
        .unwrap_err();
    let Error::Transport { attempts, .. } = err else {
        panic!("{err:?}")
    };
    assert_eq!(
        attempts, 4,
        "a refused connection means nothing was sent, so it is retried"
    );
}

#[tokio::test]
async fn a_create_that_times_out_is_ambiguous_and_sent_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(created().set_delay(Duration::from_millis(600)))
        .expect(1)
        .mount(&server)
        .await;
    let client = static_client_with(&server, |b| {
        b.request_timeout(Duration::from_millis(200))
            .retry_policy(quick_retries())
    });
    let err = client
        .create_submission(Id(PRODUCT), &new_submission())
        .await
        .unwrap_err();
    let Error::Ambiguous { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(matches!(**source, Error::Timeout { .. }), "{source:?}");
}

#[tokio::test]
async fn retries_can_be_turned_off() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .expect(1)
        .mount(&server)
        .await;
    let client = static_client_with(&server, |b| b.retry_policy(RetryPolicy::none()));
    assert_eq!(
        client.get_product(Id(PRODUCT)).await.unwrap_err().status(),
        Some(503)
    );
}

#[tokio::test]
async fn exhausted_retries_report_the_last_error_and_the_attempts() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(502))
        .expect(4)
        .mount(&server)
        .await;
    let err = static_client(&server)
        .get_product(Id(PRODUCT))
        .await
        .unwrap_err();
    assert_eq!(err.service().unwrap().attempts, 4);
    assert!(err.to_string().ends_with("(4 attempts)"), "{err}");
}

#[tokio::test]
async fn a_wait_past_the_deadline_fails_at_once_with_the_hint() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "30"))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder()
        .base_url(base(&server))
        .access_token("t".to_owned().into())
        .retry_policy(quick_retries().with_deadline(Some(Duration::from_secs(5))))
        .build()
        .unwrap();
    let started = Instant::now();
    let err = client.get_product(Id(PRODUCT)).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    assert_eq!(
        err.service().unwrap().retry_after,
        Some(Duration::from_secs(30))
    );
    assert!(err.to_string().contains("retry after 30 s"), "{err}");
}

/// Product 1's first read is throttled for three seconds; product 2 is never throttled.
/// Returns how long a read of product 2, started while product 1 waits out its 429, took.
async fn read_during_anothers_429(rate: hw_api::RateLimit) -> Duration {
    use wiremock::matchers::path;
    let server = MockServer::start().await;
    let one = "/v2.0/my/hardware/products/1";
    Mock::given(method("GET"))
        .and(path(one))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "3"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(one))
        .respond_with(ResponseTemplate::new(200).set_body_json(product(1)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2.0/my/hardware/products/2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(product(2)))
        .mount(&server)
        .await;
    let client = static_client_with(&server, |b| b.rate_limit(rate));
    let throttled = tokio::spawn({
        let client = client.clone();
        async move { client.get_product(Id(1)).await }
    });
    while server
        .received_requests()
        .await
        .unwrap_or_default()
        .is_empty()
    {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // Time for the client to read the 429 (microseconds; this leaves a wide margin).
    tokio::time::sleep(Duration::from_millis(100)).await;
    let start = Instant::now();
    client.get_product(Id(2)).await.unwrap();
    let took = start.elapsed();
    throttled.await.unwrap().unwrap();
    took
}

#[tokio::test]
async fn a_429_pauses_every_request_of_the_client_not_only_its_own() {
    // The rest of the three seconds the service asked for (wide margins: a loaded machine).
    let shared = read_during_anothers_429(hw_api::RateLimit::default()).await;
    assert!(shared >= Duration::from_secs(2), "{shared:?}");
    // Without the shared rate, only the throttled request waits.
    let alone = read_during_anothers_429(hw_api::RateLimit::off()).await;
    assert!(alone < Duration::from_secs(2), "{alone:?}");
}
