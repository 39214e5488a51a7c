//! What a simulator run looks like: credentials, clocks, limits, seed data and faults.

use std::time::Duration;

use crate::faults::FaultRule;

/// An Entra application the token endpoint accepts.
#[derive(Clone, Debug)]
pub struct AppCredential {
    /// The tenant id.
    pub tenant_id: String,
    /// The application (client) id.
    pub client_id: String,
    /// The client secret.
    pub secret: String,
}

impl Default for AppCredential {
    fn default() -> Self {
        Self {
            tenant_id: "hw-sim-tenant".into(),
            client_id: "hw-sim-client".into(),
            secret: "hw-sim-secret".into(),
        }
    }
}

/// The simulator's settings; [`Default`] suits tests and the demo.
#[derive(Clone, Debug)]
pub struct SimConfig {
    /// The address to listen on for the API (port 0: any free port). The token and blob
    /// endpoints listen on their own ports of the same host.
    pub api_addr: std::net::SocketAddr,
    /// The address of the token endpoint (default: the API's host, any free port).
    pub token_addr: Option<std::net::SocketAddr>,
    /// The address of the blob service (default: the API's host, any free port).
    pub blob_addr: Option<std::net::SocketAddr>,
    /// The applications the token endpoint accepts.
    pub apps: Vec<AppCredential>,
    /// Tokens accepted without the token endpoint (for `StaticToken` clients and external tools).
    pub static_tokens: Vec<String>,
    /// The lifetime of issued tokens.
    pub token_lifetime: Duration,
    /// How long each workflow step of a committed submission takes.
    pub step_duration: Duration,
    /// The default page size of lists.
    pub page_size: usize,
    /// The SAS service version (`sv`) of the upload URLs; it decides the blob size limits.
    pub sas_version: String,
    /// How long SAS URLs stay valid.
    pub sas_lifetime: Duration,
    /// The most bytes one blob may hold in memory, whatever the SAS version allows.
    pub max_blob_bytes: u64,
    /// Products to create at start.
    pub seed_products: usize,
    /// Submissions to create at start on the first product (one initial, the rest derived).
    pub seed_submissions: usize,
    /// Injected faults.
    pub faults: Vec<FaultRule>,
    /// The seed of the fault generator (the same seed gives the same faults for the same requests).
    pub fault_seed: u64,
    /// Keep every API response for conformance checks.
    pub record_responses: bool,
    /// Report a finished Windows Update label with the state `published`, as other clients
    /// have seen the service do, instead of `finalizePublishing` + `completed`.
    pub labels_end_published: bool,
    /// The link every connection of the blob service crosses (latency and bandwidth).
    pub link: Option<crate::link::Link>,
    /// A bandwidth in megabits per second that all connections of the blob service share.
    pub link_total_mbit: Option<f64>,
    /// Whether the API's connections cross the link too.
    pub link_api: bool,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            api_addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            token_addr: None,
            blob_addr: None,
            apps: vec![AppCredential::default()],
            static_tokens: Vec::new(),
            token_lifetime: Duration::from_secs(3600),
            step_duration: Duration::from_millis(200),
            page_size: 50,
            sas_version: "2019-12-12".into(),
            sas_lifetime: Duration::from_secs(24 * 3600),
            max_blob_bytes: 1 << 30,
            seed_products: 0,
            seed_submissions: 0,
            faults: Vec::new(),
            fault_seed: 1,
            record_responses: false,
            labels_end_published: false,
            link: None,
            link_total_mbit: None,
            link_api: false,
        }
    }
}

/// The blob size limits of a service version (Azure's documented limits).
///
/// The client keeps its own copy of this table (`hw_api::transfer::Limits`) on purpose: a
/// simulator that shared the client's logic could not catch the client's mistakes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BlobLimits {
    /// The largest block of Put Block.
    pub max_block: u64,
    /// The largest body of a single Put Blob.
    pub max_put_blob: u64,
    /// The most committed blocks of a blob.
    pub max_blocks: usize,
}

impl BlobLimits {
    /// The limits for SAS version `sv` (dates compare as text).
    pub fn for_version(sv: &str) -> Self {
        const MIB: u64 = 1024 * 1024;
        let (max_block, max_put_blob) = if sv >= "2019-12-12" {
            (4000 * MIB, 5000 * MIB)
        } else if sv >= "2016-05-31" {
            (100 * MIB, 256 * MIB)
        } else {
            (4 * MIB, 64 * MIB)
        };
        Self {
            max_block,
            max_put_blob,
            max_blocks: 50_000,
        }
    }
}
