//! The workspace's crates from their manifests: where each is and which workspace crates it
//! depends on (normal dependencies, on any platform; not dev- or build-dependencies).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// One crate of the workspace.
#[derive(Debug)]
pub struct Member {
    /// Its folder.
    pub dir: PathBuf,
    /// The workspace crates it depends on, by package name.
    pub depends_on: BTreeSet<String>,
}

/// The workspace's crates by package name, from `root/Cargo.toml`'s `members`.
pub fn members(root: &Path) -> Result<BTreeMap<String, Member>, String> {
    let workspace = read(&root.join("Cargo.toml"))?;
    let dirs: Vec<PathBuf> = workspace
        .get("workspace")
        .and_then(|w| w.get("members"))
        .and_then(toml::Value::as_array)
        .ok_or("the root manifest has no workspace members")?
        .iter()
        .filter_map(toml::Value::as_str)
        .map(|member| root.join(member))
        .collect();
    let mut manifests = BTreeMap::new();
    for dir in dirs {
        let manifest = read(&dir.join("Cargo.toml"))?;
        let name = manifest
            .get("package")
            .and_then(|p| p.get("name"))
            .and_then(toml::Value::as_str)
            .ok_or_else(|| format!("{} has no package name", dir.display()))?
            .to_owned();
        manifests.insert(name, (dir, manifest));
    }
    let names: BTreeSet<String> = manifests.keys().cloned().collect();
    Ok(manifests
        .into_iter()
        .map(|(name, (dir, manifest))| {
            let depends_on = dependencies(&manifest)
                .into_iter()
                .filter(|dep| names.contains(dep))
                .collect();
            (name, Member { dir, depends_on })
        })
        .collect())
}

/// The package names of a manifest's normal dependencies, on every platform.
fn dependencies(manifest: &toml::Value) -> BTreeSet<String> {
    let mut tables: Vec<&toml::Value> = manifest.get("dependencies").into_iter().collect();
    if let Some(targets) = manifest.get("target").and_then(toml::Value::as_table) {
        tables.extend(targets.values().filter_map(|t| t.get("dependencies")));
    }
    tables
        .into_iter()
        .filter_map(toml::Value::as_table)
        .flat_map(|table| {
            table.iter().map(|(key, spec)| {
                spec.get("package")
                    .and_then(toml::Value::as_str)
                    .unwrap_or(key)
                    .to_owned()
            })
        })
        .collect()
}

fn read(path: &Path) -> Result<toml::Value, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    toml::from_str(&text).map_err(|e| format!("cannot parse {}: {e}", path.display()))
}
