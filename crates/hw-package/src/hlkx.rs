//! HLKX packages (`docs/package-rules.md`, "HLKX packages"): recognised as Open Packaging
//! Conventions ZIP files, refused with Zip64 records, and checked for a package signature.
//!
//! Hand-written rather than through a ZIP crate: the checks need only the end records, the
//! central directory's names and one small part (`_rels/.rels`), which `flate2` (already here
//! for the cabinets) inflates; a ZIP crate would add its own compression stack for no more.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::driver_check::{Finding, Severity};
use crate::driver_package::PackageError;

/// The relationship type of an OPC package signature (ECMA-376 Part 2).
const SIGNATURE_ORIGIN: &str =
    "http://schemas.openxmlformats.org/package/2006/relationships/digital-signature/origin";
/// An OPC relationships part: the type of each relationship.
#[derive(serde::Deserialize)]
struct Relationships {
    #[serde(rename = "Relationship", default)]
    list: Vec<Relationship>,
}

#[derive(serde::Deserialize)]
struct Relationship {
    #[serde(rename = "@Type")]
    kind: String,
}

/// Whether the relationships part `text` has a relationship of the signature-origin type (read
/// as XML: a comment, another attribute or another relationship's target that merely holds the
/// type's URI does not count).
fn names_a_signature(text: &str) -> bool {
    quick_xml::de::from_str::<Relationships>(text)
        .is_ok_and(|rels| rels.list.iter().any(|r| r.kind.trim() == SIGNATURE_ORIGIN))
}

/// The most bytes of `_rels/.rels` read.
const MAX_RELS: u64 = 1 << 20;
/// The end of central directory record, without its comment.
const EOCD_LEN: usize = 22;
/// The largest central directory read (an HLKX's holds a few thousand names).
const MAX_DIRECTORY: u32 = 16 << 20;

/// One central directory entry.
struct Entry {
    name: String,
    method: u16,
    compressed: u64,
    local_offset: u64,
}

/// What the end of a ZIP file says.
struct Directory {
    entries: Vec<Entry>,
    zip64: bool,
}

/// Checks the `.hlkx` file at `path`; findings name it by its file name.
pub fn check_hlkx(path: &Path) -> Result<Vec<Finding>, PackageError> {
    let file = std::fs::File::open(path).map_err(|e| PackageError::io(path, e))?;
    check_hlkx_from(path, std::io::BufReader::new(file))
}

/// [`check_hlkx`] from any reader; `path` names it in findings and errors.
pub fn check_hlkx_from(
    path: &Path,
    mut reader: impl Read + Seek,
) -> Result<Vec<Finding>, PackageError> {
    let io = |e| PackageError::io(path, e);
    let file = PathBuf::from(path.file_name().unwrap_or_default());
    let error = |rule, message: String| Finding {
        severity: Severity::Error,
        file: file.clone(),
        line: None,
        rule,
        message,
    };
    let not_opc = |why: &str| {
        vec![error(
            "H1",
            format!("not an HLKX package ({why}): export it from HLK Studio"),
        )]
    };
    let mut magic = [0u8; 4];
    if reader.read_exact(&mut magic).is_err() || magic != *b"PK\x03\x04" {
        return Ok(not_opc("it is not a ZIP file"));
    }
    let directory = match read_directory(&mut reader).map_err(io)? {
        Some(directory) => directory,
        None => return Ok(not_opc("its ZIP directory cannot be read")),
    };
    let mut findings = Vec::new();
    if directory.zip64 {
        findings.push(error("H2", "the package uses Zip64 records, which the portal refuses (\"File is using Zip64\"): re-zip it with Windows' Send to > Compressed (zipped) folder and rename it back to .hlkx".into()));
        return Ok(findings);
    }
    if !directory
        .entries
        .iter()
        .any(|e| e.name == "[Content_Types].xml")
    {
        return Ok(not_opc("it has no [Content_Types].xml"));
    }
    let rels = directory.entries.iter().find(|e| e.name == "_rels/.rels");
    let signed = match rels {
        Some(entry) => read_part(&mut reader, entry)
            .map_err(io)?
            .is_some_and(|text| names_a_signature(&text)),
        None => false,
    };
    if !signed {
        findings.push(error("H3", "the package is not signed: official submissions must be; sign it in HLK Studio with a certificate registered on the Partner Center account".into()));
    }
    Ok(findings)
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Reads the end records and the central directory; `None` when they are not there.
fn read_directory(reader: &mut (impl Read + Seek)) -> std::io::Result<Option<Directory>> {
    let size = reader.seek(SeekFrom::End(0))?;
    let tail_len = size.min(EOCD_LEN as u64 + 0xFFFF + 20);
    reader.seek(SeekFrom::Start(size - tail_len))?;
    let mut tail = vec![0u8; tail_len as usize];
    reader.read_exact(&mut tail)?;
    let Some(eocd) = (0..=tail.len().saturating_sub(EOCD_LEN))
        .rev()
        .find(|&i| tail[i..i + 4] == *b"PK\x05\x06")
    else {
        return Ok(None);
    };
    let zip64_locator = eocd >= 20 && tail[eocd - 20..eocd - 16] == *b"PK\x06\x07";
    let count = u16_at(&tail, eocd + 10);
    let dir_size = u32_at(&tail, eocd + 12);
    let dir_offset = u32_at(&tail, eocd + 16);
    if zip64_locator || count == 0xFFFF || dir_size == u32::MAX || dir_offset == u32::MAX {
        return Ok(Some(Directory {
            entries: Vec::new(),
            zip64: true,
        }));
    }
    if u64::from(dir_offset) + u64::from(dir_size) > size || dir_size > MAX_DIRECTORY {
        return Ok(None);
    }
    reader.seek(SeekFrom::Start(dir_offset.into()))?;
    let mut dir = vec![0u8; dir_size as usize];
    reader.read_exact(&mut dir)?;
    let mut entries = Vec::with_capacity(usize::from(count));
    let mut zip64 = false;
    let mut at = 0;
    while at + 46 <= dir.len() && dir[at..at + 4] == *b"PK\x01\x02" {
        let name_len = usize::from(u16_at(&dir, at + 28));
        let extra_len = usize::from(u16_at(&dir, at + 30));
        let comment_len = usize::from(u16_at(&dir, at + 32));
        let Some(name) = dir.get(at + 46..at + 46 + name_len) else {
            return Ok(None);
        };
        let extra = dir
            .get(at + 46 + name_len..at + 46 + name_len + extra_len)
            .unwrap_or_default();
        let (compressed, plain, offset) = (
            u32_at(&dir, at + 20),
            u32_at(&dir, at + 24),
            u32_at(&dir, at + 42),
        );
        // An entry's Zip64 marks: a size or offset saturated, or a Zip64 extra field (id 1).
        if [compressed, plain, offset].contains(&u32::MAX) || has_zip64_extra(extra) {
            zip64 = true;
        }
        entries.push(Entry {
            name: String::from_utf8_lossy(name).into_owned(),
            method: u16_at(&dir, at + 10),
            compressed: compressed.into(),
            local_offset: offset.into(),
        });
        at += 46 + name_len + extra_len + comment_len;
    }
    if entries.len() != usize::from(count) {
        return Ok(None);
    }
    Ok(Some(Directory { entries, zip64 }))
}

/// Whether an extra field holds a Zip64 record (header id 0x0001).
fn has_zip64_extra(mut extra: &[u8]) -> bool {
    while extra.len() >= 4 {
        let (id, len) = (u16_at(extra, 0), usize::from(u16_at(extra, 2)));
        if id == 1 {
            return true;
        }
        extra = extra.get(4 + len..).unwrap_or_default();
    }
    false
}

/// The text of a small part, stored or deflated; `None` when it cannot be read.
fn read_part(reader: &mut (impl Read + Seek), entry: &Entry) -> std::io::Result<Option<String>> {
    reader.seek(SeekFrom::Start(entry.local_offset))?;
    let mut header = [0u8; 30];
    if reader.read_exact(&mut header).is_err() || header[..4] != *b"PK\x03\x04" {
        return Ok(None);
    }
    let skip = i64::from(u16_at(&header, 26)) + i64::from(u16_at(&header, 28));
    reader.seek(SeekFrom::Current(skip))?;
    let data = reader.take(entry.compressed.min(MAX_RELS));
    let mut text = Vec::new();
    let read = match entry.method {
        0 => data.take(MAX_RELS).read_to_end(&mut text),
        8 => flate2::read::DeflateDecoder::new(data)
            .take(MAX_RELS)
            .read_to_end(&mut text),
        _ => return Ok(None),
    };
    Ok(read
        .ok()
        .map(|_| String::from_utf8_lossy(&text).into_owned()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_a_relationship_of_the_signature_type_counts() {
        let rel = |attrs: &str| {
            format!(
                "<?xml version=\"1.0\" encoding=\"utf-8\"?><Relationships xmlns=\"http://schemas.openxmlformats.org/package/2006/relationships\"><Relationship Id=\"r1\" {attrs}/></Relationships>"
            )
        };
        assert!(names_a_signature(&rel(&format!(
            "Type=\"{SIGNATURE_ORIGIN}\" Target=\"/o.psdor\""
        ))));
        // The URI elsewhere than in a Type: not a signature.
        assert!(!names_a_signature(&rel(&format!(
            "Type=\"http://x/other\" Target=\"{SIGNATURE_ORIGIN}\""
        ))));
        assert!(!names_a_signature(&format!(
            "<Relationships><!-- {SIGNATURE_ORIGIN} --></Relationships>"
        )));
        assert!(!names_a_signature("<Relationships/>"));
        assert!(!names_a_signature(&format!("not xml {SIGNATURE_ORIGIN}")));
    }

    use super::*;
    use std::io::Write;

    /// A ZIP of stored parts, written by hand (the test must not share the reader's code).
    fn zip(parts: &[(&str, &[u8])], zip64_locator: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut central = Vec::new();
        for (name, plain) in parts {
            // `.rels` parts deflated, the others stored.
            let deflate = name.ends_with(".rels");
            let method = if deflate { 8u8 } else { 0 };
            let data = if deflate {
                let mut encoder =
                    flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
                encoder.write_all(plain).unwrap();
                encoder.finish().unwrap()
            } else {
                plain.to_vec()
            };
            let offset = out.len() as u32;
            let crc = 0u32;
            out.extend(b"PK\x03\x04");
            out.extend([20, 0, 0, 0, method, 0, 0, 0, 0, 0]);
            out.extend(crc.to_le_bytes());
            out.extend((data.len() as u32).to_le_bytes());
            out.extend((data.len() as u32).to_le_bytes());
            out.extend((name.len() as u16).to_le_bytes());
            out.extend(0u16.to_le_bytes());
            out.extend(name.as_bytes());
            out.extend(&data);
            central.extend(b"PK\x01\x02");
            central.extend([20, 0, 20, 0, 0, 0, method, 0, 0, 0, 0, 0]);
            central.extend(crc.to_le_bytes());
            central.extend((data.len() as u32).to_le_bytes());
            central.extend((data.len() as u32).to_le_bytes());
            central.extend((name.len() as u16).to_le_bytes());
            central.extend([0u8; 12]);
            central.extend(offset.to_le_bytes());
            central.extend(name.as_bytes());
        }
        let dir_offset = out.len() as u32;
        out.extend(&central);
        if zip64_locator {
            out.extend(b"PK\x06\x07");
            out.extend([0u8; 16]);
        }
        out.extend(b"PK\x05\x06");
        out.extend([0u8; 4]);
        out.extend((parts.len() as u16).to_le_bytes());
        out.extend((parts.len() as u16).to_le_bytes());
        out.extend((central.len() as u32).to_le_bytes());
        out.extend(dir_offset.to_le_bytes());
        out.extend(0u16.to_le_bytes());
        out
    }

    fn check(bytes: &[u8]) -> Vec<&'static str> {
        let path = std::env::temp_dir().join(format!(
            "hw-api-hlkx-{}-{}.hlkx",
            std::process::id(),
            fastrand::u64(..)
        ));
        std::fs::File::create(&path)
            .unwrap()
            .write_all(bytes)
            .unwrap();
        let findings = check_hlkx(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        findings.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn a_signed_package_passes_and_each_defect_has_its_rule() {
        let rels = format!(
            "<Relationships><Relationship Type=\"{SIGNATURE_ORIGIN}\" Target=\"/package/services/digital-signature/origin.psdor\"/></Relationships>"
        );
        let types: &[u8] = b"<Types/>";
        let signed = zip(
            &[
                ("[Content_Types].xml", types),
                ("_rels/.rels", rels.as_bytes()),
            ],
            false,
        );
        assert!(check(&signed).is_empty());
        let unsigned = zip(
            &[
                ("[Content_Types].xml", types),
                ("_rels/.rels", b"<Relationships/>"),
            ],
            false,
        );
        assert_eq!(check(&unsigned), ["H3"]);
        let zip64 = zip(&[("[Content_Types].xml", types)], true);
        assert_eq!(check(&zip64), ["H2"]);
        let plain_zip = zip(&[("readme.txt", b"hi")], false);
        assert_eq!(check(&plain_zip), ["H1"]);
        assert_eq!(check(b"MSCF not a zip"), ["H1"]);
        // An entry's Zip64 extra field (id 1), with a plain end record.
        let mut extra = zip(&[("[Content_Types].xml", types)], false);
        let central = extra.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
        extra[central + 30] = 4; // extra field length
        let name_end = central + 46 + "[Content_Types].xml".len();
        extra.splice(name_end..name_end, [1, 0, 0, 0]);
        let eocd = extra.len() - 22;
        let size = u32::from_le_bytes(extra[eocd + 12..eocd + 16].try_into().unwrap()) + 4;
        extra[eocd + 12..eocd + 16].copy_from_slice(&size.to_le_bytes());
        assert_eq!(check(&extra), ["H2"]);
        // A directory with fewer entries than its end record counts.
        let mut short = zip(&[("[Content_Types].xml", types)], false);
        let eocd = short.len() - 22;
        short[eocd + 10] = 2;
        assert_eq!(check(&short), ["H1"]);
        assert_eq!(check(b"PK\x03\x04 cut short"), ["H1"]);
    }
}
