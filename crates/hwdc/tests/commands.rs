//! The commands a person and a pipeline need around the flow: `config init|path|show`,
//! `completions`, `man`, and the result objects of `upload`, `download` and `commit`.

mod common;

use common::*;

/// `hwdc` with the simulator's endpoints and ids but no secret, configured under `home`.
fn without_secret(sim: &hw_sim::SimHandle, home: &std::path::Path) -> std::process::Command {
    let mut command = common::command(sim, home);
    command.env_remove("HW_CLIENT_SECRET");
    command
}

#[tokio::test(flavor = "multi_thread")]
async fn config_init_writes_a_private_profile_that_show_redacts_and_commands_use() {
    let sim = start(hw_sim::SimConfig {
        seed_products: 2,
        ..quick()
    })
    .await;
    let home = Scratch::new("config-init");
    let secret = sim.app().unwrap().secret.clone();
    let init = run_with_input(
        without_secret(&sim, &home.0),
        &["--output", "json", "config", "init"],
        format!("{secret}\n").as_bytes(),
    )
    .await
    .ok();
    let result = init.json();
    assert_eq!(result["client_secret_stored"], true, "{result}");
    let path = std::path::PathBuf::from(result["path"].as_str().unwrap());
    assert_eq!(path, config_dir(&home.0).join("config.toml"));
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("[profile.default]") && text.contains(&secret),
        "{text}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    assert!(!init.stdout.contains(&secret) && !init.stderr.contains(&secret));

    // `config path` names the same file.
    let shown = run(
        without_secret(&sim, &home.0),
        &["--output", "json", "config", "path"],
    )
    .await
    .ok()
    .json();
    assert_eq!(shown["path"], result["path"]);
    assert_eq!(shown["exists"], true);

    // `config show`: the secret redacted, each setting with its source.
    let show = run(without_secret(&sim, &home.0), &["config", "show"])
        .await
        .ok();
    assert!(!show.stdout.contains(&secret), "{}", show.stdout);
    assert!(
        show.stdout
            .contains("client_secret = (set; redacted) (profile)"),
        "{}",
        show.stdout
    );
    let json = run(
        without_secret(&sim, &home.0),
        &["--output", "json", "config", "show"],
    )
    .await
    .ok()
    .json();
    assert_eq!(json["settings"]["client_secret"]["source"], "profile");
    assert_eq!(
        json["settings"]["tenant_id"]["source"],
        "flag or HW_TENANT_ID"
    );

    // Only the profile: every setting from the file.
    let mut only_profile = bare_command(&home.0);
    for var in [
        "HW_API_BASE_URL",
        "HW_AUTHORITY_HOST",
        "HW_TENANT_ID",
        "HW_CLIENT_ID",
    ] {
        only_profile.env_remove(var);
    }
    only_profile.env("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9");
    let listed = run(only_profile, &["--output", "json", "products", "list"])
        .await
        .ok();
    assert_eq!(listed.json().as_array().unwrap().len(), 2);

    // A second init keeps the profile unless --force; another profile leaves it alone.
    let again = run_with_input(without_secret(&sim, &home.0), &["config", "init"], b"x\n").await;
    assert_eq!(again.code, 2, "{}", again.stderr);
    run(
        without_secret(&sim, &home.0),
        &["--profile", "ci", "config", "init", "--no-secret"],
    )
    .await
    .ok();
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("[profile.ci]") && text.contains(&secret),
        "{text}"
    );
    // No secret on standard input: refused, nothing written.
    let empty = run_with_input(
        without_secret(&sim, &home.0),
        &["--profile", "other", "config", "init"],
        b"",
    )
    .await;
    assert_eq!(empty.code, 2, "{}", empty.stderr);
    assert!(
        !std::fs::read_to_string(&path)
            .unwrap()
            .contains("profile.other")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn completions_and_the_man_page_come_from_the_same_definitions() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let done = run(isolated_command(), &["completions", shell]).await.ok();
        for word in ["hwdc", "package", "check", "submit", "signature"] {
            assert!(done.stdout.contains(word), "{shell} lacks {word}");
        }
    }
    let unknown = run(isolated_command(), &["completions", "tcsh"]).await;
    assert_eq!(unknown.code, 2);
    // A reader that goes away (`| head`) ends the output quietly: no panic, exit 0.
    let mut closed = isolated_command();
    closed
        .args(["completions", "bash"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = closed.spawn().unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success() && !stderr.contains("panicked"),
        "{stderr}"
    );
    let man = run(isolated_command(), &["man"]).await.ok();
    assert!(man.stdout.contains(".TH hwdc"), "not roff: {}", man.stdout);
    for word in ["package", "completions", "Exit codes"] {
        assert!(man.stdout.contains(word), "the man page lacks {word}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn upload_download_and_commit_answer_with_result_objects() {
    use base64::Engine;
    use md5::Digest as _;
    let sim = start(quick()).await;
    let home = Scratch::new("results");
    let product = hwdc(
        &sim,
        &home.0,
        &[
            "--output", "json", "products", "create", "--name", "Results",
        ],
    )
    .await
    .ok()
    .json();
    let p = id(&product);
    let s = id(&create_submission(&sim, &home.0, &p).await);
    let file = home.file("driver.cab", 300_000, b"MSCF");
    let bytes = std::fs::read(&file).unwrap();
    let sha256: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    let md5 = base64::engine::general_purpose::STANDARD.encode(md5::Md5::digest(&bytes));
    let up = hwdc(
        &sim,
        &home.0,
        &["--output", "json", "upload", &p, &s, file.to_str().unwrap()],
    )
    .await
    .ok()
    .json();
    assert_eq!(up["bytes"], 300_000);
    assert_eq!(up["sha256"], sha256.as_str());
    assert_eq!(up["content_md5"], md5.as_str());
    assert_eq!(up["product"].to_string(), p);
    let out = home.0.join("back.cab");
    let down = hwdc(
        &sim,
        &home.0,
        &[
            "--output",
            "json",
            "download",
            &p,
            &s,
            "--kind",
            "initial",
            "-o",
            out.to_str().unwrap(),
        ],
    )
    .await
    .ok()
    .json();
    assert_eq!(down["sha256"], sha256.as_str());
    assert_eq!(down["kind"], "initial");
    assert_eq!(down["md5_verified"], true);
    let commit = hwdc(
        &sim,
        &home.0,
        &["--output", "json", "submissions", "commit", &p, &s],
    )
    .await
    .ok()
    .json();
    assert_eq!(commit["committed"], true);
    assert_eq!(commit["submission"].to_string(), s);
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_checks_a_working_configuration_and_names_what_is_broken() {
    let sim = start(quick()).await;
    let home = Scratch::new("doctor");
    let secret = sim.app().unwrap().secret.clone();
    let results = |findings: &serde_json::Value| -> Vec<(String, String)> {
        findings
            .as_array()
            .unwrap()
            .iter()
            .map(|f| {
                (
                    f["check"].as_str().unwrap().to_owned(),
                    f["result"].as_str().unwrap().to_owned(),
                )
            })
            .collect()
    };
    // A proxy with credentials, bypassed for the simulator's loopback address.
    let mut working = common::command(&sim, &home.0);
    working
        .env("HTTPS_PROXY", "http://user:proxy-password@127.0.0.1:9")
        .env("NO_PROXY", "127.0.0.1,localhost");
    let ok = run(working, &["--output", "json", "doctor"]).await.ok();
    let found = results(&ok.json());
    for check in ["settings", "credential", "api", "clock", "proxy"] {
        assert!(
            found.iter().any(|(c, r)| c == check && r == "ok"),
            "{check}: {found:?}"
        );
    }
    assert!(!ok.stdout.contains(&secret) && !ok.stderr.contains(&secret));
    assert!(!ok.stdout.contains("proxy-password"), "{}", ok.stdout);
    assert!(
        ok.stdout
            .contains("HTTPS_PROXY=http://REDACTED@127.0.0.1:9"),
        "{}",
        ok.stdout
    );

    // A wrong secret: the sign-in fails, with the exit code of an authentication failure.
    let mut wrong = common::command(&sim, &home.0);
    wrong.env("HW_CLIENT_SECRET", "not-the-secret");
    let refused = run(wrong, &["--output", "json", "doctor"]).await;
    assert_eq!(refused.code, 3, "{}", refused.stderr);
    let found = results(&serde_json::from_str(&refused.stdout).unwrap());
    assert!(
        found.contains(&("sign-in".to_owned(), "error".to_owned())),
        "{found:?}"
    );
    assert!(!refused.stdout.contains("not-the-secret"));
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_record_leaves_a_trace_that_replays_for_anyone() {
    let sim = start(hw_sim::SimConfig {
        seed_products: 3,
        ..quick()
    })
    .await;
    let home = Scratch::new("doctor-record");
    let secret = sim.app().unwrap().secret.clone();
    let trace = home.0.join("doctor.jsonl");
    let trace_arg = trace.to_str().unwrap();
    let ran = hwdc(&sim, &home.0, &["doctor", "--record", trace_arg])
        .await
        .ok();
    assert!(ran.stderr.contains("the trace is in"), "{}", ran.stderr);
    let text = std::fs::read_to_string(&trace).unwrap();
    assert!(!text.contains(&secret), "{text}");
    let lines: Vec<serde_json::Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        lines[0]["tool"],
        format!("hwdc {}", env!("CARGO_PKG_VERSION"))
    );
    let services: Vec<&str> = lines[1..]
        .iter()
        .filter_map(|l| l["service"].as_str())
        .collect();
    assert!(
        services.contains(&"token") && services.contains(&"api"),
        "{services:?}"
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&trace).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    // Anyone reproduces the run against the replayed trace.
    let replay = start(hw_sim::SimConfig {
        replay: Some(hw_sim::Trace::from_file(&trace).unwrap()),
        ..quick()
    })
    .await;
    let again = run(
        common::command(&replay, &home.0),
        &["--output", "json", "doctor"],
    )
    .await
    .ok();
    let findings = again.json();
    assert!(
        findings
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["check"] == "api"
                && f["result"] == "ok"
                && f["detail"].as_str().unwrap().contains("3 products")),
        "{findings}"
    );
    assert_eq!(replay.replay_report().unwrap().misses, Vec::<String>::new());

    // An anonymized trace keeps no product name.
    let anonymized = home.0.join("anonymized.jsonl");
    hwdc(
        &sim,
        &home.0,
        &[
            "products",
            "list",
            "--record",
            anonymized.to_str().unwrap(),
            "--record-anonymize",
        ],
    )
    .await
    .ok();
    let text = std::fs::read_to_string(&anonymized).unwrap();
    for (id, name, _) in sim.products() {
        assert!(
            !text.contains(&name) && !text.contains(&id.to_string()),
            "{text}"
        );
    }

    // A trace that cannot be written is an error before anything is sent.
    let refused = hwdc(
        &sim,
        &home.0,
        &[
            "doctor",
            "--record",
            home.0.join("no/such/dir/t.jsonl").to_str().unwrap(),
        ],
    )
    .await;
    assert_ne!(refused.code, 0);
    assert!(
        refused.stderr.contains("cannot write the trace"),
        "{}",
        refused.stderr
    );
}

/// Every run of hwdc in these tests goes through `common::bare_command`, which gives it a home
/// and a configuration folder of its own: on Windows the default folder (`%APPDATA%`) follows no
/// other variable, so a run started any other way could read or write the developer's own file.
#[test]
fn every_test_starts_hwdc_with_a_configuration_folder_of_its_own() {
    let binary = concat!("CARGO_BIN", "_EXE_hwdc");
    let tests = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests");
    let mut files = vec![tests.join("common/mod.rs")];
    for entry in std::fs::read_dir(&tests).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    let starting: Vec<String> = files
        .iter()
        .filter(|p| std::fs::read_to_string(p).unwrap().contains(binary))
        .map(|p| p.strip_prefix(&tests).unwrap().display().to_string())
        .collect();
    assert_eq!(starting.len(), 1, "{starting:?} start hwdc themselves");
    assert!(starting[0].starts_with("common"), "{starting:?}");
    let common = std::fs::read_to_string(&files[0]).unwrap();
    assert!(common.contains(".env(\"HWDC_CONFIG_DIR\", config_dir(home))"));
}

/// Local input (files, folders, flags) is checked before any sign-in: with no way to sign in
/// configured, each command below names its own input, not the sign-in; and a list that cannot
/// sign in writes nothing on standard output (no header, no `[`).
#[tokio::test(flavor = "multi_thread")]
async fn local_input_is_checked_before_signing_in() {
    let home = Scratch::new("local-first");
    let dir = home.0.to_string_lossy().into_owned();
    let missing = format!("{dir}/missing.cab");
    let out = format!("{dir}/signed.cab");
    let no_folder = format!("{dir}/no-such-folder/signed.cab");
    let present = home.file("present.cab", 100, b"MSCF");
    let present = present.to_string_lossy().into_owned();
    let cases: [(&[&str], i32, &str); 6] = [
        (
            &[
                "submit",
                &missing,
                "--create-product",
                "P",
                "--name",
                "n",
                "-o",
                &out,
            ],
            4,
            "missing.cab is not a file or a driver folder",
        ),
        (&["upload", "1", "2", &missing], 4, "missing.cab"),
        (
            &["download", "1", "2", "-o", &no_folder],
            4,
            "no-such-folder does not exist",
        ),
        (
            &[
                "submit",
                &present,
                "--create-product",
                "P",
                "--name",
                "",
                "-o",
                &out,
            ],
            2,
            "not a valid submission name",
        ),
        (
            &["submissions", "create", "1", "--name", ""],
            2,
            "not a valid submission name",
        ),
        (
            &[
                "products",
                "create",
                "--name",
                "",
                "--signature",
                "WINDOWS_v100_X64_RS5_FULL",
            ],
            2,
            "not a valid product",
        ),
    ];
    for (args, code, says) in cases {
        let refused = run(bare_command(&home.0), args).await;
        assert_eq!(refused.code, code, "{args:?}: {}", refused.stderr);
        assert!(
            refused.stderr.contains(says),
            "{args:?}: {}",
            refused.stderr
        );
        assert!(
            !refused.stderr.contains("sign in"),
            "{args:?} tried to sign in first: {}",
            refused.stderr
        );
    }
    for format in ["table", "json"] {
        let list = run(
            bare_command(&home.0),
            &["--output", format, "products", "list"],
        )
        .await;
        assert_eq!(list.code, 2, "{}", list.stderr);
        assert!(list.stderr.contains("sign in"), "{}", list.stderr);
        assert_eq!(list.stdout, "", "{format}: output before the first page");
    }
}
