//! Starting the simulator: the API, the token endpoint and the blob service on their own
//! loopback ports, and a handle to inspect and stop them.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware;
use bytes::Bytes;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::config::{AppCredential, SimConfig};
use crate::faults::{Faults, Service};
use crate::replay::{self, Replay, ReplayReport};
use crate::shared::{Shared, Urls};
use crate::state::{self, Recorded, Store, SubmissionRecord};
use crate::{api, blob, fault_layer, link, record, token};

/// A running simulator. Dropping it stops the servers.
pub struct SimHandle {
    shared: Arc<Shared>,
    replay: Option<Arc<Replay>>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Starts a simulator with `config`.
pub async fn start(config: SimConfig) -> std::io::Result<SimHandle> {
    if !(1..=crate::api::MAX_PAGE_SIZE).contains(&config.page_size) {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            format!(
                "the page size must be from 1 to {}",
                crate::api::MAX_PAGE_SIZE
            ),
        ));
    }
    let api_listener = TcpListener::bind(config.api_addr).await?;
    let host = config.api_addr.ip();
    let token_listener =
        TcpListener::bind(config.token_addr.unwrap_or(SocketAddr::new(host, 0))).await?;
    let blob_listener =
        TcpListener::bind(config.blob_addr.unwrap_or(SocketAddr::new(host, 0))).await?;
    if config.front.is_some() && config.tls.is_none() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "the front serves TLS: give the TLS settings too",
        ));
    }
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    let origin = |l: &TcpListener| l.local_addr().map(|a| format!("{scheme}://{a}"));
    let urls = match &config.front {
        Some(front) => Urls {
            api_origin: front.origin(&front.api),
            authority: front.origin(&front.token),
            blob_origin: front.origin(&front.blob),
        },
        None => Urls {
            api_origin: origin(&api_listener)?,
            authority: origin(&token_listener)?,
            blob_origin: origin(&blob_listener)?,
        },
    };
    let front_names: Vec<String> = config
        .front
        .iter()
        .flat_map(|f| [f.api.clone(), f.token.clone(), f.blob.clone()])
        .collect();
    let acceptor = match &config.tls {
        Some(tls) => Some(crate::tls::acceptor(tls, &front_names)?),
        None => None,
    };
    let front_listener = match &config.front {
        Some(front) => Some(TcpListener::bind(front.addr).await?),
        None => None,
    };
    let sas_key: Vec<u8> = (0..32).map(|_| fastrand::u8(..)).collect();
    let shared = Arc::new(Shared::new(
        Store::new(&config),
        Faults::new(config.faults.clone(), config.fault_seed),
        config,
        sas_key,
        urls,
    ));
    let with_faults = |router: Router, service: Service| {
        router.layer(middleware::from_fn_with_state(
            (shared.clone(), service),
            fault_layer::inject,
        ))
    };
    let shaper = link::Shaper::new(shared.config.link, shared.config.link_total_mbit);
    let shaped = |router: Router| match &shaper {
        Some(shaper) => router.layer(middleware::from_fn_with_state(shaper.clone(), link::shape)),
        None => router,
    };
    let replay = shared.config.replay.as_ref().map(|trace| {
        Arc::new(Replay::new(
            trace,
            &shared.urls.api_origin,
            &shared.urls.blob_origin,
        ))
    });
    let api = match &replay {
        // Requests are still signed in: the simulator's token endpoint issues the tokens.
        Some(replay) => replay::router(replay.clone(), "api").layer(
            middleware::from_fn_with_state(shared.clone(), api::authenticate),
        ),
        None => api::router(shared.clone()),
    };
    let api = with_faults(api, Service::Api).layer(middleware::from_fn_with_state(
        shared.clone(),
        record::record,
    ));
    let api = if shared.config.link_api {
        shaped(api)
    } else {
        api
    };
    let token = with_faults(token::router(shared.clone()), Service::Token);
    let blob = match &replay {
        Some(replay) => replay::router(replay.clone(), "blob"),
        None => blob::router(shared.clone()),
    };
    let blob = shaped(with_faults(blob, Service::Blob));
    let (shutdown, signal) = watch::channel(false);
    let mut served = vec![
        (api_listener, api.clone()),
        (token_listener, token.clone()),
        (blob_listener, blob.clone()),
    ];
    if let (Some(listener), Some(front)) = (front_listener, &shared.config.front) {
        served.push((listener, crate::tls::by_host(front, api, token, blob)));
    }
    let tasks = served
        .into_iter()
        .map(|(listener, router)| {
            let mut signal = signal.clone();
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let stop = async move {
                    let _ = signal.wait_for(|stop| *stop).await;
                };
                match acceptor {
                    Some(acceptor) => crate::tls::serve(listener, router, acceptor, stop).await,
                    None => {
                        if let Err(e) = axum::serve(listener, router)
                            .with_graceful_shutdown(stop)
                            .await
                        {
                            tracing::error!(error = %e, "hw-sim server stopped");
                        }
                    }
                }
            })
        })
        .collect();
    Ok(SimHandle {
        shared,
        replay,
        shutdown,
        tasks,
    })
}

impl SimHandle {
    /// The API base URL clients use: `http://127.0.0.1:PORT/v2.0/my` (in a replay, the
    /// recorded base URL's path).
    pub fn api_url(&self) -> String {
        let path = match &self.shared.config.replay {
            Some(trace) => trace.api_base_path(),
            None => "/v2.0/my".to_owned(),
        };
        format!("{}{path}", self.shared.urls.api_origin)
    }

    /// How the replay goes (`None` unless the simulator replays a trace).
    pub fn replay_report(&self) -> Option<ReplayReport> {
        self.replay.as_ref().map(|r| r.report())
    }

    /// The recorded blob origins of a replay, and the simulator's blob paths they are served
    /// under.
    pub fn replay_blob_origins(&self) -> Vec<(String, String)> {
        self.replay
            .as_ref()
            .map(|r| r.blob_origins().to_vec())
            .unwrap_or_default()
    }

    /// The listening URLs.
    pub fn urls(&self) -> &Urls {
        &self.shared.urls
    }

    /// The token endpoint's authority URL (for `ClientCredentials::with_authority`).
    pub fn authority_url(&self) -> &str {
        &self.shared.urls.authority
    }

    /// The first application the token endpoint accepts.
    pub fn app(&self) -> Option<&AppCredential> {
        self.shared.config.apps.first()
    }

    /// A SAS URL of blob `name` (`container/blob`, which need not exist yet) with
    /// `permissions` (`r` to read, `w` to write), valid for `lifetime`: for tests of a blob
    /// client that need no submission.
    pub fn blob_sas_url(&self, name: &str, permissions: &str, lifetime: Duration) -> String {
        self.shared.sas_url_for(name, permissions, lifetime)
    }

    /// A token of the simulator's own OIDC issuer about `subject` for `audience`, valid for
    /// `lifetime`: what a federated token file holds.
    pub fn federated_token(&self, subject: &str, audience: &str, lifetime: Duration) -> String {
        crate::assertion::federated_token(
            &self.shared.oidc_key,
            crate::config::SIM_ISSUER,
            subject,
            audience,
            lifetime,
        )
    }

    /// Its GitHub Actions-style token service (`ACTIONS_ID_TOKEN_REQUEST_URL`), which expects
    /// [`SimConfig::oidc_request_token`].
    pub fn github_token_url(&self) -> String {
        format!("{}/oidc/github?api-version=2.0", self.shared.urls.authority)
    }

    /// Its Azure Pipelines-style OIDC endpoint (`SYSTEM_OIDCREQUESTURI`).
    pub fn pipelines_oidc_url(&self) -> String {
        format!("{}/oidc/pipelines", self.shared.urls.authority)
    }

    /// Its App Service-style managed-identity endpoint (`IDENTITY_ENDPOINT`), which expects
    /// [`SimConfig::identity_header`].
    pub fn identity_endpoint(&self) -> String {
        format!("{}/msi/token", self.shared.urls.authority)
    }

    /// Its Cloud Shell-style managed-identity endpoint (`MSI_ENDPOINT`).
    pub fn cloud_shell_endpoint(&self) -> String {
        format!("{}/msi/cloudshell", self.shared.urls.authority)
    }

    /// The settings it runs with.
    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// A valid access token, issued without the token endpoint.
    pub fn issue_token(&self) -> String {
        self.shared.new_token(self.shared.config.token_lifetime)
    }

    /// Adds a product; returns its id.
    pub fn add_product(&self, name: &str) -> u64 {
        state::lock(&self.shared.store).add_product(name)
    }

    /// Every product's id and name, with how many submissions it has.
    pub fn products(&self) -> Vec<(u64, String, usize)> {
        let store = state::lock(&self.shared.store);
        store
            .products
            .values()
            .map(|p| {
                let id = p.id.get();
                (
                    id,
                    p.product_name.clone().unwrap_or_default(),
                    store.submissions_of(id).count(),
                )
            })
            .collect()
    }

    /// How many products there are.
    pub fn product_count(&self) -> usize {
        state::lock(&self.shared.store).products.len()
    }

    /// The records of a product's submissions.
    pub fn submissions_of(&self, product: u64) -> Vec<SubmissionRecord> {
        let store = state::lock(&self.shared.store);
        store.submissions_of(product).cloned().collect()
    }

    /// The names of a submission's shipping labels.
    pub fn label_names(&self, submission: u64) -> Vec<String> {
        state::lock(&self.shared.store)
            .labels
            .values()
            .filter(|l| l.submission_id == submission)
            .map(|l| l.label.name.clone().unwrap_or_default())
            .collect()
    }

    /// A submission's record.
    pub fn submission(&self, id: u64) -> Option<SubmissionRecord> {
        state::lock(&self.shared.store)
            .submissions
            .get(&id)
            .cloned()
    }

    /// The committed content of blob `name` (`container/name`).
    pub fn blob(&self, name: &str) -> Option<Bytes> {
        let store = state::lock(&self.shared.store);
        store
            .blobs
            .get(name)
            .filter(|b| b.exists)
            .map(|b| b.data.clone())
    }

    /// How many API requests the quota (`SimConfig::rate_limit`) let through and refused with
    /// 429: `None` without a quota.
    pub fn quota(&self) -> Option<(u64, u64)> {
        self.shared
            .quota
            .as_ref()
            .map(|q| (q.admitted(), q.throttled()))
    }

    /// How many blob requests carried an `Authorization` header (they were refused).
    pub fn blob_authorization_headers(&self) -> u64 {
        state::lock(&self.shared.store).blob_authorization_headers
    }

    /// How many requests of `operation` arrived (faulted ones included).
    pub fn requests(&self, operation: &str) -> u64 {
        state::lock(&self.shared.store)
            .requests
            .get(operation)
            .copied()
            .unwrap_or(0)
    }

    /// The most requests of `operation` handled at once so far (a response counts as handled
    /// once its headers are ready).
    pub fn peak_in_flight(&self, operation: &str) -> u64 {
        state::lock(&self.shared.store)
            .in_flight
            .get(operation)
            .map_or(0, |(_, peak)| *peak)
    }

    /// The API responses recorded so far (with `record_responses`).
    pub fn recorded(&self) -> Vec<Recorded> {
        state::lock(&self.shared.store).recorded.clone()
    }

    /// Stops the servers and waits for them.
    pub async fn stop(mut self) {
        let _ = self.shutdown.send(true);
        for task in std::mem::take(&mut self.tasks) {
            let _ = task.await;
        }
    }
}

impl Drop for SimHandle {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
    }
}
