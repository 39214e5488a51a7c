//! The tests that cannot run under Wine, each with its reason: `tools/windows/not-under-wine.txt`.
//! Every run prints them and passes each to the test harness as an exact `--skip`; the full run
//! fails when one names no test, so the list cannot go stale.

use std::path::Path;

use crate::{TaskError, fail};

/// One test that is not run under Wine.
#[derive(Debug, PartialEq)]
pub(super) struct Exclusion {
    /// The test's full name as the harness lists it (`module::test`).
    pub name: String,
    /// Why it cannot run under Wine.
    pub reason: String,
}

/// Reads the list.
pub(super) fn load(root: &Path) -> Result<Vec<Exclusion>, TaskError> {
    let path = root.join("tools/windows/not-under-wine.txt");
    let text =
        std::fs::read_to_string(&path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
    parse(&text).map_err(|e| fail(format!("{}: {e}", path.display())))
}

/// `name | reason` lines; `#` starts a comment line.
fn parse(text: &str) -> Result<Vec<Exclusion>, String> {
    text.lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(line, l)| match l.split_once('|') {
            Some((name, reason)) if !name.trim().is_empty() && !reason.trim().is_empty() => {
                Ok(Exclusion {
                    name: name.trim().to_owned(),
                    reason: reason.trim().to_owned(),
                })
            }
            _ => Err(format!("line {line}: expected `test name | reason`")),
        })
        .collect()
}

/// The test harness's arguments that skip every excluded test (exact names only).
pub(super) fn skip_args(list: &[Exclusion]) -> Vec<String> {
    let mut args = vec!["--exact".to_owned()];
    for e in list {
        args.push("--skip".to_owned());
        args.push(e.name.clone());
    }
    args
}

/// Prints the list, as every run does.
pub(super) fn print(list: &[Exclusion]) {
    println!(
        "not run under Wine ({} tests, tools/windows/not-under-wine.txt):",
        list.len()
    );
    for e in list {
        println!("  {}: {}", e.name, e.reason);
    }
}

/// The excluded names that are not among `listed`, the output of the harness's
/// `--list --format terse` (`name: test` lines).
pub(super) fn stale<'a>(list: &'a [Exclusion], listed: &str) -> Vec<&'a str> {
    let names: std::collections::HashSet<&str> = listed
        .lines()
        .filter_map(|l| l.strip_suffix(": test"))
        .collect();
    list.iter()
        .map(|e| e.name.as_str())
        .filter(|n| !names.contains(n))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_name_a_test_and_its_reason() {
        let list = parse("# comment\n\n a::b | no Node.js \n").unwrap();
        assert_eq!(
            list,
            [Exclusion {
                name: "a::b".into(),
                reason: "no Node.js".into()
            }]
        );
        assert!(parse("a::b\n").unwrap_err().contains("line 1"));
        assert!(parse("a::b |  \n").is_err());
    }

    #[test]
    fn every_exclusion_is_skipped_by_its_exact_name() {
        let list = parse("a | x\nb::c | y\n").unwrap();
        assert_eq!(
            skip_args(&list),
            ["--exact", "--skip", "a", "--skip", "b::c"]
        );
    }

    #[test]
    fn an_exclusion_that_names_no_test_is_stale() {
        let list = parse("a::b | x\nc | y\n").unwrap();
        let listed = "a::b: test\nc::d: test\nbench: benchmark\n";
        assert_eq!(stale(&list, listed), ["c"]);
    }
}
