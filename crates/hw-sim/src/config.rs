//! What a simulator run looks like: credentials, clocks, limits, seed data and faults.

use std::time::Duration;

use crate::faults::FaultRule;

/// The audience Entra expects of federated tokens by default.
pub const FEDERATION_AUDIENCE: &str = "api://AzureADTokenExchange";

/// The issuer of the simulator's own OIDC tokens (its GitHub-style and Azure Pipelines-style
/// token services, and [`SimHandle::federated_token`](crate::SimHandle::federated_token)).
pub const SIM_ISSUER: &str = "https://oidc.hw-sim.test";

/// The subject of the tokens the simulator's GitHub-style token service issues, as GitHub names
/// a job of a repository's environment.
pub const GITHUB_SUBJECT: &str = "repo:contoso/drivers:environment:release";

/// The subject of the simulator's Azure Pipelines tokens for service connection `id`.
pub fn pipelines_subject(id: &str) -> String {
    format!("sc://contoso/drivers/{id}")
}

/// The issuer of the tokens the simulator's managed-identity endpoints give for the federation
/// audience, as Entra is the issuer of a managed identity's tokens.
pub const MANAGED_IDENTITY_ISSUER: &str = "https://login.hw-sim.test/hw-sim-tenant/v2.0";

/// The subject of those tokens for the managed identity `client_id` (`None`: the
/// system-assigned one), as Entra names an identity by its object id.
pub fn managed_identity_subject(client_id: Option<&str>) -> String {
    format!("mi:{}", client_id.unwrap_or("system-assigned"))
}

/// The service connection the default app trusts.
pub const SERVICE_CONNECTION: &str = "hw-sim-connection";

/// The subject of the federated token files the tests write, as Kubernetes names a service
/// account.
pub const FILE_SUBJECT: &str = "system:serviceaccount:ci:hw-submitter";

/// The certificates (DER) of PEM text, for [`AppCredential::certificates`]: an error when it
/// holds none or one does not parse.
pub fn certificates_from_pem(pem: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    use rustls_pki_types::CertificateDer;
    use rustls_pki_types::pem::PemObject;
    let found = CertificateDer::pem_slice_iter(pem)
        .map(|c| c.map(|c| c.to_vec()).map_err(|e| e.to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    if found.is_empty() {
        return Err("no PEM CERTIFICATE in it".into());
    }
    Ok(found)
}

/// A federated credential of an app registration: tokens from `issuer` about `subject` for
/// `audience` prove the app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederatedCredential {
    /// The token issuer (`iss`).
    pub issuer: String,
    /// The subject (`sub`).
    pub subject: String,
    /// The audience (`aud`).
    pub audience: String,
}

impl FederatedCredential {
    /// Tokens of the simulator's own issuer about `subject`, for Entra's federation audience.
    pub fn of_simulator(subject: impl Into<String>) -> Self {
        Self {
            issuer: SIM_ISSUER.into(),
            subject: subject.into(),
            audience: FEDERATION_AUDIENCE.into(),
        }
    }
}

/// An Entra application the token endpoint accepts.
#[derive(Clone, Debug)]
pub struct AppCredential {
    /// The tenant id.
    pub tenant_id: String,
    /// The application (client) id.
    pub client_id: String,
    /// The client secret.
    pub secret: String,
    /// Certificates (DER) registered on the app: assertions they sign prove it.
    pub certificates: Vec<Vec<u8>>,
    /// Its federated credentials.
    pub federated: Vec<FederatedCredential>,
}

impl Default for AppCredential {
    /// The app `hw-sim-client` of tenant `hw-sim-tenant`, trusting the simulator's own GitHub,
    /// Azure Pipelines and token-file subjects and its system-assigned managed identity; no
    /// certificate.
    fn default() -> Self {
        Self {
            tenant_id: "hw-sim-tenant".into(),
            client_id: "hw-sim-client".into(),
            secret: "hw-sim-secret".into(),
            certificates: Vec::new(),
            federated: vec![
                FederatedCredential::of_simulator(GITHUB_SUBJECT),
                FederatedCredential::of_simulator(pipelines_subject(SERVICE_CONNECTION)),
                FederatedCredential::of_simulator(FILE_SUBJECT),
                FederatedCredential {
                    issuer: MANAGED_IDENTITY_ISSUER.into(),
                    subject: managed_identity_subject(None),
                    audience: FEDERATION_AUDIENCE.into(),
                },
            ],
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
    /// The bearer token the simulator's OIDC token services expect (as GitHub's
    /// `ACTIONS_ID_TOKEN_REQUEST_TOKEN` and Azure Pipelines' `SYSTEM_ACCESSTOKEN`).
    pub oidc_request_token: String,
    /// The `X-IDENTITY-HEADER` its App Service-style managed-identity endpoint expects.
    pub identity_header: String,
    /// The client ids of the user-assigned managed identities it knows (the system-assigned
    /// one always answers).
    pub managed_identities: Vec<String>,
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
    /// The account's quota of API requests per minute (`--rate-limit`), as a token bucket;
    /// `None`: no quota.
    pub rate_limit: Option<u32>,
    /// How many requests the quota lets through at once (default: one second's worth).
    pub rate_limit_burst: Option<u32>,
    /// Serve this recorded trace instead of the simulated API and blob storage
    /// ([`crate::replay`]); the token endpoint stays the simulator's.
    pub replay: Option<crate::trace::Trace>,
    /// Each new submission's files are listed with `url: null` in its first this many
    /// appearances in an answer (its create, gets, and lists, which then show its `downloads`
    /// too), as the service lists a file that is not available yet.
    pub withhold_urls: u32,
    /// A create's answer comes without `downloads` (so without the upload URL), as the
    /// service's sometimes did in 2026; a read of the submission has them.
    pub bare_creates: bool,
    /// Serve every endpoint over TLS, from a test CA made at start.
    pub tls: Option<crate::tls::SimTls>,
    /// Serve the service's host names on one address too (needs `tls`); the URLs the simulator
    /// gives name them.
    pub front: Option<crate::tls::SimFront>,
}

impl Default for SimConfig {
    fn default() -> Self {
        Self {
            api_addr: std::net::SocketAddr::from(([127, 0, 0, 1], 0)),
            token_addr: None,
            blob_addr: None,
            apps: vec![AppCredential::default()],
            oidc_request_token: "hw-sim-oidc-request-token".into(),
            identity_header: "hw-sim-identity-header".into(),
            managed_identities: vec!["hw-sim-user-identity".into()],
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
            replay: None,
            rate_limit: None,
            rate_limit_burst: None,
            withhold_urls: 0,
            bare_creates: false,
            tls: None,
            front: None,
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
