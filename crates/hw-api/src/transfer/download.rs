//! Download from a blob SAS URL (a signed package, driver metadata, an error report): streamed
//! into `<name>.part`, resumed with a ranged request pinned to the blob's ETag, checked against
//! the blob's `Content-MD5` when it has one, and renamed into place only when complete.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use md5::{Digest, Md5};
use reqwest::StatusCode;
use reqwest::header::{CONTENT_RANGE, ETAG, IF_MATCH, RANGE};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{Progress, SasUrl, TransferError, refused, send};
use crate::retry::{RetryPolicy, server_wait};

/// What a download did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DownloadReport {
    /// The file's size.
    pub bytes: u64,
    /// Bytes already on disk from an earlier attempt.
    pub resumed_from: u64,
    /// Whether the content was checked against the blob's MD5.
    pub md5_verified: bool,
}

/// What is known of a partial download, kept beside it.
#[derive(Serialize, Deserialize, Default)]
struct PartState {
    etag: String,
    total: u64,
    md5: Option<String>,
}

/// The blob's properties as a response shows them.
struct Properties {
    etag: Option<String>,
    total: Option<u64>,
    md5: Option<String>,
}

fn properties(response: &reqwest::Response, offset: u64) -> Properties {
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &reqwest::header::HeaderValue| v.to_str().ok())
    };
    let total = match response.status() {
        StatusCode::PARTIAL_CONTENT => header(CONTENT_RANGE.as_str())
            .and_then(|r| r.rsplit('/').next())
            .and_then(|t| t.parse().ok()),
        _ => response.content_length().map(|len| len + offset),
    };
    Properties {
        etag: header(ETAG.as_str()).map(str::to_owned),
        total,
        md5: header("x-ms-blob-content-md5")
            .or_else(|| header("content-md5"))
            .map(str::to_owned),
    }
}

fn sidecar(dest: &Path, suffix: &str) -> PathBuf {
    let mut name = dest
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(suffix);
    dest.with_file_name(name)
}

/// Downloads `sas` to `dest`.
pub(crate) async fn download(
    http: &reqwest::Client,
    retry: &RetryPolicy,
    sas: &SasUrl,
    dest: &Path,
    progress: &dyn Progress,
) -> Result<DownloadReport, TransferError> {
    let part = sidecar(dest, ".part");
    let meta = sidecar(dest, ".part.json");
    let file_error = |path: &Path, e: std::io::Error| TransferError::File {
        path: path.to_owned(),
        message: e.to_string(),
    };
    let mut state: Option<PartState> = match (
        tokio::fs::metadata(&part).await,
        tokio::fs::read(&meta).await,
    ) {
        (Ok(_), Ok(bytes)) => serde_json::from_slice(&bytes).ok(),
        _ => None,
    };
    let mut have = match &state {
        Some(_) => tokio::fs::metadata(&part)
            .await
            .map(|m| m.len())
            .unwrap_or(0),
        None => 0,
    };
    let resumed_from = have;
    let started = tokio::time::Instant::now();
    let mut attempts = 0;
    loop {
        if let Some(s) = &state
            && have >= s.total
        {
            break;
        }
        attempts += 1;
        let outcome = fetch_range(http, sas, &part, have, state.as_ref(), progress).await;
        match outcome {
            Ok(Fetched::Done {
                state: new_state,
                bytes,
            }) => {
                have = bytes;
                tokio::fs::write(&meta, serde_json::to_vec(&new_state).unwrap_or_default())
                    .await
                    .map_err(|e| file_error(&meta, e))?;
                state = Some(new_state);
            }
            Ok(Fetched::Changed) => {
                tracing::info!(url = %sas, "the blob changed since the partial download: starting over");
                have = 0;
                state = None;
                let _ = tokio::fs::remove_file(&part).await;
            }
            Err((error, got, new_state, wait)) => {
                have = got;
                if let Some(new_state) = new_state {
                    let _ =
                        tokio::fs::write(&meta, serde_json::to_vec(&new_state).unwrap_or_default())
                            .await;
                    state = Some(new_state);
                }
                match (
                    &error,
                    retry.delay_before_retry(attempts, started.elapsed(), wait),
                ) {
                    (TransferError::Refused { status, .. }, _)
                        if !crate::retry::is_transient(*status) =>
                    {
                        return Err(error);
                    }
                    (_, Some(delay)) => {
                        tracing::debug!(url = %sas, have, retry.delay_ms = delay.as_millis() as u64, error = %error, "resuming the download");
                        tokio::time::sleep(delay).await;
                    }
                    (_, None) => return Err(error),
                }
            }
        }
    }
    let state = state.unwrap_or_default();
    let md5_verified = match &state.md5 {
        Some(expected) => {
            let actual = file_md5(&part).await.map_err(|e| file_error(&part, e))?;
            if &actual != expected {
                let _ = tokio::fs::remove_file(&part).await;
                let _ = tokio::fs::remove_file(&meta).await;
                return Err(TransferError::Integrity {
                    what: format!("{}", dest.display()),
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
        bytes: state.total,
        resumed_from,
        md5_verified,
    })
}

enum Fetched {
    /// All bytes to the end are on disk.
    Done { state: PartState, bytes: u64 },
    /// The blob is not the one the partial file came from.
    Changed,
}

type Failed = (
    TransferError,
    u64,
    Option<PartState>,
    Option<std::time::Duration>,
);

/// Fetches from `have` to the end into `part`.
async fn fetch_range(
    http: &reqwest::Client,
    sas: &SasUrl,
    part: &Path,
    have: u64,
    state: Option<&PartState>,
    progress: &dyn Progress,
) -> Result<Fetched, Failed> {
    let transport = |message: String, got: u64, state: Option<PartState>| {
        (
            TransferError::Transport {
                operation: "getBlob",
                url: sas.redacted(),
                attempts: 1,
                message,
            },
            got,
            state,
            None,
        )
    };
    let mut request = http
        .get(sas.url().clone())
        .header("x-ms-version", sas.version())
        .header(RANGE, format!("bytes={have}-"));
    if let Some(state) = state {
        request = request.header(IF_MATCH, &state.etag);
    }
    let mut response = request
        .send()
        .await
        .map_err(|e| transport(crate::call::describe(e), have, None))?;
    let status = response.status();
    if status == StatusCode::PRECONDITION_FAILED && state.is_some() {
        return Ok(Fetched::Changed);
    }
    if status == StatusCode::RANGE_NOT_SATISFIABLE && have == 0 {
        // An empty blob: nothing to fetch.
        return Ok(Fetched::Done {
            state: PartState::default(),
            bytes: 0,
        });
    }
    if !status.is_success() {
        let wait = server_wait(response.headers(), SystemTime::now());
        return Err((
            refused("getBlob", &sas.redacted(), response).await,
            have,
            None,
            wait,
        ));
    }
    let props = properties(
        &response,
        if status == StatusCode::PARTIAL_CONTENT {
            have
        } else {
            0
        },
    );
    let new_state = PartState {
        etag: props
            .etag
            .or_else(|| state.map(|s| s.etag.clone()))
            .unwrap_or_default(),
        total: props.total.or_else(|| state.map(|s| s.total)).unwrap_or(0),
        md5: props.md5.or_else(|| state.and_then(|s| s.md5.clone())),
    };
    // A full answer to a ranged request: the server ignored the range; start the file over.
    let append = status == StatusCode::PARTIAL_CONTENT && have > 0;
    let mut file = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .append(append)
        .truncate(!append)
        .open(part)
        .await
        .map_err(|e| {
            (
                TransferError::File {
                    path: part.to_owned(),
                    message: e.to_string(),
                },
                have,
                None,
                None,
            )
        })?;
    let mut got = if append { have } else { 0 };
    progress.update(got, new_state.total);
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if let Err(e) = file.write_all(&chunk).await {
                    return Err((
                        TransferError::File {
                            path: part.to_owned(),
                            message: e.to_string(),
                        },
                        got,
                        Some(new_state),
                        None,
                    ));
                }
                got += chunk.len() as u64;
                progress.update(got, new_state.total);
            }
            Ok(None) => break,
            Err(e) => {
                let _ = file.flush().await;
                return Err(transport(crate::call::describe(e), got, Some(new_state)));
            }
        }
    }
    file.flush().await.map_err(|e| {
        (
            TransferError::File {
                path: part.to_owned(),
                message: e.to_string(),
            },
            got,
            None,
            None,
        )
    })?;
    if got < new_state.total {
        return Err(transport(
            format!("the body ended at {got} of {} bytes", new_state.total),
            got,
            Some(new_state),
        ));
    }
    Ok(Fetched::Done {
        state: new_state,
        bytes: got,
    })
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
) -> Result<String, TransferError> {
    let mut response = send(retry, "getBlob", &sas.redacted(), || {
        http.get(sas.url().clone())
            .header("x-ms-version", sas.version())
    })
    .await?;
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| TransferError::Transport {
            operation: "getBlob",
            url: sas.redacted(),
            attempts: 1,
            message: crate::call::describe(e),
        })?
    {
        if body.len() + chunk.len() > limit {
            return Err(TransferError::TooLarge(format!(
                "{} is larger than {limit} bytes",
                sas.redacted()
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&body).into_owned())
}
