//! How a downstream crate tests its own code against hw-sim, in-process: start the simulator,
//! point an `hw_api::Client` at it, and assert on what the service then holds. The same code
//! goes in a `#[tokio::test]` of your crate (with `hw-sim` as a dev-dependency); here it runs as
//! an example, so `cargo run -p hw-api --example test_against_hw_sim` shows it working.

use std::time::Duration;

use hw_api::Client;
use hw_api::auth::ClientCredentials;
use hw_api::types::{NewSubmission, SubmissionType};

/// The code under test: a downstream function that makes a submission for a product.
async fn make_release(
    client: &Client,
    product: hw_api::Id,
    version: &str,
) -> Result<hw_api::Id, Box<dyn std::error::Error + Send + Sync>> {
    let body = NewSubmission {
        name: format!("release {version}").try_into()?,
        type_: SubmissionType::Initial,
    };
    Ok(client.create_submission_once(product, &body).await?.id)
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    // A simulator with one product, whose workflow steps take 20 ms.
    let sim = hw_sim::start(hw_sim::SimConfig {
        seed_products: 1,
        step_duration: Duration::from_millis(20),
        ..hw_sim::SimConfig::default()
    })
    .await?;
    let app = sim.app().expect("the simulator has an application").clone();
    let credentials = ClientCredentials::new(&app.tenant_id, &app.client_id, app.secret.into())
        .with_authority(sim.authority_url())?;
    let client = Client::builder()
        .base_url(sim.api_url())
        .token_provider(credentials)
        .build()?;

    let (product, _, _) = sim.products()[0].clone();
    let made = make_release(&client, hw_api::Id(product), "1.0.0").await?;

    // Assert on what the service now holds, through the simulator's own view of it.
    let record = sim.submission(made.get()).expect("the submission exists");
    assert_eq!(record.name, "release 1.0.0");
    assert_eq!(
        sim.submissions_of(product).len(),
        1,
        "exactly one submission"
    );
    println!("submission {made} made, as the test expects");
    sim.stop().await;
    Ok(())
}
