//! Creates that do not duplicate and never mistake an older entity for a new one.
//!
//! Before a create is sent, a [`Snapshot`] records the ids of what could be mistaken for what it
//! makes (the products with its name, the product's submissions, the submission's shipping
//! labels). When the create's outcome is unclear (a timeout, a 5xx, a dropped connection), what
//! is there now is compared with the snapshot after a pause: exactly one new match is what the
//! create made; none means it was not processed, and it is sent again (three rounds at most);
//! more than one, or anything else it cannot prove, is an [`Error::Unreconciled`] that lists the
//! candidates. It never guesses.
//!
//! Taking a snapshot reads a list to its end: for products, every product of the account (about
//! one request per 50 products on the service's page size), for submissions and labels the
//! lists of one product or submission. A caller that keeps state across runs (`hwdc submit`'s
//! journal, `ship.rs`) takes the snapshot once, stores it, and passes it to the
//! `*_after` methods on a re-run.

use std::collections::BTreeSet;

use futures_util::TryStreamExt;
use hw_api_gen::Id;
use hw_api_gen::types::{
    ErrorCode, NewProduct, NewShippingLabel, NewSubmission, Product, ShippingLabel, Submission,
};
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::error::Error;
use crate::pager::Pager;

/// How many times a create whose outcome stays unclear is sent.
const CREATE_ROUNDS: u32 = 3;

/// The ids of what existed before a create: what the create cannot have made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    ids: BTreeSet<Id>,
}

impl Snapshot {
    /// A snapshot of these ids.
    pub fn of(ids: impl IntoIterator<Item = Id>) -> Self {
        Self {
            ids: ids.into_iter().collect(),
        }
    }

    /// Whether `id` existed before.
    pub fn contains(&self, id: Id) -> bool {
        self.ids.contains(&id)
    }

    /// The ids, in order.
    pub fn ids(&self) -> impl Iterator<Item = Id> + '_ {
        self.ids.iter().copied()
    }
}

/// What one create is: how to send it and how to recognise what it made.
struct Create<'a, T> {
    operation: &'static str,
    /// What is looked for, for messages (`products named "x"`).
    what: String,
    before: &'a Snapshot,
    /// Whether the service's "request invalid for current state" may mean it already exists.
    exists_possible: bool,
    id_of: fn(&T) -> Id,
}

impl Client {
    /// The ids of the products named `name`: what a create of that name cannot have made.
    pub async fn snapshot_products_named(&self, name: &str) -> Result<Snapshot, Error> {
        snapshot(
            self.list_products(),
            |p: &Product| p.product_name.as_deref() == Some(name),
            |p| p.id,
        )
        .await
    }

    /// The ids of every submission of `product`.
    pub async fn snapshot_submissions(&self, product: Id) -> Result<Snapshot, Error> {
        snapshot(
            self.list_submissions(product),
            |_| true,
            |s: &Submission| s.id,
        )
        .await
    }

    /// The ids of every shipping label of a submission.
    pub async fn snapshot_shipping_labels(
        &self,
        product: Id,
        submission: Id,
    ) -> Result<Snapshot, Error> {
        let labels = self.list_shipping_labels(product, submission, false);
        snapshot(labels, |_| true, |l: &ShippingLabel| l.id).await
    }

    /// Creates a product once (see the module's documentation): takes the snapshot of the
    /// products with its name, then [`create_product_after`](Self::create_product_after).
    pub async fn create_product_once(&self, body: &NewProduct) -> Result<Product, Error> {
        let before = self.snapshot_products_named(&body.product_name).await?;
        self.create_product_after(body, &before).await
    }

    /// Creates a product once, `before` being the products with its name before the first try.
    pub async fn create_product_after(
        &self,
        body: &NewProduct,
        before: &Snapshot,
    ) -> Result<Product, Error> {
        let name = body.product_name.as_str();
        let create = Create {
            operation: "createProduct",
            what: format!("products named {name:?}"),
            before,
            exists_possible: false,
            id_of: |p: &Product| p.id,
        };
        self.create_once(
            &create,
            || self.create_product(body),
            || self.list_products(),
            |p| p.product_name.as_deref() == Some(name),
        )
        .await
    }

    /// Creates a submission once (see the module's documentation): takes the snapshot of the
    /// product's submissions, then [`create_submission_after`](Self::create_submission_after).
    pub async fn create_submission_once(
        &self,
        product: Id,
        body: &NewSubmission,
    ) -> Result<Submission, Error> {
        let before = self.snapshot_submissions(product).await?;
        self.create_submission_after(product, body, &before).await
    }

    /// Creates a submission once, `before` being the product's submissions before the first
    /// try. When the service answers that an initial submission already exists, that is what
    /// the create made only if it is new; one that was there before is the service's refusal.
    pub async fn create_submission_after(
        &self,
        product: Id,
        body: &NewSubmission,
        before: &Snapshot,
    ) -> Result<Submission, Error> {
        let name = body.name.as_str();
        let create = Create {
            operation: "createSubmission",
            what: format!(
                "submissions of product {product} named {name:?} of type {}",
                body.type_
            ),
            before,
            exists_possible: true,
            id_of: |s: &Submission| s.id,
        };
        let made = self
            .create_once(
                &create,
                || self.create_submission(product, body),
                || self.list_submissions(product),
                |s| s.name.as_deref() == Some(name) && s.type_.as_ref() == Some(&body.type_),
            )
            .await?;
        // List items lack the workflow status and downloads.
        self.get_submission(product, made.id).await
    }

    /// Creates a shipping label once, after checking the documented rules (see
    /// [`create_shipping_label`](Self::create_shipping_label)): takes the snapshot of the
    /// submission's labels, then [`create_shipping_label_after`](Self::create_shipping_label_after).
    pub async fn create_shipping_label_once(
        &self,
        product: Id,
        submission: Id,
        body: &NewShippingLabel,
    ) -> Result<ShippingLabel, Error> {
        let before = self.snapshot_shipping_labels(product, submission).await?;
        self.create_shipping_label_after(product, submission, body, &before)
            .await
    }

    /// Creates a shipping label once, `before` being the submission's labels before the first
    /// try.
    pub async fn create_shipping_label_after(
        &self,
        product: Id,
        submission: Id,
        body: &NewShippingLabel,
        before: &Snapshot,
    ) -> Result<ShippingLabel, Error> {
        self.create_label_once(product, submission, body, false, before)
            .await
    }

    /// Creates a shipping label once, checked with `extension_inf` saying whether the targeted
    /// INFs are extension INFs.
    pub(crate) async fn create_label_once(
        &self,
        product: Id,
        submission: Id,
        body: &NewShippingLabel,
        extension_inf: bool,
        before: &Snapshot,
    ) -> Result<ShippingLabel, Error> {
        let name = body.name.as_str();
        let create = Create {
            operation: "createShippingLabel",
            what: format!("shipping labels of submission {submission} named {name:?}"),
            before,
            exists_possible: false,
            id_of: |l: &ShippingLabel| l.id,
        };
        let made = self
            .create_once(
                &create,
                || self.create_checked_label(product, submission, body, extension_inf),
                || self.list_shipping_labels(product, submission, false),
                |l| l.name.as_deref() == Some(name),
            )
            .await?;
        self.get_shipping_label(product, submission, made.id, false)
            .await
    }

    /// Sends `send` until it succeeds, and settles each unclear outcome against the snapshot:
    /// what `list` shows now, that `matches` and is not in `create.before`, is what it made.
    async fn create_once<T, S, SF, L>(
        &self,
        create: &Create<'_, T>,
        send: S,
        list: L,
        matches: impl Fn(&T) -> bool,
    ) -> Result<T, Error>
    where
        T: Send + 'static,
        S: Fn() -> SF,
        SF: Future<Output = Result<T, Error>>,
        L: Fn() -> Pager<T>,
    {
        let operation = create.operation;
        let mut round = 0;
        loop {
            round += 1;
            let error = match send().await {
                Ok(created) => return Ok(created),
                Err(e) => e,
            };
            let unclear = matches!(error, Error::Ambiguous { .. });
            let exists = create.exists_possible
                && error.code() == Some(&ErrorCode::RequestInvalidForCurrentState);
            if !unclear && !exists {
                return Err(error);
            }
            if unclear {
                // The create may still be in flight at the service: give it a moment.
                tokio::time::sleep(self.inner().api.retry().settle_delay()).await;
            }
            let found: Vec<T> = match list().try_collect::<Vec<T>>().await {
                Ok(all) => all
                    .into_iter()
                    .filter(|c| matches(c) && !create.before.contains((create.id_of)(c)))
                    .collect(),
                Err(check) => {
                    let checked = format!("listing the {} failed: {check}", create.what);
                    return Err(unreconciled(operation, checked, Vec::new(), error));
                }
            };
            let ids: Vec<Id> = found.iter().map(create.id_of).collect();
            match (found.len(), unclear) {
                (1, _) => {
                    tracing::info!(operation, id = %ids[0], "found what the create made");
                    return Ok(found.into_iter().next().expect("one was found"));
                }
                (0, true) if round < CREATE_ROUNDS => {
                    tracing::info!(
                        operation,
                        round,
                        "nothing new was made: sending the create again"
                    );
                }
                (0, true) => {
                    let checked = format!(
                        "no new {} after {CREATE_ROUNDS} unclear creates; check in Partner Center that none was made, then run again",
                        create.what
                    );
                    return Err(unreconciled(operation, checked, ids, error));
                }
                // The one that exists was there before: the service's refusal stands.
                (0, false) => return Err(error),
                (n, _) => {
                    let checked = format!(
                        "{n} new {} appeared; cannot tell which one this create made",
                        create.what
                    );
                    return Err(unreconciled(operation, checked, ids, error));
                }
            }
        }
    }
}

/// The ids of the items of `list` that `keep`.
async fn snapshot<T: Send + 'static>(
    list: Pager<T>,
    keep: impl Fn(&T) -> bool,
    id_of: fn(&T) -> Id,
) -> Result<Snapshot, Error> {
    list.try_fold(Snapshot::default(), |mut snapshot, item| {
        if keep(&item) {
            snapshot.ids.insert(id_of(&item));
        }
        futures_util::future::ready(Ok(snapshot))
    })
    .await
}

/// An unclear outcome that checking did not settle, with the ids that could be what it made.
pub(crate) fn unreconciled(
    operation: &'static str,
    checked: String,
    candidates: Vec<Id>,
    source: Error,
) -> Error {
    Error::Unreconciled {
        operation,
        checked,
        candidates,
        source: Box::new(source),
    }
}
