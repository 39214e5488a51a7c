//! `hwdc batch MANIFEST` against hw-sim with a quota and faults: every entry shipped, a JSON
//! summary, the most serious exit code, a re-run that skips what is done, and a killed batch
//! resumed with each entry's submission made once.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use hw_sim::{Fault, FaultRule, SimConfig};
use serde_json::Value;

/// A manifest of `n` packages (one a driver folder) under `dir`, each creating its own product;
/// `failing` names an entry whose package fails Microsoft's workflow.
fn manifest(dir: &Path, n: usize, failing: Option<usize>) -> std::path::PathBuf {
    let mut text = String::new();
    for i in 0..n {
        let file = if i == 0 {
            driver_folder(dir, "touch", INF.as_bytes());
            "touch".to_owned()
        } else {
            let head: &[u8] = if Some(i) == failing {
                b"PK HWSIM-FAIL-AT:validation"
            } else {
                b"PK"
            };
            let name = format!("driver-{i}.pkg");
            let mut bytes = head.to_vec();
            bytes.extend((0..40_000 + i).map(|k| (k % 251) as u8));
            std::fs::write(dir.join(&name), bytes).unwrap();
            name
        };
        text.push_str(&format!(
            "[[package]]\nfile = \"{file}\"\nname = \"fleet-{i}\"\ncreate-product = \"Fleet {i}\"\nharness = \"attestation\"\nsignatures = [\"WINDOWS_v100_X64_RS5_FULL\"]\ntype = \"initial\"\nout = \"signed/fleet-{i}.cab\"\n\n"
        ));
    }
    std::fs::create_dir_all(dir.join("signed")).unwrap();
    let path = dir.join("fleet.toml");
    std::fs::write(&path, text).unwrap();
    path
}

fn by_name(summary: &Value) -> std::collections::BTreeMap<String, Value> {
    summary
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["name"].as_str().unwrap().to_owned(), e.clone()))
        .collect()
}

/// The arguments of `hwdc --output json batch MANIFEST --jobs JOBS` with quick polls.
fn batch_args(manifest: &Path, jobs: &str) -> Vec<String> {
    let manifest = manifest.to_string_lossy();
    [
        "--output", "json", "batch", &manifest, "--jobs", jobs, "--poll", "0.01",
    ]
    .map(str::to_owned)
    .to_vec()
}

/// `hwdc --output json batch MANIFEST` with quick polls and the default jobs.
async fn batch(sim: &hw_sim::SimHandle, home: &Path, manifest: &Path) -> Run {
    let args = batch_args(manifest, "4");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    hwdc(sim, home, &args).await
}

fn quota_sim() -> SimConfig {
    SimConfig {
        rate_limit: Some(1200),
        faults: vec![FaultRule::new(Fault::InternalError, 0.1).only("getSubmission")],
        ..quick()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_ships_every_entry_and_a_rerun_skips_them() {
    let sim = start(quota_sim()).await;
    let home = Scratch::new("batch");
    let manifest = manifest(&home.0, 5, None);
    let args = batch_args(&manifest, "3");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let first = hwdc(&sim, &home.0, &args).await.ok();
    let entries = by_name(&first.json());
    assert_eq!(entries.len(), 5, "{}", first.stdout);
    for i in 0..5 {
        let entry = &entries[&format!("fleet-{i}")];
        assert_eq!(entry["state"], "succeeded", "{entry}");
        let out = home.0.join(format!("signed/fleet-{i}.cab"));
        let (_, sha256) = hw_package::digest::sha256_file(&out).unwrap();
        assert_eq!(entry["signed_sha256"], sha256);
        assert!(entry["product"].is_u64() && entry["submission"].is_u64());
    }
    let submissions: usize = sim.products().iter().map(|(_, _, n)| n).sum();
    assert_eq!(submissions, 5);
    let (_, throttled) = sim.quota().unwrap();
    assert!(throttled <= 20, "{throttled} 429s");

    // Again, from the manifest's folder with a relative path: everything is skipped.
    let mut from_inside = command(&sim, &home.0);
    from_inside.current_dir(&home.0);
    let again = run(
        from_inside,
        &["--output", "json", "batch", "fleet.toml", "--poll", "0.01"],
    )
    .await
    .ok();
    for entry in by_name(&again.json()).values() {
        assert_eq!(entry["state"], "skipped", "{entry}");
    }
    let submissions: usize = sim.products().iter().map(|(_, _, n)| n).sum();
    assert_eq!(submissions, 5, "nothing was sent again");

    // A signed package that is gone is downloaded again from the same submission.
    std::fs::remove_file(home.0.join("signed/fleet-2.cab")).unwrap();
    let again = hwdc(&sim, &home.0, &args).await.ok();
    let entries_again = by_name(&again.json());
    assert_eq!(entries_again["fleet-2"]["state"], "succeeded");
    assert_eq!(
        entries_again["fleet-2"]["submission"],
        entries["fleet-2"]["submission"]
    );
    assert!(home.0.join("signed/fleet-2.cab").exists());
    let submissions: usize = sim.products().iter().map(|(_, _, n)| n).sum();
    assert_eq!(submissions, 5, "no second submission");
}

#[tokio::test(flavor = "multi_thread")]
async fn two_entries_may_upload_the_same_file() {
    let sim = start(quick()).await;
    let home = Scratch::new("batch-same-file");
    let package = home.file("same.pkg", 30_000, b"PK");
    let manifest = home.0.join("same.toml");
    let mut text = String::new();
    for i in 0..2 {
        text.push_str(&format!(
            "[[package]]\nfile = \"{}\"\nname = \"same-{i}\"\ncreate-product = \"Same {i}\"\nout = \"out-{i}.cab\"\n\n",
            package.file_name().unwrap().to_string_lossy()
        ));
    }
    std::fs::write(&manifest, text).unwrap();
    let run = batch(&sim, &home.0, &manifest).await.ok();
    for entry in by_name(&run.json()).values() {
        assert_eq!(entry["state"], "succeeded", "{entry}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_failed_entry_gives_its_code_and_leaves_the_others_shipped() {
    let sim = start(quick()).await;
    let home = Scratch::new("batch-fail");
    let manifest = manifest(&home.0, 3, Some(2));
    let run = batch(&sim, &home.0, &manifest).await;
    assert_eq!(run.code, 6, "{}", run.stderr);
    let entries = by_name(&serde_json::from_str(&run.stdout).unwrap());
    assert_eq!(entries["fleet-0"]["state"], "succeeded");
    assert_eq!(entries["fleet-1"]["state"], "succeeded");
    assert_eq!(entries["fleet-2"]["state"], "failed");
    assert_eq!(entries["fleet-2"]["error"]["exit_code"], 6);

    // A manifest that names neither a product nor one to create is a usage error.
    let bad = home.0.join("bad.toml");
    std::fs::write(
        &bad,
        "[[package]]\nfile = \"x.cab\"\nname = \"x\"\nout = \"x.out\"\n",
    )
    .unwrap();
    let refused = hwdc(&sim, &home.0, &["batch", bad.to_str().unwrap()]).await;
    assert_eq!(refused.code, 2);
    assert!(
        refused.stderr.contains("package 1 (x)") && refused.stderr.contains("create-product"),
        "{}",
        refused.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_killed_batch_resumes_each_entry_with_the_same_submission() {
    let sim = start(SimConfig {
        step_duration: Duration::from_millis(150),
        ..quota_sim()
    })
    .await;
    let home = Scratch::new("batch-killed");
    let manifest = manifest(&home.0, 4, None);
    let args = batch_args(&manifest, "4");
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut killed = command(&sim, &home.0)
        .args(&args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed once every entry has its submission and some are committed.
    let started = std::time::Instant::now();
    while sim.requests("commitSubmission") < 2 {
        assert!(started.elapsed() < Duration::from_secs(60), "no commits");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    killed.kill().unwrap();
    killed.wait().unwrap();
    let rerun = hwdc(&sim, &home.0, &args).await.ok();
    for entry in by_name(&rerun.json()).values() {
        // Finished before the kill (skipped) or by this run.
        assert!(
            entry["state"] == "succeeded" || entry["state"] == "skipped",
            "{entry}"
        );
    }
    for (_, name, submissions) in sim.products() {
        assert_eq!(submissions, 1, "{name}: one submission, made once");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_manifest_takes_paths_with_spaces_and_drive_letters() {
    let sim = start(quick()).await;
    let home = Scratch::new("batch spaced");
    let builds = home.0.join("Driver Builds");
    let signed = home.0.join("Signed Output");
    std::fs::create_dir_all(&builds).unwrap();
    std::fs::create_dir_all(&signed).unwrap();
    let package = builds.join("touch pad.pkg");
    std::fs::write(&package, [b"PK".as_slice(), &[3; 30_000]].concat()).unwrap();
    // On Windows an absolute path starts with a drive letter and holds backslashes, which a
    // TOML literal string ('…') keeps as they are.
    if cfg!(windows) {
        assert_eq!(package.to_str().unwrap().as_bytes()[1], b':', "{package:?}");
    }
    let absolute_out = signed.join("absolute.cab");
    let text = format!(
        "[[package]]\nfile = '{}'\nname = \"absolute\"\ncreate-product = \"Absolute\"\nout = '{}'\n\n\
         [[package]]\nfile = 'Driver Builds/touch pad.pkg'\nname = \"relative\"\ncreate-product = \"Relative\"\nout = 'Signed Output/relative.cab'\n",
        package.display(),
        absolute_out.display()
    );
    let manifest = home.0.join("fleet manifest.toml");
    std::fs::write(&manifest, text).unwrap();
    let run = batch(&sim, &home.0, &manifest).await.ok();
    for entry in by_name(&run.json()).values() {
        assert_eq!(entry["state"], "succeeded", "{entry}");
    }
    assert!(absolute_out.is_file());
    assert!(signed.join("relative.cab").is_file());
}

/// Each entry is checked in its own mode: a Desktop driver's class installer passes the
/// default and fails the entry that asks for a universal INF (exit 5), which ships nothing.
#[tokio::test(flavor = "multi_thread")]
async fn each_entry_is_checked_in_its_own_mode() {
    let sim = start(quick()).await;
    let home = Scratch::new("batch-modes");
    let legacy = INF.to_owned() + "[ClassInstall32]\r\n";
    driver_folder(&home.0, "legacy", legacy.as_bytes());
    std::fs::create_dir_all(home.0.join("signed")).unwrap();
    let entry = |name: &str, mode: &str| {
        format!(
            "[[package]]\nfile = \"legacy\"\nname = \"{name}\"\ncreate-product = \"{name}\"\nsignatures = [\"WINDOWS_v100_X64_RS5_FULL\"]\nout = \"signed/{name}.cab\"\n{mode}\n"
        )
    };
    let manifest = home.0.join("modes.toml");
    let text = entry("default", "") + &entry("universal", "mode = \"universal\"");
    std::fs::write(&manifest, text).unwrap();
    let run = batch(&sim, &home.0, &manifest).await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    let entries = by_name(&serde_json::from_str(&run.stdout).unwrap());
    assert_eq!(entries["default"]["state"], "succeeded");
    assert_eq!(entries["universal"]["state"], "failed");
    assert_eq!(entries["universal"]["error"]["exit_code"], 5);
    assert!(entries["universal"]["product"].is_null(), "{entries:#?}");
    assert!(!home.0.join("signed/universal.cab").exists());
}
