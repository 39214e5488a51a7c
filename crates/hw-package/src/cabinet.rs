//! The attestation CAB: written from driver folders, and read back for the checks, through the
//! `cab` crate (`docs/package-rules.md`, "CAB layout").
//!
//! Each driver folder becomes one MSZIP cabinet folder, its files named `folder\path` as makecab
//! names them. The bytes depend only on the files: folders and files in byte order of their
//! names, every time 1980-01-01 00:00:00 and the same attributes, so the same folders always give
//! the same cabinet.

use std::collections::{HashMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use cab::{CabinetBuilder, CompressionType};

use crate::driver_package::{DriverFolder, DriverPackage, FileSource, PackageError, PackageFile};

/// The most files a cabinet holds (CFHEADER's `cFiles` is 16 bits).
pub const MAX_FILES: usize = 0xFFFF;
/// The most bytes of files one cabinet folder holds: 65,535 data blocks (CFFOLDER's `cCFData`
/// is 16 bits) of at most 32 KiB.
pub const MAX_FOLDER_BYTES: u64 = 0xFFFF * 0x8000;
/// The largest cabinet the `cab` crate (like makecab) writes: 2 GiB less one byte.
pub const MAX_CABINET_BYTES: u64 = 0x7FFF_FFFF;
/// The longest file name a cabinet holds, in bytes.
pub const MAX_NAME_BYTES: usize = 255;

/// What was written.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct CabinetSummary {
    /// The cabinet.
    pub path: PathBuf,
    /// Its size in bytes.
    pub size: u64,
    /// Its SHA-256, in lower-case hex.
    pub sha256: String,
    /// Its driver folders.
    pub folders: Vec<FolderSummary>,
}

/// One driver folder of a written cabinet.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct FolderSummary {
    /// Its name.
    pub name: String,
    /// How many files it holds.
    pub files: usize,
    /// Their size before compression.
    pub bytes: u64,
}

/// The name a file has in the cabinet.
fn cab_name(folder: &DriverFolder, file: &PackageFile) -> String {
    format!("{}\\{}", folder.name, file.path.replace('/', "\\"))
}

/// The limits of the CAB format (rule F1), checked before anything is written.
pub fn check_limits(package: &DriverPackage) -> Result<(), PackageError> {
    let too_large = |what: String, limit: String| Err(PackageError::TooLarge { what, limit });
    let count: usize = package.folders.iter().map(|f| f.files.len()).sum();
    if count > MAX_FILES {
        return too_large(
            format!("{count} files"),
            format!("a cabinet holds at most {MAX_FILES}"),
        );
    }
    let total: u64 = package
        .folders
        .iter()
        .flat_map(|f| &f.files)
        .map(|f| f.size)
        .sum();
    if total > MAX_CABINET_BYTES {
        return too_large(
            format!("{total} bytes of files"),
            format!(
                "a cabinet is less than {MAX_CABINET_BYTES} bytes, and MSZIP may not shrink them"
            ),
        );
    }
    for folder in &package.folders {
        if folder.files.is_empty() {
            return Err(PackageError::EmptyFolder(folder.name.clone()));
        }
        let bytes: u64 = folder.files.iter().map(|f| f.size).sum();
        if bytes > MAX_FOLDER_BYTES {
            return too_large(
                format!("{} ({bytes} bytes)", folder.name),
                format!("a cabinet folder holds at most {MAX_FOLDER_BYTES} bytes of files"),
            );
        }
        if let Some(file) = folder
            .files
            .iter()
            .find(|f| cab_name(folder, f).len() > MAX_NAME_BYTES)
        {
            return too_large(
                cab_name(folder, file),
                format!("a cabinet file name is at most {MAX_NAME_BYTES} bytes"),
            );
        }
    }
    Ok(())
}

/// Writes `package` as a cabinet at `out` (through `out` with `.new` appended, then renamed, so
/// `out` is never half written).
pub fn write_cabinet(package: &DriverPackage, out: &Path) -> Result<CabinetSummary, PackageError> {
    check_limits(package)?;
    let epoch = time::PrimitiveDateTime::new(
        time::Date::from_calendar_date(1980, time::Month::January, 1).expect("a valid date"),
        time::Time::MIDNIGHT,
    );
    let mut builder = CabinetBuilder::new();
    for folder in &package.folders {
        let cab_folder = builder.add_folder(CompressionType::MsZip);
        for file in &folder.files {
            let entry = cab_folder.add_file(cab_name(folder, file));
            entry.set_datetime(epoch);
            entry.set_is_archive(false);
        }
    }
    let mut partial = out.as_os_str().to_owned();
    partial.push(".new");
    let partial = PathBuf::from(partial);
    let file = std::fs::File::create(&partial).map_err(|e| PackageError::io(&partial, e))?;
    let written = (|| {
        let mut writer = builder.build(std::io::BufWriter::new(file))?;
        let mut sources = package
            .folders
            .iter()
            .flat_map(|folder| folder.files.iter());
        while let Some(mut entry) = writer.next_file()? {
            let source = sources.next().expect("one source per cabinet entry");
            copy_into(source, &mut entry).map_err(|source_error| {
                std::io::Error::other(SourceFailed {
                    path: match &source.source {
                        FileSource::Disk(path) => path.clone(),
                        _ => PathBuf::from(&source.path),
                    },
                    source: source_error,
                })
            })?;
        }
        let file = writer.finish()?.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        drop(file);
        std::fs::rename(&partial, out)
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&partial);
        // A source file's error names that file; any other, the cabinet.
        return Err(match e.downcast::<SourceFailed>() {
            Ok(failed) => PackageError::io(&failed.path, failed.source),
            Err(e) => PackageError::io(out, e),
        });
    }
    let (size, sha256) = crate::digest::sha256_file(out).map_err(|e| PackageError::io(out, e))?;
    Ok(CabinetSummary {
        path: out.to_owned(),
        size,
        sha256,
        folders: package
            .folders
            .iter()
            .map(|f| FolderSummary {
                name: f.name.clone(),
                files: f.files.len(),
                bytes: f.files.iter().map(|f| f.size).sum(),
            })
            .collect(),
    })
}

/// A source file that could not be copied into the cabinet (carried through the `cab` crate's
/// `io::Error`s, so that the error names the file, not the cabinet).
#[derive(Debug, thiserror::Error)]
#[error("{}", path.display())]
struct SourceFailed {
    path: PathBuf,
    #[source]
    source: std::io::Error,
}

/// Copies one file's bytes into its cabinet entry, checking that it did not change size since
/// the folder was read (a cabinet entry's size is fixed by then).
fn copy_into(file: &PackageFile, to: &mut impl Write) -> std::io::Result<()> {
    let copied = match &file.source {
        FileSource::Disk(path) => {
            let mut from = std::fs::File::open(path)?;
            std::io::copy(&mut (&mut from).take(file.size + 1), to)?
        }
        FileSource::Memory(bytes) => {
            to.write_all(bytes)?;
            bytes.len() as u64
        }
        FileSource::Listed => {
            return Err(std::io::Error::other(format!(
                "{} was listed, not read",
                file.path
            )));
        }
    };
    if copied != file.size {
        return Err(std::io::Error::other(format!(
            "{} changed while the cabinet was written ({} bytes, then {copied})",
            file.path, file.size
        )));
    }
    Ok(())
}

/// Reads a cabinet's layout: its driver folders (the first part of each name), the INFs at their
/// tops in memory and the other files listed, and the files at its root.
pub fn read_cabinet(path: &Path) -> Result<DriverPackage, PackageError> {
    let file = std::fs::File::open(path).map_err(|e| PackageError::io(path, e))?;
    read_cabinet_from(path, std::io::BufReader::new(file))
}

/// [`read_cabinet`] from any reader; `path` names it in errors.
pub fn read_cabinet_from(
    path: &Path,
    reader: impl Read + std::io::Seek,
) -> Result<DriverPackage, PackageError> {
    without_panics(path, || read_layout(path, reader))
}

/// Runs `read` over the cabinet at `path`. The `cab` crate (0.6.0) panics on some malformed
/// cabinets (an index out of bounds, found by `cargo xtask fuzz`): such a panic is caught here
/// and becomes the same typed error as any other damaged cabinet.
pub(crate) fn without_panics<T>(
    path: &Path,
    read: impl FnOnce() -> Result<T, PackageError>,
) -> Result<T, PackageError> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|_| {
        Err(PackageError::Cabinet {
            path: path.to_owned(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                "the cabinet is malformed (its reader gave up)",
            ),
        })
    })
}

fn read_layout(
    path: &Path,
    reader: impl Read + std::io::Seek,
) -> Result<DriverPackage, PackageError> {
    let bad = |source| PackageError::Cabinet {
        path: path.to_owned(),
        source,
    };
    let mut cabinet = cab::Cabinet::new(reader).map_err(bad)?;
    let mut entries: Vec<(String, u64)> = cabinet
        .folder_entries()
        .flat_map(|folder| folder.file_entries())
        .map(|file| (file.name().to_owned(), u64::from(file.uncompressed_size())))
        .collect();
    entries.sort();
    // Grouped by folder name, whatever order and separators the names come in. Names are
    // compared as Windows and the service compare them, ignoring case: two that differ only in
    // case would be one file once extracted.
    let mut folders: std::collections::BTreeMap<String, Vec<PackageFile>> = Default::default();
    let mut folder_names: HashMap<String, String> = HashMap::new();
    let mut seen = HashSet::new();
    let mut root_files = Vec::new();
    for (name, size) in entries {
        let joined = crate::archive_name::package_path(&name)?;
        let parts: Vec<&str> = joined.split('/').collect();
        if !seen.insert(parts.join("/").to_lowercase()) {
            return Err(PackageError::DuplicateFile(name));
        }
        let [folder, rest @ ..] = parts.as_slice() else {
            continue;
        };
        if !rest.is_empty() {
            let first = folder_names
                .entry(folder.to_lowercase())
                .or_insert_with(|| (*folder).to_owned());
            if first != folder {
                return Err(PackageError::DuplicateFolder((*folder).to_owned()));
            }
        }
        if rest.is_empty() {
            root_files.push(name.clone());
            continue;
        }
        let relative = rest.join("/");
        let is_inf = rest.len() == 1 && relative.to_ascii_lowercase().ends_with(".inf");
        let source = if is_inf && size <= crate::inf::MAX_INF_BYTES as u64 {
            // What the header claims is not trusted for the allocation.
            let mut bytes = Vec::with_capacity(size.min(64 * 1024) as usize);
            cabinet
                .read_file(&name)
                .and_then(|r| r.take(size).read_to_end(&mut bytes))
                .map_err(bad)?;
            FileSource::Memory(bytes)
        } else {
            FileSource::Listed
        };
        folders
            .entry((*folder).to_owned())
            .or_default()
            .push(PackageFile {
                path: relative,
                size,
                source,
            });
    }
    let package = DriverPackage {
        folders: folders
            .into_iter()
            .map(|(name, mut files)| {
                files.sort_by(|a, b| a.path.cmp(&b.path));
                DriverFolder { name, files }
            })
            .collect(),
        root_files,
    };
    Ok(package)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn package(files: &[(&str, &str, &[u8])]) -> DriverPackage {
        let mut package = DriverPackage::default();
        for (folder, path, bytes) in files {
            if package.folders.last().is_none_or(|f| f.name != *folder) {
                package.folders.push(DriverFolder {
                    name: (*folder).into(),
                    files: Vec::new(),
                });
            }
            package.folders.last_mut().unwrap().files.push(PackageFile {
                path: (*path).into(),
                size: bytes.len() as u64,
                source: FileSource::Memory(bytes.to_vec()),
            });
        }
        package
    }

    #[test]
    fn a_written_cabinet_reads_back_with_the_same_layout_and_bytes() {
        let dir = std::env::temp_dir().join(format!("hw-api-cab-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big: Vec<u8> = (0..200_000u32).flat_map(|n| n.to_le_bytes()).collect();
        let written = package(&[
            ("one", "a.inf", b"[Version]\n"),
            ("one", "bin/a.sys", &big),
            ("two", "b.inf", b"[Version]\r\n"),
            ("two", "empty.txt", b""),
        ]);
        let out = dir.join("x.cab");
        let summary = write_cabinet(&written, &out).unwrap();
        assert_eq!(summary.size, std::fs::metadata(&out).unwrap().len());
        assert!(!dir.join("x.cab.new").exists());
        let read = read_cabinet(&out).unwrap();
        assert!(read.root_files.is_empty());
        let layout = |p: &DriverPackage| -> Vec<(String, String, u64)> {
            p.folders
                .iter()
                .flat_map(|f| {
                    f.files
                        .iter()
                        .map(|x| (f.name.clone(), x.path.clone(), x.size))
                })
                .collect()
        };
        assert_eq!(layout(&read), layout(&written));
        assert_eq!(
            read.folders[0].files[0].source,
            FileSource::Memory(b"[Version]\n".to_vec())
        );
        // Only the INFs at a folder's top are read; every other file is listed.
        assert_eq!(read.folders[0].files[1].path, "bin/a.sys");
        assert_eq!(read.folders[0].files[1].source, FileSource::Listed);
        assert_eq!(read.folders[1].files[1].path, "empty.txt");
        assert_eq!(read.folders[1].files[1].source, FileSource::Listed);
        let mut cabinet = cab::Cabinet::new(std::fs::File::open(&out).unwrap()).unwrap();
        let mut back = Vec::new();
        cabinet
            .read_file("one\\bin\\a.sys")
            .unwrap()
            .read_to_end(&mut back)
            .unwrap();
        // Closed before its folder is removed: Windows removes no folder with an open file.
        drop(cabinet);
        assert_eq!(back, big);
        // The same package again: the same bytes.
        let again = write_cabinet(&written, &dir.join("y.cab")).unwrap();
        assert_eq!(again.sha256, summary.sha256);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn the_format_limits_are_refused_before_writing() {
        let mut huge = package(&[("one", "a.sys", b"")]);
        huge.folders[0].files[0].size = MAX_FOLDER_BYTES + 1;
        assert!(matches!(
            check_limits(&huge),
            Err(PackageError::TooLarge { .. })
        ));
        let long = "n".repeat(MAX_NAME_BYTES);
        let named = package(&[("one", &long, b"")]);
        assert!(matches!(
            check_limits(&named),
            Err(PackageError::TooLarge { .. })
        ));
    }

    #[test]
    fn an_empty_folder_and_an_oversized_cabinet_are_refused() {
        let mut empty = package(&[("one", "a.inf", b"x")]);
        empty.folders.push(DriverFolder {
            name: "two".into(),
            files: Vec::new(),
        });
        assert!(
            matches!(check_limits(&empty), Err(PackageError::EmptyFolder(name)) if name == "two")
        );
        let mut big = package(&[("one", "a.sys", b""), ("two", "b.sys", b"")]);
        big.folders[0].files[0].size = MAX_FOLDER_BYTES;
        big.folders[1].files[0].size = MAX_FOLDER_BYTES;
        assert!(matches!(
            check_limits(&big),
            Err(PackageError::TooLarge { .. })
        ));
    }

    #[test]
    fn a_source_that_cannot_be_read_is_named_in_the_error() {
        let dir = std::env::temp_dir().join(format!("hw-api-cab-src-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut gone = package(&[("one", "a.inf", b"x")]);
        gone.folders[0].files[0].source = FileSource::Disk(dir.join("vanished.inf"));
        let out = dir.join("x.cab");
        match write_cabinet(&gone, &out) {
            Err(PackageError::Io { path, .. }) => assert_eq!(path, dir.join("vanished.inf")),
            other => panic!("{other:?}"),
        }
        assert!(!out.exists() && !dir.join("x.cab.new").exists());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A cabinet holding one byte under each of `names`, written by the `cab` crate alone (so
    /// that names hw-api would never write can be read back); removed with its folder on drop.
    struct Written(PathBuf);

    impl Written {
        fn with(tag: &str, names: &[&str]) -> Self {
            let dir = std::env::temp_dir().join(format!("hw-api-cab-{tag}-{}", std::process::id()));
            std::fs::create_dir_all(&dir).unwrap();
            let path = dir.join("names.cab");
            let mut builder = CabinetBuilder::new();
            let folder = builder.add_folder(CompressionType::MsZip);
            for name in names {
                folder.add_file(*name);
            }
            let mut writer = builder
                .build(std::fs::File::create(&path).unwrap())
                .unwrap();
            while let Some(mut entry) = writer.next_file().unwrap() {
                entry.write_all(b"x").unwrap();
            }
            writer.finish().unwrap();
            Self(path)
        }

        fn read(&self) -> Result<DriverPackage, PackageError> {
            read_cabinet(&self.0)
        }
    }

    impl Drop for Written {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(self.0.parent().unwrap());
        }
    }

    #[test]
    fn names_are_grouped_by_folder_whatever_their_order_and_separators() {
        let read = Written::with(
            "mixed",
            &["one/a.inf", "one0\\b.inf", "one\\c.sys", "root.txt"],
        )
        .read()
        .unwrap();
        let layout: Vec<(&str, Vec<&str>)> = read
            .folders
            .iter()
            .map(|f| {
                (
                    f.name.as_str(),
                    f.files.iter().map(|x| x.path.as_str()).collect(),
                )
            })
            .collect();
        assert_eq!(
            layout,
            [("one", vec!["a.inf", "c.sys"]), ("one0", vec!["b.inf"])]
        );
        assert_eq!(read.root_files, ["root.txt"]);
    }

    #[test]
    fn names_that_differ_only_in_case_are_one_name() {
        let twice = |tag, names: &[&str]| Written::with(tag, names).read().unwrap_err();
        assert!(matches!(
            twice("file-case", &["a/X.INF", "a/x.inf"]),
            PackageError::DuplicateFile(name) if name.eq_ignore_ascii_case("a/x.inf")
        ));
        assert!(matches!(
            twice("file-separator", &["a/sub/x.sys", "a\\SUB\\x.sys"]),
            PackageError::DuplicateFile(_)
        ));
        assert!(matches!(
            twice("root-case", &["Stray.txt", "stray.TXT"]),
            PackageError::DuplicateFile(_)
        ));
        assert!(matches!(
            twice("folder-case", &["Drv/a.inf", "drv/b.sys"]),
            PackageError::DuplicateFolder(name) if name.eq_ignore_ascii_case("drv")
        ));
        // Names that differ in more than case stay apart.
        let apart = Written::with("apart", &["a/x.inf", "a/y.inf", "b/x.inf"])
            .read()
            .unwrap();
        assert_eq!(apart.folders.len(), 2);
    }

    #[test]
    fn a_name_that_leaves_its_folder_is_refused() {
        for (tag, name) in [
            ("up-root", "../evil.sys"),
            ("up-folder", "a/../../evil.sys"),
            ("up-backslash", "a\\..\\evil.sys"),
            ("dot", "a/./x.inf"),
        ] {
            match Written::with(tag, &[name, "a/x.inf"]).read() {
                Err(PackageError::OutsideFolder(refused)) => assert_eq!(refused, name),
                other => panic!("{name}: {other:?}"),
            }
        }
        for name in ["C:evil.sys", "a/x.inf:hidden"] {
            let read = Written::with("colon", &[name]).read();
            assert!(matches!(read, Err(PackageError::BadName(_))), "{read:?}");
        }
        // A name that merely starts with dots is a name.
        assert!(Written::with("dots", &["a/..x.inf"]).read().is_ok());
    }

    #[test]
    fn a_file_that_is_not_a_cabinet_is_a_typed_error() {
        let path = std::env::temp_dir().join(format!("hw-api-notcab-{}", std::process::id()));
        std::fs::write(&path, b"<html>gateway</html>").unwrap();
        assert!(matches!(
            read_cabinet(&path),
            Err(PackageError::Cabinet { .. })
        ));
        std::fs::remove_file(&path).unwrap();
    }
}
