//! `hwdc check` on driver folders the tests write: a good package passes (ANSI or UTF-16), a
//! broken one fails with exit 5 and findings that name the file, line and rule.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

const INF: &str = "[Version]\r\n\
Signature=\"$Windows NT$\"\r\n\
Class=System\r\n\
ClassGuid={4d36e97d-e325-11ce-bfc1-08002be10318}\r\n\
Provider=%Contoso%\r\n\
DriverVer=11/30/2026,1.2.3.4\r\n\
CatalogFile=touch.cat\r\n\
[SourceDisksNames]\r\n\
1=%Disk%,,,\\bin\r\n\
[SourceDisksFiles]\r\n\
touch.sys=1\r\n\
[Manufacturer]\r\n\
%Contoso%=Touch,NTamd64.10.0...17763\r\n\
[Touch.NTamd64.10.0...17763]\r\n\
%Device%=Install,ACPI\\CTS0001\r\n\
[Strings]\r\n\
Contoso=\"Contoso\"\r\n\
Disk=\"Disk\"\r\n\
Device=\"Touch\"\r\n";

/// A driver folder with `inf` (as its bytes), its driver binary and its catalog.
fn driver(home: &Scratch, name: &str, inf: &[u8]) -> std::path::PathBuf {
    let dir = home.0.join(name);
    std::fs::create_dir_all(dir.join("bin")).unwrap();
    std::fs::write(dir.join("touch.inf"), inf).unwrap();
    std::fs::write(dir.join("bin/touch.sys"), b"MZ driver").unwrap();
    std::fs::write(dir.join("touch.cat"), b"catalog").unwrap();
    dir
}

async fn check(path: &Path) -> Run {
    let command = Command::new(env!("CARGO_BIN_EXE_hwdc"));
    run(
        command,
        &["--output", "json", "check", path.to_str().unwrap()],
    )
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn a_good_driver_folder_passes_in_ansi_and_utf16() {
    let home = Scratch::new("check-good");
    let ansi = driver(&home, "ansi", INF.as_bytes());
    assert_eq!(check(&ansi).await.ok().json(), Value::Array(Vec::new()));
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(INF.encode_utf16().flat_map(u16::to_le_bytes));
    let wide = driver(&home, "utf16", &utf16);
    assert_eq!(check(&wide).await.ok().json(), Value::Array(Vec::new()));
}

#[tokio::test(flavor = "multi_thread")]
async fn a_broken_driver_folder_fails_with_each_finding_placed() {
    let home = Scratch::new("check-broken");
    let broken = INF
        .replace("$Windows NT$", "$Windows 95$")
        .replace("touch.sys=1", "missing.sys=1");
    let dir = driver(&home, "broken", broken.as_bytes());
    let run = check(&dir).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    let findings = run.json();
    let found: Vec<(String, u64)> = findings
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["rule"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(found, vec![("V1".to_owned(), 2), ("S5".to_owned(), 11)]);
    assert_eq!(findings[0]["file"], "touch.inf");
    assert_eq!(findings[0]["severity"], "error");
    // A file is not a folder: said so, exit 2.
    let file = check(&dir.join("touch.inf")).await;
    assert_eq!(file.code, 2, "{}", file.stderr);
}
