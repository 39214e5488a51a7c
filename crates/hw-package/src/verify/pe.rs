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
#[non_exhaustive]
pub struct PeDigest {
    /// The Authenticode digest (SHA-256), hex.
    pub authenticode_sha256: String,
    /// The certificate table (the embedded signatures), when the file has one.
    pub certificate_table: Option<CertificateTable>,
}

/// Where a PE file's certificate table is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct CertificateTable {
    /// Its offset in the file.
    pub offset: u64,
    /// Its size.
    pub size: u64,
}

impl PeDigest {
    /// The certificate table's bytes in `file` (the bytes this digest was made of).
    pub fn certificate_table_of<'a>(&self, file: &'a [u8]) -> Option<&'a [u8]> {
        let table = self.certificate_table?;
        let start = usize::try_from(table.offset).ok()?;
        let end = usize::try_from(table.offset.checked_add(table.size)?).ok()?;
        file.get(start..end)
    }
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
    let slice = |from: u64, to: u64| -> Result<&[u8], PeError> {
        let (Ok(from), Ok(to)) = (usize::try_from(from), usize::try_from(to)) else {
            return Err(bad("a range lies outside the file"));
        };
        bytes
            .get(from..to)
            .ok_or_else(|| bad("a range lies outside the file"))
    };
    let mut hash = Sha256::new();
    // The headers, without the checksum and the certificate table's directory entry.
    hash.update(slice(0, checksum)?);
    // (A range that runs backwards or past the file is an error, as a header that lies is.)
    match security_entry {
        Some(entry) => {
            hash.update(slice(checksum + 4, entry)?);
            hash.update(slice(entry + 8, size_of_headers)?);
        }
        None => hash.update(slice(checksum + 4, size_of_headers)?),
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
        // A section without raw data adds nothing (the specification skips it).
        .filter(|(_, size)| *size > 0)
        .collect();
    ranges.sort_unstable();
    let mut hashed = size_of_headers;
    for (start, size) in ranges {
        // Sections that together hold more than the file overlap: hashing each again would
        // make a small file cost any amount of work.
        hashed += size;
        if hashed > len {
            return Err(bad("the sections hold more bytes than the file"));
        }
        hash.update(slice(start, start + size)?);
    }
    // What follows the sections, but the certificate table (the spec's "extra data").
    let table_size = table.map_or(0, |(_, size)| size);
    let end = len
        .checked_sub(table_size)
        .ok_or_else(|| bad("the certificate table is larger than the file"))?;
    // (Sections that overlap or leave gaps make `hashed` differ from the file offset; the
    // specification's arithmetic is kept, as signtool's is.)
    if end > hashed {
        hash.update(slice(hashed, end)?);
    }
    // Signing pads the image with zeros to a multiple of eight bytes before it appends the
    // certificate table (osslsigncode does; `docs/package-rules.md`, "The signed package"),
    // and the signature's digest covers that padding: an unsigned image is digested as it
    // will be once signed.
    if table.is_none() && !len.is_multiple_of(8) {
        hash.update(&[0u8; 8][..(8 - len % 8) as usize]);
    }
    let authenticode_sha256 = crate::digest::hex(&hash.finalize());
    Ok(PeDigest {
        authenticode_sha256,
        certificate_table: table.map(|(offset, size)| CertificateTable { offset, size }),
    })
}

#[cfg(any(test, feature = "test-util"))]
/// A minimal PE32+ driver image, for tests (feature `test-util`): headers (0x200 bytes), one
/// `.text` section of 0x200 bytes holding `code` (zero-padded), then `overlay` bytes after the
/// section (a length that is not a multiple of eight when `overlay % 8 != 0`).
///
/// # Panics
///
/// When `code` is longer than 0x200 bytes.
pub fn minimal_image(code: &[u8], overlay: usize) -> Vec<u8> {
    assert!(code.len() <= 0x200);
    let mut image = vec![0u8; 0x400];
    let put16 =
        |b: &mut Vec<u8>, at: usize, v: u16| b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    let put32 =
        |b: &mut Vec<u8>, at: usize, v: u32| b[at..at + 4].copy_from_slice(&v.to_le_bytes());
    image[0..2].copy_from_slice(b"MZ");
    put32(&mut image, 0x3c, 0x40);
    image[0x40..0x44].copy_from_slice(b"PE\0\0");
    let coff = 0x44;
    put16(&mut image, coff, 0x8664); // x64
    put16(&mut image, coff + 2, 1); // one section
    put16(&mut image, coff + 16, 240); // optional header size (PE32+)
    put16(&mut image, coff + 18, 0x0022); // executable, large-address aware
    let opt = coff + 20;
    put16(&mut image, opt, 0x20b); // PE32+
    put32(&mut image, opt + 4, 0x200); // size of code
    put32(&mut image, opt + 16, 0x1000); // entry point
    put32(&mut image, opt + 20, 0x1000); // base of code
    image[opt + 24..opt + 32].copy_from_slice(&0x1_4000_0000u64.to_le_bytes());
    put32(&mut image, opt + 32, 0x1000); // section alignment
    put32(&mut image, opt + 36, 0x200); // file alignment
    put16(&mut image, opt + 40, 10); // OS version
    put16(&mut image, opt + 48, 10); // subsystem version
    put32(&mut image, opt + 56, 0x2000); // size of image
    put32(&mut image, opt + 60, 0x200); // size of headers
    put16(&mut image, opt + 68, 1); // native subsystem (a driver)
    put16(&mut image, opt + 70, 0x0140); // dynamic base, NX compatible
    image[opt + 72..opt + 80].copy_from_slice(&0x4_0000u64.to_le_bytes());
    image[opt + 80..opt + 88].copy_from_slice(&0x1000u64.to_le_bytes());
    image[opt + 88..opt + 96].copy_from_slice(&0x10_0000u64.to_le_bytes());
    image[opt + 96..opt + 104].copy_from_slice(&0x1000u64.to_le_bytes());
    put32(&mut image, opt + 108, 16); // data directories
    let section = opt + 240;
    image[section..section + 5].copy_from_slice(b".text");
    put32(&mut image, section + 8, 0x200); // virtual size
    put32(&mut image, section + 12, 0x1000); // virtual address
    put32(&mut image, section + 16, 0x200); // size of raw data
    put32(&mut image, section + 20, 0x200); // pointer to raw data
    put32(&mut image, section + 36, 0x6000_0020); // code, execute, read
    image[0x200..0x200 + code.len()].copy_from_slice(code);
    image.extend((0..overlay).map(|i| (i % 251) as u8 + 1));
    image
}

#[cfg(test)]
mod tests {
    //! What signing changes (the checksum, the certificate table's directory entry, the table
    //! itself, the padding to eight bytes before it) leaves the digest as it was; a changed byte
    //! of code or of the headers changes it; a malformed image is a typed error, never a panic.

    use super::*;

    /// Where the built image's optional header starts, and its checksum and certificate table
    /// directory entry.
    const OPTIONAL: usize = 0x58;
    const CHECKSUM: usize = OPTIONAL + 64;
    const SECURITY: usize = OPTIONAL + 112 + 4 * 8;

    fn digest(bytes: &[u8]) -> PeDigest {
        authenticode_digest(bytes).unwrap()
    }

    /// `image` as a signer leaves it: padded with zeros to eight bytes, a certificate table
    /// appended and named in its directory entry, a new checksum.
    fn signed(image: &[u8], table: &[u8]) -> Vec<u8> {
        let mut out = image.to_vec();
        out.resize(image.len().div_ceil(8) * 8, 0);
        let at = out.len() as u32;
        out.extend_from_slice(table);
        out[SECURITY..SECURITY + 4].copy_from_slice(&at.to_le_bytes());
        out[SECURITY + 4..SECURITY + 8].copy_from_slice(&(table.len() as u32).to_le_bytes());
        out[CHECKSUM..CHECKSUM + 4].copy_from_slice(&0x1234_5678u32.to_le_bytes());
        out
    }

    #[test]
    fn what_signing_changes_is_set_aside_and_nothing_else_is() {
        let table = [8u8; 24];
        for overlay in [0, 3, 8, 13] {
            let image = minimal_image(b"code", overlay);
            let before = digest(&image);
            assert_eq!(before.certificate_table, None);
            let after = digest(&signed(&image, &table));
            assert_eq!(after.certificate_table.map(|t| t.size), Some(24));
            assert_eq!(
                before.authenticode_sha256, after.authenticode_sha256,
                "overlay {overlay}"
            );
        }
        let image = minimal_image(b"code", 0);
        let base = digest(&image).authenticode_sha256;
        // A byte of code, of the overlay, or of the headers outside the two fields changes it.
        for at in [
            0x200,
            0x3ff,
            OPTIONAL + 4,
            CHECKSUM - 8,
            CHECKSUM + 4,
            SECURITY - 1,
            SECURITY + 8,
        ] {
            let mut changed = image.clone();
            changed[at] ^= 1;
            let found =
                authenticode_digest(&changed).unwrap_or_else(|e| panic!("byte {at:#x}: {e}"));
            assert_ne!(found.authenticode_sha256, base, "byte {at:#x}");
        }
        let mut longer = minimal_image(b"code", 8);
        assert_ne!(digest(&longer).authenticode_sha256, base);
        longer.truncate(0x400);
        assert_eq!(digest(&longer).authenticode_sha256, base);
    }

    #[test]
    fn an_image_with_no_certificate_table_entry_or_an_empty_one_is_digested_whole() {
        // Four data directories: there is no certificate table entry, and the bytes where it
        // would be count.
        let mut four = minimal_image(b"code", 0);
        four[OPTIONAL + 108..OPTIONAL + 112].copy_from_slice(&4u32.to_le_bytes());
        let base = digest(&four).authenticode_sha256;
        let mut changed = four.clone();
        changed[SECURITY] ^= 1;
        assert_ne!(digest(&changed).authenticode_sha256, base);
        changed[CHECKSUM] ^= 1;
        assert_ne!(digest(&changed).authenticode_sha256, base);
        let mut checksum = four.clone();
        checksum[CHECKSUM] ^= 1;
        assert_eq!(digest(&checksum).authenticode_sha256, base);
        // An entry of size zero names no table: the image is padded as an unsigned one.
        let image = minimal_image(b"code", 3);
        let mut empty = image.clone();
        empty[SECURITY..SECURITY + 4].copy_from_slice(&0x200u32.to_le_bytes());
        let found = digest(&empty);
        assert_eq!(found.certificate_table, None);
        assert_eq!(
            found.authenticode_sha256,
            digest(&image).authenticode_sha256
        );
    }

    /// `image` with a second section header, a copy of the first with `edit` applied.
    fn two_sections(image: &[u8], edit: impl FnOnce(&mut [u8])) -> Vec<u8> {
        let mut out = image.to_vec();
        out[0x46..0x48].copy_from_slice(&2u16.to_le_bytes());
        let first = OPTIONAL + 240;
        let copy: Vec<u8> = out[first..first + 40].to_vec();
        out[first + 40..first + 80].copy_from_slice(&copy);
        edit(&mut out[first + 40..first + 80]);
        out
    }

    #[test]
    fn overlapping_sections_are_refused_and_empty_ones_skipped() {
        let image = minimal_image(b"code", 0);
        let overlapping = two_sections(&image, |_| {});
        let error = authenticode_digest(&overlapping).unwrap_err();
        assert!(
            error.to_string().contains("more bytes than the file"),
            "{error}"
        );
        let empty = two_sections(&image, |header| {
            header[16..20].copy_from_slice(&0u32.to_le_bytes());
            header[20..24].copy_from_slice(&0xFFFF_0000u32.to_le_bytes());
        });
        assert!(authenticode_digest(&empty).is_ok());
    }

    #[test]
    fn a_malformed_image_is_a_typed_error() {
        let image = minimal_image(b"code", 0);
        let mut cases: Vec<(&str, Vec<u8>)> = vec![
            ("empty", Vec::new()),
            ("only MZ", b"MZ".to_vec()),
            ("cut in its headers", image[..0x100].to_vec()),
            ("cut in its section", image[..0x300].to_vec()),
        ];
        let mut outside = image.clone();
        outside[SECURITY..SECURITY + 4].copy_from_slice(&0x380u32.to_le_bytes());
        outside[SECURITY + 4..SECURITY + 8].copy_from_slice(&0x100u32.to_le_bytes());
        cases.push(("a certificate table past the end", outside));
        let mut far = image.clone();
        far[0x3c..0x40].copy_from_slice(&u32::MAX.to_le_bytes());
        cases.push(("a PE header offset past the end", far));
        for (case, bytes) in cases {
            assert!(authenticode_digest(&bytes).is_err(), "{case}");
        }
    }
}
