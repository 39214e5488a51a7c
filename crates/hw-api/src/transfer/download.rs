//! Download from a blob SAS URL (a signed package, driver metadata, an error report): streamed
//! into `<name>.part`, resumed with a ranged request pinned to the blob's ETag, checked against
//! the blob's size and (unless turned off) its `Content-MD5` when it has one, and renamed into
//! place only when complete.
//!
//! The resume offset is always the partial file's actual length, and what the blob is (ETag,
//! size, MD5) is written beside it in `<name>.part.json` as soon as a response's headers arrive,
//! so a download killed at any point resumes from what is really on disk.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use md5::{Digest, Md5};
use reqwest::header::{CONTENT_RANGE, ETAG, IF_MATCH, RANGE};
use reqwest::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

use super::{Progress, SasUrl, TransferError, refused, request, send};
use crate::error::NetworkError;
use crate::retry::{self, Attempt, RetryPolicy, Verdict, server_wait};

/// What a download did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadReport {
    /// The file's size.
    pub bytes: u64,
    /// Bytes already on disk from an earlier attempt or run.
    pub resumed_from: u64,
    /// Whether the content was checked against the blob's MD5.
    pub md5_verified: bool,
}

/// What is known of the blob behind a partial download.
#[derive(Serialize, Deserialize, Default, Clone, Debug, PartialEq)]
struct PartState {
    /// Which blob: its URL without the query (account, container, path; no signature).
    #[serde(default)]
    blob: Option<String>,
    etag: Option<String>,
    total: Option<u64>,
    md5: Option<String>,
}

fn sidecar(dest: &Path, suffix: &str) -> PathBuf {
    let mut name = dest
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    dest.with_file_name(name)
}

async fn file_len(path: &Path) -> u64 {
    tokio::fs::metadata(path)
        .await
        .map(|m| m.len())
        .unwrap_or(0)
}

fn file_error(path: &Path, source: std::io::Error) -> TransferError {
    TransferError::File {
        path: path.to_owned(),
        source,
    }
}

/// How many times a download starts over because the blob changed before it gives up.
const MAX_RESTARTS: u32 = 3;

/// Downloads `sas` to `dest`, checking its MD5 if `verify`.
pub(crate) async fn download(
    http: &reqwest::Client,
    retry: &RetryPolicy,
    sas: &SasUrl,
    dest: &Path,
    verify: bool,
    stall: Duration,
    progress: &dyn Progress,
) -> Result<DownloadReport, TransferError> {
    let part = sidecar(dest, ".part");
    let meta = sidecar(dest, ".part.json");
    let blob = blob_of(sas);
    let state: Option<PartState> = match tokio::fs::read(&meta).await {
        Ok(bytes) if tokio::fs::metadata(&part).await.is_ok() => {
            serde_json::from_slice::<PartState>(&bytes).ok()
        }
        _ => None,
    };
    // A partial file of another blob is not resumed: it starts over. (One from before the
    // sidecar named its blob is resumed under `If-Match`, which a changed blob refuses.)
    let state = state.filter(|s| s.blob.as_deref().is_none_or(|b| b == blob));
    if state.is_none() {
        let _ = tokio::fs::remove_file(&part).await;
    }
    let resumed_from = file_len(&part).await;
    let state = std::sync::Mutex::new(state);
    let (state, part, meta) = (&state, part.as_path(), meta.as_path());
    let known = || state.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let set = |seen: Option<PartState>| *state.lock().unwrap_or_else(|p| p.into_inner()) = seen;
    // A blob that changed under a partial download starts it over; one that keeps changing
    // would do so for ever.
    let restarts = std::sync::atomic::AtomicU32::new(0);
    let restarts = &restarts;
    let (finished, streamed_md5) = retry::run(retry, "getBlob", |attempt| async move {
        let mut have = file_len(part).await;
        if let Some(total) = known().and_then(|s| s.total) {
            if have == total {
                // Complete on disk: renamed into place only if the blob is still the same one.
                return match confirm(http, sas, known().as_ref(), attempt, stall).await {
                    Ok(true) => Attempt::Done(Ok((known().unwrap_or_default(), None))),
                    Ok(false)
                        if restarts.fetch_add(1, std::sync::atomic::Ordering::Relaxed)
                            >= MAX_RESTARTS =>
                    {
                        Attempt::Done(Err(changing(sas)))
                    }
                    Ok(false) => {
                        tracing::info!(url = %sas, "the blob changed since the partial download: starting over");
                        let _ = tokio::fs::remove_file(part).await;
                        set(None);
                        Attempt::Again
                    }
                    Err((error, failed, wait)) => match retry::classify(failed, true) {
                        Verdict::Retry => Attempt::retry(error, wait),
                        _ => Attempt::Done(Err(error)),
                    },
                };
            }
            if have > total {
                tracing::info!(url = %sas, have, total, "the partial file is longer than the blob: starting over");
                let _ = tokio::fs::remove_file(part).await;
                set(None);
                have = 0;
            }
        }
        let known = known();
        let fetch = Fetch {
            part,
            meta,
            have,
            known: known.as_ref(),
            hash: verify,
            attempt,
            stall,
        };
        match fetch.run(http, sas, progress).await {
            Ok(Fetched::Complete(done, hash)) => Attempt::Done(Ok((done, hash))),
            Ok(Fetched::Changed)
                if restarts.fetch_add(1, std::sync::atomic::Ordering::Relaxed) >= MAX_RESTARTS =>
            {
                Attempt::Done(Err(changing(sas)))
            }
            Ok(Fetched::Changed) => {
                tracing::info!(url = %sas, "the blob changed since the partial download: starting over");
                let _ = tokio::fs::remove_file(part).await;
                set(None);
                // Without a known ETag the next request cannot be refused as changed.
                Attempt::Again
            }
            Err(failed) => {
                if let Some(seen) = failed.state {
                    set(Some(seen));
                }
                let kind = match &failed.error {
                    TransferError::Refused { status, .. } => retry::Failed::Status(*status),
                    TransferError::Transport { .. } => retry::Failed::NoAnswer,
                    _ => retry::Failed::NotSent,
                };
                match retry::classify(kind, true) {
                    // Each try that moved forward earns a fresh budget.
                    Verdict::Retry => Attempt::Retry {
                        error: failed.error,
                        server_wait: failed.wait,
                        progressed: failed.progressed,
                    },
                    Verdict::Reauthenticate | Verdict::Ambiguous | Verdict::Final => {
                        Attempt::Done(Err(failed.error))
                    }
                }
            }
        }
    })
    .await?;
    let bytes = file_len(part).await;
    if let Some(total) = finished.total.filter(|total| *total != bytes) {
        let _ = tokio::fs::remove_file(&part).await;
        let _ = tokio::fs::remove_file(&meta).await;
        return Err(TransferError::Integrity {
            what: dest.display().to_string(),
            message: format!(
                "the file has {bytes} bytes and the blob {total}; the partial file was removed"
            ),
        });
    }
    let md5_verified = match finished.md5.as_ref().filter(|_| verify) {
        Some(expected) => {
            let actual = match streamed_md5 {
                Some(hash) => hash,
                None => file_md5(part).await.map_err(|e| file_error(part, e))?,
            };
            if &actual != expected {
                let _ = tokio::fs::remove_file(&part).await;
                let _ = tokio::fs::remove_file(&meta).await;
                return Err(TransferError::Integrity {
                    what: dest.display().to_string(),
                    message: format!(
                        "MD5 {actual} does not match the blob's {expected}; the partial file was removed"
                    ),
                });
            }
            true
        }
        None => false,
    };
    tokio::fs::rename(&part, dest)
        .await
        .map_err(|e| file_error(dest, e))?;
    let _ = tokio::fs::remove_file(&meta).await;
    Ok(DownloadReport {
        bytes,
        resumed_from,
        md5_verified,
    })
}

/// The blob a SAS URL names: the URL without its query.
fn blob_of(sas: &SasUrl) -> String {
    let mut url = sas.url().clone();
    url.set_query(None);
    url.to_string()
}

/// The error of a blob that keeps changing while it is downloaded.
fn changing(sas: &SasUrl) -> TransferError {
    TransferError::Integrity {
        what: sas.redacted(),
        message: format!(
            "the blob changed {} times while it was downloaded; try again later",
            MAX_RESTARTS + 1
        ),
    }
}

/// Whether the blob still has the ETag of `known`: its first byte (or, when empty, its
/// properties) asked for with `If-Match`, and the answer's ETag compared too. Without a known
/// ETag there is nothing to confirm (the MD5 check, when the blob has one, still runs).
async fn confirm(
    http: &reqwest::Client,
    sas: &SasUrl,
    known: Option<&PartState>,
    attempt: u32,
    stall: Duration,
) -> Result<bool, (TransferError, retry::Failed, Option<Duration>)> {
    let Some(etag) = known.and_then(|s| s.etag.as_deref()) else {
        return Ok(true);
    };
    let request = match known.and_then(|s| s.total) {
        Some(0) | None => request(http, Method::HEAD, sas, sas.url().clone()),
        Some(_) => request(http, Method::GET, sas, sas.url().clone()).header(RANGE, "bytes=0-0"),
    };
    let sent = tokio::time::timeout(stall, request.header(IF_MATCH, etag).send()).await;
    let transport = |source| TransferError::Transport {
        operation: "getBlobProperties",
        url: sas.redacted(),
        attempts: attempt,
        source,
    };
    let sent = match sent {
        Ok(sent) => sent,
        Err(_) => {
            let why = format!("stalled: no answer in {} s", stall.as_secs());
            return Err((
                transport(NetworkError::other(why)),
                retry::Failed::NoAnswer,
                None,
            ));
        }
    };
    match sent {
        Ok(response) if response.status().is_success() => {
            let same = response
                .headers()
                .get(ETAG)
                .and_then(|v| v.to_str().ok())
                .is_none_or(|answered| answered == etag);
            Ok(same)
        }
        Ok(response) if response.status() == StatusCode::PRECONDITION_FAILED => Ok(false),
        Ok(response) => {
            let status = response.status().as_u16();
            let wait = server_wait(response.headers(), SystemTime::now());
            let error = refused("getBlobProperties", &sas.redacted(), response).await;
            Err((error, retry::Failed::Status(status), wait))
        }
        Err(e) => {
            let failed = retry::failed_send(&e);
            Err((transport(NetworkError::new(e)), failed, None))
        }
    }
}

/// How a fetch ended well.
enum Fetched {
    /// Everything to the end of the blob is on disk; with its MD5 when this fetch wrote the
    /// whole file.
    Complete(PartState, Option<String>),
    /// The blob is not the one the partial file came from.
    Changed,
}

/// How a fetch failed.
struct Failed {
    error: TransferError,
    /// Whether bytes were added to the file.
    progressed: bool,
    /// What the response said of the blob, if it got that far.
    state: Option<PartState>,
    /// The wait the service asked for.
    wait: Option<Duration>,
}

impl Failed {
    fn new(error: TransferError) -> Self {
        Self {
            error,
            progressed: false,
            state: None,
            wait: None,
        }
    }
}

/// One request for the rest of the blob.
struct Fetch<'a> {
    part: &'a Path,
    meta: &'a Path,
    /// The partial file's length: where this request starts.
    have: u64,
    /// What an earlier response said of the blob.
    known: Option<&'a PartState>,
    /// Whether to hash what arrives (when it is the whole file).
    hash: bool,
    /// The attempt's number, for errors.
    attempt: u32,
    /// The most time without a byte before the fetch is given up.
    stall: Duration,
}

impl Fetch<'_> {
    /// Fetches from `have` to the end.
    async fn run(
        self,
        http: &reqwest::Client,
        sas: &SasUrl,
        progress: &dyn Progress,
    ) -> Result<Fetched, Failed> {
        let Fetch {
            part,
            meta,
            have,
            known,
            hash,
            attempt,
            stall,
        } = self;
        let stalled = || {
            NetworkError::other(format!(
                "stalled: nothing arrived for {} s",
                stall.as_secs()
            ))
        };
        let transport = |source: NetworkError| TransferError::Transport {
            operation: "getBlob",
            url: sas.redacted(),
            attempts: attempt,
            source,
        };
        // From the start, no range: a zero-length blob has no byte 0 to ask for.
        let mut builder = request(http, Method::GET, sas, sas.url().clone());
        if have > 0 {
            builder = builder.header(RANGE, format!("bytes={have}-"));
        }
        if let Some(etag) = known.and_then(|s| s.etag.as_deref()) {
            builder = builder.header(IF_MATCH, etag);
        }
        let mut response = match tokio::time::timeout(stall, builder.send()).await {
            Ok(sent) => sent.map_err(|e| Failed::new(transport(NetworkError::new(e))))?,
            Err(_) => return Err(Failed::new(transport(stalled()))),
        };
        let status = response.status();
        if status == StatusCode::PRECONDITION_FAILED && known.is_some() {
            return Ok(Fetched::Changed);
        }
        if !status.is_success() {
            let wait = server_wait(response.headers(), SystemTime::now());
            let error = refused("getBlob", &sas.redacted(), response).await;
            return Err(Failed {
                wait,
                ..Failed::new(error)
            });
        }
        let ranged = status == StatusCode::PARTIAL_CONTENT;
        let header = |name: &str| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let total = if ranged {
            header(CONTENT_RANGE.as_str())
                .and_then(|r| r.rsplit('/').next().and_then(|t| t.parse().ok()))
        } else {
            response.content_length()
        };
        let seen = PartState {
            blob: Some(blob_of(sas)),
            etag: header(ETAG.as_str()).or_else(|| known.and_then(|s| s.etag.clone())),
            total: total.or_else(|| known.and_then(|s| s.total)),
            md5: header("x-ms-blob-content-md5")
                .or_else(|| header("content-md5"))
                .or_else(|| known.and_then(|s| s.md5.clone())),
        };
        let state_json = serde_json::to_vec(&seen).unwrap_or_default();
        tokio::fs::write(meta, state_json)
            .await
            .map_err(|e| Failed::new(file_error(meta, e)))?;
        // A full answer to a ranged request: the server ignored the range; start the file over.
        let append = ranged && have > 0;
        let mut file = tokio::fs::OpenOptions::new()
            .create(true)
            .write(true)
            .truncate(!append)
            .open(part)
            .await
            .map_err(|e| Failed::new(file_error(part, e)))?;
        // Written at explicit offsets, not in append mode: a write still in flight from an
        // attempt that was cancelled lands where its bytes belong, not after these.
        if append {
            file.seek(std::io::SeekFrom::Start(have))
                .await
                .map_err(|e| Failed::new(file_error(part, e)))?;
        }
        // Large writes: each write of a tokio file is a trip to the blocking pool.
        let mut file = tokio::io::BufWriter::with_capacity(1024 * 1024, file);
        // Hash while writing when this fetch writes the whole file.
        let hash = (hash && !append && seen.md5.is_some()).then(BackgroundMd5::start);
        let start = if append { have } else { 0 };
        let mut got = start;
        let failed = |error, got: u64| Failed {
            error,
            progressed: got > start,
            state: Some(seen.clone()),
            wait: None,
        };
        progress.update(got, seen.total.unwrap_or(0));
        loop {
            let chunk = match tokio::time::timeout(stall, response.chunk()).await {
                Ok(chunk) => chunk,
                Err(_) => {
                    file.flush()
                        .await
                        .map_err(|e| failed(file_error(part, e), got))?;
                    return Err(failed(transport(stalled()), got));
                }
            };
            match chunk {
                Ok(Some(chunk)) => {
                    file.write_all(&chunk)
                        .await
                        .map_err(|e| failed(file_error(part, e), got))?;
                    got += chunk.len() as u64;
                    if let Some(hash) = &hash {
                        hash.update(chunk).await;
                    }
                    progress.update(got, seen.total.unwrap_or(got));
                }
                Ok(None) => break,
                Err(e) => {
                    file.flush()
                        .await
                        .map_err(|e| failed(file_error(part, e), got))?;
                    return Err(failed(transport(NetworkError::new(e)), got));
                }
            }
        }
        file.flush()
            .await
            .map_err(|e| failed(file_error(part, e), got))?;
        let hash = match hash {
            Some(hash) => hash.finish().await,
            None => None,
        };
        match seen.total {
            Some(total) if got != total => Err(failed(
                transport(NetworkError::other(format!(
                    "the body ended at {got} of {total} bytes"
                ))),
                got,
            )),
            Some(_) => Ok(Fetched::Complete(seen, hash)),
            None => Ok(Fetched::Complete(
                PartState {
                    total: Some(got),
                    ..seen
                },
                hash,
            )),
        }
    }
}

/// An MD5 computed on the blocking pool from chunks sent over a bounded channel, so that hashing
/// overlaps receiving and writing instead of adding its whole cost to the download. Chunks are
/// reference-counted: nothing is copied, and at most 32 chunks wait.
struct BackgroundMd5 {
    chunks: tokio::sync::mpsc::Sender<Bytes>,
    digest: tokio::task::JoinHandle<String>,
}

impl BackgroundMd5 {
    fn start() -> Self {
        let (chunks, mut received) = tokio::sync::mpsc::channel::<Bytes>(32);
        let digest = tokio::task::spawn_blocking(move || {
            let mut hash = Md5::new();
            while let Some(chunk) = received.blocking_recv() {
                hash.update(&chunk);
            }
            STANDARD.encode(hash.finalize())
        });
        Self { chunks, digest }
    }

    async fn update(&self, chunk: Bytes) {
        // The receiver lives until `finish`; a send can only fail if it panicked, and then
        // `finish` reports no digest and the file is hashed from disk.
        let _ = self.chunks.send(chunk).await;
    }

    /// The base64 digest of everything sent.
    async fn finish(self) -> Option<String> {
        drop(self.chunks);
        self.digest.await.ok()
    }
}

async fn file_md5(path: &Path) -> std::io::Result<String> {
    let mut file = tokio::fs::File::open(path).await?;
    let mut hash = Md5::new();
    let mut buffer = vec![0; 1024 * 1024];
    loop {
        let n = file.read(&mut buffer).await?;
        if n == 0 {
            break;
        }
        hash.update(&buffer[..n]);
    }
    Ok(STANDARD.encode(hash.finalize()))
}

/// Fetches a small text blob (driver metadata, an error report), at most `limit` bytes.
pub(crate) async fn fetch_text(
    http: &reqwest::Client,
    retry: &RetryPolicy,
    sas: &SasUrl,
    limit: usize,
    stall: Duration,
) -> Result<String, TransferError> {
    let response = send(retry, "getBlob", &sas.redacted(), stall, || {
        request(http, Method::GET, sas, sas.url().clone())
    })
    .await?;
    let read = tokio::time::timeout(stall, crate::wire::read_whole(response, limit)).await;
    let body = match read {
        Ok(Ok(body)) => body,
        Ok(Err(crate::wire::BodyError::TooLarge(limit))) => {
            return Err(TransferError::TooLarge(format!(
                "{} is larger than {limit} bytes",
                sas.redacted()
            )));
        }
        Ok(Err(crate::wire::BodyError::Network(e))) => {
            return Err(TransferError::Transport {
                operation: "getBlob",
                url: sas.redacted(),
                attempts: 1,
                source: NetworkError::new(e),
            });
        }
        Err(_) => {
            return Err(TransferError::Transport {
                operation: "getBlob",
                url: sas.redacted(),
                attempts: 1,
                source: NetworkError::other(format!(
                    "stalled: the text did not arrive in {} s",
                    stall.as_secs()
                )),
            });
        }
    };
    Ok(String::from_utf8_lossy(&body).into_owned())
}
