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

/// A URL, as a string.
#[cfg(feature = "schemars")]
impl schemars::JsonSchema for SecretUrl {
    fn schema_name() -> String {
        "SecretUrl".to_owned()
    }

    fn json_schema(_: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        schemars::schema::SchemaObject {
            instance_type: Some(schemars::schema::InstanceType::String.into()),
            format: Some("uri".to_owned()),
            ..Default::default()
        }
        .into()
    }
}

impl SecretUrl {
    /// The URL itself, signature included: pass it to an HTTP client, never to a log.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with the value of every `sig` parameter replaced by `REDACTED` — wherever a
    /// parameter starts (after `?` or `&`, or at the start), however malformed the rest — and any
    /// fragment hidden.
    pub fn redacted(&self) -> String {
        let text = self.0.as_str();
        let lower = text.to_ascii_lowercase();
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        while let Some(found) = lower[at..].find("sig=") {
            let start = at + found;
            let starts_parameter = start == 0 || matches!(text.as_bytes()[start - 1], b'?' | b'&');
            let value_start = start + "sig=".len();
            out.push_str(&text[at..value_start]);
            at = value_start;
            if starts_parameter {
                let len = text[value_start..]
                    .find(|c: char| {
                        c == '&' || c == '#' || c == '"' || c == '\'' || c.is_whitespace()
                    })
                    .unwrap_or(text.len() - value_start);
                out.push_str("REDACTED");
                at += len;
            }
        }
        out.push_str(&text[at..]);
        match out.find('#') {
            Some(hash) => format!("{}#REDACTED", &out[..hash]),
            None => out,
        }
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
        let malformed = SecretUrl::from("PCI\\VEN_1&sig=abc&x=1");
        assert_eq!(malformed.redacted(), "PCI\\VEN_1&sig=REDACTED&x=1");
        let two = SecretUrl::from("https://a/b?sig=one&x=1 then https://c/d?SIG=two");
        assert_eq!(
            two.redacted(),
            "https://a/b?sig=REDACTED&x=1 then https://c/d?SIG=REDACTED"
        );
        assert_eq!(
            SecretUrl::from("https://a/b?design=keep").redacted(),
            "https://a/b?design=keep"
        );
        let json = serde_json::to_string(&url).unwrap();
        assert_eq!(serde_json::from_str::<SecretUrl>(&json).unwrap(), url);
    }
}
