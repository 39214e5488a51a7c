//! hwdc interrupted as a person interrupts it: Ctrl-C. On Unix that is SIGINT to the process.
//! On Windows Ctrl-C reaches the processes of one console, and only from a process attached to
//! it: the child runs in a console of its own (`common::spawn`), and this program, started
//! again as a helper (`HWDC_TEST_SEND_CTRL_C=<pid>`), attaches to that console and sends it,
//! leaving the test process's own console and output alone.
//!
//! That needs a `main` of its own, so these tests have a small harness (`harness = false`): it
//! takes the arguments cargo and `cargo xtask windows` give libtest's (`--list`, `--exact`,
//! `--skip`, name filters) and prints its results the same way.

mod common;

use std::future::Future;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::Duration;

use common::*;
use serde_json::Value;

/// The variable that makes this program the Ctrl-C helper for a process id.
const SEND_CTRL_C: &str = "HWDC_TEST_SEND_CTRL_C";

type Test = fn() -> Pin<Box<dyn Future<Output = ()>>>;

const TESTS: &[(&str, Test)] = &[
    ("an_interrupted_wait_exits_130", || {
        Box::pin(an_interrupted_wait_exits_130())
    }),
    (
        "an_interrupted_submit_leaves_a_journal_that_the_rerun_resumes",
        || Box::pin(an_interrupted_submit_leaves_a_journal_that_the_rerun_resumes()),
    ),
];

fn main() -> ExitCode {
    if let Some(pid) = std::env::var_os(SEND_CTRL_C) {
        return send_ctrl_c(&pid.to_string_lossy());
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let chosen = Selection::parse(&args);
    let tests: Vec<&(&str, Test)> = TESTS.iter().filter(|(n, _)| chosen.takes(n)).collect();
    if chosen.list {
        for (name, _) in &tests {
            println!("{name}: test");
        }
        return ExitCode::SUCCESS;
    }
    println!("\nrunning {} tests", tests.len());
    let mut failed = Vec::new();
    for (name, test) in &tests {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .unwrap();
        let outcome = std::panic::catch_unwind(|| runtime.block_on(test()));
        drop(runtime);
        let verdict = if outcome.is_ok() { "ok" } else { "FAILED" };
        println!("test {name} ... {verdict}");
        if outcome.is_err() {
            failed.push(*name);
        }
    }
    let verdict = if failed.is_empty() { "ok" } else { "FAILED" };
    println!(
        "\ntest result: {verdict}. {} passed; {} failed; 0 ignored; 0 measured; {} filtered out\n",
        tests.len() - failed.len(),
        failed.len(),
        TESTS.len() - tests.len()
    );
    if failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(101)
    }
}

/// Which tests the arguments choose, as libtest reads them.
#[derive(Default)]
struct Selection {
    filters: Vec<String>,
    skips: Vec<String>,
    exact: bool,
    list: bool,
}

impl Selection {
    fn parse(args: &[String]) -> Self {
        let mut chosen = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--list" => chosen.list = true,
                "--exact" => chosen.exact = true,
                "--skip" => chosen.skips.extend(args.next().cloned()),
                // Options with a value that change nothing here.
                "--format" | "--test-threads" | "--color" | "-Z" => {
                    args.next();
                }
                other if other.starts_with('-') => {}
                filter => chosen.filters.push(filter.to_owned()),
            }
        }
        chosen
    }

    fn matches(&self, pattern: &str, name: &str) -> bool {
        if self.exact {
            name == pattern
        } else {
            name.contains(pattern)
        }
    }

    fn takes(&self, name: &str) -> bool {
        (self.filters.is_empty() || self.filters.iter().any(|f| self.matches(f, name)))
            && !self.skips.iter().any(|s| self.matches(s, name))
    }
}

/// The run of `child` once Ctrl-C has ended it; fails (and kills it) if it is still running a
/// minute later.
async fn ended(mut child: std::process::Child) -> Run {
    for _ in 0..600 {
        if child.try_wait().unwrap().is_some() {
            return finish(child).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let _ = child.kill();
    panic!("hwdc was still running a minute after Ctrl-C");
}

/// Sends Ctrl-C to `child`, spawned by `common::spawn`.
fn interrupt(child: &std::process::Child) {
    #[cfg(unix)]
    {
        let pid = i32::try_from(child.id()).unwrap();
        // SAFETY: kill(2) with a child's pid and a signal number has no memory effects.
        let sent = unsafe { libc::kill(pid, libc::SIGINT) };
        assert_eq!(sent, 0, "{}", std::io::Error::last_os_error());
    }
    #[cfg(windows)]
    {
        let helper = std::process::Command::new(std::env::current_exe().unwrap())
            .env(SEND_CTRL_C, child.id().to_string())
            .output()
            .unwrap();
        assert!(
            helper.status.success(),
            "{}",
            String::from_utf8_lossy(&helper.stderr)
        );
    }
}

/// The helper: attaches to the console of process `pid` and sends Ctrl-C to it, ignoring it
/// itself.
#[cfg(windows)]
fn send_ctrl_c(pid: &str) -> ExitCode {
    use windows_sys::Win32::System::Console::{
        AttachConsole, CTRL_C_EVENT, FreeConsole, GenerateConsoleCtrlEvent, SetConsoleCtrlHandler,
    };
    let Ok(pid) = pid.parse::<u32>() else {
        eprintln!("{SEND_CTRL_C} is not a process id: {pid}");
        return ExitCode::FAILURE;
    };
    let fail = |what: &str| {
        eprintln!("{what}: {}", std::io::Error::last_os_error());
        ExitCode::FAILURE
    };
    // SAFETY: plain Win32 calls with a process id and constants.
    unsafe {
        FreeConsole();
        if AttachConsole(pid) == 0 {
            return fail("AttachConsole");
        }
        if SetConsoleCtrlHandler(None, 1) == 0 {
            return fail("SetConsoleCtrlHandler");
        }
        // Group 0: every process of that console, which holds only the child and this helper.
        if GenerateConsoleCtrlEvent(CTRL_C_EVENT, 0) == 0 {
            return fail("GenerateConsoleCtrlEvent");
        }
    }
    // Detach only once the event is on its way.
    std::thread::sleep(Duration::from_millis(200));
    ExitCode::SUCCESS
}

#[cfg(not(windows))]
fn send_ctrl_c(_pid: &str) -> ExitCode {
    eprintln!("{SEND_CTRL_C} is for Windows: on Unix the tests send SIGINT");
    ExitCode::FAILURE
}

async fn an_interrupted_wait_exits_130() {
    let home = Scratch::new("wait-interrupted");
    let (sim, product, s) = a_slow_committed_submission(&home).await;
    let mut waiting = command(&sim, &home.0);
    waiting.args(["submissions", "wait", &product, &s, "--poll", "0.2"]);
    let before = sim.requests("getSubmission");
    let child = spawn(waiting);
    // Interrupt only once the wait is under way (the handler is installed by then).
    while sim.requests("getSubmission") == before {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    interrupt(&child);
    let interrupted = ended(child).await;
    assert_eq!(interrupted.code, 130, "{}", interrupted.stderr);
}

async fn an_interrupted_submit_leaves_a_journal_that_the_rerun_resumes() {
    let sim = start(signing_slowly()).await;
    let home = Scratch::new("interrupted submit");
    let submit = SpacedSubmit::new(&home, "Interrupted");
    let child = submit.start_until_signing(&sim, &home).await;
    interrupt(&child);
    let interrupted = ended(child).await;
    assert_eq!(interrupted.code, 130, "{}", interrupted.stderr);
    assert!(
        interrupted.stderr.contains("re-run"),
        "{}",
        interrupted.stderr
    );
    let state: Value = serde_json::from_slice(&std::fs::read(&submit.journal).unwrap()).unwrap();
    assert_eq!(state["committed"], true, "{state}");
    // The re-run continues that submission, to the signed package.
    let resumed = hwdc(&sim, &home.0, &submit.args()).await.ok().json();
    assert_eq!(resumed["submission"], state["submission"]);
    submit.check_finished(&sim, &resumed);
}
