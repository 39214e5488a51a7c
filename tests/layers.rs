//! The layers that `ARCHITECTURE.md` describes, held by reading the sources: hw-api's and
//! hw-sim's top-level modules import each other in no circle, and hw-api's sending layer
//! (`net/`) imports none of the features that plug steps into it.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use hw_workspace_tests::workspace_root;

/// The modules below `net/` that it may use: text and error helpers that send nothing.
const BELOW_NET: [&str; 3] = ["wire", "redact", "report"];

/// The top-level modules of the crate in `crates/{krate}`, each with the top-level modules its
/// code (not its comments or tests) names through `crate::`.
fn imports(krate: &str) -> BTreeMap<String, BTreeSet<String>> {
    let src = workspace_root().join("crates").join(krate).join("src");
    let mut files: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for entry in std::fs::read_dir(&src).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        if path.is_dir() {
            files.insert(name, rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") && name != "lib" {
            files.insert(name, vec![code_of(&path)]);
        }
    }
    let modules: BTreeSet<String> = files.keys().cloned().collect();
    files
        .iter()
        .map(|(module, texts)| {
            let named = texts
                .iter()
                .flat_map(|text| crate_paths(text))
                .filter(|m| m != module && modules.contains(m))
                .collect();
            (module.clone(), named)
        })
        .collect()
}

/// The code of every `.rs` file under `dir`, its test files left out.
fn rust_files(dir: &Path) -> Vec<String> {
    let mut texts = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            texts.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs")
            && path.file_name().is_some_and(|n| n != "tests.rs")
        {
            texts.push(code_of(&path));
        }
    }
    texts
}

/// A file's code: comment lines dropped, and everything from its unit tests' module on.
fn code_of(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let text = text
        .split("#[cfg(test)]\nmod tests")
        .next()
        .unwrap_or_default();
    let text = text
        .split("#[cfg(test)]\npub(crate) mod tests")
        .next()
        .unwrap_or_default();
    text.lines()
        .filter(|line| !line.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The top-level names after each `crate::`, in `crate::a::b` and in `crate::{a, b::c}`.
fn crate_paths(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let group = &group[..group.find('}').unwrap_or(group.len())];
            for item in group.split(',') {
                names.push(first_name(item.trim()));
            }
        } else {
            names.push(first_name(rest));
        }
    }
    names
}

fn first_name(path: &str) -> String {
    path.chars()
        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect()
}

/// The circles of `graph`: each set of modules that reach each other (Tarjan's algorithm).
fn circles(graph: &BTreeMap<String, BTreeSet<String>>) -> Vec<Vec<String>> {
    struct Walk<'a> {
        graph: &'a BTreeMap<String, BTreeSet<String>>,
        index: BTreeMap<&'a str, usize>,
        low: BTreeMap<&'a str, usize>,
        stack: Vec<&'a str>,
        found: Vec<Vec<String>>,
    }
    impl<'a> Walk<'a> {
        fn visit(&mut self, v: &'a str) {
            let n = self.index.len();
            self.index.insert(v, n);
            self.low.insert(v, n);
            self.stack.push(v);
            for w in &self.graph[v] {
                let w = w.as_str();
                if !self.index.contains_key(w) {
                    self.visit(w);
                    let low = self.low[v].min(self.low[w]);
                    self.low.insert(v, low);
                } else if self.stack.contains(&w) {
                    let low = self.low[v].min(self.index[w]);
                    self.low.insert(v, low);
                }
            }
            if self.low[v] == self.index[v] {
                let mut circle = Vec::new();
                while let Some(w) = self.stack.pop() {
                    circle.push(w.to_owned());
                    if w == v {
                        break;
                    }
                }
                if circle.len() > 1 {
                    circle.sort();
                    self.found.push(circle);
                }
            }
        }
    }
    let mut walk = Walk {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        found: Vec::new(),
    };
    for v in graph.keys() {
        if !walk.index.contains_key(v.as_str()) {
            walk.visit(v);
        }
    }
    walk.found
}

#[test]
fn hw_apis_top_level_modules_import_each_other_in_no_circle() {
    let graph = imports("hw-api");
    assert!(graph.len() > 20, "the sources were not found: {graph:?}");
    assert_eq!(circles(&graph), Vec::<Vec<String>>::new(), "{graph:#?}");
}

#[test]
fn hw_sims_top_level_modules_import_each_other_in_no_circle() {
    let graph = imports("hw-sim");
    assert!(graph.len() > 15, "the sources were not found: {graph:?}");
    assert_eq!(circles(&graph), Vec::<Vec<String>>::new(), "{graph:#?}");
    // The state the handlers share stays below them, and the bucket below the state.
    for handler in ["api", "blob", "token", "identity"] {
        assert!(
            !graph["shared"].contains(handler),
            "shared imports {handler}"
        );
    }
    assert!(
        graph["quota"].is_empty(),
        "quota imports {:?}",
        graph["quota"]
    );
}

#[test]
fn the_sending_layer_imports_none_of_the_features() {
    let graph = imports("hw-api");
    let above: Vec<&String> = graph["net"]
        .iter()
        .filter(|m| !BELOW_NET.contains(&m.as_str()))
        .collect();
    assert!(above.is_empty(), "net/ imports {above:?}");
    // Nor do the modules below it reach back up.
    for below in BELOW_NET {
        assert!(
            graph[below].iter().all(|m| BELOW_NET.contains(&m.as_str())),
            "{below} imports {:?}",
            graph[below]
        );
    }
}

#[test]
fn the_reader_sees_imports_in_every_form_and_finds_a_circle() {
    let code = "use crate::auth::x;\nuse crate::{net, record::y};\n// crate::flows\nlet z = crate::wire::f();";
    assert_eq!(
        crate_paths(code),
        ["auth", "net", "record", "flows", "wire"]
    );
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec!["a"]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.into_iter().map(str::to_owned).collect()))
    .collect();
    assert_eq!(circles(&graph), [["a", "b", "c"]]);
}
