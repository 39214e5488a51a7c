//! Developer tasks for the hw-api workspace.
//!
//! The library half exists so that the drift check and the snapshot of the generated API surface
//! can run as ordinary `#[test]`s (`cargo test` then catches a stale `generated.rs`).

pub mod bench;
pub mod codegen;
pub mod config_guard;
pub mod conformance;
pub mod digest;
pub mod lint;
pub mod msrv;
pub mod netns;
pub mod open_enums;
pub mod schemas;
pub mod spec;
pub mod windows;

use std::path::PathBuf;
use std::process::Command;

/// The workspace root (the parent of the `xtask` crate).
pub fn workspace_root() -> PathBuf {
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().map(PathBuf::from).unwrap_or(manifest)
}

/// Where cargo puts its output: `CARGO_TARGET_DIR` when set, else the workspace's `target`.
pub fn target_dir(root: &std::path::Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// The text of a `#[doc = "..."]` attribute, if `attr` is one.
pub fn doc_text(attr: &syn::Attribute) -> Option<String> {
    match &attr.meta {
        syn::Meta::NameValue(nv) if nv.path.is_ident("doc") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => Some(s.value()),
            _ => None,
        },
        _ => None,
    }
}

/// Where the spec lives, relative to the workspace root.
pub const SPEC_PATH: &str = "openapi/hardware.yaml";

/// Where the generated core is written, relative to the workspace root.
pub const GENERATED_PATH: &str = "crates/hw-api-gen/src/generated.rs";

/// A failure of a task, already phrased for a person.
#[derive(Debug)]
pub struct TaskError(pub String);

impl std::fmt::Display for TaskError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TaskError {}

impl From<String> for TaskError {
    fn from(message: String) -> Self {
        Self(message)
    }
}

/// Whether this process runs as root (apt-get installs and namespaces are made only then, or
/// through `sudo -n`).
pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Whether `sudo -n` works here (root's commands without a password).
pub fn can_sudo() -> bool {
    Command::new("sudo")
        .args(["-n", "true"])
        .status()
        .is_ok_and(|s| s.success())
}

/// A task error with `message`.
pub fn fail(message: impl Into<String>) -> TaskError {
    TaskError(message.into())
}

/// Runs `command`, inheriting its output; `what` names it in the error when it fails.
pub fn run_ok(command: &mut Command, what: &str) -> Result<(), TaskError> {
    let status = command
        .status()
        .map_err(|e| fail(format!("cannot run {what}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(fail(format!("{what} failed ({status})")))
    }
}
