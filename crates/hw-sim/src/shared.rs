//! What the simulator's handlers share: its settings, its state, its SAS key, where it listens
//! and its fault plan. At the bottom of the crate's modules: the handlers use it, it uses none
//! of them.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::config::SimConfig;
use crate::faults::Faults;
use crate::sas;
use crate::state::{self, Store};

/// Where the three services listen.
#[derive(Clone, Debug)]
pub struct Urls {
    /// `http://127.0.0.1:PORT` of the API.
    pub api_origin: String,
    /// `http://127.0.0.1:PORT` of the token endpoint (the Entra "authority").
    pub authority: String,
    /// `http://127.0.0.1:PORT` of the blob service.
    pub blob_origin: String,
}

/// What the handlers share.
pub(crate) struct Shared {
    /// The settings it was started with.
    pub(crate) config: SimConfig,
    /// Products, submissions, labels, blobs, tokens and counters.
    pub(crate) store: Mutex<Store>,
    /// The key SAS signatures are made with.
    pub(crate) sas_key: Vec<u8>,
    /// Where the servers listen.
    pub(crate) urls: Urls,
    /// Which faults to inject.
    pub(crate) faults: Faults,
    /// The key its own OIDC issuer signs tokens with (HS256, per run).
    pub(crate) oidc_key: aws_lc_rs::hmac::Key,
    activities: AtomicU64,
    /// The account's request quota, if it has one.
    pub(crate) quota: Option<crate::quota::Quota>,
}

impl Shared {
    /// The shared state of a simulator about to start.
    pub(crate) fn new(
        store: Store,
        faults: Faults,
        config: SimConfig,
        sas_key: Vec<u8>,
        urls: Urls,
    ) -> Self {
        Self {
            store: Mutex::new(store),
            sas_key,
            urls,
            faults,
            oidc_key: {
                let key: Vec<u8> = (0..32).map(|_| fastrand::u8(..)).collect();
                aws_lc_rs::hmac::Key::new(aws_lc_rs::hmac::HMAC_SHA256, &key)
            },
            activities: AtomicU64::new(0),
            quota: config
                .rate_limit
                .map(|per_minute| crate::quota::Quota::new(per_minute, config.rate_limit_burst)),
            config,
        }
    }

    /// A fresh GUID-shaped activity id.
    pub(crate) fn activity_id(&self) -> String {
        let n = self.activities.fetch_add(1, Ordering::Relaxed) + 1;
        state::guid(n ^ 0x5eed_0000_0000)
    }

    /// A new access token of the API, valid for `lifetime`.
    pub(crate) fn new_token(&self, lifetime: Duration) -> String {
        let mut store = state::lock(&self.store);
        let token = format!(
            "hwsim.{}.{:016x}",
            state::guid(store.next_counter()),
            fastrand::u64(..)
        );
        store
            .tokens
            .insert(token.clone(), std::time::Instant::now() + lifetime);
        token
    }

    /// The URL of this token endpoint for `tenant` (v2, or v1): what an assertion's `aud` names.
    pub(crate) fn token_url(&self, tenant: &str, v1: bool) -> String {
        let version = if v1 { "" } else { "/v2.0" };
        format!(
            "{}/{tenant}/oauth2{version}/token",
            self.urls.authority.trim_end_matches('/')
        )
    }

    /// A SAS URL of blob `name` with `permissions`.
    pub(crate) fn sas_url(&self, name: &str, permissions: &str) -> String {
        self.sas_url_for(name, permissions, self.config.sas_lifetime)
    }

    /// A SAS URL of blob `name` with `permissions`, valid for `lifetime`.
    pub(crate) fn sas_url_for(&self, name: &str, permissions: &str, lifetime: Duration) -> String {
        let query = sas::query(
            &self.sas_key,
            name,
            &self.config.sas_version,
            permissions,
            lifetime,
        );
        format!("{}/{name}?{query}", self.urls.blob_origin)
    }
}
