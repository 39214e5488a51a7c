//! The little of JSON Web Tokens (RFC 7519) that client assertions need: base64url segments, the
//! signing input, and reading a token's claims without checking it (the token endpoint checks).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

#[cfg(feature = "certificate")]
use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};

/// `header.claims`, each JSON value base64url-encoded without padding: what is signed.
#[cfg(feature = "certificate")]
pub(crate) fn signing_input(header: &serde_json::Value, claims: &serde_json::Value) -> String {
    format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    )
}

/// Base64url without padding, as JWTs encode signatures and thumbprints.
#[cfg(feature = "certificate")]
pub(crate) fn base64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The claims of a compact JWT, unverified; `None` when it is not one.
#[cfg(all(test, feature = "certificate"))]
pub(crate) fn claims(token: &str) -> Option<serde_json::Value> {
    let mut parts = token.trim().split('.');
    let (_header, claims) = (parts.next()?, parts.next()?);
    parts.next()?;
    let bytes = URL_SAFE_NO_PAD.decode(claims.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// Seconds since the Unix epoch.
pub(crate) fn now_seconds() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// How long until `expires_on` (seconds since the Unix epoch), if it is in the future.
pub(crate) fn until(expires_on: u64) -> Option<Duration> {
    let now = now_seconds();
    (expires_on > now).then(|| Duration::from_secs(expires_on - now))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "certificate")]
    fn claims_are_read_from_the_second_segment() {
        let input = signing_input(
            &serde_json::json!({"alg": "none"}),
            &serde_json::json!({"sub": "repo:contoso/driver", "exp": 5}),
        );
        let token = format!("{input}.c2ln");
        let claims = claims(&token).unwrap();
        assert_eq!(claims["sub"], "repo:contoso/driver");
        assert!(super::claims("not a token").is_none());
        assert!(super::claims("a.b").is_none());
    }

    #[test]
    fn lifetimes_count_from_now() {
        assert!(until(now_seconds() + 60).unwrap() <= Duration::from_secs(60));
        assert!(until(1).is_none());
    }
}
