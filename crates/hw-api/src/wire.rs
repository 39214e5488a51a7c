//! What every HTTP exchange of the client shares, API, blob storage and token endpoint alike:
//! the bounds on what is read, bounded body reads, the request-id headers and excerpts of
//! bodies for errors.

use reqwest::header::HeaderMap;

use crate::redact;

/// The bounds on response bodies, in one place: each is far above what a real response of its
/// kind reaches, so that only a broken or hostile peer hits one.
pub(crate) mod limits {
    /// A successful API response (a page of a list is well under 1 MiB).
    pub(crate) const API_BODY: usize = 32 * 1024 * 1024;
    /// An error body of any service; a longer one is cut here, which loses nothing a person
    /// needs: the service's error is at its start.
    pub(crate) const ERROR_BODY: usize = 64 * 1024;
    /// A token endpoint's answer (a token is a few KiB).
    pub(crate) const TOKEN_RESPONSE: usize = 256 * 1024;
    /// A Get Block List answer: 100,000 blocks (the uncommitted ones and the committed ones) of
    /// about 100 bytes of XML each.
    pub(crate) const BLOCK_LIST: usize = 16 * 1024 * 1024;
    /// A small text blob read whole: driver metadata or an error report.
    pub(crate) const TEXT_BLOB: usize = 16 * 1024 * 1024;
    /// The most of a body kept in an error, in characters.
    pub(crate) const EXCERPT_CHARS: usize = 512;
}

/// Response headers that carry a request id, in order of preference.
const REQUEST_ID_HEADERS: [&str; 5] = [
    "x-ms-request-id",
    "request-id",
    "x-request-id",
    "x-ms-correlation-id",
    "ms-cv",
];

/// Why a body could not be read whole.
#[derive(Debug)]
pub(crate) enum BodyError {
    /// It is longer than the bound.
    TooLarge(usize),
    /// The connection broke while reading it.
    Network(reqwest::Error),
}

/// Reads the whole body, failing when it exceeds `limit` bytes.
pub(crate) async fn read_whole(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, BodyError> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(BodyError::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(BodyError::Network)? {
        if body.len() + chunk.len() > limit {
            return Err(BodyError::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Reads at most `limit` bytes of the body (an error body: what follows is dropped).
pub(crate) async fn read_start(
    mut response: reqwest::Response,
    limit: usize,
) -> Result<Vec<u8>, reqwest::Error> {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await? {
            Some(chunk) => body.extend_from_slice(&chunk[..chunk.len().min(limit - body.len())]),
            None => break,
        }
    }
    Ok(body)
}

/// The request id a response carries, if any.
pub(crate) fn request_id(headers: &HeaderMap) -> Option<String> {
    REQUEST_ID_HEADERS
        .iter()
        .find_map(|name| headers.get(*name))
        .and_then(|v| v.to_str().ok())
        .map(clean)
}

/// A header's value as text, if it is text.
pub(crate) fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// A bounded excerpt of a body for an error: one line, secrets redacted; `None` when empty.
pub(crate) fn excerpt(body: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let cut: String = text.chars().take(limits::EXCERPT_CHARS).collect();
    let mut truncated = cut.len() < text.len();
    let mut shown = clean(&cut);
    // Redaction can lengthen text (a URL is written back percent-encoded): bound it again.
    if shown.chars().count() > limits::EXCERPT_CHARS {
        shown = shown.chars().take(limits::EXCERPT_CHARS).collect();
        truncated = true;
    }
    if truncated {
        shown.push('…');
    }
    Some(shown)
}

/// Text from a peer as it may be shown: one line, secrets redacted.
pub(crate) fn clean(text: &str) -> String {
    redact::text(&redact::single_line(text))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpts_are_bounded_single_lines() {
        assert_eq!(excerpt(b"  \n "), None);
        let long = "x".repeat(limits::EXCERPT_CHARS + 10);
        let cut = excerpt(long.as_bytes()).unwrap();
        assert_eq!(cut.chars().count(), limits::EXCERPT_CHARS + 1);
        assert!(cut.ends_with('…'));
        assert_eq!(excerpt(b"a\nb").unwrap(), "a b");
        // A URL that redaction writes back longer (percent-encoded) stays within the bound.
        let url = format!(
            "https://a.example/{}?sig=SECRET",
            "é".repeat(limits::EXCERPT_CHARS / 2)
        );
        let cut = excerpt(url.as_bytes()).unwrap();
        assert_eq!(cut.chars().count(), limits::EXCERPT_CHARS + 1, "{cut}");
        assert!(!cut.contains("SECRET"));
    }
}
