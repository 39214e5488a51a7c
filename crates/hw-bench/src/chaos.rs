//! The chaos soak (`cargo xtask soak --kill`): runs of the real `hwdc submit` binary against a
//! simulator with 16% faults (5% of them 500s and 5% dropped connections, as issue 27's trial),
//! each killed (SIGKILL on Unix, TerminateProcess on Windows) twice 0.1 to 0.9 s after its start
//! and sometimes once more later, and run again until it exits 0.
//!
//! Products come in pairs of runs: an initial submission, then a derived one. In half the pairs
//! the initial run creates the product by name and the derived one finds it again by name; in
//! the other half the product exists and both are given its id. It passes when every run
//! completes; the service has exactly one product per product name and one submission per
//! submission name; every signed file is there, MD5-verified and holds its package; each
//! journal is kept, finished; and no lock, temporary or partial file is left.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use hw_sim::{SimConfig, SimHandle};

/// How many times a run may end in a failure a re-run resumes (exit 75) before it counts as
/// failed.
const MAX_RESUMES: usize = 10;

/// What the chaos soak found.
#[derive(Debug, Default)]
pub struct ChaosReport {
    /// Runs made (two per product).
    pub runs: usize,
    /// Runs that exited 0 in the end.
    pub completed: usize,
    /// Kills in all.
    pub kills: usize,
    /// Re-runs after an exit 75.
    pub resumes: usize,
    /// Products whose name exists more than once.
    pub duplicate_products: usize,
    /// Submissions whose name exists more than once in their product.
    pub duplicate_submissions: usize,
    /// Signed files present, MD5-verified and holding their package.
    pub verified: usize,
    /// Journals, `.part` files and their sidecars left after success.
    pub leftovers: usize,
    /// What went wrong.
    pub failures: Vec<String>,
    /// How long it took.
    pub elapsed: Duration,
    /// Where the kills landed, by what the journal held then.
    pub kills_by_step: std::collections::BTreeMap<&'static str, usize>,
}

impl ChaosReport {
    /// Whether the soak passed.
    pub fn passed(&self) -> bool {
        self.completed == self.runs
            && self.verified == self.runs
            && self.duplicate_products == 0
            && self.duplicate_submissions == 0
            && self.leftovers == 0
            && self.failures.is_empty()
    }

    /// A summary table.
    pub fn table(&self) -> String {
        let mut out = format!(
            "| runs | completed | kills | re-runs after exit 75 | verified signed files | duplicate products | duplicate submissions | files left | time |\n|---|---|---|---|---|---|---|---|---|\n| {} | {} | {} | {} | {} | {} | {} | {} | {:.1} s |\n",
            self.runs,
            self.completed,
            self.kills,
            self.resumes,
            self.verified,
            self.duplicate_products,
            self.duplicate_submissions,
            self.leftovers,
            self.elapsed.as_secs_f64()
        );
        out.push_str("\n| killed when the journal held | kills |\n|---|---|\n");
        for (step, count) in &self.kills_by_step {
            out.push_str(&format!("| {step} | {count} |\n"));
        }
        for failure in &self.failures {
            out.push_str(&format!("\nfailed: {failure}"));
        }
        out
    }
}

/// One `hwdc submit` run to carry out.
struct Run {
    /// Which product pair it belongs to.
    pair: usize,
    derived: bool,
    /// Whether the product is given by name (else by id, from the initial run's output).
    by_name: bool,
}

/// What a run did.
#[derive(Default)]
struct Outcome {
    kills: usize,
    kills_by_step: Vec<&'static str>,
    resumes: usize,
    product: Option<u64>,
    verified: bool,
    leftovers: usize,
}

/// Runs `pairs` × 2 submit runs, `concurrency` pairs at once, with faults and kills seeded by
/// `seed`, with the `hwdc` binary at `hwdc`.
pub async fn run(
    pairs: usize,
    concurrency: usize,
    seed: u64,
    hwdc: PathBuf,
    scratch: PathBuf,
) -> std::io::Result<ChaosReport> {
    let sim = hw_sim::start(SimConfig {
        faults: faults(),
        fault_seed: seed,
        step_duration: Duration::from_millis(30),
        ..SimConfig::default()
    })
    .await?;
    std::fs::create_dir_all(&scratch)?;
    let started = Instant::now();
    let (sim_ref, hwdc_ref, scratch_ref) = (&sim, &hwdc, &scratch);
    let outcomes: Vec<(usize, Vec<Result<Outcome, String>>)> = futures_util::stream::iter(0..pairs)
        .map(|pair| async move {
            let mut results = Vec::new();
            let by_name = pair % 2 == 0;
            let existing =
                (!by_name).then(|| sim_ref.add_product(&format!("chaos product {pair}")));
            let initial = Run {
                pair,
                derived: false,
                by_name,
            };
            let first = one_run(sim_ref, hwdc_ref, scratch_ref, &initial, existing, seed).await;
            let product = first.as_ref().ok().and_then(|o| o.product);
            results.push(first);
            let derived = Run {
                pair,
                derived: true,
                by_name,
            };
            results.push(one_run(sim_ref, hwdc_ref, scratch_ref, &derived, product, seed).await);
            (pair, results)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut report = ChaosReport {
        runs: pairs * 2,
        elapsed: started.elapsed(),
        ..ChaosReport::default()
    };
    for (pair, results) in outcomes {
        for (i, result) in results.into_iter().enumerate() {
            match result {
                Ok(outcome) => {
                    report.completed += 1;
                    report.kills += outcome.kills;
                    for step in outcome.kills_by_step {
                        *report.kills_by_step.entry(step).or_default() += 1;
                    }
                    report.resumes += outcome.resumes;
                    report.verified += usize::from(outcome.verified);
                    report.leftovers += outcome.leftovers;
                }
                Err(e) => report
                    .failures
                    .push(format!("pair {pair}, run {}: {e}", i + 1)),
            }
        }
    }
    let products = sim.products();
    let mut names: Vec<&str> = products.iter().map(|(_, name, _)| name.as_str()).collect();
    names.sort_unstable();
    let all = names.len();
    names.dedup();
    report.duplicate_products = all - names.len();
    for (id, _, _) in &products {
        let mut names: Vec<String> = sim
            .submissions_of(*id)
            .into_iter()
            .map(|s| s.name)
            .collect();
        names.sort_unstable();
        let all = names.len();
        names.dedup();
        report.duplicate_submissions += all - names.len();
    }
    sim.stop().await;
    if report.passed() {
        let _ = std::fs::remove_dir_all(&scratch);
    }
    Ok(report)
}

/// The soak's faults and, so that 5% of requests fail with a 500 and 5% lose their
/// connection, more of both.
fn faults() -> Vec<hw_sim::FaultRule> {
    let mut faults = crate::soak::faults();
    faults.extend([
        hw_sim::FaultRule::new(hw_sim::Fault::InternalError, 0.03),
        hw_sim::FaultRule::new(hw_sim::Fault::DropConnection, 0.03),
    ]);
    faults
}

/// Carries out `run`: killed two or three times, the first two early, then run until it exits
/// 0.
async fn one_run(
    sim: &SimHandle,
    hwdc: &Path,
    scratch: &Path,
    run: &Run,
    product: Option<u64>,
    seed: u64,
) -> Result<Outcome, String> {
    let name = if run.derived { "2.0" } else { "1.0" };
    let tag = format!("pair {}, {name}", run.pair);
    let dir = scratch.join(format!("pair-{}", run.pair));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{tag}: {e}"))?;
    let n = run.pair * 2 + usize::from(run.derived);
    let mut rng = fastrand::Rng::with_seed(seed ^ (n as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15));
    // From 50 KB (one Put Blob) to about 1.5 MB (several blocks).
    let size = 50_000 + rng.usize(..1_500_000);
    let package: Vec<u8> = (0..size).map(|i| ((i ^ n) * 131 % 251) as u8).collect();
    let path = dir.join(format!("driver-{name}.cab"));
    let out = dir.join(format!("signed-{name}.cab"));
    std::fs::write(&path, &package).map_err(|e| format!("{tag}: {e}"))?;
    let mut args: Vec<String> = vec![
        "--output".into(),
        "json".into(),
        "submit".into(),
        "--no-check".into(),
        path.display().to_string(),
        "--name".into(),
        name.into(),
        "--out".into(),
        out.display().to_string(),
        "--poll".into(),
        "0.03".into(),
    ];
    if run.derived {
        args.extend(["--type".into(), "derived".into()]);
    }
    match (run.by_name, product) {
        (false, Some(product)) => args.extend(["--product".into(), product.to_string()]),
        _ => args.extend([
            "--create-product".into(),
            format!("chaos product {}", run.pair),
        ]),
    }
    let mut outcome = Outcome::default();
    // Two early kills, 0.1 to 0.9 s after the start (a create in flight, a journal just
    // written), then up to one at any moment of the first 1.5 s.
    let mut kills = vec![rng.u64(100..900), rng.u64(100..900)];
    if rng.bool() {
        kills.push(rng.u64(..1_500));
    }
    let mut kills = kills.into_iter();
    // Like a pipeline: a run that was killed or failed in a way a re-run resumes is run again,
    // one that finished is not.
    let mut attempt = 0;
    let finished = loop {
        // Each run's log is kept beside its package (the scratch folder stays when the soak
        // fails): what every killed run did is there to read.
        attempt += 1;
        let log_path = dir.join(format!("run-{name}-{attempt}.log"));
        let log = std::fs::File::create(&log_path).map_err(|e| format!("{tag}: {e}"))?;
        let mut child = command(sim, hwdc, &dir)
            .args(&args)
            .env("RUST_LOG", "info,hw_api=debug")
            .stdout(Stdio::piped())
            .stderr(log)
            .spawn()
            .map_err(|e| format!("{tag}: cannot start hwdc: {e}"))?;
        if let Some(after) = kills.next() {
            tokio::time::sleep(Duration::from_millis(after)).await;
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
                let _ = tokio::task::spawn_blocking(move || child.wait()).await;
                outcome.kills += 1;
                outcome.kills_by_step.push(journal_step(&path));
                continue;
            }
        }
        let output = tokio::task::spawn_blocking(move || child.wait_with_output())
            .await
            .map_err(|e| format!("{tag}: {e}"))?
            .map_err(|e| format!("{tag}: hwdc: {e}"))?;
        match output.status.code() {
            Some(0) => break output,
            Some(75) if outcome.resumes < MAX_RESUMES => outcome.resumes += 1,
            code => {
                let log = std::fs::read_to_string(&log_path).unwrap_or_default();
                return Err(format!(
                    "{tag}: hwdc exited {code:?} (log: {}): {}",
                    log_path.display(),
                    log.lines().last().unwrap_or_default().trim()
                ));
            }
        }
    };
    let shown: serde_json::Value =
        serde_json::from_slice(&finished.stdout).map_err(|e| format!("{tag}: not JSON ({e})"))?;
    outcome.product = shown["product"].as_u64();
    let signed = std::fs::read(&out).map_err(|e| format!("{tag}: {}: {e}", out.display()))?;
    outcome.verified = shown["md5_verified"] == true
        && signed.strip_prefix(b"HWSIM-SIGNED\n") == Some(&package[..]);
    // The journal is kept, finished (a run of the same work reports the delivery again); its
    // lock and any temporary file of a save are not.
    let journal = format!("driver-{name}.cab.hwdc.json");
    let finished = std::fs::read(dir.join(&journal))
        .ok()
        .and_then(|text| serde_json::from_slice::<serde_json::Value>(&text).ok())
        .is_some_and(|state| state["downloadedSha256"].is_string());
    outcome.leftovers += usize::from(!finished);
    if let Ok(entries) = std::fs::read_dir(&dir) {
        outcome.leftovers += entries
            .flatten()
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with(&journal) && name != journal
            })
            .count();
    }
    for leftover in [".part", ".part.json"] {
        let mut partial = out.as_os_str().to_owned();
        partial.push(leftover);
        outcome.leftovers += usize::from(Path::new(&partial).exists());
    }
    Ok(outcome)
}

/// How far the journal beside `package` says its run got.
fn journal_step(package: &Path) -> &'static str {
    let mut journal = package.as_os_str().to_owned();
    journal.push(".hwdc.json");
    let Ok(text) = std::fs::read(&journal) else {
        return "0 no journal yet";
    };
    let Ok(state) = serde_json::from_slice::<serde_json::Value>(&text) else {
        return "? unreadable";
    };
    let has = |key: &str| !state[key].is_null() && state[key] != false;
    if has("downloadedSha256") {
        "7 downloaded"
    } else if has("signed") {
        "6 signed"
    } else if has("committed") {
        "5 committed"
    } else if has("uploadedEtag") {
        "4 uploaded"
    } else if has("submission") {
        "3 submission made"
    } else if has("submissionsBefore") {
        "2 creating the submission"
    } else if has("productsBefore") && !has("product") {
        "1 creating the product"
    } else {
        "1 product known"
    }
}

/// `hwdc` with the simulator's settings and a home of its own.
fn command(sim: &SimHandle, hwdc: &Path, home: &Path) -> Command {
    let mut command = Command::new(hwdc);
    for var in [
        "HWDC_CONFIG",
        "HWDC_PROFILE",
        "HW_CLIENT_SECRET_FILE",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
        "RUST_LOG",
    ] {
        command.env_remove(var);
    }
    if let Some(app) = sim.app() {
        command
            .env("HW_TENANT_ID", &app.tenant_id)
            .env("HW_CLIENT_ID", &app.client_id)
            .env("HW_CLIENT_SECRET", &app.secret);
    }
    command
        .env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        // Windows' configuration folder follows neither variable above.
        .env("HWDC_CONFIG_DIR", home.join(".config/hwdc"))
        .env("HW_API_BASE_URL", sim.api_url())
        .env("HW_AUTHORITY_HOST", sim.authority_url());
    command
}
