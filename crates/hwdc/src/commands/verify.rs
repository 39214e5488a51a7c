//! `hwdc verify SIGNED --against SUBMITTED`: the signed package Microsoft returned, compared
//! file by file with the package submitted (`hw_package::verify`); exit 5 when a file is not
//! what was sent.

use hw_package::driver_package::PackageError;
use hw_package::verify::{FileVerdict, Verification, contents};

use super::Ctx;
use crate::cli::{OutputFormat, Verify};
use crate::exit::Failure;
use crate::output::Row;

impl Row for FileVerdict {
    const COLUMNS: &'static [(&'static str, usize)] =
        &[("FILE", 32), ("OUTCOME", 16), ("MESSAGE", 0)];

    fn cells(&self) -> Vec<String> {
        let outcome = serde_json::to_value(self.outcome)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default();
        vec![self.path.clone(), outcome, self.message.clone()]
    }
}

/// Why a package cannot be read, said with which of the two it is. A file that cannot be read
/// is a local error (or "not found"); a submitted package that is not one is a usage error; a
/// signed package that is malformed or hostile (an entry that leaves the package, a link, sizes
/// that lie) is a rejection, as a mismatch is.
fn failure(which: &str, path: &std::path::Path, signed: bool, error: PackageError) -> Failure {
    let message = format!(
        "{which} {}: {}",
        path.display(),
        hw_api::Report::new(&error)
    );
    let kind = match &error {
        PackageError::Io { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
            hw_api::ErrorKind::NotFound
        }
        PackageError::Io { .. } => hw_api::ErrorKind::LocalIo,
        _ if signed => hw_api::ErrorKind::Rejected,
        _ => hw_api::ErrorKind::Config,
    };
    Failure::Local { kind, message }
}

/// The sentence that ends the report.
fn summary(verification: &Verification) -> String {
    let failed = verification.files.iter().filter(|f| !f.passed).count();
    let checked = verification.files.len();
    if checked == 0 {
        "nothing to compare: neither package holds a file".to_owned()
    } else if failed == 0 {
        format!(
            "{checked} file(s): the signed package holds what was submitted (signatures not validated by this version)"
        )
    } else {
        format!("{failed} of {checked} file(s) are not what was submitted")
    }
}

/// Runs `verify`: every file's verdict, then exit 5 unless all passed.
pub(crate) async fn run(ctx: &Ctx, command: Verify) -> Result<(), Failure> {
    let submitted = contents::read(&command.against)
        .map_err(|e| failure("the submitted package", &command.against, false, e))?;
    let signed = contents::read(&command.signed)
        .map_err(|e| failure("the signed package", &command.signed, true, e))?;
    let verification = hw_package::verify::verify_contents(&signed, &submitted);
    let sentence = summary(&verification);
    if ctx.out.format == OutputFormat::Json {
        ctx.out.done(&sentence, &verification);
    } else {
        let rows = verification.files.iter().cloned().map(Ok);
        ctx.out.list(futures_util::stream::iter(rows), None).await?;
    }
    if !verification.passed {
        return Err(Failure::Local {
            kind: hw_api::ErrorKind::Rejected,
            message: format!("{}: {sentence}", command.signed.display()),
        });
    }
    ctx.say(&sentence);
    Ok(())
}
