//! The built `hwdc` binary against a simulator started by the test: every command, the JSON
//! output, an exit code for each class of failure, no secret in any output, resumes, profiles.

use std::path::Path;
use std::time::Duration;

use hw_sim::{Fault, FaultRule, SimConfig, SimHandle};
use serde_json::Value;

mod common;

use common::*;

#[tokio::test(flavor = "multi_thread")]
async fn lists_stream_as_json_arrays_and_tables_and_stop_at_a_limit() {
    let sim = start(SimConfig {
        seed_products: 120,
        ..quick()
    })
    .await;
    let home = Scratch::new("lists");
    let all = hwdc(&sim, &home.0, &["--output", "json", "products", "list"])
        .await
        .ok()
        .json();
    assert_eq!(
        all.as_array().unwrap().len(),
        120,
        "every page was followed"
    );
    // Each item carries the version of its shape beside its own fields.
    for item in all.as_array().unwrap() {
        assert_eq!(item["schema_version"], 1, "{item}");
        assert!(
            item["id"].is_u64() && item["productName"].is_string(),
            "{item}"
        );
    }
    let few = hwdc(
        &sim,
        &home.0,
        &["--output", "json", "products", "list", "--limit", "2"],
    )
    .await
    .ok()
    .json();
    assert_eq!(few.as_array().unwrap().len(), 2);
    let table = hwdc(&sim, &home.0, &["products", "list", "--limit", "3"])
        .await
        .ok();
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), 4, "{}", table.stdout);
    assert!(lines[0].starts_with("ID") && lines[1].contains("Seed product 0"));
    let empty = hwdc(&sim, &home.0, &["--output", "json", "audiences", "list"])
        .await
        .ok()
        .json();
    assert_eq!(empty.as_array().unwrap().len(), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn every_command_through_a_submission_and_a_label() {
    let sim = start(quick()).await;
    let home = Scratch::new("every");
    let json = ["--output", "json"];
    let product = hwdc(
        &sim,
        &home.0,
        &[
            &json[..],
            &[
                "products",
                "create",
                "--name",
                "Contoso",
                "--signature",
                "WINDOWS_v100_X64_RS5_FULL",
            ],
        ]
        .concat(),
    )
    .await
    .ok()
    .json();
    let p = id(&product);
    assert_eq!(
        hwdc(
            &sim,
            &home.0,
            &[&json[..], &["products", "get", &p]].concat()
        )
        .await
        .ok()
        .json()["productName"],
        "Contoso"
    );
    let submission = hwdc(
        &sim,
        &home.0,
        &[&json[..], &["submissions", "create", &p, "--name", "v1"]].concat(),
    )
    .await
    .ok()
    .json();
    let s = id(&submission);
    // Asked again, the create is sent again: the service refuses a second initial submission,
    // and the one that exists is not passed off as made by this run.
    let again = hwdc(
        &sim,
        &home.0,
        &[&json[..], &["submissions", "create", &p, "--name", "v1"]].concat(),
    )
    .await;
    assert_eq!(again.code, 5, "{}", again.stderr);
    assert!(
        again.stderr.contains("Initial submission already exists"),
        "{}",
        again.stderr
    );
    hwdc(
        &sim,
        &home.0,
        &["products", "update", &p, "--name", "Contoso 2"],
    )
    .await
    .ok();
    hwdc(
        &sim,
        &home.0,
        &["submissions", "update", &p, &s, "--name", "v1 final"],
    )
    .await
    .ok();
    let package = home.file("driver.cab", 100_000, b"PK");
    let uploaded = hwdc(
        &sim,
        &home.0,
        &[&json[..], &["upload", &p, &s, package.to_str().unwrap()]].concat(),
    )
    .await
    .ok()
    .json();
    assert_eq!(uploaded["bytes"], 100_000);
    hwdc(&sim, &home.0, &["submissions", "commit", &p, &s])
        .await
        .ok();
    let signed = hwdc(
        &sim,
        &home.0,
        &[
            &json[..],
            &["submissions", "wait", &p, &s, "--poll", "0.01"],
        ]
        .concat(),
    )
    .await
    .ok()
    .json();
    assert_eq!(signed["workflowStatus"]["currentStep"], "finalizeIngestion");
    let listed = hwdc(
        &sim,
        &home.0,
        &[&json[..], &["submissions", "list", &p]].concat(),
    )
    .await
    .ok()
    .json();
    assert_eq!(listed.as_array().unwrap().len(), 1);
    assert_eq!(
        hwdc(
            &sim,
            &home.0,
            &[&json[..], &["submissions", "get", &p, &s]].concat()
        )
        .await
        .ok()
        .json()["name"],
        "v1 final"
    );

    let out = home.0.join("signed.cab");
    let downloaded = hwdc(
        &sim,
        &home.0,
        &[
            &json[..],
            &["download", &p, &s, "--out", out.to_str().unwrap()],
        ]
        .concat(),
    )
    .await
    .ok()
    .json();
    assert_eq!(downloaded["md5_verified"], true);
    assert!(
        std::fs::read(&out)
            .unwrap()
            .ends_with(&std::fs::read(&package).unwrap())
    );
    let metadata = home.0.join("metadata.json");
    hwdc(
        &sim,
        &home.0,
        &[
            "download",
            &p,
            &s,
            "--kind",
            "metadata",
            "--out",
            metadata.to_str().unwrap(),
        ],
    )
    .await
    .ok();
    assert!(
        std::fs::read_to_string(&metadata)
            .unwrap()
            .contains("BundleInfoMap")
    );

    let label = hwdc(
        &sim,
        &home.0,
        &[
            &json[..],
            &[
                "labels",
                "create",
                &p,
                &s,
                "--name",
                "to WU",
                "--contact",
                "c@contoso.example",
                "--justification",
                "fix",
            ],
        ]
        .concat(),
    )
    .await
    .ok()
    .json();
    let l = id(&label);
    let labels = hwdc(
        &sim,
        &home.0,
        &[&json[..], &["labels", "list", &p, &s, "--targeting"]].concat(),
    )
    .await
    .ok()
    .json();
    assert_eq!(
        labels[0]["targeting"]["hardwareIds"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    hwdc(
        &sim,
        &home.0,
        &["labels", "wait", &p, &s, &l, "--poll", "0.01"],
    )
    .await
    .ok();
    let got = hwdc(
        &sim,
        &home.0,
        &[&json[..], &["labels", "get", &p, &s, &l, "--targeting"]].concat(),
    )
    .await
    .ok()
    .json();
    let first = got["targeting"]["hardwareIds"][0]["pnpString"]
        .as_str()
        .unwrap()
        .to_owned();
    hwdc(
        &sim,
        &home.0,
        &[
            "labels",
            "update",
            &p,
            &s,
            &l,
            "--remove-hardware-id",
            &first,
            "--clear-audiences",
        ],
    )
    .await
    .ok();
    // Waited for, so that the step the label is at does not depend on how fast this machine
    // starts a process (with 20 ms steps the update passes through the cancellable steps).
    hwdc(
        &sim,
        &home.0,
        &["labels", "wait", &p, &s, &l, "--poll", "0.01"],
    )
    .await
    .ok();
    let cancel = hwdc(&sim, &home.0, &["labels", "cancel", &p, &s, &l]).await;
    assert_eq!(
        cancel.code, 5,
        "a label whose update finished publishing cannot be cancelled: {}",
        cancel.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn submit_runs_the_whole_flow_and_a_rerun_resumes() {
    let sim = start(quick()).await;
    let home = Scratch::new("submit");
    let package = home.file("driver.cab", 50_000, b"PK");
    let out = home.0.join("signed.cab");
    let journal = home.0.join("driver.cab.hwdc.json");
    let args = |timeout: &'static str| {
        vec![
            "--output".to_owned(),
            "json".into(),
            "submit".into(),
            "--no-check".into(),
            package.to_str().unwrap().into(),
            "--create-product".into(),
            "Submitted".into(),
            "--name".into(),
            "1.0".into(),
            "--out".into(),
            out.to_str().unwrap().into(),
            "--poll".into(),
            "0.01".into(),
            "--timeout".into(),
            timeout.into(),
        ]
    };
    fn strs(v: &[String]) -> Vec<&str> {
        v.iter().map(String::as_str).collect()
    }
    // The first run stops while Microsoft signs it: the journal has how far it got.
    let stopped = hwdc(&sim, &home.0, &strs(&args("0"))).await;
    assert_eq!(stopped.code, 7, "{}", stopped.stderr);
    let state: Value = serde_json::from_slice(&std::fs::read(&journal).unwrap()).unwrap();
    assert_eq!(state["committed"], true, "{state}");
    let made = state["submission"].clone();
    assert!(made.is_u64(), "{state}");
    // The re-run continues the same submission and finishes.
    let second = hwdc(&sim, &home.0, &strs(&args("600"))).await.ok();
    let first = second.json();
    assert_eq!(first["submission"], made, "the same submission, continued");
    assert!(
        second.stderr.contains("already committed"),
        "{}",
        second.stderr
    );
    assert_eq!(
        first["bytes"].as_u64(),
        Some(std::fs::metadata(&out).unwrap().len())
    );
    assert_finished(&journal);
    assert_eq!(sim.product_count(), 1);
    let (p, s) = (
        first["product"].to_string(),
        first["submission"].to_string(),
    );
    let status = hwdc(
        &sim,
        &home.0,
        &["--output", "json", "submissions", "status", &p, &s],
    )
    .await
    .ok()
    .json();
    assert_eq!(status["progress"], "completed", "{status}");
    assert_eq!(status["schema_version"], 1, "{status}");
    assert_eq!(status["hasSignedPackage"], true, "{status}");
    assert_eq!(status["errorReport"], serde_json::Value::Null, "{status}");
    let line = hwdc(&sim, &home.0, &["submissions", "status", &p, &s])
        .await
        .ok();
    assert!(
        line.stdout.trim().ends_with("signed package ready"),
        "one line for a person: {}",
        line.stdout
    );
}

/// The service can list a new submission's package URL as `null` for a while: `submissions
/// create` shows it so, the list it reads first decodes it, and `submit` reads the submission
/// again until the URL is there, then goes on to the signed package.
#[tokio::test(flavor = "multi_thread")]
async fn submit_waits_for_an_upload_url_that_is_not_available_yet() {
    let sim = start(SimConfig {
        withhold_urls: 4,
        ..quick()
    })
    .await;
    let home = Scratch::new("withheld");
    let product = hwdc(
        &sim,
        &home.0,
        &[
            "--output", "json", "products", "create", "--name", "Withheld",
        ],
    )
    .await
    .ok()
    .json();
    let product = id(&product);
    let created = create_submission(&sim, &home.0, &product).await;
    assert_eq!(
        created["downloads"]["items"][0],
        serde_json::json!({"type": "initialPackage", "url": null}),
        "{created}"
    );
    // A list shows it too, its URL still withheld.
    let listed = hwdc(
        &sim,
        &home.0,
        &["--output", "json", "submissions", "list", &product],
    )
    .await
    .ok()
    .json();
    assert_eq!(
        listed[0]["downloads"]["items"][0]["url"],
        Value::Null,
        "{listed}"
    );

    let package = home.file("driver.cab", 50_000, b"PK");
    let out = home.0.join("signed.cab");
    let done = hwdc(
        &sim,
        &home.0,
        &[
            "-vv",
            "--output",
            "json",
            "submit",
            "--no-check",
            package.to_str().unwrap(),
            "--create-product",
            "Also withheld",
            "--name",
            "1.0",
            "--out",
            out.to_str().unwrap(),
            "--poll",
            "0.01",
        ],
    )
    .await
    .ok();
    assert!(
        done.stderr.contains("the file's URL is not available yet"),
        "the upload read the submission again: {}",
        done.stderr
    );
    let done = done.json();
    let submission: u64 = done["submission"].as_u64().expect("a submission id");
    let record = sim.submission(submission).expect("the submission");
    assert_eq!(record.urls_withheld, 0, "every withheld read was made");
    assert_eq!(
        sim.blob(&record.package_blob).map(|b| b.len()),
        Some(50_000),
        "the package was uploaded once the URL was there"
    );
    assert_eq!(
        done["bytes"].as_u64(),
        Some(std::fs::metadata(&out).unwrap().len())
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_demo_runs_start_to_finish() {
    let home = Scratch::new("demo");
    let run = run(
        bare_command(&home.0),
        &["demo", "--step-ms", "20", "--package-kib", "2500"],
    )
    .await
    .ok();
    for needle in [
        "1. Create a product",
        "3. Upload",
        "in 3 blocks",
        "finalizeIngestion completed",
        "holds the package we uploaded",
        "published",
        "Done.",
    ] {
        assert!(
            run.stdout.contains(needle),
            "{needle:?} missing from:\n{}",
            run.stdout
        );
    }
    assert!(
        !run.stdout.contains("sig=")
            || !run
                .stdout
                .split("sig=")
                .skip(1)
                .any(|rest| !rest.starts_with("REDACTED")),
        "{}",
        run.stdout
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn each_class_of_failure_has_its_exit_code() {
    let sim = start(SimConfig {
        faults: vec![FaultRule::new(Fault::Unavailable, 1.0).only("listAudiences")],
        ..quick()
    })
    .await;
    let home = Scratch::new("codes");
    let usage = hwdc(&sim, &home.0, &["products", "list", "--no-such-flag"]).await;
    assert_eq!(usage.code, 2);
    let mut no_tenant = command(&sim, &home.0);
    no_tenant.env_remove("HW_TENANT_ID");
    let missing = run(no_tenant, &["products", "list"]).await;
    assert_eq!(missing.code, 2, "{}", missing.stderr);
    assert!(
        missing.stderr.contains("no tenant id"),
        "{}",
        missing.stderr
    );

    let mut wrong = command(&sim, &home.0);
    wrong.env("HW_CLIENT_SECRET", "wrong");
    let auth = run(wrong, &["products", "list"]).await;
    assert_eq!(auth.code, 3, "{}", auth.stderr);
    assert!(auth.stderr.contains("AADSTS7000215"), "{}", auth.stderr);

    assert_eq!(
        hwdc(&sim, &home.0, &["products", "get", "42"]).await.code,
        4
    );
    let product = sim.add_product("rules").to_string();
    let rejected = hwdc(
        &sim,
        &home.0,
        &["products", "update", &product, "--name", "x"],
    )
    .await;
    assert_eq!(rejected.code, 5, "{}", rejected.stderr);

    let package = home.file("bad.cab", 2_000, b"HWSIM-FAIL-AT:validation");
    let out = home.0.join("never.cab");
    let failed = hwdc(
        &sim,
        &home.0,
        &[
            "submit",
            "--no-check",
            package.to_str().unwrap(),
            "--product",
            &product,
            "--name",
            "bad",
            "--out",
            out.to_str().unwrap(),
            "--poll",
            "0.01",
        ],
    )
    .await;
    assert_eq!(failed.code, 6, "{}", failed.stderr);
    assert!(
        failed.stderr.contains("failed at step validation"),
        "{}",
        failed.stderr
    );

    let transient = hwdc(&sim, &home.0, &["audiences", "list", "--max-attempts", "2"]).await;
    assert_eq!(transient.code, 75, "{}", transient.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_wait_that_times_out_exits_7() {
    let home = Scratch::new("wait-timeout");
    let (sim, product, s) = a_slow_committed_submission(&home).await;
    let timed_out = hwdc(
        &sim,
        &home.0,
        &[
            "submissions",
            "wait",
            &product,
            &s,
            "--timeout",
            "1",
            "--poll",
            "0.2",
        ],
    )
    .await;
    assert_eq!(timed_out.code, 7, "{}", timed_out.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_second_run_of_a_package_is_refused_while_the_first_holds_its_journal() {
    let sim = start(signing_slowly()).await;
    let home = Scratch::new("locked submit");
    let submit = SpacedSubmit::new(&home, "Locked");
    let first = submit.start_until_signing(&sim, &home).await;
    let second = hwdc(&sim, &home.0, &submit.args()).await;
    assert_ne!(second.code, 0);
    assert!(second.stderr.contains("another run"), "{}", second.stderr);
    let first = finish(first).await.ok();
    submit.check_finished(&sim, &first.json());
}

#[tokio::test(flavor = "multi_thread")]
async fn errors_in_json_mode_are_one_json_object_on_stderr() {
    let sim = start(quick()).await;
    let home = Scratch::new("json-errors");
    let run = hwdc(
        &sim,
        &home.0,
        &["--output", "json", "products", "get", "42"],
    )
    .await;
    assert_eq!(run.code, 4);
    assert!(run.stdout.is_empty());
    let error: Value = serde_json::from_str(run.stderr.trim().lines().last().unwrap()).unwrap();
    // The library's words: the kind of failure (`ErrorKind`), and which error it is.
    assert_eq!(error["error"]["kind"], "not_found");
    assert_eq!(error["error"]["name"], "service");
    assert_eq!(error["error"]["schema_version"], 1);
    assert_eq!(error["error"]["status"], 404);
    assert_eq!(error["error"]["code"], "entityNotFound");
    assert_eq!(error["error"]["exit_code"], 4);
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_appears_in_any_output_at_trace_level() {
    let sim = start(quick()).await;
    let home = Scratch::new("secrets");
    let product = sim.add_product("secrets").to_string();
    let package = home.file("driver.cab", 30_000, b"PK");
    let out = home.0.join("signed.cab");
    let run = hwdc(
        &sim,
        &home.0,
        &[
            "-vvv",
            "submit",
            "--no-check",
            package.to_str().unwrap(),
            "--product",
            &product,
            "--name",
            "v1",
            "--out",
            out.to_str().unwrap(),
            "--poll",
            "0.01",
        ],
    )
    .await
    .ok();
    let json = hwdc(
        &sim,
        &home.0,
        &["-vvv", "--output", "json", "submissions", "list", &product],
    )
    .await
    .ok();
    let everything = format!("{}{}{}{}", run.stdout, run.stderr, json.stdout, json.stderr);
    assert!(
        everything.contains("TRACE") || everything.contains("DEBUG"),
        "the logs were on"
    );
    assert!(!everything.contains(SECRET), "the client secret leaked");
    assert!(!everything.contains("hwsim."), "an access token leaked");
    for rest in everything.split("sig=").skip(1) {
        assert!(
            rest.starts_with("REDACTED"),
            "a SAS signature leaked: sig={}",
            &rest[..rest.len().min(20)]
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_interrupted_upload_resumes_on_the_next_run() {
    let sim = start(SimConfig {
        faults: vec![
            FaultRule::new(Fault::InternalError, 1.0)
                .only("putBlock")
                .after(2)
                .at_most(1),
        ],
        ..quick()
    })
    .await;
    let home = Scratch::new("resume");
    let product = sim.add_product("resume").to_string();
    let created = create_submission(&sim, &home.0, &product).await;
    let s = id(&created);
    let package = home.file("big.cab", 20 * 1024 * 1024 + 5, b"PK");
    let failed = hwdc(
        &sim,
        &home.0,
        &[
            "--max-attempts",
            "1",
            "upload",
            &product,
            &s,
            package.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(failed.code, 75, "{}", failed.stderr);
    let resumed = hwdc(
        &sim,
        &home.0,
        &[
            "--output",
            "json",
            "upload",
            &product,
            &s,
            package.to_str().unwrap(),
        ],
    )
    .await
    .ok()
    .json();
    assert_eq!(resumed["blocks"], 6, "20 MiB in 4 MiB blocks");
    assert!(resumed["blocks_reused"].as_u64().unwrap() >= 2, "{resumed}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_profile_supplies_settings_and_a_readable_secret_is_warned_about() {
    let sim = start(SimConfig {
        seed_products: 1,
        ..quick()
    })
    .await;
    let home = Scratch::new("profile");
    let app = sim.app().unwrap();
    let config = home.0.join("config.toml");
    std::fs::write(
        &config,
        format!(
            "[profile.ci]\nbase_url = \"{}\"\nauthority_host = \"{}\"\ntenant_id = \"{}\"\nclient_id = \"{}\"\nclient_secret = \"{}\"\ntoken_endpoint = \"v1\"\n",
            sim.api_url(),
            sim.authority_url(),
            app.tenant_id,
            app.client_id,
            app.secret
        ),
    )
    .unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o644)).unwrap();
    }
    let mut only_profile = bare_command(&home.0);
    for var in [
        "HW_API_BASE_URL",
        "HW_AUTHORITY_HOST",
        "HW_TENANT_ID",
        "HW_CLIENT_ID",
        "HW_CLIENT_SECRET",
        "AZURE_TENANT_ID",
        "AZURE_CLIENT_ID",
        "AZURE_CLIENT_SECRET",
    ] {
        only_profile.env_remove(var);
    }
    only_profile
        .env("HOME", &home.0)
        .env("HWDC_CONFIG", &config);
    let listed = run(
        only_profile,
        &["--profile", "ci", "--output", "json", "products", "list"],
    )
    .await
    .ok();
    assert_eq!(listed.json().as_array().unwrap().len(), 1);
    #[cfg(unix)]
    assert!(
        listed.stderr.contains("can be read by other users"),
        "{}",
        listed.stderr
    );
    assert!(!listed.stderr.contains(SECRET));
    let unknown = hwdc(
        &sim,
        &home.0,
        &[
            "--config",
            config.to_str().unwrap(),
            "--profile",
            "nope",
            "products",
            "list",
        ],
    )
    .await;
    assert_eq!(unknown.code, 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn flags_beat_the_environment_which_beats_the_profile_and_azure_variables_are_fallbacks() {
    let sim = start(SimConfig {
        seed_products: 1,
        ..quick()
    })
    .await;
    let home = Scratch::new("precedence");
    let app = sim.app().unwrap();
    // A flag beats the environment: a wrong --base-url fails although the environment is right.
    let flag = hwdc(
        &sim,
        &home.0,
        &[
            "--base-url",
            "http://127.0.0.1:9/v2.0/my",
            "--max-attempts",
            "1",
            "products",
            "list",
        ],
    )
    .await;
    assert_eq!(flag.code, 75, "{}", flag.stderr);
    // The environment beats the profile: the profile's wrong tenant is not used.
    let config = home.0.join("config.toml");
    std::fs::write(
        &config,
        "[profile.default]\ntenant_id = \"no-such-tenant\"\n",
    )
    .unwrap();
    let mut with_profile = command(&sim, &home.0);
    with_profile.env("HWDC_CONFIG", &config);
    run(with_profile, &["products", "list"]).await.ok();
    // AZURE_* are fallbacks, and the secret may come from a file.
    let secret_file = home.0.join("secret");
    std::fs::write(&secret_file, format!("{}\n", app.secret)).unwrap();
    let mut azure = command(&sim, &home.0);
    azure
        .env_remove("HW_TENANT_ID")
        .env_remove("HW_CLIENT_ID")
        .env_remove("HW_CLIENT_SECRET")
        .env("AZURE_TENANT_ID", &app.tenant_id)
        .env("AZURE_CLIENT_ID", &app.client_id);
    let listed = run(
        azure,
        &[
            "--client-secret-file",
            secret_file.to_str().unwrap(),
            "--output",
            "json",
            "products",
            "list",
        ],
    )
    .await
    .ok();
    assert_eq!(listed.json().as_array().unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn json_output_never_carries_a_sas_signature_and_usage_errors_are_json_too() {
    let sim = start(quick()).await;
    let home = Scratch::new("json-sig");
    let product = sim.add_product("p").to_string();
    let created = create_submission(&sim, &home.0, &product).await;
    let url = created["downloads"]["items"][0]["url"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(url.contains("sig=REDACTED"), "{url}");
    let s = id(&created);
    let got = hwdc(
        &sim,
        &home.0,
        &["--output", "json", "submissions", "get", &product, &s],
    )
    .await
    .ok();
    for rest in got.stdout.split("sig=").skip(1) {
        assert!(rest.starts_with("REDACTED"), "{}", got.stdout);
    }
    let usage = hwdc(
        &sim,
        &home.0,
        &["--output", "json", "products", "list", "--bogus"],
    )
    .await;
    assert_eq!(usage.code, 2);
    let error: Value = serde_json::from_str(usage.stderr.trim()).unwrap();
    assert_eq!(error["error"]["kind"], "config");
    assert_eq!(error["error"]["name"], "usage");
    assert_eq!(error["error"]["exit_code"], 2);
    let bad_poll = hwdc(
        &sim,
        &home.0,
        &["submissions", "wait", &product, &s, "--poll", "nan"],
    )
    .await;
    assert_eq!(bad_poll.code, 2, "{}", bad_poll.stderr);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_derived_submit_killed_mid_upload_continues_the_same_submission() {
    // Put Block answers slowly after the first (each is stored at once, then answered late).
    let sim = start(SimConfig {
        faults: vec![
            FaultRule::new(Fault::Slow(Duration::from_secs(2)), 1.0)
                .only("putBlock")
                .after(1)
                .at_most(2),
        ],
        ..quick()
    })
    .await;
    let home = Scratch::new("killed");
    let product = sim.add_product("killed").to_string();
    hwdc(
        &sim,
        &home.0,
        &["submissions", "create", &product, "--name", "1.0"],
    )
    .await
    .ok();
    let package = home.file("derived.cab", 20 * 1024 * 1024 + 5, b"PK");
    let out = home.0.join("signed-2.0.cab");
    let journal = home.0.join("derived.cab.hwdc.json");
    let args = [
        "--output",
        "json",
        "submit",
        "--no-check",
        package.to_str().unwrap(),
        "--product",
        &product,
        "--type",
        "derived",
        "--name",
        "2.0",
        "--out",
        out.to_str().unwrap(),
        "--poll",
        "0.01",
    ];
    let mut killed = command(&sim, &home.0)
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Killed (SIGKILL on Unix, TerminateProcess on Windows) once blocks are arriving: the
    // first is answered at once, the next ones are stored and answered late.
    let started = std::time::Instant::now();
    while sim.requests("putBlock") < 2 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "no blocks arrived"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    killed.kill().unwrap();
    killed.wait().unwrap();
    let state: Value = serde_json::from_slice(&std::fs::read(&journal).unwrap()).unwrap();
    assert_eq!(
        state["uploadedEtag"],
        Value::Null,
        "killed before the upload finished"
    );
    let rerun = hwdc(&sim, &home.0, &args).await.ok();
    assert_eq!(rerun.json()["submission"], state["submission"]);
    assert!(
        !rerun.stderr.contains(", 0 already there"),
        "the upload resumed: {}",
        rerun.stderr
    );
    let named_2 = sim
        .submissions_of(product.parse().unwrap())
        .into_iter()
        .filter(|s| s.name == "2.0")
        .count();
    assert_eq!(named_2, 1, "one submission named 2.0");
    assert_finished(&journal);
    assert!(out.exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_journal_of_another_package_is_refused_and_restart_discards_it() {
    let sim = start(quick()).await;
    let home = Scratch::new("journal");
    let package = home.file("driver.cab", 10_000, b"PK");
    let journal = home.0.join("driver.cab.hwdc.json");
    std::fs::write(
        &journal,
        serde_json::to_vec(&serde_json::json!({
            "version": 1,
            "packageSha256": "00".repeat(32),
            "account": "someone/else",
            "submissionName": "1.0",
            "product": 1,
            "committed": false,
            "signed": false
        }))
        .unwrap(),
    )
    .unwrap();
    let out = home.0.join("signed.cab");
    let args = [
        "submit",
        "--no-check",
        package.to_str().unwrap(),
        "--create-product",
        "Journal",
        "--name",
        "1.0",
        "--out",
        out.to_str().unwrap(),
        "--poll",
        "0.01",
    ];
    let refused = hwdc(&sim, &home.0, &args).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("another package") && refused.stderr.contains("--restart"),
        "{}",
        refused.stderr
    );
    assert_eq!(sim.product_count(), 0, "nothing was sent");
    let restarted = hwdc(&sim, &home.0, &[&args[..], &["--restart"]].concat())
        .await
        .ok();
    assert!(
        restarted.stdout.contains("Signed package"),
        "{}",
        restarted.stdout
    );
    assert_eq!(sim.product_count(), 1);
}

/// A journal as a run killed just after sending its create would leave: the product's
/// submissions before it (`before`), and when it was sent (long ago: nothing to wait for).
fn interrupted_journal(sim: &SimHandle, package: &Path, product: &str, before: &[u64]) -> Value {
    use sha2::Digest;
    let sha: String = sha2::Sha256::digest(std::fs::read(package).unwrap())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let app = sim.app().unwrap();
    let origin = sim.urls().api_origin.clone();
    serde_json::json!({
        "version": 1,
        "packageSha256": sha,
        "account": format!("{}/{} at {origin}", app.tenant_id, app.client_id).to_lowercase(),
        "submissionName": "2.0",
        "productChoice": format!("id {product}"),
        "submissionType": "derived",
        "product": product.parse::<u64>().unwrap(),
        "submissionsBefore": {"ids": before},
        "createSentAt": 0,
        "committed": false,
        "signed": false
    })
}

#[tokio::test(flavor = "multi_thread")]
async fn a_rerun_settles_the_create_an_interrupted_run_sent() {
    let sim = start(quick()).await;
    let home = Scratch::new("settle");
    let product = sim.add_product("settle").to_string();
    let created = |name: &'static str, kind: &'static str| {
        let (sim, home, product) = (&sim, &home, product.clone());
        async move {
            let made = hwdc(
                sim,
                &home.0,
                &[
                    "--output",
                    "json",
                    "submissions",
                    "create",
                    &product,
                    "--name",
                    name,
                    "--type",
                    kind,
                ],
            )
            .await
            .ok()
            .json();
            made["id"].as_u64().unwrap()
        }
    };
    let initial = created("1.0", "initial").await;
    let package = home.file("derived.cab", 30_000, b"PK");
    let journal = home.0.join("derived.cab.hwdc.json");
    let out = home.0.join("signed.cab");
    let args = [
        "--output",
        "json",
        "submit",
        "--no-check",
        package.to_str().unwrap(),
        "--product",
        &product,
        "--type",
        "derived",
        "--name",
        "2.0",
        "--out",
        out.to_str().unwrap(),
        "--poll",
        "0.01",
    ];
    let write =
        |value: Value| std::fs::write(&journal, serde_json::to_vec(&value).unwrap()).unwrap();
    // The interrupted run's create was processed: the one new "2.0" is adopted, not made again.
    let made_by_it = created("2.0", "derived").await;
    write(interrupted_journal(&sim, &package, &product, &[initial]));
    let adopted = hwdc(&sim, &home.0, &args).await.ok().json();
    assert_eq!(adopted["submission"], made_by_it);
    let count_2 = || {
        sim.submissions_of(product.parse().unwrap())
            .into_iter()
            .filter(|s| s.name == "2.0")
            .count()
    };
    assert_eq!(count_2(), 1);
    // It was not: with nothing new since the snapshot, the create is sent.
    let before: Vec<u64> = sim
        .submissions_of(product.parse().unwrap())
        .iter()
        .map(|s| s.id)
        .collect();
    write(interrupted_journal(&sim, &package, &product, &before));
    let sent = hwdc(&sim, &home.0, &args).await.ok().json();
    assert!(!before.contains(&sent["submission"].as_u64().unwrap()));
    assert_eq!(count_2(), 2);
    // Two new ones where one create ran: a person must choose (exit 8, with the ids).
    let (a, b) = (
        created("2.0", "derived").await,
        created("2.0", "derived").await,
    );
    let mut ids: Vec<u64> = sim
        .submissions_of(product.parse().unwrap())
        .iter()
        .map(|s| s.id)
        .filter(|id| *id != a && *id != b)
        .collect();
    ids.sort_unstable();
    write(interrupted_journal(&sim, &package, &product, &ids));
    let stuck = hwdc(&sim, &home.0, &args).await;
    assert_eq!(stuck.code, 8, "{}", stuck.stderr);
    let error: Value = serde_json::from_str(stuck.stderr.trim().lines().last().unwrap()).unwrap();
    assert_eq!(error["error"]["candidates"], serde_json::json!([a, b]));
    assert_eq!(count_2(), 4, "nothing was sent");
    // The person keeps one: --submission continues with it.
    let kept = hwdc(
        &sim,
        &home.0,
        &[&args[..], &["--submission", &a.to_string()]].concat(),
    )
    .await
    .ok()
    .json();
    assert_eq!(kept["submission"], a);
    assert_finished(&journal);
}

#[tokio::test(flavor = "multi_thread")]
async fn block_size_and_parallelism_are_flags() {
    let sim = start(quick()).await;
    let home = Scratch::new("blocks");
    let product = sim.add_product("blocks").to_string();
    let created = create_submission(&sim, &home.0, &product).await;
    let s = id(&created);
    let package = home.file("three.cab", 3 * 1024 * 1024 - 1, b"PK");
    let uploaded = hwdc(
        &sim,
        &home.0,
        &[
            "--output",
            "json",
            "--block-size",
            "1",
            "--parallel",
            "2",
            "upload",
            &product,
            &s,
            package.to_str().unwrap(),
        ],
    )
    .await
    .ok()
    .json();
    assert_eq!(uploaded["blocks"], 3, "{uploaded}");
    assert!(
        hwdc(&sim, &home.0, &["--parallel", "0", "products", "list"])
            .await
            .code
            == 2,
        "a parallelism of 0 is a usage error"
    );
}

/// The commands `--help` (of hwdc, or of a command group) lists, without `help`.
fn help_commands(args: &[&str]) -> Vec<String> {
    let output = common::isolated_command()
        .args(args)
        .arg("--help")
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_owned)
        .collect()
}

/// The README's list of commands is `hwdc --help`'s: every command, and for each group every
/// subcommand, neither more nor less.
#[test]
fn the_readme_lists_the_commands_of_the_help() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .unwrap()
        .replace("\r\n", "\n");
    let block = readme
        .split("<!-- commands -->")
        .nth(1)
        .and_then(|rest| rest.split("<!-- /commands -->").next())
        .expect("the README marks its list of commands");
    let mut listed: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for line in block.lines().filter(|l| l.starts_with("- ")) {
        // Each backticked item that opens with a command: `name` or `name sub|sub`.
        for item in line.split('`').skip(1).step_by(2) {
            if item.starts_with('-') {
                continue;
            }
            let mut words = item.split(' ');
            let name = words.next().unwrap().to_owned();
            let subs: Vec<String> = words
                .next()
                .map(|s| s.split('|').map(str::to_owned).collect())
                .unwrap_or_default();
            listed.insert(name, subs);
        }
    }
    let top = help_commands(&[]);
    let mut sorted_top = top.clone();
    sorted_top.sort();
    assert_eq!(
        listed.keys().cloned().collect::<Vec<_>>(),
        sorted_top,
        "the README's commands against `hwdc --help`"
    );
    for name in &top {
        let mut subs = help_commands(&[name]);
        let mut readme_subs = listed[name].clone();
        subs.sort();
        readme_subs.sort();
        assert_eq!(
            readme_subs, subs,
            "the README's `{name}` against `hwdc {name} --help`"
        );
    }
}
