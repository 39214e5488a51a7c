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
//!   refused ([`Error::StateMismatch`], with the store's [`remedy`](StateStore::remedy): what the
//!   caller's users do about it, in its own words).
//! - A create the service refuses because the product has an initial submission already is
//!   settled against the same snapshot: a new one is adopted, and those that were there before
//!   are the candidates of an [`Error::Unreconciled`] (the one of an earlier run whose journal
//!   is gone, or another's): never a guess, and never a refusal that every re-run repeats.
//! - A flow can stop after a [`ShipStage`] ([`ShipPlan::with_stop_after`]), its journal kept;
//!   once the package is uploaded, the journal alone continues it ([`ShipPlan::continuing`]):
//!   a later CI job needs neither the package nor the flags.
//! - When the signed package is downloaded the store is told ([`StateStore::finish`]):
//!   [`FileStateStore`] keeps the journal, marked finished, so that a run of the same work
//!   after that moment (a kill before the process ended, a retried job that had finished)
//!   reports the same delivery instead of making a second submission; other work replaces it.
//!
//! [`FileStateStore`] keeps the journal in a JSON file, written atomically (a new file renamed
//! over the old, which replaces it on Windows too); a downstream crate can keep it anywhere by
//! implementing [`StateStore`].

use std::path::{Path, PathBuf};

use futures_util::TryStreamExt;
use hw_api_gen::Id;
use hw_api_gen::types::{
    CommitStatus, DownloadType, ErrorCode, NewProduct, NewSubmission, Product, Submission,
    SubmissionType,
};
use serde::{Deserialize, Serialize};

use crate::client::Client;
use crate::create_once::{Snapshot, unreconciled};
use crate::error::Error;
use crate::poll::WaitOptions;
use crate::transfer::{DownloadReport, Progress, UploadReport};

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
    /// The product this state is for, as the plan names it (`id 14631253285588838`,
    /// `named "Contoso Touch"`).
    #[serde(default)]
    pub product_choice: String,
    /// The type of the submission (`initial`, `derived`).
    #[serde(default)]
    pub submission_type: String,
    /// When the last create was sent (seconds since 1970), so that a re-run lets it settle.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub create_sent_at: Option<u64>,
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
    /// The SHA-256 (hex) of the signed package once it is downloaded: a re-run that finds the
    /// file with this checksum does not download it again.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub downloaded_sha256: Option<String>,
}

impl ShipState {
    fn new(package_sha256: String, plan: &ShipPlan) -> Self {
        Self {
            version: STATE_VERSION,
            package_sha256,
            account: plan.account.clone(),
            submission_name: plan.submission.name.to_string(),
            product_choice: plan.product.describe(),
            submission_type: plan.submission.type_.to_string(),
            create_sent_at: None,
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

    /// Whether the flow it records delivered the signed package.
    pub fn is_finished(&self) -> bool {
        self.downloaded_sha256.is_some()
    }

    /// Why this state is not for the work `plan` describes, if it is not.
    fn mismatch(&self, sha256: &str, plan: &ShipPlan) -> Option<String> {
        let checks = [
            (
                "package (SHA-256)",
                self.package_sha256.clone(),
                sha256.to_owned(),
            ),
            ("account", self.account.clone(), plan.account.clone()),
            (
                "submission name",
                self.submission_name.clone(),
                plan.submission.name.to_string(),
            ),
            (
                "product",
                self.product_choice.clone(),
                plan.product.describe(),
            ),
            (
                "submission type",
                self.submission_type.clone(),
                plan.submission.type_.to_string(),
            ),
        ];
        checks
            .into_iter()
            // A plan made from this journal has its product in the journal's words already.
            .filter(|(what, _, _)| !(plan.from_journal && *what == "product"))
            .find(|(_, saved, now)| !saved.eq_ignore_ascii_case(now))
            .map(|(what, saved, now)| {
                format!("it was written for another {what} ({saved}; this run: {now})")
            })
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
    /// Removes the state (the flow is started over).
    fn clear(&self) -> Result<(), Error>;
    /// The flow delivered the signed package; `state`, saved already, says so. By default the
    /// state is removed ([`clear`](Self::clear)). A store that keeps it (as [`FileStateStore`]
    /// does) makes a run of the same work after this point (a kill between the last save and
    /// the process's end, a pipeline's retry of a job that had in fact finished) report the
    /// same delivery instead of starting the work again.
    fn finish(&self, state: &ShipState) -> Result<(), Error> {
        let _ = state;
        self.clear()
    }
    /// Where the state is, for messages.
    fn describe(&self) -> String;
    /// What a person does about a state that does not belong to the run (discard it to start
    /// over, or keep it and use another), in the caller's words: a flag, a setting, a file.
    fn remedy(&self) -> String {
        "discard it to start over, or keep it and use another state store".to_owned()
    }
}

/// A [`StateStore`] in a JSON file.
#[derive(Debug, Clone)]
pub struct FileStateStore {
    path: PathBuf,
    remedy: Option<String>,
}

impl FileStateStore {
    /// A store in the file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            remedy: None,
        }
    }

    /// A store beside `file`, in a file named like it with `suffix` added (`driver.cab` and
    /// `.state.json` give `driver.cab.state.json`).
    pub fn beside(file: &Path, suffix: &str) -> Self {
        let mut name = file.as_os_str().to_owned();
        name.push(suffix);
        Self::new(name)
    }

    /// What the flow's messages tell a person to do with a file that does not belong to the
    /// run ([`StateStore::remedy`]), in the caller's words; by default, to remove it or to
    /// use another file.
    pub fn with_remedy(mut self, remedy: impl Into<String>) -> Self {
        self.remedy = Some(remedy.into());
        self
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

/// Held while a flow uses a [`FileStateStore`]: an exclusive lock on `<file>.lock`, released
/// when dropped or when the process ends (killed or not).
#[derive(Debug)]
pub struct StateLock {
    file: std::fs::File,
    path: PathBuf,
}

impl StateLock {
    /// Releases the lock and removes its file: once the flow has finished, nothing of it is
    /// left beside the package.
    pub fn remove(self) {
        let _ = std::fs::remove_file(&self.path);
        drop(self.file);
    }
}

impl FileStateStore {
    /// Takes the store's lock, so that two runs never work from one journal at once; fails at
    /// once when another run holds it.
    pub fn lock(&self) -> Result<StateLock, Error> {
        let mut path = self.path.as_os_str().to_owned();
        path.push(".lock");
        let path = PathBuf::from(path);
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(|source| Error::Local {
                path: path.clone(),
                source,
            })?;
        match file.try_lock() {
            Ok(()) => Ok(StateLock { file, path }),
            Err(std::fs::TryLockError::WouldBlock) => Err(Error::StateLocked(format!(
                "another run is working from {} (it holds {}); wait for it to end, then run again",
                self.path.display(),
                path.display()
            ))),
            Err(std::fs::TryLockError::Error(source)) => Err(Error::Local { path, source }),
        }
    }

    /// The temporary file a save writes before renaming it over the journal.
    fn temporary(&self, process: u32) -> PathBuf {
        let mut temporary = self.path.as_os_str().to_owned();
        temporary.push(format!(".new-{process}"));
        PathBuf::from(temporary)
    }

    /// Removes the temporary files of saves that a killed run left (`<journal>.new-<pid>`): the
    /// journal's lock is held, so no other run is writing one.
    fn remove_stale_temporaries(&self) {
        let (Some(folder), Some(name)) = (self.path.parent(), self.path.file_name()) else {
            return;
        };
        let folder = if folder.as_os_str().is_empty() {
            Path::new(".")
        } else {
            folder
        };
        let mut prefix = name.to_owned();
        prefix.push(".new-");
        let prefix = prefix.to_string_lossy().into_owned();
        let Ok(entries) = std::fs::read_dir(folder) else {
            return;
        };
        for entry in entries.flatten() {
            let file_name = entry.file_name();
            let stale = file_name
                .to_str()
                .and_then(|n| n.strip_prefix(&prefix))
                .is_some_and(|pid| !pid.is_empty() && pid.bytes().all(|b| b.is_ascii_digit()));
            if stale {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }

    /// Whether the file holds a journal (so that clearing it loses nothing else).
    fn holds_a_journal(&self) -> bool {
        std::fs::read(&self.path)
            .ok()
            .and_then(|text| serde_json::from_slice::<ShipState>(&text).ok())
            .is_some()
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
                "{} is not a state file of this flow ({e}); {}",
                self.path.display(),
                self.remedy()
            ))
        })
    }

    fn save(&self, state: &ShipState) -> Result<(), Error> {
        use std::io::Write;
        let temporary = self.temporary(std::process::id());
        let text = serde_json::to_vec_pretty(state).expect("the state serializes");
        let written = std::fs::File::create(&temporary).and_then(|mut file| {
            file.write_all(&text)?;
            file.sync_all()
        });
        written
            .and_then(|()| rename_replacing(&temporary, &self.path))
            .map_err(|e| {
                let _ = std::fs::remove_file(&temporary);
                self.local(e)
            })
    }

    fn clear(&self) -> Result<(), Error> {
        if self.path.exists() && !self.holds_a_journal() {
            return Err(Error::StateMismatch(format!(
                "{} is not a state file of this flow: it is left as it is",
                self.path.display()
            )));
        }
        self.remove_stale_temporaries();
        match std::fs::remove_file(&self.path) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
            Err(e) => Err(self.local(e)),
        }
    }

    /// Keeps the finished journal (it holds the signed package's SHA-256): a run of the same
    /// work reports the delivery again, downloading it again only when the file is gone or
    /// changed; a run of other work replaces it. Removes what killed runs left of their saves.
    fn finish(&self, _state: &ShipState) -> Result<(), Error> {
        self.remove_stale_temporaries();
        Ok(())
    }

    fn describe(&self) -> String {
        self.path.display().to_string()
    }

    fn remedy(&self) -> String {
        self.remedy
            .clone()
            .unwrap_or_else(|| "remove it to start over, or use another file".to_owned())
    }
}

/// Renames `from` over `to`, replacing it (on Windows too), trying again for a moment while
/// another process (a virus scanner, a reader) has `to` open.
fn rename_replacing(from: &Path, to: &Path) -> std::io::Result<()> {
    let mut tries = 0;
    loop {
        match std::fs::rename(from, to) {
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied && tries < 5 => {
                tries += 1;
                std::thread::sleep(std::time::Duration::from_millis(20 << tries));
            }
            other => return other,
        }
    }
}

/// How long a create sent by a run that was then killed may still be settling at the service;
/// a re-run that finds such a create waits until then before it looks for what it made.
const SETTLE_AFTER_KILL: std::time::Duration = std::time::Duration::from_secs(5);

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

impl ProductChoice {
    /// The choice in words, as the journal records it.
    fn describe(&self) -> String {
        match self {
            ProductChoice::Id(id) => format!("id {id}"),
            ProductChoice::Named(body) => format!("named {:?}", body.product_name.as_str()),
        }
    }
}

/// How far a [`Client::ship`] flow goes, in the order it gets there. A flow stopped early keeps
/// its journal; a later run with the same journal (on another machine, in a later CI job) goes
/// on from there.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ShipStage {
    /// The package is uploaded; the submission is not committed.
    Uploaded,
    /// The submission is committed: Microsoft is processing it.
    Committed,
    /// Microsoft signed it; the signed package is not downloaded.
    Signed,
    /// The signed package is downloaded (the whole flow).
    Delivered,
}

impl ShipStage {
    /// The stage as a word (`uploaded`, `committed`, `signed`, `delivered`).
    pub fn as_str(self) -> &'static str {
        match self {
            ShipStage::Uploaded => "uploaded",
            ShipStage::Committed => "committed",
            ShipStage::Signed => "signed",
            ShipStage::Delivered => "delivered",
        }
    }
}

impl std::fmt::Display for ShipStage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
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
    /// A submission made earlier to continue with (a person chose it after an unclear create),
    /// instead of making one.
    pub existing_submission: Option<Id>,
    /// Where the flow stops ([`ShipStage::Delivered`] unless set).
    pub stop_after: ShipStage,
    /// Made from a journal alone ([`ShipPlan::continuing`]): its product, name and type are
    /// the journal's own.
    from_journal: bool,
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
            existing_submission: None,
            stop_after: ShipStage::Delivered,
            from_journal: false,
        }
    }

    /// The plan that continues the flow `state` records, with nothing but that journal (a later
    /// CI job that carries only the journal file): the same product, submission and package,
    /// signed to `out`, for `account`, which must be the journal's. `None` until the journal
    /// shows the package uploaded: before that, the package itself is needed.
    pub fn continuing(
        state: &ShipState,
        out: impl Into<PathBuf>,
        account: impl Into<String>,
    ) -> Option<Self> {
        let (Some(product), Some(submission)) = (state.product, state.submission) else {
            return None;
        };
        if state.uploaded_etag.is_none() && !state.committed {
            return None;
        }
        let body = NewSubmission {
            name: state.submission_name.as_str().try_into().ok()?,
            type_: state.submission_type.as_str().into(),
        };
        let mut plan = Self::new(
            PathBuf::new(),
            ProductChoice::Id(product),
            body,
            out,
            account,
        )
        .with_existing_submission(submission);
        plan.from_journal = true;
        Some(plan)
    }

    /// Stops the flow once it reaches `stage`, its journal kept for a later run.
    pub fn with_stop_after(mut self, stage: ShipStage) -> Self {
        self.stop_after = stage;
        self
    }

    /// Continues with this submission instead of making one.
    pub fn with_existing_submission(mut self, submission: Id) -> Self {
        self.existing_submission = Some(submission);
        self
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

/// What a [`Client::ship`] flow made, and how far it went.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ShipReport {
    /// The product.
    pub product: Id,
    /// The submission.
    pub submission: Id,
    /// How far the flow went: the plan's [`stop_after`](ShipPlan::stop_after), or further when
    /// an earlier run had gone further.
    pub reached: ShipStage,
    /// The download of the signed package, once [`ShipStage::Delivered`].
    pub download: Option<DownloadReport>,
    /// The SHA-256 (hex) of the signed package, once [`ShipStage::Delivered`].
    pub signed_sha256: Option<String>,
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
        let loaded = store.load()?;
        let sha256 = match (&loaded, plan.from_journal) {
            (Some(state), true) => state.package_sha256.clone(),
            (None, true) => {
                return Err(Error::StateMismatch(format!(
                    "the journal {} that this run continues is not there (finished, or never carried over)",
                    store.describe()
                )));
            }
            (saved, false) => package_sha256(&plan.package, saved.as_ref()).await?,
        };
        let mut state = match loaded {
            Some(state) if state.version > STATE_VERSION => {
                return Err(Error::StateMismatch(format!(
                    "the state file {} was written by a newer version (format {}): continue with that version",
                    store.describe(),
                    state.version
                )));
            }
            // A finished flow's journal, of other work: nothing of it is left to do.
            Some(state) if state.is_finished() && state.mismatch(&sha256, plan).is_some() => {
                tracing::info!(
                    journal = %store.describe(),
                    submission = ?state.submission,
                    "the journal of a finished flow is replaced"
                );
                ShipState::new(sha256, plan)
            }
            Some(state) => {
                if let Some(why) = state.mismatch(&sha256, plan) {
                    return Err(Error::StateMismatch(format!(
                        "the state file {} does not belong to this run: {why}; {}",
                        store.describe(),
                        store.remedy()
                    )));
                }
                events(ShipEvent::Resumed(&state));
                state
            }
            None => ShipState::new(sha256, plan),
        };
        if let (Some(chosen), None) = (plan.existing_submission, state.submission) {
            state.submission = Some(chosen);
        }
        let product = self.ship_product(plan, &mut state, store, events).await?;
        let submission = self
            .ship_submission(plan, product, &mut state, store)
            .await?;
        events(ShipEvent::Submission(submission));
        let paused = |reached: ShipStage| ShipReport {
            product,
            submission,
            reached,
            download: None,
            signed_sha256: None,
        };
        if !state.committed {
            let current = self.get_submission(product, submission).await?;
            let pending = current
                .commit_status
                .as_ref()
                .is_none_or(|s| *s == CommitStatus::CommitPending);
            if pending {
                if state.uploaded_etag.is_none() {
                    let report = self
                        .upload_package(product, submission, &plan.package, transfers.upload)
                        .await?;
                    events(ShipEvent::Uploaded(&report));
                    state.uploaded_etag = Some(report.etag.clone().unwrap_or_default());
                    store.save(&state)?;
                }
                if plan.stop_after == ShipStage::Uploaded {
                    return Ok(paused(ShipStage::Uploaded));
                }
                self.commit_submission(product, submission).await?;
                events(ShipEvent::Committed);
            } else {
                events(ShipEvent::AlreadyCommitted);
            }
            state.committed = true;
            store.save(&state)?;
        } else {
            events(ShipEvent::AlreadyCommitted);
        }
        if plan.stop_after <= ShipStage::Committed && !state.signed {
            return Ok(paused(ShipStage::Committed));
        }
        if !state.signed {
            self.wait_for_submission(product, submission, &plan.wait, &mut |s| {
                events(ShipEvent::Waiting(s))
            })
            .await?;
            state.signed = true;
            store.save(&state)?;
        }
        if plan.stop_after <= ShipStage::Signed && state.downloaded_sha256.is_none() {
            return Ok(paused(ShipStage::Signed));
        }
        let delivered = match &state.downloaded_sha256 {
            Some(sha) if file_sha256(&plan.out).await.ok().as_ref() == Some(sha) => {
                let bytes = std::fs::metadata(&plan.out).map_or(0, |m| m.len());
                Some(DownloadReport {
                    bytes,
                    resumed_from: bytes,
                    md5_verified: true,
                    ranges_verified: 0,
                })
            }
            _ => None,
        };
        let download = match delivered {
            Some(download) => download,
            None => {
                let download = self
                    .download_package(
                        product,
                        submission,
                        DownloadType::SignedPackage,
                        &plan.out,
                        transfers.download,
                    )
                    .await?;
                state.downloaded_sha256 = Some(file_sha256(&plan.out).await?);
                store.save(&state)?;
                download
            }
        };
        events(ShipEvent::Downloaded(&download));
        if let Err(e) = store.finish(&state) {
            // The package was delivered: a journal that cannot be finished is not a failure of
            // the flow (a re-run would find the download done).
            tracing::warn!(error = %e, "the journal could not be finished");
        }
        Ok(ShipReport {
            product,
            submission,
            reached: ShipStage::Delivered,
            download: Some(download),
            signed_sha256: state.downloaded_sha256.clone(),
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
                        settle(state.create_sent_at).await;
                        let matches = |p: &Product| p.product_name.as_deref() == Some(name);
                        let made = self
                            .made_since(self.list_products(), matches, |p| p.id, &before)
                            .await?;
                        match made.as_slice() {
                            [] => {
                                mark_sent(state, store)?;
                                (self.create_product_after(body, &before).await?.id, true)
                            }
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
                                mark_sent(state, store)?;
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
                settle(state.create_sent_at).await;
                let matches = |s: &Submission| {
                    s.name.as_deref() == Some(body.name.as_str())
                        && s.type_.as_ref() == Some(&body.type_)
                };
                let made = self
                    .made_since(self.list_submissions(product), matches, |s| s.id, &before)
                    .await?;
                match made.as_slice() {
                    [] => {
                        mark_sent(state, store)?;
                        self.create_flow_submission(product, body, &before).await?
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
                mark_sent(state, store)?;
                self.create_flow_submission(product, body, &before).await?
            }
        };
        state.submission = Some(submission);
        store.save(state)?;
        Ok(submission)
    }

    /// Creates the flow's submission once against `before`. When the service refuses it
    /// because the product has an initial submission already, and none of them is new since
    /// `before`, they are the candidates of an [`Error::Unreconciled`]: the one of an earlier
    /// run of this flow whose journal is gone (it finished, or was discarded), or another's.
    /// Which one is this package's is a person's call, never a guess.
    async fn create_flow_submission(
        &self,
        product: Id,
        body: &NewSubmission,
        before: &Snapshot,
    ) -> Result<Id, Error> {
        let refused = match self.create_submission_after(product, body, before).await {
            Ok(made) => return Ok(made.id),
            Err(e) => e,
        };
        if body.type_ != SubmissionType::Initial
            || refused.code() != Some(&ErrorCode::RequestInvalidForCurrentState)
        {
            return Err(refused);
        }
        let all: Vec<Submission> = match self.list_submissions(product).try_collect().await {
            Ok(all) => all,
            Err(check) => {
                tracing::warn!(error = %check, "cannot list the submissions the refusal is about");
                return Err(refused);
            }
        };
        let initial: Vec<&Submission> = all
            .iter()
            .filter(|s| s.type_.as_ref() == Some(&SubmissionType::Initial))
            .collect();
        if initial.is_empty() {
            return Err(refused);
        }
        let named: Vec<String> = initial
            .iter()
            .map(|s| format!("{} ({:?})", s.id, s.name.as_deref().unwrap_or_default()))
            .collect();
        let checked = format!(
            "the service refuses a second initial submission of product {product}, which has {}, made before this flow's create (in its journal's snapshot); if one is this package's, continue with it",
            named.join(", ")
        );
        Err(unreconciled(
            "createSubmission",
            checked,
            initial.iter().map(|s| s.id).collect(),
            refused,
        ))
    }

    /// The ids of the items of `list` that `matches` and are not in `before`.
    async fn made_since<T: Send + 'static>(
        &self,
        list: crate::Pager<T>,
        matches: impl Fn(&T) -> bool,
        id_of: fn(&T) -> Id,
        before: &Snapshot,
    ) -> Result<Vec<Id>, Error> {
        let all: Vec<T> = list.try_collect().await?;
        Ok(all
            .iter()
            .filter(|item| matches(item) && !before.contains(id_of(item)))
            .map(id_of)
            .collect())
    }
}

/// Records in the journal that a create is about to be sent.
fn mark_sent(state: &mut ShipState, store: &dyn StateStore) -> Result<(), Error> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    state.create_sent_at = Some(now);
    store.save(state)
}

/// Waits until a create an earlier run sent at `sent_at` has had time to settle at the service.
async fn settle(sent_at: Option<u64>) {
    let Some(sent_at) = sent_at else {
        return;
    };
    let settled =
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(sent_at) + SETTLE_AFTER_KILL;
    if let Ok(wait) = settled.duration_since(std::time::SystemTime::now()) {
        tracing::info!(
            wait_ms = wait.as_millis() as u64,
            "letting an interrupted run's create settle"
        );
        tokio::time::sleep(wait).await;
    }
}

/// Several new entities where one create ran: a person must choose.
fn several(operation: &'static str, what: &str, name: &str, candidates: &[Id]) -> Error {
    let checked = format!(
        "an interrupted run was creating one of the {what} named {name:?}, and {} new ones exist; this run sent nothing",
        candidates.len()
    );
    let source = Error::StateMismatch(format!(
        "an earlier run of this flow sent the create of the {what} named {name:?} and was interrupted before it saw the answer"
    ));
    unreconciled(operation, checked, candidates.to_vec(), source)
}

fn ids(ids: &[Id]) -> String {
    ids.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// The SHA-256 (lower-case hex) of the file at `path`, read on the blocking pool in 1 MiB
/// pieces: what the journal holds to know the package and the signed file again.
/// The SHA-256 of the flow's package; when the package is gone and the journal `saved` shows
/// it uploaded (a later CI job that carries only the journal), the SHA-256 the journal holds.
async fn package_sha256(package: &Path, saved: Option<&ShipState>) -> Result<String, Error> {
    match (file_sha256(package).await, saved) {
        (Err(Error::Local { source, .. }), Some(state))
            if source.kind() == std::io::ErrorKind::NotFound
                && (state.uploaded_etag.is_some() || state.committed) =>
        {
            Ok(state.package_sha256.clone())
        }
        (hashed, _) => hashed,
    }
}

async fn file_sha256(path: &Path) -> Result<String, Error> {
    use sha2::{Digest, Sha256};
    let owned = path.to_owned();
    let hashed = tokio::task::spawn_blocking(move || {
        let mut file = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(&owned)?);
        let mut hash = Sha256::new();
        std::io::copy(&mut file, &mut hash)?;
        Ok::<_, std::io::Error>(hash.finalize())
    })
    .await
    .map_err(std::io::Error::other)
    .and_then(|hashed| hashed);
    match hashed {
        Ok(hash) => Ok(crate::encode::hex(&hash)),
        Err(source) => Err(Error::Local {
            path: path.to_owned(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A journal path in a fresh directory, removed when the returned guard drops.
    fn scratch() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("driver.cab.hwdc.json");
        (dir, path)
    }

    fn plan(account: &str, name: &str, product: ProductChoice) -> ShipPlan {
        let submission = NewSubmission {
            name: name.try_into().unwrap(),
            type_: hw_api_gen::types::SubmissionType::Initial,
        };
        ShipPlan::new("driver.cab", product, submission, "signed.cab", account)
    }

    #[test]
    fn the_file_store_saves_atomically_loads_and_clears() {
        let (_dir, path) = scratch();
        let store = FileStateStore::new(path);
        assert_eq!(store.load().unwrap(), None);
        let by_id = plan("tenant/app", "1.0", ProductChoice::Id(Id(7)));
        let mut state = ShipState::new("ab".into(), &by_id);
        state.product = Some(Id(7));
        store.save(&state).unwrap();
        state.submission = Some(Id(8));
        store.save(&state).unwrap();
        assert_eq!(store.load().unwrap(), Some(state));
        assert!(
            !store.temporary(std::process::id()).exists(),
            "the temporary file is renamed"
        );
        // A killed run's save left its temporary; clearing removes it, and nothing else.
        let stale = store.temporary(4711);
        std::fs::write(&stale, b"{").unwrap();
        let mut other = store.path().as_os_str().to_owned();
        other.push(".new-notes");
        std::fs::write(&other, b"mine").unwrap();
        store.clear().unwrap();
        assert_eq!(store.load().unwrap(), None);
        assert!(!stale.exists(), "the killed run's temporary is removed");
        assert!(
            Path::new(&other).exists(),
            "a file that is no temporary stays"
        );
        store.clear().unwrap();
    }

    #[test]
    fn a_state_of_other_work_is_told_apart() {
        let by_id = ProductChoice::Id(Id(7));
        let state = ShipState::new("ab".into(), &plan("tenant/app", "1.0", by_id.clone()));
        assert_eq!(
            state.mismatch("ab", &plan("Tenant/App", "1.0", by_id.clone())),
            None
        );
        let other = |sha: &str, p: &ShipPlan| state.mismatch(sha, p).unwrap();
        let package = other("cd", &plan("tenant/app", "1.0", by_id.clone()));
        assert!(package.contains("another package"), "{package}");
        let account = other("ab", &plan("other/app", "1.0", by_id.clone()));
        assert!(account.contains("another account"), "{account}");
        let name = other("ab", &plan("tenant/app", "2.0", by_id));
        assert!(name.contains("submission name"), "{name}");
        let product = other("ab", &plan("tenant/app", "1.0", ProductChoice::Id(Id(8))));
        assert!(
            product.contains("another product (id 7; this run: id 8)"),
            "{product}"
        );
    }

    #[test]
    fn one_run_at_a_time_holds_the_lock() {
        let (_dir, path) = scratch();
        let store = FileStateStore::new(path);
        let held = store.lock().unwrap();
        let err = store.lock().unwrap_err();
        assert!(matches!(err, Error::StateLocked(_)), "{err:?}");
        drop(held);
        store.lock().unwrap();
    }

    #[test]
    fn clearing_leaves_a_file_that_is_not_a_journal() {
        let (_dir, path) = scratch();
        std::fs::write(&path, b"MSCF a package").unwrap();
        assert!(FileStateStore::new(&path).clear().is_err());
        assert!(path.exists());
    }

    #[test]
    fn a_file_that_is_not_a_state_is_refused() {
        let (_dir, path) = scratch();
        std::fs::write(&path, b"{not json").unwrap();
        let err = FileStateStore::new(&path).load().unwrap_err();
        assert!(matches!(err, Error::StateMismatch(_)), "{err:?}");
    }

    /// The flow names no program's flags or files: the caller gives the journal's name and
    /// what a person should do with a journal that is not the run's.
    #[tokio::test]
    async fn the_journals_name_and_the_advice_are_the_callers() {
        let dir = tempfile::tempdir().unwrap();
        let package = dir.path().join("driver.cab");
        std::fs::write(&package, b"a package").unwrap();
        let store = FileStateStore::beside(&package, ".journal");
        assert_eq!(store.path(), dir.path().join("driver.cab.journal"));
        // Written for another package: refused with the store's advice, before any request
        // (nothing listens on port 9).
        let by_id = || plan("a", "1.0", ProductChoice::Id(Id(7)));
        store
            .save(&ShipState::new("0".repeat(64), &by_id()))
            .unwrap();
        let client = Client::builder()
            .base_url("http://127.0.0.1:9")
            .access_token("t".to_owned().into())
            .build()
            .unwrap();
        let ship = |store: FileStateStore| {
            let mut plan = by_id();
            plan.package = package.clone();
            let client = client.clone();
            async move {
                let silent = crate::transfer::Silent;
                let transfers = Transfers {
                    upload: &silent,
                    download: &silent,
                };
                let events = &mut |_: ShipEvent<'_>| {};
                client
                    .ship(&plan, &store, events, transfers)
                    .await
                    .unwrap_err()
                    .to_string()
            }
        };
        let plain = ship(store.clone()).await;
        assert!(plain.contains("another package"), "{plain}");
        assert!(
            plain.ends_with("; remove it to start over, or use another file"),
            "{plain}"
        );
        assert!(!plain.contains("--") && !plain.contains("hwdc"), "{plain}");
        let worded = ship(store.clone().with_remedy("run `tool --fresh`")).await;
        assert!(worded.ends_with("; run `tool --fresh`"), "{worded}");
        // A file that is not a journal gets the same advice.
        std::fs::write(store.path(), b"{not json").unwrap();
        let err = store.with_remedy("run `tool --fresh`").load().unwrap_err();
        assert!(err.to_string().ends_with("; run `tool --fresh`"), "{err}");
    }
}
