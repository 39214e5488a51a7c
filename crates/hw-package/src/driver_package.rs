//! A driver submission's contents as one model, whether it lies on disk as driver folders or was
//! read out of a CAB: each driver folder with its files (relative paths, sizes), the INFs' bytes
//! at hand for the checks, and the files that sit at the cabinet root (rule C1).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// A file of a driver folder.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PackageFile {
    /// Its path inside the driver folder, with `/` between parts.
    pub path: String,
    /// Its size in bytes.
    pub size: u64,
    /// Where its bytes are.
    pub source: FileSource,
}

/// Where a package file's bytes are.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum FileSource {
    /// In a file on disk.
    Disk(PathBuf),
    /// In memory (an INF read out of a cabinet).
    Memory(Vec<u8>),
    /// Only listed (a cabinet's other files: their names and sizes are all the checks need).
    Listed,
}

/// One driver folder: an INF with the files it names.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DriverFolder {
    /// The folder's name, which is its name in the cabinet.
    pub name: String,
    /// Its files, in byte order of their paths.
    pub files: Vec<PackageFile>,
}

impl DriverFolder {
    /// The INFs directly in the folder (a driver package's INF sits at its top).
    pub fn infs(&self) -> impl Iterator<Item = &PackageFile> {
        self.files.iter().filter(|f| {
            !f.path.contains('/')
                && Path::new(&f.path)
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("inf"))
        })
    }

    /// The lower-cased paths of its files (Windows file names ignore case).
    pub fn lowercase_paths(&self) -> BTreeSet<String> {
        self.files.iter().map(|f| f.path.to_lowercase()).collect()
    }

    /// The bytes of `file`, read from disk when they are there.
    pub fn read(&self, file: &PackageFile) -> Result<Vec<u8>, PackageError> {
        match &file.source {
            FileSource::Disk(path) => std::fs::read(path).map_err(|e| PackageError::io(path, e)),
            FileSource::Memory(bytes) => Ok(bytes.clone()),
            FileSource::Listed => Err(PackageError::NotRead(file.path.clone())),
        }
    }
}

/// A driver submission's contents.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DriverPackage {
    /// The driver folders, by name.
    pub folders: Vec<DriverFolder>,
    /// Files at the cabinet root, outside every folder (C1 forbids them).
    pub root_files: Vec<String>,
}

/// Why a package cannot be read or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PackageError {
    /// A file or folder cannot be read or written.
    #[error("{path}")]
    Io {
        /// What could not be read or written.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// A path given as a driver folder is not a folder.
    #[error("{0} is not a driver folder")]
    NotAFolder(PathBuf),
    /// Two driver folders have the same name, which a cabinet cannot hold.
    #[error("two driver folders are named {0:?}: a cabinet holds each name once")]
    DuplicateFolder(String),
    /// A file name that a cabinet cannot hold (not Unicode, or with a character Windows file
    /// names may not hold, such as `\`, which a cabinet reads as a folder).
    #[error(
        "{0:?}: a package cannot hold this name (not Unicode, a control character, or one of \\ : * ? \" < > |)"
    )]
    BadName(PathBuf),
    /// Two files of a folder whose names differ only in case: one file once extracted on
    /// Windows.
    #[error("{0:?} is there twice (Windows names ignore case)")]
    DuplicateFile(String),
    /// A name in a cabinet with a `..` or `.` part: extracted, it would land outside its folder
    /// (or nowhere), so Windows and the service refuse it.
    #[error("{0:?} leaves its folder (a `..` or `.` in its path): Windows refuses such a name")]
    OutsideFolder(String),
    /// An archive entry named by an absolute path: extracted as named, it would land outside
    /// the folder asked for.
    #[error("{0:?} is an absolute path: an archive's entries are named relative to it")]
    AbsoluteName(String),
    /// An archive entry that is a symbolic link: a package holds files only, and a link could
    /// point outside it.
    #[error("{0:?} is a symbolic link: a package holds files only")]
    Link(String),
    /// An archive entry whose bytes are not what its header states (a damaged or hostile
    /// archive).
    #[error("{entry:?}: {why}")]
    Damaged {
        /// The entry.
        entry: String,
        /// What does not match.
        why: String,
    },
    /// A package past a bound of this reader (a PE file's size, the bytes a package expands
    /// to, the work a cabinet takes to read).
    #[error("{what}: {limit}")]
    PastBound {
        /// The entry or package.
        what: String,
        /// The bound.
        limit: String,
    },
    /// The file is not a readable ZIP archive.
    #[error("{path} is not a readable ZIP archive")]
    Zip {
        /// The file.
        path: PathBuf,
        /// What the reader said.
        #[source]
        source: std::io::Error,
    },
    /// A driver folder with no files, which a cabinet cannot hold.
    #[error("the driver folder {0:?} holds no files")]
    EmptyFolder(String),
    /// The package exceeds a limit of the CAB format (rule F1).
    #[error("{what}: {limit} (docs/package-rules.md, \"CAB layout\", F1)")]
    TooLarge {
        /// The folder or file.
        what: String,
        /// The limit.
        limit: String,
    },
    /// The file is not a cabinet, or a damaged one.
    #[error("{path} is not a readable cabinet")]
    Cabinet {
        /// The file.
        path: PathBuf,
        /// What the reader said.
        #[source]
        source: std::io::Error,
    },
    /// A file of a read cabinet whose bytes were not kept.
    #[error("{0} was listed, not read")]
    NotRead(String),
}

impl PackageError {
    pub(crate) fn io(path: &Path, source: std::io::Error) -> PackageError {
        PackageError::Io {
            path: path.to_owned(),
            source,
        }
    }
}

impl DriverPackage {
    /// The driver folders on disk, each with every file under it, folders and files sorted so
    /// that the same folders always give the same package.
    pub fn from_folders(paths: &[PathBuf]) -> Result<DriverPackage, PackageError> {
        let mut folders = Vec::with_capacity(paths.len());
        for path in paths {
            folders.push(read_folder(path)?);
        }
        folders.sort_by(|a, b| a.name.cmp(&b.name));
        // Windows names ignore case: `Touch` and `touch` are one folder once extracted.
        let mut names = std::collections::BTreeSet::new();
        if let Some(twice) = folders
            .iter()
            .find(|f| !names.insert(f.name.to_lowercase()))
        {
            return Err(PackageError::DuplicateFolder(twice.name.clone()));
        }
        Ok(DriverPackage {
            folders,
            root_files: Vec::new(),
        })
    }
}

fn read_folder(path: &Path) -> Result<DriverFolder, PackageError> {
    let absolute = std::path::absolute(path).map_err(|e| PackageError::io(path, e))?;
    let meta = std::fs::metadata(&absolute).map_err(|e| PackageError::io(path, e))?;
    if !meta.is_dir() {
        return Err(PackageError::NotAFolder(path.to_owned()));
    }
    // `absolute` keeps `..` and `.`: the folder's own name comes from its normalized form.
    let normal: PathBuf = absolute.components().fold(PathBuf::new(), |mut acc, c| {
        match c {
            std::path::Component::ParentDir => {
                acc.pop();
            }
            std::path::Component::CurDir => {}
            other => acc.push(other),
        }
        acc
    });
    let name = normal
        .file_name()
        .ok_or_else(|| PackageError::NotAFolder(path.to_owned()))?;
    let name = name
        .to_str()
        .ok_or_else(|| PackageError::BadName(path.to_owned()))?
        .to_owned();
    let mut files = Vec::new();
    walk(&normal, "", &mut files)?;
    files.sort_by(|a, b| a.path.cmp(&b.path));
    let mut seen = BTreeSet::new();
    if let Some(twice) = files.iter().find(|f| !seen.insert(f.path.to_lowercase())) {
        return Err(PackageError::DuplicateFile(format!(
            "{name}/{}",
            twice.path
        )));
    }
    Ok(DriverFolder { name, files })
}

/// Every file under `dir`, its path prefixed with `prefix`.
fn walk(dir: &Path, prefix: &str, files: &mut Vec<PackageFile>) -> Result<(), PackageError> {
    let entries = std::fs::read_dir(dir).map_err(|e| PackageError::io(dir, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| PackageError::io(dir, e))?;
        let path = entry.path();
        let name = entry
            .file_name()
            .into_string()
            .ok()
            .filter(|n| !n.contains(['\\', ':', '*', '?', '"', '<', '>', '|']))
            .ok_or_else(|| PackageError::BadName(path.clone()))?;
        let relative = format!("{prefix}{name}");
        // Follows links, as makecab would.
        let meta = std::fs::metadata(&path).map_err(|e| PackageError::io(&path, e))?;
        if meta.is_dir() {
            walk(&path, &format!("{relative}/"), files)?;
        } else {
            files.push(PackageFile {
                path: relative,
                size: meta.len(),
                source: FileSource::Disk(path),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_and_files_come_sorted_whatever_the_order_given() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for (folder, file) in [("b", "z.inf"), ("b", "sub/a.sys"), ("a", "x.inf")] {
            let path = root.join(folder).join(file);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, file).unwrap();
        }
        let one = DriverPackage::from_folders(&[root.join("b"), root.join("a")]).unwrap();
        let two = DriverPackage::from_folders(&[root.join("a"), root.join("b/../b")]).unwrap();
        assert_eq!(one, two);
        let names: Vec<_> = one.folders.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(names, ["a", "b"]);
        let paths: Vec<_> = one.folders[1]
            .files
            .iter()
            .map(|f| f.path.as_str())
            .collect();
        assert_eq!(paths, ["sub/a.sys", "z.inf"]);
        assert!(matches!(
            DriverPackage::from_folders(&[root.join("a"), root.join("a")]),
            Err(PackageError::DuplicateFolder(name)) if name == "a"
        ));
        assert!(matches!(
            DriverPackage::from_folders(&[root.join("a/x.inf")]),
            Err(PackageError::NotAFolder(_))
        ));
        // Windows names ignore case: folders and files that differ only in case are refused.
        std::fs::create_dir_all(root.join("other/A")).unwrap();
        std::fs::write(root.join("other/A/x.inf"), "x").unwrap();
        assert!(matches!(
            DriverPackage::from_folders(&[root.join("a"), root.join("other/A")]),
            Err(PackageError::DuplicateFolder(_))
        ));
        std::fs::write(root.join("a/X.INF"), "x").unwrap();
        let names = std::fs::read_dir(root.join("a")).unwrap().count();
        let found = DriverPackage::from_folders(&[root.join("a")]);
        if names == 2 {
            // A file system that tells case apart (Linux): both names are there, and refused.
            assert!(
                matches!(found, Err(PackageError::DuplicateFile(_))),
                "{found:?}"
            );
            std::fs::remove_file(root.join("a/X.INF")).unwrap();
        } else {
            // One that does not (NTFS, APFS): the second write was the same file.
            let files = &found.unwrap().folders[0].files;
            assert_eq!(files.len(), 1, "{files:?}");
            assert!(files[0].path.eq_ignore_ascii_case("x.inf"));
        }
        #[cfg(unix)]
        {
            std::fs::write(root.join("a/back\\slash.txt"), "x").unwrap();
            let found = DriverPackage::from_folders(&[root.join("a")]);
            assert!(matches!(found, Err(PackageError::BadName(_))), "{found:?}");
        }
    }
}
