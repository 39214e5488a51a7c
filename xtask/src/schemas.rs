//! `cargo xtask schemas`: `docs/schemas/NAME.json`, one file per schema `hwdc schema` prints
//! (what each command prints with `--output json`, the error, the batch manifest, the
//! configuration file). With `--check`, compares instead and fails with a diff, as
//! `generate --check` does for generated.rs.

use std::path::Path;
use std::process::Command;

use crate::{TaskError, fail, run_ok};

/// Where the schemas are kept.
pub const DIR: &str = "docs/schemas";

/// Runs the built hwdc with `args`: its standard output.
fn hwdc(binary: &Path, args: &[&str]) -> Result<String, TaskError> {
    let output = Command::new(binary)
        .args(args)
        .env_remove("HWDC_CONFIG")
        .output()
        .map_err(|e| fail(format!("cannot run {}: {e}", binary.display())))?;
    if !output.status.success() {
        return Err(fail(format!(
            "hwdc {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    String::from_utf8(output.stdout).map_err(|e| fail(format!("hwdc printed no UTF-8: {e}")))
}

/// Writes (or with `check`, compares) every schema.
pub fn run(root: &Path, check: bool) -> Result<(), TaskError> {
    run_ok(
        Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "hwdc"])
            .current_dir(root),
        "cargo build -p hwdc",
    )?;
    let binary = crate::target_dir(root)
        .join("debug")
        .join(format!("hwdc{}", std::env::consts::EXE_SUFFIX));
    let listed: serde_json::Value =
        serde_json::from_str(&hwdc(&binary, &["--output", "json", "schema"])?)
            .map_err(|e| fail(format!("hwdc schema listed no JSON: {e}")))?;
    let names: Vec<String> = listed
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|item| item["name"].as_str().map(str::to_owned))
        .collect();
    if names.is_empty() {
        return Err(fail("hwdc schema listed no schema"));
    }
    let dir = root.join(DIR);
    std::fs::create_dir_all(&dir).map_err(|e| fail(format!("cannot create {DIR}: {e}")))?;
    let mut stale = Vec::new();
    for name in &names {
        let fresh = hwdc(&binary, &["schema", name])?;
        let path = dir.join(format!("{name}.json"));
        let current = std::fs::read_to_string(&path).unwrap_or_default();
        if current == fresh {
            continue;
        }
        if check {
            stale.push(format!(
                "{DIR}/{name}.json:\n{}",
                similar::TextDiff::from_lines(&current, &fresh)
                    .unified_diff()
                    .context_radius(2)
            ));
        } else {
            std::fs::write(&path, fresh)
                .map_err(|e| fail(format!("cannot write {}: {e}", path.display())))?;
        }
    }
    // A schema hwdc no longer prints must not linger.
    for entry in std::fs::read_dir(&dir).map_err(|e| fail(format!("cannot read {DIR}: {e}")))? {
        let path = entry.map_err(|e| fail(e.to_string()))?.path();
        let name = path
            .file_stem()
            .and_then(|s| s.to_str())
            .unwrap_or_default();
        let known = names.iter().any(|n| n == name);
        if path.extension().is_some_and(|e| e == "json") && !known {
            if check {
                stale.push(format!("{} is no schema hwdc prints", path.display()));
            } else {
                std::fs::remove_file(&path)
                    .map_err(|e| fail(format!("cannot remove {}: {e}", path.display())))?;
            }
        }
    }
    if stale.is_empty() {
        return Ok(());
    }
    Err(fail(format!(
        "{DIR} is stale: run `cargo xtask schemas`.\n{}",
        stale.join("\n")
    )))
}
