//! `hwdc submit`: the whole flow for one package, resumable through its journal
//! (`hw_api::ship`).

use std::path::{Path, PathBuf};

use hw_api::ship::{
    FileStateStore, ProductChoice, ShipEvent, ShipPlan, ShipState, StateLock, StateStore, Transfers,
};
use hw_api::{Client, Id};
use hw_package::driver_check::CheckOptions;

use super::Ctx;
use super::products::new_product;
use super::submissions::new_submission;
use super::{check, package};
use crate::cli::{Submit, Targets};
use crate::config;
use crate::exit::Failure;
use crate::progress::{Bytes, Spinner};
use crate::rows::submission_status;

/// Where `submit` writes the CAB it makes of a driver folder: beside the signed package.
fn upload_cab(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".upload.cab");
    PathBuf::from(name)
}

/// A package made ready to ship: checked (or packaged from its driver folder), its plan made
/// and its journal locked (`submit` and each entry of `batch`).
pub(crate) struct Prepared {
    /// The flow.
    pub plan: ShipPlan,
    /// Its journal.
    pub store: FileStateStore,
    /// The journal's lock, held while the flow runs.
    pub lock: StateLock,
}

/// Runs `submit`.
pub(crate) async fn run(ctx: &Ctx, command: Submit) -> Result<(), Failure> {
    let local = local(&command)?;
    let config::Connected { client, account } = ctx.connect().await?;
    let Prepared { plan, store, lock } = prepare(ctx, &client, &account, &command, local).await?;
    let uploading = Bytes::new(ctx.out.progress, "uploading");
    let downloading = Bytes::new(ctx.out.progress, "downloading");
    let mut spinner: Option<Spinner> = None;
    let mut events = |event: ShipEvent<'_>| match event {
        ShipEvent::Resumed(state) => ctx.say(&format!(
            "continuing from {} (submission {})",
            store.path().display(),
            state
                .submission
                .map(|s| s.to_string())
                .unwrap_or_else(|| "not made yet".into())
        )),
        ShipEvent::Product { id, created: true } => ctx.say(&format!("product {id} (created)")),
        ShipEvent::Product { id, .. } => ctx.say(&format!("product {id}")),
        ShipEvent::Submission(id) => ctx.say(&format!("submission {id}")),
        ShipEvent::Uploaded(report) => {
            uploading.finish();
            ctx.say(&format!(
                "uploaded {} bytes ({} blocks, {} already there{})",
                report.bytes,
                report.blocks,
                report.blocks_reused,
                super::transfer::cleared(report.foreign_blocks_cleared)
            ));
        }
        ShipEvent::Committed => ctx.say("committed; waiting for Microsoft to sign it"),
        ShipEvent::AlreadyCommitted => {
            ctx.say("already committed; waiting for Microsoft to sign it")
        }
        ShipEvent::Waiting(submission) => spinner
            .get_or_insert_with(|| Spinner::new(ctx.out.progress, "signing"))
            .set(submission_status(submission)),
        ShipEvent::Downloaded(_) => downloading.finish(),
        _ => {}
    };
    let transfers = Transfers {
        upload: &uploading,
        download: &downloading,
    };
    let shipped = client.ship(&plan, &store, &mut events, transfers).await;
    if let Some(spinner) = spinner {
        spinner.finish();
    }
    uploading.finish();
    downloading.finish();
    let report = shipped?;
    lock.remove();
    let (Some(download), Some(sha256)) = (&report.download, &report.signed_sha256) else {
        ctx.out.done(
            &format!(
                "Stopped as asked: submission {} of product {} is {}. Run submit again with the journal {} to continue.",
                report.submission,
                report.product,
                report.reached,
                store.path().display()
            ),
            crate::results::Submitted {
                product: report.product.get(),
                submission: report.submission.get(),
                reached: report.reached.as_str().to_owned(),
                journal: Some(store.path().to_owned()),
                signed_package: None,
                bytes: None,
                md5_verified: None,
                sha256: None,
            },
        );
        return Err(Failure::Pending);
    };
    ctx.out.done(
        &format!(
            "Signed package of submission {} written to {} ({} bytes).",
            report.submission,
            command.out.display(),
            download.bytes
        ),
        crate::results::Submitted {
            product: report.product.get(),
            submission: report.submission.get(),
            reached: report.reached.as_str().to_owned(),
            journal: None,
            signed_package: Some(command.out.clone()),
            bytes: Some(download.bytes),
            md5_verified: Some(download.md5_verified),
            sha256: Some(sha256.clone()),
        },
    );
    Ok(())
}

/// Whether the journal `command` names (`--state`, else the one beside `package`) shows the
/// package uploaded.
fn journal_shows_upload(command: &Submit, package: &Path) -> bool {
    matches!(journal(command, package).load(), Ok(Some(state)) if state.uploaded_etag.is_some() || state.committed)
}

/// The journal of `command`: `--state`, else beside the package.
fn journal(command: &Submit, package: &Path) -> FileStateStore {
    match &command.state {
        Some(path) => FileStateStore::new(path),
        None => FileStateStore::beside(package, JOURNAL_SUFFIX),
    }
}

/// What hwdc's journals are named after: the package (or a batch entry's output) with this
/// added.
pub(crate) const JOURNAL_SUFFIX: &str = ".hwdc.json";

/// What `submit` (or a batch entry) has checked of its local input before signing in: what
/// to ship, and its journal, locked.
pub(crate) struct Local {
    /// What to ship.
    work: Work,
    /// The journal.
    store: FileStateStore,
    /// The journal's lock, held from here on.
    lock: StateLock,
    /// Warnings of the pre-flight rules, told once signed in.
    warnings: Vec<hw_package::driver_check::Finding>,
}

/// What a `submit` ships.
enum Work {
    /// A package (or a driver folder) and what its flags make of it.
    Package {
        /// The file to upload (the CAB to make of a driver folder).
        package: PathBuf,
        /// The package file or driver folder named.
        input: PathBuf,
        /// Whether the input is a driver folder to package first.
        folder: bool,
        /// Whether the package is gone and its journal shows it uploaded: nothing to check.
        uploaded: bool,
        /// The product: an id, or one to create.
        product: ProductChoice,
        /// The submission to create.
        submission: hw_api::types::NewSubmission,
        /// Whether nothing was sent for this work yet (the pre-flight rules of its submission
        /// are checked then only).
        fresh: bool,
    },
    /// Only the journal (`--state` without a package): the flow it records, continued.
    Journal(Box<ShipState>),
}

/// A usage error of `submit`'s flags.
fn usage(message: String) -> Failure {
    Failure::Local {
        kind: hw_api::ErrorKind::Config,
        message,
    }
}

/// Checks what `command` names on this machine, before any sign-in or request: the package (or
/// driver folder) exists, the flags make a product and a submission, the journal has a file of
/// its own and is not in use (cleared first with `--restart`). Without a package, the journal
/// of `--state` alone, which must show the package uploaded.
pub(crate) fn local(command: &Submit) -> Result<Local, Failure> {
    let Some(input) = &command.file else {
        return journal_alone(command);
    };
    let folder = input.is_dir();
    let package = if folder {
        upload_cab(&command.out)
    } else {
        input.clone()
    };
    // Gone after its upload (a later CI job carries only the journal): the flow goes on
    // without it.
    let absent = !folder && !package.is_file();
    let uploaded = absent && journal_shows_upload(command, &package);
    if absent && !uploaded {
        return Err(Failure::Local {
            kind: hw_api::ErrorKind::NotFound,
            message: format!("{} is not a file or a driver folder", input.display()),
        });
    }
    let mut warnings = Vec::new();
    let product = match (command.product, &command.create_product) {
        (Some(product), _) => ProductChoice::Id(Id(product)),
        (None, Some(name)) => {
            let body = new_product(
                name,
                command.harness,
                &command.signatures,
                &[],
                "internal",
                None,
                false,
            )?;
            if !command.no_check {
                warnings = new_product_rules(&body)?;
            }
            ProductChoice::Named(Box::new(body))
        }
        (None, None) => {
            return Err(usage(
                "give --product or --create-product with the package".into(),
            ));
        }
    };
    let name = command
        .name
        .as_deref()
        .ok_or_else(|| usage("give the submission's --name with the package".into()))?;
    let submission = new_submission(name, command.kind)?;
    let store = journal(command, &package)
        .with_remedy("discard it to start over (--restart) or name another (--state)");
    let same = |a: &std::path::Path, b: &std::path::Path| {
        a == b
            || std::fs::canonicalize(a)
                .ok()
                .is_some_and(|a| std::fs::canonicalize(b).ok() == Some(a))
    };
    if same(store.path(), &package) || same(store.path(), &command.out) {
        return Err(usage(format!(
            "--state {} is the package or the output: give the journal a file of its own",
            store.path().display()
        )));
    }
    let inside_folder = folder
        && std::path::absolute(store.path())
            .ok()
            .zip(std::fs::canonicalize(input).ok())
            .is_some_and(|(state, dir)| {
                std::fs::canonicalize(state.parent().unwrap_or(&state))
                    .is_ok_and(|parent| parent.starts_with(dir))
            });
    if inside_folder {
        return Err(usage(format!(
            "--state {} is inside the driver folder, which would pack it: keep the journal elsewhere",
            store.path().display()
        )));
    }
    let lock = locked(command, &store)?;
    // Nothing sent for this work yet: no journal, or the finished journal of earlier work
    // (which a new submission replaces).
    let fresh = match store.load() {
        Ok(Some(state)) => state.is_finished(),
        _ => true,
    };
    Ok(Local {
        work: Work::Package {
            package,
            input: input.clone(),
            folder,
            uploaded,
            product,
            submission,
            fresh,
        },
        store,
        lock,
        warnings,
    })
}

/// The pre-flight rules of the product `submit` would create, before signing in: an error
/// fails with every finding in its message; the warnings are returned, to be told.
fn new_product_rules(
    body: &hw_api::types::NewProduct,
) -> Result<Vec<hw_package::driver_check::Finding>, Failure> {
    let found = super::preflight::new_product(body);
    if check::count(&found).0 > 0 {
        let lines: Vec<String> = found.iter().map(ToString::to_string).collect();
        return Err(Failure::Local {
            kind: hw_api::ErrorKind::Rejected,
            message: format!(
                "the new product breaks a rule the service enforces (--no-check sends it anyway):\n{}",
                lines.join("\n")
            ),
        });
    }
    Ok(found)
}

/// The journal's lock: one run at a time per journal. A second run started while the first
/// still works (a pipeline's retry after a timeout) stops here, before it packages or uploads
/// anything. With `--restart`, the journal is cleared under the lock.
fn locked(command: &Submit, store: &FileStateStore) -> Result<StateLock, Failure> {
    let lock = store.lock()?;
    if command.restart {
        store.clear()?;
    }
    Ok(lock)
}

/// `submit --state JOURNAL` without a package: the journal must be there and show the package
/// uploaded; the product, the submission and the package's checksum are its own.
fn journal_alone(command: &Submit) -> Result<Local, Failure> {
    let Some(path) = &command.state else {
        return Err(usage(
            "give the package (or driver folder), or --state with the journal to continue".into(),
        ));
    };
    if command.restart {
        return Err(usage(
            "--restart needs the package: a journal alone cannot start over".into(),
        ));
    }
    let store = FileStateStore::new(path)
        .with_remedy("give the package and its flags to start over, or name another (--state)");
    let lock = locked(command, &store)?;
    let state = match store.load()? {
        Some(state) if state.uploaded_etag.is_some() || state.committed => state,
        Some(_) => {
            return Err(usage(format!(
                "the journal {} shows the package not uploaded yet: give the package too",
                path.display()
            )));
        }
        None => {
            return Err(Failure::Local {
                kind: hw_api::ErrorKind::NotFound,
                message: format!(
                    "there is no journal {} to continue: give the package to start",
                    path.display()
                ),
            });
        }
    };
    Ok(Local {
        work: Work::Journal(Box::new(state)),
        store,
        lock,
        warnings: Vec::new(),
    })
}

/// Signed in, finishes what [`local`] began: checks the package against the product's
/// signatures (unless `--no-check`), or packages its driver folder, and makes the plan.
pub(crate) async fn prepare(
    ctx: &Ctx,
    client: &Client,
    account: &str,
    command: &Submit,
    local: Local,
) -> Result<Prepared, Failure> {
    let Local {
        work,
        store,
        lock,
        warnings,
    } = local;
    check::tell(ctx, &warnings);
    let plan = match work {
        Work::Journal(state) => {
            ShipPlan::continuing(&state, &command.out, account).ok_or_else(|| {
                usage(format!(
                    "the journal {} cannot be continued",
                    store.path().display()
                ))
            })?
        }
        Work::Package {
            package,
            input,
            folder,
            uploaded,
            product,
            submission,
            fresh,
        } => {
            // The submission's rules, before the flow makes it (not once it exists).
            let makes_one = fresh && command.submission.is_none() && !command.no_check;
            if let (ProductChoice::Id(id), true) = (&product, makes_one) {
                super::preflight::submission(ctx, client, *id, &submission.type_).await?;
            }
            let checked = Checked {
                package: &package,
                input: &input,
                folder,
                check: !command.no_check && !uploaded,
            };
            checked.run(ctx, client, command).await?;
            let plan = ShipPlan::new(&package, product, submission, &command.out, account);
            match command.submission {
                Some(submission) => plan.with_existing_submission(Id(submission)),
                None => plan,
            }
        }
    };
    let mut plan = plan.with_wait(command.wait.options());
    if let Some(until) = command.until {
        plan = plan.with_stop_after(until.stage());
    }
    Ok(Prepared { plan, store, lock })
}

/// A package about to be shipped: checked against the product's (or the new product's)
/// signatures, or packaged from its driver folder.
struct Checked<'a> {
    package: &'a Path,
    input: &'a PathBuf,
    folder: bool,
    /// Whether it is checked (not with `--no-check`, nor once uploaded).
    check: bool,
}

impl Checked<'_> {
    async fn run(&self, ctx: &Ctx, client: &Client, command: &Submit) -> Result<(), Failure> {
        let options = if self.check {
            let targets = Targets {
                signatures: command.signatures.clone(),
                product: command.product,
                mode: command.mode,
            };
            check::options(ctx, &targets, Some(client)).await?
        } else {
            CheckOptions::default()
        };
        if self.folder {
            // Packaged reproducibly: a re-run makes the same bytes, so the journal's package
            // checksum still matches and the flow continues.
            let (summary, _) = package::build(
                ctx,
                std::slice::from_ref(self.input),
                self.package,
                &options,
                command.no_check,
            )?;
            ctx.say(&format!(
                "packaged {} as {} ({} bytes)",
                self.input.display(),
                self.package.display(),
                summary.size
            ));
        } else if self.check && check::is_package_file(self.package) {
            let findings = check::findings(self.package, &options)?;
            check::tell(ctx, &findings);
            if check::count(&findings).0 > 0 {
                return Err(check::failed(
                    &self.package.display().to_string(),
                    &findings,
                ));
            }
        }
        Ok(())
    }
}
