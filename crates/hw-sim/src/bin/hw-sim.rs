//! `hw-sim`: run the Hardware Dev Center simulator until Ctrl-C.

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use hw_sim::{AppCredential, FaultRule, SimConfig};

/// A stateful simulator of the Hardware Dev Center API, its token endpoint and its blob storage.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address of the API.
    #[arg(long, default_value = "127.0.0.1:8080", env = "HW_SIM_ADDR")]
    addr: SocketAddr,
    /// Address of the token endpoint (default: the API's host, a free port).
    #[arg(long)]
    token_addr: Option<SocketAddr>,
    /// Address of the blob service (default: the API's host, a free port).
    #[arg(long)]
    blob_addr: Option<SocketAddr>,
    /// Products to create at start.
    #[arg(long, default_value_t = 3)]
    products: usize,
    /// Submissions to create at start on the first product.
    #[arg(long, default_value_t = 0)]
    submissions: usize,
    /// The most MiB one blob may hold in memory.
    #[arg(long, default_value_t = 1024)]
    max_blob_mib: u64,
    /// Milliseconds each workflow step of a committed submission takes.
    #[arg(long, default_value_t = 1000)]
    step_ms: u64,
    /// Lifetime of issued tokens, in seconds.
    #[arg(long, default_value_t = 3600)]
    token_lifetime: u64,
    /// Default page size of lists (1 to 500).
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u16).range(1..=500))]
    page_size: u16,
    /// SAS service version of upload URLs (decides the blob size limits).
    #[arg(long, default_value = "2019-12-12")]
    sas_version: String,
    /// Lifetime of SAS URLs, in seconds.
    #[arg(long, default_value_t = 86_400)]
    sas_lifetime: u64,
    /// A token the API accepts without the token endpoint (repeatable).
    #[arg(long = "static-token")]
    static_tokens: Vec<String>,
    /// Tenant id the token endpoint accepts.
    #[arg(long, default_value = "hw-sim-tenant")]
    tenant: String,
    /// Client id the token endpoint accepts.
    #[arg(long, default_value = "hw-sim-client")]
    client_id: String,
    /// Client secret the token endpoint accepts.
    #[arg(
        long,
        default_value = "hw-sim-secret",
        env = "HW_SIM_CLIENT_SECRET",
        hide_env_values = true
    )]
    client_secret: String,
    /// A PEM certificate registered on the app: client assertions it signs prove the app
    /// (repeatable).
    #[arg(long = "client-cert", value_name = "FILE")]
    client_certs: Vec<std::path::PathBuf>,
    /// A fault to inject, `KIND:PROBABILITY[:OPERATION]` with KIND one of `429[=SECONDS]`, `500`,
    /// `500after` (processed, then a 500), `503`, `drop`, `corrupt` (one byte of the body changed), `slow=MILLISECONDS` (repeatable).
    #[arg(long = "fault")]
    faults: Vec<FaultRule>,
    /// Seed of the fault generator.
    #[arg(long, default_value_t = 1)]
    fault_seed: u64,
    /// The link of every blob connection, `RTT_MS:MBIT` (round trip, bandwidth per connection).
    #[arg(long)]
    link: Option<hw_sim::link::Link>,
    /// A bandwidth in Mbit/s all blob connections share (a slow uplink).
    #[arg(long)]
    link_total: Option<f64>,
    /// Shape the API's connections too.
    #[arg(long)]
    link_api: bool,
    /// Serve a trace that `hwdc --record` wrote instead of the simulated service: each request
    /// gets the recorded answer, in order; one the trace does not hold gets a 501 that says so.
    /// The token endpoint signs clients in as usual.
    #[arg(long, value_name = "FILE")]
    replay: Option<std::path::PathBuf>,
    /// The account's quota: API requests per minute; past it the API answers 429 with
    /// `Retry-After`, as the gateway does.
    #[arg(long, value_name = "PER_MINUTE", value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit: Option<u32>,
    /// How many requests the quota lets through at once (default: one second's worth).
    #[arg(long, value_name = "REQUESTS", requires = "rate_limit", value_parser = clap::value_parser!(u32).range(1..))]
    rate_limit_burst: Option<u32>,
    /// Show each new submission's files with `url: null` in its first N appearances in an
    /// answer (create, get, list), as the service does while a file is not available yet.
    #[arg(long, value_name = "READS", default_value_t = 0)]
    withhold_urls: u32,
    /// Answer a submission's create without its `downloads` (the upload URL), as the service
    /// sometimes does; a read of the submission has them.
    #[arg(long)]
    bare_creates: bool,
    /// Serve every endpoint over TLS from a test CA made at start, whose certificate is written
    /// to this file (PEM) for clients to trust.
    #[arg(long, value_name = "CA_FILE")]
    tls: Option<std::path::PathBuf>,
    /// Another host name the server certificate is for (repeatable).
    #[arg(long = "tls-host", value_name = "NAME", requires = "tls")]
    tls_hosts: Vec<String>,
    /// Also serve the service's own host names (manage.devcenter.microsoft.com,
    /// login.microsoftonline.com, hwsim.blob.core.windows.net) on this address, routed by
    /// `Host`, for a proxy that resolves them to it (needs --tls).
    #[arg(long, value_name = "ADDR", requires = "tls")]
    front: Option<std::net::SocketAddr>,
}

/// The DER certificates of the PEM files at `paths`.
fn certificates(paths: &[std::path::PathBuf]) -> std::io::Result<Vec<Vec<u8>>> {
    let mut found = Vec::new();
    for path in paths {
        let pem = std::fs::read(path)?;
        let certificates = hw_sim::config::certificates_from_pem(&pem)
            .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?;
        found.extend(certificates);
    }
    Ok(found)
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args = Args::parse();
    let replay = match &args.replay {
        Some(path) => Some(
            hw_sim::Trace::from_file(path)
                .map_err(|e| std::io::Error::other(format!("{}: {e}", path.display())))?,
        ),
        None => None,
    };
    let config = SimConfig {
        replay,
        rate_limit: args.rate_limit,
        rate_limit_burst: args.rate_limit_burst,
        withhold_urls: args.withhold_urls,
        bare_creates: args.bare_creates,
        tls: args.tls.map(|ca| {
            let mut tls = hw_sim::SimTls::new(ca);
            tls.hosts = args.tls_hosts;
            tls
        }),
        front: args.front.map(hw_sim::SimFront::service_names),
        api_addr: args.addr,
        token_addr: args.token_addr,
        blob_addr: args.blob_addr,
        apps: vec![AppCredential {
            tenant_id: args.tenant,
            client_id: args.client_id,
            secret: args.client_secret,
            certificates: certificates(&args.client_certs)?,
            ..AppCredential::default()
        }],
        static_tokens: args.static_tokens,
        token_lifetime: Duration::from_secs(args.token_lifetime),
        step_duration: Duration::from_millis(args.step_ms),
        page_size: usize::from(args.page_size),
        sas_version: args.sas_version,
        sas_lifetime: Duration::from_secs(args.sas_lifetime),
        seed_products: args.products,
        seed_submissions: args.submissions,
        max_blob_bytes: args.max_blob_mib * 1024 * 1024,
        faults: args.faults,
        fault_seed: args.fault_seed,
        link: args.link,
        link_total_mbit: args.link_total.filter(|m| *m > 0.0),
        link_api: args.link_api,
        ..SimConfig::default()
    };
    let sim = hw_sim::start(config).await?;
    println!("hw-sim is running (Ctrl-C stops it)");
    println!("  API base URL:  {}", sim.api_url());
    println!("  authority:     {}", sim.authority_url());
    println!("  blob service:  {}", sim.urls().blob_origin);
    if let Some(ca) = &sim.config().tls.as_ref().map(|t| t.ca_file.clone()) {
        println!("  test CA:       {}", ca.display());
    }
    if let Some(app) = sim.app() {
        println!(
            "  tenant {} / client {} (secret from --client-secret)",
            app.tenant_id, app.client_id
        );
    }
    if let (Some(path), Some(report)) = (&args.replay, sim.replay_report()) {
        println!(
            "  replaying {}: {} exchanges with the API and blob storage",
            path.display(),
            report.left
        );
        for (recorded, local) in sim.replay_blob_origins() {
            println!("  blob storage {recorded} is served under {local}");
        }
    }
    if let Some(per_minute) = args.rate_limit {
        println!("  quota: {per_minute} API requests per minute");
    }
    tokio::signal::ctrl_c().await?;
    if let Some((admitted, throttled)) = sim.quota() {
        println!("quota: {admitted} requests let through, {throttled} answered 429");
    }
    if let Some(report) = sim.replay_report() {
        println!(
            "replay: {} exchanges served, {} not asked for, {} requests not in the trace",
            report.served,
            report.left,
            report.misses.len()
        );
        for miss in &report.misses {
            println!("  not in the trace: {miss}");
        }
    }
    sim.stop().await;
    Ok(())
}
