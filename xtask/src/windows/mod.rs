//! `cargo xtask windows [--full]`: the workspace built, linted and tested for Windows from a
//! Debian machine. The standard library is compiled from source (`-Zbuild-std`, allowed on the
//! stable toolchain by `RUSTC_BOOTSTRAP=1`), MinGW-w64 links, and Wine runs the programs.
//!
//! The short run (CI's): clippy `-D warnings` for `x86_64-pc-windows-msvc`, `hwdc.exe demo`,
//! and the tests of hw-api's and hw-package's libraries and of hwdc under Wine. `--full` adds
//! clippy for `x86_64-pc-windows-gnu` and every workspace test under Wine. Each phase is timed; the tests
//! that cannot run under Wine are printed on every run (`exclusions`). What this proves and does
//! not prove is in `docs/platforms.md`.

mod exclusions;
mod toolchain;
mod wine;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use crate::{TaskError, config_guard, fail, run_ok, target_dir};
use wine::Wine;

/// The target users get from rustup on Windows (checked with clippy only: no MSVC linker here).
const MSVC: &str = "x86_64-pc-windows-msvc";
/// What CI's short leg may take on a 2-core machine.
const SHORT_BUDGET: Duration = Duration::from_secs(12 * 60);
/// The target that MinGW links and Wine runs.
const GNU: &str = "x86_64-pc-windows-gnu";

/// Runs the short leg, or the full one with `--full`.
pub fn run(root: &Path, args: &[&str]) -> Result<(), TaskError> {
    let full = match args {
        [] => false,
        ["--full"] => true,
        _ => return Err(fail("usage: cargo xtask windows [--full]")),
    };
    if !cfg!(target_os = "linux") {
        return Err(fail(
            "cargo xtask windows builds for Windows from Debian Linux; on Windows, run cargo test",
        ));
    }
    let mut clock = Clock::default();
    let result = legs(root, full, &mut clock);
    clock.report(full);
    result
}

/// The phases, in order; stops at the first that fails.
fn legs(root: &Path, full: bool, clock: &mut Clock) -> Result<(), TaskError> {
    let cache = target_dir(root).join("tools/windows");
    let wine = clock.time("install MinGW, Wine, rust-src", || {
        toolchain::install_packages(root, &cache)?;
        toolchain::install_rust_src(root, &cache)?;
        Wine::prepare(root, &cache)
    })?;
    let build = Build::new(root, &cache, &wine)?;
    let excluded = exclusions::load(root)?;
    exclusions::print(&excluded);
    let result = (|| {
        clock.time(&format!("clippy {MSVC}"), || build.clippy(MSVC))?;
        if full {
            clock.time(&format!("clippy {GNU}"), || build.clippy(GNU))?;
        }
        // Nothing run under Wine may touch the prefix user's hwdc folder (%APPDATA%\hwdc).
        let guarded: Vec<PathBuf> = wine.app_data().iter().map(|d| d.join("hwdc")).collect();
        config_guard::guard(&guarded, || {
            clock.time("hwdc.exe demo under Wine", || build.demo())?;
            clock.time("tests under Wine", || build.tests(full, &excluded))
        })
    })();
    wine.shut_down();
    result
}

/// cargo for the Windows targets.
struct Build<'a> {
    root: &'a Path,
    wine: &'a Wine,
    /// The folder of `llvm-ar`, a copy of MinGW's `ar` (see [`Build::cargo`]).
    bin: PathBuf,
}

impl<'a> Build<'a> {
    fn new(root: &'a Path, cache: &Path, wine: &'a Wine) -> Result<Self, TaskError> {
        let bin = cache.join("bin");
        std::fs::create_dir_all(&bin).map_err(|e| fail(e.to_string()))?;
        let renamed = bin.join("llvm-ar");
        if !renamed.is_file() {
            std::fs::copy(mingw_ar()?, &renamed)
                .map_err(|e| fail(format!("{}: {e}", renamed.display())))?;
        }
        Ok(Self { root, wine, bin })
    }

    /// `cargo <task> -Zbuild-std --target <target>` with the cross-compiling settings.
    fn cargo(&self, task: &str, target: &str) -> Command {
        let mut command = Command::new(env!("CARGO"));
        command
            .current_dir(self.root)
            .args([task, "-Zbuild-std", "--target", target])
            .env("RUSTC_BOOTSTRAP", "1")
            .env(
                "CARGO_TARGET_X86_64_PC_WINDOWS_GNU_LINKER",
                "x86_64-w64-mingw32-gcc",
            )
            .env(
                "CARGO_TARGET_X86_64_PC_WINDOWS_GNU_RUNNER",
                &self.wine.loader,
            )
            // aws-lc-sys's C for the MSVC target, compiled by MinGW's gcc: enough for clippy,
            // which links nothing, and no evidence about MSVC's own compiler. The cc crate
            // gives an MSVC target's archiver lib.exe's options unless its name says llvm-ar,
            // so MinGW's ar is called through a copy of that name.
            .env("CC_x86_64_pc_windows_msvc", "x86_64-w64-mingw32-gcc")
            .env("AR_x86_64_pc_windows_msvc", self.bin.join("llvm-ar"));
        self.wine.configure(&mut command);
        command
    }

    fn clippy(&self, target: &str) -> Result<(), TaskError> {
        run_ok(
            self.cargo("clippy", target)
                .args(["--workspace", "--all-targets", "--all-features"])
                .args(["--", "-D", "warnings"]),
            &format!("cargo clippy --target {target}"),
        )
    }

    /// Builds hwdc.exe and runs its demo (the embedded simulator, the whole submit flow).
    fn demo(&self) -> Result<(), TaskError> {
        run_ok(
            self.cargo("build", GNU).args(["-p", "hwdc"]),
            &format!("cargo build -p hwdc --target {GNU}"),
        )?;
        let exe = target_dir(self.root).join(GNU).join("debug/hwdc.exe");
        let output = self
            .wine
            .command()
            .arg(&exe)
            .arg("demo")
            .output()
            .map_err(|e| fail(format!("cannot run {}: {e}", exe.display())))?;
        let stdout = String::from_utf8_lossy(&output.stdout);
        print!("{stdout}");
        if output.status.success() && stdout.contains("published") {
            Ok(())
        } else {
            Err(fail(format!(
                "hwdc.exe demo under Wine failed ({}): {}",
                output.status,
                String::from_utf8_lossy(&output.stderr)
            )))
        }
    }

    /// The tests under Wine: hw-api's and hw-package's libraries and hwdc's, or with `full` the workspace's.
    fn tests(&self, full: bool, excluded: &[exclusions::Exclusion]) -> Result<(), TaskError> {
        let selections: Vec<Vec<&str>> = if full {
            vec![vec!["--workspace"]]
        } else {
            vec![
                vec!["-p", "hw-api", "--lib"],
                vec!["-p", "hw-package", "--lib"],
                vec!["-p", "hwdc"],
            ]
        };
        if full {
            self.check_exclusions(excluded)?;
        }
        let skips = exclusions::skip_args(excluded);
        // Every selection runs, so that one failure does not hide another.
        let failed: Vec<String> = selections
            .iter()
            .filter_map(|selection| {
                let what = format!(
                    "cargo test {} --target {GNU} under Wine",
                    selection.join(" ")
                );
                let mut command = self.cargo("test", GNU);
                command
                    .args(selection)
                    .arg("--no-fail-fast")
                    .arg("--")
                    .args(&skips);
                run_ok(&mut command, &what).err().map(|e| e.0)
            })
            .collect();
        if failed.is_empty() {
            Ok(())
        } else {
            Err(fail(failed.join("; ")))
        }
    }

    /// Fails when an exclusion names no test of the workspace.
    fn check_exclusions(&self, excluded: &[exclusions::Exclusion]) -> Result<(), TaskError> {
        let output = self
            .cargo("test", GNU)
            .args(["--workspace", "--", "--list", "--format", "terse"])
            .output()
            .map_err(|e| fail(format!("cannot list the tests: {e}")))?;
        if !output.status.success() {
            return Err(fail(format!(
                "listing the tests under Wine failed: {}",
                String::from_utf8_lossy(&output.stderr)
            )));
        }
        let stale = exclusions::stale(excluded, &String::from_utf8_lossy(&output.stdout));
        if stale.is_empty() {
            Ok(())
        } else {
            Err(fail(format!(
                "tools/windows/not-under-wine.txt names tests that do not exist: {}",
                stale.join(", ")
            )))
        }
    }
}

/// MinGW's `ar`, from PATH.
fn mingw_ar() -> Result<PathBuf, TaskError> {
    std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())
        .map(|dir| dir.join("x86_64-w64-mingw32-ar"))
        .find(|p| p.is_file())
        .ok_or_else(|| fail("x86_64-w64-mingw32-ar is not on PATH"))
}

/// How long each phase took.
#[derive(Default)]
struct Clock {
    phases: Vec<(String, Duration, bool)>,
}

impl Clock {
    fn time<T>(
        &mut self,
        name: &str,
        phase: impl FnOnce() -> Result<T, TaskError>,
    ) -> Result<T, TaskError> {
        println!("== {name}");
        let start = Instant::now();
        let result = phase();
        self.phases
            .push((name.to_owned(), start.elapsed(), result.is_ok()));
        result
    }

    fn report(&self, full: bool) {
        let leg = if full { "full" } else { "short" };
        println!("cargo xtask windows ({leg}):");
        for (name, took, ok) in &self.phases {
            let verdict = if *ok { "ok" } else { "FAILED" };
            println!("  {:>6.1} s  {verdict:<6}  {name}", took.as_secs_f64());
        }
        let total: Duration = self.phases.iter().map(|(_, d, _)| *d).sum();
        println!("  {:>6.1} s  total", total.as_secs_f64());
        if !full && total > SHORT_BUDGET {
            println!(
                "warning: the short leg took longer than CI's budget of {} minutes",
                SHORT_BUDGET.as_secs() / 60
            );
        }
    }
}
