//! `hwdc check`: the package rules a driver folder can be held to before it is uploaded.

use hw_api::driver_check::{self, Finding, Severity};

use super::Ctx;
use crate::cli::Check;
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

/// Runs `check`: every finding, then exit 5 when one is an error.
pub async fn run(ctx: &Ctx, command: Check) -> Result<(), Failure> {
    let path = &command.path;
    if path.is_file() {
        return Err(Failure::Local {
            kind: "usage",
            message: format!(
                "{} is a file: checking a .cab or .hlkx is not built yet; give the driver folder",
                path.display()
            ),
        });
    }
    let findings = driver_check::check_folder(path).map_err(|e| Failure::Local {
        kind: "not_found",
        message: e.to_string(),
    })?;
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    let warnings = findings.len() - errors;
    ctx.out
        .list(
            futures_util::stream::iter(findings.into_iter().map(Ok)),
            None,
        )
        .await?;
    if errors > 0 {
        return Err(Failure::Local {
            kind: "check_failed",
            message: format!(
                "{} has {errors} error(s) and {warnings} warning(s)",
                path.display()
            ),
        });
    }
    ctx.say(&format!(
        "{}: no errors, {warnings} warning(s)",
        path.display()
    ));
    Ok(())
}
