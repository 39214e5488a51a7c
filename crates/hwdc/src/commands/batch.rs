//! `hwdc batch MANIFEST`: many packages at once on one client, each entry a `submit` with its
//! own journal (`Client::ship_batch`), their requests sharing the client's paced rate. A
//! re-run of the same manifest resumes each unfinished entry (its journal) and skips each
//! finished one (recorded in `<manifest>.done.json` with its signed package's SHA-256).

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use hw_api::Error;
use hw_api::batch::{BatchItem, BatchObserver};
use hw_api::ship::{ShipEvent, ShipReport, StateLock};
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use serde::{Deserialize, Serialize};

use super::Ctx;
use super::submit::{Prepared, prepare};
use crate::cli::{Batch, Harness, Kind, Submit};
use crate::config;
use crate::exit::Failure;
use crate::output::Row;
use crate::rows::submission_status;

/// The manifest.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Manifest {
    package: Vec<Entry>,
}

/// One `[[package]]` of the manifest.
#[derive(Deserialize, Clone)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Entry {
    /// A package file or a driver folder.
    file: PathBuf,
    /// The submission's name.
    name: String,
    product: Option<u64>,
    create_product: Option<String>,
    #[serde(default = "default_harness")]
    harness: Harness,
    #[serde(default)]
    signatures: Vec<String>,
    #[serde(rename = "type", default = "default_kind")]
    kind: Kind,
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
    out: PathBuf,
    sha256: String,
}

/// One entry's outcome, as the summary shows it.
#[derive(Serialize)]
struct Outcome {
    name: String,
    file: PathBuf,
    out: PathBuf,
    /// `succeeded`, `skipped` (finished by an earlier run) or `failed`.
    state: &'static str,
    product: Option<u64>,
    submission: Option<u64>,
    signed_sha256: Option<String>,
    signed_bytes: Option<u64>,
    error: Option<serde_json::Value>,
    #[serde(skip)]
    exit_code: u8,
}

impl Row for Outcome {
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
            Some(error) => error["message"].as_str().unwrap_or_default().to_owned(),
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

/// The exit codes from most to least serious: what a person must look at first (an unclear
/// outcome, a credential), then what the service or Microsoft refused, then local and
/// transient failures, which a re-run may fix.
const SEVERITY: [u8; 10] = [8, 3, 6, 5, 4, 2, 1, 7, 75, 130];

/// The exit code of a batch with these entries' codes (0 for success): the most serious.
fn batch_code(codes: impl IntoIterator<Item = u8>) -> u8 {
    codes
        .into_iter()
        .filter(|c| *c != 0)
        .min_by_key(|c| {
            SEVERITY
                .iter()
                .position(|s| s == c)
                .unwrap_or(SEVERITY.len())
        })
        .unwrap_or(0)
}

/// Reads and checks the manifest; paths become relative to its folder.
fn read_manifest(path: &Path) -> Result<Vec<Entry>, Failure> {
    let local = |message: String| Failure::Local {
        kind: "usage",
        message,
    };
    let text = std::fs::read_to_string(path).map_err(|e| Failure::Local {
        kind: "file",
        message: format!("cannot read the manifest {}: {e}", path.display()),
    })?;
    let manifest: Manifest =
        toml::from_str(&text).map_err(|e| local(format!("{}: {e}", path.display())))?;
    let base = path.parent().unwrap_or(Path::new("."));
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
        entry.file = base.join(&entry.file);
        entry.out = base.join(&entry.out);
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
        file: entry.file.clone(),
        no_check: command.no_check,
        product: entry.product,
        create_product: entry.create_product.clone(),
        harness: entry.harness,
        signatures: entry.signatures.clone(),
        name: entry.name.clone(),
        kind: entry.kind,
        out: entry.out.clone(),
        state: None,
        restart: false,
        submission: entry.submission,
        wait: command.wait,
    }
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
        let entries = match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|e| Failure::Local {
                kind: "file",
                message: format!(
                    "{} is not a record of finished entries: {e}",
                    path.display()
                ),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => BTreeMap::new(),
            Err(e) => {
                return Err(Failure::Local {
                    kind: "file",
                    message: format!("cannot read {}: {e}", path.display()),
                });
            }
        };
        Ok(Self {
            path,
            entries: Mutex::new(entries),
        })
    }

    /// The record of `entry` if it finished and its signed package is still what it was.
    fn finished(&self, entry: &Entry) -> Option<Done> {
        let done = self.entries.lock().ok()?.get(&entry.name).cloned()?;
        let same_out = done.out == entry.out;
        let unchanged =
            hw_api::digest::sha256_file(&entry.out).is_ok_and(|(_, sha256)| sha256 == done.sha256);
        (same_out && unchanged).then_some(done)
    }

    /// Records a finished entry, atomically (a temporary file renamed over the old one).
    fn record(&self, name: &str, done: Done) -> Result<(), Failure> {
        let mut entries = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        entries.insert(name.to_owned(), done);
        let text = serde_json::to_vec_pretty(&*entries).unwrap_or_default();
        let mut temporary = self.path.as_os_str().to_owned();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        std::fs::write(&temporary, text)
            .and_then(|()| std::fs::rename(&temporary, &self.path))
            .map_err(|e| Failure::Local {
                kind: "file",
                message: format!("cannot write {}: {e}", self.path.display()),
            })
    }
}

/// One progress line per running entry on a terminal; otherwise a line per step.
struct Lines<'a> {
    ctx: &'a Ctx,
    names: Vec<String>,
    bars: Vec<ProgressBar>,
    done: &'a DoneFile,
    entries: &'a [Entry],
    /// Where each item of the batch is in `entries`.
    positions: Vec<usize>,
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
            Ok(report) => {
                let entry = &self.entries[self.positions[index]];
                let done = Done {
                    product: report.product.get(),
                    submission: report.submission.get(),
                    out: entry.out.clone(),
                    sha256: report.signed_sha256.clone(),
                };
                if let Err(e) = self.done.record(&entry.name, done) {
                    self.ctx.out.error(&e);
                }
                self.tell(index, "signed".into());
            }
            Err(e) => self.tell(index, format!("failed: {e}")),
        }
        if self.ctx.out.progress {
            self.bars[index].finish();
        }
    }
}

/// Runs `batch`.
pub async fn run(ctx: &Ctx, command: Batch) -> Result<(), Failure> {
    let entries = read_manifest(&command.manifest)?;
    let done = DoneFile::open(&command.manifest)?;
    let config::Connected { client, account } = ctx.connect().await?;
    let mut outcomes: Vec<Option<Outcome>> = entries.iter().map(|_| None).collect();
    let mut items = Vec::new();
    let mut positions = Vec::new();
    let mut locks: Vec<StateLock> = Vec::new();
    for (i, entry) in entries.iter().enumerate() {
        if let Some(finished) = done.finished(entry) {
            outcomes[i] = Some(outcome(entry, "skipped", Some(&finished), None, None));
            continue;
        }
        match prepare(ctx, &client, &account, &as_submit(entry, &command)).await {
            Ok(Prepared { plan, store, lock }) => {
                items.push(BatchItem {
                    plan,
                    store: Box::new(store),
                });
                positions.push(i);
                locks.push(lock);
            }
            Err(failure) => {
                outcomes[i] = Some(outcome(entry, "failed", None, None, Some(&failure)));
            }
        }
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
    let lines = Lines {
        ctx,
        names,
        bars,
        done: &done,
        entries: &entries,
        positions: positions.clone(),
    };
    let results = client
        .ship_batch(&items, usize::from(command.jobs), &lines)
        .await;
    for ((result, position), lock) in results.into_iter().zip(positions).zip(locks) {
        let entry = &entries[position];
        outcomes[position] = Some(match result {
            Ok(report) => {
                lock.remove();
                let finished = Done {
                    product: report.product.get(),
                    submission: report.submission.get(),
                    out: entry.out.clone(),
                    sha256: report.signed_sha256.clone(),
                };
                outcome(
                    entry,
                    "succeeded",
                    Some(&finished),
                    Some(report.download.bytes),
                    None,
                )
            }
            Err(e) => outcome(entry, "failed", None, None, Some(&Failure::from(e))),
        });
    }
    let outcomes: Vec<Outcome> = outcomes.into_iter().flatten().collect();
    let code = batch_code(outcomes.iter().map(|o| o.exit_code));
    ctx.out
        .list(
            futures_util::stream::iter(outcomes.into_iter().map(Ok)),
            None,
        )
        .await?;
    match code {
        0 => Ok(()),
        code => Err(Failure::Batch(code)),
    }
}

/// An entry's outcome.
fn outcome(
    entry: &Entry,
    state: &'static str,
    finished: Option<&Done>,
    bytes: Option<u64>,
    failure: Option<&Failure>,
) -> Outcome {
    Outcome {
        name: entry.name.clone(),
        file: entry.file.clone(),
        out: entry.out.clone(),
        state,
        product: finished.map(|d| d.product).or(entry.product),
        submission: finished.map(|d| d.submission).or(entry.submission),
        signed_sha256: finished.map(|d| d.sha256.clone()),
        signed_bytes: bytes,
        error: failure.map(Failure::json),
        exit_code: failure.map_or(0, Failure::code),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_most_serious_code_wins() {
        assert_eq!(batch_code([0, 0]), 0);
        assert_eq!(batch_code([75, 0, 5]), 5);
        assert_eq!(batch_code([1, 8, 3]), 8);
        assert_eq!(batch_code([130, 75]), 75);
        assert_eq!(batch_code([99]), 99);
    }
}
