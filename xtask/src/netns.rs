//! `cargo xtask netns`: the network tests (`crates/hwdc/tests/real_networks.rs`) where nothing
//! leaves the machine: in a network namespace with only loopback, and a mount namespace whose
//! `/etc/hosts` maps the service's host names to 127.0.0.1 (for `NO_PROXY`), made with
//! util-linux's `unshare` as root or through `sudo -n`. Their squid is installed first, outside
//! (it comes from Debian's packages).

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::{TaskError, fail, run_ok};

/// The test binary and its test that installs squid (outside the namespace).
const TEST: &str = "real_networks";
const INSTALL: &str = "squid_is_installed";

/// The names the namespace's `/etc/hosts` maps to loopback.
const HOSTS: &str = "127.0.0.1 localhost manage.devcenter.microsoft.com login.microsoftonline.com hwsim.blob.core.windows.net denied.hwsim.test\n::1 localhost\n";

/// Builds the tests, installs squid, then runs the ignored network tests one at a time in the
/// namespaces.
pub fn run(root: &Path) -> Result<(), TaskError> {
    if !cfg!(target_os = "linux") {
        return Err(fail("cargo xtask netns needs Linux namespaces"));
    }
    let binary = test_binary(root)?;
    run_ok(
        Command::new(&binary).args([INSTALL, "--exact"]),
        "installing squid",
    )?;
    let hosts = root.join("target/tools/netns/hosts");
    std::fs::create_dir_all(hosts.parent().unwrap_or(root)).map_err(|e| fail(e.to_string()))?;
    std::fs::write(&hosts, HOSTS).map_err(|e| fail(e.to_string()))?;
    let script = "mount --bind \"$0\" /etc/hosts && ip link set lo up && exec \"$1\" --ignored --test-threads 1";
    let mut unshare = if crate::is_root() {
        Command::new("unshare")
    } else if crate::can_sudo() {
        let mut sudo = Command::new("sudo");
        sudo.args(["-n", "--preserve-env", "unshare"]);
        sudo
    } else {
        return Err(fail(
            "cargo xtask netns makes network and mount namespaces: run it as root, or where `sudo -n` works",
        ));
    };
    unshare
        .args(["--net", "--mount", "--", "sh", "-c", script])
        .arg(&hosts)
        .arg(&binary)
        .current_dir(root.join("crates/hwdc"));
    run_ok(&mut unshare, "the network tests")
}

/// Builds the network tests and returns the test binary's path.
fn test_binary(root: &Path) -> Result<PathBuf, TaskError> {
    let output = Command::new(env!("CARGO"))
        .args([
            "test",
            "-p",
            "hwdc",
            "--test",
            TEST,
            "--no-run",
            "--message-format",
            "json",
        ])
        .current_dir(root)
        .output()
        .map_err(|e| fail(format!("cannot run cargo: {e}")))?;
    if !output.status.success() {
        return Err(fail(format!(
            "building the network tests failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .filter_map(|line| serde_json::from_str::<serde_json::Value>(line).ok())
        .filter(|m| m["target"]["name"] == TEST)
        .find_map(|m| m["executable"].as_str().map(PathBuf::from))
        .ok_or_else(|| fail("cargo named no test binary for the network tests"))
}
