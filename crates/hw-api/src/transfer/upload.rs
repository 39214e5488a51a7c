//! Upload to an `initialPackage` SAS URL: one Put Blob for small files; otherwise blocks of a
//! size chosen from the SAS version's limits, several in flight, each with its `Content-MD5` and
//! retried on its own, then Put Block List. Memory stays at block size × parallelism.
//!
//! Block ids are `{index:06}-{md5 prefix}`, all of one width. A re-run first asks which blocks
//! the blob already holds (Get Block List, uncommitted) and skips those whose id — and so whose
//! content — matches: an interrupted upload resumes, and a changed file is uploaded anew.

use std::collections::HashSet;
use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use bytes::Bytes;
use futures_util::StreamExt;
use md5::{Digest, Md5};

use reqwest::Method;

use super::blob::{request, send, send_body};
use super::options::TransferOptions;
use super::progress::Progress;
use super::sas::{Limits, SasUrl};
use crate::error::TransferError;
use crate::net::Sender;
use crate::retry::RetryPolicy;
use crate::wire::{self, limits};

/// What an upload did.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct UploadReport {
    /// The file's size.
    pub bytes: u64,
    /// How many blocks it was cut into (0 for a single Put Blob).
    pub blocks: usize,
    /// How many blocks were already there from an earlier attempt.
    pub blocks_reused: usize,
    /// The blob's ETag after the upload, when storage gave one.
    pub etag: Option<String>,
    /// Uncommitted blocks of another tool that the blob held and that were cleared first
    /// (their ids cannot live beside ours), as Get Block List showed them; 1 (at least one)
    /// when the list could not be read and storage refused our block ids because of them.
    pub foreign_blocks_cleared: usize,
    /// The whole blob's MD5 as storage records it (base64), when it was computed: always for a
    /// single Put Blob, and for blocks sent in one pass.
    pub content_md5: Option<String>,
}

/// Uploads the file at `path` to `sas`.
pub(crate) async fn upload(
    http: &Sender,
    retry: &RetryPolicy,
    sas: &SasUrl,
    path: &Path,
    options: &TransferOptions,
    progress: &dyn Progress,
) -> Result<UploadReport, TransferError> {
    let to = Target {
        http,
        retry,
        sas,
        options,
    };
    let file_error = |source: std::io::Error| TransferError::File {
        path: path.to_owned(),
        source,
    };
    let size = tokio::fs::metadata(path).await.map_err(file_error)?.len();
    let limits = Limits::for_version(sas.version());
    progress.update(0, size);
    // One Put Blob holds the whole file in memory: never more than a block.
    let single = options
        .single_put_threshold
        .min(options.block_size)
        .min(limits.max_put_blob);
    if size <= single {
        let data = tokio::fs::read(path).await.map_err(file_error)?;
        let content_md5 = crate::encode::md5_base64(&data);
        let etag = put_blob(&to, Bytes::from(data)).await?;
        progress.update(size, size);
        return Ok(UploadReport {
            bytes: size,
            blocks: 0,
            blocks_reused: 0,
            etag,
            foreign_blocks_cleared: 0,
            content_md5: Some(content_md5),
        });
    }
    let block = block_size(size, options.block_size, limits)?;
    let count = size.div_ceil(block) as usize;
    let stall = options.stall_timeout;
    let mut existing = uncommitted_blocks(http, retry, sas, stall).await?;
    // Blocks of an interrupted upload by another tool (SDCM, the Azure SDK): storage refuses
    // every Put Block whose id has another length while they are there (for up to a week).
    let mut foreign = existing.iter().filter(|(id, _)| !is_ours(id)).count();
    if foreign > 0 {
        tracing::info!(url = %sas, foreign, "the blob holds uncommitted blocks of another tool: clearing them");
        clear_uncommitted(&to).await?;
        existing.clear();
    }
    let blocks = Blocks {
        path,
        size,
        block,
        count,
        progress,
    };
    let (ids, content_md5, reused) = match blocks.put(&to, &existing).await {
        // Storage refused our ids because of blocks it did not list (a SAS that may not read
        // the block list): at least one foreign block, cleared, and the blocks sent again.
        Err(error) if foreign == 0 && is_invalid_block(&error) => {
            tracing::info!(url = %sas, "storage refused our block ids: clearing blocks of another tool that the block list did not show");
            clear_uncommitted(&to).await?;
            foreign = 1;
            blocks.put(&to, &HashSet::new()).await?
        }
        outcome => outcome?,
    };
    let etag = put_block_list(http, retry, sas, stall, &ids, content_md5.as_deref()).await?;
    Ok(UploadReport {
        bytes: size,
        blocks: count,
        blocks_reused: reused,
        etag,
        foreign_blocks_cleared: foreign,
        content_md5,
    })
}

/// Whether storage refused a Put Block for the ids of another tool's uncommitted blocks.
fn is_invalid_block(error: &TransferError) -> bool {
    matches!(
        error,
        TransferError::Refused { operation: "putBlock", status: 400, code: Some(code), .. }
            if code == "InvalidBlobOrBlock"
    )
}

/// Discards the blob's uncommitted blocks by committing an empty block list, which storage
/// follows by discarding every uncommitted block; a zero-length Put Blob does so on Azure but
/// not on Azurite (`docs/service-notes.md`, "Blob REST rules").
async fn clear_uncommitted(to: &Target<'_>) -> Result<(), TransferError> {
    let stall = to.options.stall_timeout;
    put_block_list(to.http, to.retry, to.sas, stall, &[], None).await?;
    Ok(())
}

/// A file cut into blocks.
struct Blocks<'a> {
    path: &'a Path,
    size: u64,
    block: u64,
    count: usize,
    progress: &'a dyn Progress,
}

impl Blocks<'_> {
    /// Sends every block that `existing` does not already hold; returns the ids in order, the
    /// whole file's MD5 and how many blocks were already there.
    async fn put(
        &self,
        to: &Target<'_>,
        existing: &HashSet<(String, u64)>,
    ) -> Result<(Vec<String>, Option<String>, usize), TransferError> {
        let Blocks {
            path,
            size,
            block,
            count,
            progress,
        } = *self;
        let file_error = |source: std::io::Error| TransferError::File {
            path: path.to_owned(),
            source,
        };
        let options = to.options;
        let buffers = std::sync::Arc::new(Buffers::default());
        let whole = std::sync::Arc::new(OrderedMd5::start(std::sync::Arc::clone(&buffers)));
        let done = AtomicU64::new(0);
        let reused = AtomicU64::new(0);
        // After a failure no new block starts, but blocks in flight finish: they count on a
        // re-run.
        let failed = AtomicBool::new(false);
        let outcomes: Vec<Result<(usize, String), Option<TransferError>>> =
            futures_util::stream::iter(0..count)
                .map(|index| {
                    let (done, reused, failed, buffers) = (&done, &reused, &failed, &*buffers);
                    let whole = whole.clone();
                    async move {
                        if failed.load(Ordering::Relaxed) {
                            return Err(None);
                        }
                        let offset = index as u64 * block;
                        let len = block.min(size - offset);
                        let outcome = async {
                            let (data, digest) =
                                read_block(path, index, offset, len, buffers.take(), whole)
                                    .await
                                    .map_err(file_error)?;
                            let id = crate::encode::base64(block_id(index, &digest).as_bytes());
                            if existing.contains(&(id.clone(), len)) {
                                reused.fetch_add(1, Ordering::Relaxed);
                            } else {
                                let md5 = crate::encode::base64(&digest);
                                put_block(to, &id, md5, &data).await?;
                            }
                            buffers.give_back(data);
                            progress.update(done.fetch_add(len, Ordering::Relaxed) + len, size);
                            Ok::<_, TransferError>((index, id))
                        }
                        .await;
                        outcome.map_err(|e| {
                            failed.store(true, Ordering::Relaxed);
                            Some(e)
                        })
                    }
                })
                // Unordered: a block waiting out a retry does not hold back the others.
                .buffer_unordered(options.parallelism.max(1))
                .collect()
                .await;
        let mut ids = Vec::with_capacity(count);
        let mut first_error = None;
        for outcome in outcomes {
            match outcome {
                Ok(id) => ids.push(id),
                Err(Some(e)) if first_error.is_none() => first_error = Some(e),
                Err(_) => {}
            }
        }
        if let Some(e) = first_error {
            return Err(e);
        }
        ids.sort_unstable();
        let ids: Vec<String> = ids.into_iter().map(|(_, id)| id).collect();
        let content_md5 = match std::sync::Arc::try_unwrap(whole) {
            Ok(whole) => whole.finish(count).await,
            Err(_) => None,
        };
        Ok((ids, content_md5, reused.load(Ordering::Relaxed) as usize))
    }
}

/// The block size for a file of `size`: the preferred size, raised (to whole MiB) so the file
/// fits in 50,000 blocks; an error if that exceeds the version's largest block.
pub(super) fn block_size(size: u64, preferred: u64, limits: Limits) -> Result<u64, TransferError> {
    const MIB: u64 = 1024 * 1024;
    let preferred = preferred.max(1);
    let block = if size.div_ceil(preferred) <= limits.max_blocks {
        preferred
    } else {
        size.div_ceil(limits.max_blocks).div_ceil(MIB) * MIB
    }
    .min(limits.max_block);
    if size.div_ceil(block) > limits.max_blocks {
        return Err(TransferError::TooLarge(format!(
            "a package of {size} bytes needs more than {} blocks of at most {} bytes, the limits of this SAS version",
            limits.max_blocks, limits.max_block
        )));
    }
    Ok(block)
}

/// The raw block id: fixed width, from the block's index and content.
fn block_id(index: usize, digest: &[u8]) -> String {
    let hex = crate::encode::hex(&digest[..8]);
    format!("{index:06}-{hex}")
}

/// Block buffers, reused from block to block.
///
/// A fresh block-sized buffer per block, freed on another thread than the one that filled it,
/// is kept by the allocator's per-thread arenas: 4 blocks of 8 MiB in flight measured 74 MiB
/// of RSS for a 256 MiB upload. Reused, they stay at block size × parallelism.
#[derive(Default)]
struct Buffers(std::sync::Mutex<Vec<Vec<u8>>>);

impl Buffers {
    fn take(&self) -> Vec<u8> {
        self.0
            .lock()
            .map(|mut free| free.pop())
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Keeps `data`'s buffer for the next block if nothing else holds it.
    fn give_back(&self, data: Bytes) {
        if let (Ok(data), Ok(mut free)) = (data.try_into_mut(), self.0.lock()) {
            free.push(data.into());
        }
    }
}

/// Whether a block id (base64) is of our scheme: `{index:06}-{16 hex digits}`.
fn is_ours(id: &str) -> bool {
    let Some(raw) = crate::encode::from_base64(id) else {
        return false;
    };
    raw.len() == 23
        && raw[..6].iter().all(u8::is_ascii_digit)
        && raw[6] == b'-'
        && raw[7..].iter().all(|b| b.is_ascii_hexdigit())
}

/// The MD5 of the whole file, computed on a thread of its own from the blocks as they are read
/// (those read out of order wait their turn): the whole-blob `Content-MD5` without a second
/// pass over the file, and without holding back the readers. Blocks are reference-counted:
/// nothing is copied.
struct OrderedMd5 {
    blocks: std::sync::Mutex<Option<std::sync::mpsc::SyncSender<(usize, Bytes)>>>,
    digest: tokio::task::JoinHandle<(usize, String)>,
}

impl OrderedMd5 {
    /// A hasher that takes at most one block ahead of the one it hashes: readers wait rather
    /// than pile blocks up in memory (so at most the blocks in flight and two more are alive;
    /// it never waits for them, so this cannot deadlock). A block it is the last to hold goes
    /// back to `buffers`, so that blocks reuse buffers rather than leave freed ones behind in
    /// other threads' allocator arenas.
    fn start(buffers: std::sync::Arc<Buffers>) -> Self {
        let (blocks, received) = std::sync::mpsc::sync_channel::<(usize, Bytes)>(1);
        let digest = tokio::task::spawn_blocking(move || {
            let mut hash = Md5::new();
            let mut next = 0;
            let mut waiting = std::collections::BTreeMap::new();
            for (index, data) in received {
                waiting.insert(index, data);
                while let Some(data) = waiting.remove(&next) {
                    hash.update(&data);
                    buffers.give_back(data);
                    next += 1;
                }
            }
            (next, crate::encode::base64(&hash.finalize()))
        });
        Self {
            blocks: std::sync::Mutex::new(Some(blocks)),
            digest,
        }
    }

    /// Adds block `index` (on a blocking thread: it may wait for the hasher).
    fn add(&self, index: usize, data: &Bytes) {
        let blocks = self
            .blocks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(blocks) = blocks {
            // The receiver lives until `finish`; if it is gone, `finish` reports no digest.
            let _ = blocks.send((index, data.clone()));
        }
    }

    /// The base64 MD5, when all `count` blocks were added in one piece.
    async fn finish(self, count: usize) -> Option<String> {
        drop(self.blocks.lock().unwrap_or_else(|p| p.into_inner()).take());
        let (hashed, digest) = self.digest.await.ok()?;
        (hashed == count).then_some(digest)
    }
}

/// Reads block `index` into `buffer` and computes its MD5 on the blocking pool, and adds it to
/// the whole file's MD5 there: the hashing of blocks in flight runs on every core, rather than
/// one after another on the task that drives the upload.
async fn read_block(
    path: &Path,
    index: usize,
    offset: u64,
    len: u64,
    mut buffer: Vec<u8>,
    whole: std::sync::Arc<OrderedMd5>,
) -> std::io::Result<(Bytes, [u8; 16])> {
    let path = path.to_owned();
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek};
        let mut file = std::fs::File::open(path)?;
        file.seek(std::io::SeekFrom::Start(offset))?;
        buffer.resize(len as usize, 0);
        file.read_exact(&mut buffer)?;
        let digest: [u8; 16] = Md5::digest(&buffer).into();
        let data = Bytes::from(buffer);
        whole.add(index, &data);
        Ok((data, digest))
    })
    .await
    .map_err(std::io::Error::other)?
}

/// The blob client, the retry policy, the SAS URL and the options of one upload.
struct Target<'a> {
    http: &'a Sender,
    retry: &'a RetryPolicy,
    sas: &'a SasUrl,
    options: &'a TransferOptions,
}

/// Put Blob of `data` (its length sent even when empty, as storage requires).
async fn put_blob(to: &Target<'_>, data: Bytes) -> Result<Option<String>, TransferError> {
    let md5 = crate::encode::md5_base64(&data);
    let (http, sas) = (to.http, to.sas);
    let response = send_body(
        to.http,
        to.retry,
        "putBlob",
        &sas.redacted(),
        to.options,
        &data,
        |body| {
            request(http, Method::PUT, sas, sas.url().clone())
                .header("x-ms-blob-type", "BlockBlob")
                .header("content-md5", &md5)
                .body(body)
        },
    )
    .await?;
    Ok(wire::header(response.headers(), "etag"))
}

async fn put_block(
    to: &Target<'_>,
    id: &str,
    md5: String,
    data: &Bytes,
) -> Result<(), TransferError> {
    let (http, sas) = (to.http, to.sas);
    let url = sas.with_query(&[("comp", "block"), ("blockid", id)]);
    send_body(
        to.http,
        to.retry,
        "putBlock",
        &sas.redacted(),
        to.options,
        data,
        |body| {
            request(http, Method::PUT, sas, url.clone())
                .header("content-md5", &md5)
                .body(body)
        },
    )
    .await?;
    Ok(())
}

async fn put_block_list(
    http: &Sender,
    retry: &RetryPolicy,
    sas: &SasUrl,
    stall: std::time::Duration,
    ids: &[String],
    content_md5: Option<&str>,
) -> Result<Option<String>, TransferError> {
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?><BlockList>");
    for id in ids {
        xml.push_str(&format!("<Latest>{id}</Latest>"));
    }
    xml.push_str("</BlockList>");
    let url = sas.with_query(&[("comp", "blocklist")]);
    let response = send(http, retry, "putBlockList", &sas.redacted(), stall, || {
        let request =
            request(http, Method::PUT, sas, url.clone()).header("content-type", "application/xml");
        let request = match content_md5 {
            Some(md5) => request.header("x-ms-blob-content-md5", md5),
            None => request,
        };
        request.body(xml.clone())
    })
    .await?;
    Ok(wire::header(response.headers(), "etag"))
}

/// The uncommitted blocks the blob already holds: (base64 id, size). None if the blob is new.
async fn uncommitted_blocks(
    http: &Sender,
    retry: &RetryPolicy,
    sas: &SasUrl,
    stall: std::time::Duration,
) -> Result<HashSet<(String, u64)>, TransferError> {
    let url = sas.with_query(&[("comp", "blocklist"), ("blocklisttype", "uncommitted")]);
    let response = send(http, retry, "getBlockList", &sas.redacted(), stall, || {
        request(http, Method::GET, sas, url.clone())
    })
    .await;
    let xml = match response {
        Ok(response) => match wire::read_whole(response, limits::BLOCK_LIST).await {
            Ok(body) => String::from_utf8_lossy(&body).into_owned(),
            Err(wire::BodyError::TooLarge(limit)) => {
                return Err(TransferError::TooLarge(format!(
                    "the block list of {} is larger than {limit} bytes",
                    sas.redacted()
                )));
            }
            Err(wire::BodyError::Network(e)) => {
                let e = crate::error::NetworkError::new(e);
                tracing::info!(url = %sas, error = %e, "the block list could not be read: uploading every block");
                return Ok(HashSet::new());
            }
        },
        Err(TransferError::Refused { status: 404, .. }) => return Ok(HashSet::new()),
        Err(TransferError::Refused { status: 403, .. }) => {
            tracing::info!(url = %sas, "the SAS does not allow reading the block list: uploading every block");
            return Ok(HashSet::new());
        }
        Err(e) => return Err(e),
    };
    match super::xml::block_list(&xml) {
        Ok(blocks) => Ok(blocks),
        Err(why) => {
            tracing::info!(url = %sas, "the block list is not one ({why}): uploading every block");
            Ok(HashSet::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIB: u64 = 1024 * 1024;

    #[test]
    fn block_sizes_respect_the_block_count_and_the_version() {
        let modern = Limits::for_version("2019-12-12");
        assert_eq!(block_size(100 * MIB, 8 * MIB, modern).unwrap(), 8 * MIB);
        assert_eq!(
            block_size(700 * 1024, 64 * 1024, modern).unwrap(),
            64 * 1024,
            "small preferred sizes stay"
        );
        // 1 TiB in 50,000 blocks needs blocks of about 21 MiB.
        let huge = 1024 * 1024 * MIB;
        let block = block_size(huge, 8 * MIB, modern).unwrap();
        assert!(
            huge.div_ceil(block) <= 50_000 && block.is_multiple_of(MIB),
            "{block}"
        );
        let old = Limits::for_version("2015-12-11");
        assert_eq!(block_size(10 * MIB, 8 * MIB, old).unwrap(), 4 * MIB);
        assert!(block_size(250_000 * MIB, 8 * MIB, old).is_err());
    }

    #[test]
    fn block_ids_have_one_width() {
        let a = block_id(0, &[0xab; 16]);
        let b = block_id(49_999, &[0x01; 16]);
        assert_eq!(a.len(), b.len());
        assert_eq!(a, "000000-abababababababab");
    }

    #[test]
    fn our_block_ids_are_told_from_other_tools() {
        assert!(is_ours(&crate::encode::base64(
            block_id(12, &[0x5a; 16]).as_bytes()
        )));
        for foreign in ["QUE=", "YmxvY2stMDAwMDE=", "not base64!"] {
            assert!(!is_ours(foreign), "{foreign}");
        }
        // Our length, another scheme.
        assert!(!is_ours(&crate::encode::base64(b"abcdef-0123456789abcdef")));
    }

    #[tokio::test]
    async fn the_whole_md5_takes_blocks_in_file_order() {
        let blocks: Vec<Bytes> = ["one ", "two ", "three"]
            .iter()
            .map(|s| Bytes::from_static(s.as_bytes()))
            .collect();
        let ordered = OrderedMd5::start(Default::default());
        for i in [2, 0, 1] {
            ordered.add(i, &blocks[i]);
        }
        assert_eq!(
            ordered.finish(3).await,
            Some(crate::encode::md5_base64(b"one two three"))
        );
        let missing = OrderedMd5::start(Default::default());
        missing.add(1, &blocks[1]);
        assert_eq!(missing.finish(2).await, None);
    }
}
