//! Which server certificates are trusted, and what is kept of one that is not: the TLS setup
//! reqwest makes with its `rustls` feature (the platform's verifier, the builder's extra roots,
//! aws-lc, TLS 1.2 and 1.3, HTTP/1.1), made here so that a refused certificate's issuer goes
//! into the handshake's error (`error/network_path.rs` reads it). reqwest's own setup drops the
//! certificate: rustls' error carries none.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

/// The TLS configuration of every client: the platform's trust (the system store, which
/// `SSL_CERT_FILE` or `SSL_CERT_DIR` replace on Linux) and the extra roots `roots` (PEM).
pub(crate) fn client_config(roots: &[Vec<u8>]) -> Result<rustls::ClientConfig, String> {
    let provider = rustls::crypto::CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::aws_lc_rs::default_provider()));
    let mut extra = Vec::new();
    for pem in roots {
        for certificate in CertificateDer::pem_slice_iter(pem) {
            extra.push(certificate.map_err(|e| format!("a root certificate is not PEM: {e}"))?);
        }
    }
    let platform = if extra.is_empty() {
        rustls_platform_verifier::Verifier::new(provider.clone())
    } else {
        rustls_platform_verifier::Verifier::new_with_extra_roots(extra, provider.clone())
    }
    .map_err(|e| format!("no trusted certificates: {e}"))?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(rustls::ALL_VERSIONS)
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(KeepsRefused(platform)))
        .with_no_client_auth();
    // As reqwest sets it without its http2 feature.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// The platform's verifier, whose refusals carry the issuer of the certificate refused.
#[derive(Debug)]
struct KeepsRefused(rustls_platform_verifier::Verifier);

impl ServerCertVerifier for KeepsRefused {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map_err(|error| match error {
                rustls::Error::InvalidCertificate(error) => {
                    let refused = RefusedCertificate {
                        reason: certificate_reason(&error),
                        issuer: issuer_of(end_entity),
                    };
                    rustls::Error::InvalidCertificate(CertificateError::Other(rustls::OtherError(
                        Arc::new(refused),
                    )))
                }
                other => other,
            })
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0
            .verify_tls12_signature(message, certificate, signature)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        certificate: &CertificateDer<'_>,
        signature: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0
            .verify_tls13_signature(message, certificate, signature)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The issuer of `certificate` (DER), as RFC 4514 text.
fn issuer_of(certificate: &CertificateDer<'_>) -> Option<String> {
    use x509_cert::der::Decode;
    let parsed = x509_cert::Certificate::from_der(certificate.as_ref()).ok()?;
    Some(parsed.tbs_certificate().issuer().to_string())
}

/// A server certificate the TLS handshake refused, with the issuer it names: what
/// this verifier puts in the handshake's error, so that the failure can say who issued the
/// certificate this machine was shown.
pub(crate) struct RefusedCertificate {
    /// What the verifier found wrong (an unknown issuer, another host's name, expired, …).
    pub(crate) reason: String,
    /// The issuer of the certificate presented, as RFC 4514 text, when it could be read.
    pub(crate) issuer: Option<String>,
}

impl std::fmt::Display for RefusedCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.reason)
    }
}

impl std::error::Error for RefusedCertificate {}

/// In words, as rustls shows its cause with `Debug`.
impl std::fmt::Debug for RefusedCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.issuer {
            Some(issuer) => write!(f, "{}; issued by {issuer}", self.reason),
            None => f.write_str(&self.reason),
        }
    }
}

/// A rustls certificate error in words.
pub(crate) fn certificate_reason(error: &rustls::CertificateError) -> String {
    match error {
        rustls::CertificateError::UnknownIssuer => "its issuer is not a trusted CA".to_owned(),
        rustls::CertificateError::NotValidForName
        | rustls::CertificateError::NotValidForNameContext { .. } => {
            "it is for another host name".to_owned()
        }
        rustls::CertificateError::Expired | rustls::CertificateError::ExpiredContext { .. } => {
            "it has expired".to_owned()
        }
        other => format!("{other:?}"),
    }
}
