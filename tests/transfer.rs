//! Package transfer through hw-api (`Client::upload_to` / `download_from` with SAS URLs) against
//! two blob services from one set of cases: hw-sim's, which we wrote, and Azurite, Microsoft's
//! own storage emulator (installed and started by `hw_workspace_tests::azurite`), with service SAS
//! URLs signed as the Azure SDK signs them. Cases that need injected faults or shaped links are
//! hw-sim's alone, at the end.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hw_api::transfer::{
    DownloadReport, Progress, RangeMd5, Silent, TransferError, TransferOptions,
};
use hw_api::{Client, Error, RetryPolicy};
use hw_sim::{Fault, FaultRule, SimConfig};
use hw_workspace_tests::azurite::{self, SAS_VERSION};
use hw_workspace_tests::sim::TestSim;
use hw_workspace_tests::tempdir::Dir;
use md5::{Digest, Md5};

const KIB: usize = 1024;

/// 64 KiB blocks and ranges, four at a time.
fn small_blocks() -> TransferOptions {
    TransferOptions::default()
        .with_block_size(64 * KIB as u64)
        .with_single_put_threshold(64 * KIB as u64)
        .with_parallelism(4)
}

fn quick_retries() -> RetryPolicy {
    RetryPolicy::default()
        .with_initial_delay(Duration::from_millis(5))
        .with_max_delay(Duration::from_millis(50))
}

/// Where the blobs of a test live.
enum Store {
    Sim(TestSim),
    Azurite { container: String },
}

/// A blob service and an hw-api client for it.
struct Backend {
    store: Store,
    client: Client,
}

impl Backend {
    async fn sim(faults: Vec<FaultRule>) -> Self {
        Self::sim_with(faults, small_blocks()).await
    }

    async fn sim_with(faults: Vec<FaultRule>, options: TransferOptions) -> Self {
        let sim = TestSim::start(SimConfig {
            faults,
            ..SimConfig::default()
        })
        .await;
        let client = sim
            .client_builder()
            .transfer_options(options)
            .build()
            .unwrap();
        Self {
            store: Store::Sim(sim),
            client,
        }
    }

    async fn azurite() -> Self {
        static CONTAINERS: AtomicU32 = AtomicU32::new(0);
        let n = CONTAINERS.fetch_add(1, Ordering::Relaxed);
        let container = format!("t{}-{n}", std::process::id());
        tokio::task::spawn_blocking(azurite::azurite).await.unwrap();
        azurite::azurite().create_container(&container).await;
        // Only blob URLs are used: the API is never called.
        let client = Client::builder()
            .base_url("https://manage.devcenter.microsoft.com/v2.0/my")
            .access_token("not-used".to_owned().into())
            .retry_policy(quick_retries())
            .transfer_options(small_blocks())
            .build()
            .unwrap();
        Self {
            store: Store::Azurite { container },
            client,
        }
    }

    /// A SAS URL of blob `name` that reads and writes, valid for an hour.
    fn url(&self, name: &str) -> String {
        self.url_until(name, SystemTime::now() + Duration::from_secs(3600))
    }

    /// A SAS URL of blob `name` that expired a minute ago.
    fn expired_url(&self, name: &str) -> String {
        self.url_until(name, SystemTime::now() - Duration::from_secs(60))
    }

    /// A SAS URL of blob `name` that may write but not read (so not list its blocks either).
    fn write_only_url(&self, name: &str) -> String {
        let expiry = SystemTime::now() + Duration::from_secs(3600);
        self.signed(name, false, expiry)
    }

    fn url_until(&self, name: &str, expiry: SystemTime) -> String {
        self.signed(name, true, expiry)
    }

    fn signed(&self, name: &str, read: bool, expiry: SystemTime) -> String {
        match &self.store {
            Store::Sim(sim) => {
                let lifetime = expiry
                    .duration_since(SystemTime::now())
                    .unwrap_or(Duration::ZERO);
                let permissions = if read { "rw" } else { "w" };
                sim.blob_sas_url(&format!("packages/{name}"), permissions, lifetime)
            }
            Store::Azurite { container } => {
                let permissions = if read { "rcw" } else { "cw" };
                azurite::azurite().blob_url(container, name, permissions, expiry)
            }
        }
    }
}

/// `len` bytes with a recognisable pattern, starting with `marker`.
fn content(len: usize, marker: &[u8]) -> Vec<u8> {
    let mut bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    let n = marker.len().min(len);
    bytes[..n].copy_from_slice(&marker[..n]);
    bytes
}

/// A file holding `bytes`, in a fresh temporary directory.
fn file_of(name: &str, bytes: &[u8]) -> (Dir, PathBuf) {
    let dir = Dir::new(name);
    let path = dir.path().join("driver.cab");
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

fn md5_of(bytes: &[u8]) -> String {
    STANDARD.encode(Md5::digest(bytes))
}

fn with(url: &str, extra: &str) -> String {
    format!("{url}&{extra}")
}

fn without_query(url: &str) -> String {
    url.split('?').next().unwrap().to_owned()
}

/// The blob's properties, read directly.
async fn head(url: &str) -> reqwest::Response {
    let response = reqwest::Client::new()
        .head(url)
        .header("x-ms-version", SAS_VERSION)
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{}", response.status());
    response
}

/// Stores `bytes` as the blob with one Put Blob, directly.
async fn put_blob(url: &str, bytes: Vec<u8>) {
    let response = reqwest::Client::new()
        .put(url)
        .header("x-ms-version", SAS_VERSION)
        .header("x-ms-blob-type", "BlockBlob")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
}

/// Stages a block directly (as another tool would).
async fn put_block(url: &str, id: &str, bytes: Vec<u8>) {
    let escaped = url::form_urlencoded::byte_serialize(id.as_bytes()).collect::<String>();
    let response = reqwest::Client::new()
        .put(with(url, &format!("comp=block&blockid={escaped}")))
        .header("x-ms-version", SAS_VERSION)
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
}

/// Commits `ids` directly, without a whole-blob MD5.
async fn put_block_list(url: &str, ids: &[String]) {
    let latest: String = ids
        .iter()
        .map(|id| format!("<Latest>{id}</Latest>"))
        .collect();
    let response = reqwest::Client::new()
        .put(with(url, "comp=blocklist"))
        .header("x-ms-version", SAS_VERSION)
        .body(format!(
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>{latest}</BlockList>"
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);
}

/// Downloads `url` to a fresh `driver.cab` and returns the directory, the path and the bytes.
async fn download(b: &Backend, url: &str, name: &str) -> (Dir, PathBuf, Vec<u8>) {
    let dir = Dir::new(name);
    let dest = dir.path().join("driver.cab");
    b.client.download_from(url, &dest, &Silent).await.unwrap();
    let bytes = std::fs::read(&dest).unwrap();
    (dir, dest, bytes)
}

fn part_of(dest: &Path) -> PathBuf {
    let mut part = dest.as_os_str().to_owned();
    part.push(".part");
    PathBuf::from(part)
}

/// Writes a partial download of `dest` as if it came from the blob at `blob` with `etag`.
fn leftover_part(dest: &Path, content: &[u8], blob: &str, etag: &str, total: usize) {
    std::fs::write(part_of(dest), content).unwrap();
    let mut meta = dest.as_os_str().to_owned();
    meta.push(".part.json");
    let state =
        serde_json::json!({"blob": blob, "etag": etag, "total": total, "done": content.len()});
    std::fs::write(&meta, serde_json::to_vec(&state).unwrap()).unwrap();
}

/// Runs `transfer` until `progress` has seen at least half of the bytes, then drops it, as a
/// killed process would stop.
async fn interrupted<F, T>(transfer: impl FnOnce(Arc<dyn Progress>) -> F)
where
    F: Future<Output = Result<T, Error>>,
    T: std::fmt::Debug,
{
    interrupted_when(|done, total| total > 0 && done * 2 >= total, transfer).await
}

/// Downloads `url` to `dest` until the sidecar records a prefix on disk, then drops the
/// download, as a killed process would stop.
async fn interrupted_download(b: &Backend, url: &str, dest: &Path) {
    let mut meta = dest.as_os_str().to_owned();
    meta.push(".part.json");
    let meta = PathBuf::from(meta);
    let recorded = move |_, _| {
        std::fs::read(&meta)
            .ok()
            .and_then(|bytes| serde_json::from_slice::<serde_json::Value>(&bytes).ok())
            .and_then(|state| state["done"].as_u64())
            .is_some_and(|done| done > 0)
    };
    interrupted_when(recorded, |progress| async move {
        b.client.download_from(url, dest, &*progress).await
    })
    .await
}

/// Runs `transfer` until `progress` reports a state where `stop` holds, then drops it.
async fn interrupted_when<F, T>(
    stop: impl Fn(u64, u64) -> bool + Send + Sync + 'static,
    transfer: impl FnOnce(Arc<dyn Progress>) -> F,
) where
    F: Future<Output = Result<T, Error>>,
    T: std::fmt::Debug,
{
    let reached = Arc::new(tokio::sync::Notify::new());
    let signal = Arc::clone(&reached);
    let progress: Arc<dyn Progress> = Arc::new(move |done, total| {
        if stop(done, total) {
            signal.notify_one();
        }
    });
    tokio::select! {
        biased;
        () = reached.notified() => {}
        finished = transfer(progress) => panic!("finished before it could be interrupted: {finished:?}"),
    }
}

macro_rules! on_both_backends {
    ($($case:ident),* $(,)?) => {
        mod on_hw_sim {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Backend::sim(Vec::new()).await).await
                }
            )*
        }
        mod on_azurite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $case() {
                    super::$case(super::Backend::azurite().await).await
                }
            )*
        }
    };
}

on_both_backends!(
    a_block_upload_stores_the_whole_md5_and_downloads_verified,
    a_single_put_round_trips_verified,
    leftover_blocks_of_another_tool_are_cleared,
    leftover_blocks_that_cannot_be_listed_are_cleared_when_storage_refuses_ours,
    an_interrupted_upload_resumes_with_the_blocks_already_sent,
    an_interrupted_download_resumes_from_the_partial_file,
    a_blob_replaced_after_an_interruption_is_read_anew_never_mixed,
    a_complete_looking_part_of_another_blob_is_not_trusted,
    a_complete_part_of_a_replaced_blob_starts_over,
    a_zero_length_blob_round_trips,
    an_expired_url_is_a_typed_error,
    a_blob_without_a_whole_md5_is_checked_range_by_range,
);

async fn a_block_upload_stores_the_whole_md5_and_downloads_verified(b: Backend) {
    let bytes = content(5 * 64 * KIB + 3, b"PK");
    let (_dir, path) = file_of("block-md5", &bytes);
    let url = b.url("block-md5.cab");
    let report = b.client.upload_to(&url, &path, &Silent).await.unwrap();
    assert_eq!(report.blocks, 6, "{report:?}");
    let properties = head(&url).await;
    assert_eq!(
        properties.headers()["content-md5"].to_str().unwrap(),
        md5_of(&bytes),
        "Put Block List stored the whole file's MD5"
    );
    let dir = Dir::new("block-md5-out");
    let dest = dir.path().join("back.cab");
    let back = b.client.download_from(&url, &dest, &Silent).await.unwrap();
    assert!(back.md5_verified, "{back:?}");
    assert_eq!(
        back.ranges_verified, 0,
        "the whole MD5 covers them: {back:?}"
    );
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
}

async fn a_single_put_round_trips_verified(b: Backend) {
    let bytes = content(10 * KIB, b"PK");
    let (_dir, path) = file_of("single", &bytes);
    let url = b.url("single.cab");
    let report = b.client.upload_to(&url, &path, &Silent).await.unwrap();
    assert_eq!(report.blocks, 0, "one Put Blob: {report:?}");
    let (_out, _dest, back) = download(&b, &url, "single-out").await;
    assert_eq!(back, bytes);
}

async fn leftover_blocks_of_another_tool_are_cleared(b: Backend) {
    let url = b.url("foreign.cab");
    // An interrupted upload by another tool: an uncommitted block whose id has another length.
    put_block(
        &url,
        &STANDARD.encode("block-00001"),
        b"someone else's".to_vec(),
    )
    .await;
    let bytes = content(5 * 64 * KIB + 3, b"PK");
    let (_dir, path) = file_of("foreign", &bytes);
    let report = b.client.upload_to(&url, &path, &Silent).await.unwrap();
    assert_eq!(report.foreign_blocks_cleared, 1, "{report:?}");
    let (_out, _dest, back) = download(&b, &url, "foreign-out").await;
    assert_eq!(back, bytes);
}

async fn leftover_blocks_that_cannot_be_listed_are_cleared_when_storage_refuses_ours(b: Backend) {
    put_block(
        &b.url("unlisted.cab"),
        &STANDARD.encode("block-00001"),
        b"someone else's".to_vec(),
    )
    .await;
    // This URL may not read the block list: the foreign block shows only when storage refuses
    // a block of ours.
    let url = b.write_only_url("unlisted.cab");
    let bytes = content(5 * 64 * KIB + 3, b"PK");
    let (_dir, path) = file_of("unlisted", &bytes);
    let report = b.client.upload_to(&url, &path, &Silent).await.unwrap();
    assert_eq!(report.foreign_blocks_cleared, 1, "{report:?}");
    let (_out, _dest, back) = download(&b, &b.url("unlisted.cab"), "unlisted-out").await;
    assert_eq!(back, bytes);
}

async fn an_interrupted_upload_resumes_with_the_blocks_already_sent(b: Backend) {
    let bytes = content(16 * 64 * KIB, b"PK");
    let (_dir, path) = file_of("resume-up", &bytes);
    let url = b.url("resume-up.cab");
    interrupted(|progress| {
        let (client, url, path) = (&b.client, &url, &path);
        async move { client.upload_to(url, path, &*progress).await }
    })
    .await;
    let url = b.url("resume-up.cab");
    let (_dir2, path) = file_of("resume-up-again", &bytes);
    let report = b.client.upload_to(&url, &path, &Silent).await.unwrap();
    assert!(report.blocks_reused >= 1, "{report:?}");
    assert!(report.blocks_reused < report.blocks, "{report:?}");
    let (_out, _dest, back) = download(&b, &url, "resume-up-out").await;
    assert_eq!(back, bytes);
}

async fn an_interrupted_download_resumes_from_the_partial_file(b: Backend) {
    let bytes = content(128 * 64 * KIB + 5, b"PK");
    let url = b.url("resume-down.cab");
    put_blob(&url, bytes.clone()).await;
    let dir = Dir::new("resume-down");
    let dest = dir.path().join("driver.cab");
    interrupted_download(&b, &url, &dest).await;
    assert!(!dest.exists());
    assert!(part_of(&dest).exists(), "the partial file is kept");
    let report = b.client.download_from(&url, &dest, &Silent).await.unwrap();
    assert!(report.resumed_from > 0, "{report:?}");
    assert!(report.md5_verified, "{report:?}");
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    assert!(!part_of(&dest).exists());
}

async fn a_blob_replaced_after_an_interruption_is_read_anew_never_mixed(b: Backend) {
    let old = content(128 * 64 * KIB, b"OLD");
    let new = content(128 * 64 * KIB, b"NEW")
        .into_iter()
        .map(|x| x ^ 0xff)
        .collect::<Vec<u8>>();
    let url = b.url("replaced.cab");
    put_blob(&url, old).await;
    let dir = Dir::new("replaced");
    let dest = dir.path().join("driver.cab");
    interrupted_download(&b, &url, &dest).await;
    let mut meta = dest.as_os_str().to_owned();
    meta.push(".part.json");
    let kept: serde_json::Value = serde_json::from_slice(&std::fs::read(&meta).unwrap()).unwrap();
    assert!(
        kept["done"].as_u64().unwrap() > 0,
        "a prefix was kept: {kept}"
    );
    put_blob(&url, new.clone()).await;
    let report = b.client.download_from(&url, &dest, &Silent).await.unwrap();
    assert_eq!(report.resumed_from, 0, "started over: {report:?}");
    // Told by the ETag, not found out by a whole-MD5 mismatch (which checks ranges again).
    assert_eq!(report.ranges_verified, 0, "{report:?}");
    assert_eq!(std::fs::read(&dest).unwrap(), new, "all new bytes, no old");
}

async fn a_complete_looking_part_of_another_blob_is_not_trusted(b: Backend) {
    let (a, bb) = (content(70 * KIB, b"AA"), content(70 * KIB, b"BB"));
    let (url_a, url_b) = (b.url("blob-a.cab"), b.url("blob-b.cab"));
    put_blob(&url_a, a.clone()).await;
    put_blob(&url_b, bb.clone()).await;
    let etag_a = head(&url_a).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let dir = Dir::new("foreign-part");
    let dest = dir.path().join("driver.cab");
    // A whole `.part` of blob A, the size of blob B, left beside the destination of B.
    leftover_part(&dest, &a, &without_query(&url_a), &etag_a, a.len());
    let report = b
        .client
        .download_from(&url_b, &dest, &Silent)
        .await
        .unwrap();
    assert_eq!(report.resumed_from, 0, "{report:?}");
    assert_eq!(report.ranges_verified, 0, "told by the sidecar: {report:?}");
    assert_eq!(std::fs::read(&dest).unwrap(), bb, "B's bytes, not A's");
}

async fn a_complete_part_of_a_replaced_blob_starts_over(b: Backend) {
    let old = content(70 * KIB, b"OLD");
    let new = content(70 * KIB, b"NEW");
    let url = b.url("replaced-whole.cab");
    put_blob(&url, old.clone()).await;
    let etag = head(&url).await.headers()["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    put_blob(&url, new.clone()).await;
    let dir = Dir::new("replaced-whole");
    let dest = dir.path().join("driver.cab");
    // A whole `.part` of the old content, with the blob's ETag of then.
    leftover_part(&dest, &old, &without_query(&url), &etag, old.len());
    let report = b.client.download_from(&url, &dest, &Silent).await.unwrap();
    assert_eq!(report.resumed_from, 0, "{report:?}");
    assert_eq!(report.ranges_verified, 0, "told by the ETag: {report:?}");
    assert_eq!(std::fs::read(&dest).unwrap(), new, "never the old bytes");
}

async fn a_zero_length_blob_round_trips(b: Backend) {
    let (_dir, path) = file_of("empty", b"");
    let url = b.url("empty.cab");
    b.client.upload_to(&url, &path, &Silent).await.unwrap();
    let dir = Dir::new("empty-out");
    let dest = dir.path().join("empty.cab");
    let report = b.client.download_from(&url, &dest, &Silent).await.unwrap();
    assert_eq!(report.bytes, 0);
    assert_eq!(std::fs::read(&dest).unwrap(), b"");
}

async fn an_expired_url_is_a_typed_error(b: Backend) {
    let url = b.expired_url("expired.cab");
    let signature = url::Url::parse(&url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == "sig")
        .map(|(_, v)| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>())
        .unwrap();
    let (_dir, path) = file_of("expired", b"package");
    let expired = |error: Error| {
        let Error::Transfer(transfer) = &error else {
            panic!("{error:?}")
        };
        assert!(
            matches!(**transfer, TransferError::Expired { .. }),
            "{transfer:?}"
        );
        let shown = error.to_string();
        assert!(shown.contains("expired"), "{shown}");
        assert!(
            !shown.contains(&signature),
            "the signature is never shown: {shown}"
        );
    };
    expired(b.client.upload_to(&url, &path, &Silent).await.unwrap_err());
    let dest = path.with_file_name("back.cab");
    expired(
        b.client
            .download_from(&url, &dest, &Silent)
            .await
            .unwrap_err(),
    );
}

async fn a_blob_without_a_whole_md5_is_checked_range_by_range(b: Backend) {
    // Committed by another tool, without `x-ms-blob-content-md5`.
    let bytes = content(3 * 100 * KIB, b"PK");
    let url = b.url("no-md5.cab");
    let ids: Vec<String> = (0..3)
        .map(|n| STANDARD.encode(format!("b{n:05}")))
        .collect();
    for (id, chunk) in ids.iter().zip(bytes.chunks(100 * KIB)) {
        put_block(&url, id, chunk.to_vec()).await;
    }
    put_block_list(&url, &ids).await;
    assert!(!head(&url).await.headers().contains_key("content-md5"));
    let dir = Dir::new("no-md5-out");
    let dest = dir.path().join("driver.cab");
    let report = b.client.download_from(&url, &dest, &Silent).await.unwrap();
    assert!(!report.md5_verified, "there is no whole MD5: {report:?}");
    assert_eq!(
        report.ranges_verified, 5,
        "300 KiB in 64 KiB ranges: {report:?}"
    );
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
}

// hw-sim alone: injected faults.

/// A blob of eight 64 KiB ranges whose third read arrives with a byte changed, downloaded with
/// `options`; returns how many reads there were and the report.
async fn damaged_on_the_way(options: TransferOptions) -> (u64, DownloadReport) {
    let b = Backend::sim_with(
        vec![
            FaultRule::new(Fault::Corrupt, 1.0)
                .only("getBlob")
                .after(2)
                .at_most(1),
        ],
        options,
    )
    .await;
    let bytes = content(8 * 64 * KIB, b"PK");
    let url = b.url("damaged.cab");
    put_blob(&url, bytes.clone()).await;
    let dir = Dir::new("damaged-out");
    let dest = dir.path().join("driver.cab");
    let report = b.client.download_from(&url, &dest, &Silent).await.unwrap();
    assert!(report.md5_verified);
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    let Store::Sim(sim) = &b.store else {
        unreachable!()
    };
    (sim.requests("getBlob"), report)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_range_damaged_on_the_way_is_asked_for_again() {
    let (reads, report) = damaged_on_the_way(small_blocks().with_range_md5(RangeMd5::Always)).await;
    assert_eq!(reads, 9, "eight ranges, the damaged one twice");
    assert_eq!(report.ranges_verified, 8, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_damaged_on_the_way_is_fetched_again_range_by_range() {
    // Unchecked ranges (the whole MD5 covers them) until the whole MD5 does not match.
    let (reads, report) = damaged_on_the_way(small_blocks()).await;
    assert_eq!(reads, 16, "eight ranges, then all eight again, checked");
    assert_eq!(report.ranges_verified, 8, "{report:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_download_uses_several_connections() {
    // Each range answered 200 ms late, so that the ranges in flight overlap.
    let b = Backend::sim(vec![
        FaultRule::new(Fault::Slow(Duration::from_millis(200)), 1.0).only("getBlob"),
    ])
    .await;
    let bytes = content(8 * 64 * KIB, b"PK");
    let url = b.url("parallel.cab");
    put_blob(&url, bytes.clone()).await;
    let dir = Dir::new("parallel-out");
    let dest = dir.path().join("driver.cab");
    b.client.download_from(&url, &dest, &Silent).await.unwrap();
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);
    let Store::Sim(sim) = &b.store else {
        unreachable!()
    };
    assert_eq!(sim.requests("getBlob"), 8, "eight ranges of 64 KiB");
    assert_eq!(sim.peak_in_flight("getBlob"), 4, "four at a time");
}
