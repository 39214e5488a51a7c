//! A temporary directory for a test, removed when dropped.

use std::path::{Path, PathBuf};

/// A fresh directory under the system's temporary directory, removed when dropped.
pub struct Dir(PathBuf);

impl Dir {
    /// Creates `hw-api-test-<name>-<pid>-<nanoseconds>`.
    pub fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or_default();
        let path =
            std::env::temp_dir().join(format!("hw-api-test-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).expect("a temporary directory");
        Self(path)
    }

    /// Where it is.
    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Dir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
