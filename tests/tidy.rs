//! The tidy test: the code is held to what `ARCHITECTURE.md` states, and the document to the
//! code. It fails when a file or a top-level module of any crate imports in a circle, when a
//! module imports against its crate's layers, when a crate depends on a workspace crate the
//! document does not name (or no longer on one it does), and when a path the document names
//! does not exist. Each rule also has a test that shows it failing on a made-up violation.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use hw_workspace_tests::tempdir::Dir;
use hw_workspace_tests::tidy::{Architecture, Crate, Graph, circles, manifests, missing_paths};
use hw_workspace_tests::workspace_root;

fn architecture_doc() -> String {
    std::fs::read_to_string(workspace_root().join("ARCHITECTURE.md")).unwrap()
}

/// A made-up crate: `files` written under a fresh `src`, then read.
fn made_up(files: &[(&str, &str)]) -> Crate {
    let dir = Dir::new("tidy");
    for (path, text) in files {
        let path = dir.path().join("src").join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    Crate::read(&dir.path().join("src")).unwrap()
}

fn graph(edges: &[(&str, &[&str])]) -> Graph {
    edges
        .iter()
        .map(|(from, to)| {
            let to = to.iter().map(|t| (*t).to_owned()).collect();
            ((*from).to_owned(), to)
        })
        .collect()
}

fn imports_of<'a>(krate: &'a Crate, file: &str) -> Vec<&'a str> {
    krate.imports[file].iter().map(String::as_str).collect()
}

#[test]
fn no_file_and_no_top_level_module_imports_in_a_circle_in_any_crate() {
    let members = manifests::members(&workspace_root()).unwrap();
    assert!(members.len() >= 8, "{members:?}");
    let mut read = 0;
    for (name, member) in &members {
        let krate = Crate::read(&member.dir.join("src")).unwrap();
        read += krate.files.len();
        assert_eq!(
            circles(&krate.imports),
            Vec::<Vec<String>>::new(),
            "{name}: between files"
        );
        let top = krate.top_level();
        assert_eq!(circles(&top), Vec::<Vec<String>>::new(), "{name}: {top:#?}");
    }
    // The reader found the sources: hw-api alone has over sixty files.
    assert!(read > 150, "only {read} files were read");
}

#[test]
fn every_crate_keeps_the_layers_the_document_states() {
    let architecture = Architecture::parse(&architecture_doc()).unwrap();
    let layered: Vec<&str> = architecture.layers.keys().map(String::as_str).collect();
    assert_eq!(layered, ["hw-api", "hw-sim", "hwdc"]);
    let members = manifests::members(&workspace_root()).unwrap();
    for name in layered {
        let krate = Crate::read(&members[name].dir.join("src")).unwrap();
        let violations = architecture.layer_violations(name, &krate.top_level());
        assert_eq!(violations, Vec::<String>::new());
    }
}

#[test]
fn the_crates_depend_on_each_other_as_the_document_states() {
    let architecture = Architecture::parse(&architecture_doc()).unwrap();
    let actual: BTreeMap<String, BTreeSet<String>> = manifests::members(&workspace_root())
        .unwrap()
        .into_iter()
        .map(|(name, member)| (name, member.depends_on))
        .collect();
    assert!(actual["hwdc"].contains("hw-package"), "{actual:?}");
    assert_eq!(architecture.crate_violations(&actual), Vec::<String>::new());
}

/// What a downstream crate compiles for hw-api: no driver-package code (`cab`, and the
/// `flate2` and `time` it brings) with the default features; no `cab` with any of them (the
/// optional `pfx` and `azure-identity` bring `time` of their own).
#[test]
fn hw_api_builds_no_package_code() {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let cases: [(&[&str], &[&str]); 2] = [
        (&[], &PACKAGE_CODE),
        (&["--all-features"], &["cab", "hw-package"]),
    ];
    for (features, absent) in cases {
        let output = std::process::Command::new(&cargo)
            .current_dir(workspace_root())
            .args([
                "tree",
                "--offline",
                "-p",
                "hw-api",
                "-e",
                "normal",
                "--prefix",
                "none",
            ])
            .args(features)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let tree = String::from_utf8(output.stdout).unwrap();
        assert!(
            tree.contains("\nreqwest v") && tree.contains("\nhw-api-gen v"),
            "{tree}"
        );
        assert_eq!(
            found_in(&tree, absent),
            Vec::<&str>::new(),
            "{features:?}\n{tree}"
        );
    }
}

/// The crates that make driver packages.
const PACKAGE_CODE: [&str; 4] = ["cab", "flate2", "time", "hw-package"];

/// Which of `names` the output of `cargo tree --prefix none` lists.
fn found_in<'a>(tree: &str, names: &[&'a str]) -> Vec<&'a str> {
    let listed: BTreeSet<&str> = tree.lines().filter_map(|l| l.split(' ').next()).collect();
    names
        .iter()
        .copied()
        .filter(|n| listed.contains(n))
        .collect()
}

#[test]
fn a_made_up_package_crate_in_the_tree_is_found() {
    let tree = "hw-api v0.1.0 (/w/crates/hw-api)\nreqwest v0.13.5\ncab v0.6.0\nflate2 v1.1.5\ntimeout-readwrite v0.3.0\nhw-api-gen v0.1.0\n";
    assert_eq!(found_in(tree, &PACKAGE_CODE), ["cab", "flate2"]);
}

#[test]
fn every_path_the_documents_name_exists() {
    for doc in ["ARCHITECTURE.md", "CONTRIBUTING.md"] {
        let text = std::fs::read_to_string(workspace_root().join(doc)).unwrap();
        assert_eq!(
            missing_paths(&text, &workspace_root()),
            Vec::<String>::new(),
            "{doc}"
        );
    }
}

#[test]
fn a_made_up_circle_between_files_is_found() {
    let krate = made_up(&[
        ("lib.rs", "mod a;\nmod b;\nmod c;\n"),
        ("a.rs", "use crate::b::B;\npub struct A;\n"),
        (
            "b.rs",
            "pub struct B;\npub fn f() -> crate::a::A { crate::a::A }\n",
        ),
        ("c.rs", "pub fn g() -> super::b::B { super::b::B }\n"),
    ]);
    assert_eq!(circles(&krate.imports), [["a.rs", "b.rs"]]);
    assert_eq!(imports_of(&krate, "c.rs"), ["b.rs"]);
    assert_eq!(circles(&krate.top_level()), [["a", "b"]]);
}

#[test]
fn a_made_up_circle_through_a_parent_module_is_found_and_a_re_export_is_followed() {
    let krate = made_up(&[
        ("lib.rs", "mod p;\n"),
        ("p/mod.rs", "mod c;\nmod d;\npub use c::C;\npub struct P;\n"),
        ("p/c.rs", "pub struct C(pub super::P);\n"),
        // Through the parent's re-export, `d` imports `c`, not the parent.
        ("p/d.rs", "use super::C;\npub fn f(c: C) -> C { c }\n"),
    ]);
    assert_eq!(circles(&krate.imports), [["p/c.rs", "p/mod.rs"]]);
    assert_eq!(imports_of(&krate, "p/d.rs"), ["p/c.rs"]);
}

#[test]
fn macros_inline_modules_globs_and_child_paths_count_and_tests_and_other_crates_do_not() {
    let krate = made_up(&[
        (
            "lib.rs",
            "mod a;\nmod b;\nmod c;\nmod d;\nmod e;\npub mod g {\n    pub use crate::b::*;\n}\n",
        ),
        (
            "a.rs",
            "pub fn f() -> String {\n    format!(\"{}\", crate::b::X)\n}\n",
        ),
        ("b.rs", "pub const X: u8 = 1;\npub struct Y;\n"),
        ("c.rs", "use crate::g::Y;\npub fn y() -> Y { Y }\n"),
        (
            "d.rs",
            "#[cfg(test)]\nuse crate::c::y;\n#[cfg(test)]\nmod tests {\n    use crate::a::f;\n}\n",
        ),
        (
            "e.rs",
            "mod inner;\nuse std::fmt;\nuse serde::Serialize;\npub fn h() { inner::go() }\n",
        ),
        ("e/inner.rs", "pub fn go() {}\n"),
    ]);
    assert_eq!(imports_of(&krate, "a.rs"), ["b.rs"]);
    assert_eq!(imports_of(&krate, "c.rs"), ["b.rs"]);
    assert!(imports_of(&krate, "d.rs").is_empty());
    assert_eq!(imports_of(&krate, "e.rs"), ["e/inner.rs"]);
    assert_eq!(krate.files["e/inner.rs"], ["e", "inner"]);
}

#[test]
fn a_made_up_layer_violation_is_found() {
    let doc = "## Layers\n### Crates\n| crate | depends on |\n|---|---|\n| `x` | — |\n\n### Modules of `x`, bottom first\n| layer | modules |\n|---|---|\n| low | `text`, `net` |\n| high | `client`, `gone` |\n";
    let architecture = Architecture::parse(doc).unwrap();
    let fine = graph(&[
        ("text", &[]),
        ("net", &["text"]),
        ("client", &["net"]),
        ("gone", &[]),
        ("crate", &["client"]),
    ]);
    assert_eq!(
        architecture.layer_violations("x", &fine),
        Vec::<String>::new()
    );
    let wrong = graph(&[
        ("text", &["client"]),
        ("net", &["crate"]),
        ("client", &["net"]),
        ("extra", &[]),
        ("crate", &["client"]),
    ]);
    assert_eq!(
        architecture.layer_violations("x", &wrong),
        [
            "x: the layer of `gone` names no module",
            "x: `extra` is in no layer",
            "x: `net` imports the crate root, which is above every layer",
            "x: `text` (layer 1) imports `client` (layer 2, above it)",
        ]
    );
}

#[test]
fn a_made_up_crate_dependency_the_document_does_not_state_is_found() {
    let doc = "## Layers\n### Crates\n| crate | depends on |\n|---|---|\n| `core` | — |\n| `cli` | `core` |\n| `old` | — |\n";
    let architecture = Architecture::parse(doc).unwrap();
    let actual: BTreeMap<String, BTreeSet<String>> = [
        ("core", vec!["cli"]),
        ("cli", vec!["core"]),
        ("new", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(
        architecture.crate_violations(&actual),
        [
            "`core` depends on {\"cli\"}; the document says {}",
            "`new` is not in the crates table",
            "the crates table names `old`, which is no crate",
        ]
    );
}

#[test]
fn a_made_up_path_that_does_not_exist_is_found() {
    let doc = "See `crates/hw-api/src/lib.rs`, `net/`, `docs/traces.md`, `hw-api-gen/src/hooks.rs`, `tee.rs` and `crates/hw-api/src/nowhere.rs`, `gone/`, `nowhere.rs`, `record/nowhere.rs`; not `application/json` nor `net::Step`.";
    assert_eq!(
        missing_paths(doc, &workspace_root()),
        [
            "crates/hw-api/src/nowhere.rs",
            "gone/",
            "nowhere.rs",
            "record/nowhere.rs"
        ]
    );
    assert!(
        Path::new(&workspace_root())
            .join("docs/traces.md")
            .is_file()
    );
}
