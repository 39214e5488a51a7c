//! Signed fixtures for the verify tests: a minimal PE file, a test certificate authority and a
//! signer made with rcgen, and PE files signed with osslsigncode, a real Authenticode signer
//! (from PATH, else Debian's packages at the versions `tools/osslsigncode/packages` pins,
//! unpacked without root into the target directory). Where osslsigncode cannot be had, the
//! tests fail and say what to install: they never skip.

use std::path::{Path, PathBuf};
use std::process::Command;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, PKCS_RSA_SHA256,
};

/// What to install when osslsigncode cannot be found.
const NEED: &str = "the verify tests sign their fixtures with osslsigncode: install it \
    (`apt install osslsigncode`, `brew install osslsigncode`), or give this machine apt-get \
    and dpkg-deb so the tests can unpack Debian's package themselves";

/// The Windows Hardware Driver Verification EKU of an attestation signature (it "ends with a
/// 1", Learn `dashboard/code-signing-validate.md`).
pub const ATTESTATION_EKU: &[u64] = &[1, 3, 6, 1, 4, 1, 311, 10, 3, 5, 1];

/// A minimal PE32+ driver image: headers (0x200 bytes), one `.text` section of 0x200 bytes
/// holding `code` (at most 0x200 bytes, zero-padded), then `overlay` bytes after the section
/// (a length that is not a multiple of eight when `overlay % 8 != 0`).
pub fn pe(code: &[u8], overlay: usize) -> Vec<u8> {
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

/// A certificate authority and a signer it issued, as PEM files in a folder.
pub struct TestSigner {
    /// The signer's certificate, then the authority's (what osslsigncode's `-certs` takes).
    pub chain: PathBuf,
    /// The signer's private key (PKCS#8).
    pub key: PathBuf,
    /// The authority's certificate, DER.
    pub root_der: Vec<u8>,
}

impl TestSigner {
    /// A new authority named `name` and a code-signing certificate with the attestation EKU,
    /// written under `dir`.
    pub fn new(dir: &Path, name: &str) -> TestSigner {
        std::fs::create_dir_all(dir).unwrap();
        let dn = |common: &str| {
            let mut dn = DistinguishedName::new();
            dn.push(DnType::CommonName, common);
            dn
        };
        let ca_key = KeyPair::generate_for(&PKCS_RSA_SHA256).unwrap();
        let mut ca = CertificateParams::default();
        ca.distinguished_name = dn(&format!("{name} Root"));
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_cert = ca.self_signed(&ca_key).unwrap();
        let key = KeyPair::generate_for(&PKCS_RSA_SHA256).unwrap();
        let mut leaf = CertificateParams::default();
        leaf.distinguished_name = dn(&format!("{name} Windows Hardware Compatibility Publisher"));
        leaf.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        leaf.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::CodeSigning,
            ExtendedKeyUsagePurpose::Other(ATTESTATION_EKU.to_vec()),
        ];
        let issuer = Issuer::new(ca, &ca_key);
        let leaf_cert = leaf.signed_by(&key, &issuer).unwrap();
        let chain = dir.join(format!("{name}-chain.pem"));
        std::fs::write(&chain, leaf_cert.pem() + &ca_cert.pem()).unwrap();
        let key_path = dir.join(format!("{name}-key.pem"));
        std::fs::write(&key_path, key.serialize_pem()).unwrap();
        TestSigner {
            chain,
            key: key_path,
            root_der: ca_cert.der().to_vec(),
        }
    }

    /// Signs the PE file `input` into `output` with SHA-256 (no timestamp: the tests have no
    /// timestamping authority); with `nest`, `input` is already signed and the signature is
    /// added as a nested one.
    pub fn sign(&self, input: &Path, output: &Path, nest: bool) {
        let mut command = osslsigncode().unwrap_or_else(|e| panic!("{e}"));
        command
            .arg("sign")
            .args(["-h", "sha256"])
            .arg("-certs")
            .arg(&self.chain)
            .arg("-key")
            .arg(&self.key);
        if nest {
            command.arg("-nest");
        }
        let run = command
            .arg("-in")
            .arg(input)
            .arg("-out")
            .arg(output)
            .output();
        let run = run.unwrap_or_else(|e| panic!("running osslsigncode: {e}"));
        assert!(
            run.status.success(),
            "osslsigncode sign {}: {}{}",
            input.display(),
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
    }
}

/// osslsigncode, ready to be given arguments.
pub fn osslsigncode() -> Result<Command, String> {
    let on_path = Command::new("osslsigncode").arg("--version").output();
    if on_path.is_ok_and(|o| o.status.success()) {
        return Ok(Command::new("osslsigncode"));
    }
    let root = crate::debian::unpacked("osslsigncode", "usr/bin/osslsigncode", NEED)?;
    let mut command = Command::new(root.join("usr/bin/osslsigncode"));
    command.env("LD_LIBRARY_PATH", crate::cabextract::library_path(&root));
    Ok(command)
}
