//! `hwdc submissions …`.

use hw_api::types::{DownloadType, NewSubmission, Submission, SubmissionType, SubmissionUpdate};
use hw_api::{Client, Id, WaitOptions};

use super::Ctx;
use crate::cli::{Kind, SubmissionRef, Submissions};
use crate::exit::Failure;
use crate::progress::Spinner;
use crate::rows::submission_status;

/// The body of a new submission.
pub(crate) fn new_submission(name: &str, kind: Kind) -> Result<NewSubmission, Failure> {
    Ok(NewSubmission {
        name: name.try_into().map_err(|e| Failure::Local {
            kind: hw_api::ErrorKind::Config,
            message: format!("not a valid submission name: {e}"),
        })?,
        type_: match kind {
            Kind::Initial => SubmissionType::Initial,
            Kind::Derived => SubmissionType::Derived,
        },
    })
}

/// Waits for a submission with a spinner showing the step.
pub(crate) async fn wait(
    ctx: &Ctx,
    client: &Client,
    at: SubmissionRef,
    options: &WaitOptions,
) -> Result<Submission, Failure> {
    let spinner = Spinner::new(ctx.out.progress, &format!("submission {}", at.submission));
    let result = client
        .wait_for_submission(Id(at.product), Id(at.submission), options, &mut |s| {
            spinner.set(submission_status(s));
        })
        .await;
    spinner.finish();
    Ok(result?)
}

/// Runs a submissions command.
pub(crate) async fn run(ctx: &Ctx, command: Submissions) -> Result<(), Failure> {
    // A new submission's name and kind are checked before signing in.
    if let Submissions::Create { name, kind, .. } = &command {
        new_submission(name, *kind)?;
    }
    let client = ctx.client().await?;
    match command {
        Submissions::List { product, limit } => {
            ctx.out
                .list(client.list_submissions(Id(product)), limit.limit)
                .await?;
        }
        Submissions::Get(at) => ctx.out.item(
            &client
                .get_submission(Id(at.product), Id(at.submission))
                .await?,
        ),
        Submissions::Create {
            product,
            name,
            kind,
            no_check,
        } => {
            let body = new_submission(&name, kind)?;
            if !no_check {
                super::preflight::submission(ctx, &client, Id(product), &body.type_).await?;
            }
            ctx.out
                .item(&client.create_submission_once(Id(product), &body).await?);
        }
        Submissions::Update { at, name } => {
            let name = name.try_into().map_err(|e| Failure::Local {
                kind: hw_api::ErrorKind::Config,
                message: format!("not a valid name: {e}"),
            })?;
            client
                .update_submission(
                    Id(at.product),
                    Id(at.submission),
                    &SubmissionUpdate { name },
                )
                .await?;
            ctx.out.done(
                &format!("Submission {} renamed.", at.submission),
                crate::results::SubmissionUpdated {
                    submission: at.submission,
                    updated: true,
                },
            );
        }
        Submissions::Status(at) => {
            let status = client
                .submission_status(Id(at.product), Id(at.submission))
                .await?;
            let mut line = format!("submission {}: {}", at.submission, status.progress);
            let parts = [
                (
                    "commit",
                    status.commit_status.as_ref().map(ToString::to_string),
                ),
                ("step", status.step.as_ref().map(ToString::to_string)),
                ("state", status.state.as_ref().map(ToString::to_string)),
            ];
            for (label, part) in parts {
                if let Some(part) = part {
                    line.push_str(&format!(", {label} {part}"));
                }
            }
            if status.has_signed_package {
                line.push_str(", signed package ready");
            }
            if let Some(report) = &status.error_report {
                line.push_str(&format!(" — error report: {}", report.replace('\n', " ")));
            }
            ctx.out.done(&line, &status);
        }
        Submissions::Commit(at) => {
            client
                .commit_submission(Id(at.product), Id(at.submission))
                .await?;
            ctx.out.done(
                &format!(
                    "Submission {} committed; Microsoft is processing it.",
                    at.submission
                ),
                crate::results::Committed {
                    product: at.product,
                    submission: at.submission,
                    committed: true,
                },
            );
        }
        Submissions::Wait { at, wait: args } => {
            let done = wait(ctx, &client, at, &args.options()).await?;
            ctx.out.item(&done);
        }
        Submissions::Metadata {
            at,
            wait_for_it,
            wait,
        } => metadata(ctx, &client, at, wait_for_it.then(|| wait.options())).await?,
        Submissions::Translate(t) => {
            let found = client
                .get_partner_submission(Id(t.publisher), Id(t.product), Id(t.submission))
                .await?;
            let product = found.product_id.get();
            ctx.out.done(
                &format!(
                    "Submission {} of product {} of publisher {} is submission {} of product {} in your account.",
                    t.submission,
                    t.product,
                    t.publisher,
                    found.id,
                    product
                ),
                &crate::results::Translated {
                    partner: crate::results::PartnerIds {
                        publisher: t.publisher,
                        product: t.product,
                        submission: t.submission,
                    },
                    product,
                    submission: found.id.get(),
                    name: found.name.clone(),
                },
            );
        }
    }
    Ok(())
}

/// `submissions metadata`: asks for the driver metadata, and waits for it when asked.
async fn metadata(
    ctx: &Ctx,
    client: &Client,
    at: SubmissionRef,
    wait: Option<WaitOptions>,
) -> Result<(), Failure> {
    let (product, submission) = (Id(at.product), Id(at.submission));
    client
        .create_publisher_metadata(product, submission)
        .await?;
    let mut result = crate::results::MetadataRequested {
        product: at.product,
        submission: at.submission,
        requested: true,
        ready: false,
    };
    let Some(options) = wait else {
        ctx.out.done(
            &format!(
                "Driver metadata of submission {} requested (it can take hours); `--wait` waits for it.",
                at.submission
            ),
            &result,
        );
        return Ok(());
    };
    let spinner = Spinner::new(ctx.out.progress, &format!("metadata of {}", at.submission));
    let done = client
        .wait_for_file(
            product,
            submission,
            DownloadType::DriverMetadata,
            &options,
            &mut |s| spinner.set(submission_status(s)),
        )
        .await;
    spinner.finish();
    done?;
    result.ready = true;
    ctx.out.done(
        &format!(
            "Driver metadata of submission {} is ready (`hwdc download {} {} --kind metadata -o FILE`).",
            at.submission, at.product, at.submission
        ),
        &result,
    );
    Ok(())
}
