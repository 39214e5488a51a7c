//! An app registration's certificate, which signs client assertions: a JWT (RS256) whose header
//! names the certificate by its thumbprints and whose claims say who it is for and for how
//! long (`docs/service-notes.md`, "Entra token: client assertions").
//!
//! Signing uses aws-lc-rs, the crypto library the default build already has for TLS (through
//! rustls): no second crypto library and no OpenSSL. PEM files are read with rustls-pki-types
//! (also already there); PFX/PKCS#12 files, with the `pfx` feature, with p12-keystore, a
//! pure-Rust reader of both the AES/PBKDF2 encryption OpenSSL 3 writes and the 3DES one Windows
//! still writes by default. It is a feature because it brings about 68 crate versions (an ASN.1
//! and X.509 stack of its own) that a PEM user does not need.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use aws_lc_rs::digest;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use secrecy::SecretString;

use super::assertion::{AssertionFuture, AssertionSource};
use super::{AuthError, TokenHttp, jwt};

/// How long an assertion is valid: Entra accepts at most 10 minutes.
const LIFETIME_SECONDS: u64 = 600;

/// A certificate and its RSA private key, read from a PEM or PFX file. Its `Debug` shows the
/// thumbprint only.
#[derive(Clone)]
pub struct Certificate {
    key: Arc<RsaKeyPair>,
    /// Base64url SHA-1 of the certificate (`x5t`).
    x5t: String,
    /// Base64url SHA-256 of the certificate (`x5t#S256`).
    x5t_s256: String,
}

impl fmt::Debug for Certificate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Certificate")
            .field("x5t#S256", &self.x5t_s256)
            .finish_non_exhaustive()
    }
}

fn invalid(what: impl fmt::Display) -> AuthError {
    AuthError::Config(what.to_string())
}

impl Certificate {
    /// Reads `path`: PEM (a certificate and a PKCS#8 or PKCS#1 RSA key) or PFX/PKCS#12 (with
    /// `password`; an empty one when none is given).
    pub fn from_file(path: &Path, password: Option<&SecretString>) -> Result<Self, AuthError> {
        let bytes = std::fs::read(path).map_err(|e| {
            invalid(format_args!(
                "cannot read the certificate file {}: {e}",
                path.display()
            ))
        })?;
        let named = |e: AuthError| match e {
            AuthError::Config(why) => invalid(format_args!("{}: {why}", path.display())),
            other => other,
        };
        if bytes.trim_ascii_start().starts_with(b"-----BEGIN") {
            Self::from_pem(&bytes).map_err(named)
        } else {
            Self::from_pfx_bytes(&bytes, password).map_err(named)
        }
    }

    #[cfg(feature = "pfx")]
    fn from_pfx_bytes(bytes: &[u8], password: Option<&SecretString>) -> Result<Self, AuthError> {
        let empty = SecretString::from(String::new());
        Self::from_pkcs12(bytes, password.unwrap_or(&empty))
    }

    #[cfg(not(feature = "pfx"))]
    fn from_pfx_bytes(_: &[u8], _: Option<&SecretString>) -> Result<Self, AuthError> {
        Err(invalid(
            "this is not PEM, and PFX files need hw-api's `pfx` feature; or convert it: `openssl pkcs12 -in cert.pfx -nodes -out cert.pem`",
        ))
    }

    /// From PEM text holding a `CERTIFICATE` (the first is the app's) and a `PRIVATE KEY`
    /// (PKCS#8) or `RSA PRIVATE KEY` (PKCS#1).
    pub fn from_pem(pem: &[u8]) -> Result<Self, AuthError> {
        let certificate = CertificateDer::pem_slice_iter(pem)
            .next()
            .ok_or_else(|| invalid("no CERTIFICATE in the PEM file"))?
            .map_err(|e| invalid(format_args!("the PEM certificate does not parse: {e}")))?;
        const ENCRYPTED: &[u8] = b"-----BEGIN ENCRYPTED PRIVATE KEY-----";
        if pem.windows(ENCRYPTED.len()).any(|w| w == ENCRYPTED) {
            return Err(invalid(
                "the private key is encrypted: give the PFX file instead, or decrypt the key (`openssl pkcs8 -in key.pem -out plain.pem`)",
            ));
        }
        let key = PrivateKeyDer::from_pem_slice(pem).map_err(|e| {
            invalid(format_args!(
                "no usable PRIVATE KEY or RSA PRIVATE KEY in the PEM file: {e}"
            ))
        })?;
        let key = match &key {
            PrivateKeyDer::Pkcs8(der) => RsaKeyPair::from_pkcs8(der.secret_pkcs8_der()),
            PrivateKeyDer::Pkcs1(der) => RsaKeyPair::from_der(der.secret_pkcs1_der()),
            _ => return Err(invalid("the private key is not an RSA key")),
        }
        .map_err(|e| invalid(format_args!("the private key is not a usable RSA key: {e}")))?;
        Ok(Self::new(key, &certificate))
    }

    /// From a PFX/PKCS#12 archive and its password: its first private key and that key's
    /// certificate (the `pfx` feature).
    #[cfg(feature = "pfx")]
    pub fn from_pkcs12(der: &[u8], password: &SecretString) -> Result<Self, AuthError> {
        let store = p12_keystore::KeyStore::from_pkcs12(
            der,
            secrecy::ExposeSecret::expose_secret(password),
            p12_keystore::Pkcs12ImportPolicy::Strict,
        )
        .map_err(|e| {
            invalid(format_args!(
                "the PFX file cannot be read (is the password right?): {e}"
            ))
        })?;
        let (_, chain) = store
            .private_key_chain()
            .ok_or_else(|| invalid("the PFX file holds no private key with its certificate"))?;
        let certificate = chain
            .certs()
            .first()
            .ok_or_else(|| invalid("the PFX file's key has no certificate"))?;
        let key = RsaKeyPair::from_pkcs8(chain.key().as_der())
            .map_err(|e| invalid(format_args!("the PFX key is not a usable RSA key: {e}")))?;
        Ok(Self::new(
            key,
            &CertificateDer::from(certificate.as_der().to_vec()),
        ))
    }

    fn new(key: RsaKeyPair, certificate: &CertificateDer<'_>) -> Self {
        let sha1 = digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, certificate);
        let sha256 = digest::digest(&digest::SHA256, certificate);
        Self {
            key: Arc::new(key),
            x5t: jwt::base64url(sha1.as_ref()),
            x5t_s256: jwt::base64url(sha256.as_ref()),
        }
    }

    /// The certificate's SHA-256 thumbprint, base64url (as `x5t#S256` carries it).
    pub fn thumbprint_sha256(&self) -> &str {
        &self.x5t_s256
    }

    /// A signed assertion for `audience` (the token endpoint's URL) by `client_id`, valid from
    /// now for ten minutes.
    pub fn sign(&self, audience: &str, client_id: &str) -> Result<SecretString, AuthError> {
        let now = jwt::now_seconds();
        let mut jti = [0u8; 16];
        aws_lc_rs::rand::fill(&mut jti).map_err(|_| invalid("no random numbers for `jti`"))?;
        let header = serde_json::json!({
            "alg": "RS256",
            "typ": "JWT",
            "x5t": self.x5t,
            "x5t#S256": self.x5t_s256,
        });
        let claims = serde_json::json!({
            "aud": audience,
            "iss": client_id,
            "sub": client_id,
            "jti": jwt::base64url(&jti),
            "iat": now,
            "nbf": now,
            "exp": now + LIFETIME_SECONDS,
        });
        let input = jwt::signing_input(&header, &claims);
        let mut signature = vec![0; self.key.public_modulus_len()];
        self.key
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| invalid("signing the client assertion failed"))?;
        Ok(SecretString::from(format!(
            "{input}.{}",
            jwt::base64url(&signature)
        )))
    }
}

impl AssertionSource for Certificate {
    fn assertion<'a>(
        &'a self,
        audience: &'a str,
        client_id: &'a str,
        _http: &'a TokenHttp,
    ) -> AssertionFuture<'a> {
        let signed = self.sign(audience, client_id);
        Box::pin(async move { signed })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/certs")
            .join(name)
    }

    #[cfg(feature = "pfx")]
    #[test]
    fn pem_pkcs1_and_both_pfx_encryptions_give_the_same_certificate() {
        let password = SecretString::from("hw-test".to_owned());
        let pem = Certificate::from_file(&fixture("app.pem"), None).unwrap();
        for (name, password) in [
            ("app-pkcs1.pem", None),
            ("app.pfx", Some(&password)),
            ("app-legacy.pfx", Some(&password)),
        ] {
            let other = Certificate::from_file(&fixture(name), password).unwrap();
            assert_eq!(other.thumbprint_sha256(), pem.thumbprint_sha256(), "{name}");
        }
    }

    #[cfg(feature = "pfx")]
    #[test]
    fn a_wrong_pfx_password_says_so() {
        let wrong = SecretString::from("wrong".to_owned());
        let err = Certificate::from_file(&fixture("app.pfx"), Some(&wrong)).unwrap_err();
        assert!(err.to_string().contains("password"), "{err}");
        assert!(!err.to_string().contains("wrong"), "{err}");
    }

    #[test]
    fn an_assertion_has_the_claims_entra_checks() {
        let certificate = Certificate::from_file(&fixture("app.pem"), None).unwrap();
        let audience = "https://login.microsoftonline.com/t/oauth2/v2.0/token";
        let token = certificate.sign(audience, "app-id").unwrap();
        let token = token.expose_secret();
        let claims = jwt::claims(token).unwrap();
        assert_eq!(claims["aud"], audience);
        assert_eq!(claims["iss"], "app-id");
        assert_eq!(claims["sub"], "app-id");
        let (nbf, exp) = (
            claims["nbf"].as_u64().unwrap(),
            claims["exp"].as_u64().unwrap(),
        );
        assert!(exp > nbf && exp - nbf <= 600);
        assert!(!format!("{certificate:?}").contains("BEGIN"));
        // Two assertions never share a `jti`.
        let again = certificate.sign(audience, "app-id").unwrap();
        assert_ne!(
            jwt::claims(again.expose_secret()).unwrap()["jti"],
            claims["jti"]
        );
    }
}
