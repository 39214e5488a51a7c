//! `hwdc preprod …`: pre-production signing. The upload creates a package and no API lists
//! packages, so an upload whose answer was lost cannot be settled by asking: `preprod submit`
//! keeps a journal, written before the upload is sent, and never sends the same file twice
//! without `--restart`.

use std::path::{Path, PathBuf};

use hw_api::types::{PreprodAsset, PreprodPackage};
use hw_api::{Client, ErrorKind};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use super::Ctx;
use crate::cli::{Preprod, PreprodDownload, PreprodSubmit};
use crate::exit::Failure;
use crate::output::Row;
use crate::progress::Spinner;
use crate::results::PreprodResult;

impl Row for PreprodPackage {
    const COLUMNS: &'static [(&'static str, usize)] =
        &[("ID", 38), ("STATUS", 10), ("ASSETS", 6), ("MODIFIED", 0)];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.signing_status
                .as_ref()
                .map(ToString::to_string)
                .unwrap_or_default(),
            self.assets.len().to_string(),
            self.last_modified.clone().unwrap_or_default(),
        ]
    }
}

impl Row for PreprodAsset {
    const COLUMNS: &'static [(&'static str, usize)] = &[("ID", 44), ("TYPE", 16), ("CREATED", 0)];

    fn cells(&self) -> Vec<String> {
        vec![
            self.id.clone(),
            self.asset_type.clone().unwrap_or_default(),
            self.created_date.clone().unwrap_or_default(),
        ]
    }
}

/// What `preprod submit` keeps beside the file.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
#[serde(rename_all = "camelCase")]
struct Journal {
    version: u32,
    /// The SHA-256 of the file sent.
    sha256: String,
    /// The package the service made of it; `None` once sent while the answer is not known.
    package: Option<String>,
}

fn local(kind: ErrorKind, message: String) -> Failure {
    Failure::Local { kind, message }
}

fn journal_path(command: &PreprodSubmit) -> PathBuf {
    command.state.clone().unwrap_or_else(|| {
        let mut name = command.file.as_os_str().to_owned();
        name.push(".preprod.json");
        PathBuf::from(name)
    })
}

fn read_journal(path: &Path) -> Result<Option<Journal>, Failure> {
    match std::fs::read(path) {
        Ok(bytes) => serde_json::from_slice(&bytes).map(Some).map_err(|e| {
            local(
                ErrorKind::Config,
                format!(
                    "{} is not a preprod journal ({e}): remove it or use --restart",
                    path.display()
                ),
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(local(
            ErrorKind::LocalIo,
            format!("cannot read {}: {e}", path.display()),
        )),
    }
}

/// Writes the journal through a temporary file and a rename (which replaces the old one on
/// Windows too), so a crash leaves the old journal or the new one.
fn write_journal(path: &Path, journal: &Journal) -> Result<(), Failure> {
    let mut temporary = path.as_os_str().to_owned();
    temporary.push(".new");
    let temporary = PathBuf::from(temporary);
    let bytes = serde_json::to_vec_pretty(journal).unwrap_or_default();
    std::fs::write(&temporary, bytes)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| {
            local(
                ErrorKind::LocalIo,
                format!("cannot write the journal {}: {e}", path.display()),
            )
        })
}

/// The package id of `command`'s file: the journal's, or a new upload's.
async fn package_of(
    ctx: &Ctx,
    client: &Client,
    command: &PreprodSubmit,
    bytes: bytes::Bytes,
    sha256: String,
) -> Result<(String, bool), Failure> {
    let path = journal_path(command);
    match read_journal(&path)? {
        Some(journal) if command.restart => drop(journal),
        Some(Journal { sha256: other, .. }) if other != sha256 => {
            return Err(local(
                ErrorKind::Config,
                format!(
                    "the journal {} is of another file (SHA-256 {other}): use --restart to send this one as a new package, or --state to keep both",
                    path.display()
                ),
            ));
        }
        Some(Journal {
            package: Some(package),
            ..
        }) => {
            ctx.say(&format!(
                "continuing with package {package} (from {})",
                path.display()
            ));
            return Ok((package, false));
        }
        Some(_) => {
            return Err(local(
                ErrorKind::Ambiguous,
                format!(
                    "an earlier run sent {} and got no clear answer, and no API lists pre-production packages, so whether a package was made cannot be checked: look in Partner Center; `hwdc preprod wait ID` continues with a package you find there, and --restart sends the file again",
                    command.file.display()
                ),
            ));
        }
        None => {}
    }
    let mut journal = Journal {
        version: 1,
        sha256,
        package: None,
    };
    write_journal(&path, &journal)?;
    match client.upload_preprod_package(bytes).await {
        Ok(package) => {
            journal.package = Some(package.id.clone());
            write_journal(&path, &journal)?;
            ctx.say(&format!("package {} received", package.id));
            Ok((package.id, true))
        }
        Err(e) => {
            // Refused, or never sent: nothing was made, and a re-run sends it. An unclear
            // outcome keeps the journal, which then stops a blind resend.
            if e.kind() != ErrorKind::Ambiguous {
                let _ = std::fs::remove_file(&path);
            }
            Err(e.into())
        }
    }
}

async fn wait(
    ctx: &Ctx,
    client: &Client,
    package: &str,
    wait: &crate::cli::WaitArgs,
) -> Result<PreprodPackage, Failure> {
    let spinner = Spinner::new(ctx.out.progress, &format!("package {package}"));
    let result = client
        .wait_for_preprod_package(package, &wait.options(), &mut |p| {
            if let Some(status) = &p.signing_status {
                spinner.set(status.to_string());
            }
        })
        .await;
    spinner.finish();
    Ok(result?)
}

/// The asset to download: the one named, or the package's only one.
async fn asset(client: &Client, package: &str, named: Option<&str>) -> Result<String, Failure> {
    if let Some(asset) = named {
        return Ok(asset.to_owned());
    }
    let assets = client.list_preprod_assets(package).await?;
    match assets.as_slice() {
        [only] => Ok(only.id.clone()),
        [] => Err(local(
            ErrorKind::NotFound,
            format!("package {package} has no signed asset (yet)"),
        )),
        more => Err(local(
            ErrorKind::Config,
            format!(
                "package {package} has {} assets ({}): name one with --asset",
                more.len(),
                more.iter()
                    .map(|a| a.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )),
    }
}

async fn submit(ctx: &Ctx, command: PreprodSubmit) -> Result<(), Failure> {
    let bytes = std::fs::read(&command.file).map_err(|e| {
        let kind = if e.kind() == std::io::ErrorKind::NotFound {
            ErrorKind::NotFound
        } else {
            ErrorKind::LocalIo
        };
        local(kind, format!("cannot read {}: {e}", command.file.display()))
    })?;
    let sha256: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let client = ctx.client().await?;
    let (package, uploaded) = package_of(ctx, &client, &command, bytes.into(), sha256).await?;
    let mut result = PreprodResult {
        package: package.clone(),
        signing_status: None,
        uploaded,
        out: None,
        bytes: None,
    };
    let Some(out) = &command.out else {
        let current = client.get_preprod_package(&package).await?;
        result.signing_status = current.signing_status.map(|s| s.to_string());
        ctx.out.done(
            &format!(
                "Package {package} sent for pre-production signing; `hwdc preprod wait {package}` waits for it."
            ),
            &result,
        );
        return Ok(());
    };
    let signed = wait(ctx, &client, &package, &command.wait).await?;
    result.signing_status = signed.signing_status.map(|s| s.to_string());
    let asset = asset(&client, &package, None).await?;
    let size = client.download_preprod_asset(&package, &asset, out).await?;
    result.out = Some(out.clone());
    result.bytes = Some(size);
    ctx.out.done(
        &format!(
            "Package {package} signed; its files are in {} ({size} bytes).",
            out.display()
        ),
        &result,
    );
    Ok(())
}

async fn download(ctx: &Ctx, command: PreprodDownload) -> Result<(), Failure> {
    let client = ctx.client().await?;
    let package = &command.package;
    let asset = asset(&client, package, command.asset.as_deref()).await?;
    let size = client
        .download_preprod_asset(package, &asset, &command.out)
        .await?;
    ctx.out.done(
        &format!(
            "Asset {asset} of package {package} written to {} ({size} bytes).",
            command.out.display()
        ),
        &PreprodResult {
            package: package.clone(),
            signing_status: None,
            uploaded: false,
            out: Some(command.out.clone()),
            bytes: Some(size),
        },
    );
    Ok(())
}

/// Runs a preprod command.
pub(crate) async fn run(ctx: &Ctx, command: Preprod) -> Result<(), Failure> {
    match command {
        Preprod::Submit(c) => submit(ctx, c).await,
        Preprod::Download(c) => download(ctx, c).await,
        Preprod::Get { package } => {
            let client = ctx.client().await?;
            ctx.out.item(&client.get_preprod_package(&package).await?);
            Ok(())
        }
        Preprod::Wait { package, wait: w } => {
            let client = ctx.client().await?;
            let done = wait(ctx, &client, &package, &w).await?;
            ctx.out.item(&done);
            Ok(())
        }
        Preprod::Assets { package } => {
            let client = ctx.client().await?;
            let assets = client.list_preprod_assets(&package).await?;
            ctx.out
                .list(futures_util::stream::iter(assets.into_iter().map(Ok)), None)
                .await?;
            Ok(())
        }
    }
}
