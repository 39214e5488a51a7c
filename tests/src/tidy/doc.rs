//! What `ARCHITECTURE.md` states in a form a test can hold the code to: its "Layers" section's
//! tables (which workspace crates each crate depends on; each layered crate's top-level
//! modules, bottom layer first), and the file paths it names.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use super::circles::Graph;

/// The name of the crate root in a top-level module graph ([`super::Crate::top_level`]).
const ROOT: &str = "crate";

/// The rules of the document's "Layers" section.
#[derive(Debug, Default)]
pub struct Architecture {
    /// Each crate (by package name) with the workspace crates it depends on.
    pub crates: BTreeMap<String, BTreeSet<String>>,
    /// Each layered crate with its layers, bottom first, each a set of top-level modules.
    pub layers: BTreeMap<String, Vec<BTreeSet<String>>>,
}

impl Architecture {
    /// Reads the "## Layers" section of `doc`: a `### Crates` table (crate, then the crates it
    /// depends on, each in backticks), and a `### Modules of `CRATE`` table per layered crate
    /// (a layer's name, then its modules in backticks), bottom layer first.
    pub fn parse(doc: &str) -> Result<Architecture, String> {
        let section = section(doc, "## Layers").ok_or("no \"## Layers\" section")?;
        let mut architecture = Architecture::default();
        for (heading, rows) in tables(section) {
            if heading == "### Crates" {
                for row in rows {
                    let mut cells = row.into_iter();
                    let name = cells
                        .next()
                        .and_then(|cell| ticked(&cell).into_iter().next());
                    let name = name.ok_or("a row of the crates table names no crate")?;
                    let deps = cells.flat_map(|cell| ticked(&cell)).collect();
                    architecture.crates.insert(name, deps);
                }
            } else if let Some(rest) = heading.strip_prefix("### Modules of ") {
                let name = ticked(rest)
                    .into_iter()
                    .next()
                    .ok_or_else(|| format!("{heading:?} names no crate in backticks"))?;
                let layers = rows
                    .into_iter()
                    .map(|row| row.iter().skip(1).flat_map(|cell| ticked(cell)).collect())
                    .collect();
                architecture.layers.insert(name, layers);
            }
        }
        if architecture.crates.is_empty() {
            return Err("the \"## Layers\" section has no \"### Crates\" table".into());
        }
        Ok(architecture)
    }

    /// What breaks the layers stated for `krate` in its top-level module graph `graph`: a
    /// module in no layer or in two, a layer's module that does not exist, and an import of a
    /// module in a higher layer (the crate root is above every layer).
    pub fn layer_violations(&self, krate: &str, graph: &Graph) -> Vec<String> {
        let Some(layers) = self.layers.get(krate) else {
            return vec![format!("{krate} has no layers in the document")];
        };
        let mut violations = Vec::new();
        let mut layer_of: BTreeMap<&str, usize> = BTreeMap::new();
        for (n, layer) in layers.iter().enumerate() {
            for module in layer {
                if layer_of.insert(module, n).is_some() {
                    violations.push(format!("{krate}: `{module}` is in two layers"));
                }
                if !graph.contains_key(module) {
                    violations.push(format!("{krate}: the layer of `{module}` names no module"));
                }
            }
        }
        for (module, imports) in graph {
            if module == ROOT {
                continue;
            }
            let Some(&from) = layer_of.get(module.as_str()) else {
                violations.push(format!("{krate}: `{module}` is in no layer"));
                continue;
            };
            for imported in imports {
                match layer_of.get(imported.as_str()) {
                    Some(&to) if to <= from => {}
                    Some(&to) => violations.push(format!(
                        "{krate}: `{module}` (layer {}) imports `{imported}` (layer {}, above it)",
                        from + 1,
                        to + 1
                    )),
                    None if imported == ROOT => violations.push(format!(
                        "{krate}: `{module}` imports the crate root, which is above every layer"
                    )),
                    // Reported above as in no layer.
                    None => {}
                }
            }
        }
        violations
    }

    /// What differs between the crates table and `actual` (each workspace crate with the
    /// workspace crates its manifest depends on).
    pub fn crate_violations(&self, actual: &BTreeMap<String, BTreeSet<String>>) -> Vec<String> {
        let mut violations = Vec::new();
        for (name, deps) in actual {
            match self.crates.get(name) {
                None => violations.push(format!("`{name}` is not in the crates table")),
                Some(stated) if stated != deps => violations.push(format!(
                    "`{name}` depends on {deps:?}; the document says {stated:?}"
                )),
                Some(_) => {}
            }
        }
        for name in self.crates.keys() {
            if !actual.contains_key(name) {
                violations.push(format!(
                    "the crates table names `{name}`, which is no crate"
                ));
            }
        }
        violations
    }
}

/// The file paths in backticks in `doc` (a token with a `/` or a known file ending) that do
/// not exist under `root`, `root/crates`, a crate's folder or its `src` (a bare file name may
/// also be anywhere in a crate).
pub fn missing_paths(doc: &str, root: &Path) -> Vec<String> {
    let mut bases = vec![root.to_owned(), root.join("crates")];
    let mut names = BTreeSet::new();
    for group in ["crates", ""] {
        let Ok(entries) = std::fs::read_dir(root.join(group)) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.join("Cargo.toml").is_file() {
                file_names(&path, &mut names);
                bases.push(path.join("src"));
                bases.push(path);
            }
        }
    }
    let mut missing: Vec<String> = ticked(doc)
        .into_iter()
        .filter(|token| looks_like_a_path(token))
        .filter(|token| {
            let found = bases.iter().any(|base| base.join(token).exists())
                || !token.contains('/') && names.contains(token.as_str());
            !found
        })
        .collect();
    missing.sort();
    missing.dedup();
    missing
}

/// The names of the files under `dir`, build output left out.
fn file_names(dir: &Path, names: &mut BTreeSet<String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name().to_string_lossy().into_owned();
        if path.is_dir() {
            if name != "target" && !name.starts_with('.') {
                file_names(&path, names);
            }
        } else {
            names.insert(name);
        }
    }
}

/// A path to check: only path characters, and a folder (ending in `/`) or a file ending.
fn looks_like_a_path(token: &str) -> bool {
    const ENDINGS: [&str; 9] = [
        ".rs", ".md", ".toml", ".yaml", ".yml", ".json", ".txt", ".js", ".lock",
    ];
    let plain = token
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-./".contains(c));
    plain
        && !token.starts_with('.')
        && (token.ends_with('/') && token.len() > 1
            || ENDINGS
                .iter()
                .any(|end| token.ends_with(end) && token.len() > end.len()))
}

/// The text of the section that starts with the line `heading`, up to the next heading of the
/// same level.
fn section<'a>(doc: &'a str, heading: &str) -> Option<&'a str> {
    let start = doc
        .match_indices(heading)
        .find(|(at, _)| *at == 0 || doc[..*at].ends_with('\n'))?
        .0;
    let body = &doc[start + heading.len()..];
    let level = format!("\n{} ", heading.split(' ').next().unwrap_or("##"));
    Some(&body[..body.find(&level).unwrap_or(body.len())])
}

/// Each table of `text` under the `###` heading before it: its rows' cells (header and rule
/// rows left out).
fn tables(text: &str) -> Vec<(String, Vec<Vec<String>>)> {
    let mut found: Vec<(String, Vec<Vec<String>>)> = Vec::new();
    let mut heading = String::new();
    let mut in_table = false;
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with("### ") {
            heading = line.to_owned();
            in_table = false;
        } else if line.starts_with('|') {
            let cells: Vec<String> = line
                .trim_matches('|')
                .split('|')
                .map(|cell| cell.trim().to_owned())
                .collect();
            if !in_table {
                // The header row.
                in_table = true;
                found.push((heading.clone(), Vec::new()));
            } else if !cells.iter().all(|c| c.chars().all(|ch| "-: ".contains(ch))) {
                found.last_mut().expect("a table").1.push(cells);
            }
        } else {
            in_table = false;
        }
    }
    found
}

/// The tokens in backticks in `text`.
fn ticked(text: &str) -> Vec<String> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_read_under_their_headings() {
        let doc = "# A\n## Layers\ntext\n### Crates\n| crate | deps |\n|---|---|\n| `a` | `b`, `c` |\n| `b` | nothing |\n\n### Modules of `a`, bottom first\n| layer | modules |\n|---|---|\n| low | `x`, `y` |\n| high | `z` |\n## Next\n### Crates\n| crate | deps |\n|---|---|\n| `q` | `r` |\n";
        let architecture = Architecture::parse(doc).unwrap();
        assert_eq!(architecture.crates.len(), 2, "{architecture:?}");
        assert_eq!(
            architecture.crates["a"],
            ["b", "c"].map(String::from).into()
        );
        assert!(architecture.crates["b"].is_empty());
        assert_eq!(
            architecture.layers["a"],
            [
                ["x", "y"].map(String::from).into(),
                ["z"].map(String::from).into()
            ]
        );
    }

    #[test]
    fn only_path_like_tokens_are_checked() {
        for path in [
            "net/",
            "crates/hw-api/src/lib.rs",
            "docs/traces.md",
            "Cargo.toml",
        ] {
            assert!(looks_like_a_path(path), "{path}");
        }
        for other in [
            "application/json",
            "net::Step",
            "<out>.hwdc.json",
            "/",
            ".rs",
            "a b.rs",
        ] {
            assert!(!looks_like_a_path(other), "{other}");
        }
    }
}
