//! A package's files as [`verify`](super::verify) compares them: each file's path, size, SHA-256 and, for a PE
//! file, its Authenticode digest, read from a driver folder, a CAB or a ZIP one file at a time
//! (`docs/package-rules.md`, "Hostile packages"). Nothing is written to disk; a PE file is held
//! in memory up to [`MAX_PE`], any other file is hashed as it streams; an entry whose bytes are
//! not what its header states, a link, a name that leaves the package, two names that differ
//! only in case and a package past [`MAX_TOTAL`] are typed errors that name the entry.

use std::collections::BTreeMap;
use std::io::{Read, Seek};
use std::path::Path;

use sha2::{Digest, Sha256};

use super::pe::{PeDigest, PeError, authenticode_digest, looks_like_pe};
use super::signature::{SignatureError, Signer, certificate_table_signers};
use crate::archive_name::package_path;
use crate::driver_package::{DriverPackage, PackageError};

/// The largest PE file read (driver binaries are a few MiB).
pub const MAX_PE: u64 = 256 << 20;
/// The most bytes a package may expand to, all files together (a ZIP bomb stops here).
pub const MAX_TOTAL: u64 = 8 << 30;
/// The most bytes reading a cabinet's files may inflate (see `read_cabinet`).
pub const MAX_CABINET_WORK: u64 = 64 << 30;
/// A ZIP entry's largest ratio of expanded to compressed size: DEFLATE's own limit is about
/// 1032, so more is a lie, and a ratio near it is a bomb's, not a driver's.
const MAX_RATIO: u64 = 1000;
/// Entries smaller than this are not held to [`MAX_RATIO`] (a file of zeros compresses well).
const RATIO_FLOOR: u64 = 1 << 20;

/// One file of a package, digested.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileDigest {
    /// Its path in the package, `/` between parts, as the archive or folder names it.
    pub path: String,
    /// Its size.
    pub size: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// For a file that starts as a PE file does: its Authenticode digest, or why there is none.
    pub pe: Option<Result<PeDigest, PeError>>,
    /// For a PE file with a certificate table: the signers its signatures name, or why they
    /// cannot be read.
    pub signers: Option<Result<Vec<Signer>, SignatureError>>,
}

/// A package's files, by lower-cased path (Windows names ignore case).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Contents {
    /// Each file, by its lower-cased path.
    pub files: BTreeMap<String, FileDigest>,
    total: u64,
    limits: Limits,
}

/// The bounds of a read: [`MAX_PE`] and [`MAX_TOTAL`], smaller in tests.
#[derive(Debug, Clone, Copy)]
struct Limits {
    pe: u64,
    total: u64,
    cabinet_work: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            pe: MAX_PE,
            total: MAX_TOTAL,
            cabinet_work: MAX_CABINET_WORK,
        }
    }
}

impl Contents {
    /// Reads the package's entry `name` from `reader`, stated to be `stated` bytes long when
    /// the archive says so, and keeps its digests.
    fn add(
        &mut self,
        name: &str,
        stated: Option<u64>,
        reader: &mut dyn Read,
    ) -> Result<(), PackageError> {
        let path = package_path(name)?;
        let key = path.to_lowercase();
        if self.files.contains_key(&key) {
            return Err(PackageError::DuplicateFile(name.to_owned()));
        }
        let damaged = |why: String| PackageError::Damaged {
            entry: name.to_owned(),
            why,
        };
        let budget = self.limits.total - self.total;
        if stated.is_some_and(|s| s > budget) {
            return Err(self.too_large(name));
        }
        // One byte more than stated is read, to see a lie.
        let limit = stated.map_or(budget, |s| s.min(budget)) + 1;
        let mut limited = reader.take(limit);
        let mut hash = Sha256::new();
        let mut head = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        let mut size = 0u64;
        // Whether it is a PE file is known once two bytes are read; until then, and after when
        // it is one, its bytes are kept.
        let mut is_pe: Option<bool> = None;
        loop {
            let n = limited
                .read(&mut chunk)
                .map_err(|e| damaged(format!("cannot be read: {e}")))?;
            if n == 0 {
                break;
            }
            size += n as u64;
            hash.update(&chunk[..n]);
            if is_pe != Some(false) {
                head.extend_from_slice(&chunk[..n]);
                if is_pe.is_none() && head.len() >= 2 {
                    is_pe = Some(looks_like_pe(&head));
                }
            }
            if is_pe == Some(false) {
                head.clear();
            }
            if is_pe == Some(true) && size > self.limits.pe {
                return Err(PackageError::PastBound {
                    what: name.to_owned(),
                    limit: format!("a PE file is read up to {} bytes", self.limits.pe),
                });
            }
        }
        if size > budget {
            return Err(self.too_large(name));
        }
        match stated {
            Some(stated) if size > stated => {
                return Err(damaged(format!(
                    "expands past the {stated} bytes its header states"
                )));
            }
            Some(stated) if size < stated => {
                return Err(damaged(format!(
                    "holds {size} bytes, not the {stated} its header states"
                )));
            }
            _ => {}
        }
        self.total += size;
        let pe = is_pe.unwrap_or(false).then(|| authenticode_digest(&head));
        let signers = pe
            .as_ref()
            .and_then(|pe| pe.as_ref().ok())
            .and_then(|pe| pe.certificate_table_of(&head))
            .map(certificate_table_signers);
        let sha256 = crate::digest::hex(&hash.finalize());
        self.files.insert(
            key,
            FileDigest {
                path,
                size,
                sha256,
                pe,
                signers,
            },
        );
        Ok(())
    }

    fn too_large(&self, name: &str) -> PackageError {
        PackageError::PastBound {
            what: name.to_owned(),
            limit: format!("a package expands to at most {} bytes", self.limits.total),
        }
    }
}

/// The files of `path`: a driver folder (named by its folder, as in a CAB), a `.cab` or a
/// `.zip`.
pub fn read(path: &Path) -> Result<Contents, PackageError> {
    if path.is_dir() {
        return read_folder(path);
    }
    let file = std::fs::File::open(path).map_err(|e| PackageError::io(path, e))?;
    read_from(path, std::io::BufReader::new(file))
}

/// The files of a CAB or a ZIP (told apart by their first bytes) read from `reader`; `path`
/// names it in errors.
pub fn read_from(path: &Path, reader: impl Read + Seek) -> Result<Contents, PackageError> {
    read_within(path, reader, Limits::default())
}

fn read_within(
    path: &Path,
    mut reader: impl Read + Seek,
    limits: Limits,
) -> Result<Contents, PackageError> {
    let mut magic = [0u8; 4];
    let n = reader
        .read(&mut magic)
        .map_err(|e| PackageError::io(path, e))?;
    reader
        .seek(std::io::SeekFrom::Start(0))
        .map_err(|e| PackageError::io(path, e))?;
    let contents = Contents {
        limits,
        ..Contents::default()
    };
    match &magic[..n] {
        b"MSCF" => read_cabinet(path, reader, contents),
        _ => read_zip(path, reader, contents),
    }
}

/// A driver folder on disk, its files named `<folder>/<path>`.
fn read_folder(path: &Path) -> Result<Contents, PackageError> {
    let package = DriverPackage::from_folders(&[path.to_owned()])?;
    let mut contents = Contents::default();
    for folder in &package.folders {
        for file in &folder.files {
            let crate::driver_package::FileSource::Disk(on_disk) = &file.source else {
                continue;
            };
            let mut reader =
                std::fs::File::open(on_disk).map_err(|e| PackageError::io(on_disk, e))?;
            let name = format!("{}/{}", folder.name, file.path);
            contents.add(&name, None, &mut reader)?;
        }
    }
    Ok(contents)
}

/// A cabinet.
fn read_cabinet(
    path: &Path,
    reader: impl Read + Seek,
    mut contents: Contents,
) -> Result<Contents, PackageError> {
    crate::cabinet::without_panics(path, || {
        let bad = |source| PackageError::Cabinet {
            path: path.to_owned(),
            source,
        };
        let mut cabinet = cab::Cabinet::new(reader).map_err(bad)?;
        // The `cab` crate reads a file by inflating its folder from the start: reading every
        // file costs, for each, the bytes before it in its folder. That work is bounded, so
        // that many small entries after a large one cannot make it endless.
        let mut work = 0u64;
        let mut entries: Vec<(String, u64)> = Vec::new();
        for folder in cabinet.folder_entries() {
            let mut before = 0u64;
            for file in folder.file_entries() {
                let size = u64::from(file.uncompressed_size());
                before += size;
                work += before;
                entries.push((file.name().to_owned(), size));
            }
        }
        let bound = contents.limits.cabinet_work;
        if work > bound {
            return Err(PackageError::PastBound {
                what: path.display().to_string(),
                limit: format!(
                    "reading its files would inflate {work} bytes, past the {bound} this reader allows"
                ),
            });
        }
        for (name, size) in entries {
            let mut file = cabinet.read_file(&name).map_err(bad)?;
            contents.add(&name, Some(size), &mut file)?;
        }
        Ok(contents)
    })
}

/// A ZIP archive (the signed package Microsoft returns).
fn read_zip(
    path: &Path,
    reader: impl Read + Seek,
    mut contents: Contents,
) -> Result<Contents, PackageError> {
    let bad = |what: String, e: zip::result::ZipError| {
        let kind = match &e {
            zip::result::ZipError::Io(io) => io.kind(),
            _ => std::io::ErrorKind::InvalidData,
        };
        PackageError::Zip {
            path: path.to_owned(),
            source: std::io::Error::new(kind, format!("{what}{e}")),
        }
    };
    let mut archive = zip::ZipArchive::new(reader).map_err(|e| bad(String::new(), e))?;
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| bad(format!("entry {}: ", index + 1), e))?;
        // The name as the archive encodes it (UTF-8, or code page 437).
        let name = entry
            .name()
            .map_err(|e| bad(format!("entry {}: ", index + 1), e))?
            .into_owned();
        if entry.is_symlink() {
            return Err(PackageError::Link(name));
        }
        let (stated, compressed) = (entry.size(), entry.compressed_size());
        if entry.is_dir() {
            // A folder: its name is held to the same rules, and it holds no bytes.
            package_path(&name)?;
            if stated > 0 {
                return Err(PackageError::Damaged {
                    entry: name,
                    why: format!("a folder entry that states {stated} bytes"),
                });
            }
            continue;
        }
        if stated > RATIO_FLOOR && stated / compressed.max(1) > MAX_RATIO {
            return Err(PackageError::Damaged {
                entry: name,
                why: format!(
                    "states {stated} bytes from {compressed}: a ZIP bomb, not a driver file"
                ),
            });
        }
        contents.add(&name, Some(stated), &mut entry)?;
    }
    Ok(contents)
}

#[cfg(test)]
mod tests {
    use std::io::{Cursor, Write};

    use super::*;

    /// A ZIP of `(name, bytes)` entries, deflated.
    fn zip(entries: &[(&str, &[u8])]) -> Vec<u8> {
        let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Deflated);
        for (name, bytes) in entries {
            zip.start_file(*name, options).unwrap();
            zip.write_all(bytes).unwrap();
        }
        zip.finish().unwrap().into_inner()
    }

    fn read(bytes: Vec<u8>) -> Result<Contents, PackageError> {
        read_from(Path::new("signed.zip"), Cursor::new(bytes))
    }

    /// Sets the uncompressed size the central directory states for the entry at `index` (and
    /// in its local header) to `size`.
    fn state_size(bytes: &mut [u8], size: u32) {
        for (signature, at) in [(b"PK\x03\x04", 22), (b"PK\x01\x02", 24)] {
            let start = bytes
                .windows(4)
                .position(|w| w == signature)
                .expect("a header");
            bytes[start + at..start + at + 4].copy_from_slice(&size.to_le_bytes());
        }
    }

    #[test]
    fn every_file_is_digested_with_its_name_kept() {
        let contents = read(zip(&[
            ("Signed_1/drv/touch.inf", b"[Version]"),
            ("Signed_1/drv/a.bin", b""),
        ]))
        .unwrap();
        let inf = &contents.files["signed_1/drv/touch.inf"];
        assert_eq!(inf.path, "Signed_1/drv/touch.inf");
        assert_eq!(inf.size, 9);
        assert_eq!(
            inf.sha256,
            crate::digest::hex(&Sha256::digest(b"[Version]"))
        );
        assert!(inf.pe.is_none());
        assert_eq!(contents.files["signed_1/drv/a.bin"].size, 0);
    }

    #[test]
    fn sizes_that_lie_are_a_typed_error_naming_the_entry() {
        let data = vec![7u8; 5000];
        for stated in [4000u32, 6000] {
            let mut bytes = zip(&[("drv/x.bin", &data)]);
            state_size(&mut bytes, stated);
            let error = read(bytes).unwrap_err();
            let text = error.to_string();
            assert!(
                matches!(error, PackageError::Damaged { ref entry, .. } if entry == "drv/x.bin"),
                "{stated}: {text}"
            );
        }
    }

    #[test]
    fn a_zip_bomb_is_refused_before_it_is_expanded() {
        let zeros = vec![0u8; 16 << 20];
        let error = read(zip(&[("drv/bomb.bin", &zeros)])).unwrap_err();
        assert!(error.to_string().contains("ZIP bomb"), "{error}");
        assert!(error.to_string().contains("drv/bomb.bin"), "{error}");
    }

    #[test]
    fn names_differing_in_case_and_links_are_refused() {
        let error = read(zip(&[("drv/a.inf", b"1"), ("DRV/A.INF", b"2")])).unwrap_err();
        assert!(
            matches!(error, PackageError::DuplicateFile(ref n) if n == "DRV/A.INF"),
            "{error}"
        );
        let mut link = zip::ZipWriter::new(Cursor::new(Vec::new()));
        link.add_symlink(
            "drv/a.inf",
            "../../etc/passwd",
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        let error = read(link.finish().unwrap().into_inner()).unwrap_err();
        assert!(
            matches!(error, PackageError::Link(ref n) if n == "drv/a.inf"),
            "{error}"
        );
        for name in ["../x.sys", "/x.sys", "C:x.sys", "../../"] {
            let error = read(zip(&[(name, b"")])).unwrap_err();
            let named = error.to_string().contains(name);
            assert!(
                named
                    && matches!(
                        error,
                        PackageError::OutsideFolder(_)
                            | PackageError::AbsoluteName(_)
                            | PackageError::BadName(_)
                    ),
                "{name}: {error}"
            );
        }
    }

    #[test]
    fn what_is_neither_a_zip_nor_a_cab_is_a_typed_error() {
        for bytes in [
            b"".to_vec(),
            b"MSCF garbage".to_vec(),
            b"PK\x03\x04 truncated".to_vec(),
        ] {
            let error = read(bytes.clone()).unwrap_err();
            assert!(
                matches!(
                    error,
                    PackageError::Zip { .. } | PackageError::Cabinet { .. }
                ),
                "{bytes:?}: {error}"
            );
        }
    }

    fn limited(pe: u64, total: u64) -> Contents {
        Contents {
            limits: Limits {
                pe,
                total,
                cabinet_work: MAX_CABINET_WORK,
            },
            ..Contents::default()
        }
    }

    #[test]
    fn what_starts_as_a_pe_file_is_digested_as_one() {
        let image = crate::verify::pe::minimal_image(b"code", 3);
        let contents = read(zip(&[
            ("drv/a.sys", &image),
            ("drv/m.txt", b"M"),
            ("drv/mz.txt", b"MZ, not a PE file"),
        ]))
        .unwrap();
        let sys = &contents.files["drv/a.sys"];
        assert_eq!(sys.pe, Some(authenticode_digest(&image)));
        assert!(matches!(sys.pe, Some(Ok(_))));
        assert_eq!(sys.sha256, crate::digest::hex(&Sha256::digest(&image)));
        assert_eq!(sys.size, image.len() as u64);
        assert_eq!(contents.files["drv/m.txt"].pe, None);
        assert!(matches!(contents.files["drv/mz.txt"].pe, Some(Err(_))));
    }

    #[test]
    fn an_entry_is_held_to_the_size_it_states() {
        let mut contents = Contents::default();
        contents
            .add("drv/exact", Some(5), &mut &b"12345"[..])
            .unwrap();
        assert_eq!(contents.files["drv/exact"].size, 5);
        for (stated, why) in [
            (3, "expands past the 3 bytes"),
            (7, "holds 5 bytes, not the 7"),
        ] {
            let error = contents
                .add("drv/lie", Some(stated), &mut &b"12345"[..])
                .unwrap_err();
            assert!(error.to_string().contains(why), "{stated}: {error}");
            assert!(!contents.files.contains_key("drv/lie"));
        }
        let error = contents.add("drv/EXACT", None, &mut &b"1"[..]).unwrap_err();
        assert!(matches!(error, PackageError::DuplicateFile(_)), "{error}");
    }

    #[test]
    fn a_pe_file_and_the_whole_package_are_bounded() {
        let image = crate::verify::pe::minimal_image(b"code", 0);
        let len = image.len() as u64;
        let mut contents = limited(len, 10 * len);
        contents.add("drv/a.sys", None, &mut &image[..]).unwrap();
        let mut bigger = image.clone();
        bigger.push(1);
        let error = contents
            .add("drv/b.sys", None, &mut &bigger[..])
            .unwrap_err();
        assert!(
            error.to_string().contains("a PE file is read up to"),
            "{error}"
        );
        // Not a PE file: only the whole is bounded, to the byte.
        let data = vec![7u8; 9 * len as usize];
        contents.add("drv/c.bin", None, &mut &data[..]).unwrap();
        let error = contents
            .add("drv/d.bin", Some(1), &mut &b"x"[..])
            .unwrap_err();
        assert!(error.to_string().contains("expands to at most"), "{error}");
        let error = contents.add("drv/e.bin", None, &mut &b"x"[..]).unwrap_err();
        assert!(error.to_string().contains("expands to at most"), "{error}");
        let mut fresh = limited(len, 10);
        fresh.add("drv/f.bin", None, &mut &[1u8; 10][..]).unwrap();
        assert_eq!(fresh.total, 10);
    }

    #[test]
    fn a_compressible_file_is_no_bomb_and_the_ratio_is_checked_only_past_a_floor() {
        let mut rng = fastrand::Rng::with_seed(7);
        let text: Vec<u8> = (0..2 << 20).map(|_| b"abcd"[rng.usize(0..4)]).collect();
        assert!(read(zip(&[("drv/a.pdb", &text)])).is_ok());
        let zeros = vec![0u8; RATIO_FLOOR as usize];
        assert!(read(zip(&[("drv/zeros.bin", &zeros)])).is_ok());
    }

    #[test]
    fn a_folder_and_its_cabinet_read_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("Drv");
        std::fs::create_dir_all(folder.join("sub")).unwrap();
        let image = crate::verify::pe::minimal_image(b"code", 5);
        std::fs::write(folder.join("a.inf"), b"[Version]").unwrap();
        std::fs::write(folder.join("a.sys"), &image).unwrap();
        std::fs::write(folder.join("sub/b.bin"), b"b").unwrap();
        let on_disk = super::read(&folder).unwrap();
        let keys: Vec<&str> = on_disk.files.keys().map(String::as_str).collect();
        assert_eq!(keys, ["drv/a.inf", "drv/a.sys", "drv/sub/b.bin"]);
        assert_eq!(on_disk.files["drv/a.sys"].path, "Drv/a.sys");
        let cab = dir.path().join("drv.cab");
        let package = DriverPackage::from_folders(&[folder]).unwrap();
        crate::cabinet::write_cabinet(&package, &cab).unwrap();
        let cabinet = super::read(&cab).unwrap();
        assert_eq!(cabinet.files, on_disk.files);
        // The work of reading it: each file's bytes and those before it in its folder (9, then
        // 9 + 0x405, then 9 + 0x405 + 1, in name order), bounded to the byte.
        let work = 9 + (9 + 0x405) + (9 + 0x405 + 1);
        let within = |cabinet_work| {
            let limits = Limits {
                cabinet_work,
                ..Limits::default()
            };
            read_within(&cab, std::fs::File::open(&cab).unwrap(), limits)
        };
        assert!(within(work).is_ok());
        let error = within(work - 1).unwrap_err();
        assert!(error.to_string().contains("would inflate"), "{error}");
    }

    /// A reader that gives one byte a read.
    struct Trickle<'a>(&'a [u8]);

    impl Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some((first, rest)) = self.0.split_first() else {
                return Ok(0);
            };
            buf[0] = *first;
            self.0 = rest;
            Ok(1)
        }
    }

    #[test]
    fn a_pe_file_read_a_byte_at_a_time_is_still_one() {
        let image = crate::verify::pe::minimal_image(b"code", 0);
        let mut contents = Contents::default();
        contents
            .add("drv/a.sys", None, &mut Trickle(&image))
            .unwrap();
        assert_eq!(
            contents.files["drv/a.sys"].pe,
            Some(authenticode_digest(&image))
        );
    }

    #[test]
    fn a_stated_size_may_fill_the_budget_exactly() {
        let mut contents = limited(100, 10);
        contents
            .add("drv/a.bin", Some(10), &mut &[1u8; 10][..])
            .unwrap();
        let bytes = zip(&[("drv/a.bin", &[1u8; 11])]);
        let limits = Limits {
            pe: 100,
            total: 10,
            cabinet_work: 0,
        };
        let error = read_within(Path::new("s.zip"), Cursor::new(bytes), limits).unwrap_err();
        assert!(
            error.to_string().contains("expands to at most 10 bytes"),
            "{error}"
        );
    }

    #[test]
    fn the_ratio_is_held_past_the_floor_only_and_to_the_unit() {
        let mut rng = fastrand::Rng::with_seed(3);
        let noise: Vec<u8> = (0..2000).map(|_| rng.u8(..)).collect();
        let stored = |len: usize, stated: u64| {
            let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
            let options = zip::write::SimpleFileOptions::default()
                .compression_method(zip::CompressionMethod::Stored);
            zip.start_file("drv/x.bin", options).unwrap();
            zip.write_all(&noise[..len]).unwrap();
            let mut bytes = zip.finish().unwrap().into_inner();
            state_size(&mut bytes, stated as u32);
            read(bytes).unwrap_err().to_string()
        };
        // At the floor (a ratio of 1048), or past it at exactly the ratio, the entry is read
        // (and found to lie).
        assert!(stored(1000, RATIO_FLOOR).contains("holds 1000 bytes"));
        assert!(stored(2000, 2000 * MAX_RATIO).contains("holds 2000 bytes"));
        // Past both, it is a bomb, never read.
        assert!(stored(1000, RATIO_FLOOR + 1).contains("ZIP bomb"));
        assert!(stored(2000, 2000 * MAX_RATIO + 2000).contains("ZIP bomb"));
    }
}
