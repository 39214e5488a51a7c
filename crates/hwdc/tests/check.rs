//! `hwdc check` on driver folders, CABs and HLKX files the tests write: a good package passes
//! (ANSI or UTF-16), a broken one fails with exit 5 and findings that name the file, line and
//! rule.

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

async fn check(path: &Path, extra: &[&str]) -> Run {
    let command = isolated_command();
    let mut args = vec!["--output", "json", "check", path.to_str().unwrap()];
    args.extend(extra);
    run(command, &args).await
}

fn rules(findings: &Value) -> Vec<(String, Option<u64>)> {
    findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["rule"].as_str().unwrap().to_owned(), f["line"].as_u64()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_good_driver_folder_passes_in_ansi_and_utf16() {
    let home = Scratch::new("check-good");
    let ansi = driver_folder(&home.0, "ansi", INF.as_bytes());
    assert_eq!(
        check(&ansi, &[]).await.ok().json(),
        Value::Array(Vec::new())
    );
    let wide = driver_folder(&home.0, "utf16", &utf16(INF));
    assert_eq!(
        check(&wide, &[]).await.ok().json(),
        Value::Array(Vec::new())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_driver_folder_fails_with_each_finding_placed() {
    let home = Scratch::new("check-broken");
    let broken = INF
        .replace("$Windows NT$", "$Windows 95$")
        .replace("touch.sys=1", "missing.sys=1");
    let dir = driver_folder(&home.0, "broken", broken.as_bytes());
    let run = check(&dir, &[]).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    let findings = run.json();
    assert_eq!(
        rules(&findings),
        [
            ("V1".to_owned(), Some(2)),
            ("S5".to_owned(), Some(12)),
            ("S1".to_owned(), Some(22)),
        ]
    );
    assert_eq!(findings[0]["file"], "broken/touch.inf");
    assert_eq!(findings[0]["severity"], "error");
    // Neither a folder, a .cab nor an .hlkx: said so, exit 2.
    let file = check(&dir.join("touch.inf"), &[]).await;
    assert_eq!(file.code, 2, "{}", file.stderr);
    let missing = check(&home.0.join("absent.cab"), &[]).await;
    assert_eq!(missing.code, 4, "{}", missing.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_requested_signatures_must_be_covered_by_every_inf() {
    let home = Scratch::new("check-arch");
    let dir = driver_folder(&home.0, "touch", INF.as_bytes());
    check(&dir, &["--signature", "WINDOWS_v100_X64_GE_FULL"])
        .await
        .ok();
    let arm = check(&dir, &["--signature", "WINDOWS_v100_ARM64_GE_FULL"]).await;
    assert_eq!(arm.code, 5, "{}", arm.stderr);
    assert_eq!(rules(&arm.json()), [("A1".to_owned(), Some(13))]);
    // Both architectures decorated: both signatures pass.
    let both = INF
        .replace(
            "Touch,NTamd64.10.0...17763",
            "Touch,NTamd64.10.0...17763,NTarm64.10.0...17763",
        )
        .replace(
            "[DestinationDirs]",
            "[Touch.NTarm64.10.0...17763]\r\n%Device%=Install,ACPI\\CTS0001\r\n[DestinationDirs]",
        )
        .replace("[Install.NTamd64", "[Install.NT");
    let dir = driver_folder(&home.0, "both", both.as_bytes());
    let run = check(
        &dir,
        &[
            "--signature",
            "WINDOWS_v100_X64_GE_FULL",
            "--signature",
            "WINDOWS_v100_ARM64_GE_FULL",
        ],
    )
    .await;
    assert_eq!(run.ok().json(), Value::Array(Vec::new()));
}

/// A cabinet written by the `cab` crate directly (not by hwdc), with `files` as (name, bytes).
fn cabinet(path: &Path, files: &[(&str, &[u8])]) {
    let mut builder = cab::CabinetBuilder::new();
    let folder = builder.add_folder(cab::CompressionType::MsZip);
    for (name, _) in files {
        folder.add_file(*name);
    }
    let mut writer = builder.build(std::fs::File::create(path).unwrap()).unwrap();
    let mut contents = files.iter();
    while let Some(mut entry) = writer.next_file().unwrap() {
        std::io::Write::write_all(&mut entry, contents.next().unwrap().1).unwrap();
    }
    writer.finish().unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_cab_is_read_and_checked_with_its_layout() {
    let home = Scratch::new("check-cab");
    let good = home.0.join("good.cab");
    let wide = utf16(INF);
    cabinet(
        &good,
        &[
            ("touch\\touch.inf", &wide),
            ("touch\\touch.sys", b"MZ"),
            ("touch\\touch.cat", b"cat"),
            ("touch\\touch.pdb", b"pdb"),
        ],
    );
    let run = check(&good, &[]).await.ok();
    assert_eq!(rules(&run.json()), [("C11".to_owned(), None)]);
    // A file at the root, and an INF that names a file the cabinet lacks.
    let bad = home.0.join("bad.cab");
    cabinet(
        &bad,
        &[
            ("readme.txt", b"hi"),
            ("touch\\touch.inf", INF.as_bytes()),
            ("touch\\touch.cat", b"cat"),
            ("touch\\touch.pdb", b"pdb"),
        ],
    );
    let run = check(&bad, &[]).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    let found: Vec<String> = rules(&run.json()).into_iter().map(|(r, _)| r).collect();
    assert_eq!(found, ["C1", "C6", "S5", "C11"], "{}", run.stdout);
    // Not a cabinet at all: a typed error, not a panic.
    let html = home.0.join("gateway.cab");
    std::fs::write(&html, b"<html>502 Bad Gateway</html>").unwrap();
    let run = check(&html, &[]).await;
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("not a readable cabinet"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn an_hlkx_is_recognised_and_an_impostor_refused() {
    let home = Scratch::new("check-hlkx");
    let fake = home.0.join("results.hlkx");
    std::fs::write(&fake, b"MSCF this is a cabinet").unwrap();
    let run = check(&fake, &[]).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert_eq!(rules(&run.json()), [("H1".to_owned(), None)]);
}

/// OASIS's SARIF 2.1.0 schema (tests/fixtures/sarif).
fn sarif_schema() -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/sarif/sarif-schema-2.1.0.json");
    let schema: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

/// `check --output sarif|github|azure` print the findings as CI reads them: SARIF that is valid
/// 2.1.0 with each finding's file and line, one annotation or logging command a finding, and a
/// Markdown summary added to `$GITHUB_STEP_SUMMARY`; the exit code stays 5.
#[tokio::test(flavor = "multi_thread")]
async fn findings_in_the_formats_ci_reads() {
    let home = Scratch::new("check-ci");
    let broken = INF
        .replace("$Windows NT$", "$Windows 95$")
        .replace("touch.sys=1", "missing.sys=1");
    let dir = driver_folder(&home.0, "broken", broken.as_bytes());
    let dir_arg = dir.to_str().unwrap();
    let findings = check(&dir, &[]).await.json();
    let findings = findings.as_array().unwrap();
    let sarif = run(isolated_command(), &["--output", "sarif", "check", dir_arg]).await;
    assert_eq!(sarif.code, 5, "{}", sarif.stderr);
    let log: Value = serde_json::from_str(&sarif.stdout).unwrap();
    let errors: Vec<String> = sarif_schema()
        .iter_errors(&log)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = log["runs"][0]["results"].as_array().unwrap();
    assert_eq!(results.len(), findings.len());
    let expected_uri = format!("{}/touch.inf", dir_arg.replace('\\', "/"));
    for (result, finding) in results.iter().zip(findings) {
        let location = &result["locations"][0]["physicalLocation"];
        assert_eq!(location["artifactLocation"]["uri"], expected_uri.as_str());
        assert_eq!(location["region"]["startLine"], finding["line"], "{result}");
        assert_eq!(result["ruleId"], finding["rule"]);
        assert_eq!(result["level"], finding["severity"]);
    }
    // GitHub: one annotation a finding, and the summary.
    let summary = home.0.join("summary.md");
    let mut github = isolated_command();
    github.env("GITHUB_STEP_SUMMARY", &summary);
    let github = run(github, &["--output", "github", "check", dir_arg]).await;
    assert_eq!(github.code, 5, "{}", github.stderr);
    let lines: Vec<&str> = github.stdout.lines().collect();
    assert_eq!(lines.len(), findings.len(), "{}", github.stdout);
    // A property escapes `:` (a Windows drive's) as `%3A`, as GitHub reads it.
    let property = expected_uri.replace(':', "%3A");
    assert!(
        lines[0].starts_with(&format!("::error file={property},line=2,title=hwdc V1::")),
        "{}",
        lines[0]
    );
    let table = std::fs::read_to_string(&summary).unwrap();
    assert!(table.contains("3 error(s), 0 warning(s)"), "{table}");
    assert!(
        table.contains(&format!("| error | `{expected_uri}:12` | S5 |")),
        "{table}"
    );
    // Azure Pipelines.
    let azure = run(isolated_command(), &["--output", "azure", "check", dir_arg]).await;
    assert_eq!(azure.code, 5, "{}", azure.stderr);
    assert!(
        azure.stdout.lines().next().unwrap().starts_with(&format!(
            "##vso[task.logissue type=error;sourcepath={expected_uri};linenumber=2;code=V1;]"
        )),
        "{}",
        azure.stdout
    );
    // A good folder: an empty SARIF run, exit 0.
    let good = driver_folder(&home.0, "good", INF.as_bytes());
    let clean = run(
        isolated_command(),
        &["--output", "sarif", "check", good.to_str().unwrap()],
    )
    .await
    .ok();
    let log: Value = serde_json::from_str(&clean.stdout).unwrap();
    assert_eq!(sarif_schema().iter_errors(&log).count(), 0);
    assert_eq!(log["runs"][0]["results"], Value::Array(Vec::new()));
    // Other commands print no findings: a usage error.
    let other = run(isolated_command(), &["--output", "sarif", "os-codes"]).await;
    assert_eq!(other.code, 2, "{}", other.stderr);
}

/// The mode decides what a Desktop driver's legacy constructs are: warnings by default (what
/// a submission needs), errors for a universal INF or a Windows Driver, whose own rules add
/// more (DIRID 12 under driver package isolation); every output holds to its schema.
#[tokio::test(flavor = "multi_thread")]
async fn the_mode_decides_what_a_legacy_inf_is() {
    let home = Scratch::new("check-modes");
    let legacy = INF.replace("DefaultDestDir=13", "DefaultDestDir=12") + "[ClassInstall32]\r\n";
    let dir = driver_folder(&home.0, "legacy", legacy.as_bytes());
    let class_line = legacy.lines().count() as u64;
    let severities = |findings: &Value| -> Vec<(String, String)> {
        findings
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                let rule = f["rule"].as_str().unwrap().to_owned();
                (rule, f["severity"].as_str().unwrap().to_owned())
            })
            .collect()
    };
    let default = check(&dir, &[]).await.ok();
    validates("findings", &default.json());
    assert_eq!(
        rules(&default.json()),
        [("D6".to_owned(), Some(class_line))]
    );
    assert_eq!(
        severities(&default.json()),
        [("D6".into(), "warning".into())]
    );
    assert!(
        default.stderr.contains("(submission rules)"),
        "{}",
        default.stderr
    );
    let desktop = check(&dir, &["--mode", "desktop"]).await.ok();
    assert_eq!(
        severities(&desktop.json()),
        [("D6".into(), "warning".into())]
    );
    for mode in ["universal", "declarative"] {
        let run = check(&dir, &["--mode", mode]).await;
        assert_eq!(run.code, 5, "{mode}: {}", run.stderr);
        validates("findings", &run.json());
        assert_eq!(
            severities(&run.json()),
            [("D6".into(), "error".into())],
            "{mode}"
        );
    }
    let isolated = check(&dir, &["--mode", "windows-driver"]).await;
    assert_eq!(isolated.code, 5, "{}", isolated.stderr);
    assert_eq!(
        severities(&isolated.json()),
        [("D2".into(), "error".into()), ("D6".into(), "error".into())]
    );
    let unknown = check(&dir, &["--mode", "strict"]).await;
    assert_eq!(unknown.code, 2, "{}", unknown.stderr);
}
