//! `--record-anonymize`: ids and names replaced consistently across a trace, so that the
//! relations between its exchanges survive (the product a submission belongs to, the id a
//! create returned and the next request used).
//!
//! Ids are the values of keys named `id`, `…Id`, `…ID`, `…_id` or `…Ids`, and the path
//! segments of five digits or more or shaped like a GUID; names are the values of the keys of
//! [`NAME_KEYS`]. Each original is then replaced wherever else it appears in the trace's text
//! (an error message that quotes a product's name, say): ids as whole words, names as
//! substrings.

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::entry::{Body, Entry, Message};

/// Keys whose values are names a person or a company chose.
const NAME_KEYS: &[&str] = &[
    "companyName",
    "contactEmail",
    "displayName",
    "email",
    "friendlyName",
    "marketingNames",
    "name",
    "partnerName",
    "productName",
    "publisherDisplayName",
    "publisherName",
    "submitterName",
    "upn",
    "userPrincipalName",
];

/// Names shorter than this are not replaced in free text (they would match ordinary words).
const MIN_NAME_LEN: usize = 3;
/// Query parameters whose values are paging cursors, which may encode ids (hw-sim's do): each
/// replaced as a whole, the same way in a request's target and in the link that gave it.
const CURSOR_PARAMS: &[&str] = &["continuationtoken=", "skiptoken=", "$skiptoken="];
/// Kept headers that can carry an id (a tenant, a location); the others are sizes, ranges,
/// digests and dates.
const ID_HEADERS: &[&str] = &[
    "location",
    "ms-cv",
    "request-id",
    "www-authenticate",
    "x-ms-correlation-id",
    "x-ms-request-id",
    "x-request-id",
];
/// Ids shorter than this are not replaced in free text or in paths.
const MIN_ID_LEN: usize = 5;

/// The replacements made so far.
#[derive(Default)]
pub(super) struct Anonymizer {
    ids: HashMap<String, String>,
    /// The replacements given, which are never replaced again.
    given: HashSet<String>,
    names: HashMap<String, String>,
    /// `names` longest first, rebuilt when a name is added.
    names_by_length: Vec<(String, String)>,
}

impl Anonymizer {
    /// Anonymizes one exchange in place.
    pub(super) fn entry(&mut self, entry: &mut Entry) {
        for message in [Some(&mut entry.request), entry.response.as_mut()]
            .into_iter()
            .flatten()
        {
            match &mut message.body {
                Some(Body::Json(value)) => self.value(None, value),
                Some(Body::Form(fields)) => {
                    for (key, value) in fields.iter_mut() {
                        if is_id_key(key) {
                            *value = self.id(value);
                        }
                    }
                }
                _ => {}
            }
        }
        entry.target = self.target(&entry.target, entry.service == "token");
        // What the structured pass learnt, wherever else it appears.
        // (Ids only in a target: a name may be part of a path, `/hardware`.)
        entry.target = self.free_text(&entry.target, false);
        if let Some(error) = &mut entry.error {
            *error = self.free_text(error, true);
        }
        for message in [Some(&mut entry.request), entry.response.as_mut()]
            .into_iter()
            .flatten()
        {
            self.message_text(message);
        }
    }

    /// The replacement of id `original`.
    fn id(&mut self, original: &str) -> String {
        if let Some(known) = self.ids.get(original) {
            return known.clone();
        }
        if self.given.contains(original) {
            return original.to_owned();
        }
        let n = self.ids.len() + 1;
        let replacement = self
            .ids
            .entry(original.to_owned())
            .or_insert_with(|| {
                if !original.is_empty() && original.bytes().all(|b| b.is_ascii_digit()) {
                    // Same length where possible, so that the shape of the trace stays.
                    let width = original.len().max(MIN_ID_LEN);
                    format!("9{n:0>w$}", w = width - 1)
                } else if is_guid(original) {
                    format!("00000000-0000-4000-8000-{n:012x}")
                } else {
                    format!("id-{n}")
                }
            })
            .clone();
        self.given.insert(replacement.clone());
        replacement
    }

    /// The replacement of name `original`.
    fn name(&mut self, original: &str) -> String {
        if let Some(known) = self.names.get(original) {
            return known.clone();
        }
        if self.given.contains(original) {
            return original.to_owned();
        }
        let replacement = format!("name-{}", self.names.len() + 1);
        self.names.insert(original.to_owned(), replacement.clone());
        self.given.insert(replacement.clone());
        self.names_by_length = self
            .names
            .iter()
            .filter(|(k, _)| k.chars().count() >= MIN_NAME_LEN)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        self.names_by_length
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then(a.0.cmp(&b.0)));
        replacement
    }

    /// Replaces the ids and names of a JSON value found under `key`.
    fn value(&mut self, key: Option<&str>, value: &mut Value) {
        match value {
            Value::Object(map) => {
                for (k, child) in map.iter_mut() {
                    self.value(Some(k), child);
                }
            }
            Value::Array(items) => {
                for item in items {
                    self.value(key, item);
                }
            }
            Value::String(s) if key.is_some_and(is_id_key) => *s = self.id(s),
            Value::Number(n) if key.is_some_and(is_id_key) => {
                let mapped = self.id(&n.to_string());
                *value = mapped
                    .parse::<u64>()
                    .map(Value::from)
                    .unwrap_or(Value::String(mapped));
            }
            Value::String(s) if key.is_some_and(|k| NAME_KEYS.contains(&k)) => {
                *s = self.name(s);
            }
            _ => {}
        }
    }

    /// A path and query with its id segments (and, for a token endpoint, the tenant: the first
    /// segment) replaced, and the values of id-named query parameters.
    fn target(&mut self, target: &str, token: bool) -> String {
        let (path, query) = match target.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (target, None),
        };
        let mut segments = Vec::new();
        for (i, segment) in path.split('/').enumerate() {
            let digits = !segment.is_empty() && segment.bytes().all(|b| b.is_ascii_digit());
            // A short id is one when a body already said it is (`"id": 7`).
            let id_like = (digits
                && (segment.len() >= MIN_ID_LEN || self.ids.contains_key(segment)))
                || is_guid(segment);
            let tenant = token && i == 1 && !segment.is_empty();
            segments.push(if id_like || tenant {
                self.id(segment)
            } else {
                segment.to_owned()
            });
        }
        let mut out = segments.join("/");
        if let Some(query) = query {
            let pairs: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, v)) if is_id_key(k) || is_cursor(k) => format!("{k}={}", self.id(v)),
                    _ => pair.to_owned(),
                })
                .collect();
            out.push('?');
            out.push_str(&pairs.join("&"));
        }
        out
    }

    /// The free-text pass over a message: the headers that can carry an id, and every string
    /// of its body.
    fn message_text(&mut self, message: &mut Message) {
        for (name, value) in message.headers.iter_mut() {
            if ID_HEADERS.contains(&name.as_str()) {
                *value = self.free_text(value, false);
            }
        }
        match &mut message.body {
            Some(Body::Json(value)) => self.json_text(value),
            Some(Body::Text(text)) => *text = self.free_text(text, true),
            Some(Body::Form(fields)) => {
                for value in fields.values_mut() {
                    *value = self.free_text(value, true);
                }
            }
            Some(Body::Digest(_)) | None => {}
        }
    }

    fn json_text(&mut self, value: &mut Value) {
        match value {
            Value::String(s) => *s = self.free_text(s, true),
            Value::Array(items) => items.iter_mut().for_each(|v| self.json_text(v)),
            Value::Object(map) => map.values_mut().for_each(|v| self.json_text(v)),
            _ => {}
        }
    }

    /// `text` with every known name (as a substring) and id (as a whole word) replaced; a GUID
    /// anywhere, and a path segment of five digits or more, is an id even when first met here
    /// (a SAS URL in a body names the blob before any request to it does).
    fn free_text(&mut self, text: &str, names: bool) -> String {
        let mut out = self.cursors(text);
        if names {
            for (original, replacement) in &self.names_by_length {
                // Within a longer text only, as a whole word: a string that is just the name
                // was a name's value (replaced already) or is something else (an enum value).
                if out.len() > original.len() && out.contains(original.as_str()) {
                    out = replace_words(&out, original, replacement);
                }
            }
        }
        let chars: Vec<char> = out.chars().collect();
        let mut replaced = String::with_capacity(out.len());
        let mut start = 0;
        while start < chars.len() {
            let is_word = |c: char| c.is_ascii_alphanumeric() || c == '-';
            if !is_word(chars[start]) {
                replaced.push(chars[start]);
                start += 1;
                continue;
            }
            let end = (start..chars.len())
                .find(|&i| !is_word(chars[i]))
                .unwrap_or(chars.len());
            let word: String = chars[start..end].iter().collect();
            let in_path = start > 0
                && chars[start - 1] == '/'
                && chars
                    .get(end)
                    .is_none_or(|c| matches!(c, '/' | '?' | '"' | '#'));
            let digits = word.len() >= MIN_ID_LEN && word.bytes().all(|b| b.is_ascii_digit());
            if is_guid(&word) || (digits && in_path) {
                replaced.push_str(&self.id(&word));
            } else {
                match self.ids.get(&word) {
                    Some(id) if word.len() >= MIN_ID_LEN => replaced.push_str(id),
                    _ => replaced.push_str(&word),
                }
            }
            start = end;
        }
        replaced
    }
}

impl Anonymizer {
    /// `text` with the value of each paging cursor parameter replaced.
    fn cursors(&mut self, text: &str) -> String {
        let lower = text.to_ascii_lowercase();
        if !CURSOR_PARAMS.iter().any(|p| lower.contains(p)) {
            return text.to_owned();
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        while let Some((start, len)) = CURSOR_PARAMS
            .iter()
            .filter_map(|p| lower[at..].find(p).map(|i| (at + i, p.len())))
            .min()
        {
            let value_start = start + len;
            out.push_str(&text[at..value_start]);
            let value_len = text[value_start..]
                .find(|c: char| matches!(c, '&' | '#' | '"' | '\'') || c.is_whitespace())
                .unwrap_or(text.len() - value_start);
            let value = &text[value_start..value_start + value_len];
            if !value.is_empty() {
                out.push_str(&self.id(value));
            }
            at = value_start + value_len;
        }
        out.push_str(&text[at..]);
        out
    }
}

/// Whether query parameter `key` is a paging cursor.
fn is_cursor(key: &str) -> bool {
    CURSOR_PARAMS.iter().any(|p| {
        p.strip_suffix('=')
            .is_some_and(|p| p.eq_ignore_ascii_case(key))
    })
}

/// `text` with each whole-word occurrence of `word` replaced (the characters either side are
/// not letters or digits).
fn replace_words(text: &str, word: &str, replacement: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(word) {
        let before = rest[..i].chars().next_back();
        let after = rest[i + word.len()..].chars().next();
        let boundary = |c: Option<char>| c.is_none_or(|c| !c.is_alphanumeric());
        out.push_str(&rest[..i]);
        if boundary(before) && boundary(after) {
            out.push_str(replacement);
        } else {
            out.push_str(word);
        }
        rest = &rest[i + word.len()..];
    }
    out.push_str(rest);
    out
}

/// Whether a JSON key or query parameter names an id.
fn is_id_key(key: &str) -> bool {
    key == "id"
        || key == "ids"
        || key.ends_with("Id")
        || key.ends_with("ID")
        || key.ends_with("_id")
        || key.ends_with("Ids")
}

/// Whether `s` is a GUID (`8-4-4-4-12` hexadecimal digits).
fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}
