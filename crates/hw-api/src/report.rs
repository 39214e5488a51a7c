//! Errors as a person should see them: one line, each level of the error and of its causes.
//!
//! Every error of this crate says only its own level in `Display` and keeps its cause in
//! `source()`, as the Rust API guidelines ask; [`Report`] puts the levels together (as the AWS
//! SDK's `DisplayErrorContext` does).

use std::fmt;

/// An error with its causes on one line, `: ` between the levels, secrets redacted: how a
/// person should be shown an error.
///
/// ```
/// let error = std::io::Error::other("the disk is full");
/// assert_eq!(hw_api::Report::new(&error).to_string(), "the disk is full");
/// ```
#[derive(Clone, Copy)]
pub struct Report<'a> {
    error: &'a (dyn std::error::Error + 'a),
}

impl<'a> Report<'a> {
    /// The report of `error`.
    pub fn new(error: &'a (dyn std::error::Error + 'a)) -> Self {
        Self { error }
    }
}

impl fmt::Display for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut line = self.error.to_string();
        let mut last = line.clone();
        let mut cause = self.error.source();
        while let Some(next) = cause {
            let text = next.to_string();
            // Some errors of other crates (`std::io::Error::other`, say) show their inner
            // error as their own text, and give it again as their source.
            if text != last && !text.is_empty() {
                line.push_str(": ");
                line.push_str(&text);
            }
            last = text;
            cause = next.source();
        }
        f.write_str(&crate::wire::clean(&line))
    }
}

impl fmt::Debug for Report<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// [`Report`]'s line, for messages of this crate.
pub(crate) fn chain(error: &dyn std::error::Error) -> String {
    Report::new(error).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("uploading driver.cab")]
    struct Outer(#[source] Inner);

    #[derive(Debug, thiserror::Error)]
    #[error("the connection broke")]
    struct Inner(#[source] std::io::Error);

    #[test]
    fn each_level_is_shown_once_in_order() {
        let error = Outer(Inner(std::io::Error::other("reset by peer")));
        assert_eq!(
            Report::new(&error).to_string(),
            "uploading driver.cab: the connection broke: reset by peer"
        );
        // A level that repeats the one before (as io::Error::other does) is shown once.
        let repeated = std::io::Error::other(Inner(std::io::Error::other("reset")));
        assert_eq!(
            Report::new(&repeated).to_string(),
            "the connection broke: reset"
        );
    }

    #[test]
    fn a_signature_in_any_level_is_redacted() {
        let error = Outer(Inner(std::io::Error::other(
            "GET https://acct.blob.core.windows.net/c/b?sv=2020&sig=SECRETSIG failed",
        )));
        let line = Report::new(&error).to_string();
        assert!(!line.contains("SECRETSIG"), "{line}");
        assert!(
            line.starts_with("uploading driver.cab: the connection broke: GET"),
            "{line}"
        );
    }
}
