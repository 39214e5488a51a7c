//! What came back is what was sent (`docs/package-rules.md`, "The signed package"): the signed
//! package Microsoft returns, compared file by file with the package submitted. The same driver
//! folders and files; every file but the catalog byte-identical; every PE file identical once
//! its signature and checksum are set aside (equal Authenticode digests) and signed; a
//! catalog in every driver folder, Microsoft's in place of the partner's.
//!
//! This version compares contents and sees that every returned PE file carries a signature; it
//! does not yet validate the signatures (their chain to Microsoft's roots, their EKU, the
//! catalog's hashes): [`Verification::signatures_validated`] says so.

pub mod contents;
pub mod pe;
pub mod signature;

use std::collections::BTreeMap;
use std::path::Path;

use crate::driver_package::PackageError;
use contents::{Contents, FileDigest};

/// What the file is, for the comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum FileKind {
    /// A PE file (`.sys`, `.dll`, `.exe`, …, known by its `MZ` header): compared by its
    /// Authenticode digest.
    Pe,
    /// A catalog (`.cat`): Microsoft returns its own in place of the partner's.
    Catalog,
    /// Any other file (the INF among them): compared byte for byte.
    Other,
}

/// What the comparison found for a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Outcome {
    /// Byte-identical.
    Same,
    /// A PE file identical once its signature and checksum are set aside, and signed.
    SameCode,
    /// A catalog returned in place of the one submitted (as Microsoft always does).
    CatalogReplaced,
    /// A catalog returned where none was submitted (Microsoft makes one).
    CatalogAdded,
    /// Its bytes (or, for a PE file, its code) differ.
    Changed,
    /// Submitted, not returned (for a driver folder's catalog: none returned).
    Missing,
    /// Returned, not submitted.
    Added,
    /// A returned PE file without a signature: Microsoft signs every PE file it returns.
    Unsigned,
    /// A PE file whose headers, or a returned one whose signatures, cannot be read.
    Unreadable,
    /// The catalog submitted came back unchanged: Microsoft always returns its own.
    CatalogNotReplaced,
}

impl Outcome {
    /// Whether the outcome is what a good signed package gives.
    pub fn passed(self) -> bool {
        matches!(
            self,
            Outcome::Same | Outcome::SameCode | Outcome::CatalogReplaced | Outcome::CatalogAdded
        )
    }
}

/// One file's comparison.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct FileVerdict {
    /// The driver folder and file, `/` between parts: as submitted, or as returned for a file
    /// only the signed package has.
    pub path: String,
    /// What the file is.
    pub kind: FileKind,
    /// What was found.
    pub outcome: Outcome,
    /// Whether the outcome passes.
    pub passed: bool,
    /// The submitted file's SHA-256, when there is one.
    pub submitted_sha256: Option<String>,
    /// The returned file's SHA-256, when there is one.
    pub signed_sha256: Option<String>,
    /// A PE file's Authenticode digest (SHA-256): the returned file's, or the submitted one's
    /// when none was returned.
    pub authenticode_sha256: Option<String>,
    /// The signers the returned file's signatures name (a PE file's; read, not yet
    /// verified).
    pub signers: Vec<signature::Signer>,
    /// What was checked and found, for a person.
    pub message: String,
}

/// The comparison of a signed package with the package submitted.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Verification {
    /// Whether every file passed (and there was one).
    pub passed: bool,
    /// The folder of the signed package that holds the submitted driver folders (`""` at its
    /// top), found by where the submitted files are.
    pub signed_root: String,
    /// Whether the signatures were validated (their chain, EKU and timestamp, the catalog's
    /// hashes): not yet, in this version.
    pub signatures_validated: bool,
    /// Every file, in path order.
    pub files: Vec<FileVerdict>,
}

/// Compares the signed package at `signed` (a ZIP, or a CAB or folder) with the package
/// submitted at `submitted` (a driver folder, a CAB or a ZIP).
pub fn verify(signed: &Path, submitted: &Path) -> Result<Verification, PackageError> {
    let submitted = contents::read(submitted)?;
    let signed = contents::read(signed)?;
    Ok(compare(&submitted, &signed))
}

/// [`verify`] of packages already read ([`contents::read`]), for a caller that tells which of
/// the two could not be read.
pub fn verify_contents(signed: &Contents, submitted: &Contents) -> Verification {
    compare(submitted, signed)
}

fn is_catalog(path: &str) -> bool {
    path.to_ascii_lowercase().ends_with(".cat")
}

/// The driver folder of a path (its first part).
fn folder(path: &str) -> &str {
    path.split('/').next().unwrap_or_default()
}

/// The prefix of the signed package's paths under which most submitted files are (ties: the
/// shortest), as `""` or `"Signed_123/"`.
fn signed_root(submitted: &Contents, signed: &Contents) -> String {
    // Each returned path votes for every prefix (cut at a `/`) under which the rest is a
    // submitted path: one lookup a part, not a comparison with every submitted file.
    let mut votes: BTreeMap<&str, usize> = BTreeMap::new();
    for signed_key in signed.files.keys() {
        let cuts = std::iter::once(0).chain(signed_key.match_indices('/').map(|(i, _)| i + 1));
        for cut in cuts {
            if submitted.files.contains_key(&signed_key[cut..]) {
                *votes.entry(&signed_key[..cut]).or_default() += 1;
            }
        }
    }
    let best = votes
        .iter()
        .max_by(|a, b| a.1.cmp(b.1).then(b.0.len().cmp(&a.0.len())))
        .map(|(prefix, _)| *prefix)
        .unwrap_or_default();
    // Keep the returned spelling of the prefix: its parts, counted (a lower-cased name may
    // not have the same length in bytes).
    let parts = best.matches('/').count();
    signed
        .files
        .iter()
        .find(|(key, _)| key.starts_with(best))
        .map(|(_, f)| {
            f.path
                .split('/')
                .take(parts)
                .map(|p| format!("{p}/"))
                .collect()
        })
        .unwrap_or_default()
}

/// `path` without its first `parts` parts.
fn after_parts(path: &str, parts: usize) -> &str {
    path.splitn(parts + 1, '/').last().unwrap_or_default()
}

fn verdict(
    path: &str,
    kind: FileKind,
    outcome: Outcome,
    sent: Option<&FileDigest>,
    got: Option<&FileDigest>,
    message: String,
) -> FileVerdict {
    let digest = |f: Option<&FileDigest>| {
        f.and_then(|f| f.pe.as_ref())
            .and_then(|pe| pe.as_ref().ok())
            .map(|pe| pe.authenticode_sha256.clone())
    };
    FileVerdict {
        path: path.to_owned(),
        kind,
        outcome,
        passed: outcome.passed(),
        submitted_sha256: sent.map(|f| f.sha256.clone()),
        signed_sha256: got.map(|f| f.sha256.clone()),
        authenticode_sha256: digest(got).or_else(|| digest(sent)),
        signers: got
            .and_then(|f| f.signers.as_ref())
            .and_then(|s| s.as_ref().ok())
            .cloned()
            .unwrap_or_default(),
        message,
    }
}

/// Compares one file submitted with the one returned at the same path.
fn compare_file(path: &str, sent: &FileDigest, got: &FileDigest) -> FileVerdict {
    let one = |kind, outcome, message: String| {
        verdict(path, kind, outcome, Some(sent), Some(got), message)
    };
    if is_catalog(path) {
        let (outcome, message) = if sent.sha256 == got.sha256 {
            (
                Outcome::CatalogNotReplaced,
                "the catalog submitted came back unchanged: Microsoft returns its own signed catalog, so this is not a package it signed".to_owned(),
            )
        } else {
            (
                Outcome::CatalogReplaced,
                "Microsoft's catalog in place of the one submitted".to_owned(),
            )
        };
        return one(FileKind::Catalog, outcome, message);
    }
    match (&sent.pe, &got.pe) {
        (Some(Ok(before)), Some(Ok(after))) => {
            let (outcome, message) = if before.authenticode_sha256 != after.authenticode_sha256 {
                (
                    Outcome::Changed,
                    format!(
                        "the code differs: Authenticode digest {} submitted, {} returned",
                        before.authenticode_sha256, after.authenticode_sha256
                    ),
                )
            } else if after.certificate_table.is_none() {
                (
                    Outcome::Unsigned,
                    "the same code, returned without a signature: Microsoft signs every PE file it returns".to_owned(),
                )
            } else if let Some(Err(e)) = &got.signers {
                (
                    Outcome::Unreadable,
                    format!("the same code, but the returned file's certificate table: {e}"),
                )
            } else {
                (
                    Outcome::SameCode,
                    "the same code (equal Authenticode digests), signed".to_owned(),
                )
            };
            one(FileKind::Pe, outcome, message)
        }
        // Starts as a PE file does but is none (a DOS program, a data file), and came back
        // as it was sent.
        (Some(Err(_)), _) | (_, Some(Err(_))) if sent.sha256 == got.sha256 => {
            one(FileKind::Other, Outcome::Same, "byte-identical".to_owned())
        }
        (Some(Err(e)), _) | (_, Some(Err(e))) => {
            let side = if matches!(sent.pe, Some(Err(_))) {
                "submitted"
            } else {
                "returned"
            };
            one(
                FileKind::Pe,
                Outcome::Unreadable,
                format!("the {side} file: {e}"),
            )
        }
        _ if sent.sha256 == got.sha256 => {
            one(FileKind::Other, Outcome::Same, "byte-identical".to_owned())
        }
        (None, Some(_)) | (Some(_), None) => one(
            FileKind::Pe,
            Outcome::Changed,
            "a PE file on one side only".to_owned(),
        ),
        (None, None) => one(
            FileKind::Other,
            Outcome::Changed,
            format!(
                "the bytes differ: SHA-256 {} submitted, {} returned",
                sent.sha256, got.sha256
            ),
        ),
    }
}

fn kind_of(file: &FileDigest) -> FileKind {
    if is_catalog(&file.path) {
        FileKind::Catalog
    } else if file.pe.is_some() {
        FileKind::Pe
    } else {
        FileKind::Other
    }
}

/// Compares the two packages' files.
fn compare(submitted: &Contents, signed: &Contents) -> Verification {
    let root = signed_root(submitted, signed);
    let root_key = root.to_lowercase();
    // The returned files by their path below the root; those outside it are added.
    let mut returned: BTreeMap<String, &FileDigest> = BTreeMap::new();
    let mut files = Vec::new();
    for (key, file) in &signed.files {
        match key.strip_prefix(root_key.as_str()) {
            Some(rest) => {
                returned.insert(rest.to_owned(), file);
            }
            None => files.push(verdict(
                &file.path,
                kind_of(file),
                Outcome::Added,
                None,
                Some(file),
                "returned outside the submitted driver folders".into(),
            )),
        }
    }
    let with_catalog: std::collections::BTreeSet<String> = returned
        .keys()
        .filter(|k| is_catalog(k))
        .map(|k| folder(k).to_owned())
        .collect();
    for (key, sent) in &submitted.files {
        match returned.remove(key) {
            Some(got) => files.push(compare_file(&sent.path, sent, got)),
            None if is_catalog(key) => {
                let replaced = returned.keys().any(|k| {
                    is_catalog(k) && folder(k) == folder(key) && !submitted.files.contains_key(k)
                });
                let (outcome, message) = if replaced {
                    (
                        Outcome::CatalogReplaced,
                        "Microsoft's catalog, under another name, in place of this one".to_owned(),
                    )
                } else {
                    (Outcome::Missing, "submitted, not returned".to_owned())
                };
                files.push(verdict(
                    &sent.path,
                    FileKind::Catalog,
                    outcome,
                    Some(sent),
                    None,
                    message,
                ));
            }
            None => files.push(verdict(
                &sent.path,
                kind_of(sent),
                Outcome::Missing,
                Some(sent),
                None,
                "submitted, not returned".into(),
            )),
        }
    }
    for (key, got) in returned {
        let path = format!(
            "{root}{}",
            after_parts(&got.path, root.matches('/').count())
        );
        let in_folder = submitted.files.keys().any(|k| folder(k) == folder(&key));
        let (outcome, message) = if is_catalog(&key) && in_folder {
            (
                Outcome::CatalogAdded,
                "Microsoft's catalog, where none of that name was submitted".to_owned(),
            )
        } else {
            (Outcome::Added, "returned, not submitted".to_owned())
        };
        files.push(verdict(
            &path,
            kind_of(got),
            outcome,
            None,
            Some(got),
            message,
        ));
    }
    // (Files at the package's top are in no driver folder.)
    let folders: std::collections::BTreeSet<&str> = submitted
        .files
        .keys()
        .filter(|k| k.contains('/'))
        .map(|k| folder(k))
        .collect();
    // Each driver folder comes back with a catalog (a submitted one not returned is said
    // above).
    let sent_catalog: std::collections::BTreeSet<&str> = submitted
        .files
        .keys()
        .filter(|k| is_catalog(k))
        .map(|k| folder(k))
        .collect();
    for name in folders
        .into_iter()
        .filter(|f| !with_catalog.contains(*f) && !sent_catalog.contains(f))
    {
        let shown = submitted
            .files
            .iter()
            .find(|(k, _)| folder(k) == name)
            .map_or(name, |(_, f)| folder(&f.path));
        files.push(verdict(
            &format!("{shown}/"),
            FileKind::Catalog,
            Outcome::Missing,
            None,
            None,
            "no catalog returned for this driver folder: Microsoft returns a signed one with every package".into(),
        ));
    }
    files.sort_by_key(|f| f.path.to_lowercase());
    Verification {
        // Nothing compared is no proof.
        passed: !files.is_empty() && files.iter().all(|f| f.passed),
        signed_root: root,
        signatures_validated: false,
        files,
    }
}

#[cfg(test)]
mod tests {
    use super::pe::{CertificateTable, PeDigest, PeError};
    use super::signature::SignatureError;
    use super::*;

    const TABLE: CertificateTable = CertificateTable {
        offset: 0x400,
        size: 64,
    };

    /// A file of `path` whose bytes hash to `sha`; a PE file when `code` is given: its
    /// Authenticode digest, and whether it carries a signature.
    fn file(path: &str, sha: &str, code: Option<(&str, bool)>) -> FileDigest {
        FileDigest {
            path: path.into(),
            size: 1,
            sha256: sha.into(),
            pe: code.map(|(digest, signed)| {
                Ok(PeDigest {
                    authenticode_sha256: digest.into(),
                    certificate_table: signed.then_some(TABLE),
                })
            }),
            signers: code.and_then(|(_, signed)| signed.then(|| Ok(Vec::new()))),
        }
    }

    fn contents(files: Vec<FileDigest>) -> Contents {
        let mut contents = Contents::default();
        for f in files {
            contents.files.insert(f.path.to_lowercase(), f);
        }
        contents
    }

    /// The package submitted: an INF, a driver, a catalog.
    fn sent() -> Contents {
        contents(vec![
            file("drv/a.inf", "inf", None),
            file("drv/a.sys", "sys", Some(("code", false))),
            file("drv/a.cat", "cat", None),
        ])
    }

    /// What came back: the same under `root`, the driver signed, Microsoft's catalog.
    fn returned(root: &str) -> Vec<FileDigest> {
        vec![
            file(&format!("{root}drv/a.inf"), "inf", None),
            file(
                &format!("{root}drv/a.sys"),
                "sys-signed",
                Some(("code", true)),
            ),
            file(&format!("{root}drv/a.cat"), "ms-cat", None),
        ]
    }

    /// The files that failed, with their outcomes.
    fn failures(v: &Verification) -> Vec<(&str, Outcome)> {
        v.files
            .iter()
            .filter(|f| !f.passed)
            .map(|f| (f.path.as_str(), f.outcome))
            .collect()
    }

    fn outcomes(v: &Verification) -> Vec<(&str, Outcome)> {
        v.files
            .iter()
            .map(|f| (f.path.as_str(), f.outcome))
            .collect()
    }

    #[test]
    fn the_package_microsoft_would_return_passes_under_any_root() {
        for root in ["", "Signed_7/", "a/b/"] {
            let v = compare(&sent(), &contents(returned(root)));
            assert!(v.passed, "{root}: {v:#?}");
            assert_eq!(v.signed_root, root);
            assert!(!v.signatures_validated);
            assert_eq!(
                outcomes(&v),
                [
                    ("drv/a.cat", Outcome::CatalogReplaced),
                    ("drv/a.inf", Outcome::Same),
                    ("drv/a.sys", Outcome::SameCode),
                ]
            );
            let sys = &v.files[2];
            assert_eq!(sys.kind, FileKind::Pe);
            assert_eq!(sys.submitted_sha256.as_deref(), Some("sys"));
            assert_eq!(sys.signed_sha256.as_deref(), Some("sys-signed"));
            assert_eq!(sys.authenticode_sha256.as_deref(), Some("code"));
            assert!(v.files.iter().all(|f| f.passed));
        }
        // The catalog returned unchanged was not signed by Microsoft.
        let mut same = returned("");
        same[2].sha256 = "cat".into();
        let v = compare(&sent(), &contents(same));
        assert_eq!(failures(&v), [("drv/a.cat", Outcome::CatalogNotReplaced)]);
        // A file that starts as a PE file does but is none passes when it came back as sent.
        let mut dos = sent();
        let mut back = returned("");
        for (f, sha) in [
            (dos.files.get_mut("drv/a.sys").unwrap(), "mz"),
            (&mut back[1], "mz"),
        ] {
            f.pe = Some(Err(PeError("no PE header".into())));
            f.sha256 = sha.into();
            f.signers = None;
        }
        let v = compare(&dos, &contents(back));
        assert!(v.passed, "{v:#?}");
        assert_eq!(v.files[2].kind, FileKind::Other);
        // Nothing to compare is no pass.
        assert!(!compare(&Contents::default(), &Contents::default()).passed);
    }

    #[test]
    fn each_mismatch_fails_on_its_file_alone() {
        type Edit = fn(&mut Vec<FileDigest>);
        let cases: [(Edit, &str, Outcome); 8] = [
            (
                |f| f[1].signers = Some(Err(SignatureError("cut".into()))),
                "drv/a.sys",
                Outcome::Unreadable,
            ),
            (
                |f| f[0].sha256 = "other".into(),
                "drv/a.inf",
                Outcome::Changed,
            ),
            (
                |f| {
                    f[1].pe = Some(Ok(PeDigest {
                        authenticode_sha256: "other".into(),
                        certificate_table: Some(TABLE),
                    }))
                },
                "drv/a.sys",
                Outcome::Changed,
            ),
            (
                |f| {
                    f[1].pe = Some(Ok(PeDigest {
                        authenticode_sha256: "code".into(),
                        certificate_table: None,
                    }))
                },
                "drv/a.sys",
                Outcome::Unsigned,
            ),
            (
                |f| f[1].pe = Some(Err(PeError("cut".into()))),
                "drv/a.sys",
                Outcome::Unreadable,
            ),
            (|f| f[1].pe = None, "drv/a.sys", Outcome::Changed),
            (
                |f| {
                    f.remove(0);
                },
                "drv/a.inf",
                Outcome::Missing,
            ),
            (
                |f| f.push(file("S/drv/b.txt", "b", None)),
                "S/drv/b.txt",
                Outcome::Added,
            ),
        ];
        for (edit, path, outcome) in cases {
            let mut files = returned("S/");
            edit(&mut files);
            let v = compare(&sent(), &contents(files));
            assert!(!v.passed, "{path}");
            let failed = failures(&v);
            assert_eq!(failed, [(path, outcome)], "{v:#?}");
        }
    }

    #[test]
    fn a_missing_file_keeps_its_kind_and_is_never_taken_for_a_catalog() {
        let mut files = returned("");
        files.remove(0);
        files.push(file("drv/ms.cat", "ms", None));
        let v = compare(&sent(), &contents(files));
        let inf = v.files.iter().find(|f| f.path == "drv/a.inf").unwrap();
        assert_eq!((inf.kind, inf.outcome), (FileKind::Other, Outcome::Missing));
        assert!(!inf.passed);
    }

    #[test]
    fn a_root_whose_lower_case_has_another_length_is_kept_as_returned() {
        // U+0130 is two bytes and three lower-cased; the Kelvin sign U+212A three and one.
        for root in ["\u{130}x/", "\u{212A}x/"] {
            let mut files = returned(root);
            files.push(file(&format!("{root}drv/b.txt"), "b", None));
            let v = compare(&sent(), &contents(files));
            assert_eq!(v.signed_root, root);
            let added: Vec<_> = failures(&v).into_iter().map(|(p, _)| p).collect();
            assert_eq!(added, [format!("{root}drv/b.txt")]);
        }
    }

    #[test]
    fn files_at_the_top_are_in_no_folder() {
        let top = contents(vec![file("a.inf", "inf", None)]);
        let v = compare(&top, &contents(vec![file("a.inf", "inf", None)]));
        assert_eq!(outcomes(&v), [("a.inf", Outcome::Same)]);
        assert!(v.passed);
    }

    #[test]
    fn a_file_outside_the_root_is_added_and_the_root_is_where_most_files_are() {
        let mut files = returned("S/");
        files.push(file("drv/a.inf", "inf", None));
        let v = compare(&sent(), &contents(files));
        assert_eq!(v.signed_root, "S/");
        let failed = failures(&v);
        assert_eq!(failed, [("drv/a.inf", Outcome::Added)]);
        // Nothing in common: every file missing, the root the top.
        let v = compare(&sent(), &contents(vec![file("x/y.txt", "y", None)]));
        assert_eq!(v.signed_root, "");
        assert_eq!(
            v.files
                .iter()
                .filter(|f| f.outcome == Outcome::Missing)
                .count(),
            3
        );
    }

    #[test]
    fn catalogs_are_replaced_renamed_added_or_missing() {
        // Renamed: the submitted one replaced, Microsoft's added.
        let mut files = returned("");
        files[2].path = "drv/ms.cat".into();
        let v = compare(&sent(), &contents(files));
        assert!(v.passed, "{v:#?}");
        assert_eq!(
            outcomes(&v)[..2],
            [
                ("drv/a.cat", Outcome::CatalogReplaced),
                ("drv/a.inf", Outcome::Same)
            ]
        );
        assert_eq!(v.files[3].outcome, Outcome::CatalogAdded);
        // None submitted: Microsoft's is added.
        let mut without = sent();
        without.files.remove("drv/a.cat");
        let v = compare(&without, &contents(returned("")));
        assert!(v.passed, "{v:#?}");
        assert_eq!(v.files[0].outcome, Outcome::CatalogAdded);
        // None submitted, none returned: the folder misses one.
        let mut none = returned("");
        none.remove(2);
        let v = compare(&without, &contents(none.clone()));
        assert_eq!(outcomes(&v)[0], ("drv/", Outcome::Missing));
        assert!(!v.passed);
        // One submitted, none returned: that catalog is missing, once.
        let v = compare(&sent(), &contents(none));
        let failed = failures(&v);
        assert_eq!(failed, [("drv/a.cat", Outcome::Missing)]);
        // A returned file that is not a catalog does not stand for a missing one.
        let mut plain = returned("");
        plain[2].path = "drv/a.txt".into();
        let v = compare(&sent(), &contents(plain));
        let failed = failures(&v);
        assert_eq!(
            failed,
            [
                ("drv/a.cat", Outcome::Missing),
                ("drv/a.txt", Outcome::Added)
            ]
        );
        // A folder without a catalog is named as submitted.
        let two = contents(vec![
            file("Other/o.inf", "o", None),
            file("Drv/a.inf", "inf", None),
        ]);
        let back = contents(vec![
            file("Other/o.inf", "o", None),
            file("Other/o.cat", "c", None),
            file("Drv/a.inf", "inf", None),
        ]);
        let v = compare(&two, &back);
        let failed: Vec<_> = v
            .files
            .iter()
            .filter(|f| !f.passed)
            .map(|f| f.path.as_str())
            .collect();
        assert_eq!(failed, ["Drv/"]);
        // A catalog of another folder does not stand for this one's.
        let mut other = returned("");
        other[2].path = "other/a.cat".into();
        let v = compare(&sent(), &contents(other));
        assert_eq!(
            failures(&v),
            [
                ("drv/a.cat", Outcome::Missing),
                ("other/a.cat", Outcome::Added)
            ]
        );
    }
}
