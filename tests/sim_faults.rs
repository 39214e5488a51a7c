//! Injected faults reach hw-api as the real service's would, and hw-api handles each as it
//! should: retries what is safe, reports the rest.

use std::time::Duration;

use hw_api::types::{NewSubmission, SubmissionType};
use hw_api::{Error, Id};
use hw_sim::{Fault, FaultRule, SimConfig};
use hw_workspace_tests::sim::TestSim;

async fn sim_with(rules: Vec<FaultRule>) -> TestSim {
    TestSim::start(SimConfig {
        faults: rules,
        step_duration: Duration::from_millis(20),
        ..SimConfig::default()
    })
    .await
}

#[tokio::test]
async fn throttling_with_retry_after_is_waited_out() {
    let rule = FaultRule::new(
        Fault::Throttle {
            retry_after: Duration::from_millis(300),
        },
        1.0,
    )
    .only("getProduct")
    .at_most(2);
    let sim = sim_with(vec![rule]).await;
    let product = Id(sim.add_product("p"));
    let started = std::time::Instant::now();
    sim.client().get_product(product).await.unwrap();
    assert!(started.elapsed() >= Duration::from_millis(600));
    assert_eq!(sim.requests("getProduct"), 3);
}

#[tokio::test]
async fn html_503s_and_500s_on_reads_are_retried() {
    let sim = sim_with(vec![
        FaultRule::new(Fault::Unavailable, 1.0)
            .only("getProduct")
            .at_most(1),
        FaultRule::new(Fault::InternalError, 1.0)
            .only("getProduct")
            .at_most(1),
    ])
    .await;
    let product = Id(sim.add_product("p"));
    sim.client().get_product(product).await.unwrap();
    assert_eq!(sim.requests("getProduct"), 3);
}

#[tokio::test]
async fn a_dropped_connection_on_a_create_is_ambiguous_and_the_submission_exists() {
    let sim = sim_with(vec![
        FaultRule::new(Fault::DropConnection, 1.0)
            .only("createSubmission")
            .at_most(1),
    ])
    .await;
    let product = Id(sim.add_product("p"));
    let body = NewSubmission {
        name: "v1".try_into().unwrap(),
        type_: SubmissionType::Initial,
    };
    let err = sim
        .client()
        .create_submission(product, &body)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Ambiguous { .. }), "{err:?}");
    assert_eq!(sim.requests("createSubmission"), 1, "not resent");
    let created =
        futures_util::TryStreamExt::try_collect::<Vec<_>>(sim.client().list_submissions(product))
            .await
            .unwrap();
    assert_eq!(
        created.len(),
        1,
        "the create went through although the client could not tell"
    );
}

#[tokio::test]
async fn a_dropped_connection_on_a_read_is_retried() {
    let sim = sim_with(vec![
        FaultRule::new(Fault::DropConnection, 1.0)
            .only("getProduct")
            .at_most(1),
    ])
    .await;
    let product = Id(sim.add_product("p"));
    sim.client().get_product(product).await.unwrap();
    assert_eq!(sim.requests("getProduct"), 2);
}

#[tokio::test]
async fn a_slow_response_times_out() {
    let sim = sim_with(vec![
        FaultRule::new(Fault::Slow(Duration::from_millis(800)), 1.0).only("getProduct"),
    ])
    .await;
    let product = Id(sim.add_product("p"));
    let client = sim
        .client_builder()
        .request_timeout(Duration::from_millis(150))
        .retry_policy(hw_api::RetryPolicy::none())
        .build()
        .unwrap();
    let err = client.get_product(product).await.unwrap_err();
    assert!(matches!(err, Error::Timeout { .. }), "{err:?}");
}

#[tokio::test]
async fn token_endpoint_throttling_is_retried() {
    let sim = sim_with(vec![
        FaultRule::new(
            Fault::Throttle {
                retry_after: Duration::ZERO,
            },
            1.0,
        )
        .only("token")
        .at_most(1),
    ])
    .await;
    sim.add_product("p");
    futures_util::TryStreamExt::try_collect::<Vec<_>>(sim.client().list_products())
        .await
        .unwrap();
    assert_eq!(sim.requests("token"), 2);
}

#[tokio::test]
async fn a_dropped_connection_cuts_the_body_partway() {
    let sim = sim_with(vec![
        FaultRule::new(Fault::DropConnection, 1.0).only("getProduct"),
    ])
    .await;
    let product = sim.add_product("p");
    let url = format!("{}/hardware/products/{product}", sim.api_url());
    let response = reqwest::Client::new()
        .get(url)
        .bearer_auth(sim.issue_token())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200, "the headers arrive");
    let declared: usize = response.headers()["content-length"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!(declared > 10);
    assert!(response.bytes().await.is_err(), "then the body breaks off");
}

/// A simulator with a quota of `per_minute` requests and a burst of 5, and one product.
async fn quota_sim(per_minute: u32) -> (TestSim, Id) {
    let sim = TestSim::start(SimConfig {
        rate_limit: Some(per_minute),
        rate_limit_burst: Some(5),
        ..SimConfig::default()
    })
    .await;
    let product = Id(sim.add_product("p"));
    (sim, product)
}

#[tokio::test]
async fn the_quota_answers_429_with_retry_after_past_its_burst() {
    // One request a second: the sixth of six at once is past the burst, whatever the machine.
    let (sim, product) = quota_sim(60).await;
    let unpaced = sim
        .client_builder()
        .rate_limit(hw_api::RateLimit::off())
        .retry_policy(hw_api::RetryPolicy::none())
        .build()
        .unwrap();
    let answers: Vec<_> =
        futures_util::future::join_all((0..6).map(|_| unpaced.get_product(product))).await;
    let throttled: Vec<&Error> = answers.iter().filter_map(|a| a.as_ref().err()).collect();
    assert_eq!(throttled.len(), 1, "{answers:?}");
    assert_eq!(throttled[0].status(), Some(429));
    assert_eq!(throttled[0].kind(), hw_api::ErrorKind::Throttled);
    let Error::Service(service) = throttled[0] else {
        panic!("{:?}", throttled[0])
    };
    assert!(service.retry_after.is_some(), "{service:?}");
    assert_eq!(sim.quota(), Some((5, 1)));
}

#[tokio::test]
async fn sixteen_readers_sharing_the_rate_meet_far_fewer_429s_than_unpaced_ones() {
    let mut counts = Vec::new();
    for rate in [hw_api::RateLimit::default(), hw_api::RateLimit::off()] {
        let (sim, product) = quota_sim(600).await;
        let client = sim
            .client_builder()
            .rate_limit(rate)
            .retry_policy(hw_api::RetryPolicy::default().with_max_attempts(30))
            .build()
            .unwrap();
        let reads =
            futures_util::future::join_all((0..16).map(|_| client.get_product(product))).await;
        assert!(reads.iter().all(Result::is_ok), "{reads:?}");
        counts.push(sim.quota().unwrap().1);
    }
    // The first burst meets the quota either way; after it, the shared rate waits its turn.
    assert!(counts[0] <= 16, "{counts:?}");
    assert!(
        counts[0] < counts[1],
        "shared {} against unpaced {}",
        counts[0],
        counts[1]
    );
}
