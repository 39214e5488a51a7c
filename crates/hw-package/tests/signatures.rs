//! The signers of a PE file signed twice by osslsigncode (`tests/fixtures/signed-pe`, how it was
//! made in its README): both read, the nested one marked, with the thumbprints OpenSSL gives the
//! certificate; a certificate table that lies about its entries is a typed error.

use std::path::Path;

use hw_package::verify::pe::authenticode_digest;
use hw_package::verify::signature::{HardwareEku, certificate_table_signers, cms_signers};

fn fixture(name: &str) -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/signed-pe")
        .join(name);
    std::fs::read(path).unwrap()
}

/// The certificate table of `file`.
fn table(file: &[u8]) -> Vec<u8> {
    let digest = authenticode_digest(file).unwrap();
    digest.certificate_table_of(file).unwrap().to_vec()
}

#[test]
fn both_signers_of_a_nested_signature_are_read_with_their_thumbprints() {
    let signed = fixture("nested.sys");
    let unsigned = fixture("unsigned.sys");
    assert_eq!(
        authenticode_digest(&signed).unwrap().authenticode_sha256,
        authenticode_digest(&unsigned).unwrap().authenticode_sha256
    );
    let signers = certificate_table_signers(&table(&signed)).unwrap();
    assert_eq!(signers.len(), 2);
    for (i, signer) in signers.iter().enumerate() {
        assert_eq!(signer.subject, "CN=Fixture WHQL Publisher");
        assert_eq!(signer.issuer, "CN=Fixture Root");
        assert_eq!(
            signer.sha256,
            "c5cef6f6b15786044ccf4b5f615a93c67bfce96b47bc709edfaddd550f7cdd5b"
        );
        assert_eq!(signer.sha1, "2d4f36b99c98e1013d71eb3f6cc09e60f650698e");
        assert_eq!(signer.hardware_eku, Some(HardwareEku::Whql));
        assert_eq!(
            signer.extended_key_usages,
            ["1.3.6.1.5.5.7.3.3", "1.3.6.1.4.1.311.10.3.5"]
        );
        assert_eq!(signer.nested, i == 1);
    }
    assert!(
        authenticode_digest(&unsigned)
            .unwrap()
            .certificate_table
            .is_none()
    );
}

#[test]
fn a_certificate_table_that_lies_is_a_typed_error() {
    let good = table(&fixture("nested.sys"));
    let length = u32::from_le_bytes(good[..4].try_into().unwrap()) as usize;
    let entry = |length: u32, kind: u16, body: &[u8]| {
        let mut out = length.to_le_bytes().to_vec();
        out.extend(0x0200u16.to_le_bytes());
        out.extend(kind.to_le_bytes());
        out.extend(body);
        out
    };
    let mut longer = good.clone();
    longer[..4].copy_from_slice(&(good.len() as u32 + 1).to_le_bytes());
    let mut other_kind_first = entry(16, 1, &[0; 8]);
    other_kind_first.extend(&good);
    let mut empty_first = entry(8, 1, &[]);
    empty_first.extend(&good);
    let cases: Vec<(&str, Vec<u8>, bool)> = vec![
        ("empty", Vec::new(), false),
        ("an entry shorter than its header", entry(4, 2, &[]), false),
        ("an entry longer than the table", longer, false),
        ("only an X.509 entry", entry(16, 1, &[0; 8]), false),
        (
            "garbage where the signature is",
            entry(16, 2, &[0x30, 0x03, 1, 2, 3, 0, 0, 0]),
            false,
        ),
        ("an X.509 entry, then the signature", other_kind_first, true),
        ("an empty entry, then the signature", empty_first, true),
        (
            "the signature without its padding",
            good[..length].to_vec(),
            true,
        ),
    ];
    for (case, bytes, ok) in cases {
        assert_eq!(certificate_table_signers(&bytes).is_ok(), ok, "{case}");
    }
    // A CMS structure that is not signed data.
    let data = [
        0x30, 0x0f, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x01, 0xa0, 0x02,
        0x05, 0x00,
    ];
    let error = cms_signers(&data).unwrap_err().to_string();
    assert!(error.contains("not signed data"), "{error}");
}
