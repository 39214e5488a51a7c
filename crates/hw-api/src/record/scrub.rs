//! Secrets out of everything a trace keeps. Allow-lists where the shape is known (headers,
//! token responses, token request forms), and for free text and JSON the markers of
//! [`crate::redact`] (`sig=`, `Bearer `, `access_token`, …), anything shaped like a JWT, values
//! of keys that name a secret, and the secrets the recorder knows.

use std::collections::BTreeMap;

use reqwest::header::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;

use super::Service;
use super::entry::Body;
use crate::redact::REDACTED;

/// Known secrets shorter than this are not searched for (they would match ordinary text).
pub(crate) const MIN_SECRET_LEN: usize = 6;

/// Request headers a trace keeps: none of them carries a credential.
pub(super) const REQUEST_HEADERS: &[&str] = &[
    "accept",
    "content-length",
    "content-md5",
    "content-type",
    "if-match",
    "if-none-match",
    "range",
    "x-ms-blob-content-md5",
    "x-ms-blob-content-type",
    "x-ms-blob-type",
    "x-ms-client-request-id",
    "x-ms-range-get-content-md5",
    "x-ms-version",
];

/// Response headers a trace keeps: request ids, retry hints, content and blob headers.
pub(super) const RESPONSE_HEADERS: &[&str] = &[
    "accept-ranges",
    "content-length",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "last-modified",
    "location",
    "ms-cv",
    "request-id",
    "retry-after",
    "retry-after-ms",
    "www-authenticate",
    "x-ms-blob-content-md5",
    "x-ms-blob-type",
    "x-ms-correlation-id",
    "x-ms-error-code",
    "x-ms-request-id",
    "x-ms-retry-after-ms",
    "x-ms-version",
    "x-request-id",
];

/// Fields of a token endpoint's JSON answer that carry no secret; every other is replaced.
const TOKEN_FIELDS: &[&str] = &[
    "correlation_id",
    "error",
    "error_codes",
    "error_description",
    "error_uri",
    "expires_in",
    "expires_on",
    "ext_expires_in",
    "not_before",
    "resource",
    "scope",
    "suberror",
    "timestamp",
    "token_type",
    "trace_id",
];

/// Fields of a token request's form that carry no secret; every other is replaced.
const FORM_FIELDS: &[&str] = &[
    "api-version",
    "audience",
    "client_assertion_type",
    "client_id",
    "grant_type",
    "resource",
    "scope",
];

/// JSON keys (lowercase, without `_` and `-`) whose values are secrets wherever they appear.
const SECRET_KEYS: &[&str] = &[
    "accesstoken",
    "assertion",
    "authorization",
    "clientassertion",
    "clientsecret",
    "idtoken",
    "password",
    "refreshtoken",
    "secret",
    "sig",
];

/// Text as a trace keeps it: the known secrets, the markers of [`crate::redact`] and
/// JWT-shaped runs replaced.
pub(crate) fn text(text: &str, secrets: &[SecretString]) -> String {
    jwts(&crate::redact::markers(&known(text, secrets)))
}

/// The headers of `allowed` that `headers` has, their values scrubbed.
pub(super) fn headers(
    headers: &HeaderMap,
    allowed: &[&str],
    secrets: &[SecretString],
) -> BTreeMap<String, String> {
    allowed
        .iter()
        .filter_map(|name| {
            let value = headers.get(*name)?;
            let value = String::from_utf8_lossy(value.as_bytes());
            Some(((*name).to_owned(), text(&value, secrets)))
        })
        .collect()
}

/// A body of `service` with `content_type`, read whole, as a trace keeps it.
pub(super) fn body(
    service: Service,
    content_type: Option<&str>,
    bytes: &[u8],
    secrets: &[SecretString],
) -> Body {
    let form = content_type.is_some_and(|t| t.contains("x-www-form-urlencoded"));
    if form {
        return Body::Form(form_fields(bytes, secrets));
    }
    let json_bytes = bytes.strip_prefix(b"\xef\xbb\xbf").unwrap_or(bytes);
    match serde_json::from_slice::<Value>(json_bytes) {
        Ok(mut value) => {
            json(&mut value, service == Service::Token, secrets);
            Body::Json(value)
        }
        // An issuer's answer is kept only through its allow-list: anything else may be a token.
        Err(_) if service == Service::Token => token_digest(bytes),
        Err(_) => Body::Text(text(&String::from_utf8_lossy(bytes), secrets)),
    }
}

/// An issuer's body that cannot be read through the allow-list (cut short, not JSON): its size
/// and MD5 only.
pub(super) fn token_digest(bytes: &[u8]) -> Body {
    Body::Digest(super::entry::BodyDigest::of(bytes))
}

/// Scrubs a JSON value in place; `token_answer` keeps only [`TOKEN_FIELDS`] of its objects.
fn json(value: &mut Value, token_answer: bool, secrets: &[SecretString]) {
    match value {
        Value::String(s) => *s = text(s, secrets),
        Value::Array(items) => items
            .iter_mut()
            .for_each(|item| json(item, token_answer, secrets)),
        Value::Object(map) => {
            // Keys are text too: a service may key an object by anything.
            let mut scrubbed = serde_json::Map::with_capacity(map.len());
            for (key, child) in std::mem::take(map) {
                scrubbed.insert(text(&key, secrets), child);
            }
            *map = scrubbed;
            for (key, child) in map.iter_mut() {
                let secret = if token_answer {
                    !TOKEN_FIELDS.contains(&key.as_str())
                } else {
                    let bare: String = key
                        .chars()
                        .filter(|c| !matches!(c, '_' | '-'))
                        .flat_map(char::to_lowercase)
                        .collect();
                    SECRET_KEYS.contains(&bare.as_str())
                };
                if secret && !child.is_null() {
                    *child = Value::String(REDACTED.into());
                } else {
                    json(child, token_answer, secrets);
                }
            }
        }
        Value::Null | Value::Bool(_) | Value::Number(_) => {}
    }
}

/// A form's fields: those of [`FORM_FIELDS`] kept (scrubbed), the others replaced.
fn form_fields(bytes: &[u8], secrets: &[SecretString]) -> BTreeMap<String, String> {
    url::form_urlencoded::parse(bytes)
        .map(|(key, value)| {
            let value = if FORM_FIELDS.contains(&key.as_ref()) {
                text(&value, secrets)
            } else {
                REDACTED.to_owned()
            };
            (text(&key, secrets), value)
        })
        .collect()
}

/// `text` with each known secret replaced, as it is and in the forms it takes in a URL or a
/// form (percent-encoded) and in JSON (escaped).
pub(super) fn known(text: &str, secrets: &[SecretString]) -> String {
    let mut out = text.to_owned();
    for secret in secrets {
        for form in forms(secret.expose_secret()) {
            if form.len() >= MIN_SECRET_LEN && out.contains(&form) {
                out = out.replace(&form, REDACTED);
            }
        }
    }
    out
}

/// The forms a secret takes in text: as it is, form-encoded (`+` for a space), percent-encoded
/// with upper- and lower-case hexadecimal digits, and JSON-escaped.
fn forms(secret: &str) -> [String; 5] {
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let percent = |upper: bool| -> String {
        secret
            .bytes()
            .map(|b| {
                if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                    char::from(b).to_string()
                } else if upper {
                    format!("%{b:02X}")
                } else {
                    format!("%{b:02x}")
                }
            })
            .collect()
    };
    let escaped = serde_json::to_string(secret).unwrap_or_default();
    let escaped = escaped
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or_default()
        .to_owned();
    [
        secret.to_owned(),
        form,
        percent(true),
        percent(false),
        escaped,
    ]
}

/// Text with every JWT-shaped run (`eyJ…`, base64url segments joined by two dots or more)
/// replaced: an access token, an assertion, an OIDC token, whatever field carries it.
fn jwts(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("eyJ") {
        out.push_str(&rest[..start]);
        let run = rest[start..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
            .unwrap_or(rest.len() - start);
        let candidate = &rest[start..start + run];
        if candidate.matches('.').count() >= 2 {
            out.push_str(REDACTED);
        } else {
            out.push_str(candidate);
        }
        rest = &rest[start + run..];
    }
    out.push_str(rest);
    out
}
