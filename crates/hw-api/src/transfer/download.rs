//! Download from a blob SAS URL (a signed package, driver metadata, an error report): the blob's
//! properties first (size, ETag, MD5, asked for with `If-Match` when resuming), then its ranges
//! over several connections (`ranges.rs`) into `<name>.part`, each pinned to the ETag; checked
//! against the blob's size and (unless turned off) its `Content-MD5` when it has one, and renamed
//! into place only when complete and confirmed to be the same blob.
//!
//! What the blob is (which blob, ETag, size, MD5) and how long a prefix of it is complete on
//! disk are written beside it in `<name>.part.json` (whole, by rename), the prefix after its
//! bytes are synced to disk, so a download killed at any point, or cut by a power loss, resumes
//! from what is really there, and a leftover of another blob, or of a blob replaced since,
//! starts over.

use std::path::{Path, PathBuf};
use std::time::Duration;

use reqwest::Method;
use reqwest::header::{CONTENT_LENGTH, ETAG, IF_MATCH};
use serde::{Deserialize, Serialize};

use super::blob::{request, send};
use super::options::{RangeMd5, TransferOptions};
use super::progress::Progress;
use super::ranges::{RANGE_MD5_LIMIT, RangePlan, Stopped};
use super::sas::SasUrl;
use crate::error::NetworkError;
use crate::error::TransferError;
use crate::net::Sender;
use crate::retry::RetryPolicy;

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
    /// How many ranges were checked against the MD5 storage computed for each.
    pub ranges_verified: u64,
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
    /// How many bytes from the start are complete on disk (absent in sidecars written before
    /// downloads were ranged, whose partial file was complete to its length).
    #[serde(default)]
    done: Option<u64>,
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

/// Downloads `sas` to `dest` as `options` say (ranges, connections, checks, stall timeout).
pub(crate) async fn download(
    http: &Sender,
    retry: &RetryPolicy,
    sas: &SasUrl,
    dest: &Path,
    options: &TransferOptions,
    progress: &dyn Progress,
) -> Result<DownloadReport, TransferError> {
    let part = sidecar(dest, ".part");
    let meta = sidecar(dest, ".part.json");
    let blob = blob_of(sas);
    let verify = options.verify_md5;
    let mut kept = kept_state(&part, &meta, &blob).await;
    let mut restarts = 0;
    // After a whole-blob MD5 mismatch, the download is fetched again with every range checked.
    let mut check_ranges = options.range_md5 == RangeMd5::Always;
    let (state, resumed_from, fetched) = loop {
        let pinned = kept.as_ref().and_then(|s| s.etag.clone());
        let now = properties(http, retry, sas, pinned.as_deref(), options.stall_timeout).await?;
        let state = match (kept.take(), now) {
            (Some(mut kept), Some(now)) if kept.total == Some(now.total) => {
                kept.md5 = now.md5.or(kept.md5);
                kept.etag = now.etag.or(kept.etag);
                kept
            }
            (None, Some(now)) => {
                let _ = tokio::fs::remove_file(&part).await;
                PartState {
                    blob: Some(blob.clone()),
                    etag: now.etag,
                    total: Some(now.total),
                    md5: now.md5,
                    done: Some(0),
                }
            }
            // Another ETag or size than the partial file's: the blob was replaced.
            (Some(_), _) | (None, None) => {
                start_over(&part, &meta, sas, &mut restarts).await?;
                continue;
            }
        };
        save(&meta, &state).map_err(|e| file_error(&meta, e))?;
        let total = state.total.unwrap_or(0);
        let from = state.done.unwrap_or(0).min(total);
        let plan = RangePlan {
            http,
            retry,
            sas,
            etag: state.etag.as_deref(),
            total,
            range: options.block_size.clamp(1, RANGE_MD5_LIMIT),
            parallelism: options.parallelism,
            check_ranges: verify && (check_ranges || state.md5.is_none()),
            stall: options.stall_timeout,
        };
        let mut saved = state.clone();
        let mut record = |done: u64| {
            saved.done = Some(done);
            save(&meta, &saved)
        };
        let whole_md5 = verify && state.md5.is_some();
        let ranges_checked = plan.check_ranges;
        let fetched = match plan
            .fetch(&part, from, whole_md5, progress, &mut record)
            .await
        {
            Ok(fetched) => fetched,
            Err(Stopped::Changed) => {
                start_over(&part, &meta, sas, &mut restarts).await?;
                kept = None;
                continue;
            }
            Err(Stopped::Failed(error)) => return Err(error),
        };
        let mismatch = match (state.md5.as_ref().filter(|_| verify), &fetched.md5) {
            (Some(expected), Some(actual)) if actual != expected => {
                Some(format!("MD5 {actual} does not match the blob's {expected}"))
            }
            _ => None,
        };
        match mismatch {
            None => break (state, from, fetched),
            // Damaged on the way, but no range was checked: fetched again, range by range.
            // (A prefix from an earlier attempt or run was not checked by this one either.)
            Some(why) if (!ranges_checked || from > 0) && restarts < MAX_RESTARTS => {
                tracing::warn!(url = %sas, "{why}: fetching it again with every range checked");
                restarts += 1;
                remove_both(&part, &meta).await;
                check_ranges = true;
                kept = None;
            }
            Some(why) => {
                remove_both(&part, &meta).await;
                return Err(TransferError::Integrity {
                    what: dest.display().to_string(),
                    message: format!("{why}; the partial file was removed"),
                });
            }
        }
    };
    let bytes = file_len(&part).await;
    if let Some(total) = state.total.filter(|total| *total != bytes) {
        remove_both(&part, &meta).await;
        return Err(TransferError::Integrity {
            what: dest.display().to_string(),
            message: format!(
                "the file has {bytes} bytes and the blob {total}; the partial file was removed"
            ),
        });
    }
    let md5_verified = verify && state.md5.is_some() && fetched.md5.is_some();
    tokio::fs::rename(&part, dest)
        .await
        .map_err(|e| file_error(dest, e))?;
    let _ = tokio::fs::remove_file(&meta).await;
    Ok(DownloadReport {
        bytes,
        resumed_from,
        md5_verified,
        ranges_verified: fetched.ranges_checked,
    })
}

/// The state of a partial download of `blob` left by an earlier attempt or run, if it can be
/// resumed; anything else left there is removed.
async fn kept_state(part: &Path, meta: &Path, blob: &str) -> Option<PartState> {
    let state = match tokio::fs::read(meta).await {
        Ok(bytes) if tokio::fs::metadata(part).await.is_ok() => {
            serde_json::from_slice::<PartState>(&bytes).ok()
        }
        _ => None,
    };
    // A partial file of another blob is not resumed: it starts over. (One from before the
    // sidecar named its blob is resumed under `If-Match`, which a changed blob refuses.)
    let Some(mut state) = state.filter(|s| s.blob.as_deref().is_none_or(|b| b == blob)) else {
        let _ = tokio::fs::remove_file(part).await;
        return None;
    };
    // Never trust more than is on disk.
    let on_disk = file_len(part).await;
    state.done = Some(state.done.unwrap_or(on_disk).min(on_disk));
    state.blob = Some(blob.to_owned());
    Some(state)
}

/// Writes the sidecar whole or not at all: a new file renamed over the old one.
fn save(meta: &Path, state: &PartState) -> std::io::Result<()> {
    let fresh = sidecar(meta, ".new");
    std::fs::write(&fresh, serde_json::to_vec(state).unwrap_or_default())?;
    std::fs::rename(&fresh, meta)
}

async fn remove_both(part: &Path, meta: &Path) {
    let _ = tokio::fs::remove_file(part).await;
    let _ = tokio::fs::remove_file(meta).await;
}

/// Throws away a partial download of a blob that changed, unless it has changed too often.
async fn start_over(
    part: &Path,
    meta: &Path,
    sas: &SasUrl,
    restarts: &mut u32,
) -> Result<(), TransferError> {
    if *restarts >= MAX_RESTARTS {
        return Err(changing(sas));
    }
    *restarts += 1;
    tracing::info!(url = %sas, "the blob changed since the partial download: starting over");
    remove_both(part, meta).await;
    Ok(())
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

/// What Get Blob Properties says of a blob.
struct Properties {
    total: u64,
    etag: Option<String>,
    md5: Option<String>,
}

/// The blob's properties, asked for with `If-Match: pinned` when there is a partial download
/// of it; `None` when the blob is no longer the one with that ETag.
async fn properties(
    http: &Sender,
    retry: &RetryPolicy,
    sas: &SasUrl,
    pinned: Option<&str>,
    stall: Duration,
) -> Result<Option<Properties>, TransferError> {
    let sent = send(
        http,
        retry,
        "getBlobProperties",
        &sas.redacted(),
        stall,
        || {
            let head = request(http, Method::HEAD, sas, sas.url().clone());
            match pinned {
                Some(etag) => head.header(IF_MATCH, etag),
                None => head,
            }
        },
    )
    .await;
    let response = match sent {
        Ok(response) => response,
        Err(TransferError::Refused { status: 412, .. }) if pinned.is_some() => return Ok(None),
        Err(error) => return Err(error),
    };
    let header = |name| crate::wire::header(response.headers(), name);
    let etag = header(ETAG.as_str());
    if pinned.is_some_and(|pinned| etag.as_deref().is_some_and(|etag| etag != pinned)) {
        return Ok(None);
    }
    let total = header(CONTENT_LENGTH.as_str())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| TransferError::Transport {
            operation: "getBlobProperties",
            url: sas.redacted(),
            attempts: 1,
            source: NetworkError::other("the blob's properties have no Content-Length"),
        })?;
    Ok(Some(Properties {
        total,
        etag,
        md5: header("content-md5").or_else(|| header("x-ms-blob-content-md5")),
    }))
}

/// Fetches a small text blob (driver metadata, an error report), at most `limit` bytes.
pub(crate) async fn fetch_text(
    http: &Sender,
    retry: &RetryPolicy,
    sas: &SasUrl,
    limit: usize,
    stall: Duration,
) -> Result<String, TransferError> {
    let response = send(http, retry, "getBlob", &sas.redacted(), stall, || {
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
