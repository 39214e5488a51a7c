//! URLs that carry a credential (Azure Blob SAS URLs with their `sig`).
//!
//! Hand-written because typify maps a string schema to `String`, whose derived `Debug` would
//! print the signature wherever a resource is debug-printed or logged. This type serialises as
//! the plain string but shows the signature as `REDACTED` in `Debug` and `Display`.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A URL that may carry a SAS signature. Use [`SecretUrl::expose`] to send a request to it;
/// `Debug` and `Display` redact the `sig` parameter.
#[derive(Clone, Default, PartialEq, Eq, Hash)]
pub struct SecretUrl(String);

impl SecretUrl {
    /// The URL itself, signature included: pass it to an HTTP client, never to a log.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with the value of every `sig` parameter replaced by `REDACTED`.
    pub fn redacted(&self) -> String {
        let Some((base, query)) = self.0.split_once('?') else {
            return self.0.clone();
        };
        let (query, fragment) = match query.split_once('#') {
            Some((q, _)) => (q, "#REDACTED"),
            None => (query, ""),
        };
        let params: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                Some((key, _)) if key.eq_ignore_ascii_case("sig") => format!("{key}=REDACTED"),
                _ => pair.to_owned(),
            })
            .collect();
        format!("{base}?{}{fragment}", params.join("&"))
    }
}

impl From<String> for SecretUrl {
    fn from(url: String) -> Self {
        Self(url)
    }
}

impl From<&str> for SecretUrl {
    fn from(url: &str) -> Self {
        Self(url.to_owned())
    }
}

impl std::str::FromStr for SecretUrl {
    type Err = std::convert::Infallible;

    fn from_str(url: &str) -> Result<Self, Self::Err> {
        Ok(Self(url.to_owned()))
    }
}

impl fmt::Debug for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SecretUrl").field(&self.redacted()).finish()
    }
}

impl fmt::Display for SecretUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

impl Serialize for SecretUrl {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for SecretUrl {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_is_never_shown_but_is_kept() {
        let url = SecretUrl::from("https://a.blob/c/b?sv=2019&SIG=abc%2Bdef&se=x#frag");
        assert_eq!(
            url.redacted(),
            "https://a.blob/c/b?sv=2019&SIG=REDACTED&se=x#REDACTED"
        );
        assert!(!format!("{url:?} {url}").contains("abc"));
        assert!(url.expose().contains("abc%2Bdef"));
        let json = serde_json::to_string(&url).unwrap();
        assert_eq!(serde_json::from_str::<SecretUrl>(&json).unwrap(), url);
    }
}
