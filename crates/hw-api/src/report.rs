//! Errors as a person should see them: one line, with their causes.

/// An error and its causes on one line, each cause that does not repeat what came before
/// appended after a colon, with secrets redacted: how a person should be shown an error.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut line = error.to_string();
    let mut cause = error.source();
    while let Some(next) = cause {
        let text = next.to_string();
        if !line.contains(&text) {
            line.push_str(": ");
            line.push_str(&text);
        }
        cause = next.source();
    }
    crate::wire::clean(&line)
}
