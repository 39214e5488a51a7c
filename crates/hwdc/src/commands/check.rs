//! `hwdc check`: the package rules a driver folder, a CAB or an HLKX can be held to before it
//! is uploaded.

use std::path::Path;

use hw_api::{Client, Id};
use hw_package::cabinet;
use hw_package::driver_check::{self, CheckOptions, Finding, Severity};
use hw_package::driver_package::{DriverPackage, PackageError};

use super::Ctx;
use crate::ci_findings::Base;
use crate::cli::{Check, Targets};
use crate::exit::Failure;
use crate::output::Row;

impl Row for Finding {
    const COLUMNS: &'static [(&'static str, usize)] =
        &[("SEVERITY", 8), ("WHERE", 28), ("RULE", 4), ("MESSAGE", 0)];

    fn cells(&self) -> Vec<String> {
        let severity = match self.severity {
            Severity::Error => "error",
            _ => "warning",
        };
        let place = match self.line {
            Some(line) => format!("{}:{line}", self.file.display()),
            None => self.file.display().to_string(),
        };
        vec![
            severity.into(),
            place,
            self.rule.into(),
            self.message.clone(),
        ]
    }
}

/// A package that cannot be read: a missing path is "not found", the rest local errors.
pub(crate) fn package_failure(error: PackageError) -> Failure {
    let kind = match &error {
        PackageError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            hw_api::ErrorKind::NotFound
        }
        PackageError::NotAFolder(_)
        | PackageError::DuplicateFolder(_)
        | PackageError::DuplicateFile(_)
        | PackageError::EmptyFolder(_) => hw_api::ErrorKind::Config,
        _ => hw_api::ErrorKind::LocalIo,
    };
    Failure::Local {
        kind,
        message: hw_api::Report::new(&error).to_string(),
    }
}

/// The check options `targets` describe: the OS codes given, or those the product requests
/// (read with `client`, made only when needed).
pub(crate) async fn options(
    ctx: &Ctx,
    targets: &Targets,
    client: Option<&Client>,
) -> Result<CheckOptions, Failure> {
    let base = CheckOptions::default().with_mode(targets.mode);
    let Some(product) = targets.product else {
        return Ok(base.with_signatures(targets.signatures.iter().cloned()));
    };
    let owned;
    let client = match client {
        Some(client) => client,
        None => {
            owned = ctx.client().await?;
            &owned
        }
    };
    let product = client.get_product(Id(product)).await?;
    let codes = product
        .requested_signatures
        .iter()
        .map(|c| c.as_str().to_owned());
    Ok(base.with_signatures(codes))
}

/// Whether `path` names a package `check` reads (a `.cab` or an `.hlkx`).
pub(crate) fn is_package_file(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("cab") || e.eq_ignore_ascii_case("hlkx"))
}

/// The findings for `path`: a driver folder, a `.cab` or an `.hlkx`.
pub(crate) fn findings(path: &Path, options: &CheckOptions) -> Result<Vec<Finding>, Failure> {
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let found = match extension.as_deref() {
        _ if path.is_dir() => {
            let package = DriverPackage::from_folders(&[path.to_owned()]);
            driver_check::check_package(&package.map_err(package_failure)?, options)
        }
        Some("cab") => {
            let package = cabinet::read_cabinet(path).map_err(package_failure)?;
            driver_check::check_package(&package, options).map(|mut found| {
                found.push(driver_check::signing_reminder(path));
                found
            })
        }
        Some("hlkx") => hw_package::hlkx::check_hlkx(path),
        _ if !path.exists() => {
            return Err(Failure::Local {
                kind: hw_api::ErrorKind::NotFound,
                message: format!("{} does not exist", path.display()),
            });
        }
        _ => {
            return Err(Failure::Local {
                kind: hw_api::ErrorKind::Config,
                message: format!(
                    "{}: give a driver folder, a .cab or an .hlkx",
                    path.display()
                ),
            });
        }
    };
    found.map_err(package_failure)
}

/// The number of errors and of warnings.
pub(crate) fn count(findings: &[Finding]) -> (usize, usize) {
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    (errors, findings.len() - errors)
}

/// The failure (exit 5) of a check of `what` with errors.
pub(crate) fn failed(what: &str, findings: &[Finding]) -> Failure {
    let (errors, warnings) = count(findings);
    Failure::Local {
        kind: hw_api::ErrorKind::Rejected,
        message: format!("{what} has {errors} error(s) and {warnings} warning(s)"),
    }
}

/// Reports the findings about `what` (at `base`): in a format of findings for CI (`--output
/// sarif|github|azure`), on standard output; else as [`tell`] does.
pub(crate) fn report(ctx: &Ctx, what: &str, base: &Base, findings: &[Finding]) {
    if ctx.out.format.is_for_findings() {
        crate::ci_findings::print(ctx.out.format, what, base, findings);
    } else {
        tell(ctx, findings);
    }
}

/// Tells a person each finding, on standard error (for commands whose result is something
/// else).
pub(crate) fn tell(ctx: &Ctx, findings: &[Finding]) {
    for finding in findings {
        ctx.say(&finding.to_string());
    }
}

/// Runs `check`: every finding, then exit 5 when one is an error.
pub(crate) async fn run(ctx: &Ctx, command: Check) -> Result<(), Failure> {
    let options = options(ctx, &command.targets, None).await?;
    let path = &command.path;
    let findings = findings(path, &options)?;
    let (errors, warnings) = count(&findings);
    let failure = (errors > 0).then(|| failed(&path.display().to_string(), &findings));
    if ctx.out.format.is_for_findings() {
        let base = if path.is_dir() {
            Base::Folders(vec![path.clone()], None)
        } else {
            Base::Package(path.clone())
        };
        report(ctx, &path.display().to_string(), &base, &findings);
    } else {
        ctx.out
            .list(
                futures_util::stream::iter(findings.into_iter().map(Ok)),
                None,
            )
            .await?;
    }
    if let Some(failure) = failure {
        return Err(failure);
    }
    ctx.say(&format!(
        "{}: no errors, {warnings} warning(s) ({} rules)",
        path.display(),
        options.mode
    ));
    Ok(())
}
