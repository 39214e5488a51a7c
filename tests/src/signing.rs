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

/// A minimal PE32+ driver image (`hw_package::verify::pe::minimal_image`).
pub use hw_package::verify::pe::minimal_image as pe;

/// A certificate authority and a signer it issued, as PEM files in a folder.
pub struct TestSigner {
    /// The signer's certificate, then the authority's (what osslsigncode's `-certs` takes).
    pub chain: PathBuf,
    /// The signer's private key (PKCS#8).
    pub key: PathBuf,
    /// The authority's certificate, DER.
    pub root_der: Vec<u8>,
    /// The signer's certificate, DER.
    pub signer_der: Vec<u8>,
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
            signer_der: leaf_cert.der().to_vec(),
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
