//! The fault soak: many complete submit flows, several at once, against a simulator that injects
//! 10% faults (429 with Retry-After, 500, 503, dropped connections, slow answers) and issues
//! 5-second tokens. It passes when every flow completes, no product or submission exists twice,
//! and every downloaded package is byte-equal to what was uploaded.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hw_api::auth::ClientCredentials;
use hw_api::transfer::{Silent, TransferOptions};
use hw_api::types::{DownloadType, NewProduct, NewSubmission, SubmissionType};
use hw_api::{Client, RetryPolicy, WaitOptions};
use hw_sim::{Fault, FaultRule, SimConfig};

/// The outcome of a soak.
#[derive(Debug, Default)]
pub struct SoakReport {
    /// Flows started.
    pub flows: usize,
    /// Of them, finished with a signed package.
    pub completed: usize,
    /// Each failed flow's error.
    pub failures: Vec<String>,
    /// Products made more than once for one flow (exactly once says none).
    pub duplicate_products: usize,
    /// Submissions made more than once for one flow.
    pub duplicate_submissions: usize,
    /// Downloads byte-equal to what was uploaded.
    pub byte_equal: usize,
    /// Wall time of the soak.
    pub elapsed: Duration,
    /// Requests seen by the simulator per operation.
    pub requests: Vec<(String, u64)>,
}

impl SoakReport {
    /// Whether the soak passed.
    pub fn passed(&self) -> bool {
        self.completed == self.flows
            && self.failures.is_empty()
            && self.duplicate_products == 0
            && self.duplicate_submissions == 0
            && self.byte_equal == self.flows
    }

    /// A summary table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "| flows | completed | byte-equal downloads | duplicate products | duplicate submissions | time |\n|---|---|---|---|---|---|\n| {} | {} | {} | {} | {} | {:.1} s |\n",
            self.flows,
            self.completed,
            self.byte_equal,
            self.duplicate_products,
            self.duplicate_submissions,
            self.elapsed.as_secs_f64()
        );
        out.push_str("\n| operation | requests (faults included) |\n|---|---|\n");
        for (op, count) in &self.requests {
            out.push_str(&format!("| {op} | {count} |\n"));
        }
        for failure in &self.failures {
            out.push_str(&format!("\nfailed: {failure}"));
        }
        out
    }
}

/// The faults: 10% of requests in all, spread over the kinds.
pub fn faults() -> Vec<FaultRule> {
    vec![
        FaultRule::new(
            Fault::Throttle {
                retry_after: Duration::from_millis(200),
            },
            0.02,
        ),
        FaultRule::new(Fault::InternalError, 0.02),
        FaultRule::new(Fault::Unavailable, 0.02),
        FaultRule::new(Fault::DropConnection, 0.02),
        FaultRule::new(Fault::Slow(Duration::from_millis(300)), 0.02),
    ]
}

/// Runs `flows` submit flows, `concurrency` at once, with faults seeded by `seed`.
pub async fn run(
    flows: usize,
    concurrency: usize,
    seed: u64,
    scratch: PathBuf,
) -> std::io::Result<SoakReport> {
    let sim = hw_sim::start(SimConfig {
        faults: faults(),
        fault_seed: seed,
        token_lifetime: Duration::from_secs(5),
        step_duration: Duration::from_millis(30),
        ..SimConfig::default()
    })
    .await?;
    let app = sim
        .app()
        .cloned()
        .ok_or_else(|| std::io::Error::other("no application"))?;
    let credentials = ClientCredentials::new(&app.tenant_id, &app.client_id, app.secret.into())
        .with_authority(sim.authority_url())
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let client = Client::builder()
        .base_url(sim.api_url())
        .token_provider(credentials)
        .request_timeout(Duration::from_secs(2))
        .retry_policy(
            RetryPolicy::default()
                .with_initial_delay(Duration::from_millis(20))
                .with_max_delay(Duration::from_millis(500))
                .with_max_attempts(8),
        )
        .transfer_options(
            TransferOptions::default()
                .with_block_size(256 * 1024)
                .with_single_put_threshold(256 * 1024)
                .with_parallelism(4),
        )
        .build()
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    std::fs::create_dir_all(&scratch)?;
    let started = Instant::now();
    let client = Arc::new(client);
    let outcomes: Vec<Result<bool, String>> = futures_util::stream::iter(0..flows)
        .map(|n| {
            let client = client.clone();
            let scratch = scratch.clone();
            async move { flow(&client, n, &scratch, seed).await }
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut report = SoakReport {
        flows,
        elapsed: started.elapsed(),
        ..SoakReport::default()
    };
    for outcome in outcomes {
        match outcome {
            Ok(equal) => {
                report.completed += 1;
                report.byte_equal += usize::from(equal);
            }
            Err(e) => report.failures.push(e),
        }
    }
    let products = sim.products();
    let mut names: Vec<&str> = products.iter().map(|(_, name, _)| name.as_str()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    report.duplicate_products = before - names.len();
    report.duplicate_submissions = products.iter().map(|(_, _, n)| n.saturating_sub(1)).sum();
    report.requests = [
        "token",
        "createProduct",
        "listProducts",
        "createSubmission",
        "listSubmissions",
        "getSubmission",
        "commitSubmission",
        "putBlob",
        "putBlock",
        "getBlockList",
        "putBlockList",
        "getBlob",
    ]
    .iter()
    .map(|op| (op.to_string(), sim.requests(op)))
    .collect();
    sim.stop().await;
    let _ = std::fs::remove_dir_all(&scratch);
    Ok(report)
}

/// One submit flow; `Ok(true)` when the signed package holds exactly the uploaded bytes.
async fn flow(
    client: &Client,
    n: usize,
    scratch: &std::path::Path,
    seed: u64,
) -> Result<bool, String> {
    let fail = |step: &'static str| move |e: hw_api::Error| format!("flow {n}, {step}: {e}");
    // From 50 KB (one Put Blob) to about 1.5 MB (several blocks), spread by a hash.
    let spread = (n as u64 ^ seed).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 40;
    let size = 50_000 + (spread % 1_500_000) as usize;
    let package: Vec<u8> = (0..size).map(|i| ((i ^ n) * 131 % 251) as u8).collect();
    let path = scratch.join(format!("package-{n}.cab"));
    let out = scratch.join(format!("signed-{n}.cab"));
    std::fs::write(&path, &package).map_err(|e| format!("flow {n}: {e}"))?;
    let product: NewProduct = serde_json::from_value(serde_json::json!({
        "productName": format!("soak product {n}"), "testHarness": "hlk",
        "requestedSignatures": ["WINDOWS_v100_X64_RS5_FULL"]
    }))
    .map_err(|e| e.to_string())?;
    let product = client
        .create_product_once(&product)
        .await
        .map_err(fail("create product"))?
        .id;
    let body = NewSubmission {
        name: "v1".try_into().map_err(|e| format!("{e}"))?,
        type_: SubmissionType::Initial,
    };
    let submission = client
        .create_submission_once(product, &body)
        .await
        .map_err(fail("create submission"))?
        .id;
    client
        .upload_package(product, submission, &path, &Silent)
        .await
        .map_err(fail("upload"))?;
    client
        .commit_submission(product, submission)
        .await
        .map_err(fail("commit"))?;
    let wait = WaitOptions::default()
        .with_first_interval(Duration::from_millis(30))
        .with_max_interval(Duration::from_millis(200))
        .with_deadline(Some(Duration::from_secs(120)));
    client
        .wait_for_submission(product, submission, &wait, &mut |_| {})
        .await
        .map_err(fail("wait"))?;
    client
        .download_package(
            product,
            submission,
            DownloadType::SignedPackage,
            &out,
            &Silent,
        )
        .await
        .map_err(fail("download"))?;
    let signed = std::fs::read(&out).map_err(|e| format!("flow {n}: {e}"))?;
    let _ = std::fs::remove_file(&path);
    let _ = std::fs::remove_file(&out);
    Ok(signed.strip_prefix(b"HWSIM-SIGNED\n") == Some(&package[..]))
}
