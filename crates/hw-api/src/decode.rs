//! Decoding what the API answers: a success as the operation's type, and an error body of
//! either shape — the service's nested `{"error": {"code", "message", "validationErrors"}}`
//! or the gateway's flat `{"statusCode", "message", "activityId"}` — or of neither (an HTML
//! page, an empty body), which still gives the status and an excerpt
//! (`docs/service-notes.md`, "Hardware API: error bodies").

use std::time::SystemTime;

use hw_api_gen::types::ErrorResponse;
use reqwest::header::HeaderMap;
use serde::de::DeserializeOwned;

use crate::error::{FieldError, ServiceError};
use crate::retry::server_wait;
use crate::wire::{clean, excerpt, request_id};

/// A body that does not decode as the operation's type: the JSON path that failed and why.
#[derive(Debug)]
pub(crate) struct Mismatch {
    /// The JSON path of the value that failed (`value[3].id`), `.` for the whole body.
    pub(crate) path: String,
    /// What was wrong with it, one line, redacted.
    pub(crate) message: String,
}

/// Decodes a success body as `T`; an empty body decodes as JSON `null` (the `()` of an
/// operation that answers 202 or 204 with nothing). A tolerant reader: a value that does not
/// fit its type (a null, a missing or a mistyped value) is let go, with a debug line, and the
/// rest kept, unless it is one `operation`'s callers need (`needed.rs`), which fails with its
/// JSON path.
///
/// Plain serde_json first: tracking the JSON path costs every field (measured: about a tenth of
/// the time to page through 100,000 products), so it is paid only when something does not fit.
pub(crate) fn success<T: DeserializeOwned>(body: &[u8], operation: &str) -> Result<T, Mismatch> {
    let body: &[u8] = if body.iter().all(u8::is_ascii_whitespace) {
        b"null"
    } else {
        body
    };
    if let Ok(value) = serde_json::from_slice(body) {
        return Ok(value);
    }
    let mut tree: serde_json::Value = serde_json::from_slice(body).map_err(|e| Mismatch {
        path: ".".into(),
        message: clean(&e.to_string()),
    })?;
    let needed = crate::needed::of(operation);
    // Each round lets one value go, so this ends.
    loop {
        let error = match serde_path_to_error::deserialize::<_, T>(&tree) {
            Ok(value) => return Ok(value),
            Err(error) => error,
        };
        let message = clean(&error.inner().to_string());
        let mut segments: Vec<Step> = error.path().iter().map(Step::of).collect();
        // A missing field is reported at its object: the field is what failed, and what goes
        // (when the field is not needed) is its object.
        let field = missing_field(&message);
        let failed = match &field {
            Some(name) => {
                let mut whole = segments.clone();
                whole.push(Step::Key(name.clone()));
                pattern(&whole)
            }
            None => pattern(&segments),
        };
        let shown = match &field {
            Some(name) if segments.is_empty() => name.clone(),
            Some(name) => format!("{}.{name}", error.path()),
            None => error.path().to_string(),
        };
        if crate::needed::names(&needed, &failed) || !remove(&mut tree, &mut segments) {
            return Err(Mismatch {
                path: shown,
                message,
            });
        }
        tracing::debug!(path = %shown, reason = %message, "a value no caller needs does not fit the API: the item is kept without it");
    }
}

/// One step of a JSON path.
#[derive(Clone, Debug)]
enum Step {
    /// An object's key.
    Key(String),
    /// An array's index.
    Index(usize),
    /// What the path cannot say (a value no step leads to).
    Unknown,
}

impl Step {
    fn of(segment: &serde_path_to_error::Segment) -> Self {
        match segment {
            serde_path_to_error::Segment::Map { key } => Step::Key(key.clone()),
            serde_path_to_error::Segment::Seq { index } => Step::Index(*index),
            _ => Step::Unknown,
        }
    }
}

/// A path as `needed.rs` writes it: keys joined with `.`, any index as `[]`.
fn pattern(steps: &[Step]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Step::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Step::Index(_) => out.push_str("[]"),
            Step::Unknown => out.push('?'),
        }
    }
    out
}

/// The field a "missing field `x`" error names.
fn missing_field(message: &str) -> Option<String> {
    let rest = message.strip_prefix("missing field `")?;
    rest.split('`').next().map(str::to_owned)
}

/// Removes the value at `steps` from `tree`; false when there is none to remove (the whole
/// body, or a path that cannot be followed).
fn remove(tree: &mut serde_json::Value, steps: &mut Vec<Step>) -> bool {
    let Some(last) = steps.pop() else {
        return false;
    };
    let mut parent = tree;
    for step in steps.iter() {
        parent = match (step, parent) {
            (Step::Key(key), serde_json::Value::Object(map)) => match map.get_mut(key) {
                Some(child) => child,
                None => return false,
            },
            (Step::Index(i), serde_json::Value::Array(items)) => match items.get_mut(*i) {
                Some(child) => child,
                None => return false,
            },
            _ => return false,
        };
    }
    match (last, parent) {
        (Step::Key(key), serde_json::Value::Object(map)) => map.remove(&key).is_some(),
        (Step::Index(i), serde_json::Value::Array(items)) if i < items.len() => {
            items.remove(i);
            true
        }
        _ => false,
    }
}

/// An error response of `operation` as a service error, after `attempts` attempts.
pub(crate) fn service_error(
    operation: &'static str,
    attempts: u32,
    status: u16,
    headers: &HeaderMap,
    body: &[u8],
) -> ServiceError {
    let parsed = serde_json::from_slice::<ErrorResponse>(body).ok();
    let detail = parsed.as_ref().and_then(|p| p.error.as_ref());
    let message = detail
        .and_then(|d| d.message.clone())
        .or_else(|| parsed.as_ref().and_then(|p| p.message.clone()))
        .map(|m| clean(&m));
    let validation = detail
        .map(|d| &d.validation_errors)
        .filter(|v| !v.is_empty())
        .or_else(|| parsed.as_ref().map(|p| &p.validation_errors))
        .map(|list| {
            list.iter()
                .map(|v| FieldError {
                    target: v.target.as_deref().map(clean),
                    message: v.message.as_deref().map(clean),
                })
                .collect()
        })
        .unwrap_or_default();
    ServiceError {
        operation,
        status,
        code: detail.and_then(|d| d.code.clone()),
        message,
        validation_errors: validation,
        activity_id: parsed
            .as_ref()
            .and_then(|p| p.activity_id.as_deref())
            .map(clean),
        request_id: request_id(headers),
        retry_after: server_wait(headers, SystemTime::now()),
        body_excerpt: excerpt(body),
        attempts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_error_shapes_and_neither() {
        let nested = br#"{"error":{"code":"entityNotFound","message":"No product","validationErrors":[{"target":"id","message":"bad"}]}}"#;
        let e = service_error("getProduct", 1, 404, &HeaderMap::new(), nested);
        assert_eq!(e.code.as_ref().map(|c| c.as_str()), Some("entityNotFound"));
        assert_eq!(e.message.as_deref(), Some("No product"));
        assert_eq!(e.validation_errors.len(), 1);

        let flat = br#"{"statusCode":429,"message":"Rate limit is exceeded","activityId":"a-1"}"#;
        let e = service_error("listProducts", 2, 429, &HeaderMap::new(), flat);
        assert_eq!(e.message.as_deref(), Some("Rate limit is exceeded"));
        assert_eq!(e.activity_id.as_deref(), Some("a-1"));
        assert_eq!(e.code, None);

        let html = b"<html><body><h1>502 Bad Gateway</h1></body></html>";
        let e = service_error("getProduct", 1, 502, &HeaderMap::new(), html);
        assert_eq!(e.message, None);
        assert!(e.body_excerpt.unwrap().contains("502 Bad Gateway"));

        let e = service_error("getProduct", 1, 401, &HeaderMap::new(), b"");
        assert_eq!((e.message, e.body_excerpt), (None, None));
    }

    #[test]
    fn an_empty_success_is_unit_and_a_mismatch_names_its_path() {
        success::<()>(b"", "").unwrap();
        success::<()>(b" \n", "").unwrap();
        let bad =
            success::<hw_api_gen::types::Product>(br#"{"id":"x"}"#, "getProduct").unwrap_err();
        assert_eq!(bad.path, "id");
        let trailing = success::<u32>(b"1 2", "").unwrap_err();
        assert_eq!(trailing.path, ".");
    }

    #[test]
    fn only_a_value_that_is_there_is_removed() {
        let mut tree = serde_json::json!({"value": [1], "name": "x"});
        assert!(!remove(
            &mut tree,
            &mut vec![Step::Key("value".into()), Step::Index(1)]
        ));
        assert!(!remove(&mut tree, &mut vec![Step::Key("other".into())]));
        assert!(!remove(&mut tree, &mut vec![Step::Unknown]));
        assert!(!remove(&mut tree, &mut Vec::new()), "never the whole body");
        assert!(remove(
            &mut tree,
            &mut vec![Step::Key("value".into()), Step::Index(0)]
        ));
        assert_eq!(tree, serde_json::json!({"value": [], "name": "x"}));
    }
}
