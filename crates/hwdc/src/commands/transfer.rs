//! `hwdc upload` and `hwdc download`.

use std::path::Path;

use hw_api::types::DownloadType;
use hw_api::{Client, Id};

use super::Ctx;
use crate::cli::{Download, FileKind, SubmissionRef, Upload};
use crate::exit::Failure;
use crate::progress::Bytes;

/// Uploads `file` to the submission, with a progress bar.
pub(crate) async fn upload(
    ctx: &Ctx,
    client: &Client,
    at: SubmissionRef,
    file: &Path,
) -> Result<hw_api::transfer::UploadReport, Failure> {
    let bar = Bytes::new(ctx.out.progress, "uploading");
    let report = client
        .upload_package(Id(at.product), Id(at.submission), file, &bar)
        .await;
    bar.finish();
    Ok(report?)
}

/// Downloads the submission's file of `kind` to `out`, with a progress bar.
pub(crate) async fn download(
    ctx: &Ctx,
    client: &Client,
    at: SubmissionRef,
    kind: FileKind,
    out: &Path,
) -> Result<hw_api::transfer::DownloadReport, Failure> {
    let url = match kind {
        FileKind::ErrorReport => {
            let submission = client
                .get_submission(Id(at.product), Id(at.submission))
                .await?;
            submission
                .workflow_status
                .and_then(|w| w.error_report)
                .map(|u| u.expose().to_owned())
                .ok_or_else(|| Failure::Local {
                    kind: hw_api::ErrorKind::NotFound,
                    message: format!("submission {} has no error report", at.submission),
                })?
        }
        other => {
            let kind = match other {
                FileKind::Signed => DownloadType::SignedPackage,
                FileKind::Metadata => DownloadType::DriverMetadata,
                FileKind::Initial => DownloadType::InitialPackage,
                _ => DownloadType::DerivedPackage,
            };
            client
                .download_url(Id(at.product), Id(at.submission), kind)
                .await?
        }
    };
    let bar = Bytes::new(ctx.out.progress, "downloading");
    let report = client.download_from(&url, out, &bar).await;
    bar.finish();
    Ok(report?)
}

/// Whether `file` can be uploaded, checked before signing in.
fn uploadable(file: &Path) -> Result<(), Failure> {
    match std::fs::metadata(file) {
        Ok(meta) if meta.is_file() => Ok(()),
        Ok(_) => Err(Failure::Local {
            kind: hw_api::ErrorKind::Config,
            message: format!("{} is not a file", file.display()),
        }),
        Err(e) => Err(Failure::Local {
            kind: if e.kind() == std::io::ErrorKind::NotFound {
                hw_api::ErrorKind::NotFound
            } else {
                hw_api::ErrorKind::LocalIo
            },
            message: format!("cannot read {}: {e}", file.display()),
        }),
    }
}

/// Whether a download can be written to `out` (its folder exists), checked before signing in.
fn writable_target(out: &Path) -> Result<(), Failure> {
    let folder = match out.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent,
        _ => Path::new("."),
    };
    if out.is_dir() {
        return Err(Failure::Local {
            kind: hw_api::ErrorKind::Config,
            message: format!("{} is a folder: give the file to write", out.display()),
        });
    }
    if !folder.is_dir() {
        return Err(Failure::Local {
            kind: hw_api::ErrorKind::NotFound,
            message: format!(
                "cannot write {}: the folder {} does not exist",
                out.display(),
                folder.display()
            ),
        });
    }
    Ok(())
}

/// Runs `upload`.
pub(crate) async fn run_upload(ctx: &Ctx, command: Upload) -> Result<(), Failure> {
    uploadable(&command.file)?;
    let client = ctx.client().await?;
    let report = upload(ctx, &client, command.at, &command.file).await?;
    ctx.out.done(
        &format!(
            "Uploaded {} bytes to submission {} ({} blocks, {} already there{}).",
            report.bytes,
            command.at.submission,
            report.blocks,
            report.blocks_reused,
            cleared(report.foreign_blocks_cleared)
        ),
        crate::results::Uploaded {
            product: command.at.product,
            submission: command.at.submission,
            sha256: sha256(&command.file).await,
            file: command.file,
            bytes: report.bytes,
            content_md5: report.content_md5,
            blocks: report.blocks,
            blocks_reused: report.blocks_reused,
            foreign_blocks_cleared: report.foreign_blocks_cleared,
        },
    );
    Ok(())
}

/// The SHA-256 of a file just sent or written, for the result object: `None` (with a warning)
/// when it cannot be read again, which does not undo the transfer that succeeded.
async fn sha256(path: &Path) -> Option<String> {
    let owned = path.to_owned();
    let read = tokio::task::spawn_blocking(move || hw_package::digest::sha256_file(&owned)).await;
    match read.map_err(std::io::Error::other).and_then(|read| read) {
        Ok((_, sha256)) => Some(sha256),
        Err(e) => {
            tracing::warn!("cannot read {} again for its SHA-256: {e}", path.display());
            None
        }
    }
}

/// The note on blocks of another tool cleared before an upload, if there were any.
pub(crate) fn cleared(blocks: usize) -> String {
    match blocks {
        0 => String::new(),
        n => format!("; {n} uncommitted blocks of another tool were cleared first"),
    }
}

/// Runs `download`.
pub(crate) async fn run_download(ctx: &Ctx, command: Download) -> Result<(), Failure> {
    writable_target(&command.out)?;
    let client = ctx.client().await?;
    let report = download(ctx, &client, command.at, command.kind, &command.out).await?;
    ctx.out.done(
        &format!(
            "Downloaded {} bytes to {}{}.",
            report.bytes,
            command.out.display(),
            if report.md5_verified {
                " (MD5 verified)"
            } else {
                ""
            }
        ),
        crate::results::Downloaded {
            product: command.at.product,
            submission: command.at.submission,
            kind: clap::ValueEnum::to_possible_value(&command.kind)
                .map(|v| v.get_name().to_owned()),
            sha256: sha256(&command.out).await,
            path: command.out,
            bytes: report.bytes,
            resumed_from: report.resumed_from,
            md5_verified: report.md5_verified,
        },
    );
    Ok(())
}
