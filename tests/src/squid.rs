//! squid, the forward proxy corporate networks run, as the network tests meet it: basic
//! authentication, the service's host names resolved to the simulator (`hosts_file`), one
//! destination denied, nothing cached. From Debian's packages (`tools/squid/packages`),
//! unpacked into the target directory; it runs in the foreground and stops when dropped.

use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The user the proxy accepts.
pub const USER: &str = "hwdc";
/// Its password.
pub const PASSWORD: &str = "hwdc-proxy-password";
/// [`PASSWORD`] as MD5-crypt, which squid's `basic_ncsa_auth` reads (made once with
/// `crypt.crypt(PASSWORD, "$1$hwsimslt$")`).
const PASSWORD_HASH: &str = "$1$hwsimslt$VSzvm94qvigKGSvHu7VLw1";
/// The destination the proxy refuses to tunnel to (403).
pub const DENIED_HOST: &str = "denied.hwsim.test";

/// What to install when squid cannot be had.
const NEED: &str = "the network tests run squid: give this machine apt-get and dpkg-deb so the \
    tests can unpack Debian's packages themselves";

/// A running squid.
pub struct Squid {
    child: Child,
    address: SocketAddr,
    work: PathBuf,
}

impl Drop for Squid {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.work);
    }
}

impl Squid {
    /// Starts squid on `address`, resolving `names` to `target` (the simulator's front), in a
    /// work folder of its own.
    pub fn start(address: SocketAddr, target: &str, names: &[&str]) -> Result<Self, String> {
        let root = crate::debian::unpacked("squid", "usr/sbin/squid", NEED)?;
        let work = std::env::temp_dir().join(format!(
            "hw-squid-{}-{}",
            std::process::id(),
            address.port()
        ));
        let _ = std::fs::remove_dir_all(&work);
        std::fs::create_dir_all(&work).map_err(|e| format!("{}: {e}", work.display()))?;
        // squid started as root runs as `proxy`: its folder and files must be open to it.
        open_to_all(&work, 0o777)?;
        let mut hosts = format!("{target} {DENIED_HOST}");
        for name in names {
            hosts.push(' ');
            hosts.push_str(name);
        }
        write(&work.join("hosts"), &format!("{hosts}\n"))?;
        write(&work.join("passwd"), &format!("{USER}:{PASSWORD_HASH}\n"))?;
        let (r, w) = (root.display(), work.display());
        let config = format!(
            "http_port {address}\n\
             visible_hostname hw-test-proxy\n\
             pid_filename none\n\
             cache_log {w}/cache.log\n\
             access_log stdio:{w}/access.log\n\
             cache deny all\n\
             coredump_dir {w}\n\
             hosts_file {w}/hosts\n\
             dns_nameservers 127.0.0.1\n\
             mime_table {r}/usr/share/squid/mime.conf\n\
             error_directory {r}/usr/share/squid-langpack/templates\n\
             icon_directory {r}/usr/share/squid/icons\n\
             unlinkd_program {r}/usr/lib/squid/unlinkd\n\
             logfile_daemon {r}/usr/lib/squid/log_file_daemon\n\
             auth_param basic program {r}/usr/lib/squid/basic_ncsa_auth {w}/passwd\n\
             auth_param basic realm hw-test\n\
             acl authed proxy_auth REQUIRED\n\
             acl denied dstdomain {DENIED_HOST}\n\
             http_access deny denied\n\
             http_access allow authed\n\
             http_access deny all\n"
        );
        write(&work.join("squid.conf"), &config)?;
        let child = Command::new(root.join("usr/sbin/squid"))
            .args(["-N", "-f"])
            .arg(work.join("squid.conf"))
            .env("LD_LIBRARY_PATH", root.join("usr/lib/x86_64-linux-gnu"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{NEED}: cannot start squid: {e}"))?;
        let mut squid = Self {
            child,
            address,
            work,
        };
        let started = Instant::now();
        while TcpStream::connect(address).is_err() {
            if let Ok(Some(status)) = squid.child.try_wait() {
                return Err(format!("squid stopped ({status}): {}", squid.log()));
            }
            if started.elapsed() > Duration::from_secs(20) {
                return Err(format!(
                    "squid did not listen on {address}: {}",
                    squid.log()
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(squid)
    }

    /// The proxy URL with the credentials it accepts.
    pub fn url(&self) -> String {
        format!("http://{USER}:{PASSWORD}@{}", self.address)
    }

    /// The proxy URL without credentials.
    pub fn url_without_credentials(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The access log so far: one line per request, with its status and destination.
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.work.join("access.log")).unwrap_or_default()
    }

    /// squid's own log.
    fn log(&self) -> String {
        std::fs::read_to_string(self.work.join("cache.log")).unwrap_or_default()
    }
}

fn write(path: &Path, text: &str) -> Result<(), String> {
    std::fs::write(path, text).map_err(|e| format!("{}: {e}", path.display()))?;
    open_to_all(path, 0o644)
}

#[cfg(unix)]
fn open_to_all(path: &Path, mode: u32) -> Result<(), String> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode))
        .map_err(|e| format!("{}: {e}", path.display()))
}

#[cfg(not(unix))]
fn open_to_all(_path: &Path, _mode: u32) -> Result<(), String> {
    Ok(())
}
