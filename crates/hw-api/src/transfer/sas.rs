//! SAS URLs of blob storage: checked before use, never shown with their signature.

use std::fmt;
use std::time::SystemTime;

use url::Url;

use crate::error::TransferError;
use crate::{origin, redact};

/// What an operation does with a blob, and so the permission its SAS URL must grant.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Access {
    /// Reading it (`sp` has `r`): a download.
    Read,
    /// Writing it (`sp` has `w`): an upload.
    Write,
}

impl Access {
    /// The letter of the permission in a SAS's `sp`.
    fn letter(self) -> char {
        match self {
            Access::Read => 'r',
            Access::Write => 'w',
        }
    }

    fn word(self) -> &'static str {
        match self {
            Access::Read => "read",
            Access::Write => "write",
        }
    }
}

/// A blob SAS URL that passed the checks for an operation: HTTPS (or HTTP on loopback), a blob
/// resource (`sr=b`), the needed permission, and not expired. `Debug` and `Display` redact it.
#[derive(Clone)]
pub struct SasUrl {
    url: Url,
    version: String,
}

impl SasUrl {
    /// Checks `text` for an operation that needs `access`.
    pub fn parse(text: &str, access: Access) -> Result<Self, TransferError> {
        let url = Url::parse(text).map_err(|e| TransferError::Sas {
            url: redact::url_text(text),
            problem: format!("not a URL ({e})"),
        })?;
        let problem = |problem: String| TransferError::Sas {
            url: redact::url(&url),
            problem,
        };
        match url.scheme() {
            "https" => {}
            "http" if origin::is_loopback(&url) => {}
            other => return Err(problem(format!("it must use https, not {other}"))),
        }
        let field = |name: &str| {
            url.query_pairs()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.into_owned())
        };
        if field("sig").is_none_or(|s| s.is_empty()) {
            return Err(problem(
                "it has no signature (sig); get a fresh URL from the submission".into(),
            ));
        }
        if field("sr").as_deref() != Some("b") {
            return Err(problem("it is not for a single blob (sr=b)".into()));
        }
        let permissions = field("sp").unwrap_or_default();
        if !permissions.contains(access.letter()) {
            let need = access.word();
            // Only a permission list is shown: any other value may hold anything (a secret).
            let shown = if permissions.len() <= 16
                && permissions.chars().all(|c| c.is_ascii_alphabetic())
            {
                format!("sp={permissions}")
            } else {
                "its sp is not a permission list".to_owned()
            };
            return Err(problem(format!(
                "it does not grant {need} permission ({shown})"
            )));
        }
        let expiry = field("se").ok_or_else(|| problem("it has no expiry (se)".into()))?;
        match parse_expiry(&expiry) {
            Some(expires) if expires <= SystemTime::now() => {
                return Err(TransferError::Expired {
                    url: redact::url(&url),
                    expiry,
                });
            }
            Some(_) => {}
            None => {
                tracing::warn!(url = %redact::url(&url), "the SAS expiry {expiry:?} is not a date this client reads; the service will decide")
            }
        }
        let version = field("sv").unwrap_or_default();
        Ok(Self { url, version })
    }

    /// The URL with extra query parameters (`comp=block&blockid=…`).
    pub(crate) fn with_query(&self, extra: &[(&str, &str)]) -> Url {
        let mut url = self.url.clone();
        url.query_pairs_mut().extend_pairs(extra);
        url
    }

    /// The URL itself (secret: never log it).
    pub(crate) fn url(&self) -> &Url {
        &self.url
    }

    /// The service version (`sv`), which decides the size limits.
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The URL as it may be shown.
    pub fn redacted(&self) -> String {
        redact::url(&self.url)
    }
}

impl fmt::Debug for SasUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("SasUrl").field(&self.redacted()).finish()
    }
}

impl fmt::Display for SasUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// An expiry as Azure accepts it: `YYYY-MM-DD`, `YYYY-MM-DDThh:mmZ` or `YYYY-MM-DDThh:mm:ssZ`
/// (with optional fractions).
fn parse_expiry(se: &str) -> Option<SystemTime> {
    let se = se.trim();
    let full = match se.len() {
        10 => format!("{se}T00:00:00Z"),
        17 if se.ends_with('Z') => format!("{}:00Z", &se[..16]),
        _ => se.to_owned(),
    };
    humantime::parse_rfc3339_weak(&full).ok()
}

/// The size limits of a service version (Azure's documented limits; `docs/service-notes.md`,
/// "Blob REST rules").
///
/// The simulator keeps its own copy of this table (`hw-sim`'s `BlobLimits`) on purpose: a
/// simulator that shared the client's logic could not catch the client's mistakes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest block.
    pub max_block: u64,
    /// The largest single Put Blob.
    pub max_put_blob: u64,
    /// The most blocks of a blob.
    pub max_blocks: u64,
}

impl Limits {
    /// The limits for SAS version `sv` (dates compare as text).
    pub fn for_version(sv: &str) -> Self {
        const MIB: u64 = 1024 * 1024;
        let (max_block, max_put_blob) = if sv >= "2019-12-12" {
            (4000 * MIB, 5000 * MIB)
        } else if sv >= "2016-05-31" {
            (100 * MIB, 256 * MIB)
        } else {
            (4 * MIB, 64 * MIB)
        };
        Self {
            max_block,
            max_put_blob,
            max_blocks: 50_000,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn future() -> String {
        humantime::format_rfc3339_seconds(SystemTime::now() + std::time::Duration::from_secs(3600))
            .to_string()
    }

    #[test]
    fn good_urls_pass_and_show_no_signature() {
        let text = format!(
            "https://a.blob.core.windows.net/c/b?sv=2019-12-12&sr=b&sp=rw&se={}&sig=SECRETSIG",
            future()
        );
        let sas = SasUrl::parse(&text, Access::Write).unwrap();
        assert_eq!(sas.version(), "2019-12-12");
        assert!(!format!("{sas:?} {sas}").contains("SECRETSIG"));
    }

    #[test]
    fn short_expiry_forms_are_read() {
        assert!(parse_expiry("2030-01-02").is_some());
        assert!(parse_expiry("2030-01-02T03:04Z").is_some());
        assert!(parse_expiry("2030-01-02T03:04:05.1234567Z").is_some());
        assert!(parse_expiry("soon").is_none());
        assert!(
            SasUrl::parse("https://a/c/b?sr=b&sp=r&se=2001-01-01&sig=x", Access::Read).is_err(),
            "expired by date"
        );
    }

    #[test]
    fn each_problem_is_named() {
        let cases = [
            (
                format!("http://a.example/c/b?sv=1&sr=b&sp=rw&se={}&sig=x", future()),
                Access::Write,
                "https",
            ),
            (
                format!("https://a/c/b?sv=1&sr=c&sp=rw&se={}&sig=x", future()),
                Access::Write,
                "single blob",
            ),
            (
                format!("https://a/c/b?sv=1&sr=b&sp=r&se={}&sig=x", future()),
                Access::Write,
                "write permission (sp=r)",
            ),
            (
                // A permission value that is not one is not echoed (found by fuzzing).
                format!(
                    "https://a/c/b?sv=1&sr=b&se={}&sig=x&sp=r%22,u=https://b/?sig=LEAK",
                    future()
                ),
                Access::Write,
                "its sp is not a permission list",
            ),
            (
                "https://a/c/b?sv=1&sr=b&sp=rw&se=2001-01-01T00:00:00Z&sig=x".to_owned(),
                Access::Read,
                "expired",
            ),
            (
                format!("https://a/c/b?sv=1&sr=b&sp=rw&se={}", future()),
                Access::Read,
                "no signature",
            ),
            ("not a url".to_owned(), Access::Read, "not a URL"),
        ];
        for (text, permission, needle) in cases {
            let err = SasUrl::parse(&text, permission).unwrap_err().to_string();
            assert!(err.contains(needle), "{text}: {err}");
            assert!(!err.contains("sig=x") && !err.contains("LEAK"), "{err}");
        }
    }
}
