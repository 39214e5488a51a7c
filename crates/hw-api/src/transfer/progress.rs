//! How a transfer reports how far it is.

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
