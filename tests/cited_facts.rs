//! The facts the code relies on are in the repository: every code comment that cites
//! `docs/service-notes.md` or `docs/package-rules.md` names one of its sections, and none points
//! outside the repository.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the tests crate is in the workspace")
        .to_owned()
}

/// Every `.rs` file of the workspace's crates, xtask and tests (not `target/`).
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        let name = entry.file_name();
        if path.is_dir() && name != "target" && name != ".git" {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The documents code may cite.
const DOCS: [&str; 2] = ["docs/service-notes.md", "docs/package-rules.md"];

/// The section headings of the document `doc`.
fn sections(doc: &str) -> Vec<String> {
    let notes = std::fs::read_to_string(root().join(doc)).expect("the document exists");
    notes
        .lines()
        .filter_map(|line| line.strip_prefix("## "))
        .map(|heading| heading.trim().to_owned())
        .collect()
}

#[test]
fn every_cited_section_exists_and_nothing_is_cited_from_outside() {
    let headings: Vec<(&str, Vec<String>)> = DOCS.iter().map(|d| (*d, sections(d))).collect();
    assert!(headings[0].1.len() > 5, "{headings:?}");
    let mut files = Vec::new();
    for dir in ["crates", "xtask", "tests"] {
        sources(&root().join(dir), &mut files);
    }
    assert!(files.len() > 20);
    let outside = [
        "shared/",
        "reference/hardware-api.md",
        "progenitor-findings.md",
    ];
    let mut problems = Vec::new();
    let mut citations = 0;
    for file in &files {
        if file.ends_with("cited_facts.rs") {
            continue;
        }
        let text = std::fs::read_to_string(file).unwrap();
        // Comments span lines: join them so that a citation broken over two lines is whole.
        let comments: String = text
            .lines()
            .filter_map(|l| l.trim_start().strip_prefix("//"))
            .map(|l| l.trim_start_matches(['/', '!']).trim())
            .collect::<Vec<_>>()
            .join(" ");
        for needle in outside {
            if comments.contains(needle) {
                problems.push(format!("{} cites {needle}", file.display()));
            }
        }
        for (doc, sections) in &headings {
            let needle = format!("{doc}`, \"");
            for (at, _) in comments.match_indices(&needle) {
                let rest = &comments[at + needle.len()..];
                let heading = rest.split('"').next().unwrap_or_default();
                citations += 1;
                if !sections.iter().any(|s| s == heading) {
                    problems.push(format!(
                        "{} cites a missing section {heading:?} of {doc}",
                        file.display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(citations >= 7, "only {citations} citations found");
}

/// `docs/os-codes.md` is the table `hwdc os-codes` prints: its families expand to exactly the
/// codes of `hw_api::os_codes::FAMILIES`, and its table lists every code with the same kind and
/// attestation answer.
#[test]
fn the_os_codes_page_is_the_table() {
    use hw_api::os_codes::{ALL, FAMILIES};
    let page = std::fs::read_to_string(root().join("docs/os-codes.md")).unwrap();
    let mut families: Vec<(String, Vec<String>)> = Vec::new();
    let mut rows = Vec::new();
    for line in page.lines() {
        if let Some(name) = line.strip_prefix("### `") {
            families.push((name.trim_end_matches('`').to_owned(), Vec::new()));
        } else if let (Some(code), Some((_, codes))) =
            (line.strip_prefix("- `"), families.last_mut())
        {
            codes.push(code.trim_end_matches('`').to_owned());
        } else if line.starts_with("| `") {
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            rows.push((
                cells[1].trim_matches('`').to_owned(),
                cells[3].to_owned(),
                cells[4] == "yes",
                cells[5] == "yes",
            ));
        }
    }
    let expected: Vec<(String, Vec<String>)> = FAMILIES
        .iter()
        .map(|f| {
            (
                f.name.to_owned(),
                f.codes.iter().map(|c| (*c).to_owned()).collect(),
            )
        })
        .collect();
    assert_eq!(families, expected);
    let table: Vec<_> = ALL
        .iter()
        .map(|c| {
            (
                c.code.to_owned(),
                c.arch.as_str().to_owned(),
                c.server,
                c.attestation,
            )
        })
        .collect();
    assert_eq!(rows, table);
}
