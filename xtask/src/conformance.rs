//! `cargo xtask conformance [--max-examples N] [--seed S]`: schemathesis, an outside OpenAPI
//! fuzzer, against hw-sim with `--checks all` over its examples, coverage, fuzzing and stateful
//! phases (the stateful one follows the spec's `links`). It is installed at the versions
//! `tools/schemathesis/requirements.txt` pins, into a virtual environment in
//! `target/tools/schemathesis`; `tools/schemathesis/schemathesis.toml` lists the functional
//! rules (documented 400 and 422 answers) that schema-valid requests may meet.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::bench::Sim;
use crate::{TaskError, fail, run_ok};

/// The virtual environment's program `name`.
fn venv_program(venv: &Path, name: &str) -> PathBuf {
    if cfg!(windows) {
        venv.join("Scripts").join(format!("{name}.exe"))
    } else {
        venv.join("bin").join(name)
    }
}

/// Installs the pinned schemathesis unless the environment already holds those pins.
fn install(root: &Path) -> Result<PathBuf, TaskError> {
    let requirements = root.join("tools/schemathesis/requirements.txt");
    let pins = std::fs::read(&requirements)
        .map_err(|e| fail(format!("{}: {e}", requirements.display())))?;
    let venv = root.join("target/tools/schemathesis");
    let stamp = venv.join("installed-requirements.txt");
    let program = venv_program(&venv, "schemathesis");
    if std::fs::read(&stamp).ok().as_deref() == Some(pins.as_slice()) && program.is_file() {
        return Ok(program);
    }
    let python = if cfg!(windows) { "python" } else { "python3" };
    run_ok(
        Command::new(python).arg("-m").arg("venv").arg(&venv),
        &format!("{python} -m venv (schemathesis needs Python 3.9 or later on PATH)"),
    )?;
    run_ok(
        Command::new(venv_program(&venv, "pip"))
            .args(["install", "--quiet", "--disable-pip-version-check", "-r"])
            .arg(&requirements),
        "pip install -r tools/schemathesis/requirements.txt",
    )?;
    std::fs::write(&stamp, &pins).map_err(|e| fail(e.to_string()))?;
    Ok(program)
}

/// Builds hw-sim, starts it, and runs schemathesis against it.
pub fn run(root: &Path, args: &[&str]) -> Result<(), TaskError> {
    let mut max_examples = "50".to_owned();
    let mut seed = "1".to_owned();
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let value = rest
            .next()
            .ok_or_else(|| fail(format!("{arg} needs a value")))?;
        match *arg {
            "--max-examples" => max_examples = (*value).to_owned(),
            "--seed" => seed = (*value).to_owned(),
            other => return Err(fail(format!("unknown option {other}"))),
        }
    }
    let schemathesis = install(root)?;
    run_ok(
        Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "hw-sim"])
            .current_dir(root),
        "cargo build -p hw-sim",
    )?;
    // Where cargo put it: CARGO_TARGET_DIR when set, else the workspace's target folder.
    let target = crate::target_dir(root);
    let sim = Sim::start(
        &target.join("debug"),
        &["--products", "3", "--submissions", "2"],
    )?;
    // Its cache goes beside its environment, not into the working tree.
    let tools = root.join("target/tools");
    run_ok(
        Command::new(schemathesis)
            .arg("--config-file")
            .arg(root.join("tools/schemathesis/schemathesis.toml"))
            .arg("run")
            .arg(root.join(crate::SPEC_PATH))
            .args(["--url", &sim.base])
            .args(["--header", "Authorization: Bearer bench"])
            .args(["--checks", "all"])
            .args(["--max-examples", &max_examples])
            .args(["--seed", &seed])
            .current_dir(&tools),
        "schemathesis (its report above says what failed)",
    )
}
