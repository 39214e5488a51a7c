//! Client assertions at the token endpoint, checked as Entra checks them: a JWT signed (RS256)
//! with a certificate registered on the app, named by its thumbprint (`x5t#S256` or `x5t`), for
//! this token endpoint (`aud`), by the app (`iss`, `sub`), within its time range; or a federated
//! token of the simulator's own OIDC or managed-identity issuer (HS256 with its per-run key) whose issuer, subject
//! and audience match a federated credential of the app. Each refusal carries the AADSTS code
//! Entra gives for it.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_lc_rs::{digest, hmac};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls_pki_types::CertificateDer;
use serde_json::Value;

use crate::config::AppCredential;
pub use crate::config::FEDERATION_AUDIENCE;

/// The `client_assertion_type` of a JWT assertion.
pub const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// Clock skew allowed on `nbf` and `exp`.
const SKEW: u64 = 300;

/// The longest lifetime accepted for a certificate-signed assertion (Entra: 10 minutes, plus
/// the skew).
const MAX_LIFETIME: u64 = 600 + SKEW;

/// Why an assertion was refused: the HTTP status, OAuth error, AADSTS code and message.
#[derive(Debug, PartialEq, Eq)]
pub struct Refusal {
    /// The HTTP status.
    pub status: u16,
    /// The OAuth error (`invalid_client`, …).
    pub error: &'static str,
    /// The AADSTS code.
    pub code: u64,
    /// The message Entra would give.
    pub message: String,
}

fn refuse(status: u16, error: &'static str, code: u64, message: impl Into<String>) -> Refusal {
    Refusal {
        status,
        error,
        code,
        message: message.into(),
    }
}

fn malformed(why: &str) -> Refusal {
    refuse(
        400,
        "invalid_request",
        50027,
        format!("JWT token is invalid or malformed: {why}."),
    )
}

/// A compact JWT, split and decoded.
struct Jwt {
    header: Value,
    claims: Value,
    /// `header.claims`, as signed.
    input: String,
    signature: Vec<u8>,
}

fn decode(token: &str) -> Result<Jwt, Refusal> {
    let parts: Vec<&str> = token.split('.').collect();
    let [header, claims, signature] = parts.as_slice() else {
        return Err(malformed("it does not have three parts"));
    };
    let json = |part: &str| -> Result<Value, Refusal> {
        let bytes = URL_SAFE_NO_PAD
            .decode(part)
            .map_err(|_| malformed("a part is not base64url"))?;
        serde_json::from_slice(&bytes).map_err(|_| malformed("a part is not JSON"))
    };
    Ok(Jwt {
        header: json(header)?,
        claims: json(claims)?,
        input: format!("{header}.{claims}"),
        signature: URL_SAFE_NO_PAD
            .decode(signature)
            .map_err(|_| malformed("the signature is not base64url"))?,
    })
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

fn text<'a>(value: &'a Value, key: &str) -> &'a str {
    value.get(key).and_then(Value::as_str).unwrap_or_default()
}

/// Checks `exp` and `nbf` against now; `max_lifetime` bounds `exp - now`.
fn in_time(claims: &Value, max_lifetime: Option<u64>) -> Result<(), Refusal> {
    let (now, exp, nbf) = (
        now(),
        claims.get("exp").and_then(Value::as_u64),
        claims.get("nbf").and_then(Value::as_u64),
    );
    let Some(exp) = exp else {
        return Err(malformed("it has no exp"));
    };
    let expired = exp.saturating_add(SKEW) <= now;
    let early = nbf.is_some_and(|nbf| nbf > now.saturating_add(SKEW));
    let too_long = max_lifetime.is_some_and(|max| exp > now.saturating_add(max));
    if expired || early || too_long {
        return Err(refuse(
            401,
            "invalid_client",
            700024,
            format!(
                "Client assertion is not within its valid time range. Current time: {now}, assertion valid from {}, expiry time of assertion {exp}.",
                nbf.unwrap_or(0)
            ),
        ));
    }
    Ok(())
}

/// Thumbprints of a DER certificate: base64url SHA-1 and SHA-256.
pub fn thumbprints(der: &[u8]) -> (String, String) {
    (
        URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA1_FOR_LEGACY_USE_ONLY, der)),
        URL_SAFE_NO_PAD.encode(digest::digest(&digest::SHA256, der)),
    )
}

/// Checks `assertion` from `client_id` of `app` at the token endpoint `audience`; `issuer` and
/// `key` are the simulator's own OIDC issuer and its signing key.
pub fn check(
    assertion: &str,
    app: &AppCredential,
    audience: &str,
    issuer: &str,
    key: &hmac::Key,
) -> Result<(), Refusal> {
    let jwt = decode(assertion)?;
    match text(&jwt.header, "alg") {
        "RS256" => certificate_signed(&jwt, app, audience),
        "HS256" => federated(&jwt, app, issuer, key),
        other => Err(malformed(&format!(
            "the algorithm {other:?} is not accepted"
        ))),
    }
}

fn certificate_signed(jwt: &Jwt, app: &AppCredential, audience: &str) -> Result<(), Refusal> {
    let (s256, s1) = (text(&jwt.header, "x5t#S256"), text(&jwt.header, "x5t"));
    let registered = app.certificates.iter().find(|der| {
        let (sha1, sha256) = thumbprints(der);
        (!s256.is_empty() && s256 == sha256) || (s256.is_empty() && !s1.is_empty() && s1 == sha1)
    });
    let Some(der) = registered else {
        return Err(refuse(
            401,
            "invalid_client",
            700027,
            format!(
                "The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Thumbprint of key used by client: '{}']",
                if s256.is_empty() { s1 } else { s256 }
            ),
        ));
    };
    let certificate = CertificateDer::from(der.as_slice());
    let verified = webpki::EndEntityCert::try_from(&certificate)
        .map_err(|_| malformed("the registered certificate does not parse"))
        .and_then(|end_entity| {
            end_entity
                .verify_signature(
                    webpki::aws_lc_rs::RSA_PKCS1_2048_8192_SHA256,
                    jwt.input.as_bytes(),
                    &jwt.signature,
                )
                .map_err(|_| {
                    refuse(
                        401,
                        "invalid_client",
                        700027,
                        "Client assertion failed signature validation.",
                    )
                })
        });
    verified?;
    if text(&jwt.claims, "iss") != app.client_id || text(&jwt.claims, "sub") != app.client_id {
        return Err(refuse(
            401,
            "invalid_client",
            700021,
            "Client assertion application identifier doesn't match 'client_id' parameter.",
        ));
    }
    if text(&jwt.claims, "aud") != audience {
        return Err(refuse(
            401,
            "invalid_client",
            700027,
            format!(
                "Client assertion contains an invalid audience {:?}: it must be the token endpoint {audience}.",
                text(&jwt.claims, "aud")
            ),
        ));
    }
    in_time(&jwt.claims, Some(MAX_LIFETIME))
}

fn federated(jwt: &Jwt, app: &AppCredential, issuer: &str, key: &hmac::Key) -> Result<(), Refusal> {
    let (iss, sub, aud) = (
        text(&jwt.claims, "iss"),
        text(&jwt.claims, "sub"),
        text(&jwt.claims, "aud"),
    );
    let unknown_issuer = || {
        refuse(
            401,
            "invalid_client",
            700211,
            format!(
                "No matching federated identity record found for presented assertion issuer '{iss}'."
            ),
        )
    };
    // Only the simulator's own issuers can be checked (its OIDC services', and its
    // managed-identity endpoints' as Entra's): it has no other issuer's keys.
    let own = iss == issuer || iss == crate::config::MANAGED_IDENTITY_ISSUER;
    if !own || hmac::verify(key, jwt.input.as_bytes(), &jwt.signature).is_err() {
        return Err(unknown_issuer());
    }
    in_time(&jwt.claims, None)?;
    let of_issuer: Vec<_> = app.federated.iter().filter(|f| f.issuer == iss).collect();
    if of_issuer.is_empty() {
        return Err(unknown_issuer());
    }
    let of_subject: Vec<_> = of_issuer.iter().filter(|f| f.subject == sub).collect();
    if of_subject.is_empty() {
        return Err(refuse(
            401,
            "invalid_client",
            70021,
            format!(
                "No matching federated identity record found for presented assertion. Assertion Issuer: '{iss}'. Assertion Subject: '{sub}'. Assertion Audience: '{aud}'."
            ),
        ));
    }
    if !of_subject.iter().any(|f| f.audience == aud) {
        return Err(refuse(
            401,
            "invalid_client",
            700212,
            format!(
                "No matching federated identity record found for presented assertion audience '{aud}'."
            ),
        ));
    }
    Ok(())
}

/// A token of the simulator's own OIDC issuer for `subject` and `audience`, valid for
/// `lifetime`.
pub fn federated_token(
    key: &hmac::Key,
    issuer: &str,
    subject: &str,
    audience: &str,
    lifetime: Duration,
) -> String {
    let now = now();
    let header = serde_json::json!({"alg": "HS256", "typ": "JWT"});
    let claims = serde_json::json!({
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime.as_secs(),
        "jti": format!("{:032x}", fastrand::u128(..)),
    });
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let signature = hmac::sign(key, input.as_bytes());
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature.as_ref()))
}
