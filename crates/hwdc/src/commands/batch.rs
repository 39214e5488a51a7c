//! `hwdc batch MANIFEST`: many packages at once on one client, each entry a `submit` with its
//! own journal (`Client::ship_batch`), their requests sharing the client's paced rate.
//!
//! Exactly once per entry: each entry's journal is `<out>.hwdc.json` (the outs are unique).
//! When an entry finishes, its record (product, submission, the package's and the signed
//! package's SHA-256) is written to `<manifest>.done.json` before its journal is removed, so
//! that at every moment one of them says what was done. A re-run resumes each unfinished entry
//! from its journal, skips each finished one whose signed package is unchanged, downloads again
//! (from the recorded submission) one whose signed package is gone, and submits anew only an
//! entry whose package changed.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use hw_api::Error;
use hw_api::batch::{BatchItem, BatchObserver};
use hw_api::ship::{FileStateStore, ShipEvent, ShipReport, ShipState, StateLock, StateStore};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};

use super::Ctx;
use super::submit::{self, Prepared, prepare};
use crate::cli::{Batch, Harness, Kind, Submit};
use crate::config;
use crate::exit::{Failure, Outcome};
use crate::output::Row;
use crate::rows::submission_status;

/// The manifest of `hwdc batch`: one `[[package]]` table per package.
#[derive(Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Manifest {
    /// The packages to ship.
    package: Vec<Entry>,
}

/// One `[[package]]` of the manifest; relative paths are relative to the manifest.
#[derive(Deserialize, Clone, schemars::JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Entry {
    /// A package file or a driver folder.
    file: PathBuf,
    /// The submission's name (unique in the manifest).
    name: String,
    /// The product to submit to (or `create-product`).
    product: Option<u64>,
    /// The product of this name: the one that exists, or created once when none does.
    create_product: Option<String>,
    /// The test harness of a created product (default attestation).
    #[serde(default = "default_harness")]
    harness: Harness,
    /// OS codes, or families of them (`win11-x64`), for a created product.
    #[serde(default)]
    signatures: Vec<String>,
    /// `initial` (the default) or `derived`.
    #[serde(rename = "type", default = "default_kind")]
    kind: Kind,
    /// The InfVerif rule set the package's INFs are held to (default `submission`).
    #[serde(default)]
    mode: hw_package::driver_check::Mode,
    /// Where the signed package goes.
    out: PathBuf,
    /// Continue with this submission instead of making one.
    submission: Option<u64>,
}

fn default_harness() -> Harness {
    Harness::Attestation
}

fn default_kind() -> Kind {
    Kind::Initial
}

/// What `<manifest>.done.json` keeps of a finished entry, by its name.
#[derive(Serialize, Deserialize, Clone)]
struct Done {
    product: u64,
    submission: u64,
    /// The signed package (absolute).
    out: PathBuf,
    /// The signed package's SHA-256.
    sha256: String,
    /// The uploaded package's SHA-256 (a driver folder's CAB, packaged reproducibly).
    package_sha256: String,
}

impl Done {
    /// The record of a finished flow, from its last journal.
    fn of(state: &ShipState, out: &Path) -> Option<Self> {
        Some(Self {
            product: state.product?.get(),
            submission: state.submission?.get(),
            out: out.to_owned(),
            sha256: state.downloaded_sha256.clone()?,
            package_sha256: state.package_sha256.clone(),
        })
    }
}

/// What an earlier run did with an entry.
enum Earlier {
    /// Nothing finished: a journal, if any, continues it.
    Nothing,
    /// Finished, and its signed package is as it was written.
    Finished(Done),
    /// Finished, but its signed package is gone or changed: downloaded again.
    Download(Done),
}

/// One entry's outcome, as the summary shows it.
#[derive(Serialize, schemars::JsonSchema)]
pub(crate) struct EntryOutcome {
    /// The entry's name.
    name: String,
    /// Its package or driver folder.
    file: PathBuf,
    /// Its signed package.
    out: PathBuf,
    /// `succeeded`, `skipped` (finished by an earlier run), `pending` (stopped where
    /// `--until` asked) or `failed`.
    state: &'static str,
    /// How far its flow went this run (`uploaded`, `committed`, `signed`, `delivered`).
    #[serde(skip_serializing_if = "Option::is_none")]
    reached: Option<&'static str>,
    /// Its product.
    product: Option<u64>,
    /// Its submission.
    submission: Option<u64>,
    /// The signed package's SHA-256.
    signed_sha256: Option<String>,
    /// The signed package's size.
    signed_bytes: Option<u64>,
    /// Why it failed.
    error: Option<crate::exit::ErrorObject>,
    #[serde(skip)]
    ended: Outcome,
}

impl Row for EntryOutcome {
    const COLUMNS: &'static [(&'static str, usize)] = &[
        ("NAME", 24),
        ("STATE", 9),
        ("PRODUCT", 20),
        ("SUBMISSION", 20),
        ("DETAIL", 0),
    ];

    fn cells(&self) -> Vec<String> {
        let id = |v: Option<u64>| v.map(|v| v.to_string()).unwrap_or_default();
        let detail = match &self.error {
            Some(error) => error.message.clone(),
            None => self.out.display().to_string(),
        };
        vec![
            self.name.clone(),
            self.state.into(),
            id(self.product),
            id(self.submission),
            detail,
        ]
    }
}

/// Reads and checks the manifest; paths become relative to its folder.
fn read_manifest(path: &Path) -> Result<Vec<Entry>, Failure> {
    let local = |message: String| Failure::Local {
        kind: hw_api::ErrorKind::Config,
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| Failure::Local {
        kind: hw_api::ErrorKind::LocalIo,
        message: format!("cannot read the manifest {}: {e}", path.display()),
    })?;
    let manifest: Manifest =
        toml::from_str(&text).map_err(|e| local(format!("{}: {e}", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
    // Absolute, so that a re-run from another folder names the same files.
    let absolute = |p: PathBuf| std::path::absolute(&p).unwrap_or(p);
    let mut names = HashSet::new();
    let mut outs = HashSet::new();
    let mut entries = Vec::new();
    for (i, mut entry) in manifest.package.into_iter().enumerate() {
        let at = format!("{}: package {} ({})", path.display(), i + 1, entry.name);
        if entry.product.is_some() == entry.create_product.is_some() {
            return Err(local(format!(
                "{at}: give `product` or `create-product`, one of them"
            )));
        }
        if entry.submission.is_some() && entry.product.is_none() {
            return Err(local(format!("{at}: `submission` needs `product`")));
        }
        // Family shorthands become their codes here, said on standard error as for
        // `--signature`.
        super::os_codes::expand_in_place(&mut entry.signatures, false);
        entry.file = absolute(base.join(&entry.file));
        entry.out = absolute(base.join(&entry.out));
        if !names.insert(entry.name.clone()) {
            return Err(local(format!("{at}: another package has the same name")));
        }
        if !outs.insert(entry.out.clone()) {
            return Err(local(format!(
                "{at}: another package writes the same `out`"
            )));
        }
        entries.push(entry);
    }
    if entries.is_empty() {
        return Err(local(format!("{}: no [[package]]", path.display())));
    }
    Ok(entries)
}

/// The `submit` an entry is.
fn as_submit(entry: &Entry, command: &Batch) -> Submit {
    Submit {
        file: Some(entry.file.clone()),
        no_check: command.no_check,
        mode: entry.mode,
        product: entry.product,
        create_product: entry.create_product.clone(),
        harness: entry.harness,
        signatures: entry.signatures.clone(),
        name: Some(entry.name.clone()),
        kind: entry.kind,
        out: entry.out.clone(),
        // One journal per entry, even when two entries upload the same file.
        state: Some(journal(&entry.out)),
        restart: false,
        submission: entry.submission,
        until: command.until,
        wait: command.wait,
    }
}

/// An entry's journal: `<out>.hwdc.json`.
fn journal(out: &Path) -> PathBuf {
    FileStateStore::beside(out, submit::JOURNAL_SUFFIX)
        .path()
        .to_owned()
}

/// `<manifest>.done.json`: the finished entries, by name.
struct DoneFile {
    path: PathBuf,
    entries: Mutex<BTreeMap<String, Done>>,
}

impl DoneFile {
    fn open(manifest: &Path) -> Result<Self, Failure> {
        let mut name = manifest.as_os_str().to_owned();
        name.push(".done.json");
        let path = PathBuf::from(name);
        let entries = Self::read(&path).map_err(file_failure)?;
        Ok(Self {
            path,
            entries: Mutex::new(entries),
        })
    }

    /// The records on disk (none if there is no file yet).
    fn read(path: &Path) -> Result<BTreeMap<String, Done>, String> {
        match std::fs::read(path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| {
                format!(
                    "{} is not a record of finished entries: {e}",
                    path.display()
                )
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(BTreeMap::new()),
            Err(e) => Err(format!("cannot read {}: {e}", path.display())),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, BTreeMap<String, Done>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What an earlier run did with `entry`, as the records on disk say now (another run may
    /// have finished it meanwhile).
    fn earlier(&self, entry: &Entry) -> Result<Earlier, Failure> {
        let on_disk = Self::read(&self.path).map_err(file_failure)?;
        let done = {
            let mut entries = self.entries();
            entries.extend(on_disk);
            entries
                .get(&entry.name)
                .filter(|d| d.out == entry.out)
                .cloned()
        };
        let Some(done) = done else {
            return Ok(Earlier::Nothing);
        };
        // A file whose content changed is a new driver: submitted anew. (A driver folder is
        // only packaged later, so its changes are not seen here: give a new driver a new name.)
        if entry.file.is_file()
            && hw_package::digest::sha256_file(&entry.file)
                .is_ok_and(|(_, sha256)| sha256 != done.package_sha256)
        {
            return Ok(Earlier::Nothing);
        }
        let unchanged = hw_package::digest::sha256_file(&entry.out)
            .is_ok_and(|(_, sha256)| sha256 == done.sha256);
        Ok(if unchanged {
            Earlier::Finished(done)
        } else {
            Earlier::Download(done)
        })
    }

    /// Records a finished entry, merged with what is on disk, atomically (a temporary file,
    /// synced, renamed over the old one).
    fn record(&self, name: &str, done: Done) -> Result<(), String> {
        let mut entries = self.entries();
        entries.extend(Self::read(&self.path)?);
        entries.insert(name.to_owned(), done);
        let cannot =
            |e: &dyn std::fmt::Display| format!("cannot write {}: {e}", self.path.display());
        let text = serde_json::to_vec_pretty(&*entries).map_err(|e| cannot(&e))?;
        let mut temporary = self.path.as_os_str().to_owned();
        temporary.push(format!(".new-{}", std::process::id()));
        let temporary = PathBuf::from(temporary);
        let written = (|| {
            use std::io::Write;
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(&text)?;
            file.sync_all()?;
            std::fs::rename(&temporary, &self.path)
        })();
        written.map_err(|e| {
            let _ = std::fs::remove_file(&temporary);
            cannot(&e)
        })
    }
}

/// A failure to read or write a local file.
fn file_failure(message: String) -> Failure {
    Failure::Local {
        kind: hw_api::ErrorKind::LocalIo,
        message,
    }
}

/// An entry's journal, which records the entry as finished before it is removed.
struct EntryStore {
    journal: FileStateStore,
    done: Arc<DoneFile>,
    name: String,
    out: PathBuf,
}

impl StateStore for EntryStore {
    fn load(&self) -> Result<Option<ShipState>, Error> {
        self.journal.load()
    }

    fn save(&self, state: &ShipState) -> Result<(), Error> {
        self.journal.save(state)
    }

    /// Records the finished entry first: if that fails, the journal stays, and a re-run finds
    /// the flow done in it.
    fn clear(&self) -> Result<(), Error> {
        if let Some(done) = self.journal.load()?.and_then(|s| Done::of(&s, &self.out)) {
            self.done
                .record(&self.name, done)
                .map_err(Error::StateMismatch)?;
        }
        self.journal.clear()
    }

    fn describe(&self) -> String {
        self.journal.describe()
    }
}

/// One progress line per running entry on a terminal; otherwise a line per step.
struct Lines<'a> {
    ctx: &'a Ctx,
    names: Vec<String>,
    bars: Vec<ProgressBar>,
}

impl Lines<'_> {
    fn tell(&self, index: usize, message: String) {
        if self.ctx.out.progress {
            self.bars[index].set_message(message);
        } else {
            self.ctx.say(&format!("{}: {message}", self.names[index]));
        }
    }
}

impl BatchObserver for Lines<'_> {
    fn started(&self, index: usize) {
        self.tell(index, "started".into());
    }

    fn event(&self, index: usize, event: &ShipEvent<'_>) {
        let message = match event {
            ShipEvent::Resumed(_) => "continuing from its journal".to_owned(),
            ShipEvent::Product { id, created } => {
                format!("product {id}{}", if *created { " (created)" } else { "" })
            }
            ShipEvent::Submission(id) => format!("submission {id}"),
            ShipEvent::Uploaded(report) => format!("uploaded {} bytes", report.bytes),
            ShipEvent::Committed | ShipEvent::AlreadyCommitted => "committed".into(),
            ShipEvent::Waiting(submission) => {
                if !self.ctx.out.progress {
                    return;
                }
                format!("signing: {}", submission_status(submission))
            }
            ShipEvent::Downloaded(report) => format!("downloaded {} bytes", report.bytes),
            _ => return,
        };
        self.tell(index, message);
    }

    fn progress(&self, index: usize, upload: bool, done: u64, total: u64) {
        if self.ctx.out.progress && total > 0 {
            let verb = if upload { "uploading" } else { "downloading" };
            self.tell(index, format!("{verb} {}%", done * 100 / total));
        }
    }

    fn finished(&self, index: usize, result: &Result<ShipReport, Error>) {
        match result {
            Ok(_) => self.tell(index, "signed".into()),
            Err(e) => self.tell(index, format!("failed: {}", hw_api::Report::new(e))),
        }
        if self.ctx.out.progress {
            self.bars[index].finish();
        }
    }
}

/// Runs `batch`.
pub(crate) async fn run(ctx: &Ctx, command: Batch) -> Result<(), Failure> {
    let entries = read_manifest(&command.manifest)?;
    let done = Arc::new(DoneFile::open(&command.manifest)?);
    let mut outcomes: Vec<Option<EntryOutcome>> = entries.iter().map(|_| None).collect();
    // Every entry's local input (its file, flags and journal) is checked, and its journal
    // locked, before signing in.
    let mut ready = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        let mut submit = as_submit(entry, &command);
        match done.earlier(entry) {
            Ok(Earlier::Finished(finished)) => {
                outcomes[i] = Some(outcome(entry, "skipped", Some(&finished), None, None));
                continue;
            }
            Ok(Earlier::Download(finished)) => {
                // The same submission, downloaded again: never a second one.
                submit.product = Some(finished.product);
                submit.create_product = None;
                submit.submission = Some(finished.submission);
            }
            Ok(Earlier::Nothing) => {}
            Err(failure) => {
                outcomes[i] = Some(outcome(entry, "failed", None, None, Some(&failure)));
                continue;
            }
        }
        let local = submit::local(&submit);
        // Under the journal's lock, look again: another run may have finished it meanwhile.
        if local.is_ok()
            && let Ok(Earlier::Finished(finished)) = done.earlier(entry)
        {
            outcomes[i] = Some(outcome(entry, "skipped", Some(&finished), None, None));
            continue;
        }
        match local {
            Ok(local) => ready.push((i, submit, local)),
            Err(failure) => {
                outcomes[i] = Some(outcome(entry, "failed", None, None, Some(&failure)));
            }
        }
    }
    let mut items = Vec::new();
    let mut positions = Vec::new();
    let mut locks: Vec<StateLock> = Vec::new();
    // Signed in only when an entry is left to ship.
    let mut client = None;
    if !ready.is_empty() {
        let config::Connected {
            client: connected,
            account,
        } = ctx.connect().await?;
        for (i, submit, local) in ready {
            match prepare(ctx, &connected, &account, &submit, local).await {
                Ok(Prepared { plan, store, lock }) => {
                    let store = EntryStore {
                        journal: store.with_remedy("remove it to start the entry over"),
                        done: done.clone(),
                        name: entries[i].name.clone(),
                        out: entries[i].out.clone(),
                    };
                    items.push(BatchItem::new(plan, Box::new(store)));
                    positions.push(i);
                    locks.push(lock);
                }
                Err(failure) => {
                    outcomes[i] = Some(outcome(&entries[i], "failed", None, None, Some(&failure)));
                }
            }
        }
        client = Some(connected);
    }
    let multi = MultiProgress::with_draw_target(ProgressDrawTarget::stderr());
    let style = ProgressStyle::with_template("{prefix:24} {spinner} {msg} ({elapsed})")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    let names: Vec<String> = positions.iter().map(|&i| entries[i].name.clone()).collect();
    let bars = names
        .iter()
        .map(|name| {
            let bar = if ctx.out.progress {
                multi.add(ProgressBar::new_spinner())
            } else {
                ProgressBar::hidden()
            };
            bar.set_style(style.clone());
            bar.set_prefix(name.clone());
            bar.set_message("queued");
            bar
        })
        .collect();
    let lines = Lines { ctx, names, bars };
    let results = match &client {
        Some(client) => {
            client
                .ship_batch(&items, usize::from(command.jobs), &lines)
                .await
        }
        None => Vec::new(),
    };
    for ((result, position), lock) in results.into_iter().zip(positions).zip(locks) {
        let entry = &entries[position];
        outcomes[position] = Some(match result {
            Ok(report) => {
                lock.remove();
                let delivered = report.download.is_some();
                EntryOutcome {
                    product: Some(report.product.get()),
                    submission: Some(report.submission.get()),
                    reached: Some(report.reached.as_str()),
                    signed_bytes: report.download.map(|d| d.bytes),
                    signed_sha256: report.signed_sha256,
                    ended: if delivered {
                        Outcome::Success
                    } else {
                        Outcome::Pending
                    },
                    ..outcome(
                        entry,
                        if delivered { "succeeded" } else { "pending" },
                        None,
                        None,
                        None,
                    )
                }
            }
            Err(e) => outcome(entry, "failed", None, None, Some(&Failure::from(e))),
        });
    }
    let outcomes: Vec<EntryOutcome> = outcomes.into_iter().flatten().collect();
    let worst = Outcome::worst(outcomes.iter().map(|o| o.ended));
    ctx.out
        .list(
            futures_util::stream::iter(outcomes.into_iter().map(Ok)),
            None,
        )
        .await?;
    match worst {
        Outcome::Success => Ok(()),
        Outcome::Pending => Err(Failure::Pending),
        worst => Err(Failure::Batch(worst)),
    }
}

/// An entry's outcome.
fn outcome(
    entry: &Entry,
    state: &'static str,
    finished: Option<&Done>,
    bytes: Option<u64>,
    failure: Option<&Failure>,
) -> EntryOutcome {
    EntryOutcome {
        name: entry.name.clone(),
        file: entry.file.clone(),
        out: entry.out.clone(),
        state,
        reached: None,
        product: finished.map(|d| d.product).or(entry.product),
        submission: finished.map(|d| d.submission).or(entry.submission),
        signed_sha256: finished.map(|d| d.sha256.clone()),
        signed_bytes: bytes,
        error: failure.map(Failure::json),
        ended: failure.map_or(Outcome::Success, Failure::outcome),
    }
}
