//! The pre-flight rules: each refusal the service would make is found before the request, in
//! `check`'s format, and hw-sim (which enforces the same rule, as the service does) is never
//! asked; `--no-check` sends the request, and hw-sim refuses it.

mod common;

use common::{Scratch, hwdc, quick, sent, signed_submission, start};

/// A run with its own trace: the run and how many times it sent `operation`.
async fn traced(
    sim: &hw_sim::SimHandle,
    home: &Scratch,
    args: &[&str],
    operation: &str,
) -> (common::Run, usize) {
    let trace = home.0.join("trace.jsonl");
    let mut all = vec!["--record", trace.to_str().unwrap()];
    all.extend_from_slice(args);
    let run = hwdc(sim, &home.0, &all).await;
    let count = sent(&trace, operation);
    (run, count)
}

/// `hwdc submit` of a small package with `flags`, traced: the run and how many times it sent
/// `operation`.
async fn submit(
    sim: &hw_sim::SimHandle,
    home: &Scratch,
    flags: &[&str],
    operation: &str,
) -> (common::Run, usize) {
    let cab = home.file("driver.zip", 100, b"PK");
    let out = home.0.join("signed.zip");
    let mut args = vec!["submit", cab.to_str().unwrap(), "--name", "v1"];
    args.extend_from_slice(flags);
    args.extend(["-o", out.to_str().unwrap()]);
    traced(sim, home, &args, operation).await
}

/// The refusal before sending, then hw-sim's when sent anyway.
async fn refused_before_and_by_the_service(
    sim: &hw_sim::SimHandle,
    home: &Scratch,
    args: &[&str],
    operation: &str,
    rule: &str,
) {
    let (run, count) = traced(sim, home, args, operation).await;
    assert_eq!(run.code, 5, "{args:?}: {}", run.stderr);
    assert!(run.stderr.contains(&format!("[{rule}]")), "{}", run.stderr);
    assert_eq!(count, 0, "{args:?}: the service was asked");
    let mut anyway = args.to_vec();
    anyway.push("--no-check");
    let (run, count) = traced(sim, home, &anyway, operation).await;
    assert_eq!(count, 1, "{anyway:?}: sent once");
    assert_eq!(
        run.code, 5,
        "{anyway:?}: the service refuses it: {}",
        run.stderr
    );
    assert!(run.stderr.contains("invalidInput"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn attestation_takes_no_server_code() {
    let sim = start(quick()).await;
    let home = Scratch::new("preflight-server");
    let args = [
        "products",
        "create",
        "--name",
        "Server",
        "--harness",
        "attestation",
        "--signature",
        "win11-x64",
        "--signature",
        "WINDOWS_v100_SERVER_X64_GE_FULL",
    ];
    refused_before_and_by_the_service(&sim, &home, &args, "createProduct", "P2").await;
    // `submit` refuses it before signing in (no token asked for either).
    let flags = [
        "--create-product",
        "Server",
        "--harness",
        "attestation",
        "--signature",
        "server-x64",
    ];
    let (run, tokens) = submit(&sim, &home, &flags, "token").await;
    assert_eq!(run.code, 5, "{}", run.stderr);
    assert!(run.stderr.contains("[P2]"), "{}", run.stderr);
    assert_eq!(tokens, 0, "not even signed in");
    // A warning only for a code before Windows 10: the product is made.
    let (run, count) = traced(
        &sim,
        &home,
        &[
            "products",
            "create",
            "--name",
            "Old",
            "--harness",
            "attestation",
            "--signature",
            "WINDOWS_v63_X64",
        ],
        "createProduct",
    )
    .await;
    assert_eq!((run.code, count), (0, 1), "{}", run.stderr);
    assert!(
        sent(&home.0.join("trace.jsonl"), "token") > 0,
        "a sign-in is traced as `token`, so its absence above means none"
    );
    assert!(
        run.stderr.contains("warning the new product [P2]"),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn derived_submissions_of_attestation_products() {
    let sim = start(quick()).await;
    let home = Scratch::new("preflight-derived");
    let (p, _) = signed_submission(&sim, &home.0, "attestation", &["win11-x64"]).await;
    let args = [
        "submissions",
        "create",
        &p,
        "--name",
        "v2",
        "--type",
        "derived",
    ];
    refused_before_and_by_the_service(&sim, &home, &args, "createSubmission", "P3").await;
    // `submit --type derived` too, before any submission is made.
    let flags = ["--product", &p, "--type", "derived"];
    let (run, count) = submit(&sim, &home, &flags, "createSubmission").await;
    assert_eq!((run.code, count), (5, 0), "{}", run.stderr);
    assert!(run.stderr.contains("[P3]"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn attestation_labels_need_an_audience() {
    let sim = start(quick()).await;
    let home = Scratch::new("preflight-audience");
    let (p, s) = signed_submission(&sim, &home.0, "attestation", &["win11-x64"]).await;
    let args = ["labels", "create", &p, &s, "--name", "retail", "--manual"];
    refused_before_and_by_the_service(&sim, &home, &args, "createShippingLabel", "P1").await;
    // With an audience: made.
    let audiences = hwdc(&sim, &home.0, &["--output", "json", "audiences", "list"])
        .await
        .ok()
        .json();
    let audience = audiences[0]["id"].as_str().unwrap().to_owned();
    let made = hwdc(
        &sim,
        &home.0,
        &[
            "--output",
            "json",
            "labels",
            "create",
            &p,
            &s,
            "--name",
            "codev",
            "--manual",
            "--audience",
            &audience,
        ],
    )
    .await
    .ok()
    .json();
    let label = common::id(&made);
    hwdc(
        &sim,
        &home.0,
        &["labels", "wait", &p, &s, &label, "--poll", "0.02"],
    )
    .await
    .ok();
    // Its audience cannot be cleared.
    let clear = ["labels", "update", &p, &s, &label, "--clear-audiences"];
    refused_before_and_by_the_service(&sim, &home, &clear, "updateShippingLabel", "P1").await;
}
