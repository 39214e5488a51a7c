//! `hwdc submit`: the whole flow for one package, resumable through its journal
//! (`hw_api::ship`).

use std::path::{Path, PathBuf};

use hw_api::ship::{
    FileStateStore, ProductChoice, ShipEvent, ShipPlan, StateLock, StateStore, Transfers,
};
use hw_api::{Client, Id};
use hw_package::driver_check::CheckOptions;
use serde_json::json;

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
        ShipEvent::Submission(id) => ctx.say(&format!("submission {id} ({})", command.name)),
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
    ctx.out.done(
        &format!(
            "Signed package of submission {} written to {} ({} bytes).",
            report.submission,
            command.out.display(),
            report.download.bytes
        ),
        json!({
            "product": report.product.get(),
            "submission": report.submission.get(),
            "signed_package": command.out,
            "bytes": report.download.bytes,
            "md5_verified": report.download.md5_verified,
            "sha256": report.signed_sha256,
        }),
    );
    Ok(())
}

/// What hwdc's journals are named after: the package (or a batch entry's output) with this
/// added.
pub(crate) const JOURNAL_SUFFIX: &str = ".hwdc.json";

/// What `submit` (or a batch entry) has checked of its local input before signing in: the
/// package, the flags and the journal, locked.
pub(crate) struct Local {
    /// The file to upload (the CAB to make of a driver folder).
    package: PathBuf,
    /// Whether the input is a driver folder to package first.
    folder: bool,
    /// The product: an id, or one to create.
    product: ProductChoice,
    /// The submission to create.
    submission: hw_api::types::NewSubmission,
    /// The journal.
    store: FileStateStore,
    /// The journal's lock, held from here on.
    lock: StateLock,
}

/// Checks what `command` names on this machine, before any sign-in or request: the package (or
/// driver folder) exists, the flags make a product and a submission, the journal has a file of
/// its own and is not in use (cleared first with `--restart`).
pub(crate) fn local(command: &Submit) -> Result<Local, Failure> {
    let folder = command.file.is_dir();
    let package = if folder {
        upload_cab(&command.out)
    } else if command.file.is_file() {
        command.file.clone()
    } else {
        return Err(Failure::Local {
            kind: hw_api::ErrorKind::NotFound,
            message: format!(
                "{} is not a file or a driver folder",
                command.file.display()
            ),
        });
    };
    let product = match (command.product, &command.create_product) {
        (Some(product), _) => ProductChoice::Id(Id(product)),
        (None, Some(name)) => ProductChoice::Named(Box::new(new_product(
            name,
            command.harness,
            &command.signatures,
            &[],
            "internal",
            None,
            false,
        )?)),
        (None, None) => unreachable!("clap requires --product or --create-product"),
    };
    let submission = new_submission(&command.name, command.kind)?;
    let store = match &command.state {
        Some(path) => FileStateStore::new(path),
        None => FileStateStore::beside(&package, JOURNAL_SUFFIX),
    }
    .with_remedy("discard it to start over (--restart) or name another (--state)");
    let same = |a: &std::path::Path, b: &std::path::Path| {
        a == b
            || std::fs::canonicalize(a)
                .ok()
                .is_some_and(|a| std::fs::canonicalize(b).ok() == Some(a))
    };
    if same(store.path(), &package) || same(store.path(), &command.out) {
        return Err(Failure::Local {
            kind: hw_api::ErrorKind::Config,
            message: format!(
                "--state {} is the package or the output: give the journal a file of its own",
                store.path().display()
            ),
        });
    }
    let inside_folder = folder
        && std::path::absolute(store.path())
            .ok()
            .zip(std::fs::canonicalize(&command.file).ok())
            .is_some_and(|(state, dir)| {
                std::fs::canonicalize(state.parent().unwrap_or(&state))
                    .is_ok_and(|parent| parent.starts_with(dir))
            });
    if inside_folder {
        return Err(Failure::Local {
            kind: hw_api::ErrorKind::Config,
            message: format!(
                "--state {} is inside the driver folder, which would pack it: keep the journal elsewhere",
                store.path().display()
            ),
        });
    }
    // One run at a time per journal: a second run started while the first still works (a
    // pipeline's retry after a timeout) stops here, before it packages or uploads anything.
    let lock = store.lock()?;
    if command.restart {
        store.clear()?;
    }
    Ok(Local {
        package,
        folder,
        product,
        submission,
        store,
        lock,
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
        package,
        folder,
        product,
        submission,
        store,
        lock,
    } = local;
    // Checked against the product's (or the new product's) signatures, unless --no-check.
    let options = if command.no_check {
        CheckOptions::default()
    } else {
        let targets = Targets {
            signatures: command.signatures.clone(),
            product: command.product,
        };
        check::options(ctx, &targets, Some(client)).await?
    };
    if folder {
        // Packaged reproducibly: a re-run makes the same bytes, so the journal's package
        // checksum still matches and the flow continues.
        let (summary, _) = package::build(
            ctx,
            std::slice::from_ref(&command.file),
            &package,
            &options,
            command.no_check,
        )?;
        ctx.say(&format!(
            "packaged {} as {} ({} bytes)",
            command.file.display(),
            package.display(),
            summary.size
        ));
    } else if !command.no_check && check::is_package_file(&package) {
        let findings = check::findings(&package, &options)?;
        check::tell(ctx, &findings);
        if check::count(&findings).0 > 0 {
            return Err(check::failed(&package.display().to_string(), &findings));
        }
    }
    let plan = ShipPlan::new(&package, product, submission, &command.out, account)
        .with_wait(command.wait.options());
    let plan = match command.submission {
        Some(submission) => plan.with_existing_submission(Id(submission)),
        None => plan,
    };
    Ok(Prepared { plan, store, lock })
}
