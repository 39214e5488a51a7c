//! The whole flow for one package — product, submission, upload, commit, wait for the signature,
//! download — resumable: after each step its [`ShipState`] is saved to a [`StateStore`] (a
//! journal), so that a re-run after a crash, a kill or an unclear answer continues the same work,
//! for initial and derived submissions alike, and never mistakes older work for its own.
//!
//! - Before a create is sent, the journal holds the [`Snapshot`] of what existed; a re-run that
//!   finds a snapshot but no id settles the interrupted create against it (see
//!   [`create_once`](crate::Client::create_product_once)): exactly one new match is adopted,
//!   none means the create is sent, several are an [`Error::Unreconciled`] that lists them.
//! - A journal of another package (by SHA-256), another account or another submission name is
//!   refused ([`Error::StateMismatch`]); the caller discards it to start over.
//! - When the signed package is downloaded the journal is cleared.
//!
//! [`FileStateStore`] keeps the journal in a JSON file, written atomically (a new file renamed
//! over the old, which replaces it on Windows too); a downstream crate can keep it anywhere by
//! implementing [`StateStore`].

use std::path::{Path, PathBuf};

use futures_util::TryStreamExt;
use hw_api_gen::Id;
use hw_api_gen::types::{
    CommitStatus, DownloadType, NewProduct, NewSubmission, Product, Submission,
};
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::create_once::{Snapshot, unreconciled};
use crate::error::Error;
use crate::transfer::{DownloadReport, Progress, UploadReport};
use crate::wait::WaitOptions;

/// The format of [`ShipState`] this version writes and reads.
pub const STATE_VERSION: u32 = 1;

/// How far a [`Client::ship`] flow got: what its journal holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ShipState {
    /// The format ([`STATE_VERSION`]).
    pub version: u32,
    /// The SHA-256 (hex) of the package this state is for.
    pub package_sha256: String,
    /// The account this state is for, as the caller names it (never a secret).
    pub account: String,
    /// The name of the submission this state is for.
    pub submission_name: String,
    /// The products with the product's name before it was created, when it was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub products_before: Option<Snapshot>,
    /// The product.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub product: Option<Id>,
    /// The product's submissions before the submission was created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submissions_before: Option<Snapshot>,
    /// The submission.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub submission: Option<Id>,
    /// The blob's ETag once the package is uploaded (`""` when storage gave none).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub uploaded_etag: Option<String>,
    /// Whether the commit went through.
    #[serde(default)]
    pub committed: bool,
    /// Whether Microsoft signed the submission.
    #[serde(default)]
    pub signed: bool,
    /// The SHA-256 (hex) of the signed package once it is downloaded (the journal is removed
    /// right after; a store that keeps it shows what was delivered).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downloaded_sha256: Option<String>,
}

impl ShipState {
    fn new(package_sha256: String, account: &str, submission_name: &str) -> Self {
        Self {
            version: STATE_VERSION,
            package_sha256,
            account: account.to_owned(),
            submission_name: submission_name.to_owned(),
            products_before: None,
            product: None,
            submissions_before: None,
            submission: None,
            uploaded_etag: None,
            committed: false,
            signed: false,
            downloaded_sha256: None,
        }
    }

    /// Why this state is not for the work described, if it is not.
    fn mismatch(&self, sha256: &str, account: &str, submission_name: &str) -> Option<String> {
        if self.version != STATE_VERSION {
            return Some(format!(
                "it has format {} and this version reads format {STATE_VERSION}",
                self.version
            ));
        }
        if self.package_sha256 != sha256 {
            return Some(format!(
                "it was written for another package (SHA-256 {}, this one is {sha256})",
                self.package_sha256
            ));
        }
        if self.account != account {
            return Some(format!(
                "it was written for another account ({})",
                self.account
            ));
        }
        if self.submission_name != submission_name {
            return Some(format!(
                "it was written for the submission named {:?}",
                self.submission_name
            ));
        }
        None
    }
}

/// Where a [`Client::ship`] flow keeps its journal. Calls are short and synchronous (a small
/// document).
pub trait StateStore: Send + Sync {
    /// The state saved last, if any.
    fn load(&self) -> Result<Option<ShipState>, Error>;
    /// Saves `state` in place of what was there, atomically: after a crash the old state or the
    /// new one is there, never a mix.
    fn save(&self, state: &ShipState) -> Result<(), Error>;
    /// Removes the state (the flow finished, or is started over).
    fn clear(&self) -> Result<(), Error>;
    /// Where the state is, for messages.
    fn describe(&self) -> String;
}

/// A [`StateStore`] in a JSON file.
#[derive(Debug, Clone)]
pub struct FileStateStore {
    path: PathBuf,
}

impl FileStateStore {
    /// A store in the file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// The default file for `package`: beside it, named `<package>.hwdc.json`.
    pub fn beside(package: &Path) -> Self {
        let mut name = package.as_os_str().to_owned();
        name.push(".hwdc.json");
        Self::new(name)
    }

    /// The file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn local(&self, source: std::io::Error) -> Error {
        Error::Local {
            path: self.path.clone(),
            source,
        }
    }
}

impl StateStore for FileStateStore {
    fn load(&self) -> Result<Option<ShipState>, Error> {
        let text = match std::fs::read(&self.path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(self.local(e)),
        };
        serde_json::from_slice(&text).map(Some).map_err(|e| {
            Error::StateMismatch(format!(
                "{} is not a state file of this tool ({e}); remove it or start over",
                self.path.display()
            ))
        })
    }

    fn save(&self, state: &ShipState) -> Result<(), Error> {
        use std::io::Write;
        let mut temporary = self.path.as_os_str().to_owned();
        temporary.push(".new");
        let temporary = PathBuf::from(temporary);
        let text = serde_json::to_vec_pretty(state).expect("the state serializes");
        let written = std::fs::File::create(&temporary).and_then(|mut file| {
            file.write_all(&text)?;
            file.sync_all()
        });
        written
            .and_then(|()| std::fs::rename(&temporary, &self.path))
            .map_err(|e| self.local(e))
    }

    fn clear(&self) -> Result<(), Error> {
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.local(e)),
        }
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }
}

/// Which product a flow submits to.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum ProductChoice {
    /// This product.
    Id(Id),
    /// The product of this name: the one that exists, or made (once) when none does; several of
    /// that name are an error.
    Named(Box<NewProduct>),
}

/// What a [`Client::ship`] flow does.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ShipPlan {
    /// The package to upload.
    pub package: PathBuf,
    /// The product.
    pub product: ProductChoice,
    /// The submission to make.
    pub submission: NewSubmission,
    /// Where the signed package goes.
    pub out: PathBuf,
    /// How to wait for Microsoft.
    pub wait: WaitOptions,
    /// The account, as the journal names it (a tenant and client id, say; never a secret).
    pub account: String,
}

impl ShipPlan {
    /// A plan with the default wait options.
    pub fn new(
        package: impl Into<PathBuf>,
        product: ProductChoice,
        submission: NewSubmission,
        out: impl Into<PathBuf>,
        account: impl Into<String>,
    ) -> Self {
        Self {
            package: package.into(),
            product,
            submission,
            out: out.into(),
            wait: WaitOptions::default(),
            account: account.into(),
        }
    }

    /// How to wait for Microsoft.
    pub fn with_wait(mut self, wait: WaitOptions) -> Self {
        self.wait = wait;
        self
    }
}

/// What a [`Client::ship`] flow did, step by step, for progress messages.
#[derive(Debug)]
#[non_exhaustive]
pub enum ShipEvent<'a> {
    /// A journal was found: the flow continues from it.
    Resumed(&'a ShipState),
    /// The product, and whether this flow made it.
    Product {
        /// Its id.
        id: Id,
        /// Whether this flow (or an earlier run of it) created it.
        created: bool,
    },
    /// The submission.
    Submission(Id),
    /// The package was uploaded.
    Uploaded(&'a UploadReport),
    /// The commit went through now.
    Committed,
    /// The submission had been committed before.
    AlreadyCommitted,
    /// The submission as read while waiting.
    Waiting(&'a Submission),
    /// The signed package was downloaded.
    Downloaded(&'a DownloadReport),
}

/// What a finished [`Client::ship`] flow made.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ShipReport {
    /// The product.
    pub product: Id,
    /// The submission.
    pub submission: Id,
    /// The download of the signed package.
    pub download: DownloadReport,
    /// The SHA-256 (hex) of the signed package.
    pub signed_sha256: String,
}

/// The progress reporters of a flow's transfers.
pub struct Transfers<'a> {
    /// Reports the upload.
    pub upload: &'a dyn Progress,
    /// Reports the download.
    pub download: &'a dyn Progress,
}

impl Client {
    /// Runs `plan` to its end, keeping its journal in `store` (see the module's documentation).
    pub async fn ship(
        &self,
        plan: &ShipPlan,
        store: &dyn StateStore,
        events: &mut (dyn FnMut(ShipEvent<'_>) + Send),
        transfers: Transfers<'_>,
    ) -> Result<ShipReport, Error> {
        let sha256 = file_sha256(&plan.package).await?;
        let name = plan.submission.name.as_str();
        let mut state = match store.load()? {
            Some(state) => {
                if let Some(why) = state.mismatch(&sha256, &plan.account, name) {
                    return Err(Error::StateMismatch(format!(
                        "the state file {} does not belong to this run: {why}; discard it to start over (hwdc: --restart) or name another (--state)",
                        store.describe()
                    )));
                }
                events(ShipEvent::Resumed(&state));
                state
            }
            None => ShipState::new(sha256, &plan.account, name),
        };
        let product = self.ship_product(plan, &mut state, store, events).await?;
        let submission = self
            .ship_submission(plan, product, &mut state, store)
            .await?;
        events(ShipEvent::Submission(submission));
        let current = self.get_submission(product, submission).await?;
        let pending = current
            .commit_status
            .as_ref()
            .is_none_or(|s| *s == CommitStatus::CommitPending);
        if pending && !state.committed {
            if state.uploaded_etag.is_none() {
                let report = self
                    .upload_package(product, submission, &plan.package, transfers.upload)
                    .await?;
                events(ShipEvent::Uploaded(&report));
                state.uploaded_etag = Some(report.etag.clone().unwrap_or_default());
                store.save(&state)?;
            }
            self.commit_submission(product, submission).await?;
            events(ShipEvent::Committed);
        } else {
            events(ShipEvent::AlreadyCommitted);
        }
        if !state.committed {
            state.committed = true;
            store.save(&state)?;
        }
        if !state.signed {
            self.wait_for_submission(product, submission, &plan.wait, &mut |s| {
                events(ShipEvent::Waiting(s))
            })
            .await?;
            state.signed = true;
            store.save(&state)?;
        }
        let download = self
            .download_package(
                product,
                submission,
                DownloadType::SignedPackage,
                &plan.out,
                transfers.download,
            )
            .await?;
        events(ShipEvent::Downloaded(&download));
        let signed_sha256 = file_sha256(&plan.out).await?;
        state.downloaded_sha256 = Some(signed_sha256.clone());
        store.save(&state)?;
        store.clear()?;
        Ok(ShipReport {
            product,
            submission,
            download,
            signed_sha256,
        })
    }

    /// The flow's product: from the journal, the plan, or found or made by name.
    async fn ship_product(
        &self,
        plan: &ShipPlan,
        state: &mut ShipState,
        store: &dyn StateStore,
        events: &mut (dyn FnMut(ShipEvent<'_>) + Send),
    ) -> Result<Id, Error> {
        if let Some(product) = state.product {
            return Ok(product);
        }
        let (id, created) = match &plan.product {
            ProductChoice::Id(id) => (*id, false),
            ProductChoice::Named(body) => {
                let name = body.product_name.as_str();
                match state.products_before.clone() {
                    // An earlier run was making it: settle that first.
                    Some(before) => {
                        let matches = |p: &Product| p.product_name.as_deref() == Some(name);
                        let made = self
                            .made_since(self.list_products(), matches, |p| p.id, &before)
                            .await?;
                        match made.as_slice() {
                            [] => (self.create_product_after(body, &before).await?.id, true),
                            [one] => (*one, true),
                            many => return Err(several("createProduct", "products", name, many)),
                        }
                    }
                    None => {
                        let before = self.snapshot_products_named(name).await?;
                        let existing: Vec<Id> = before.ids().collect();
                        match existing.as_slice() {
                            [one] => (*one, false),
                            [] => {
                                state.products_before = Some(before.clone());
                                store.save(state)?;
                                (self.create_product_after(body, &before).await?.id, true)
                            }
                            many => {
                                return Err(Error::InvalidRequest {
                                    operation: "createProduct",
                                    message: format!(
                                        "{} products are named {name:?} ({}); give the product's id",
                                        many.len(),
                                        ids(many)
                                    ),
                                });
                            }
                        }
                    }
                }
            }
        };
        events(ShipEvent::Product { id, created });
        state.product = Some(id);
        store.save(state)?;
        Ok(id)
    }

    /// The flow's submission: from the journal, or made once against a saved snapshot.
    async fn ship_submission(
        &self,
        plan: &ShipPlan,
        product: Id,
        state: &mut ShipState,
        store: &dyn StateStore,
    ) -> Result<Id, Error> {
        if let Some(submission) = state.submission {
            return Ok(submission);
        }
        let body = &plan.submission;
        let submission = match state.submissions_before.clone() {
            // An earlier run was making it: settle that first.
            Some(before) => {
                let matches = |s: &Submission| {
                    s.name.as_deref() == Some(body.name.as_str())
                        && s.type_.as_ref() == Some(&body.type_)
                };
                let made = self
                    .made_since(self.list_submissions(product), matches, |s| s.id, &before)
                    .await?;
                match made.as_slice() {
                    [] => {
                        self.create_submission_after(product, body, &before)
                            .await?
                            .id
                    }
                    [one] => *one,
                    many => {
                        let name = body.name.as_str();
                        return Err(several("createSubmission", "submissions", name, many));
                    }
                }
            }
            None => {
                let before = self.snapshot_submissions(product).await?;
                state.submissions_before = Some(before.clone());
                store.save(state)?;
                self.create_submission_after(product, body, &before)
                    .await?
                    .id
            }
        };
        state.submission = Some(submission);
        store.save(state)?;
        Ok(submission)
    }

    /// The ids of the items of `list` that `matches` and are not in `before`, after a pause
    /// for an interrupted run's create that may still be arriving.
    async fn made_since<T: Send + 'static>(
        &self,
        list: crate::Pager<T>,
        matches: impl Fn(&T) -> bool,
        id_of: fn(&T) -> Id,
        before: &Snapshot,
    ) -> Result<Vec<Id>, Error> {
        tokio::time::sleep(self.inner().api.retry().settle_delay()).await;
        let all: Vec<T> = list.try_collect().await?;
        Ok(all
            .iter()
            .filter(|item| matches(item) && !before.contains(id_of(item)))
            .map(id_of)
            .collect())
    }
}

/// Several new entities where one create ran: a person must choose.
fn several(operation: &'static str, what: &str, name: &str, candidates: &[Id]) -> Error {
    let checked = format!(
        "an interrupted run was creating one of the {what} named {name:?}, and {} new ones exist",
        candidates.len()
    );
    let source = Error::InvalidRequest {
        operation,
        message: "not sent again".into(),
    };
    unreconciled(operation, checked, candidates.to_vec(), source)
}

fn ids(ids: &[Id]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The SHA-256 (hex) of the file at `path`, read on the blocking pool.
async fn file_sha256(path: &Path) -> Result<String, Error> {
    let owned = path.to_owned();
    let local = |source| Error::Local {
        path: path.to_owned(),
        source,
    };
    tokio::task::spawn_blocking(move || {
        use sha2::Digest;
        use std::io::Read;
        let mut file = std::fs::File::open(&owned)?;
        let mut hash = sha2::Sha256::new();
        let mut buffer = vec![0; 1024 * 1024];
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            hash.update(&buffer[..n]);
        }
        Ok(hash.finalize().iter().map(|b| format!("{b:02x}")).collect())
    })
    .await
    .map_err(|e| local(std::io::Error::other(e)))?
    .map_err(local)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("hw-api-ship-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("driver.cab.hwdc.json")
    }

    #[test]
    fn the_file_store_saves_atomically_loads_and_clears() {
        let store = FileStateStore::new(scratch("store"));
        assert_eq!(store.load().unwrap(), None);
        let mut state = ShipState::new("ab".into(), "tenant/app", "1.0");
        state.product = Some(Id(7));
        store.save(&state).unwrap();
        state.submission = Some(Id(8));
        store.save(&state).unwrap();
        assert_eq!(store.load().unwrap(), Some(state));
        let mut temporary = store.path().as_os_str().to_owned();
        temporary.push(".new");
        assert!(
            !Path::new(&temporary).exists(),
            "the temporary file is renamed"
        );
        store.clear().unwrap();
        assert_eq!(store.load().unwrap(), None);
        store.clear().unwrap();
    }

    #[test]
    fn a_state_of_other_work_is_told_apart() {
        let state = ShipState::new("ab".into(), "tenant/app", "1.0");
        assert_eq!(state.mismatch("ab", "tenant/app", "1.0"), None);
        assert!(
            state
                .mismatch("cd", "tenant/app", "1.0")
                .unwrap()
                .contains("another package")
        );
        assert!(
            state
                .mismatch("ab", "other/app", "1.0")
                .unwrap()
                .contains("another account")
        );
        assert!(
            state
                .mismatch("ab", "tenant/app", "2.0")
                .unwrap()
                .contains("\"1.0\"")
        );
    }

    #[test]
    fn a_file_that_is_not_a_state_is_refused() {
        let path = scratch("garbage");
        std::fs::write(&path, b"{not json").unwrap();
        let err = FileStateStore::new(&path).load().unwrap_err();
        assert!(matches!(err, Error::StateMismatch(_)), "{err:?}");
    }
}
