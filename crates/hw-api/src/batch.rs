//! Many flows on one client: each item a [`Client::ship`] with its own journal (so that the
//! exactly-once work holds per item, and a re-run resumes each unfinished one), at most
//! `concurrency` at once, all sharing the client's connections, token and request rate (so that
//! together they stay under the account's quota: `ClientBuilder::rate_limit`).

use futures_util::stream::{self, StreamExt};

use crate::client::Client;
use crate::error::Error;
use crate::ship::{ShipEvent, ShipPlan, ShipReport, StateStore, Transfers};
use crate::transfer::Progress;

/// One flow of a batch: what to ship, and where its journal is kept.
#[non_exhaustive]
pub struct BatchItem {
    /// The flow.
    pub plan: ShipPlan,
    /// Its journal (one per item: two items must not share one).
    pub store: Box<dyn StateStore>,
}

impl BatchItem {
    /// The flow `plan`, with its journal in `store`.
    pub fn new(plan: ShipPlan, store: Box<dyn StateStore>) -> Self {
        Self { plan, store }
    }
}

impl std::fmt::Debug for BatchItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BatchItem")
            .field("plan", &self.plan)
            .field("store", &self.store.describe())
            .finish()
    }
}

/// Hears how each item of a batch goes, by its index in the batch. Every method does nothing
/// unless overridden; they are called from the flows as they run, so keep them short.
pub trait BatchObserver: Send + Sync {
    /// Item `index` started.
    fn started(&self, index: usize) {
        let _ = index;
    }

    /// A step of item `index`'s flow.
    fn event(&self, index: usize, event: &ShipEvent<'_>) {
        let _ = (index, event);
    }

    /// Item `index`'s upload (`upload: true`) or download progress.
    fn progress(&self, index: usize, upload: bool, done: u64, total: u64) {
        let _ = (index, upload, done, total);
    }

    /// Item `index` ended.
    fn finished(&self, index: usize, result: &Result<ShipReport, Error>) {
        let _ = (index, result);
    }
}

/// An observer that hears nothing.
#[derive(Debug, Clone, Copy, Default)]
pub struct Unobserved;

impl BatchObserver for Unobserved {}

/// One item's transfers, told to the observer.
struct ItemProgress<'a> {
    observer: &'a dyn BatchObserver,
    index: usize,
    upload: bool,
}

impl Progress for ItemProgress<'_> {
    fn update(&self, done: u64, total: u64) {
        self.observer.progress(self.index, self.upload, done, total);
    }
}

impl Client {
    /// Ships every item, at most `concurrency` (at least 1) at once, in the order given as
    /// places free up; returns each item's result, in the items' order. One item's failure
    /// does not stop the others.
    pub async fn ship_batch(
        &self,
        items: &[BatchItem],
        concurrency: usize,
        observer: &dyn BatchObserver,
    ) -> Vec<Result<ShipReport, Error>> {
        let flows = items.iter().enumerate().map(|(index, item)| async move {
            observer.started(index);
            let upload = ItemProgress {
                observer,
                index,
                upload: true,
            };
            let download = ItemProgress {
                observer,
                index,
                upload: false,
            };
            let mut events = |event: ShipEvent<'_>| observer.event(index, &event);
            let transfers = Transfers {
                upload: &upload,
                download: &download,
            };
            let result = self
                .ship(&item.plan, item.store.as_ref(), &mut events, transfers)
                .await;
            observer.finished(index, &result);
            (index, result)
        });
        let mut done: Vec<(usize, Result<ShipReport, Error>)> = stream::iter(flows)
            .buffer_unordered(concurrency.max(1))
            .collect()
            .await;
        done.sort_by_key(|(index, _)| *index);
        done.into_iter().map(|(_, result)| result).collect()
    }
}
