//! What building for Windows from Debian needs: MinGW-w64 and Wine at the versions
//! `tools/windows/packages` pins, and the standard library's sources for `-Zbuild-std`, taken
//! from Debian's `rust-src` at the toolchain's own release.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::{TaskError, fail, run_ok};

/// The pinned packages, as `name=version`, from `tools/windows/packages`.
fn pinned_packages(root: &Path) -> Result<Vec<String>, TaskError> {
    let list = root.join("tools/windows/packages");
    let text =
        std::fs::read_to_string(&list).map_err(|e| fail(format!("{}: {e}", list.display())))?;
    Ok(pins(&text))
}

/// The non-comment lines of a pin file.
fn pins(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The installed version of a Debian package, if any.
fn installed_version(package: &str) -> Option<String> {
    let output = Command::new("dpkg-query")
        .args(["-W", "-f", "${Version}", package])
        .output()
        .ok()?;
    let version = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    (output.status.success() && !version.is_empty()).then_some(version)
}

/// Installs the pinned MinGW and Wine packages that are missing or at another version; the
/// downloaded packages are kept in `cache` (under the target folder).
pub(super) fn install_packages(root: &Path, cache: &Path) -> Result<(), TaskError> {
    let wanted = pinned_packages(root)?;
    let missing: Vec<&String> = wanted
        .iter()
        .filter(|pin| {
            let (name, version) = pin.split_once('=').unwrap_or((pin, ""));
            installed_version(name).as_deref() != Some(version)
        })
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    let shown: Vec<&str> = missing.iter().map(|s| s.as_str()).collect();
    let apt_get = apt_get_command().ok_or_else(|| {
        fail(format!(
            "cargo xtask windows needs these Debian packages, and root or `sudo -n` to install \
             them: apt-get install --no-install-recommends {}",
            shown.join(" ")
        ))
    })?;
    let archives = cache.join("apt-archives");
    std::fs::create_dir_all(archives.join("partial")).map_err(|e| fail(e.to_string()))?;
    let as_root = crate::is_root();
    let install = || {
        let mut apt = apt_get();
        if as_root {
            // The downloads are kept in the project's folder; apt's sandbox user could not
            // write there. Through sudo, apt keeps its own cache (no root-owned files here).
            apt.arg("-o")
                .arg(format!("Dir::Cache::archives={}", archives.display()))
                .args(["-o", "APT::Sandbox::User=root"]);
        }
        apt.args(["install", "-y", "-q", "--no-install-recommends"])
            .args(&shown)
            .env("DEBIAN_FRONTEND", "noninteractive");
        run_ok(&mut apt, "apt-get install")
    };
    println!("installing {}", shown.join(" "));
    if install().is_ok() {
        return Ok(());
    }
    // The package lists may predate the pins.
    run_ok(apt_get().arg("update"), "apt-get update")?;
    install()
}

/// `apt-get`, as root or through `sudo -n`; `None` when neither can install.
fn apt_get_command() -> Option<fn() -> Command> {
    if crate::is_root() {
        Some(|| Command::new("apt-get"))
    } else if crate::can_sudo() {
        Some(|| {
            let mut sudo = Command::new("sudo");
            sudo.args(["-n", "apt-get"]);
            sudo
        })
    } else {
        None
    }
}

/// The toolchain's release, as `rustc -vV` prints it (`1.95.0`).
fn rustc_release() -> Result<String, TaskError> {
    let output = capture(Command::new("rustc").arg("-vV"), "rustc -vV")?;
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("release: "))
        .map(str::to_owned)
        .ok_or_else(|| fail("rustc -vV printed no release line"))
}

/// The toolchain's sysroot.
fn sysroot() -> Result<PathBuf, TaskError> {
    let output = capture(
        Command::new("rustc").args(["--print", "sysroot"]),
        "rustc --print sysroot",
    )?;
    Ok(PathBuf::from(
        String::from_utf8_lossy(&output.stdout).trim(),
    ))
}

/// Runs `command` and returns its output, failing unless it succeeded.
fn capture(command: &mut Command, what: &str) -> Result<Output, TaskError> {
    let output = command
        .output()
        .map_err(|e| fail(format!("cannot run {what}: {e}")))?;
    if output.status.success() {
        Ok(output)
    } else {
        Err(fail(format!(
            "{what} failed ({}): {}",
            output.status,
            String::from_utf8_lossy(&output.stderr).trim()
        )))
    }
}

/// The file, beside the library sources, that says which Debian package they came from.
const STAMP: &str = "hw-api-rust-src-version";

/// The dependency Debian's patch `d-0020-remove-windows-dependencies` removes from the two
/// backtrace manifests; the Windows targets need it back.
const WINDOWS_LINK: &str =
    "\n[target.'cfg(any(windows, target_os = \"cygwin\"))'.dependencies]\nwindows-link = \"0.2\"\n";

/// Makes sure the standard library's sources are where `-Zbuild-std` reads them
/// (`<sysroot>/lib/rustlib/src/rust/library`): rustup's `rust-src` component when installed,
/// else Debian's `rust-src` of the toolchain's release, downloaded into `cache`.
pub(super) fn install_rust_src(root: &Path, cache: &Path) -> Result<(), TaskError> {
    let release = rustc_release()?;
    let src = sysroot()?.join("lib/rustlib/src/rust");
    let library = src.join("library");
    let stamp = std::fs::read_to_string(src.join(STAMP)).ok();
    let complete = library.join("std/Cargo.toml").is_file();
    match sources(stamp.as_deref(), complete, library.exists(), &release) {
        Sources::Ready => return Ok(()),
        Sources::Foreign => {
            return Err(fail(format!(
                "{} holds no standard library sources: remove it, or run \
                 `rustup component add rust-src`",
                library.display()
            )));
        }
        Sources::Install => {}
    }
    let apt = PrivateApt::new(root, cache)?;
    let version = apt.rust_src_version(&release)?;
    let deb = apt.download("rust-src", &version)?;
    println!(
        "installing Debian's rust-src {version} into {}",
        src.display()
    );
    // Unpacked beside its destination, so that the move is a rename.
    let unpacked = src.with_file_name("rust.hw-api-unpacking");
    let _ = std::fs::remove_dir_all(&unpacked);
    std::fs::create_dir_all(&src).map_err(|e| fail(e.to_string()))?;
    run_ok(
        Command::new("dpkg-deb").arg("-x").arg(&deb).arg(&unpacked),
        "dpkg-deb -x rust-src",
    )?;
    let from = unpacked.join("usr/lib/rustlib/src/rust/library");
    // The vendored crates are Debian's build inputs; cargo fetches the library's own pins.
    std::fs::remove_dir_all(from.join("vendor")).map_err(|e| fail(format!("vendor: {e}")))?;
    for manifest in [
        "backtrace/Cargo.toml",
        "backtrace/crates/as-if-std/Cargo.toml",
    ] {
        let path = from.join(manifest);
        let text =
            std::fs::read_to_string(&path).map_err(|e| fail(format!("{}: {e}", path.display())))?;
        if !text.contains("windows-link") {
            std::fs::write(&path, text + WINDOWS_LINK).map_err(|e| fail(e.to_string()))?;
        }
    }
    let _ = std::fs::remove_dir_all(&library);
    std::fs::rename(&from, &library).map_err(|e| fail(format!("{}: {e}", library.display())))?;
    std::fs::write(src.join(STAMP), &version).map_err(|e| fail(e.to_string()))?;
    let _ = std::fs::remove_dir_all(&unpacked);
    Ok(())
}

/// What the sysroot's library sources call for.
#[derive(Debug, PartialEq)]
enum Sources {
    /// Ours for this release, or rustup's component (used as it is, never replaced).
    Ready,
    /// None, or ours for another release: Debian's are installed.
    Install,
    /// A folder that is not ours and holds no library: left alone, the run stops.
    Foreign,
}

/// Decides from the stamp (ours, naming the Debian version), whether the sources are complete,
/// whether the folder exists, and the toolchain's release.
fn sources(stamp: Option<&str>, complete: bool, exists: bool, release: &str) -> Sources {
    match stamp {
        Some(version) if complete && upstream_of(version) == release => Sources::Ready,
        Some(_) => Sources::Install,
        None if complete => Sources::Ready,
        None if exists => Sources::Foreign,
        None => Sources::Install,
    }
}

/// The upstream release of a Debian version: `1.95.0+dfsg1-2~bpo13+1` → `1.95.0`.
fn upstream_of(version: &str) -> &str {
    let version = version.split_once(':').map_or(version, |(_, v)| v);
    version.split(['+', '-', '~']).next().unwrap_or(version)
}

/// apt with its own sources (`tools/windows/rust-src.list`) and state, under the target folder.
struct PrivateApt {
    options: Vec<String>,
    downloads: PathBuf,
}

impl PrivateApt {
    /// Reads the suite's package list into the private state.
    fn new(root: &Path, cache: &Path) -> Result<Self, TaskError> {
        let dir = cache.join("apt-rust-src");
        for sub in [
            "lists/partial",
            "cache/archives/partial",
            "downloads",
            "parts",
        ] {
            std::fs::create_dir_all(dir.join(sub)).map_err(|e| fail(e.to_string()))?;
        }
        let option = |key: &str, path: PathBuf| format!("{key}={}", path.display());
        let options = vec![
            option(
                "Dir::Etc::SourceList",
                root.join("tools/windows/rust-src.list"),
            ),
            option("Dir::Etc::SourceParts", dir.join("parts")),
            option("Dir::State::Lists", dir.join("lists")),
            option("Dir::Cache", dir.join("cache")),
            option("Dir::State::status", dir.join("status")),
            "APT::Sandbox::User=root".to_owned(),
        ];
        std::fs::write(dir.join("status"), "").map_err(|e| fail(e.to_string()))?;
        let apt = Self {
            options,
            downloads: dir.join("downloads"),
        };
        capture(
            apt.command("apt-get").arg("update"),
            "apt-get update (rust-src)",
        )?;
        Ok(apt)
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        for option in &self.options {
            command.arg("-o").arg(option);
        }
        command
    }

    /// The newest `rust-src` of `release`, or an error naming what Debian has.
    fn rust_src_version(&self, release: &str) -> Result<String, TaskError> {
        let output = capture(
            self.command("apt-cache").args(["madison", "rust-src"]),
            "apt-cache madison rust-src",
        )?;
        let listed: Vec<String> = String::from_utf8_lossy(&output.stdout)
            .lines()
            .filter_map(|l| l.split('|').nth(1).map(|v| v.trim().to_owned()))
            .collect();
        // madison lists the newest first.
        listed
            .iter()
            .find(|v| upstream_of(v) == release)
            .cloned()
            .ok_or_else(|| {
                fail(format!(
                    "Debian has no rust-src for this toolchain's release {release} (it has: {}). \
                     Install rustup's component (`rustup component add rust-src`) or a toolchain \
                     of one of those releases",
                    if listed.is_empty() {
                        "none".to_owned()
                    } else {
                        listed.join(", ")
                    }
                ))
            })
    }

    /// Downloads `package` at `version` unless it is there already: the `.deb`'s path.
    fn download(&self, package: &str, version: &str) -> Result<PathBuf, TaskError> {
        let file = format!("{package}_{}_all.deb", version.replace(':', "%3a"));
        let deb = self.downloads.join(&file);
        if !deb.is_file() {
            capture(
                self.command("apt-get")
                    .arg("download")
                    .arg(format!("{package}={version}"))
                    .current_dir(&self.downloads),
                "apt-get download rust-src",
            )?;
        }
        if deb.is_file() {
            Ok(deb)
        } else {
            Err(fail(format!("apt-get download left no {}", deb.display())))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_upstream_release_is_the_version_before_debian_s_suffixes() {
        assert_eq!(upstream_of("1.95.0+dfsg1-2~bpo13+1"), "1.95.0");
        assert_eq!(upstream_of("1:1.95.0~beta.3-1"), "1.95.0");
        assert_eq!(upstream_of("1.95.0"), "1.95.0");
        assert_ne!(upstream_of("1.95.1+dfsg1-1"), "1.95.0");
    }

    #[test]
    fn ours_for_this_release_or_rustup_s_are_used_and_never_replaced() {
        let ours = Some("1.95.0+dfsg1-2~bpo13+1");
        assert_eq!(sources(ours, true, true, "1.95.0"), Sources::Ready);
        assert_eq!(sources(ours, true, true, "1.96.0"), Sources::Install);
        assert_eq!(sources(ours, false, true, "1.95.0"), Sources::Install);
        assert_eq!(sources(None, true, true, "1.95.0"), Sources::Ready);
        assert_eq!(sources(None, false, true, "1.95.0"), Sources::Foreign);
        assert_eq!(sources(None, false, false, "1.95.0"), Sources::Install);
    }

    #[test]
    fn pins_skip_comments_and_blank_lines() {
        assert_eq!(pins("# a\n\n wine64=8.0 \nx=1\n"), ["wine64=8.0", "x=1"]);
    }
}
