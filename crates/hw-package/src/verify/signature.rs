//! Who signed a file (`docs/package-rules.md`, "The signed package"): the signers a CMS
//! signature names, read with RustCrypto's `cms` and `x509-cert`: each signer certificate's
//! subject, issuer, SHA-1 and SHA-256 thumbprints and extended key usages, and whether it
//! claims a Windows Hardware Driver Verification EKU; nested signatures (the unsigned attribute
//! Authenticode adds one signature to another with) are read too. A PE file's signatures are
//! the entries of its certificate table.
//!
//! This reads what a signature says; it does not yet verify it (the signature value, the
//! chain to a trusted root, the timestamp).

use cms::cert::CertificateChoices;
use cms::content_info::ContentInfo;
use cms::signed_data::{SignedData, SignerIdentifier};
use der::asn1::ObjectIdentifier;
use der::{Decode, Encode, SliceReader};
use sha1::Digest as _;
use sha2::Digest as _;
use x509_cert::Certificate;
use x509_cert::ext::pkix::ExtendedKeyUsage;

use crate::digest::hex;

/// `id-signedData` (RFC 5652).
const SIGNED_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.2");
/// Authenticode's nested signature, an unsigned attribute of the outer signer.
const NESTED_SIGNATURE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.2.4.1");
/// The Windows Hardware Driver Verification EKU of a WHQL (HLK) signature: it "ends with a 5"
/// (Learn `dashboard/code-signing-validate.md`).
const WHQL_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.10.3.5");
/// Its attestation form: it "ends with a 1" (same page).
const ATTESTATION_EKU: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.6.1.4.1.311.10.3.5.1");
/// A certificate table entry holding a PKCS#7 SignedData (`WIN_CERT_TYPE_PKCS_SIGNED_DATA`).
const WIN_CERT_TYPE_PKCS_SIGNED_DATA: u16 = 2;
/// How deep nested signatures are followed.
const MAX_NESTING: usize = 8;

/// Which Windows Hardware Driver Verification EKU a signer certificate claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum HardwareEku {
    /// `1.3.6.1.4.1.311.10.3.5.1`: attestation signing.
    Attestation,
    /// `1.3.6.1.4.1.311.10.3.5`: WHQL (HLK-tested) signing.
    Whql,
}

/// A signer, as its signature names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct Signer {
    /// The signer certificate's subject (RFC 4514).
    pub subject: String,
    /// Its issuer (RFC 4514).
    pub issuer: String,
    /// Its SHA-1 thumbprint (hex), as Windows and Partner Center show thumbprints.
    pub sha1: String,
    /// Its SHA-256 thumbprint (hex).
    pub sha256: String,
    /// Its extended key usages (dotted OIDs).
    pub extended_key_usages: Vec<String>,
    /// The Windows Hardware Driver Verification EKU it claims, if any.
    pub hardware_eku: Option<HardwareEku>,
    /// Whether it is a nested signature (added to another).
    pub nested: bool,
}

/// Why a signature cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the signature cannot be read: {0}")]
pub struct SignatureError(pub String);

fn bad(why: impl std::fmt::Display) -> SignatureError {
    SignatureError(why.to_string())
}

/// The signers of the CMS `ContentInfo` in `der` (a catalog, or one certificate table entry),
/// nested signatures after the one they are nested in.
pub fn cms_signers(der: &[u8]) -> Result<Vec<Signer>, SignatureError> {
    let mut signers = Vec::new();
    read_signers(der, false, 0, &mut signers)?;
    Ok(signers)
}

fn read_signers(
    der: &[u8],
    nested: bool,
    depth: usize,
    out: &mut Vec<Signer>,
) -> Result<(), SignatureError> {
    if depth > MAX_NESTING {
        return Err(bad("signatures nested too deep"));
    }
    // One ContentInfo; what follows it (a certificate table entry's padding) is not read.
    let mut reader = SliceReader::new(der).map_err(bad)?;
    let info = ContentInfo::decode(&mut reader).map_err(bad)?;
    if info.content_type != SIGNED_DATA {
        return Err(bad(format!(
            "content of type {}, not signed data",
            info.content_type
        )));
    }
    let data: SignedData = info.content.decode_as().map_err(bad)?;
    let certificates: Vec<&Certificate> = data
        .certificates
        .as_ref()
        .map(|set| {
            set.0
                .iter()
                .filter_map(|choice| match choice {
                    CertificateChoices::Certificate(cert) => Some(cert),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default();
    if data.signer_infos.0.is_empty() {
        return Err(bad("no signer"));
    }
    for info in data.signer_infos.0.iter() {
        let cert = certificates
            .iter()
            .find(|cert| names(cert, &info.sid))
            .ok_or_else(|| bad("the signer's certificate is not in the signature"))?;
        out.push(signer(cert, nested)?);
        let attributes = info.unsigned_attrs.iter().flat_map(|a| a.iter());
        for attribute in attributes.filter(|a| a.oid == NESTED_SIGNATURE) {
            for value in attribute.values.iter() {
                let inner = value.to_der().map_err(bad)?;
                read_signers(&inner, true, depth + 1, out)?;
            }
        }
    }
    Ok(())
}

/// Whether `cert` is the one `sid` names.
fn names(cert: &Certificate, sid: &SignerIdentifier) -> bool {
    let tbs = cert.tbs_certificate();
    match sid {
        SignerIdentifier::IssuerAndSerialNumber(id) => {
            id.issuer == *tbs.issuer() && id.serial_number == *tbs.serial_number()
        }
        SignerIdentifier::SubjectKeyIdentifier(id) => tbs
            .get_extension::<x509_cert::ext::pkix::SubjectKeyIdentifier>()
            .ok()
            .flatten()
            .is_some_and(|(_, ski)| ski == *id),
    }
}

fn signer(cert: &Certificate, nested: bool) -> Result<Signer, SignatureError> {
    let tbs = cert.tbs_certificate();
    let der = cert.to_der().map_err(bad)?;
    let ekus: Vec<ObjectIdentifier> = tbs
        .get_extension::<ExtendedKeyUsage>()
        .ok()
        .flatten()
        .map(|(_, eku)| eku.0)
        .unwrap_or_default();
    let hardware_eku = if ekus.contains(&ATTESTATION_EKU) {
        Some(HardwareEku::Attestation)
    } else if ekus.contains(&WHQL_EKU) {
        Some(HardwareEku::Whql)
    } else {
        None
    };
    Ok(Signer {
        subject: tbs.subject().to_string(),
        issuer: tbs.issuer().to_string(),
        sha1: hex(&sha1::Sha1::digest(&der)),
        sha256: hex(&sha2::Sha256::digest(&der)),
        extended_key_usages: ekus.iter().map(ToString::to_string).collect(),
        hardware_eku,
        nested,
    })
}

/// The signers of a PE file's certificate table, `table` (its bytes): every
/// `WIN_CERTIFICATE` entry holding a PKCS#7 signature, in order.
pub fn certificate_table_signers(table: &[u8]) -> Result<Vec<Signer>, SignatureError> {
    let mut signers = Vec::new();
    let mut rest = table;
    while rest.len() >= 8 {
        let length = u32::from_le_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        let kind = u16::from_le_bytes([rest[6], rest[7]]);
        if length < 8 || length > rest.len() {
            return Err(bad(format!(
                "a certificate table entry of {length} bytes in {} left",
                rest.len()
            )));
        }
        if kind == WIN_CERT_TYPE_PKCS_SIGNED_DATA {
            signers.extend(cms_signers(&rest[8..length])?);
        }
        // Entries are aligned on eight bytes.
        rest = &rest[length.next_multiple_of(8).min(rest.len())..];
    }
    if signers.is_empty() {
        return Err(bad("the certificate table holds no PKCS#7 signature"));
    }
    Ok(signers)
}
