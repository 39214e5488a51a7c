//! Redaction of URLs and free text before they reach errors, `Debug` output or logs.
//!
//! URLs are redacted by an allow-list (the Azure SDK convention): query parameters known to be
//! harmless keep their values, every other value — a SAS `sig`, a continuation token, anything
//! new — becomes `REDACTED`, and user-info is dropped. Free text (an error body, a message) is
//! scanned for the usual carriers of secrets.

use url::Url;

/// What replaces a secret.
pub const REDACTED: &str = "REDACTED";

/// Query parameters whose values are safe to show: SAS fields other than the signature, blob
/// operation parameters, and paging sizes.
const SAFE_QUERY_KEYS: &[&str] = &[
    "sv",
    "ss",
    "srt",
    "sr",
    "sp",
    "st",
    "se",
    "spr",
    "sip",
    "si",
    "skoid",
    "sktid",
    "skt",
    "ske",
    "sks",
    "skv",
    "rscd",
    "rsct",
    "comp",
    "blockid",
    "blocklisttype",
    "restype",
    "api-version",
    "pagesize",
    "includetargetinginfo",
];

/// Markers after which free text carries a secret, up to the next delimiter.
const SECRET_MARKERS: &[&str] = &[
    "sig=",
    "sig%3d",
    "access_token\":\"",
    "access_token\": \"",
    "access_token=",
    "client_secret=",
    "client_assertion=",
    "refresh_token=",
    "bearer ",
    "bearer+",
    "bearer%20",
];

/// A URL as it may be shown: allow-listed query values only, no user-info, no fragment.
pub fn url(url: &Url) -> String {
    let mut shown = url.clone();
    let _ = shown.set_username("");
    let _ = shown.set_password(None);
    if shown.fragment().is_some() {
        shown.set_fragment(Some(REDACTED));
    }
    if url.query().is_some() {
        let pairs: Vec<(String, String)> = url
            .query_pairs()
            .map(|(k, v)| {
                let safe = SAFE_QUERY_KEYS.iter().any(|s| s.eq_ignore_ascii_case(&k)) && plain(&v);
                let v = if safe {
                    v.into_owned()
                } else {
                    REDACTED.to_owned()
                };
                (k.into_owned(), v)
            })
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
    }
    // A signature hidden in the path or inside another value of a malformed URL.
    markers(shown.as_str())
}

/// Whether an allow-listed value looks like one: short and without URL syntax that could carry
/// another parameter (a value hiding `?sig=…` is not shown).
fn plain(value: &str) -> bool {
    value.len() <= 128 && !value.contains(['?', '&', '=', '#', '/', '%'])
}

/// A URL given as text: parsed and redacted, or treated as free text if it does not parse.
pub fn url_text(text: &str) -> String {
    match Url::parse(text) {
        Ok(parsed) => url(&parsed),
        Err(_) => self::text(text),
    }
}

/// Text on one line: runs of white space and control characters become one space.
pub fn single_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for word in text.split(|c: char| c.is_whitespace() || c.is_control()) {
        if !word.is_empty() {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(word);
        }
    }
    out
}

/// Free text with every URL redacted like [`url()`](fn@url) and every value after a secret marker
/// (`sig=`, `Bearer `, `access_token`, …) replaced.
pub fn text(text: &str) -> String {
    markers(&urls(text))
}

/// Redacts the `http(s)://` URLs in free text.
fn urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest
        .find("http://")
        .into_iter()
        .chain(rest.find("https://"))
        .min()
    {
        out.push_str(&rest[..start]);
        let len = rest[start..]
            .find(|c: char| c.is_whitespace() || "\"'<>`".contains(c))
            .unwrap_or(rest.len() - start);
        let candidate = &rest[start..start + len];
        match Url::parse(candidate) {
            Ok(parsed) => out.push_str(&url(&parsed)),
            Err(_) => out.push_str(candidate),
        }
        rest = &rest[start + len..];
    }
    out.push_str(rest);
    out
}

/// Free text with the value after each secret marker replaced (URLs left as they are).
pub(crate) fn markers(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut at = 0;
    while at < text.len() {
        let next = SECRET_MARKERS
            .iter()
            .filter_map(|m| lower[at..].find(m).map(|i| (at + i, m.len())))
            .min_by_key(|(i, _)| *i);
        let Some((start, len)) = next else {
            out.push_str(&text[at..]);
            break;
        };
        let value_start = start + len;
        out.push_str(&text[at..value_start]);
        let value_len = text[value_start..]
            .find(|c: char| c.is_whitespace() || "&\"'<>,;)".contains(c))
            .unwrap_or(text.len() - value_start);
        if value_len > 0 {
            out.push_str(REDACTED);
        }
        at = value_start + value_len;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sas_urls_keep_their_shape_and_lose_the_signature() {
        let sas = Url::parse(
            "https://acct.blob.core.windows.net/ingestion/x?sv=2019-12-12&sr=b&sp=rw&se=2030-01-01T00%3A00%3A00Z&sig=abc%2Bdef%3D",
        )
        .unwrap();
        let shown = url(&sas);
        assert!(
            shown.contains("sv=2019-12-12") && shown.contains("sp=rw"),
            "{shown}"
        );
        assert!(shown.contains("sig=REDACTED"), "{shown}");
        assert!(!shown.contains("abc"), "{shown}");
    }

    #[test]
    fn allow_listed_values_that_smuggle_parameters_are_hidden() {
        let u = Url::parse("https://a/b?sv=2019-12-12&se=2030-01-01T00:00:00Z443/p?sig=S&sr=b")
            .unwrap();
        let shown = url(&u);
        assert!(
            shown.contains("se=REDACTED")
                && shown.contains("sv=2019-12-12")
                && !shown.contains("sig%3DS"),
            "{shown}"
        );
    }

    #[test]
    fn unknown_parameters_and_user_info_are_dropped() {
        let u =
            Url::parse("https://user:pw@h.test/p?continuationToken=secret&pageSize=50").unwrap();
        let shown = url(&u);
        assert_eq!(
            shown,
            "https://h.test/p?continuationToken=REDACTED&pageSize=50"
        );
    }

    #[test]
    fn urls_in_text_are_redacted_whole() {
        let t =
            text("see https://h.test/p?continuationToken=abc&code=xyz#access_token=tok and more");
        assert_eq!(
            t,
            "see https://h.test/p?continuationToken=REDACTED&code=REDACTED#REDACTED and more"
        );
        assert_eq!(single_line("a\r\n  b\tc\u{0}d"), "a b c d");
    }

    #[test]
    fn free_text_loses_signatures_and_tokens() {
        let t = text(
            "failed: PUT https://a/b?sv=1&sig=S3CR3T%3D&se=2 with Bearer eyJ.tok.en and {\"access_token\":\"AT\"}",
        );
        assert!(
            !t.contains("S3CR3T") && !t.contains("eyJ") && !t.contains("\"AT\""),
            "{t}"
        );
        assert!(t.contains("sig=REDACTED&se=2"), "{t}");
        assert_eq!(text("nothing to hide"), "nothing to hide");
    }
}
