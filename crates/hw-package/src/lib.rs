//! Driver packages for the Microsoft Hardware Dev Center, offline: nothing here makes a request.
//!
//! - [`inf`] reads INF files (ANSI or UTF-16, `[Strings]` substituted, each entry with its
//!   line), total on any input.
//! - [`driver_package`] is a submission's driver folders and files, read from disk or out of a
//!   CAB: the one model the checks and the CAB writer share.
//! - [`cabinet`] writes the attestation CAB reproducibly and reads one back; [`hlkx`] recognises
//!   an HLKX package from its ZIP directory.
//! - [`driver_check`] holds a package to the rules the Hardware Dev Center applies, offline,
//!   each finding with its file and line.
//! - [`digest`] is a file's size and SHA-256, as results and journals report it.
//! - [`verify`] compares the signed package Microsoft returns with the package submitted.
//!
//! ```no_run
//! # fn run() -> Result<(), hw_package::driver_package::PackageError> {
//! use std::path::Path;
//! use hw_package::{cabinet, driver_check, driver_package::DriverPackage};
//!
//! let package = DriverPackage::from_folders(&["driver".into()])?;
//! let findings = driver_check::check_package(&package, &Default::default())?;
//! if findings.iter().all(|f| f.severity != driver_check::Severity::Error) {
//!     cabinet::write_cabinet(&package, Path::new("driver.cab"))?;
//! }
//! # Ok(()) }
//! ```

#![warn(missing_docs)]

mod archive_name;
pub mod cabinet;
pub mod digest;
pub mod driver_check;
pub mod driver_package;
pub mod hlkx;
pub mod inf;
pub mod verify;
