//! `cargo xtask <task>`: developer tasks of the hw-api workspace.

use std::process::ExitCode;

use xtask::{codegen, digest, lint, spec::Spec, workspace_root};

const USAGE: &str = "usage: cargo xtask <task>

tasks:
  generate           regenerate crates/hw-api-gen/src/generated.rs from openapi/hardware.yaml
  generate --check   fail with a diff if generated.rs is stale (CI runs this)
  schemas [--check]  write docs/schemas/ from `hwdc schema` (--check: fail with a diff if stale)
  lint               check the spec for what progenitor mishandles
  msrv               check the declared rust-version against the dependencies and the toolchain
  conformance [--max-examples N] [--seed S]
                     schemathesis (pinned, in target/tools) against hw-sim, --checks all
  digest             print the generated API surface (what the insta snapshot holds)
  bench [--quick]    benchmarks P1-P9 against their floors (writes BENCHMARKS.md)
  bench --fleet      only P9, the fleet under a quota (its block of BENCHMARKS.md)
  bench --build      only P5, hw-api's cold build against its floor (its block of BENCHMARKS.md)
  soak [ARGS]        200 submit flows against hw-sim with 10% faults (hw-bench soak --help);
                     --kill: 100 runs of `hwdc submit`, each killed 0-3 times and re-run
  fuzz [ARGS]        a long fuzz run (default 300 s; hw-bench fuzz --help)
  test [ARGS]        cargo test --workspace [ARGS], then fail if any test touched the real
                     user's hwdc configuration folder (the README's and CI's test command)
  windows [--full]   build, lint and test for Windows with MinGW and Wine (docs/platforms.md)
  netns              the network tests (squid, TLS, the service's host names) in a network
                     namespace with only loopback (CONTRIBUTING.md; root or sudo -n)";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let root = workspace_root();
    let result = match args.as_slice() {
        ["generate"] => codegen::run(&root, false),
        ["generate", "--check"] => codegen::run(&root, true),
        ["schemas"] => xtask::schemas::run(&root, false),
        ["schemas", "--check"] => xtask::schemas::run(&root, true),
        ["lint"] => Spec::load(&root.join(xtask::SPEC_PATH)).and_then(|s| lint::check(&s)),
        ["digest"] => std::fs::read_to_string(root.join(xtask::GENERATED_PATH))
            .map_err(|e| xtask::TaskError(format!("cannot read generated.rs: {e}")))
            .and_then(|src| digest::digest(&src))
            .map(|d| print!("{d}")),
        ["msrv"] => xtask::msrv::run(&root),
        ["conformance", rest @ ..] => xtask::conformance::run(&root, rest),
        ["bench"] => xtask::bench::run(&root, false),
        ["bench", "--quick"] => xtask::bench::run(&root, true),
        ["bench", "--fleet"] => xtask::bench::run_fleet(&root, false),
        ["bench", "--fleet", "--quick"] => xtask::bench::run_fleet(&root, true),
        ["bench", "--build"] => xtask::bench::run_build(&root, false),
        ["bench", "--build", "--quick"] => xtask::bench::run_build(&root, true),
        ["soak", rest @ ..] => xtask::bench::run_hw_bench(
            &root,
            &[&["soak"], rest]
                .concat()
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        ),
        ["fuzz", rest @ ..] => xtask::bench::run_hw_bench(
            &root,
            &[&["fuzz"], rest]
                .concat()
                .iter()
                .map(|s| s.to_string())
                .collect::<Vec<_>>(),
        ),
        ["test", rest @ ..] => xtask::config_guard::test_workspace(&root, rest),
        ["windows", rest @ ..] => xtask::windows::run(&root, rest),
        ["netns"] => xtask::netns::run(&root),
        ["-h" | "--help" | "help"] => {
            println!("{USAGE}");
            Ok(())
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
