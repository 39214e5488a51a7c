//! Tools the tests need from Debian's packages, at the versions `tools/<tool>/packages` pins:
//! downloaded with `apt-get download` and unpacked with `dpkg-deb -x`, without root, into the
//! target directory (a cache the project owns).

use std::path::PathBuf;
use std::process::Command;

use crate::{install_tool, workspace_root};

/// The folder holding `tool`'s packages unpacked (a root with `usr/…`), installed unless it is
/// there already with `ready` in it; `need` says what to install when this cannot be done.
pub fn unpacked(tool: &str, ready: &str, need: &str) -> Result<PathBuf, String> {
    let list = workspace_root().join(format!("tools/{tool}/packages"));
    let pins = std::fs::read_to_string(&list).map_err(|e| format!("{}: {e}", list.display()))?;
    let packages: Vec<&str> = pins
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    let dir = install_tool(tool, pins.as_bytes(), &format!("root/{ready}"), |dir| {
        let download = dir.join("debs");
        let _ = std::fs::remove_dir_all(&download);
        std::fs::create_dir_all(&download).map_err(|e| format!("{}: {e}", download.display()))?;
        let output = Command::new("apt-get")
            .arg("download")
            .args(&packages)
            .current_dir(&download)
            .output()
            .map_err(|e| format!("{need}: running apt-get failed: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "{need}: `apt-get download {}` failed ({}): {}",
                packages.join(" "),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        let debs =
            std::fs::read_dir(&download).map_err(|e| format!("{}: {e}", download.display()))?;
        for deb in debs.filter_map(|e| e.ok().map(|e| e.path())) {
            let status = Command::new("dpkg-deb")
                .arg("-x")
                .arg(&deb)
                .arg(dir.join("root"))
                .status()
                .map_err(|e| format!("{need}: running dpkg-deb failed: {e}"))?;
            if !status.success() {
                return Err(format!("dpkg-deb -x {} failed ({status})", deb.display()));
            }
        }
        Ok(())
    })?;
    Ok(dir.join("root"))
}
