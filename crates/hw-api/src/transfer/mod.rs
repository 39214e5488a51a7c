//! Moving packages to and from the Azure Blob SAS URLs of submissions, with a client of its own
//! that never carries the API's token and never follows redirects.
//!
//! Hand-written rather than with azure_storage_blob, which would bring its own HTTP pipeline and
//! 47 more crates for four REST calls (`docs/service-notes.md`, "Blob transfer: crate choice").
//!
//! Requests are retried by the client's one retry engine (`retry.rs`); every blob
//! operation used here may be repeated.

mod download;
mod ranges;
mod sas;
mod upload;
mod watch;

use std::time::{Duration, SystemTime};

use crate::error::NetworkError;
pub use crate::error::TransferError;
use crate::net::{HttpSettings, Sender, Traffic};
use crate::record::BodyDigest;
use crate::retry::{self, Attempt, Failed, RetryPolicy, server_wait};
use crate::wire::{self, limits};

pub use download::DownloadReport;
pub use sas::{Limits, SasUrl};
pub use upload::UploadReport;

pub(crate) use download::{download, fetch_text};
pub(crate) use upload::upload;

/// Reports how far a transfer is, for progress bars.
pub trait Progress: Send + Sync {
    /// `done` of `total` bytes are transferred (it may go back after a restart).
    fn update(&self, done: u64, total: u64);
}

impl<F: Fn(u64, u64) + Send + Sync> Progress for F {
    fn update(&self, done: u64, total: u64) {
        self(done, total)
    }
}

/// No progress reports.
#[derive(Debug, Clone, Copy, Default)]
pub struct Silent;

impl Progress for Silent {
    fn update(&self, _done: u64, _total: u64) {}
}

/// How uploads are cut, how many requests run at once, and whether downloads are checked.
/// Start from [`TransferOptions::default`] and change what you need with the `with_*` methods.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TransferOptions {
    /// The preferred block size (raised when a file would need more than 50,000 blocks).
    pub block_size: u64,
    /// Files up to this size go in one Put Blob.
    pub single_put_threshold: u64,
    /// Blocks in flight at once.
    pub parallelism: usize,
    /// Check each download against the blob's `Content-MD5` when it has one, and its ranges as
    /// [`TransferOptions::range_md5`] says. MD5 runs at roughly one core's 600–800 MB/s, which
    /// bounds a checked download's speed on loopback; turn it off only where the package is
    /// verified otherwise (its signature, say).
    pub verify_md5: bool,
    /// When a checked download also checks each range against the MD5 storage computes for it.
    pub range_md5: RangeMd5,
    /// A blob request is given up (and tried again) when nothing has moved for this long: no
    /// byte of an upload taken, no answer, no byte of a download. The wait for the answer after
    /// an upload's last byte counts, so keep it well above a block's drain time on a slow link.
    /// There is no total time limit: a slow link takes as long as it takes.
    pub stall_timeout: Duration,
    /// When set, an upload request is also given up when, after a stall timeout, it has moved
    /// fewer bytes per second than this on average.
    pub min_throughput: Option<u64>,
}

impl Default for TransferOptions {
    /// 4 MiB blocks and download ranges, 4 in flight, single Put Blob up to 4 MiB, downloads
    /// checked. Memory stays at a few blocks: about 40 MiB peak for an upload or a download of
    /// any size (`BENCHMARKS.md`).
    fn default() -> Self {
        Self {
            block_size: 4 * 1024 * 1024,
            single_put_threshold: 4 * 1024 * 1024,
            parallelism: 4,
            verify_md5: true,
            range_md5: RangeMd5::WithoutWholeMd5,
            stall_timeout: Duration::from_secs(60),
            min_throughput: None,
        }
    }
}

impl TransferOptions {
    /// The preferred block size.
    pub fn with_block_size(mut self, bytes: u64) -> Self {
        self.block_size = bytes;
        self
    }

    /// The largest file sent in one Put Blob.
    pub fn with_single_put_threshold(mut self, bytes: u64) -> Self {
        self.single_put_threshold = bytes;
        self
    }

    /// How many blocks are in flight at once (at least 1).
    pub fn with_parallelism(mut self, blocks: usize) -> Self {
        self.parallelism = blocks.max(1);
        self
    }

    /// Whether downloads are checked against the blob's `Content-MD5`.
    pub fn with_verify_md5(mut self, verify: bool) -> Self {
        self.verify_md5 = verify;
        self
    }

    /// When a checked download checks each range too.
    pub fn with_range_md5(mut self, when: RangeMd5) -> Self {
        self.range_md5 = when;
        self
    }

    /// How long a blob request may go without progress.
    pub fn with_stall_timeout(mut self, stall: Duration) -> Self {
        self.stall_timeout = stall;
        self
    }

    /// The least average throughput of an upload request, in bytes per second.
    pub fn with_min_throughput(mut self, bytes_per_second: Option<u64>) -> Self {
        self.min_throughput = bytes_per_second;
        self
    }

    fn watch(&self) -> watch::Watch {
        watch::Watch {
            stall: self.stall_timeout,
            min_throughput: self.min_throughput,
        }
    }
}

/// When a checked download asks storage for each range's MD5 (`x-ms-range-get-content-md5`,
/// ranges of at most 4 MiB) and checks the range against it, so that a range damaged on the
/// way is fetched again on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum RangeMd5 {
    /// When the blob has no whole-blob MD5, and when a download checked against it did not
    /// match (it is then fetched again, range by range). A whole-blob MD5 already covers every
    /// byte; checking each range as well doubles the hashing on both ends, which halves a
    /// download's speed where the CPU is the limit (`BENCHMARKS.md`, P3).
    #[default]
    WithoutWholeMd5,
    /// Every range, whether or not the blob has a whole-blob MD5.
    Always,
}

/// The blob HTTP client (`net/clients.rs`): no token, no redirects, and no total timeout;
/// requests are watched for stalls instead (`watch.rs`, and per chunk in downloads).
pub(crate) fn blob_client(
    settings: &HttpSettings,
    recorder: Option<crate::record::Recorder>,
) -> Result<Sender, String> {
    let steps = crate::record::steps(recorder.as_ref(), crate::record::Service::Blob);
    settings
        .client(Traffic::Blob)
        .map(|client| Sender::new(client, steps, recorder.is_some()))
}

/// Sends the request `build` makes until it succeeds or the retry policy gives up; an attempt
/// that gets no answer within `stall` is given up and tried again.
pub(crate) async fn send(
    http: &Sender,
    retry: &RetryPolicy,
    operation: &'static str,
    shown_url: &str,
    stall: Duration,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, TransferError> {
    let watch = watch::Watch {
        stall,
        min_throughput: None,
    };
    send_watched(http, retry, operation, shown_url, &watch, None, &|_| {
        build()
    })
    .await
}

/// Sends `data` with the request `build` makes (given the body) until it succeeds or the retry
/// policy gives up, each attempt watched for stalls as `options` say.
pub(crate) async fn send_body(
    http: &Sender,
    retry: &RetryPolicy,
    operation: &'static str,
    shown_url: &str,
    options: &TransferOptions,
    data: &bytes::Bytes,
    build: impl Fn(reqwest::Body) -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, TransferError> {
    let watch = options.watch();
    // The body is streamed (for the stall watch): a trace is given its digest beforehand.
    let digest = http.recording().then(|| BodyDigest::of(data));
    send_watched(
        http,
        retry,
        operation,
        shown_url,
        &watch,
        digest,
        &|clock| {
            build(watch::body(data.clone(), clock))
                .header(reqwest::header::CONTENT_LENGTH, data.len())
        },
    )
    .await
}

/// The one loop of blob requests: each attempt's request from `build` (given its progress
/// clock), sent through `http`, watched as `watch` says and classified by
/// the decision table ([`retry::decide`]); `digest` describes a streamed body to a trace.
async fn send_watched(
    http: &Sender,
    retry: &RetryPolicy,
    operation: &'static str,
    shown_url: &str,
    watch: &watch::Watch,
    digest: Option<BodyDigest>,
    build: &impl Fn(&std::sync::Arc<watch::Clock>) -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, TransferError> {
    let digest = &digest;
    retry::run(retry, operation, |attempt| async move {
        let clock = watch::Clock::start();
        let sending = http.send(operation, build(&clock), digest.clone());
        let sent = match watch::watched(watch, &clock, sending).await {
            Ok(sent) => sent,
            Err(why) => {
                let error = TransferError::Transport {
                    operation,
                    url: shown_url.to_owned(),
                    attempts: attempt,
                    source: NetworkError::other(why),
                };
                return after_failure(error, Failed::NoAnswer, None);
            }
        };
        let (error, failed, wait) = match sent {
            Ok(response) if response.status().is_success() => return Attempt::Done(Ok(response)),
            Ok(response) => {
                let status = response.status().as_u16();
                let wait = server_wait(response.headers(), SystemTime::now());
                let error = refused(operation, shown_url, response).await;
                (error, Failed::Status(status), wait)
            }
            Err(e) => {
                let failed = retry::failed_send(&e);
                let error = TransferError::Transport {
                    operation,
                    url: shown_url.to_owned(),
                    attempts: attempt,
                    source: NetworkError::new(e),
                };
                (error, failed, None)
            }
        };
        after_failure(error, failed, wait)
    })
    .await
}

/// What follows a failed blob request: another attempt where the decision table says one may
/// help (every blob operation here may be repeated), else the error.
pub(crate) fn after_failure<T>(
    error: TransferError,
    failed: Failed,
    wait: Option<Duration>,
) -> Attempt<T, TransferError> {
    retry::after(retry::decide(Traffic::Blob, failed, true), error, wait)
}

/// The text of the first `<tag>…</tag>` in `xml`.
pub(crate) fn xml_element<'a>(xml: &'a str, tag: &str) -> Option<&'a str> {
    let start = xml.find(&format!("<{tag}>"))? + tag.len() + 2;
    let end = xml[start..].find(&format!("</{tag}>"))? + start;
    Some(xml[start..end].trim())
}

/// A request to `url` with the SAS's service version, if it names one.
pub(crate) fn request(
    http: &Sender,
    method: reqwest::Method,
    sas: &SasUrl,
    url: url::Url,
) -> reqwest::RequestBuilder {
    let request = http.client().request(method, url);
    if sas.version().is_empty() {
        request
    } else {
        request.header("x-ms-version", sas.version())
    }
}

/// A storage error response as an error.
pub(crate) async fn refused(
    operation: &'static str,
    shown_url: &str,
    response: reqwest::Response,
) -> TransferError {
    let status = response.status().as_u16();
    let code = wire::header(response.headers(), "x-ms-error-code");
    let request_id = wire::header(response.headers(), "x-ms-request-id");
    let body = wire::read_start(response, limits::ERROR_BODY)
        .await
        .unwrap_or_default();
    let body = String::from_utf8_lossy(&body);
    let element = |tag: &str| xml_element(&body, tag).map(wire::clean);
    TransferError::Refused {
        operation,
        url: shown_url.to_owned(),
        status,
        code: code.or_else(|| element("Code")),
        message: element("Message"),
        request_id,
    }
}
