//! The rules of a whole package (`docs/package-rules.md`, "CAB layout" and "Architectures"): the
//! cabinet's layout, each driver folder's name and contents, the same architectures in every
//! folder, and the architectures the product's requested signatures ask for.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use super::architecture::{Arch, architectures};
use super::finding::{Finding, Severity};
use super::modes::Mode;
use super::per_inf::check_and_parse;
use crate::driver_package::{DriverFolder, DriverPackage, PackageError};
use crate::inf::Inf;

/// The longest path inside a package, in characters, before InfVerif refuses it (I2).
const MAX_PATH: usize = 259;
/// The longest driver folder name (C3: "fewer than 40 characters").
const MAX_FOLDER_NAME: usize = 39;

/// What a package is held to beyond its own files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct CheckOptions {
    /// The OS codes of the product's requested signatures (A1), such as
    /// `WINDOWS_v100_X64_GE_FULL`.
    pub signatures: Vec<String>,
    /// The InfVerif mode whose rules every INF is held to.
    pub mode: Mode,
}

impl CheckOptions {
    /// Also checks that every device INF covers the architectures of these OS codes.
    pub fn with_signatures(mut self, codes: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.signatures.extend(codes.into_iter().map(Into::into));
        self
    }

    /// Holds every INF to the rules of `mode`.
    pub fn with_mode(mut self, mode: Mode) -> Self {
        self.mode = mode;
        self
    }
}

/// A file's path inside the package, as the cabinet names it: `/` between the parts on every
/// OS, so that a finding reads the same on Windows as on Linux (`Path::join` would use `\`).
fn package_path(folder: &str, file: &str) -> PathBuf {
    PathBuf::from(format!("{folder}/{file}"))
}

fn finding(severity: Severity, file: PathBuf, rule: &'static str, message: String) -> Finding {
    Finding {
        severity,
        file,
        line: None,
        rule,
        message,
    }
}

/// Checks a package: its layout, then every driver folder and each INF at its top. Paths in
/// findings start with the driver folder's name.
pub fn check_package(
    package: &DriverPackage,
    options: &CheckOptions,
) -> Result<Vec<Finding>, PackageError> {
    let mut findings = Vec::new();
    for name in &package.root_files {
        findings.push(finding(
            Severity::Error,
            PathBuf::from(name),
            "C1",
            "a file at the cabinet root: each driver package goes in a folder of its own".into(),
        ));
    }
    let mut arches: Vec<(&str, BTreeSet<Arch>)> = Vec::new();
    for folder in &package.folders {
        let covered = check_driver_folder(folder, options, &mut findings)?;
        if !covered.is_empty() {
            arches.push((&folder.name, covered));
        }
    }
    if let Some((first, expected)) = arches.first() {
        for (name, covered) in &arches[1..] {
            if covered != expected {
                findings.push(finding(
                    Severity::Error,
                    PathBuf::from(name),
                    "C4",
                    format!(
                        "the folder supports {}, but {first} supports {}: every driver folder in one CAB must support the same architectures",
                        list(covered),
                        list(expected)
                    ),
                ));
            }
        }
    }
    Ok(findings)
}

fn list(arches: &BTreeSet<Arch>) -> String {
    let names: Vec<&str> = arches.iter().map(|a| a.name()).collect();
    names.join(", ")
}

/// One driver folder's rules and its INFs' findings; the architectures its device INFs cover.
fn check_driver_folder(
    folder: &DriverFolder,
    options: &CheckOptions,
    findings: &mut Vec<Finding>,
) -> Result<BTreeSet<Arch>, PackageError> {
    let here = PathBuf::from(&folder.name);
    let warning = |rule, message: String| finding(Severity::Warning, here.clone(), rule, message);
    if folder.name.chars().count() > MAX_FOLDER_NAME {
        findings.push(finding(
            Severity::Error,
            here.clone(),
            "C3",
            format!(
                "the folder name has {} characters: it must have fewer than 40",
                folder.name.chars().count()
            ),
        ));
    }
    if let Some(odd) = folder
        .name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        findings.push(warning(
            "C3",
            format!("the folder name holds {odd:?}: driver folder names may not hold special characters, which Microsoft does not define; use letters, digits, '-', '_' and '.'"),
        ));
    }
    let has = |extensions: &[&str]| {
        folder.files.iter().any(|f| {
            Path::new(&f.path)
                .extension()
                .and_then(|e| e.to_str())
                .is_some_and(|e| extensions.iter().any(|x| e.eq_ignore_ascii_case(x)))
        })
    };
    if !has(&["sys", "dll"]) {
        findings.push(warning(
            "C6",
            "no driver binary (.sys or .dll) in the folder".into(),
        ));
    }
    if !has(&["pdb"]) {
        findings.push(warning(
            "C6",
            "no .pdb in the folder: Microsoft asks for symbols for its crash analysis".into(),
        ));
    }
    if folder.files.iter().any(|f| f.path.contains('/')) {
        findings.push(warning(
            "C10",
            "the folder has subfolders: one report says the portal refuses nested folders in a CAB"
                .into(),
        ));
    }
    for file in &folder.files {
        let path = format!("{}\\{}", folder.name, file.path.replace('/', "\\"));
        if path.chars().count() > MAX_PATH {
            findings.push(finding(
                Severity::Error,
                package_path(&folder.name, &file.path),
                "I2",
                format!(
                    "the path has {} characters: it must have fewer than 260",
                    path.chars().count()
                ),
            ));
        }
    }
    let present = folder.lowercase_paths();
    let exists = |relative: &Path| {
        let parts: Vec<String> = relative
            .components()
            .map(|c| c.as_os_str().to_string_lossy().to_lowercase())
            .collect();
        present.contains(&parts.join("/"))
    };
    let mut covered = BTreeSet::new();
    let mut any = false;
    for file in folder.infs() {
        any = true;
        let name = package_path(&folder.name, &file.path);
        let bytes = match folder.read(file) {
            Ok(bytes) => bytes,
            Err(PackageError::NotRead(_)) => {
                findings.push(finding(
                    Severity::Error,
                    name,
                    "I1",
                    format!("the INF has {} bytes, too many to be one", file.size),
                ));
                continue;
            }
            Err(e) => return Err(e),
        };
        let (found, inf) = check_and_parse(&name, &bytes, &exists, options.mode);
        findings.extend(found);
        if let Some(inf) = inf {
            let inf_arches = architectures(&inf);
            signatures(&inf, &inf_arches, options, &name, findings);
            covered.extend(inf_arches);
        }
    }
    if !any {
        findings.push(finding(
            Severity::Error,
            here,
            "C2",
            "the folder holds no INF file at its top".into(),
        ));
    }
    Ok(covered)
}

/// A1: every requested signature's architecture has a models section in a device INF.
fn signatures(
    inf: &Inf,
    covered: &BTreeSet<Arch>,
    options: &CheckOptions,
    file: &Path,
    findings: &mut Vec<Finding>,
) {
    let Some(manufacturer) = inf.section("Manufacturer") else {
        return;
    };
    let mut reported = BTreeSet::new();
    for code in &options.signatures {
        let arch = Arch::of_signature(code);
        if !covered.contains(&arch) && reported.insert(arch) {
            findings.push(Finding {
                severity: Severity::Error,
                file: file.to_owned(),
                line: Some(manufacturer.line),
                rule: "A1",
                message: format!(
                    "the product requests {code} ({arch}), but [Manufacturer] has no NT{} models section",
                    arch.suffix()
                ),
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver_package::{FileSource, PackageFile};

    fn inf(decorations: &str) -> Vec<u8> {
        format!(
            "[Version]\nSignature=\"$Windows NT$\"\nClass=System\n\
ClassGuid={{4d36e97d-e325-11ce-bfc1-08002be10318}}\nProvider=Contoso\n\
DriverVer=11/30/2026,1.0.0.1\nCatalogFile=d.cat\n[Manufacturer]\nContoso=Models,{decorations}\n"
        )
        .into_bytes()
    }

    fn folder(name: &str, files: &[(&str, Vec<u8>)]) -> DriverFolder {
        DriverFolder {
            name: name.into(),
            files: files
                .iter()
                .map(|(path, bytes)| PackageFile {
                    path: (*path).into(),
                    size: bytes.len() as u64,
                    source: FileSource::Memory(bytes.clone()),
                })
                .collect(),
        }
    }

    fn rules(package: &DriverPackage, signatures: &[&str]) -> Vec<(&'static str, String)> {
        let options = CheckOptions::default().with_signatures(signatures.iter().copied());
        check_package(package, &options)
            .unwrap()
            .into_iter()
            // The INFs' own findings (no models sections) are the INF tests' business.
            .filter(|f| !matches!(f.rule, "M4" | "D4"))
            .map(|f| (f.rule, f.file.display().to_string()))
            .collect()
    }

    fn complete(name: &str, decorations: &str) -> DriverFolder {
        folder(
            name,
            &[
                ("d.cat", vec![1]),
                ("d.inf", inf(decorations)),
                ("d.pdb", vec![1]),
                ("d.sys", vec![1]),
            ],
        )
    }

    #[test]
    fn a_complete_package_passes_and_each_layout_rule_fails_alone() {
        let good = DriverPackage {
            folders: vec![complete("one", "NTamd64"), complete("two", "NTamd64")],
            root_files: Vec::new(),
        };
        assert!(rules(&good, &["WINDOWS_v100_X64_GE_FULL"]).is_empty());
        let one = |rule: &'static str, file: &str| vec![(rule, file.to_owned())];

        let mut rooted = good.clone();
        rooted.root_files.push("stray.txt".into());
        assert_eq!(rules(&rooted, &[]), one("C1", "stray.txt"));

        let arm = DriverPackage {
            folders: vec![complete("one", "NTamd64"), complete("two", "NTarm64")],
            root_files: Vec::new(),
        };
        assert_eq!(rules(&arm, &[]), one("C4", "two"));

        let x64_only = DriverPackage {
            folders: vec![complete("one", "NTamd64")],
            root_files: Vec::new(),
        };
        assert_eq!(
            rules(&x64_only, &["WINDOWS_v100_ARM64_GE_FULL"]),
            one("A1", "one/d.inf")
        );

        let long = "x".repeat(40);
        let named = DriverPackage {
            folders: vec![complete(&long, "NTamd64")],
            root_files: Vec::new(),
        };
        assert_eq!(rules(&named, &[]), one("C3", &long));
        let spaced = DriverPackage {
            folders: vec![complete("my driver", "NTamd64")],
            root_files: Vec::new(),
        };
        let found = check_package(&spaced, &CheckOptions::default()).unwrap();
        assert!(
            found
                .iter()
                .any(|f| f.rule == "C3" && f.severity == Severity::Warning)
        );

        let bare = DriverPackage {
            folders: vec![folder(
                "one",
                &[("d.inf", inf("NTamd64")), ("sub/d.sys", vec![1])],
            )],
            root_files: Vec::new(),
        };
        let found: Vec<_> = rules(&bare, &[]).into_iter().map(|(r, _)| r).collect();
        assert_eq!(found, ["C6", "C10", "V5"]);

        let mut deep = x64_only.clone();
        let name = format!("{}.txt", "p".repeat(251));
        deep.folders[0].files.push(PackageFile {
            path: name.clone(),
            size: 0,
            source: FileSource::Listed,
        });
        assert!(
            rules(&deep, &[]).is_empty(),
            "a path of 259 characters is allowed"
        );
        deep.folders[0].files[4].path = format!("p{name}");
        assert_eq!(rules(&deep, &[]), one("I2", &format!("one/p{name}")));

        let empty = DriverPackage {
            folders: vec![folder("one", &[("d.sys", vec![1]), ("d.pdb", vec![1])])],
            root_files: Vec::new(),
        };
        assert_eq!(rules(&empty, &[]), one("C2", "one"));
    }
}
