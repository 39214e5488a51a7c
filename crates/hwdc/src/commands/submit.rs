//! `hwdc submit`: the whole flow for one package, resumable.

use futures_util::TryStreamExt;
use hw_api::Id;
use hw_api::types::CommitStatus;
use serde_json::json;

use super::Ctx;
use super::products::new_product;
use super::submissions::{new_submission, wait};
use super::transfer::{download, upload};
use crate::cli::{FileKind, SubmissionRef, Submit};
use crate::exit::Failure;

/// Runs `submit`.
pub async fn run(ctx: &Ctx, command: Submit) -> Result<(), Failure> {
    let client = ctx.client()?;
    if !command.file.is_file() {
        return Err(Failure::Local {
            kind: "not_found",
            message: format!("{} is not a file", command.file.display()),
        });
    }
    let product = match (command.product, &command.create_product) {
        (Some(product), _) => Id(product),
        (None, Some(name)) => {
            // A re-run finds the product the first run made (streamed: no list in memory).
            let named = client.list_products().try_filter(|p| {
                futures_util::future::ready(p.product_name.as_deref() == Some(name.as_str()))
            });
            let mut named = std::pin::pin!(named);
            let first = named.try_next().await?;
            let second = if first.is_some() {
                named.try_next().await?
            } else {
                None
            };
            let product = match (first, second) {
                (Some(one), None) => one,
                (Some(_), Some(_)) => {
                    return Err(Failure::Local {
                        kind: "usage",
                        message: format!(
                            "several products are named {name:?}; give --product instead"
                        ),
                    });
                }
                (None, _) => {
                    let body = new_product(
                        name,
                        command.harness,
                        &command.signatures,
                        &[],
                        "internal",
                        None,
                        false,
                    )?;
                    client.create_product_once(&body).await?
                }
            };
            ctx.say(&format!("product {} ({name})", product.id));
            product.id
        }
        (None, None) => unreachable!("clap requires --product or --create-product"),
    };
    let body = new_submission(&command.name, command.kind)?;
    let submission = client.create_submission_once(product, &body).await?;
    let at = SubmissionRef {
        product: product.get(),
        submission: submission.id.get(),
    };
    ctx.say(&format!("submission {} ({})", submission.id, command.name));
    if submission
        .commit_status
        .as_ref()
        .is_none_or(|s| *s == CommitStatus::CommitPending)
    {
        let report = upload(ctx, &client, at, &command.file).await?;
        ctx.say(&format!(
            "uploaded {} bytes ({} blocks, {} already there)",
            report.bytes, report.blocks, report.blocks_reused
        ));
        client.commit_submission(product, submission.id).await?;
        ctx.say("committed; waiting for Microsoft to sign it");
    } else {
        ctx.say("already committed; waiting for Microsoft to sign it");
    }
    wait(ctx, &client, at, &command.wait.options()).await?;
    let report = download(ctx, &client, at, FileKind::Signed, &command.out).await?;
    ctx.out.done(
        &format!(
            "Signed package of submission {} written to {} ({} bytes).",
            submission.id,
            command.out.display(),
            report.bytes
        ),
        json!({
            "product": product.get(),
            "submission": submission.id.get(),
            "signed_package": command.out,
            "bytes": report.bytes,
            "md5_verified": report.md5_verified,
        }),
    );
    Ok(())
}
