//! `hwdc submit`: the whole flow for one package, resumable through its journal
//! (`hw_api::ship`).

use hw_api::Id;
use hw_api::ship::{FileStateStore, ProductChoice, ShipEvent, ShipPlan, StateStore, Transfers};
use serde_json::json;

use super::Ctx;
use super::products::new_product;
use super::submissions::new_submission;
use crate::cli::Submit;
use crate::config;
use crate::exit::Failure;
use crate::progress::{Bytes, Spinner};
use crate::rows::submission_status;

/// Runs `submit`.
pub async fn run(ctx: &Ctx, command: Submit) -> Result<(), Failure> {
    let config::Connected { client, account } = ctx.connect().await?;
    if !command.file.is_file() {
        return Err(Failure::Local {
            kind: "not_found",
            message: format!("{} is not a file", command.file.display()),
        });
    }
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
    let plan = ShipPlan::new(
        &command.file,
        product,
        new_submission(&command.name, command.kind)?,
        &command.out,
        account,
    )
    .with_wait(command.wait.options());
    let plan = match command.submission {
        Some(submission) => plan.with_existing_submission(Id(submission)),
        None => plan,
    };
    let store = match &command.state {
        Some(path) => FileStateStore::new(path),
        None => FileStateStore::beside(&command.file),
    };
    let same = |a: &std::path::Path, b: &std::path::Path| {
        a == b
            || std::fs::canonicalize(a)
                .ok()
                .is_some_and(|a| std::fs::canonicalize(b).ok() == Some(a))
    };
    if same(store.path(), &command.file) || same(store.path(), &command.out) {
        return Err(Failure::Local {
            kind: "usage",
            message: format!(
                "--state {} is the package or the output: give the journal a file of its own",
                store.path().display()
            ),
        });
    }
    // One run at a time per journal: a second run started while the first still works (a
    // pipeline's retry after a timeout) stops here.
    let lock = store.lock()?;
    if command.restart {
        store.clear()?;
    }
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
