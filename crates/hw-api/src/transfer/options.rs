//! How transfers are cut, run and checked ([`TransferOptions`], [`RangeMd5`]).

use std::time::Duration;

use super::watch;

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

    pub(super) fn watch(&self) -> watch::Watch {
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
