//! The names of an archive's entries (`docs/package-rules.md`, "Hostile packages"): a CAB's or
//! a ZIP's entry names are read as relative paths inside the package, and a name that would
//! land outside it, name a drive or a stream, or hold a control character is refused with the
//! entry named, whatever the archive claims.

use std::path::PathBuf;

use crate::driver_package::PackageError;

/// The entry `name` as a path inside the package, its parts joined with `/` (`\` and `/` both
/// separate parts; empty parts are dropped).
pub(crate) fn package_path(name: &str) -> Result<String, PackageError> {
    if name.starts_with(['/', '\\']) {
        return Err(PackageError::AbsoluteName(name.to_owned()));
    }
    let parts: Vec<&str> = name.split(['\\', '/']).filter(|p| !p.is_empty()).collect();
    if parts.iter().any(|p| *p == ".." || *p == ".") {
        return Err(PackageError::OutsideFolder(name.to_owned()));
    }
    // A drive (`C:x.sys`), an NTFS stream (`a.inf:hidden`) or a control character: not a file
    // of the package.
    if parts
        .iter()
        .any(|p| p.contains(':') || p.chars().any(char::is_control))
    {
        return Err(PackageError::BadName(PathBuf::from(name)));
    }
    if parts.is_empty() {
        return Err(PackageError::BadName(PathBuf::from(name)));
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_leave_the_package_are_refused_with_the_entry_named() {
        assert_eq!(package_path("drv\\touch.sys").unwrap(), "drv/touch.sys");
        assert_eq!(package_path("drv//x/touch.sys").unwrap(), "drv/x/touch.sys");
        let refused = [
            ("../evil.sys", "leaves its folder"),
            ("drv/./x.sys", "leaves its folder"),
            ("drv\\..\\..\\x.sys", "leaves its folder"),
            ("/etc/passwd", "absolute"),
            ("\\Windows\\x.sys", "absolute"),
            ("C:x.sys", "cannot hold"),
            ("drv/a.inf:hidden", "cannot hold"),
            ("drv/a\u{0}.sys", "cannot hold"),
            ("//", "absolute"),
        ];
        for (name, why) in refused {
            let error = package_path(name).unwrap_err().to_string();
            assert!(error.contains(why), "{name}: {error}");
            assert!(error.contains(&format!("{name:?}")), "{name}: {error}");
        }
    }
}
