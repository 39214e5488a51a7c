//! A PE file's Authenticode digest (`docs/package-rules.md`, "The signed package"): the SHA-256
//! of the image as the PE/COFF specification's "Calculating the PE Image Hash" defines it, so
//! that a driver binary Microsoft signed compares equal to the one submitted.
//!
//! The headers are read with the `object` crate; the digest is hand-written: google's
//! `authenticode` crate computes it too, but it is built on RustCrypto's previous generation of
//! `der`, `cms` and `x509-cert` (0.7, 0.2, 0.2) while this workspace reads certificates with
//! the current one (0.8, 0.3, 0.3): two ASN.1 stacks, and types that do not meet. It also does
//! not pad an unsigned image to eight bytes as signing does (below).

use object::LittleEndian as LE;
use object::pe::{
    IMAGE_DIRECTORY_ENTRY_SECURITY, IMAGE_NT_OPTIONAL_HDR32_MAGIC, IMAGE_NT_OPTIONAL_HDR64_MAGIC,
    ImageDosHeader, ImageNtHeaders32, ImageNtHeaders64,
};
use object::read::pe::{ImageNtHeaders, ImageOptionalHeader};
use sha2::{Digest, Sha256};

/// The size of the PE signature and the COFF file header, before the optional header.
const COFF_END: u64 = 4 + 20;
/// Where the checksum is in the optional header (PE32 and PE32+ alike).
const CHECKSUM: u64 = 64;

/// What the digest of a PE file found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeDigest {
    /// The Authenticode digest (SHA-256), hex.
    pub authenticode_sha256: String,
    /// Whether the file has a certificate table (an embedded signature), and its size.
    pub certificate_table: Option<u32>,
}

/// Why a file is not a PE file that can be digested.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a readable PE file: {0}")]
pub struct PeError(pub String);

/// Whether `bytes` start as a PE file does (`MZ`).
pub fn looks_like_pe(bytes: &[u8]) -> bool {
    bytes.starts_with(b"MZ")
}

/// The Authenticode digest of the PE file `bytes`.
pub fn authenticode_digest(bytes: &[u8]) -> Result<PeDigest, PeError> {
    let magic =
        object::read::pe::optional_header_magic(bytes).map_err(|e| PeError(e.to_string()))?;
    match magic {
        IMAGE_NT_OPTIONAL_HDR32_MAGIC => digest::<ImageNtHeaders32>(bytes, 96),
        IMAGE_NT_OPTIONAL_HDR64_MAGIC => digest::<ImageNtHeaders64>(bytes, 112),
        other => Err(PeError(format!("unknown optional header magic {other:#x}"))),
    }
}

/// The digest, for headers of type `H`, whose data directories start `directories` bytes into
/// the optional header.
fn digest<H: ImageNtHeaders>(bytes: &[u8], directories: u64) -> Result<PeDigest, PeError> {
    let bad = |why: &str| PeError(why.to_owned());
    let dos = ImageDosHeader::parse(bytes).map_err(|e| PeError(e.to_string()))?;
    let mut offset = u64::from(dos.nt_headers_offset());
    let optional_start = offset + COFF_END;
    let (headers, dirs) = H::parse(bytes, &mut offset).map_err(|e| PeError(e.to_string()))?;
    let sections = headers
        .sections(bytes, offset)
        .map_err(|e| PeError(e.to_string()))?;
    let size_of_headers = u64::from(headers.optional_header().size_of_headers());
    let checksum = optional_start + CHECKSUM;
    let len = bytes.len() as u64;
    // The certificate table's directory entry, when the optional header has one.
    let security_entry = (dirs.len() > IMAGE_DIRECTORY_ENTRY_SECURITY)
        .then(|| optional_start + directories + 8 * IMAGE_DIRECTORY_ENTRY_SECURITY as u64);
    let table = dirs
        .get(IMAGE_DIRECTORY_ENTRY_SECURITY)
        .map(|d| {
            (
                u64::from(d.virtual_address.get(LE)),
                u64::from(d.size.get(LE)),
            )
        })
        .filter(|(_, size)| *size > 0);
    if let Some((start, size)) = table
        && start.checked_add(size).is_none_or(|end| end > len)
    {
        return Err(bad("the certificate table lies outside the file"));
    }
    if size_of_headers > len || checksum + 4 > size_of_headers {
        return Err(bad("the headers are longer than the file"));
    }
    let slice = |from: u64, to: u64| -> Result<&[u8], PeError> {
        bytes
            .get(from as usize..to as usize)
            .ok_or_else(|| bad("a range lies outside the file"))
    };
    let mut hash = Sha256::new();
    // The headers, without the checksum and the certificate table's directory entry.
    hash.update(slice(0, checksum)?);
    match security_entry {
        Some(entry) if entry + 8 <= size_of_headers => {
            hash.update(slice(checksum + 4, entry)?);
            hash.update(slice(entry + 8, size_of_headers)?);
        }
        _ => hash.update(slice(checksum + 4, size_of_headers)?),
    }
    // The sections, in the order of their file offsets.
    let mut ranges: Vec<(u64, u64)> = sections
        .iter()
        .map(|s| {
            (
                u64::from(s.pointer_to_raw_data.get(LE)),
                u64::from(s.size_of_raw_data.get(LE)),
            )
        })
        .filter(|(_, size)| *size > 0)
        .collect();
    ranges.sort_unstable();
    let mut hashed = size_of_headers;
    for (start, size) in ranges {
        hash.update(slice(start, start + size)?);
        hashed += size;
    }
    // What follows the sections, but the certificate table (the spec's "extra data").
    let table_size = table.map_or(0, |(_, size)| size);
    let end = len
        .checked_sub(table_size)
        .ok_or_else(|| bad("the certificate table is larger than the file"))?;
    if end > hashed {
        hash.update(slice(hashed, end)?);
    }
    // Signing pads the image with zeros to a multiple of eight bytes before it appends the
    // certificate table (signtool and osslsigncode alike), and the signature's digest covers
    // that padding: an unsigned image is digested as it will be once signed.
    if table.is_none() && !len.is_multiple_of(8) {
        hash.update(&[0u8; 8][..(8 - len % 8) as usize]);
    }
    let authenticode_sha256 = crate::digest::hex(&hash.finalize());
    Ok(PeDigest {
        authenticode_sha256,
        certificate_table: table.map(|(_, size)| size as u32),
    })
}
