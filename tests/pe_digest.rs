//! The Authenticode digest of a PE file (`hw_package::verify::pe`), on images built here: what
//! signing changes (the checksum, the certificate table's directory entry, the table itself,
//! the padding to eight bytes before it) leaves the digest as it was; a changed byte of code or
//! of the headers changes it; a malformed image is a typed error, never a panic.

use hw_package::verify::pe::{PeDigest, authenticode_digest};
use hw_workspace_tests::signing::pe;

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
        let image = pe(b"code", overlay);
        let before = digest(&image);
        assert_eq!(before.certificate_table, None);
        let after = digest(&signed(&image, &table));
        assert_eq!(after.certificate_table, Some(24));
        assert_eq!(
            before.authenticode_sha256, after.authenticode_sha256,
            "overlay {overlay}"
        );
    }
    let image = pe(b"code", 0);
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
        let found = authenticode_digest(&changed).unwrap_or_else(|e| panic!("byte {at:#x}: {e}"));
        assert_ne!(found.authenticode_sha256, base, "byte {at:#x}");
    }
    let mut longer = pe(b"code", 8);
    assert_ne!(digest(&longer).authenticode_sha256, base);
    longer.truncate(0x400);
    assert_eq!(digest(&longer).authenticode_sha256, base);
}

#[test]
fn a_malformed_image_is_a_typed_error() {
    let image = pe(b"code", 0);
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
