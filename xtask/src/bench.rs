//! `cargo xtask bench`, `soak` and `fuzz`: release builds of `hw-bench` and `hw-sim`, run as
//! separate processes so that each is measured on its own, side by side in one run.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use crate::TaskError;

fn fail(message: impl Into<String>) -> TaskError {
    TaskError(message.into())
}

/// Builds the release binaries and returns the target directory.
fn build(root: &Path) -> Result<PathBuf, TaskError> {
    let status = Command::new(env!("CARGO"))
        .args([
            "build",
            "--release",
            "-p",
            "hw-bench",
            "-p",
            "hw-sim",
            "-p",
            "hwdc",
            "--quiet",
        ])
        .current_dir(root)
        .status()
        .map_err(|e| fail(format!("cannot run cargo: {e}")))?;
    if !status.success() {
        return Err(fail("the release build failed"));
    }
    Ok(root.join("target/release"))
}

/// Runs `hw-bench` with `args` (long runs: soak and fuzz), streaming its output.
pub fn run_hw_bench(root: &Path, args: &[String]) -> Result<(), TaskError> {
    let bin = build(root)?;
    let status = Command::new(bin.join("hw-bench"))
        .args(args)
        .status()
        .map_err(|e| fail(e.to_string()))?;
    if status.success() {
        Ok(())
    } else {
        Err(fail(format!("hw-bench {} failed", args.join(" "))))
    }
}

/// A running simulator, stopped when dropped.
pub(crate) struct Sim {
    child: Child,
    /// The API base URL.
    pub(crate) base: String,
    /// The token endpoint's authority, for clients that sign in (hwdc).
    authority: String,
}

impl Sim {
    /// Starts `bin/hw-sim` with `args`; its API accepts the static token `bench`.
    pub(crate) fn start(bin: &Path, args: &[&str]) -> Result<Self, TaskError> {
        let mut child = Command::new(bin.join("hw-sim"))
            .args(["--addr", "127.0.0.1:0", "--static-token", "bench"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| fail(format!("cannot start hw-sim: {e}")))?;
        let stdout = child.stdout.take().ok_or_else(|| fail("no stdout"))?;
        let mut lines = BufReader::new(stdout).lines();
        let (mut base, mut authority) = (None, None);
        while base.is_none() || authority.is_none() {
            let line = lines
                .next()
                .ok_or_else(|| fail("hw-sim stopped"))?
                .map_err(|e| fail(e.to_string()))?;
            if let Some(url) = line.trim().strip_prefix("API base URL:") {
                base = Some(url.trim().to_owned());
            } else if let Some(url) = line.trim().strip_prefix("authority:") {
                authority = Some(url.trim().to_owned());
            }
        }
        // Keep reading: a closed pipe would make the simulator's next line fail.
        std::thread::spawn(move || lines.for_each(drop));
        Ok(Self {
            child,
            base: base.unwrap_or_default(),
            authority: authority.unwrap_or_default(),
        })
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One measured run: wall time seen from outside, and what the program reported.
#[derive(Clone, Debug, Default)]
struct Sample {
    seconds: f64,
    peak_rss_kib: Option<u64>,
}

fn measure(command: &mut Command) -> Result<(Sample, String), TaskError> {
    let started = Instant::now();
    let output = command
        .output()
        .map_err(|e| fail(format!("cannot run {}: {e}", shown(command))))?;
    let seconds = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    if !output.status.success() {
        return Err(fail(format!(
            "{} failed: {}{}",
            shown(command),
            stdout,
            String::from_utf8_lossy(&output.stderr)
        )));
    }
    let rss = serde_json::from_str::<serde_json::Value>(stdout.trim())
        .ok()
        .and_then(|v| v["peak_rss_kib"].as_u64());
    Ok((
        Sample {
            seconds,
            peak_rss_kib: rss,
        },
        stdout,
    ))
}

/// A command as shown in messages: its program and subcommand, never its arguments (a SAS URL
/// or a token).
fn shown(command: &Command) -> String {
    let program = Path::new(command.get_program())
        .file_name()
        .unwrap_or_default()
        .to_string_lossy()
        .into_owned();
    match command.get_args().next() {
        Some(sub) if !sub.to_string_lossy().starts_with('-') => {
            format!("{program} {}", sub.to_string_lossy())
        }
        _ => program,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(f64::NAN)
}

/// A named command to time.
type Variant = (&'static str, Command);

/// Runs each variant `runs` times, interleaved, and returns the median seconds and the
/// largest peak RSS of each.
fn compare(
    runs: usize,
    variants: &mut [Variant],
) -> Result<Vec<(String, f64, Option<u64>)>, TaskError> {
    let mut samples: Vec<Vec<Sample>> = vec![Vec::new(); variants.len()];
    for _ in 0..runs {
        for (i, (_, command)) in variants.iter_mut().enumerate() {
            samples[i].push(measure(command)?.0);
        }
    }
    Ok(variants
        .iter()
        .zip(samples)
        .map(|((name, _), s)| {
            let rss = s.iter().filter_map(|x| x.peak_rss_kib).max();
            (
                (*name).to_owned(),
                median(s.iter().map(|x| x.seconds).collect()),
                rss,
            )
        })
        .collect())
}

/// A `hw-bench` command with `args`.
fn hw_bench(bin: &Path, args: &[&str]) -> Command {
    let mut command = Command::new(bin.join("hw-bench"));
    command.args(args);
    command
}

const PYTHON_P1: &str = r#"
import sys, requests
base, token = sys.argv[1], sys.argv[2]
session = requests.Session()
session.headers["Authorization"] = "Bearer " + token
url, items = base + "/hardware/products", 0
while url:
    page = session.get(url).json()
    items += len(page["value"])
    url = next((l["href"] for l in page.get("links", []) if l.get("rel") == "next_link"), None)
print(items)
"#;

fn python_requests() -> bool {
    let works = || {
        Command::new("python3")
            .args(["-c", "import requests"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    if works() {
        return true;
    }
    let _ = Command::new("python3")
        .args(["-m", "pip", "install", "--quiet", "requests"])
        .status();
    works()
}

/// What every benchmark shares: the binaries, a scratch directory and the report.
struct Bench {
    bin: PathBuf,
    work: PathBuf,
    runs: usize,
    report: String,
}

impl Bench {
    /// A bench of `runs` runs per variant, the release binaries built, its work folder made.
    fn new(root: &Path, runs: usize) -> Result<Self, TaskError> {
        let work = root.join("target/bench");
        std::fs::create_dir_all(&work).map_err(|e| fail(e.to_string()))?;
        Ok(Self {
            bin: build(root)?,
            work,
            runs,
            report: String::new(),
        })
    }

    /// Prints `text` and adds it to the report.
    fn line(&mut self, text: String) {
        println!("{text}");
        self.report.push_str(&text);
        self.report.push('\n');
    }
}

/// `cargo xtask bench --fleet [--quick]`: P9 alone; the full size writes its block of
/// BENCHMARKS.md.
pub fn run_fleet(root: &Path, quick: bool) -> Result<(), TaskError> {
    let mut b = Bench::new(root, 1)?;
    fleet(&mut b, if quick { 20 } else { 200 })?;
    if !quick {
        write_block(root, FLEET_START, FLEET_END, &b.report)?;
    }
    Ok(())
}

/// `cargo xtask bench [--quick]`: P1–P9; the full run writes BENCHMARKS.md.
pub fn run(root: &Path, quick: bool) -> Result<(), TaskError> {
    let mut b = Bench::new(root, if quick { 1 } else { 5 })?;
    paging(&mut b, if quick { 10_000 } else { 100_000 })?;
    transfer(&mut b, if quick { 64 } else { 1024 })?;
    long_link(&mut b, if quick { 32 } else { 256 })?;
    slow_uplink(&mut b, if quick { 2 } else { 64 })?;
    fan_out(&mut b)?;
    if quick {
        return Ok(());
    }
    write_block(root, RESULTS_START, RESULTS_END, &b.report)?;
    let mut fleet_report = Bench {
        report: String::new(),
        runs: 1,
        ..b
    };
    fleet(&mut fleet_report, 200)?;
    write_block(root, FLEET_START, FLEET_END, &fleet_report.report)?;
    let report = build_cost(root, BUILD_RUNS)?;
    write_block(root, BUILD_START, BUILD_END, &report)
}

/// Writes `report` between `start` and `end` in BENCHMARKS.md, with the machine it ran on.
fn write_block(root: &Path, start: &str, end: &str, report: &str) -> Result<(), TaskError> {
    let path = root.join("BENCHMARKS.md");
    let measured = format!(
        "Measured by `cargo xtask bench` on {} cores ({}).\n\n{}",
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(0),
        std::env::consts::ARCH,
        report
    );
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    std::fs::write(&path, with_block(&current, start, end, &measured))
        .map_err(|e| fail(e.to_string()))?;
    println!("written to {}", path.display());
    Ok(())
}

/// The quota of P9, per minute.
const FLEET_QUOTA: u32 = 600;

/// One P9 run: `entries` flows, 16 at once, against a fresh simulator with a quota of
/// `quota` requests a minute.
fn fleet_run(
    b: &Bench,
    entries: usize,
    unpaced: bool,
    quota: u32,
) -> Result<serde_json::Value, TaskError> {
    let sim = Sim::start(
        &b.bin,
        &[
            "--rate-limit",
            &quota.to_string(),
            "--step-ms",
            "100",
            "--products",
            "0",
        ],
    )?;
    let work = b.work.join(if unpaced {
        "fleet-unpaced"
    } else {
        "fleet-adaptive"
    });
    let entries = entries.to_string();
    let mut args = vec![
        "fleet",
        "--base",
        &sim.base,
        "--token",
        "bench",
        "--entries",
        &entries,
        "--concurrency",
        "16",
        "--work",
    ];
    let work = work.to_string_lossy().into_owned();
    args.push(&work);
    if unpaced {
        args.push("--unpaced");
    }
    let (_, stdout) = measure(&mut hw_bench(&b.bin, &args))?;
    serde_json::from_str(stdout.trim()).map_err(|e| fail(format!("hw-bench fleet: {e}: {stdout}")))
}

/// P9: `entries` small submits under a quota of 600 requests a minute, with the client's
/// adaptive rate and without it (concurrency 16, each request honouring its own Retry-After);
/// and the adaptive client's peak RSS at half the entries and at all of them, under a quota
/// a hundred times larger (the memory does not depend on the pace; only the runs' length does).
fn fleet(b: &mut Bench, entries: usize) -> Result<(), TaskError> {
    let per_second = f64::from(FLEET_QUOTA) / 60.0;
    b.line(format!(
        "## P9 {entries} small submits under a quota of {FLEET_QUOTA} requests a minute, 16 at once\n"
    ));
    b.line("| variant | seconds | API requests | 429s | 429 share | seconds / ideal | failed |\n|---|---|---|---|---|---|---|".into());
    let mut shares = Vec::new();
    for (name, unpaced) in [
        ("adaptive shared rate", false),
        ("unpaced, per-request Retry-After", true),
    ] {
        let m = fleet_run(b, entries, unpaced, FLEET_QUOTA)?;
        let number = |key: &str| m[key].as_f64().unwrap_or(0.0);
        let (seconds, requests, throttled) =
            (number("seconds"), number("requests"), number("throttled"));
        // The quota's ideal: the requests it let through, at its rate.
        let ideal = (requests - throttled) / per_second;
        shares.push(throttled / requests.max(1.0));
        b.line(format!(
            "| {name} | {seconds:.1} | {requests} | {throttled} | {:.1}% | **{:.2}×** | {} |",
            100.0 * throttled / requests.max(1.0),
            seconds / ideal.max(f64::MIN_POSITIVE),
            m["failed"]
        ));
    }
    b.line("\nTargets: adaptive seconds / ideal ≤ 1.15× (ideal: the requests the quota let through ÷ its rate), 429s ≤ 5% of requests.".into());
    // A peak depends on how the sixteen flows happen to overlap: a median of five runs each,
    // interleaved.
    let fast = FLEET_QUOTA * 100;
    let (mut half, mut full) = (Vec::new(), Vec::new());
    for _ in 0..5 {
        half.push(fleet_run(b, (entries / 2).max(1), false, fast)?["peak_rss_kib"].as_u64());
        full.push(fleet_run(b, entries, false, fast)?["peak_rss_kib"].as_u64());
    }
    let median = |runs: Vec<Option<u64>>| -> Option<u64> {
        let mut runs: Vec<u64> = runs.into_iter().collect::<Option<_>>()?;
        runs.sort_unstable();
        runs.get(runs.len() / 2).copied().filter(|r| *r > 0)
    };
    match (median(half), median(full)) {
        (Some(half_rss), Some(full_rss)) => b.line(format!(
            "Adaptive client's peak RSS (quota {fast} a minute, median of 5): {full_rss} KiB at {entries} entries, {half_rss} KiB at {}: **{:+.1}%** (memory flat: target a growth of at most 10%)\n",
            (entries / 2).max(1),
            (full_rss as f64 / half_rss as f64 - 1.0) * 100.0
        )),
        _ => b.line("The client's peak RSS cannot be read on this system (no /proc).\n".into()),
    }
    Ok(())
}

/// The peak RSS of a command's own process, in KiB: its `VmHWM`, read every 5 ms until it exits
/// (Linux only; `None` elsewhere), so a peak in its last 5 ms is missed: a list's steady state is
/// what is measured. Its output goes nowhere, its errors to `stderr`.
fn peak_rss_of(command: &mut Command, stderr: &Path) -> Result<Option<u64>, TaskError> {
    let errors = std::fs::File::create(stderr).map_err(|e| fail(e.to_string()))?;
    let mut child = command
        .stdout(Stdio::null())
        .stderr(errors)
        .spawn()
        .map_err(|e| fail(format!("cannot run {}: {e}", shown(command))))?;
    let status = format!("/proc/{}/status", child.id());
    let mut peak = None;
    loop {
        if let Some(exit) = child.try_wait().map_err(|e| fail(e.to_string()))? {
            if !exit.success() {
                let said = std::fs::read_to_string(stderr).unwrap_or_default();
                return Err(fail(format!("{} failed ({exit}): {said}", shown(command))));
            }
            return Ok(peak);
        }
        let read = std::fs::read_to_string(&status).ok().and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        });
        peak = read.or(peak);
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
}

/// P8: `hwdc products list --output json` (to /dev/null) against the pager alone, both over
/// every product; and hwdc's peak RSS at a tenth of the list and at all of it.
fn cli_listing(b: &mut Bench, sim: &Sim, products: u64) -> Result<(), TaskError> {
    let cli = |limit: Option<u64>| {
        let mut c = Command::new(b.bin.join("hwdc"));
        c.args(["--output", "json", "--no-progress", "products", "list"]);
        if let Some(limit) = limit {
            c.args(["--limit", &limit.to_string()]);
        }
        c.env("HW_API_BASE_URL", &sim.base)
            .env("HW_AUTHORITY_HOST", &sim.authority)
            .env("HW_TENANT_ID", "hw-sim-tenant")
            .env("HW_CLIENT_ID", "hw-sim-client")
            .env("HW_CLIENT_SECRET", "hw-sim-secret")
            .env("HW_AUTH", "secret")
            // No profile: an empty configuration directory.
            .env("HOME", b.work.join("home"))
            .env("XDG_CONFIG_HOME", b.work.join("home"))
            // On Windows only this moves the folder (%APPDATA% is the shell's, not the variable's).
            .env("HWDC_CONFIG_DIR", b.work.join("home/hwdc"))
            .env_remove("HWDC_CONFIG")
            .env_remove("HWDC_PROFILE")
            .stdout(Stdio::null());
        c
    };
    let pager = hw_bench(&b.bin, &["list", "--base", &sim.base, "--token", "bench"]);
    let mut variants: Vec<Variant> = vec![
        ("hw-api pager", pager),
        ("hwdc products list --output json", cli(None)),
    ];
    let p8 = compare(b.runs, &mut variants)?;
    let stderr = b.work.join("p8-stderr.txt");
    let rss_small = peak_rss_of(&mut cli(Some(products / 10)), &stderr)?;
    let rss_full = peak_rss_of(&mut cli(None), &stderr)?;
    b.line(format!(
        "## P8 `hwdc products list --output json`: {products} products, median of {}\n",
        b.runs
    ));
    b.line("| variant | seconds |\n|---|---|".into());
    for (name, seconds, _) in &p8 {
        b.line(format!("| {name} | {seconds:.3} |"));
    }
    b.line(format!(
        "\nhwdc / pager: **{:.2}×** (target ≤ 1.5×)",
        p8[1].1 / p8[0].1
    ));
    match (rss_small, rss_full) {
        (Some(small), Some(full)) => b.line(format!(
            "hwdc peak RSS at {products}: {full} KiB; at {}: {small} KiB: **{:+.1}%** (memory flat: target within 10%)\n",
            products / 10,
            (full as f64 / small.max(1) as f64 - 1.0) * 100.0
        )),
        _ => b.line("hwdc's peak RSS cannot be read on this system (no /proc).\n".into()),
    }
    Ok(())
}

/// P1: every page of `products` products through the pager, against a bare loop and Python.
fn paging(b: &mut Bench, products: u64) -> Result<(), TaskError> {
    let sim = Sim::start(&b.bin, &["--products", &products.to_string()])?;
    let hw = |limit: Option<u64>| {
        let mut c = hw_bench(&b.bin, &["list", "--base", &sim.base, "--token", "bench"]);
        if let Some(limit) = limit {
            c.args(["--limit", &limit.to_string()]);
        }
        c
    };
    let python = python_requests();
    let script = b.work.join("p1.py");
    std::fs::write(&script, PYTHON_P1).map_err(|e| fail(e.to_string()))?;
    let base = sim.base.as_str();
    let mut variants: Vec<Variant> = vec![
        ("hw-api pager", hw(None)),
        (
            "reqwest + serde_json loop (floor)",
            hw_bench(
                &b.bin,
                &["list", "--floor", "--base", base, "--token", "bench"],
            ),
        ),
    ];
    if python {
        let mut c = Command::new("python3");
        c.arg(&script).args([base, "bench"]);
        variants.push(("Python requests loop", c));
    }
    let p1 = compare(b.runs, &mut variants)?;
    let rss_small = measure(&mut hw(Some(products / 10)))?
        .0
        .peak_rss_kib
        .unwrap_or(0);
    let rss_full = measure(&mut hw(None))?.0.peak_rss_kib.unwrap_or(0);

    b.line(format!(
        "## P1 paging: {products} products ({} pages of 50), median of {}\n",
        products / 50,
        b.runs
    ));
    b.line("| variant | seconds | peak RSS |\n|---|---|---|".into());
    for (name, seconds, rss) in &p1 {
        b.line(format!(
            "| {name} | {seconds:.3} | {} |",
            rss.map(|r| format!("{} MiB", r / 1024))
                .unwrap_or_else(|| "-".into())
        ));
    }
    let ratio = p1[0].1 / p1[1].1;
    b.line(format!(
        "\nhw-api / floor: **{ratio:.2}×** (target ≤ 1.10×)"
    ));
    match p1.get(2) {
        Some(py) => b.line(format!(
            "Python / hw-api: **{:.1}×** faster (target ≥ 3×)",
            py.1 / p1[0].1
        )),
        None => b.line(
            "Python with requests is not available here: that comparison was skipped.".into(),
        ),
    }
    b.line(format!(
        "peak RSS at {products}: {} KiB; at {}: {rss_small} KiB: **{:+.1}%** (target within 10%)\n",
        rss_full,
        products / 10,
        (rss_full as f64 / rss_small.max(1) as f64 - 1.0) * 100.0
    ));
    cli_listing(b, &sim, products)
}

/// P2 and P3: a package of `size_mib` MiB up and down, against curl.
fn transfer(b: &mut Bench, size_mib: u64) -> Result<(), TaskError> {
    transfer_over(b, size_mib, None)
}

/// P6: P2 and P3 over a long, fat link (40 ms, 100 Mbit/s per connection), where hw-api's
/// parallel blocks beat curl's one connection.
fn long_link(b: &mut Bench, size_mib: u64) -> Result<(), TaskError> {
    transfer_over(b, size_mib, Some("40:100"))
}

/// P7: an upload over a 2 Mbit/s uplink shared by all connections, against the link's ideal
/// time.
fn slow_uplink(b: &mut Bench, size_mib: u64) -> Result<(), TaskError> {
    let sim = Sim::start(
        &b.bin,
        &[
            "--products",
            "1",
            "--max-blob-mib",
            &(size_mib + 64).to_string(),
            "--link",
            "100:100",
            "--link-total",
            "2",
        ],
    )?;
    let mut prepare = hw_bench(
        &b.bin,
        &["prepare", "--base", &sim.base, "--token", "bench"],
    );
    let sas = measure(&mut prepare)?.1.trim().to_owned();
    let package = b.work.join("uplink.bin");
    write_package(&package, size_mib)?;
    let mut upload = hw_bench(&b.bin, &["upload", "--sas", &sas, "--file"]);
    upload.arg(&package);
    let results = compare(1, &mut [("hw-api upload", upload)])?;
    drop(sim);
    let _ = std::fs::remove_file(&package);
    let ideal = (size_mib * 1024 * 1024) as f64 * 8.0 / 2e6;
    let (_, seconds, rss) = &results[0];
    b.line(format!(
        "## P7 upload over a 2 Mbit/s uplink (100 ms, shared by all connections): {size_mib} MiB\n\n\
         completed in {seconds:.1} s; the link's ideal is {ideal:.1} s: **{:.2}×** the ideal \
         (target ≤ 1.3×); peak RSS {}\n",
        seconds / ideal,
        rss.map(|r| format!("{} MiB", r / 1024)).unwrap_or_else(|| "-".into())
    ));
    Ok(())
}

/// P2 and P3 (or, over `link`, P6): hw-api against curl, up and down.
fn transfer_over(b: &mut Bench, size_mib: u64, link: Option<&str>) -> Result<(), TaskError> {
    let curl = Command::new("curl")
        .arg("--version")
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !curl {
        b.line(
            "## P2 and P3\n\ncurl is not available here: both comparisons were skipped.\n".into(),
        );
        return Ok(());
    }
    let blob_mib = (size_mib + 64).to_string();
    let mut sim_args = vec!["--products", "1", "--max-blob-mib", &blob_mib];
    if let Some(link) = link {
        sim_args.extend(["--link", link]);
    }
    let sim = Sim::start(&b.bin, &sim_args)?;
    let mut prepare = hw_bench(
        &b.bin,
        &["prepare", "--base", &sim.base, "--token", "bench"],
    );
    let sas = measure(&mut prepare)?.1.trim().to_owned();
    let package = b.work.join("package.bin");
    write_package(&package, size_mib)?;
    let mut upload = hw_bench(&b.bin, &["upload", "--sas", &sas, "--file"]);
    upload.arg(&package);
    let mut curl_up = Command::new("curl");
    curl_up
        .args([
            "-sS",
            "-f",
            "-o",
            "/dev/null",
            "-H",
            "x-ms-blob-type: BlockBlob",
            "-T",
        ])
        .arg(&package)
        .arg(&sas);
    // curl's Put Blob runs last, so the blob P3 reads has an MD5 to check against.
    let p2 = compare(
        b.runs.min(3),
        &mut [("hw-api upload", upload), ("curl -T", curl_up)],
    )?;
    let out = b.work.join("download.bin");
    let mut download = hw_bench(&b.bin, &["download", "--sas", &sas, "--out"]);
    download.arg(&out);
    let mut curl_down = Command::new("curl");
    curl_down.args(["-sS", "-f", "-o"]).arg(&out).arg(&sas);
    // What the MD5 check costs, and the like-for-like comparison: curl, then the same check.
    let mut unchecked = hw_bench(&b.bin, &["download", "--no-verify", "--sas", &sas, "--out"]);
    unchecked.arg(&out);
    let mut curl_md5 = Command::new("sh");
    curl_md5
        .args([
            "-c",
            "curl -sS -f -o \"$1\" \"$2\" && md5sum \"$1\" >/dev/null",
            "sh",
        ])
        .arg(&out)
        .arg(&sas);
    // The floor of any checked download: MD5 over the file alone (it is in the page cache).
    let mut md5_alone = Command::new("md5sum");
    md5_alone.arg(&package);
    let p3 = compare(
        b.runs.min(3),
        &mut [
            ("hw-api download", download),
            ("curl -o", curl_down),
            ("hw-api download, MD5 check off", unchecked),
            ("curl -o, then md5sum", curl_md5),
            ("md5sum of the file alone", md5_alone),
        ],
    )?;
    drop(sim);
    let mib = size_mib as f64;
    let (up, down, up_target, down_target) = match link {
        None => (
            "P2 upload".to_owned(),
            "P3 download".to_owned(),
            "hw-api ≥ 1.0× curl's throughput; peak RSS ≤ 64 MiB",
            "hw-api ≥ 1.0× curl's throughput; peak RSS ≤ 64 MiB",
        ),
        Some(link) => (
            format!("P6 upload over --link {link}"),
            format!("P6 download over --link {link}"),
            "hw-api ≥ 3× curl's throughput; peak RSS ≤ 64 MiB",
            "hw-api ≥ 3× curl's throughput; peak RSS ≤ 64 MiB",
        ),
    };
    for (title, results, target) in [(up, &p2, up_target), (down, &p3, down_target)] {
        b.line(format!(
            "## {title}: {size_mib} MiB, median of {}\n",
            b.runs.min(3)
        ));
        b.line("| variant | seconds | MiB/s | peak RSS |\n|---|---|---|---|".into());
        for (name, seconds, rss) in results.iter() {
            b.line(format!(
                "| {name} | {seconds:.3} | {:.0} | {} |",
                mib / seconds,
                rss.map(|r| format!("{} MiB", r / 1024))
                    .unwrap_or_else(|| "-".into())
            ));
        }
        b.line(format!(
            "\nhw-api throughput / curl: **{:.2}×** (target: {target})\n",
            results[1].1 / results[0].1
        ));
    }
    b.line(format!(
        "Without the MD5 check, hw-api throughput / curl: **{:.2}×**. With it, against curl followed by md5sum (the same work): **{:.2}×**. MD5 alone over the file takes {:.2}× curl's download time: a checked download cannot beat that.\n",
        p3[1].1 / p3[2].1,
        p3[3].1 / p3[0].1,
        p3[4].1 / p3[1].1
    ));
    let _ = std::fs::remove_file(&package);
    let _ = std::fs::remove_file(&out);
    Ok(())
}

/// P4: 1,000 slow submission reads, 16 at a time, against the ideal.
fn fan_out(b: &mut Bench) -> Result<(), TaskError> {
    let sim = Sim::start(
        &b.bin,
        &[
            "--products",
            "1",
            "--submissions",
            "1000",
            "--fault",
            "slow=20:1:getSubmission",
        ],
    )?;
    let mut fanout = hw_bench(
        &b.bin,
        &[
            "fanout",
            "--base",
            &sim.base,
            "--token",
            "bench",
            "--concurrency",
            "16",
        ],
    );
    let mut samples = Vec::new();
    for _ in 0..b.runs.min(3) {
        let (_, stdout) = measure(&mut fanout)?;
        let reported: serde_json::Value =
            serde_json::from_str(stdout.trim()).map_err(|e| fail(e.to_string()))?;
        samples.push(reported["seconds"].as_f64().unwrap_or(f64::NAN));
    }
    drop(sim);
    let p4 = median(samples);
    let ideal = 1000.0 * 0.020 / 16.0;
    b.line(format!(
        "## P4 fan-out: 1,000 submission details, 20 ms each, 16 at a time\n\nmedian {p4:.3} s; ideal {ideal:.3} s: **{:.2}×** the ideal (target ≤ 1.2×)\n",
        p4 / ideal
    ));
    Ok(())
}

/// The package P5 compares hw-api's cold build with.
const FLOOR: &str = "hw-bench-floor";

/// P5: cold debug builds of `hw-api` (default features) and of its floor, `runs` each,
/// interleaved (the first to build alternates), each in an empty target directory.
/// Returns the report's block.
fn build_cost(root: &Path, runs: usize) -> Result<String, TaskError> {
    let cold = root.join("target/bench/cold-target");
    let mut seconds: [Vec<f64>; 2] = [Vec::new(), Vec::new()];
    for run in 0..runs {
        for i in [run % 2, 1 - run % 2] {
            let package = ["hw-api", FLOOR][i];
            seconds[i].push(cold_build(root, &cold, package)?);
            println!(
                "P5 run {}: {package} {:.0} s",
                run + 1,
                seconds[i].last().unwrap()
            );
        }
    }
    let [api, floor] = seconds.map(median);
    let report = format!(
        "## P5 build cost, median of {runs}\n\n| cold `cargo build -p …` (debug, dependencies downloaded) | seconds |\n|---|---|\n| `hw-api` (default features) | {api:.0} |\n| `{FLOOR}` (the same reqwest, TLS stack, serde_json and tokio; floor) | {floor:.0} |\n\nhw-api / floor: **{:.2}×** (target ≤ 1.3×)\n",
        api / floor
    );
    println!("{report}");
    Ok(report)
}

/// Seconds of a cold `cargo build -p package` in the empty target directory `cold`.
fn cold_build(root: &Path, cold: &Path, package: &str) -> Result<f64, TaskError> {
    let _ = std::fs::remove_dir_all(cold);
    let started = Instant::now();
    let status = Command::new(env!("CARGO"))
        .args(["build", "-p", package, "--quiet"])
        .env("CARGO_TARGET_DIR", cold)
        .current_dir(root)
        .status()
        .map_err(|e| fail(format!("cannot run cargo build -p {package}: {e}")))?;
    let seconds = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(cold);
    if status.success() {
        Ok(seconds)
    } else {
        Err(fail(format!(
            "the cold build of {package} failed ({status})"
        )))
    }
}

/// `cargo xtask bench --build [--quick]`: P5 alone (three runs each, one with `--quick`); the
/// full size writes its block of BENCHMARKS.md.
pub fn run_build(root: &Path, quick: bool) -> Result<(), TaskError> {
    let report = build_cost(root, if quick { 1 } else { BUILD_RUNS })?;
    if !quick {
        write_block(root, BUILD_START, BUILD_END, &report)?;
    }
    Ok(())
}

/// P5's runs per package in a full run: each is a cold build of minutes.
const BUILD_RUNS: usize = 3;

const BUILD_START: &str =
    "<!-- P5 results: written by `cargo xtask bench` and `cargo xtask bench --build` -->";
const BUILD_END: &str = "<!-- end of P5 results -->";

const RESULTS_START: &str = "<!-- results: written by `cargo xtask bench` -->";
const RESULTS_END: &str = "<!-- end of results -->";

/// `document` with the text between the results markers replaced by `results` (the rest of the
/// file is written by hand); a new document if it has no markers.
const FLEET_START: &str =
    "<!-- P9 results: written by `cargo xtask bench` and `cargo xtask bench --fleet` -->";
const FLEET_END: &str = "<!-- end of P9 results -->";

/// `document` with what is between `start` and `end` replaced by `results` (both added at
/// the end when missing).
fn with_block(document: &str, start_marker: &str, end_marker: &str, results: &str) -> String {
    let block = format!("{start_marker}\n{results}{end_marker}");
    match (document.find(start_marker), document.find(end_marker)) {
        (Some(start), Some(end)) if start < end => format!(
            "{}{block}{}",
            &document[..start],
            &document[end + end_marker.len()..]
        ),
        _ if document.is_empty() => format!("# Benchmarks\n\n{block}\n"),
        _ => format!("{}\n{block}\n", document.trim_end()),
    }
}

fn write_package(path: &Path, mib: u64) -> Result<(), TaskError> {
    let mut file =
        std::io::BufWriter::new(std::fs::File::create(path).map_err(|e| fail(e.to_string()))?);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let mut chunk = vec![0u8; 1024 * 1024];
    for _ in 0..mib {
        for word in chunk.chunks_mut(8) {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            word.copy_from_slice(&state.to_le_bytes()[..word.len()]);
        }
        file.write_all(&chunk).map_err(|e| fail(e.to_string()))?;
    }
    file.flush().map_err(|e| fail(e.to_string()))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_results(document: &str, results: &str) -> String {
        with_block(document, RESULTS_START, RESULTS_END, results)
    }

    #[test]
    fn a_second_block_is_added_at_the_end_and_replaced_alone() {
        let first = with_results("", "one\n");
        let both = with_block(&first, FLEET_START, FLEET_END, "p9\n");
        assert!(both.starts_with(&first.trim_end().to_owned()) && both.contains("p9"));
        let again = with_block(
            &with_results(&both, "two\n"),
            FLEET_START,
            FLEET_END,
            "p9b\n",
        );
        assert!(again.contains("two") && again.contains("p9b"));
        assert!(!again.contains("one") && !again.contains("p9\n"));
    }

    #[test]
    fn results_replace_only_their_block() {
        let first = with_results("", "one\n");
        assert!(first.starts_with("# Benchmarks") && first.contains("one"));
        let edited = format!("{first}\n## Notes\nkept\n").replace("# Benchmarks", "# Bench");
        let second = with_results(&edited, "two\n");
        assert!(second.starts_with("# Bench\n") && second.contains("two"));
        assert!(!second.contains("one") && second.ends_with("## Notes\nkept\n"));
    }
}
