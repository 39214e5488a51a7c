//! An independent CAB reader for the package tests: cabextract (libmspack) from PATH, else
//! Debian's packages at the versions `tools/cabextract/packages` pins, unpacked without root into
//! the target directory (a cache the project owns); on Windows, the system's own `expand.exe`.
//!
//! Where none of these can be had, the tests fail and say what to install: they never skip.

use std::path::{Path, PathBuf};
use std::process::Command;

/// What to install when no reader can be found.
const NEED: &str = "the package tests read CABs back with cabextract: install it \
    (`apt install cabextract`, `brew install cabextract`), or give this machine apt-get and \
    dpkg-deb so the tests can unpack Debian's package themselves";

/// Extracts every file of `cab` into `into`, keeping the folders.
pub fn extract(cab: &Path, into: &Path) -> Result<(), String> {
    std::fs::create_dir_all(into).map_err(|e| format!("{}: {e}", into.display()))?;
    let mut command = reader()?;
    if cfg!(windows) {
        command.arg("-F:*").arg(cab).arg(into);
    } else {
        // -q: no listing; the exit status tells whether every file's checksum held.
        command.arg("-q").arg("-d").arg(into).arg(cab);
    }
    let output = command
        .output()
        .map_err(|e| format!("running the CAB reader: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "the CAB reader refused {} ({}): {}{}",
            cab.display(),
            output.status,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ));
    }
    Ok(())
}

/// The reader, ready to be given arguments.
fn reader() -> Result<Command, String> {
    if cfg!(windows) {
        return Ok(Command::new("expand.exe"));
    }
    let on_path = Command::new("cabextract").arg("--version").output();
    if on_path.is_ok_and(|o| o.status.success()) {
        return Ok(Command::new("cabextract"));
    }
    let root = install()?;
    let mut command = Command::new(root.join("usr/bin/cabextract"));
    command.env("LD_LIBRARY_PATH", library_path(&root));
    Ok(command)
}

/// The folders of the unpacked shared libraries (`usr/lib/<triplet>`).
pub(crate) fn library_path(root: &Path) -> std::ffi::OsString {
    let lib = root.join("usr/lib");
    let mut dirs = vec![lib.clone()];
    if let Ok(entries) = std::fs::read_dir(&lib) {
        dirs.extend(
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir()),
        );
    }
    std::env::join_paths(dirs).unwrap_or_default()
}

/// Unpacks the pinned packages into the target directory unless they are there already;
/// returns the folder they were unpacked into.
fn install() -> Result<PathBuf, String> {
    crate::debian::unpacked("cabextract", "usr/bin/cabextract", NEED)
}
