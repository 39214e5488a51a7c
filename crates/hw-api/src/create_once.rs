//! Creates that do not duplicate: when a create's outcome is unclear, what it would have made is
//! looked for before anything is sent again.

use futures_util::TryStreamExt;
use hw_api_gen::Id;
use hw_api_gen::types::{ErrorCode, NewProduct, NewSubmission, Product, Submission};

use crate::client::Client;
use crate::error::Error;

/// How many times a create whose outcome stays unclear is sent.
const CREATE_ROUNDS: u32 = 3;

impl Client {
    /// Creates a submission once. The name acts as the key: when the create's outcome is unclear
    /// — or the service answers that an initial submission already exists — the product's
    /// submissions are searched (after a pause, for a create still in flight) for one of this
    /// name and type; if found it is returned, if certainly absent the create is sent again, up
    /// to three rounds in all, after which the last error is returned.
    pub async fn create_submission_once(
        &self,
        product: Id,
        body: &NewSubmission,
    ) -> Result<Submission, Error> {
        let name = body.name.as_str();
        let what = format!(
            "submissions of product {product} named {name:?} of type {}",
            body.type_
        );
        let mut round = 0;
        loop {
            round += 1;
            let error = match self.create_submission(product, body).await {
                Ok(created) => return Ok(created),
                Err(e) => e,
            };
            let exists = error.code() == Some(&ErrorCode::RequestInvalidForCurrentState);
            let last = round == CREATE_ROUNDS;
            let found = self
                .reconcile(
                    error,
                    exists,
                    last,
                    "createSubmission",
                    &what,
                    self.list_submissions(product),
                    |s: &Submission| {
                        s.name.as_deref() == Some(name) && s.type_.as_ref() == Some(&body.type_)
                    },
                )
                .await?;
            if let Some(one) = found {
                return self.get_submission(product, one.id).await;
            }
        }
    }

    /// Creates a product once, with its name as the key (see
    /// [`create_submission_once`](Self::create_submission_once)).
    pub async fn create_product_once(&self, body: &NewProduct) -> Result<Product, Error> {
        let name = body.product_name.as_str();
        let what = format!("products named {name:?}");
        let mut round = 0;
        loop {
            round += 1;
            let error = match self.create_product(body).await {
                Ok(created) => return Ok(created),
                Err(e) => e,
            };
            let last = round == CREATE_ROUNDS;
            let found = self
                .reconcile(
                    error,
                    false,
                    last,
                    "createProduct",
                    &what,
                    self.list_products(),
                    |p: &Product| p.product_name.as_deref() == Some(name),
                )
                .await?;
            if let Some(one) = found {
                return Ok(one);
            }
        }
    }

    /// Settles a failed create by looking for what it would have made: `Ok(Some)` when exactly
    /// one match exists, `Ok(None)` when none does and the create may be sent again (unless this
    /// was the `last` round), an error otherwise. `exists` says the service refused because it
    /// already has one.
    #[allow(clippy::too_many_arguments)]
    async fn reconcile<T, F>(
        &self,
        error: Error,
        exists: bool,
        last: bool,
        operation: &'static str,
        what: &str,
        candidates: crate::Pager<T>,
        matches: F,
    ) -> Result<Option<T>, Error>
    where
        T: Send + 'static,
        F: Fn(&T) -> bool,
    {
        let unclear = matches!(error, Error::Ambiguous { .. });
        if !unclear && !exists {
            return Err(error);
        }
        if unclear {
            // The create may still be in flight at the service: give it a moment.
            tokio::time::sleep(self.inner().api.retry().settle_delay()).await;
        }
        let found: Vec<T> = match candidates.try_collect::<Vec<T>>().await {
            Ok(all) => all.into_iter().filter(|c| matches(c)).collect(),
            Err(check) => {
                return Err(unreconciled(
                    operation,
                    format!("listing the {what} failed: {check}"),
                    error,
                ));
            }
        };
        let count = found.len();
        match (count, unclear) {
            (1, _) => {
                tracing::info!(operation, "found what the create made");
                Ok(found.into_iter().next())
            }
            (0, true) if last => Err(unreconciled(
                operation,
                format!("no {what} after {CREATE_ROUNDS} unclear creates"),
                error,
            )),
            (0, true) => {
                tracing::info!(operation, "nothing was made: sending the create again");
                Ok(None)
            }
            (0, false) => Err(unreconciled(
                operation,
                format!("the service says it exists, but there are no {what}"),
                error,
            )),
            _ => Err(unreconciled(
                operation,
                format!("{count} {what} exist; cannot tell which is meant"),
                error,
            )),
        }
    }
}

/// An unclear outcome that checking did not settle.
pub(crate) fn unreconciled(operation: &'static str, checked: String, source: Error) -> Error {
    Error::Unreconciled {
        operation,
        checked,
        source: Box::new(source),
    }
}
