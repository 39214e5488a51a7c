//! The measured programs of the benchmarks: hw-api and the floors it is compared with. Each
//! reports its wall time and the process's peak resident memory.

use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::{StreamExt, TryStreamExt};
use hw_api::transfer::{Silent, TransferOptions};
use hw_api::{Client, Id, RetryPolicy};
use serde::Serialize;

/// What one measured run reports (printed as JSON).
#[derive(Serialize, Debug)]
pub struct Measured {
    /// Wall time of the measured work.
    pub seconds: f64,
    /// Items (products, bytes' blocks, details) it handled.
    pub items: u64,
    /// The process's peak resident set.
    pub peak_rss_kib: u64,
}

/// The process's peak resident set (VmHWM), in KiB.
pub fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn measured(started: Instant, items: u64) -> Measured {
    Measured {
        seconds: started.elapsed().as_secs_f64(),
        items,
        peak_rss_kib: peak_rss_kib(),
    }
}

/// A client of `base` with the fixed token `token`.
pub fn client(base: &str, token: &str) -> Result<Client, String> {
    client_with(base, token, TransferOptions::default())
}

fn client_with(base: &str, token: &str, transfer: TransferOptions) -> Result<Client, String> {
    Client::builder()
        .base_url(base)
        .access_token(token.to_owned().into())
        .retry_policy(RetryPolicy::none())
        .request_timeout(Duration::from_secs(600))
        .transfer_options(transfer)
        .build()
        .map_err(|e| e.to_string())
}

/// P1 through hw-api's pager: every product, up to `limit`.
pub async fn list_hw_api(
    base: &str,
    token: &str,
    limit: Option<usize>,
) -> Result<Measured, String> {
    let client = client(base, token)?;
    let started = Instant::now();
    let items = client
        .list_products()
        .take(limit.unwrap_or(usize::MAX))
        .try_fold(0u64, |n, _| async move { Ok(n + 1) })
        .await
        .map_err(|e| e.to_string())?;
    Ok(measured(started, items))
}

/// P1's floor: a minimal reqwest + serde_json loop over the same pages, decoding the same typed
/// products (decoding into `serde_json::Value` instead measured slower than the typed decode).
pub async fn list_floor(base: &str, token: &str) -> Result<Measured, String> {
    #[derive(serde::Deserialize)]
    struct Page {
        value: Vec<hw_api::types::Product>,
        #[serde(default)]
        links: Vec<Link>,
    }
    #[derive(serde::Deserialize)]
    struct Link {
        rel: String,
        href: String,
    }
    let http = reqwest::Client::new();
    let started = Instant::now();
    let mut next = Some(format!("{base}/hardware/products"));
    let mut items = 0u64;
    while let Some(url) = next.take() {
        let bytes = http
            .get(&url)
            .bearer_auth(token)
            .send()
            .await
            .map_err(|e| e.to_string())?
            .bytes()
            .await
            .map_err(|e| e.to_string())?;
        let page: Page = serde_json::from_slice(&bytes).map_err(|e| e.to_string())?;
        items += page.value.len() as u64;
        next = page
            .links
            .into_iter()
            .find(|l| l.rel == "next_link")
            .map(|l| l.href);
    }
    Ok(measured(started, items))
}

/// Creates a product and a submission and returns the submission's upload URL.
pub async fn prepare(base: &str, token: &str) -> Result<String, String> {
    let client = client(base, token)?;
    let product: hw_api::types::NewProduct =
        serde_json::from_value(serde_json::json!({"productName": "bench", "testHarness": "hlk"}))
            .map_err(|e| e.to_string())?;
    let product = client
        .create_product(&product)
        .await
        .map_err(|e| e.to_string())?;
    let body = hw_api::types::NewSubmission {
        name: "bench".try_into().map_err(|e| format!("{e}"))?,
        type_: hw_api::types::SubmissionType::Initial,
    };
    let submission = client
        .create_submission(product.id, &body)
        .await
        .map_err(|e| e.to_string())?;
    submission
        .downloads
        .and_then(|d| d.items.into_iter().next())
        .and_then(|i| i.url)
        .map(|url| url.expose().to_owned())
        .ok_or_else(|| "no upload URL".into())
}

/// P2 through hw-api's transfer.
pub async fn upload(sas: &str, file: &Path) -> Result<Measured, String> {
    let client = client("http://127.0.0.1:9/v2.0/my", "unused")?;
    let started = Instant::now();
    let report = client
        .upload_to(sas, file, &Silent)
        .await
        .map_err(|e| e.to_string())?;
    Ok(measured(started, report.bytes))
}

/// P3 through hw-api's transfer, with or without the MD5 check.
pub async fn download(sas: &str, out: &Path, verify: bool) -> Result<Measured, String> {
    let options = TransferOptions::default().with_verify_md5(verify);
    let client = client_with("http://127.0.0.1:9/v2.0/my", "unused", options)?;
    // Each run downloads from scratch: no leftovers of an earlier run to resume from.
    for suffix in ["", ".part", ".part.json"] {
        let mut path = out.as_os_str().to_owned();
        path.push(suffix);
        let _ = std::fs::remove_file(path);
    }
    let started = Instant::now();
    let report = client
        .download_from(sas, out, &Silent)
        .await
        .map_err(|e| e.to_string())?;
    Ok(measured(started, report.bytes))
}

/// P4: the details of every submission of `product` (or of the first product listed),
/// `concurrency` at a time.
pub async fn fanout(
    base: &str,
    token: &str,
    product: Option<u64>,
    concurrency: usize,
) -> Result<Measured, String> {
    let client = client(base, token)?;
    let product = match product {
        Some(id) => id,
        None => {
            let first = client.list_products().try_next().await;
            first
                .map_err(|e| e.to_string())?
                .ok_or("the service has no products")?
                .id
                .0
        }
    };
    let ids: Vec<Id> = client
        .list_submissions(Id(product))
        .map_ok(|s| s.id)
        .try_collect()
        .await
        .map_err(|e| e.to_string())?;
    let started = Instant::now();
    let details = futures_util::stream::iter(ids)
        .map(|id| {
            let client = &client;
            async move { client.get_submission(Id(product), id).await }
        })
        .buffer_unordered(concurrency)
        .try_fold(0u64, |n, _| async move { Ok(n + 1) })
        .await
        .map_err(|e| e.to_string())?;
    Ok(measured(started, details))
}
