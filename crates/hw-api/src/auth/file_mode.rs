//! A warning for a file of secrets that other users can read.

/// Warns when the file at `path`, which holds `what` (a private key, a secret), can be read by
/// other users.
pub fn warn_if_readable_by_others(path: &std::path::Path, what: &str) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path)
            && meta.permissions().mode() & 0o077 != 0
        {
            tracing::warn!(
                "{} holds {what} and can be read by other users; run `chmod 600 {}`",
                path.display(),
                path.display()
            );
        }
    }
    #[cfg(not(unix))]
    let _ = (path, what);
}
