//! What the examples share: a client signed in from the environment (`HW_TENANT_ID`,
//! `HW_CLIENT_ID`, `HW_CLIENT_SECRET`, and optionally `HW_API_BASE_URL`, `HW_AUTHORITY_HOST`),
//! or, when those are not set, one of an embedded hw-sim.

#![allow(dead_code)]

use std::time::Duration;

use hw_api::Client;
use hw_api::auth::ClientCredentials;

/// A client, and the simulator it talks to when it is one (kept running while it lives).
pub(crate) struct Connection {
    /// The client.
    pub client: Client,
    /// Whom it signs in as (for a journal).
    pub account: String,
    /// The embedded simulator, when there is one.
    pub sim: Option<hw_sim::SimHandle>,
}

/// The examples' error type: anything, reported with its causes.
pub(crate) type Failure = Box<dyn std::error::Error + Send + Sync>;

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// Connects as the environment says, or to an embedded simulator with `products` products.
pub(crate) async fn connect(products: usize) -> Result<Connection, Failure> {
    if let (Some(tenant), Some(client), Some(secret)) = (
        var("HW_TENANT_ID"),
        var("HW_CLIENT_ID"),
        var("HW_CLIENT_SECRET"),
    ) {
        let mut credentials = ClientCredentials::new(&tenant, &client, secret.into());
        if let Some(authority) = var("HW_AUTHORITY_HOST") {
            credentials = credentials.with_authority(&authority)?;
        }
        let mut builder = Client::builder().token_provider(credentials);
        if let Some(base) = var("HW_API_BASE_URL") {
            builder = builder.base_url(base);
        }
        return Ok(Connection {
            client: builder.build()?,
            account: format!("{tenant}/{client}"),
            sim: None,
        });
    }
    eprintln!("no HW_* settings: using an embedded hw-sim");
    simulated(products).await
}

/// Connects to an embedded simulator with `products` products.
pub(crate) async fn simulated(products: usize) -> Result<Connection, Failure> {
    let sim = hw_sim::start(hw_sim::SimConfig {
        seed_products: products,
        step_duration: Duration::from_millis(20),
        ..hw_sim::SimConfig::default()
    })
    .await?;
    let app = sim.app().expect("the simulator has an application").clone();
    eprintln!(
        "no HW_* settings: using an embedded hw-sim at {}",
        sim.api_url()
    );
    let credentials = ClientCredentials::new(&app.tenant_id, &app.client_id, app.secret.into())
        .with_authority(sim.authority_url())?;
    let client = Client::builder()
        .base_url(sim.api_url())
        .token_provider(credentials)
        .build()?;
    Ok(Connection {
        client,
        account: format!("{}/{} at hw-sim", app.tenant_id, app.client_id),
        sim: Some(sim),
    })
}
