//! `cargo xtask msrv`: what this machine can check of the declared `rust-version` without an
//! older toolchain (rustup can fetch none here). Two checks, with clippy's `incompatible_msrv`
//! lint (which `cargo clippy -D warnings` runs, reading the same `rust-version`) as the third:
//!
//! - no package of the resolved dependency tree (every optional dependency included) declares
//!   a newer `rust-version` than ours;
//! - the toolchain that builds and tests the workspace is not older than it.

use std::path::Path;
use std::process::Command;

use crate::TaskError;

fn fail(message: impl Into<String>) -> TaskError {
    TaskError(message.into())
}

/// `1.89` or `1.89.0` as numbers.
fn version(text: &str) -> Option<(u64, u64, u64)> {
    let mut parts = text.trim().split('.').map(|p| p.parse::<u64>().ok());
    Some((
        parts.next()??,
        parts.next()??,
        parts.next().flatten().unwrap_or(0),
    ))
}

/// Runs both checks and prints what they found.
pub fn run(root: &Path) -> Result<(), TaskError> {
    let output = Command::new(env!("CARGO"))
        .args([
            "metadata",
            "--format-version",
            "1",
            "--locked",
            "--all-features",
        ])
        .current_dir(root)
        .output()
        .map_err(|e| fail(format!("cannot run cargo metadata: {e}")))?;
    if !output.status.success() {
        return Err(fail(String::from_utf8_lossy(&output.stderr).into_owned()));
    }
    let metadata: serde_json::Value =
        serde_json::from_slice(&output.stdout).map_err(|e| fail(e.to_string()))?;
    let members: Vec<&str> = metadata["workspace_members"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m.as_str())
        .collect();
    let mut ours = None;
    let mut newest: Option<((u64, u64, u64), String)> = None;
    for package in metadata["packages"].as_array().into_iter().flatten() {
        let Some(declared) = package["rust_version"].as_str().and_then(version) else {
            continue;
        };
        let id = package["id"].as_str().unwrap_or_default();
        if members.contains(&id) {
            ours = Some(ours.map_or(declared, |o: (u64, u64, u64)| o.max(declared)));
        } else if newest.as_ref().is_none_or(|(v, _)| declared > *v) {
            let name = format!("{} {}", package["name"], package["version"]).replace('"', "");
            newest = Some((declared, name));
        }
    }
    let ours = ours.ok_or_else(|| fail("the workspace declares no rust-version"))?;
    let shown = |v: (u64, u64, u64)| format!("{}.{}.{}", v.0, v.1, v.2);
    if let Some((needed, by)) = &newest {
        if *needed > ours {
            return Err(fail(format!(
                "{by} needs Rust {}, newer than the declared rust-version {}",
                shown(*needed),
                shown(ours)
            )));
        }
        println!(
            "dependencies: the newest declared rust-version is {} ({by}), within {}",
            shown(*needed),
            shown(ours)
        );
    }
    // The compiler cargo uses (RUSTC, as cargo sets it for build scripts and users may).
    let rustc = Command::new(std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into()))
        .arg("--version")
        .output()
        .map_err(|e| fail(format!("cannot run rustc: {e}")))?;
    let text = String::from_utf8_lossy(&rustc.stdout).into_owned();
    let toolchain = text
        .split_whitespace()
        .nth(1)
        .and_then(|v| version(v.split('-').next().unwrap_or(v)))
        .ok_or_else(|| fail(format!("cannot read the toolchain version from {text:?}")))?;
    if toolchain < ours {
        return Err(fail(format!(
            "the toolchain is Rust {}, older than the declared rust-version {}",
            shown(toolchain),
            shown(ours)
        )));
    }
    println!(
        "toolchain: Rust {} builds and tests a workspace that declares {}; clippy's \
         incompatible_msrv lint holds the standard library to {}",
        shown(toolchain),
        shown(ours),
        shown(ours)
    );
    Ok(())
}
