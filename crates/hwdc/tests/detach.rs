//! `submit --until` and `batch --until`: a flow stopped after a step, with exit code 9 and its
//! journal kept, that a later run continues, from another folder with only the journal too (a
//! CI job that commits, and a later one that collects the signed package).

mod common;

use std::path::Path;

use common::*;
use serde_json::Value;

/// The arguments of a quick `submit` of `package` to product "Detached", signed to `out`,
/// with `extra` after them.
fn submit_args<'a>(package: &'a str, out: &'a str, extra: &[&'a str]) -> Vec<&'a str> {
    let mut args = vec![
        "--output",
        "json",
        "submit",
        "--no-check",
        package,
        "--create-product",
        "Detached",
        "--name",
        "1.0",
        "--out",
        out,
        "--poll",
        "0.01",
    ];
    args.extend_from_slice(extra);
    args
}

fn journal_of(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_flow_committed_in_one_job_is_collected_in_another_with_only_its_journal() {
    let sim = start(quick()).await;
    let first_job = Scratch::new("detach-first");
    let package = first_job.file("driver.cab", 40_000, b"PK");
    let out = first_job.0.join("signed.cab");
    let journal = first_job.0.join("driver.cab.hwdc.json");
    let (package_arg, out_arg) = (package.to_str().unwrap(), out.to_str().unwrap());

    let committed = hwdc(
        &sim,
        &first_job.0,
        &submit_args(package_arg, out_arg, &["--until", "committed"]),
    )
    .await;
    assert_eq!(committed.code, 9, "{}", committed.stderr);
    let result = committed.json();
    assert_eq!(result["reached"], "committed", "{result}");
    assert_eq!(result["schema_version"], 1, "{result}");
    assert_eq!(
        Path::new(result["journal"].as_str().unwrap()),
        journal.as_path()
    );
    assert!(
        !committed.stderr.contains("error"),
        "a pause is not an error: {}",
        committed.stderr
    );
    let state = journal_of(&journal);
    assert_eq!(state["committed"], true, "{state}");
    assert_eq!(state["signed"], false, "{state}");
    assert_eq!(sim.requests("commitSubmission"), 1);
    assert!(
        !out.exists(),
        "nothing is downloaded before it is asked for"
    );

    // A later job, in another folder, with the journal as its only file: no package. With
    // the first job's flags, it waits for the signature and stops there.
    let second_job = Scratch::new("detach-second");
    let carried = second_job.0.join("carried.hwdc.json");
    std::fs::copy(&journal, &carried).unwrap();
    let in_second = || {
        let mut later = command(&sim, &second_job.0);
        later.current_dir(&second_job.0);
        later
    };
    let signed = run(
        in_second(),
        &submit_args(
            "driver.cab",
            "signed.cab",
            &["--state", carried.to_str().unwrap(), "--until", "signed"],
        ),
    )
    .await;
    assert_eq!(signed.code, 9, "{}", signed.stderr);
    assert_eq!(signed.json()["reached"], "signed");
    assert_eq!(journal_of(&carried)["signed"], true);

    // And a third, with nothing but the journal and where to put the signed package.
    let third_job = Scratch::new("detach-third");
    let journal_only = third_job.0.join("journal.json");
    std::fs::copy(&carried, &journal_only).unwrap();
    let mut last = command(&sim, &third_job.0);
    last.current_dir(&third_job.0);
    let collected = run(
        last,
        &[
            "--output",
            "json",
            "submit",
            "--state",
            "journal.json",
            "--out",
            "signed.cab",
        ],
    )
    .await
    .ok();
    let result = collected.json();
    assert_eq!(result["reached"], "delivered", "{result}");
    assert_eq!(result["submission"], state["submission"], "{result}");
    let signed = third_job.0.join("signed.cab");
    assert_eq!(
        result["bytes"].as_u64(),
        Some(std::fs::metadata(&signed).unwrap().len())
    );
    assert_finished(&journal_only);
    assert_eq!(sim.product_count(), 1);
    assert_eq!(sim.requests("createSubmission"), 1);
    assert_eq!(sim.requests("commitSubmission"), 1, "committed once");
}

/// A journal alone continues only what it can: a flow whose package is uploaded.
#[tokio::test(flavor = "multi_thread")]
async fn a_journal_alone_is_refused_before_the_upload_and_when_it_is_gone() {
    let home = Scratch::new("detach-refused");
    let missing = home.0.join("missing.json");
    let gone = run(
        bare_command(&home.0),
        &[
            "submit",
            "--state",
            missing.to_str().unwrap(),
            "--out",
            "x.cab",
        ],
    )
    .await;
    assert_eq!(gone.code, 4, "{}", gone.stderr);
    assert!(gone.stderr.contains("no journal"), "{}", gone.stderr);
    assert!(!gone.stderr.contains("sign in"), "{}", gone.stderr);

    let early = home.0.join("early.json");
    std::fs::write(
        &early,
        r#"{"version":1,"packageSha256":"00","account":"a","submissionName":"1.0","productChoice":"id 1","submissionType":"initial","product":1,"committed":false,"signed":false}"#,
    )
    .unwrap();
    let refused = run(
        bare_command(&home.0),
        &[
            "submit",
            "--state",
            early.to_str().unwrap(),
            "--out",
            "x.cab",
        ],
    )
    .await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("not uploaded yet"),
        "{}",
        refused.stderr
    );
    let package = home.file("driver.cab", 100, b"PK");
    let partial = run(
        bare_command(&home.0),
        &[
            "submit",
            package.to_str().unwrap(),
            "--state",
            early.to_str().unwrap(),
            "--out",
            "x.cab",
        ],
    )
    .await;
    assert_eq!(partial.code, 2, "{}", partial.stderr);
    assert!(partial.stderr.contains("--product"), "{}", partial.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn each_stop_goes_one_step_further_and_never_back() {
    let sim = start(quick()).await;
    let home = Scratch::new("detach-steps");
    let package = home.file("driver.cab", 40_000, b"PK");
    let out = home.0.join("signed.cab");
    let journal = home.0.join("driver.cab.hwdc.json");
    let (package_arg, out_arg) = (package.to_str().unwrap(), out.to_str().unwrap());
    let until = |stage: &'static str| {
        let args = submit_args(package_arg, out_arg, &["--until", stage]);
        let sim = &sim;
        let home = &home.0;
        async move {
            let args: Vec<String> = args.iter().map(|a| (*a).to_owned()).collect();
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            hwdc(sim, home, &args).await
        }
    };

    let uploaded = until("uploaded").await;
    assert_eq!(uploaded.code, 9, "{}", uploaded.stderr);
    assert_eq!(uploaded.json()["reached"], "uploaded");
    assert!(journal_of(&journal)["uploadedEtag"].is_string());
    assert_eq!(
        sim.requests("commitSubmission"),
        0,
        "uploaded, not committed"
    );

    // Asked to stop at an earlier step than the journal's: it stops where it is.
    let committed = until("committed").await;
    assert_eq!(committed.code, 9, "{}", committed.stderr);
    assert_eq!(committed.json()["reached"], "committed");
    let again = until("uploaded").await;
    assert_eq!(again.code, 9, "{}", again.stderr);
    assert_eq!(again.json()["reached"], "committed", "never back");
    assert_eq!(sim.requests("commitSubmission"), 1);

    let signed = until("signed").await;
    assert_eq!(signed.code, 9, "{}", signed.stderr);
    assert_eq!(signed.json()["reached"], "signed");
    assert_eq!(journal_of(&journal)["signed"], true);
    assert!(!out.exists(), "signed, not downloaded");

    let delivered = hwdc(&sim, &home.0, &submit_args(package_arg, out_arg, &[]))
        .await
        .ok();
    assert_eq!(delivered.json()["reached"], "delivered");
    assert!(out.exists());
    assert_finished(&journal);
    assert_eq!(sim.requests("createSubmission"), 1);
    assert_eq!(sim.requests("commitSubmission"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_batch_stopped_after_its_commits_is_pending_and_a_rerun_delivers() {
    let sim = start(quick()).await;
    let home = Scratch::new("detach-batch");
    let mut text = String::new();
    for i in 0..2 {
        home.file(&format!("d{i}.cab"), 30_000 + i, b"PK");
        text.push_str(&format!(
            "[[package]]\nfile = \"d{i}.cab\"\nname = \"entry-{i}\"\ncreate-product = \"Batch {i}\"\nout = \"signed-{i}.cab\"\n\n"
        ));
    }
    let manifest = home.0.join("fleet.toml");
    std::fs::write(&manifest, text).unwrap();
    let manifest = manifest.to_str().unwrap();
    let args = [
        "--output",
        "json",
        "batch",
        manifest,
        "--no-check",
        "--poll",
        "0.01",
    ];
    let paused = hwdc(
        &sim,
        &home.0,
        &[&args[..], &["--until", "committed"]].concat(),
    )
    .await;
    assert_eq!(paused.code, 9, "{}", paused.stderr);
    for entry in paused.json().as_array().unwrap() {
        assert_eq!(entry["state"], "pending", "{entry}");
        assert_eq!(entry["reached"], "committed", "{entry}");
        assert!(entry["submission"].is_u64(), "{entry}");
    }
    assert_eq!(sim.requests("commitSubmission"), 2);

    let delivered = hwdc(&sim, &home.0, &args).await.ok();
    for entry in delivered.json().as_array().unwrap() {
        assert_eq!(entry["state"], "succeeded", "{entry}");
        assert_eq!(entry["reached"], "delivered", "{entry}");
    }
    assert_eq!(sim.requests("createSubmission"), 2);
    assert_eq!(sim.requests("commitSubmission"), 2);
}

/// A flow run again after it finished reports the same delivery from its kept journal, with no
/// create. With the journal removed, the service refuses a second initial submission, and the
/// run ends with exit 8 naming the one that exists, every time, instead of a refusal no re-run
/// gets past; the same command with `--submission` continues with it.
#[tokio::test(flavor = "multi_thread")]
async fn a_finished_flow_run_again_names_its_submission_and_continues_with_it() {
    let sim = start(quick()).await;
    let home = Scratch::new("detach-again");
    let package = home.file("driver.cab", 40_000, b"PK");
    let out = home.0.join("signed.cab");
    let journal = home.0.join("driver.cab.hwdc.json");
    let (package_arg, out_arg) = (package.to_str().unwrap(), out.to_str().unwrap());
    let first = hwdc(&sim, &home.0, &submit_args(package_arg, out_arg, &[]))
        .await
        .ok()
        .json();
    let made = first["submission"].as_u64().unwrap();
    assert_finished(&journal);

    // Run again as a retried job would: the same delivery, nothing sent to make anything.
    let again = hwdc(&sim, &home.0, &submit_args(package_arg, out_arg, &[]))
        .await
        .ok()
        .json();
    assert_eq!(again["submission"].as_u64(), Some(made), "{again}");
    assert_eq!(again["sha256"], first["sha256"], "{again}");
    assert_eq!(sim.requests("createSubmission"), 1);
    assert_eq!(sim.requests("createProduct"), 1);

    // The journal removed by hand: the existing submission is named, never a second made.
    std::fs::remove_file(&journal).unwrap();
    for _ in 0..2 {
        let again = hwdc(&sim, &home.0, &submit_args(package_arg, out_arg, &[])).await;
        assert_eq!(again.code, 8, "{}", again.stderr);
        let error: Value = serde_json::from_str(again.stderr.lines().last().unwrap()).unwrap();
        assert_eq!(
            error["error"]["candidates"],
            serde_json::json!([made]),
            "{error}"
        );
        assert!(
            error["error"]["message"]
                .as_str()
                .unwrap()
                .contains("second initial submission"),
            "{error}"
        );
    }
    let made_text = made.to_string();
    let kept = hwdc(
        &sim,
        &home.0,
        &submit_args(package_arg, out_arg, &["--submission", &made_text]),
    )
    .await
    .ok()
    .json();
    assert_eq!(kept["submission"].as_u64(), Some(made));
    assert_eq!(kept["reached"], "delivered");
    assert_eq!(sim.requests("commitSubmission"), 1, "committed once");
    assert_eq!(sim.product_count(), 1);
}

/// A finished journal of other work (another package at the same path) is replaced, not
/// refused: nothing of it was left to do.
#[tokio::test(flavor = "multi_thread")]
async fn the_next_package_at_the_same_path_replaces_a_finished_journal() {
    let sim = start(quick()).await;
    let home = Scratch::new("detach-next");
    let package = home.file("driver.cab", 40_000, b"PK");
    let out = home.0.join("signed.cab");
    let journal = home.0.join("driver.cab.hwdc.json");
    let (package_arg, out_arg) = (package.to_str().unwrap(), out.to_str().unwrap());
    let first = hwdc(&sim, &home.0, &submit_args(package_arg, out_arg, &[]))
        .await
        .ok()
        .json();
    home.file("driver.cab", 41_000, b"PK");
    let args = [
        "--output",
        "json",
        "submit",
        "--no-check",
        package_arg,
        "--product",
        &first["product"].to_string(),
        "--name",
        "1.1",
        "--type",
        "derived",
        "--out",
        out_arg,
        "--poll",
        "0.01",
    ];
    let next = hwdc(&sim, &home.0, &args).await.ok().json();
    assert_ne!(next["submission"], first["submission"], "{next}");
    assert_eq!(next["reached"], "delivered");
    assert_finished(&journal);
    assert_eq!(sim.requests("createSubmission"), 2);
}
