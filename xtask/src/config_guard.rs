//! The guard that no test touches the real user's hwdc configuration: the folders are read
//! before and after the tests run, and any file created, changed or removed fails the run.
//!
//! Tests point hwdc at a folder of their own (`HWDC_CONFIG_DIR`); on Windows `HOME` and
//! `XDG_CONFIG_HOME` do not move the default folder (`%APPDATA%\hwdc\config`), so a test that
//! forgot would write the developer's own file. This guard is what notices.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::{TaskError, fail};

/// The hwdc folders of the user running this: the configuration folder hwdc itself reads
/// (`~/.config/hwdc`, `%APPDATA%\hwdc\config`) and, where it differs, the folder above it on
/// Windows (`%APPDATA%\hwdc`).
pub fn real_config_folders() -> Vec<PathBuf> {
    directories::ProjectDirs::from("", "", "hwdc")
        .map(|dirs| vec![hwdc_folder(dirs.config_dir())])
        .unwrap_or_default()
}

/// hwdc's own folder for its configuration folder: the folder above `…\hwdc\config` on
/// Windows, the folder itself elsewhere.
fn hwdc_folder(config: &Path) -> PathBuf {
    match config.parent() {
        Some(parent) if config.ends_with("config") && parent.ends_with("hwdc") => {
            parent.to_path_buf()
        }
        _ => config.to_path_buf(),
    }
}

/// Every file under a folder, by its path relative to the folder, with its content's digest;
/// `None` when the folder does not exist.
type Snapshot = Option<BTreeMap<PathBuf, [u8; 32]>>;

fn snapshot(folder: &Path) -> Snapshot {
    if !folder.exists() {
        return None;
    }
    let mut files = BTreeMap::new();
    let mut pending = vec![folder.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for path in entries.filter_map(|e| e.ok().map(|e| e.path())) {
            if path.is_dir() {
                pending.push(path);
            } else {
                let digest = std::fs::read(&path)
                    .map(|bytes| Sha256::digest(bytes).into())
                    .unwrap_or([0; 32]);
                let relative = path.strip_prefix(folder).unwrap_or(&path).to_path_buf();
                files.insert(relative, digest);
            }
        }
    }
    Some(files)
}

/// What changed between two snapshots of `folder`, one line each.
fn changes(folder: &Path, before: &Snapshot, after: &Snapshot) -> Vec<String> {
    match (before, after) {
        (None, None) => vec![],
        (None, Some(_)) => vec![format!("{} was created", folder.display())],
        (Some(_), None) => vec![format!("{} was removed", folder.display())],
        (Some(before), Some(after)) => {
            let mut lines = Vec::new();
            for (path, digest) in after {
                match before.get(path) {
                    None => lines.push(format!("{} was created", folder.join(path).display())),
                    Some(old) if old != digest => {
                        lines.push(format!("{} was changed", folder.join(path).display()))
                    }
                    Some(_) => {}
                }
            }
            for path in before.keys().filter(|p| !after.contains_key(*p)) {
                lines.push(format!("{} was removed", folder.join(path).display()));
            }
            lines
        }
    }
}

/// Runs `work`, then fails if it created, changed or removed anything in `folders`.
pub fn guard<T>(
    folders: &[PathBuf],
    work: impl FnOnce() -> Result<T, TaskError>,
) -> Result<T, TaskError> {
    let before: Vec<Snapshot> = folders.iter().map(|f| snapshot(f)).collect();
    let result = work();
    let touched: Vec<String> = folders
        .iter()
        .zip(&before)
        .flat_map(|(folder, before)| changes(folder, before, &snapshot(folder)))
        .collect();
    if touched.is_empty() {
        result
    } else {
        Err(fail(format!(
            "the tests touched the real user's hwdc configuration:\n  {}",
            touched.join("\n  ")
        )))
    }
}

/// `cargo test --workspace <args>` under the guard of the real configuration folder.
pub fn test_workspace(root: &Path, args: &[&str]) -> Result<(), TaskError> {
    let folders = real_config_folders();
    guard(&folders, || {
        crate::run_ok(
            std::process::Command::new(env!("CARGO"))
                .current_dir(root)
                .args(["test", "--workspace"])
                .args(args),
            "cargo test --workspace",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("xtask-guard-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn the_guarded_folder_is_hwdc_s_whole_folder() {
        let windows = Path::new("/users/me/AppData/Roaming/hwdc/config");
        assert_eq!(
            hwdc_folder(windows),
            Path::new("/users/me/AppData/Roaming/hwdc")
        );
        let linux = Path::new("/home/me/.config/hwdc");
        assert_eq!(hwdc_folder(linux), linux);
        let other = Path::new("/home/me/other/config");
        assert_eq!(hwdc_folder(other), other);
    }

    #[test]
    fn a_created_folder_fails_the_run() {
        let dir = scratch("created");
        let result = guard(std::slice::from_ref(&dir), || {
            std::fs::create_dir_all(&dir).unwrap();
            Ok(())
        });
        let _ = std::fs::remove_dir_all(&dir);
        assert!(result.unwrap_err().0.contains("was created"));
    }

    #[test]
    fn a_changed_added_or_removed_file_fails_the_run_and_reading_does_not() {
        let dir = scratch("changed");
        std::fs::create_dir_all(dir.join("config")).unwrap();
        std::fs::write(dir.join("config/config.toml"), "a").unwrap();
        std::fs::write(dir.join("old.toml"), "b").unwrap();
        let read = guard(std::slice::from_ref(&dir), || {
            std::fs::read(dir.join("config/config.toml")).map_err(|e| fail(e.to_string()))
        });
        assert_eq!(read.unwrap(), b"a");
        let error = guard(std::slice::from_ref(&dir), || {
            std::fs::write(dir.join("config/config.toml"), "c").unwrap();
            std::fs::write(dir.join("new.toml"), "d").unwrap();
            std::fs::remove_file(dir.join("old.toml")).unwrap();
            Ok(())
        })
        .unwrap_err()
        .0;
        let _ = std::fs::remove_dir_all(&dir);
        assert!(error.contains("config.toml was changed"), "{error}");
        assert!(error.contains("new.toml was created"), "{error}");
        assert!(error.contains("old.toml was removed"), "{error}");
    }

    #[test]
    fn a_failing_run_keeps_its_own_error_when_nothing_was_touched() {
        let dir = scratch("untouched");
        let result: Result<(), _> = guard(&[dir], || Err(fail("tests failed")));
        assert_eq!(result.unwrap_err().0, "tests failed");
    }
}
