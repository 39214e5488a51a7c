//! A request that got no complete answer, without secrets.

/// A request that got no complete answer: what happened, on one line without secrets, with
/// reqwest's error (its URL removed: it may carry a SAS signature) as the source when there is
/// one; its own causes (the connection's, the socket's) follow in the `source()` chain, which
/// [`chain`](super::chain) prints.
#[derive(Debug, thiserror::Error)]
#[error("{description}")]
pub struct NetworkError {
    description: String,
    #[source]
    source: Option<reqwest::Error>,
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
            source: Some(error),
        }
    }

    /// A failure that reqwest did not see (a body cut short).
    pub(crate) fn other(description: impl Into<String>) -> Self {
        Self {
            description: description.into(),
            source: None,
        }
    }

    /// Whether the request timed out.
    pub fn is_timeout(&self) -> bool {
        self.source.as_ref().is_some_and(reqwest::Error::is_timeout)
    }
}
