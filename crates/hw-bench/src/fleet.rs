//! P9: a fleet of small submit flows (create the product, a submission, upload, commit, wait,
//! download) on one client, `concurrency` at once, against a simulator with a quota: with the
//! client's adaptive rate, or without it (each request honouring only its own `Retry-After`).
//! The API requests and the 429s are counted from a trace of the run (`hw_api::Recorder`).

use std::io::Write;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use hw_api::batch::{BatchItem, Unobserved};
use hw_api::ship::{FileStateStore, ProductChoice, ShipPlan};
use hw_api::types::{NewProduct, NewSubmission, SubmissionType};
use hw_api::{Client, RateLimit, RecordOptions, Recorder, RetryPolicy, WaitOptions};
use serde::Serialize;

/// What a fleet run reports (printed as JSON).
#[derive(Serialize, Debug)]
pub struct FleetMeasured {
    /// Wall time of the whole batch.
    pub seconds: f64,
    /// Entries submitted.
    pub entries: usize,
    /// Of them, failed.
    pub failed: usize,
    /// API requests sent (every attempt).
    pub requests: u64,
    /// Of them, answered 429.
    pub throttled: u64,
    /// The process's peak resident set.
    pub peak_rss_kib: u64,
}

/// Counts the API exchanges of a trace, and the 429s among them, as its lines are written.
#[derive(Clone, Default)]
struct Counter {
    requests: Arc<AtomicU64>,
    throttled: Arc<AtomicU64>,
}

impl Write for Counter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let line = String::from_utf8_lossy(buf);
        if line.contains("\"kind\":\"exchange\"") && line.contains("\"service\":\"api\"") {
            self.requests.fetch_add(1, Ordering::Relaxed);
            if line.contains("\"status\":429") {
                self.throttled.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Runs `entries` flows, `concurrency` at once, in `work` (made afresh).
pub async fn run(
    base: &str,
    token: &str,
    entries: usize,
    concurrency: usize,
    adaptive: bool,
    work: &Path,
) -> Result<FleetMeasured, String> {
    let _ = std::fs::remove_dir_all(work);
    std::fs::create_dir_all(work).map_err(|e| e.to_string())?;
    let counter = Counter::default();
    let recorder = Recorder::to_writer(counter.clone(), RecordOptions::default())
        .map_err(|e| e.to_string())?;
    let rate = if adaptive {
        RateLimit::default()
    } else {
        RateLimit::off()
    };
    let client = Client::builder()
        .base_url(base)
        .access_token(token.to_owned().into())
        // Patient enough that the unpaced variant finishes too.
        .retry_policy(
            RetryPolicy::default()
                .with_max_attempts(40)
                .with_deadline(Some(Duration::from_secs(3600))),
        )
        .rate_limit(rate)
        .record(recorder)
        .build()
        .map_err(|e| e.to_string())?;
    let items: Vec<BatchItem> = (0..entries)
        .map(|i| item(work, i))
        .collect::<Result<_, String>>()?;
    let started = Instant::now();
    let results = client.ship_batch(&items, concurrency, &Unobserved).await;
    let seconds = started.elapsed().as_secs_f64();
    Ok(FleetMeasured {
        seconds,
        entries,
        failed: results.iter().filter(|r| r.is_err()).count(),
        requests: counter.requests.load(Ordering::Relaxed),
        throttled: counter.throttled.load(Ordering::Relaxed),
        peak_rss_kib: crate::clients::peak_rss_kib(),
    })
}

/// Flow `i`: a 64 KiB package, its own product (created once by name) and journal.
fn item(work: &Path, i: usize) -> Result<BatchItem, String> {
    let package = work.join(format!("driver-{i}.cab"));
    let bytes: Vec<u8> = (0..64 * 1024u32)
        .map(|k| (k.wrapping_mul(31).wrapping_add(i as u32) % 251) as u8)
        .collect();
    std::fs::write(&package, bytes).map_err(|e| e.to_string())?;
    let product: NewProduct = serde_json::from_value(serde_json::json!({
        "productName": format!("Fleet {i}"),
        "testHarness": "attestation",
        "deviceType": "internal",
        "isTestSign": false,
        "isFlightSign": false,
        "marketingNames": [format!("Fleet {i}")],
        "requestedSignatures": ["WINDOWS_v100_X64_GE_FULL"],
        "deviceMetadataIds": [],
        "firmwareVersion": "0",
        "additionalAttributes": {},
    }))
    .map_err(|e| e.to_string())?;
    let submission = NewSubmission {
        name: format!("fleet {i}")
            .as_str()
            .try_into()
            .map_err(|e| format!("{e}"))?,
        type_: SubmissionType::Initial,
    };
    let plan = ShipPlan::new(
        &package,
        ProductChoice::Named(Box::new(product)),
        submission,
        work.join(format!("signed-{i}.cab")),
        "bench",
    )
    .with_wait(
        WaitOptions::default()
            .with_first_interval(Duration::from_millis(500))
            .with_max_interval(Duration::from_secs(2)),
    );
    Ok(BatchItem::new(
        plan,
        Box::new(FileStateStore::beside(&package, ".state.json")),
    ))
}
