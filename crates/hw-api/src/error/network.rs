//! A request that got no complete answer, without secrets.

/// A request that got no complete answer: what happened, on one line without secrets (reqwest's
/// own level, its URL redacted: it may carry a SAS signature); the causes under it (the
/// connection's, the socket's) follow in `source()`, which [`Report`](crate::Report) prints.
#[derive(Debug)]
pub struct NetworkError {
    description: String,
    /// reqwest's error, without its URL.
    error: Option<reqwest::Error>,
}

impl std::fmt::Display for NetworkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

/// Hand-written rather than derived: the description is reqwest's own level, so the source is
/// what is under it, not reqwest's error again.
impl std::error::Error for NetworkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.as_ref().and_then(std::error::Error::source)
    }
}

impl NetworkError {
    /// The failure `error`.
    pub(crate) fn new(error: reqwest::Error) -> Self {
        let url = error.url().map(crate::redact::url);
        let error = error.without_url();
        let mut description = error.to_string();
        if let Some(url) = url {
            description.push_str(&format!(" ({url})"));
        }
        Self {
            description: crate::wire::clean(&description),
            error: Some(error),
        }
    }

    /// A failure that reqwest did not see (a body cut short).
    pub(crate) fn other(description: impl Into<String>) -> Self {
        Self {
            description: description.into(),
            error: None,
        }
    }

    /// Whether the request timed out.
    pub fn is_timeout(&self) -> bool {
        self.error.as_ref().is_some_and(reqwest::Error::is_timeout)
    }
}
