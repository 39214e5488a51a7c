//! `hwdc package`: the attestation CAB built from driver folders, checked first.

use std::path::{Path, PathBuf};

use hw_package::cabinet::{self, CabinetSummary};
use hw_package::driver_check::{self, CheckOptions, Finding};
use hw_package::driver_package::DriverPackage;

use super::Ctx;
use super::check::{count, failed, options, package_failure, report};
use crate::ci_findings::Base;
use crate::cli::Package;
use crate::exit::Failure;

/// Refuses an output inside one of the folders: the next run would pack the CAB into itself.
fn outside_folders(folders: &[PathBuf], out: &Path) -> Result<(), Failure> {
    let out_dir = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let Ok(out_dir) = std::fs::canonicalize(out_dir) else {
        return Ok(());
    };
    for folder in folders {
        if let Ok(folder) = std::fs::canonicalize(folder)
            && out_dir.starts_with(&folder)
        {
            return Err(Failure::Local {
                kind: hw_api::ErrorKind::Config,
                message: format!(
                    "{} is inside the driver folder {}: write the CAB elsewhere",
                    out.display(),
                    folder.display()
                ),
            });
        }
    }
    Ok(())
}

/// Reads the folders, checks them (unless `no_check`), and writes the cabinet: its summary and
/// the findings (warnings only, and the signing reminder), which a person is told on standard
/// error. Errors stop it before anything is written (exit 5).
pub(crate) fn build(
    ctx: &Ctx,
    folders: &[PathBuf],
    out: &Path,
    options: &CheckOptions,
    no_check: bool,
) -> Result<(CabinetSummary, Vec<Finding>), Failure> {
    outside_folders(folders, out)?;
    let package = DriverPackage::from_folders(folders).map_err(package_failure)?;
    let mut findings = if no_check {
        Vec::new()
    } else {
        driver_check::check_package(&package, options).map_err(package_failure)?
    };
    let what = match folders {
        [one] => one.display().to_string(),
        _ => "the package".to_owned(),
    };
    let base = Base::Folders(folders.to_vec(), Some(out.to_owned()));
    if count(&findings).0 > 0 {
        report(ctx, &what, &base, &findings);
        return Err(failed(&what, &findings));
    }
    let summary = cabinet::write_cabinet(&package, out).map_err(package_failure)?;
    findings.push(driver_check::signing_reminder(out));
    report(ctx, &what, &base, &findings);
    Ok((summary, findings))
}

/// Runs `package`.
pub(crate) async fn run(ctx: &Ctx, command: Package) -> Result<(), Failure> {
    let options = options(ctx, &command.targets, None).await?;
    let (summary, findings) = build(
        ctx,
        &command.folders,
        &command.out,
        &options,
        command.no_check,
    )?;
    let files: usize = summary.folders.iter().map(|f| f.files).sum();
    let sentence = format!(
        "Wrote {} ({} bytes, {} folder(s), {files} file(s), SHA-256 {}).",
        summary.path.display(),
        summary.size,
        summary.folders.len(),
        summary.sha256
    );
    if ctx.out.format.is_for_findings() {
        // Standard output holds the findings; the result is told.
        ctx.say(&sentence);
        return Ok(());
    }
    ctx.out.done(
        &sentence,
        crate::results::Packaged {
            cab: summary.path.clone(),
            bytes: summary.size,
            sha256: summary.sha256.clone(),
            folders: summary.folders.clone(),
            findings,
        },
    );
    Ok(())
}
