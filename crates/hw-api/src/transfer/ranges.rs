//! The ranges of a download, fetched over several connections at once (as AzCopy and the Azure
//! SDKs do), each pinned to the blob's ETag, checked (when asked) against the MD5 that storage
//! computes for it (`x-ms-range-get-content-md5`, ranges of at most 4 MiB) and written at its
//! offset in the partial file; and the whole file's MD5, computed in file order on a thread of
//! its own while later ranges arrive (`docs/service-notes.md`, "Blob REST rules" and "Blob transfer: parallel
//! downloads").

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use futures_util::stream::FuturesUnordered;
use md5::{Digest, Md5};
use reqwest::header::{IF_MATCH, RANGE};
use reqwest::{Method, StatusCode};

use super::blob::{after_failure, refused, request};
use super::progress::Progress;
use super::sas::SasUrl;
use crate::error::NetworkError;
use crate::error::TransferError;
use crate::net::Sender;
use crate::retry::{self, Attempt, Failed, RetryPolicy, server_wait};

/// The largest range whose MD5 storage computes.
pub(crate) const RANGE_MD5_LIMIT: u64 = 4 * 1024 * 1024;

/// How ranges are fetched.
pub(crate) struct RangePlan<'a> {
    pub http: &'a Sender,
    pub retry: &'a RetryPolicy,
    pub sas: &'a SasUrl,
    /// The ETag every range is pinned to.
    pub etag: Option<&'a str>,
    /// The blob's size.
    pub total: u64,
    /// The size of each range (at most [`RANGE_MD5_LIMIT`] when ranges are checked).
    pub range: u64,
    /// Ranges in flight at once.
    pub parallelism: usize,
    /// Whether each range is checked against storage's MD5 of it.
    pub check_ranges: bool,
    /// The most time without a byte before a range is given up (and asked for again).
    pub stall: Duration,
}

/// How fetching the ranges ended, when not with every byte on disk.
pub(crate) enum Stopped {
    /// The blob is no longer the one with the pinned ETag.
    Changed,
    /// A range could not be fetched.
    Failed(TransferError),
}

/// What the ranges gave.
pub(crate) struct Fetched {
    /// The whole file's MD5, when one was asked for.
    pub md5: Option<String>,
    /// How many ranges were checked against storage's MD5 of them.
    pub ranges_checked: u64,
}

impl RangePlan<'_> {
    /// Fetches `[from, total)` into `part`, whose first `from` bytes are already there, calling
    /// `done` with each new length of the complete prefix once its bytes are on disk (synced,
    /// every few ranges, in the background: a record never runs ahead of the data, even after a
    /// power loss), and hashing the whole file (the prefix from disk first) when `whole_md5`.
    pub(super) async fn fetch(
        &self,
        part: &Path,
        from: u64,
        whole_md5: bool,
        progress: &dyn Progress,
        done: &mut (dyn FnMut(u64) -> std::io::Result<()> + Send),
    ) -> Result<Fetched, Stopped> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(part)
            .map_err(|e| Stopped::Failed(file_error(part, e)))?;
        let file = Arc::new(file);
        let mut hash = whole_md5.then(|| OrderedMd5::start(part.to_owned(), from));
        let range = self.range.max(1);
        let mut starts = (from..self.total).step_by(usize::try_from(range).unwrap_or(usize::MAX));
        let mut next_start = starts.next();
        // A range starts only within a few ranges of what is hashed (or, without hashing, of
        // the complete prefix): completed ranges wait for the ones before them, and for the
        // hash, in bounded memory, while the loop keeps every connection busy.
        let window = (self.parallelism as u64 + 2) * range;
        let mut waiting: BTreeMap<u64, Bytes> = BTreeMap::new();
        let mut prefix = from;
        let mut ranges_checked = 0;
        let mut in_flight = FuturesUnordered::new();
        let mut checkpoint = Checkpoint::new(Arc::clone(&file), CHECKPOINT_RANGES * range, from);
        progress.update(prefix, self.total);
        loop {
            // A hash that ended early (its prefix could not be read) ends the download.
            if let Some(ended) = hash.take_if(|h| h.ended()) {
                let error = match ended.finish().await {
                    Err(e) => e,
                    Ok(_) => std::io::Error::other("the MD5 thread ended early"),
                };
                return Err(Stopped::Failed(file_error(part, error)));
            }
            if let Some(synced) = checkpoint.reached(prefix).await {
                done(synced).map_err(|e| Stopped::Failed(file_error(part, e)))?;
            }
            let floor = hash.as_ref().map_or(prefix, |h| h.hashed(from));
            while in_flight.len() < self.parallelism.max(1)
                && let Some(start) = next_start.filter(|s| *s < floor.saturating_add(window))
            {
                let len = range.min(self.total - start);
                in_flight.push(self.fetch_one(Arc::clone(&file), part, start, len));
                next_start = starts.next();
            }
            let result = match (&hash, in_flight.is_empty()) {
                (_, false) => match &hash {
                    Some(hash) => tokio::select! {
                        result = in_flight.next() => result,
                        () = hash.progressed() => continue,
                    },
                    None => in_flight.next().await,
                },
                // Nothing in flight: every range is asked for, or the hash must catch up.
                (Some(hash), true) if next_start.is_some() => {
                    hash.progressed().await;
                    continue;
                }
                _ => None,
            };
            let Some(result) = result else {
                break;
            };
            let (start, bytes, checked) = match result {
                Ok(got) => got,
                // What is on disk so far is kept for the next attempt or run.
                Err(Stopped::Failed(error)) => {
                    if let Some(synced) = checkpoint.now(prefix).await {
                        done(synced).map_err(|e| Stopped::Failed(file_error(part, e)))?;
                    }
                    return Err(Stopped::Failed(error));
                }
                Err(changed) => return Err(changed),
            };
            ranges_checked += u64::from(checked);
            waiting.insert(start, bytes);
            while let Some(bytes) = waiting.remove(&prefix) {
                prefix += bytes.len() as u64;
                if let Some(hash) = &hash {
                    hash.update(bytes);
                }
            }
            let waiting_bytes: u64 = waiting.values().map(|b| b.len() as u64).sum();
            progress.update(prefix + waiting_bytes, self.total);
        }
        let md5 = match hash {
            Some(hash) => Some(
                hash.finish()
                    .await
                    .map_err(|e| Stopped::Failed(file_error(part, e)))?,
            ),
            None => None,
        };
        Ok(Fetched {
            md5,
            ranges_checked,
        })
    }

    /// Fetches `[start, start + len)`, checks it and writes it at its offset; tried again as the
    /// retry policy allows.
    async fn fetch_one(
        &self,
        file: Arc<std::fs::File>,
        part: &Path,
        start: u64,
        len: u64,
    ) -> Result<(u64, Bytes, bool), Stopped> {
        let outcome = retry::run(self.retry, "getBlob", |attempt| {
            let file = Arc::clone(&file);
            async move { self.attempt(file, part, start, len, attempt).await }
        })
        .await;
        match outcome {
            Ok(Some((bytes, checked))) => Ok((start, bytes, checked)),
            Ok(None) => Err(Stopped::Changed),
            Err(error) => Err(Stopped::Failed(error)),
        }
    }

    /// One request for a range: `Some` with its bytes (written) and whether they were checked,
    /// `None` when the blob changed.
    async fn attempt(
        &self,
        file: Arc<std::fs::File>,
        part: &Path,
        start: u64,
        len: u64,
        attempt: u32,
    ) -> Attempt<Option<(Bytes, bool)>, TransferError> {
        let sas = self.sas;
        let transport = |source: NetworkError| TransferError::Transport {
            operation: "getBlob",
            url: sas.redacted(),
            attempts: attempt,
            source,
        };
        let stalled = || {
            NetworkError::other(format!(
                "stalled: nothing arrived for {} s",
                self.stall.as_secs()
            ))
        };
        let mut builder = request(self.http, Method::GET, sas, sas.url().clone())
            .header(RANGE, format!("bytes={start}-{}", start + len - 1));
        if let Some(etag) = self.etag {
            builder = builder.header(IF_MATCH, etag);
        }
        let check = self.check_ranges && len <= RANGE_MD5_LIMIT;
        if check {
            builder = builder.header("x-ms-range-get-content-md5", "true");
        }
        let sending = self.http.send::<()>("getBlob", builder, None);
        let mut response = match tokio::time::timeout(self.stall, sending).await {
            Ok(Ok(response)) => response,
            Ok(Err(e)) => {
                let (network, failed) = crate::send_failure::classify(e).await;
                return after_failure(transport(network), failed, None);
            }
            Err(_) => return after_failure(transport(stalled()), Failed::NoAnswer, None),
        };
        let status = response.status();
        if status == StatusCode::PRECONDITION_FAILED && self.etag.is_some() {
            return Attempt::Done(Ok(None));
        }
        if !status.is_success() {
            let wait = server_wait(response.headers(), SystemTime::now());
            let error = refused("getBlob", &sas.redacted(), response).await;
            return after_failure(error, Failed::Status(status.as_u16()), wait);
        }
        // A whole blob where a range was asked for: storage ignored the range.
        let whole = status != StatusCode::PARTIAL_CONTENT;
        if whole && (start != 0 || len != self.total) {
            return Attempt::Done(Err(TransferError::Integrity {
                what: sas.redacted(),
                message: format!(
                    "asked for bytes {start}-{} and got the whole blob (HTTP {status})",
                    start + len - 1
                ),
            }));
        }
        // The range asked for, and no other: a proxy or server that answers with another part
        // of the blob (or of a blob of another size) is not trusted.
        if !whole {
            let asked = format!("bytes {start}-{}/{}", start + len - 1, self.total);
            let answered = crate::wire::header(response.headers(), "content-range");
            if answered.as_deref() != Some(asked.as_str()) {
                return Attempt::Done(Err(TransferError::Integrity {
                    what: sas.redacted(),
                    message: format!(
                        "asked for {asked} and got {}",
                        answered.as_deref().unwrap_or("no Content-Range")
                    ),
                }));
            }
        }
        let expected = check
            .then(|| crate::wire::header(response.headers(), "content-md5"))
            .flatten();
        let mut body = BytesMut::with_capacity(usize::try_from(len).unwrap_or(0));
        loop {
            match tokio::time::timeout(self.stall, response.chunk()).await {
                Err(_) => return after_failure(transport(stalled()), Failed::NoAnswer, None),
                Ok(Err(e)) => {
                    return after_failure(transport(NetworkError::new(e)), Failed::NoAnswer, None);
                }
                Ok(Ok(None)) => break,
                Ok(Ok(Some(chunk))) => {
                    if body.len() as u64 + chunk.len() as u64 > len {
                        let message = format!("the range at {start} sent more than {len} bytes");
                        return after_failure(
                            transport(NetworkError::other(message)),
                            Failed::NoAnswer,
                            None,
                        );
                    }
                    body.extend_from_slice(&chunk);
                }
            }
        }
        if (body.len() as u64) < len {
            let message = format!(
                "the range at {start} ended after {} of {len} bytes",
                body.len()
            );
            return after_failure(
                transport(NetworkError::other(message)),
                Failed::NoAnswer,
                None,
            );
        }
        let bytes = body.freeze();
        let checked = expected.is_some();
        let written = {
            let bytes = bytes.clone();
            tokio::task::spawn_blocking(move || {
                if let Some(expected) = expected {
                    let actual = crate::encode::md5_base64(&bytes);
                    if actual != expected {
                        return Err(Written::Damaged(format!(
                            "the range at {start} has MD5 {actual} and storage says {expected}"
                        )));
                    }
                }
                write_at(&file, &bytes, start).map_err(Written::Io)
            })
            .await
            .unwrap_or_else(|e| Err(Written::Io(std::io::Error::other(e.to_string()))))
        };
        match written {
            Ok(()) => Attempt::Done(Ok(Some((bytes, checked)))),
            // Damaged on the way: asked for again.
            Err(Written::Damaged(message)) => Attempt::retry(
                TransferError::Integrity {
                    what: sas.redacted(),
                    message,
                },
                None,
            ),
            Err(Written::Io(error)) => Attempt::Done(Err(file_error(part, error))),
        }
    }
}

/// How many ranges of progress start a new sync (one runs at a time): about this much progress
/// (16 MiB with the default ranges) is lost to a kill or a power loss.
const CHECKPOINT_RANGES: u64 = 4;

/// Syncs the partial file in the background every so often, and says which prefix is on disk.
struct Checkpoint {
    file: Arc<std::fs::File>,
    every: u64,
    /// The prefix the last sync that finished covers.
    synced: u64,
    /// A sync in flight, and the prefix it covers.
    running: Option<(u64, tokio::task::JoinHandle<std::io::Result<()>>)>,
}

impl Checkpoint {
    /// Syncs of `file` every `every` bytes of progress beyond `synced`, already on disk.
    fn new(file: Arc<std::fs::File>, every: u64, synced: u64) -> Self {
        Self {
            file,
            every,
            synced,
            running: None,
        }
    }

    /// With the complete prefix at `prefix`: the prefix a sync has newly put on disk, if one
    /// finished; starts the next sync when enough has come since the last.
    async fn reached(&mut self, prefix: u64) -> Option<u64> {
        let mut newly = None;
        if let Some((covers, sync)) = self.running.take_if(|(_, sync)| sync.is_finished()) {
            // A failed sync records nothing; the next one tries again.
            if let Ok(Ok(())) = sync.await {
                self.synced = covers;
                newly = Some(covers);
            }
        }
        if self.running.is_none() && prefix >= self.synced + self.every {
            let file = Arc::clone(&self.file);
            let sync = tokio::task::spawn_blocking(move || file.sync_data());
            self.running = Some((prefix, sync));
        }
        newly
    }

    /// Syncs now (after the sync in flight, if any): `prefix`, if it is on disk.
    async fn now(&mut self, prefix: u64) -> Option<u64> {
        if let Some((_, sync)) = self.running.take() {
            let _ = sync.await;
        }
        let file = Arc::clone(&self.file);
        let synced = tokio::task::spawn_blocking(move || file.sync_data()).await;
        matches!(synced, Ok(Ok(()))).then(|| {
            self.synced = prefix;
            prefix
        })
    }
}

/// Why a range was not written.
enum Written {
    /// Its bytes do not match storage's MD5 of them.
    Damaged(String),
    /// The file refused them.
    Io(std::io::Error),
}

fn file_error(path: &Path, source: std::io::Error) -> TransferError {
    TransferError::File {
        path: path.to_owned(),
        source,
    }
}

/// Writes all of `bytes` at `offset` without moving a shared cursor, so that ranges are written
/// from several threads at once.
#[cfg(unix)]
fn write_at(file: &std::fs::File, bytes: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, bytes, offset)
}

/// Writes all of `bytes` at `offset` (Windows: `seek_write` moves the handle's cursor, which
/// nothing else here relies on, and may write less than asked).
#[cfg(windows)]
fn write_at(file: &std::fs::File, mut bytes: &[u8], mut offset: u64) -> std::io::Result<()> {
    while !bytes.is_empty() {
        let n = std::os::windows::fs::FileExt::seek_write(file, bytes, offset)?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        bytes = &bytes[n..];
        offset += n as u64;
    }
    Ok(())
}

/// An MD5 of a whole file computed on the blocking pool: first the `prefix` bytes already on
/// disk, then the chunks sent in file order (reference-counted: nothing is copied). Sending never
/// waits; the sender bounds what is queued by how far the hash has got ([`OrderedMd5::hashed`]).
struct OrderedMd5 {
    chunks: tokio::sync::mpsc::UnboundedSender<Bytes>,
    /// Bytes hashed after the prefix.
    hashed: Arc<std::sync::atomic::AtomicU64>,
    /// Woken each time a chunk is hashed.
    moved: Arc<tokio::sync::Notify>,
    digest: tokio::task::JoinHandle<std::io::Result<String>>,
}

impl OrderedMd5 {
    fn start(path: PathBuf, prefix: u64) -> Self {
        let (chunks, mut received) = tokio::sync::mpsc::unbounded_channel::<Bytes>();
        let hashed = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let moved = Arc::new(tokio::sync::Notify::new());
        let (count, wake) = (Arc::clone(&hashed), Arc::clone(&moved));
        let digest = tokio::task::spawn_blocking(move || {
            // However the thread ends, whoever waits for it to move hears of it.
            let _wake = WakeOnDrop(Arc::clone(&wake));
            let mut hash = Md5::new();
            if prefix > 0 {
                use std::io::Read;
                let file = std::fs::File::open(&path)?;
                let mut reader = std::io::BufReader::with_capacity(1024 * 1024, file.take(prefix));
                let copied = std::io::copy(&mut reader, &mut HashWriter(&mut hash))?;
                if copied != prefix {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        format!("the partial file ends at {copied} of {prefix} bytes"),
                    ));
                }
            }
            while let Some(chunk) = received.blocking_recv() {
                hash.update(&chunk);
                count.fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::Release);
                wake.notify_one();
            }
            Ok(crate::encode::base64(&hash.finalize()))
        });
        Self {
            chunks,
            hashed,
            moved,
            digest,
        }
    }

    fn update(&self, chunk: Bytes) {
        // The receiver lives until `finish`; a send fails only if the hashing thread ended
        // early, and `finish` then reports why.
        let _ = self.chunks.send(chunk);
    }

    /// The file offset the hash has reached, for a hash that began with `from` bytes on disk.
    fn hashed(&self, from: u64) -> u64 {
        from + self.hashed.load(std::sync::atomic::Ordering::Acquire)
    }

    /// Whether the hashing thread has ended: before [`OrderedMd5::finish`], only on an error.
    fn ended(&self) -> bool {
        self.digest.is_finished()
    }

    /// Waits until another chunk is hashed.
    async fn progressed(&self) {
        self.moved.notified().await;
    }

    /// The base64 digest of the prefix and everything sent.
    async fn finish(self) -> std::io::Result<String> {
        drop(self.chunks);
        self.digest
            .await
            .map_err(|e| std::io::Error::other(format!("the MD5 thread failed: {e}")))?
    }
}

/// Wakes a waiter when dropped.
struct WakeOnDrop(Arc<tokio::sync::Notify>);

impl Drop for WakeOnDrop {
    fn drop(&mut self) {
        self.0.notify_one();
    }
}

/// Feeds what is written into an MD5.
struct HashWriter<'a>(&'a mut Md5);

impl std::io::Write for HashWriter<'_> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.update(bytes);
        Ok(bytes.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
