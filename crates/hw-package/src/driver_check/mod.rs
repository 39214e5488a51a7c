//! Checks of a driver package before it is uploaded, on disk or in its CAB: the layout rules
//! (`docs/package-rules.md`, "CAB layout"), then per INF the rules that can be judged offline
//! ("INF rules", "Install sections", "Architectures") and those of the InfVerif mode chosen
//! ("Modes"), each finding with its severity, file, line and rule. A rule whose source the
//! notes do not give is a warning.

use std::path::{Path, PathBuf};

use crate::driver_package::{DriverPackage, PackageError};

mod architecture;
mod finding;
mod install;
mod modes;
mod package;
mod per_inf;

pub use architecture::{Arch, architectures};
pub use finding::{Finding, Severity};
pub use modes::Mode;
pub use package::{CheckOptions, check_package};
pub use per_inf::check_inf;

/// Checks one driver folder on disk: the package rules, then every INF at its top.
pub fn check_folder(folder: &Path) -> Result<Vec<Finding>, PackageError> {
    let package = DriverPackage::from_folders(&[folder.to_owned()])?;
    check_package(&package, &CheckOptions::default())
}

/// C11, which no offline check can judge (`docs/package-rules.md`, "Signing"): the CAB must be
/// signed, with SHA-256, by a certificate registered on the Partner Center account.
pub fn signing_reminder(cab: &Path) -> Finding {
    Finding {
        severity: Severity::Warning,
        file: PathBuf::from(cab.file_name().unwrap_or(cab.as_os_str())),
        line: None,
        rule: "C11",
        message: "sign the CAB before uploading it, with SHA-256 and the EV certificate registered on the Partner Center account (no offline check can see it): on Windows, `signtool sign /fd sha256 /tr <RFC 3161 timestamp URL> /td sha256 FILE` (Windows SDK); elsewhere, an Authenticode signer such as osslsigncode or jsign with the certificate's key".into(),
    }
}
