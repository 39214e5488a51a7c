//! Azurite, Microsoft's Azure Storage emulator, for the transfer tests: installed from npm at the
//! version `tools/azurite/package-lock.json` pins, into the target directory (a cache the project
//! owns), started once per test process on a free loopback port, and given SAS URLs signed with
//! its well-known development key, as the Azure SDK would sign them.
//!
//! Without Node.js and npm these tests fail, saying what to install: they never skip.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::sync::mpsc;
use std::time::{Duration, SystemTime};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::{install_tool, tools_dir, workspace_root};

/// Azurite's development account (the same on every installation).
pub const ACCOUNT: &str = "devstoreaccount1";
/// Azurite's development account key (public, documented by Microsoft).
const ACCOUNT_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
/// The service version of the SAS URLs made here: the one the Hardware API hands out.
pub const SAS_VERSION: &str = "2019-12-12";

/// A running Azurite blob service.
pub struct Azurite {
    /// `http://127.0.0.1:<port>/devstoreaccount1`.
    account_url: String,
    /// Held open for the life of the test process: Azurite ends when it closes.
    _stdin: std::sync::Mutex<ChildStdin>,
    _child: std::sync::Mutex<Child>,
}

/// The Azurite of this test process, installed and started on first use.
pub fn azurite() -> &'static Azurite {
    static AZURITE: OnceLock<Azurite> = OnceLock::new();
    AZURITE.get_or_init(|| match start() {
        Ok(azurite) => azurite,
        Err(why) => panic!("{why}"),
    })
}

impl Azurite {
    /// Creates container `name` (with an account SAS).
    pub async fn create_container(&self, name: &str) {
        let expiry = SystemTime::now() + Duration::from_secs(3600);
        let url = format!(
            "{}/{name}?restype=container&{}",
            self.account_url,
            account_sas(&format_time(expiry))
        );
        let response = reqwest::Client::new()
            .put(url)
            .header("x-ms-version", SAS_VERSION)
            .header("content-length", "0")
            .send()
            .await
            .expect("Azurite answers");
        assert_eq!(
            response.status().as_u16(),
            201,
            "creating container {name}: {}",
            response.text().await.unwrap_or_default()
        );
    }

    /// A service SAS URL of blob `name` in `container` with `permissions` (`r`, `w`, `c`, …),
    /// valid until `expiry`.
    pub fn blob_url(
        &self,
        container: &str,
        name: &str,
        permissions: &str,
        expiry: SystemTime,
    ) -> String {
        let se = format_time(expiry);
        let resource = format!("/blob/{ACCOUNT}/{container}/{name}");
        // The string to sign of service versions 2018-11-09 to 2020-12-05: permissions, start,
        // expiry, resource, identifier, IP, protocol, version, resource type, snapshot time and
        // the five response headers.
        let to_sign = [
            permissions,
            "",
            &se,
            &resource,
            "",
            "",
            "",
            SAS_VERSION,
            "b",
            "",
            "",
            "",
            "",
            "",
            "",
        ]
        .join("\n");
        let query = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("sv", SAS_VERSION)
            .append_pair("sr", "b")
            .append_pair("sp", permissions)
            .append_pair("se", &se)
            .append_pair("sig", &sign(&to_sign))
            .finish();
        format!("{}/{container}/{name}?{query}", self.account_url)
    }
}

/// An account SAS for blob containers and objects (to create containers).
fn account_sas(se: &str) -> String {
    // Account, permissions, services, resource types, start, expiry, IP, protocol, version,
    // and an empty line (versions before 2020-12-06).
    let to_sign = [
        ACCOUNT,
        "rwdlac",
        "b",
        "sco",
        "",
        se,
        "",
        "",
        SAS_VERSION,
        "",
    ]
    .join("\n");
    url::form_urlencoded::Serializer::new(String::new())
        .append_pair("sv", SAS_VERSION)
        .append_pair("ss", "b")
        .append_pair("srt", "sco")
        .append_pair("sp", "rwdlac")
        .append_pair("se", se)
        .append_pair("sig", &sign(&to_sign))
        .finish()
}

fn sign(to_sign: &str) -> String {
    let key = STANDARD
        .decode(ACCOUNT_KEY)
        .expect("the development key is base64");
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).expect("HMAC takes any key length");
    mac.update(to_sign.as_bytes());
    STANDARD.encode(mac.finalize().into_bytes())
}

fn format_time(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

/// What to install when Node.js or npm is missing.
const NEED_NODE: &str = "the Azurite transfer tests need Node.js 18 or later and npm on PATH \
    (https://nodejs.org/en/download, or `apt install nodejs npm` on Debian and Ubuntu, \
    or `winget install OpenJS.NodeJS.LTS` on Windows)";

fn npm() -> Command {
    // npm is a batch file on Windows, which must be named with its extension.
    Command::new(if cfg!(windows) { "npm.cmd" } else { "npm" })
}

/// Installs the pinned Azurite into the target directory unless it is there already; returns
/// the script of its blob service.
fn install() -> Result<PathBuf, String> {
    const MAIN: &str = "node_modules/azurite/dist/src/blob/main.js";
    let source = workspace_root().join("tools/azurite");
    let lock = std::fs::read(source.join("package-lock.json"))
        .map_err(|e| format!("tools/azurite/package-lock.json: {e}"))?;
    let dir = install_tool("azurite", &lock, MAIN, |dir| {
        for file in ["package.json", "package-lock.json"] {
            std::fs::copy(source.join(file), dir.join(file))
                .map_err(|e| format!("copying tools/azurite/{file}: {e}"))?;
        }
        let output = npm()
            .args([
                "ci",
                "--ignore-scripts",
                "--no-audit",
                "--no-fund",
                "--omit=dev",
                "--cache",
            ])
            .arg(tools_dir().join("npm-cache"))
            .current_dir(dir)
            .output()
            .map_err(|e| format!("{NEED_NODE}: running npm failed: {e}"))?;
        if !output.status.success() {
            return Err(format!(
                "installing Azurite with `npm ci` in {} failed ({}):\n{}",
                dir.display(),
                output.status,
                String::from_utf8_lossy(&output.stderr)
            ));
        }
        Ok(())
    })?;
    Ok(dir.join(MAIN))
}

fn start() -> Result<Azurite, String> {
    let node = Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Err(NEED_NODE.to_owned());
    }
    let main = install()?;
    let mut child = Command::new("node")
        .arg(workspace_root().join("tools/azurite/run.js"))
        .arg(&main)
        .args([
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            "0",
            "--inMemoryPersistence",
            "--extentMemoryLimit",
            "1024",
            "--skipApiVersionCheck",
            "--disableTelemetry",
            "--disableProductStyleUrl",
            "--silent",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| format!("{NEED_NODE}: starting node failed: {e}"))?;
    let stdin = child.stdin.take().expect("piped");
    let stdout = child.stdout.take().expect("piped");
    let (found, listening) = mpsc::channel();
    // Reads Azurite's output for the whole run (so its pipe never fills), passing on the
    // address it listens on.
    std::thread::spawn(move || {
        let marker = "successfully listens on ";
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(at) = line.find(marker) {
                let _ = found.send(line[at + marker.len()..].trim().to_owned());
            }
        }
    });
    let origin = listening
        .recv_timeout(Duration::from_secs(60))
        .map_err(|_| {
            let _ = child.kill();
            "Azurite did not say where it listens within 60 s".to_owned()
        })?;
    Ok(Azurite {
        account_url: format!("{origin}/{ACCOUNT}"),
        _stdin: std::sync::Mutex::new(stdin),
        _child: std::sync::Mutex::new(child),
    })
}
