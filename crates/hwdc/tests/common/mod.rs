//! What the tests of the built `hwdc` binary share: scratch directories, runs of the binary with
//! a simulator's settings (and none of the caller's), and their results.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use hw_sim::{SimConfig, SimHandle};
use serde_json::Value;

/// Every variable that could sign hwdc in some other way than a test means: removed from each
/// run, so that the caller's environment (a CI job's OIDC variables, say) never leaks in.
pub(crate) const CREDENTIAL_VARIABLES: &[&str] = &[
    "HWDC_CONFIG",
    "HWDC_CONFIG_DIR",
    "HWDC_PROFILE",
    "HW_AUTH",
    "HW_CLIENT_SECRET",
    "HW_CLIENT_SECRET_FILE",
    "HW_CLIENT_CERTIFICATE_PATH",
    "HW_CLIENT_CERTIFICATE_PASSWORD_FILE",
    "HW_FEDERATED_TOKEN_FILE",
    "HW_SERVICE_CONNECTION_ID",
    "AZURE_TENANT_ID",
    "AZURE_CLIENT_ID",
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PATH",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_FEDERATED_TOKEN_FILE",
    "AZURE_AUTHORITY_HOST",
    "AZURE_POD_IDENTITY_AUTHORITY_HOST",
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN",
    "SYSTEM_OIDCREQUESTURI",
    "SYSTEM_ACCESSTOKEN",
    "AZURESUBSCRIPTION_SERVICE_CONNECTION_ID",
    "IDENTITY_ENDPOINT",
    "IDENTITY_HEADER",
    "MSI_ENDPOINT",
    "MSI_SECRET",
    "HW_MANAGED_IDENTITY_CLIENT_ID",
    "RUST_LOG",
    // The network: the tests choose their proxy and trust, none of the caller's.
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
];

pub(crate) const SECRET: &str = "hw-sim-secret";

/// A scratch directory for one test, removed at the end.
pub(crate) struct Scratch(pub PathBuf);

impl Scratch {
    pub(crate) fn new(name: &str) -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let path =
            std::env::temp_dir().join(format!("hwdc-test-{name}-{}-{nanos}", std::process::id()));
        std::fs::create_dir_all(&path).unwrap();
        Self(path)
    }

    pub(crate) fn file(&self, name: &str, len: usize, head: &[u8]) -> PathBuf {
        let mut bytes: Vec<u8> = (0..len).map(|i| (i * 7 % 253) as u8).collect();
        bytes[..head.len()].copy_from_slice(head);
        let path = self.0.join(name);
        std::fs::write(&path, bytes).unwrap();
        path
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A finished run of the binary.
pub(crate) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub(crate) fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            )
        })
    }

    pub(crate) fn ok(self) -> Self {
        assert_eq!(
            self.code, 0,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }
}

pub(crate) async fn start(config: SimConfig) -> SimHandle {
    hw_sim::start(config).await.unwrap()
}

pub(crate) fn quick() -> SimConfig {
    SimConfig {
        step_duration: Duration::from_millis(20),
        ..SimConfig::default()
    }
}

/// The folder a test's hwdc takes its default configuration file from.
pub(crate) fn config_dir(home: &Path) -> PathBuf {
    home.join(".config").join("hwdc")
}

/// The built binary with none of the caller's settings: its home and configuration folder in
/// `home` (`HWDC_CONFIG_DIR`, since on Windows `HOME` does not move `%APPDATA%`), and no
/// credential variable. Every test runs hwdc through this.
pub(crate) fn bare_command(home: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_hwdc"));
    for var in CREDENTIAL_VARIABLES {
        command.env_remove(var);
    }
    command
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("HWDC_CONFIG_DIR", config_dir(home));
    command
}

/// [`bare_command`] for a run that needs no home: its home is a folder that does not exist.
pub(crate) fn isolated_command() -> Command {
    let nowhere = std::env::temp_dir().join("hwdc-test-no-home");
    assert!(!nowhere.exists(), "{} must not exist", nowhere.display());
    bare_command(&nowhere)
}

/// The command with the simulator's settings in the environment, and nothing else of the
/// caller's configuration.
pub(crate) fn command(sim: &SimHandle, home: &Path) -> Command {
    let app = sim.app().unwrap();
    let mut command = bare_command(home);
    command
        .env("HW_API_BASE_URL", sim.api_url())
        .env("HW_AUTHORITY_HOST", sim.authority_url())
        .env("HW_TENANT_ID", &app.tenant_id)
        .env("HW_CLIENT_ID", &app.client_id)
        .env("HW_CLIENT_SECRET", &app.secret)
        // A metadata service that refuses at once, as off Azure (where it does not answer).
        .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9");
    command
}

/// Starts `command` with its output captured. On Windows it gets a console of its own, without
/// a window (`CREATE_NO_WINDOW`), so that a Ctrl-C sent to it reaches it alone
/// (`tests/interrupt.rs`).
pub(crate) fn spawn(mut command: Command) -> std::process::Child {
    #[cfg(windows)]
    std::os::windows::process::CommandExt::creation_flags(&mut command, 0x0800_0000);
    command
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

/// The run a child process made, once it ends.
pub(crate) async fn finish(child: std::process::Child) -> Run {
    finished(
        tokio::task::spawn_blocking(move || child.wait_with_output().unwrap())
            .await
            .unwrap(),
    )
}

/// Windows' ERROR_INTERNAL_ERROR, which Wine's process creation sometimes returns under load
/// (seen in two CI runs, before hwdc started): the start is tried again.
const WINE_SPAWN_FLAKE: i32 = 1359;

pub(crate) async fn run(mut command: Command, args: &[&str]) -> Run {
    command.args(args);
    finished(
        tokio::task::spawn_blocking(move || {
            let mut tries = 0;
            loop {
                match command.output() {
                    Err(e)
                        if cfg!(windows)
                            && e.raw_os_error() == Some(WINE_SPAWN_FLAKE)
                            && tries < 3 =>
                    {
                        tries += 1;
                        std::thread::sleep(std::time::Duration::from_millis(200));
                    }
                    output => break output.unwrap(),
                }
            }
        })
        .await
        .unwrap(),
    )
}

/// The run a finished process makes.
fn finished(output: Output) -> Run {
    let Output {
        status,
        stdout,
        stderr,
    } = output;
    Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stdout).into_owned(),
        stderr: String::from_utf8_lossy(&stderr).into_owned(),
    }
}

pub(crate) async fn hwdc(sim: &SimHandle, home: &Path, args: &[&str]) -> Run {
    run(command(sim, home), args).await
}

pub(crate) fn id(value: &Value) -> String {
    value["id"].as_u64().unwrap().to_string()
}

/// Creates submission "v1" of `product` with `hwdc submissions create`: its JSON.
pub(crate) async fn create_submission(sim: &SimHandle, home: &Path, product: &str) -> Value {
    let args = [
        "--output",
        "json",
        "submissions",
        "create",
        product,
        "--name",
        "v1",
    ];
    hwdc(sim, home, &args).await.ok().json()
}

/// A signed submission "v1" of a new product of `harness` requesting `signatures`, made with
/// hwdc's commands: the product and submission ids.
pub(crate) async fn signed_submission(
    sim: &SimHandle,
    home: &Path,
    harness: &str,
    signatures: &[&str],
) -> (String, String) {
    let mut args = vec![
        "--output",
        "json",
        "products",
        "create",
        "--name",
        "Signed",
        "--harness",
        harness,
    ];
    for s in signatures {
        args.extend(["--signature", s]);
    }
    let p = id(&hwdc(sim, home, &args).await.ok().json());
    let s = id(&create_submission(sim, home, &p).await);
    let cab = home.join("signed-submission.cab");
    std::fs::write(&cab, b"MSCF and more").unwrap();
    hwdc(sim, home, &["upload", &p, &s, cab.to_str().unwrap()])
        .await
        .ok();
    hwdc(sim, home, &["submissions", "commit", &p, &s])
        .await
        .ok();
    hwdc(
        sim,
        home,
        &["submissions", "wait", &p, &s, "--poll", "0.02"],
    )
    .await
    .ok();
    (p, s)
}

/// How many times the trace at `trace` (one run's `--record`) sent `operation`.
pub(crate) fn sent(trace: &Path, operation: &str) -> usize {
    std::fs::read_to_string(trace)
        .unwrap_or_default()
        .lines()
        .filter(|line| line.contains(&format!("\"operation\":\"{operation}\"")))
        .count()
}

/// The INF of the sample driver package (written by the tests): a complete, valid x64 driver.
pub(crate) const INF: &str = "[Version]\r\n\
Signature=\"$Windows NT$\"\r\n\
Class=System\r\n\
ClassGuid={4d36e97d-e325-11ce-bfc1-08002be10318}\r\n\
Provider=%Contoso%\r\n\
DriverVer=11/30/2026,1.2.3.4\r\n\
CatalogFile=touch.cat\r\n\
PnpLockdown=1\r\n\
[SourceDisksNames]\r\n\
1=%Disk%\r\n\
[SourceDisksFiles]\r\n\
touch.sys=1\r\n\
[Manufacturer]\r\n\
%Contoso%=Touch,NTamd64.10.0...17763\r\n\
[Touch.NTamd64.10.0...17763]\r\n\
%Device%=Install,ACPI\\CTS0001\r\n\
[DestinationDirs]\r\n\
DefaultDestDir=13\r\n\
[Install.NTamd64]\r\n\
CopyFiles=Drivers\r\n\
[Drivers]\r\n\
touch.sys\r\n\
[Install.NTamd64.Services]\r\n\
AddService=touch,0x00000002,Service\r\n\
[Service]\r\n\
ServiceType=1\r\n\
StartType=3\r\n\
ErrorControl=1\r\n\
ServiceBinary=%13%\\touch.sys\r\n\
[Strings]\r\n\
Contoso=\"Contoso\"\r\n\
Disk=\"Disk\"\r\n\
Device=\"Touch\"\r\n";

/// `text` as UTF-16 LE with a byte-order mark.
pub(crate) fn utf16(text: &str) -> Vec<u8> {
    let mut bytes = vec![0xFF, 0xFE];
    bytes.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    bytes
}

/// A driver folder `name` in `parent` with `inf` (as its bytes), its driver binary (64 KiB of
/// varied bytes, so compression has work to do), its catalog and its symbols.
pub(crate) fn driver_folder(parent: &Path, name: &str, inf: &[u8]) -> PathBuf {
    let dir = parent.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("touch.inf"), inf).unwrap();
    let binary: Vec<u8> = (0..65_536u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(dir.join("touch.sys"), binary).unwrap();
    std::fs::write(dir.join("touch.cat"), b"catalog").unwrap();
    std::fs::write(dir.join("touch.pdb"), b"symbols").unwrap();
    dir
}

/// Runs `command` with `args`, writing `input` to its standard input (a pipe, not a terminal).
pub(crate) async fn run_with_input(mut command: Command, args: &[&str], input: &[u8]) -> Run {
    use std::io::Write;
    use std::process::Stdio;
    command
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let input = input.to_vec();
    finished(
        tokio::task::spawn_blocking(move || {
            let mut child = command.spawn().unwrap();
            child.stdin.take().unwrap().write_all(&input).unwrap();
            child.wait_with_output().unwrap()
        })
        .await
        .unwrap(),
    )
}

/// A simulator that takes ten minutes a step, and a committed submission of it: its ids.
pub(crate) async fn a_slow_committed_submission(home: &Scratch) -> (SimHandle, String, String) {
    let sim = start(SimConfig {
        step_duration: Duration::from_secs(600),
        ..SimConfig::default()
    })
    .await;
    let product = sim.add_product("slow").to_string();
    let package = home.file("driver.cab", 1_000, b"PK");
    let created = create_submission(&sim, &home.0, &product).await;
    let s = id(&created);
    hwdc(
        &sim,
        &home.0,
        &["upload", &product, &s, package.to_str().unwrap()],
    )
    .await
    .ok();
    hwdc(&sim, &home.0, &["submissions", "commit", &product, &s])
        .await
        .ok();
    (sim, product, s)
}

/// A submit of a package whose every path holds spaces, and on Windows a drive letter (the
/// temporary folder's): its arguments, its journal and its output.
pub(crate) struct SpacedSubmit {
    args: Vec<String>,
    /// The journal beside the package.
    pub journal: PathBuf,
    out: PathBuf,
}

impl SpacedSubmit {
    pub(crate) fn new(home: &Scratch, product: &str) -> Self {
        let folder = home.0.join("Driver Builds");
        let out = home.0.join("Signed Output").join("touch pad.cab");
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::create_dir_all(out.parent().unwrap()).unwrap();
        let package = folder.join("touch pad.cab");
        std::fs::write(&package, [b"PK".as_slice(), &[7; 30_000]].concat()).unwrap();
        if cfg!(windows) {
            assert_eq!(package.to_str().unwrap().as_bytes()[1], b':', "{package:?}");
        }
        let args = [
            "--output",
            "json",
            "submit",
            "--no-check",
            package.to_str().unwrap(),
            "--create-product",
            product,
            "--name",
            "1.0",
            "--out",
            out.to_str().unwrap(),
            "--poll",
            "0.05",
        ];
        Self {
            args: args.iter().map(|a| a.to_string()).collect(),
            journal: folder.join("touch pad.cab.hwdc.json"),
            out,
        }
    }

    pub(crate) fn args(&self) -> Vec<&str> {
        self.args.iter().map(String::as_str).collect()
    }

    /// Starts it, and returns once Microsoft is signing what it committed.
    pub(crate) async fn start_until_signing(
        &self,
        sim: &SimHandle,
        home: &Scratch,
    ) -> std::process::Child {
        let mut first = command(sim, &home.0);
        first.args(&self.args);
        let child = spawn(first);
        while sim.requests("commitSubmission") == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let before = sim.requests("getSubmission");
        while sim.requests("getSubmission") == before {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        child
    }

    /// Checks that it ended with the signed package and one product and submission.
    pub(crate) fn check_finished(&self, sim: &SimHandle, result: &Value) {
        assert_eq!(sim.product_count(), 1);
        assert_eq!(sim.requests("createSubmission"), 1);
        assert_eq!(
            result["bytes"].as_u64(),
            Some(std::fs::metadata(&self.out).unwrap().len())
        );
        assert_finished(&self.journal);
    }
}

/// Checks that `journal` is kept, marked finished (it holds the signed package's SHA-256), with
/// no lock and no temporary file of a save beside it: a run of the same work reports the
/// delivery again instead of making a second submission.
pub(crate) fn assert_finished(journal: &Path) {
    let text = std::fs::read(journal)
        .unwrap_or_else(|e| panic!("the finished journal {} is kept: {e}", journal.display()));
    let state: Value = serde_json::from_slice(&text).unwrap();
    assert!(
        state["downloadedSha256"]
            .as_str()
            .is_some_and(|s| s.len() == 64),
        "{state}"
    );
    let name = journal.file_name().unwrap().to_string_lossy().into_owned();
    let beside: Vec<String> = std::fs::read_dir(journal.parent().unwrap())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(&name) && *n != name)
        .collect();
    assert!(beside.is_empty(), "left beside the journal: {beside:?}");
}

/// A simulator whose every workflow step takes 300 ms.
pub(crate) fn signing_slowly() -> SimConfig {
    SimConfig {
        step_duration: Duration::from_millis(300),
        ..SimConfig::default()
    }
}

/// The schema `docs/schemas/NAME.json`, compiled.
pub(crate) fn schema(name: &str) -> jsonschema::Validator {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs/schemas")
        .join(format!("{name}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::validator_for(&schema).unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// Fails unless `value` validates against the schema `name`.
pub(crate) fn validates(name: &str, value: &Value) {
    let errors: Vec<String> = schema(name)
        .iter_errors(value)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{name}: {errors:#?}\n{value:#}");
}
