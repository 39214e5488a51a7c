//! A simulator for a test, checked against the spec when the test ends.

use std::ops::Deref;
use std::time::Duration;

use hw_api::auth::ClientCredentials;
use hw_api::{Client, ClientBuilder, RetryPolicy};
use hw_sim::{SimConfig, SimHandle};

use crate::conformance::Conformance;

/// A running simulator that records every API response; when dropped (and the test has not
/// already failed) it checks each recorded response against the spec and fails the test on any
/// misfit.
pub struct TestSim {
    handle: Option<SimHandle>,
}

impl TestSim {
    /// Starts a simulator with `config` (recording turned on).
    pub async fn start(mut config: SimConfig) -> Self {
        config.record_responses = true;
        let handle = hw_sim::start(config).await.expect("the simulator starts");
        Self {
            handle: Some(handle),
        }
    }

    /// Starts a simulator with the default settings and fast workflow steps.
    pub async fn quick() -> Self {
        Self::start(SimConfig {
            step_duration: Duration::from_millis(20),
            ..SimConfig::default()
        })
        .await
    }

    /// Client credentials of the simulator's application.
    pub fn credentials(&self) -> ClientCredentials {
        let app = self.app().expect("the simulator has an application");
        ClientCredentials::new(&app.tenant_id, &app.client_id, app.secret.clone().into())
            .with_authority(self.authority_url())
            .expect("a loopback authority")
    }

    /// A builder for an hw-api client of this simulator (Entra credentials, quick retries).
    pub fn client_builder(&self) -> ClientBuilder {
        Client::builder()
            .base_url(self.api_url())
            .token_provider(self.credentials())
            .retry_policy(
                RetryPolicy::default()
                    .with_initial_delay(Duration::from_millis(5))
                    .with_max_delay(Duration::from_millis(50)),
            )
    }

    /// An hw-api client of this simulator.
    pub fn client(&self) -> Client {
        self.client_builder().build().expect("a client")
    }

    /// The generated client with `token` (or none).
    pub fn generated(&self, token: Option<&str>) -> hw_api_gen::Client {
        let mut headers = reqwest::header::HeaderMap::new();
        if let Some(token) = token {
            headers.insert(
                reqwest::header::AUTHORIZATION,
                format!("Bearer {token}").parse().expect("a header value"),
            );
        }
        let http = reqwest::Client::builder()
            .default_headers(headers)
            .build()
            .expect("a client");
        hw_api_gen::Client::new_with_client(&self.api_url(), http, hw_api_gen::Hooks::new())
    }
}

impl Deref for TestSim {
    type Target = SimHandle;

    fn deref(&self) -> &SimHandle {
        self.handle.as_ref().expect("running")
    }
}

impl Drop for TestSim {
    fn drop(&mut self) {
        let Some(handle) = self.handle.take() else {
            return;
        };
        if std::thread::panicking() {
            return;
        }
        let mut conformance = Conformance::new();
        let recorded = handle.recorded();
        let misfits: Vec<String> = recorded
            .iter()
            .filter_map(|r| {
                conformance
                    .check(&r.operation, r.status, r.body.as_ref())
                    .err()
            })
            .collect();
        assert!(
            misfits.is_empty(),
            "{} of {} simulator responses do not fit the spec:\n{}",
            misfits.len(),
            recorded.len(),
            misfits.join("\n")
        );
    }
}
