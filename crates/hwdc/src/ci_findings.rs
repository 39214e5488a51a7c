//! Findings where CI shows them: a SARIF 2.1.0 log (GitHub code scanning, Azure DevOps' SARIF
//! viewer), GitHub Actions' workflow commands (`::error file=…,line=…::`), Azure Pipelines'
//! logging commands (`##vso[task.logissue …]`), and a Markdown summary for
//! `$GITHUB_STEP_SUMMARY`. Hand-written: each is a few lines of a documented text format, and
//! the SARIF crates on crates.io carry a schema older than 2.1.0's errata.

use std::path::{Path, PathBuf};

use hw_package::driver_check::{Finding, Severity};
use serde_json::{Value, json};

use crate::cli::OutputFormat;

/// Where the findings' files are. A finding names its file from the driver folder's name
/// (`touch/touch.inf`): a driver folder's files are on disk, so the folder's path replaces its
/// name; the files of a CAB or an HLKX are inside it, so the package itself is the location.
#[derive(Debug, Clone)]
pub(crate) enum Base {
    /// The driver folders checked, as given, and the CAB written from them, if any.
    Folders(Vec<PathBuf>, Option<PathBuf>),
    /// The package file checked, as given.
    Package(PathBuf),
}

/// A path in the `/` form SARIF and the runners want.
fn slashed(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}

/// Where a finding is: the file (on disk), its line there, and the text that prefixes the
/// message when the file is inside a package.
fn place(base: &Base, finding: &Finding) -> (String, Option<usize>, String) {
    let inner = slashed(&finding.file);
    match base {
        Base::Folders(folders, cab) => {
            let (name, rest) = inner.split_once('/').unwrap_or((&inner, ""));
            let folder = folders
                .iter()
                .find(|f| f.file_name().is_some_and(|n| n.to_string_lossy() == name));
            let cab = cab
                .as_ref()
                .filter(|c| c.file_name().is_some_and(|n| n.to_string_lossy() == inner));
            let file = match (folder, cab) {
                (Some(folder), _) if rest.is_empty() => slashed(folder),
                (Some(folder), _) => slashed(&folder.join(rest)),
                (None, Some(cab)) => slashed(cab),
                (None, None) => inner,
            };
            (file, finding.line, String::new())
        }
        Base::Package(file) => {
            let at = match finding.line {
                Some(line) => format!("{inner}:{line}: "),
                None if inner.is_empty() => String::new(),
                None => format!("{inner}: "),
            };
            (slashed(file), None, at)
        }
    }
}

fn is_error(finding: &Finding) -> bool {
    finding.severity == Severity::Error
}

/// The SARIF 2.1.0 log of `findings`.
pub(crate) fn sarif(base: &Base, findings: &[Finding]) -> Value {
    let mut rules: Vec<&str> = findings.iter().map(|f| f.rule).collect();
    rules.sort_unstable();
    rules.dedup();
    let results: Vec<Value> = findings
        .iter()
        .map(|f| {
            let (uri, line, prefix) = place(base, f);
            let mut physical = json!({"artifactLocation": {"uri": uri}});
            if let Some(line) = line {
                physical["region"] = json!({"startLine": line});
            }
            json!({
                "ruleId": f.rule,
                "ruleIndex": rules.iter().position(|r| *r == f.rule),
                "level": if is_error(f) { "error" } else { "warning" },
                "message": {"text": format!("{prefix}{}", f.message)},
                "locations": [{"physicalLocation": physical}],
            })
        })
        .collect();
    let rules: Vec<Value> = rules
        .iter()
        .map(|id| {
            json!({
                "id": id,
                "shortDescription": {"text": format!("Package rule {id} (docs/package-rules.md)")},
            })
        })
        .collect();
    json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "hwdc",
                "version": env!("CARGO_PKG_VERSION"),
                "informationUri": env!("CARGO_PKG_REPOSITORY"),
                "rules": rules,
            }},
            "results": results,
        }],
    })
}

/// GitHub's escaping of a workflow command's message.
fn github_data(text: &str) -> String {
    text.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// GitHub's escaping of a workflow command's property.
fn github_property(text: &str) -> String {
    github_data(text).replace(':', "%3A").replace(',', "%2C")
}

/// One GitHub Actions annotation per finding.
pub(crate) fn github(base: &Base, findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let (file, line, prefix) = place(base, f);
        let mut properties = format!("file={}", github_property(&file));
        if let Some(line) = line {
            properties.push_str(&format!(",line={line}"));
        }
        properties.push_str(&format!(
            ",title={}",
            github_property(&format!("hwdc {}", f.rule))
        ));
        let level = if is_error(f) { "error" } else { "warning" };
        out.push_str(&format!(
            "::{level} {properties}::{}\n",
            github_data(&format!("{prefix}{}", f.message))
        ));
    }
    out
}

/// Azure Pipelines' escaping of a logging command's property or message.
fn azure_escape(text: &str) -> String {
    text.replace('%', "%AZP25")
        .replace(';', "%3B")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
        .replace(']', "%5D")
}

/// One Azure Pipelines issue per finding.
pub(crate) fn azure(base: &Base, findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let (file, line, prefix) = place(base, f);
        let level = if is_error(f) { "error" } else { "warning" };
        let mut properties = format!("type={level};sourcepath={}", azure_escape(&file));
        if let Some(line) = line {
            properties.push_str(&format!(";linenumber={line}"));
        }
        properties.push_str(&format!(";code={}", azure_escape(f.rule)));
        out.push_str(&format!(
            "##vso[task.logissue {properties};]{}\n",
            azure_escape(&format!("{prefix}{}", f.message))
        ));
    }
    out
}

/// A Markdown summary of `findings` about `what`, for `$GITHUB_STEP_SUMMARY`.
pub(crate) fn markdown(what: &str, base: &Base, findings: &[Finding]) -> String {
    let errors = findings.iter().filter(|f| is_error(f)).count();
    let mut out = format!(
        "### hwdc: {}\n\n{errors} error(s), {} warning(s)\n",
        markdown_cell(what),
        findings.len() - errors
    );
    if findings.is_empty() {
        return out;
    }
    out.push_str("\n| severity | where | rule | message |\n|---|---|---|---|\n");
    for f in findings {
        let (file, line, prefix) = place(base, f);
        let at = match line {
            Some(line) => format!("{file}:{line}"),
            None => file,
        };
        out.push_str(&format!(
            "| {} | `{}` | {} | {} |\n",
            if is_error(f) { "error" } else { "warning" },
            at.replace('`', "'"),
            f.rule,
            markdown_cell(&format!("{prefix}{}", f.message))
        ));
    }
    out
}

/// Prints `findings` about `what` in `format` on standard output; with `--output github` and
/// `GITHUB_STEP_SUMMARY` set, also adds the Markdown summary to that file.
pub(crate) fn print(format: OutputFormat, what: &str, base: &Base, findings: &[Finding]) {
    let text = match format {
        OutputFormat::Sarif => {
            let mut text = serde_json::to_string_pretty(&sarif(base, findings)).unwrap_or_default();
            text.push('\n');
            text
        }
        OutputFormat::Github => github(base, findings),
        OutputFormat::Azure => azure(base, findings),
        _ => return,
    };
    crate::output::emit(&text);
    if format == OutputFormat::Github
        && let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty())
    {
        use std::io::Write;
        let written = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .and_then(|mut file| file.write_all(markdown(what, base, findings).as_bytes()));
        if let Err(e) = written {
            tracing::warn!(
                "cannot add the summary to {}: {e}",
                Path::new(&summary).display()
            );
        }
    }
}

/// Text that stays inside one Markdown table cell.
fn markdown_cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\r', '\n'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn folders() -> Base {
        Base::Folders(vec!["drv/touch".into()], Some("out/touch.cab".into()))
    }

    fn findings() -> Vec<Finding> {
        vec![
            Finding::new(
                Severity::Error,
                "touch/touch.inf",
                Some(12),
                "V1",
                "a 100% bad, really: line\nbreak".into(),
            ),
            Finding::new(Severity::Warning, "touch", None, "C2", "no | INF".into()),
            Finding::new(
                Severity::Warning,
                "touch.cab",
                None,
                "C11",
                "sign it".into(),
            ),
        ]
    }

    #[test]
    fn github_annotations_escape_what_the_runner_reads() {
        let text = github(&folders(), &findings());
        let expected = [
            "::error file=drv/touch/touch.inf,line=12,title=hwdc V1::a 100%25 bad, really: line%0Abreak",
            "::warning file=drv/touch,title=hwdc C2::no | INF",
            "::warning file=out/touch.cab,title=hwdc C11::sign it",
        ];
        assert_eq!(text.lines().collect::<Vec<_>>(), expected);
        let odd = Base::Folders(vec!["a,b:c".into()], None);
        let one = [Finding::new(
            Severity::Error,
            "a,b:c/x.inf",
            Some(1),
            "V1",
            "m".into(),
        )];
        assert!(github(&odd, &one).starts_with("::error file=a%2Cb%3Ac/x.inf,line=1,"));
    }

    #[test]
    fn azure_issues_escape_what_the_agent_reads() {
        let text = azure(&Base::Package("pkg;1.cab".into()), &findings());
        let expected = [
            "##vso[task.logissue type=error;sourcepath=pkg%3B1.cab;code=V1;]touch/touch.inf:12: a 100%AZP25 bad, really: line%0Abreak",
            "##vso[task.logissue type=warning;sourcepath=pkg%3B1.cab;code=C2;]touch: no | INF",
            "##vso[task.logissue type=warning;sourcepath=pkg%3B1.cab;code=C11;]touch.cab: sign it",
        ];
        assert_eq!(text.lines().collect::<Vec<_>>(), expected);
        let on_disk = azure(&folders(), &findings()[..1]);
        assert!(
            on_disk.starts_with("##vso[task.logissue type=error;sourcepath=drv/touch/touch.inf;linenumber=12;code=V1;]"),
            "{on_disk}"
        );
    }

    #[test]
    fn sarif_names_the_file_and_line_on_disk_and_the_inner_file_of_a_package() {
        let log = sarif(&folders(), &findings());
        let results = &log["runs"][0]["results"];
        let location = |i: usize| results[i]["locations"][0]["physicalLocation"].clone();
        assert_eq!(
            location(0)["artifactLocation"]["uri"],
            "drv/touch/touch.inf"
        );
        assert_eq!(location(0)["region"]["startLine"], 12);
        assert_eq!(location(1)["artifactLocation"]["uri"], "drv/touch");
        assert!(location(1).get("region").is_none());
        assert_eq!(location(2)["artifactLocation"]["uri"], "out/touch.cab");
        assert_eq!(results[0]["level"], "error");
        assert_eq!(results[1]["level"], "warning");
        let rules = &log["runs"][0]["tool"]["driver"]["rules"];
        for i in 0..3 {
            let index = results[i]["ruleIndex"].as_u64().unwrap() as usize;
            assert_eq!(rules[index]["id"], results[i]["ruleId"]);
        }
        let packed = sarif(&Base::Package("d.cab".into()), &findings());
        let first = &packed["runs"][0]["results"][0];
        assert_eq!(
            first["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            "d.cab"
        );
        let text = first["message"]["text"].as_str().unwrap();
        assert!(text.starts_with("touch/touch.inf:12: "), "{text}");
    }

    #[test]
    fn the_summary_is_one_table_row_a_finding() {
        let text = markdown("drv/touch", &folders(), &findings());
        assert!(text.contains("1 error(s), 2 warning(s)"), "{text}");
        assert!(
            text.contains(
                "| error | `drv/touch/touch.inf:12` | V1 | a 100% bad, really: line break |"
            ),
            "{text}"
        );
        assert!(
            text.contains("| warning | `drv/touch` | C2 | no \\| INF |"),
            "{text}"
        );
    }
}
