//! `docs/ci.md`: every pipeline parses, and every `hwdc` command in them runs against hw-sim with
//! the environment the pipeline sets and the one its CI service adds (the OIDC request
//! variables), from a workspace that holds the built driver folder.

mod common;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use common::*;
use hw_sim::SimHandle;
use hw_sim::config::SERVICE_CONNECTION;
use serde_json::Value;

/// The YAML blocks of `docs/ci.md`, in order.
fn yaml_blocks() -> Vec<serde_json::Value> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/ci.md");
    let text = std::fs::read_to_string(path).unwrap();
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match (&mut current, line.trim_end()) {
            (None, "```yaml") => current = Some(String::new()),
            (Some(block), "```") => {
                blocks.push(serde_norway::from_str(block).expect("the block is valid YAML"));
                current = None;
            }
            (Some(block), line) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// One step of a pipeline: its script and the environment it adds (its job's, then its own),
/// or an Azure Pipelines `publish` of a file as an artifact.
struct Step {
    script: String,
    env: Vec<(String, String)>,
    publish: Option<(String, String)>,
}

fn pairs(map: &Value) -> Vec<(String, String)> {
    map.as_object()
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| v.to_string()),
                    )
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The steps of `job` whose script is under `key` (`run`, `pwsh`), and its `publish` steps,
/// each with the job's `env` and its own.
fn steps(job: &Value, key: &str) -> Vec<Step> {
    let job_env = pairs(&job["env"]);
    job["steps"]
        .as_array()
        .expect("a list of steps")
        .iter()
        .filter_map(|s| {
            let env = job_env.iter().cloned().chain(pairs(&s["env"])).collect();
            if let Some(script) = s[key].as_str() {
                return Some(Step {
                    script: script.to_owned(),
                    env,
                    publish: None,
                });
            }
            let file = s["publish"].as_str()?;
            let artifact = s["artifact"]
                .as_str()
                .expect("a publish step names its artifact");
            Some(Step {
                script: String::new(),
                env,
                publish: Some((file.to_owned(), artifact.to_owned())),
            })
        })
        .collect()
}

/// `$env:NAME`, `${{ expr }}` and `$(expr)` replaced; an unknown one fails the test.
fn expand(text: &str, known: &HashMap<&str, String>, env: &HashMap<String, String>) -> String {
    let mut out = text.to_owned();
    for (open, close) in [("${{", "}}"), ("$(", ")")] {
        while let Some(start) = out.find(open) {
            let end = start + out[start..].find(close).expect("a closed expression");
            let expr = out[start + open.len()..end].trim().to_owned();
            let value = known
                .get(expr.as_str())
                .unwrap_or_else(|| panic!("docs/ci.md uses {expr}, which this test does not know"));
            out.replace_range(start..end + close.len(), value);
        }
    }
    while let Some(start) = out.find("$env:") {
        let name_end = out[start + 5..]
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .map_or(out.len(), |i| start + 5 + i);
        let name = out[start + 5..name_end].to_owned();
        let value = env
            .get(&name)
            .unwrap_or_else(|| panic!("docs/ci.md reads $env:{name}, which no step sets"));
        out.replace_range(start..name_end, value);
    }
    out
}

/// A command line split into words, double quotes grouping.
fn words(line: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let (mut quoted, mut any) = (false, false);
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    words.push(std::mem::take(&mut word));
                    any = false;
                }
            }
            c => {
                word.push(c);
                any = true;
            }
        }
    }
    if any {
        words.push(word);
    }
    words
}

/// Runs the pipeline's steps in `workspace`: `hwdc` commands for real, the signing step only
/// recognised (no EV certificate here). Returns the `hwdc` commands run.
async fn run_pipeline(
    sim: &SimHandle,
    workspace: &Path,
    base_env: Vec<(String, String)>,
    steps: Vec<Step>,
    known: &HashMap<&str, String>,
) -> usize {
    let mut ran = 0;
    for step in steps {
        // An artifact lands in `<workspace>/<artifact>/`, where `download: current` puts it.
        if let Some((file, artifact)) = &step.publish {
            let into = workspace.join(artifact);
            std::fs::create_dir_all(&into).unwrap();
            std::fs::copy(workspace.join(file), into.join(file)).unwrap();
            continue;
        }
        let mut env: HashMap<String, String> = HashMap::new();
        for (k, v) in base_env.iter().chain(&step.env) {
            env.insert(k.clone(), expand(v, known, &env));
        }
        // The runner's own setting: where journals are kept between attempts.
        env.insert(
            "HWDC_JOURNALS".into(),
            workspace.join("journals").display().to_string(),
        );
        for line in step.script.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let line = expand(line, known, &env);
            // `hwdc … || [ $? -eq N ]`: the step also passes when hwdc exits with N.
            let (line, also) = match line.split_once(" || [ $? -eq ") {
                Some((command, rest)) => {
                    let code = rest.trim_end_matches(" ]").parse::<i32>();
                    (command.to_owned(), Some(code.expect("an exit code")))
                }
                None => (line, None),
            };
            let mut args = words(&line);
            if cfg!(not(windows)) {
                args.iter_mut().for_each(|a| *a = a.replace('\\', "/"));
            }
            match args.first().map(String::as_str) {
                Some("hwdc") => {}
                Some("signtool") => {
                    assert!(
                        line.contains("/fd sha256"),
                        "the CAB is signed with SHA-256: {line}"
                    );
                    continue;
                }
                // Deletes the collected journal's cache entry: recognised, not run.
                Some("gh") => {
                    assert!(line.starts_with("gh cache delete "), "{line}");
                    continue;
                }
                _ => panic!("docs/ci.md runs {line:?}, which this test does not know"),
            }
            let redirect = args.iter().position(|a| a == ">");
            let out_file = redirect.map(|i| workspace.join(&args[i + 1]));
            let args: Vec<&str> = args[1..redirect.unwrap_or(args.len())]
                .iter()
                .map(String::as_str)
                .collect();
            let mut command = common::command(sim, workspace);
            for var in ["HW_CLIENT_SECRET", "HW_TENANT_ID", "HW_CLIENT_ID"] {
                command.env_remove(var);
            }
            command.envs(&env).current_dir(workspace);
            let done = run(command, &args).await;
            assert!(
                done.code == 0 || Some(done.code) == also,
                "{line}: exit code {}\n{}",
                done.code,
                done.stderr
            );
            if let Some(file) = out_file {
                std::fs::write(file, &done.stdout).unwrap();
            }
            ran += 1;
        }
    }
    ran
}

/// A workspace with the built driver in `build/touch`.
fn workspace(name: &str) -> Scratch {
    let home = Scratch::new(name);
    std::fs::create_dir_all(home.0.join("build")).unwrap();
    std::fs::create_dir_all(home.0.join("journals")).unwrap();
    driver_folder(&home.0.join("build"), "touch", INF.as_bytes());
    home
}

fn assert_shipped(sim: &SimHandle, home: &Path, journal: &Path) {
    let result: Value =
        serde_json::from_slice(&std::fs::read(home.join("submit.json")).unwrap()).unwrap();
    let signed = PathBuf::from(result["signed_package"].as_str().unwrap());
    assert!(home.join(signed).is_file(), "{result}");
    assert!(
        result["sha256"].as_str().is_some_and(|s| s.len() == 64),
        "{result}"
    );
    assert!(home.join("touch.cab").is_file());
    assert_eq!(sim.product_count(), 1);
    assert_finished(journal);
    let journals: Vec<_> = std::fs::read_dir(home.join("journals")).unwrap().collect();
    assert!(
        journals.len() <= 1,
        "nothing but the finished journal in the journals folder: {journals:?}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_github_actions_workflow_runs_against_hw_sim() {
    let doc = yaml_blocks().remove(0);
    assert_eq!(
        doc["permissions"]["id-token"], "write",
        "OIDC needs the id-token permission"
    );
    let jobs = doc["jobs"].as_object().unwrap();
    assert_eq!(jobs["submit"]["needs"], "package");
    let steps: Vec<Step> = ["package", "submit"]
        .iter()
        .flat_map(|name| steps(&jobs[*name], "run"))
        .collect();
    let sim = start(quick()).await;
    let app = sim.app().unwrap().clone();
    let home = workspace("ci-github");
    let known = HashMap::from([
        ("vars.HW_TENANT_ID", app.tenant_id.clone()),
        ("vars.HW_CLIENT_ID", app.client_id.clone()),
        ("vars.EV_CERT_THUMBPRINT", "0123456789abcdef".to_owned()),
        ("github.ref_name", "v1.2.3".to_owned()),
    ]);
    // What GitHub sets in a job with `id-token: write`.
    let env = vec![
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL".to_owned(),
            sim.github_token_url(),
        ),
        (
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN".to_owned(),
            sim.config().oidc_request_token.clone(),
        ),
    ];
    let ran = run_pipeline(&sim, &home.0, env, steps, &known).await;
    assert_eq!(ran, 3, "check, package, submit");
    assert_shipped(&sim, &home.0, &home.0.join("hwdc-journal.json"));
}

#[tokio::test(flavor = "multi_thread")]
async fn the_azure_pipelines_pipeline_runs_against_hw_sim() {
    let doc = yaml_blocks().remove(1);
    let jobs = doc["jobs"].as_array().unwrap();
    assert_eq!(jobs[1]["dependsOn"], jobs[0]["job"]);
    let steps: Vec<Step> = jobs.iter().flat_map(|job| steps(job, "pwsh")).collect();
    let sim = start(quick()).await;
    let app = sim.app().unwrap().clone();
    let home = workspace("ci-pipelines");
    let known = HashMap::from([
        ("Build.SourceBranchName", "v1.2.3".to_owned()),
        ("Build.BuildId", "4711".to_owned()),
        (
            "System.AccessToken",
            sim.config().oidc_request_token.clone(),
        ),
        ("EV_CERT_THUMBPRINT", "0123456789abcdef".to_owned()),
        ("Pipeline.Workspace", home.0.display().to_string()),
    ]);
    // The pipeline's variables become the environment; the test's app replaces the
    // placeholders, and the agent adds the OIDC request address.
    let mut env: Vec<(String, String)> = pairs(&doc["variables"])
        .into_iter()
        .map(|(k, v)| match k.as_str() {
            "HW_TENANT_ID" => (k, app.tenant_id.clone()),
            "HW_CLIENT_ID" => (k, app.client_id.clone()),
            "HW_SERVICE_CONNECTION_ID" => (k, SERVICE_CONNECTION.to_owned()),
            _ => (k, v),
        })
        .collect();
    env.push(("SYSTEM_OIDCREQUESTURI".into(), sim.pipelines_oidc_url()));
    let ran = run_pipeline(&sim, &home.0, env, steps, &known).await;
    assert_eq!(ran, 3, "check, package, submit");
    assert!(home.0.join("signed-driver/signed.zip").is_file());
    assert_shipped(&sim, &home.0, &home.0.join("journals/4711.json"));
}

/// The third block: a push commits and stops (exit 9, allowed by the step), the journal is
/// carried to a scheduled run in another workspace (the Actions cache), which collects the
/// signed package with the journal alone.
#[tokio::test(flavor = "multi_thread")]
async fn the_detached_workflow_commits_in_one_run_and_collects_in_a_later_one() {
    let blocks = yaml_blocks();
    let doc = &blocks[2];
    let jobs = doc["jobs"].as_object().unwrap();
    assert_eq!(jobs["commit"]["needs"], "package");
    assert!(doc["on"]["schedule"].is_array(), "collected on a schedule");
    let sim = start(quick()).await;
    let app = sim.app().unwrap().clone();
    let known = HashMap::from([
        ("vars.HW_TENANT_ID", app.tenant_id.clone()),
        ("vars.HW_CLIENT_ID", app.client_id.clone()),
        ("vars.EV_CERT_THUMBPRINT", "0123456789abcdef".to_owned()),
        ("github.sha", "0123abcd".to_owned()),
        ("github.repository", "contoso/touch".to_owned()),
        ("github.token", "not-used".to_owned()),
        (
            "steps.pending.outputs.cache-matched-key",
            "hwdc-pending-42".to_owned(),
        ),
    ]);
    let mut env = pairs(&doc["env"]);
    env.extend([
        (
            "ACTIONS_ID_TOKEN_REQUEST_URL".to_owned(),
            sim.github_token_url(),
        ),
        (
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN".to_owned(),
            sim.config().oidc_request_token.clone(),
        ),
    ]);
    // The push: attest.yml's package job, then the commit.
    let pushed = workspace("ci-detached-push");
    let steps_of_push: Vec<Step> = steps(&blocks[0]["jobs"]["package"], "run")
        .into_iter()
        .chain(steps(&jobs["commit"], "run"))
        .collect();
    let ran = run_pipeline(&sim, &pushed.0, env.clone(), steps_of_push, &known).await;
    assert_eq!(ran, 3, "check, package, submit --until committed");
    let commit: Value =
        serde_json::from_slice(&std::fs::read(pushed.0.join("commit.json")).unwrap()).unwrap();
    assert_eq!(commit["reached"], "committed", "{commit}");
    assert_eq!(sim.requests("commitSubmission"), 1);

    // The scheduled run: another workspace, with the cached journal and nothing else.
    let scheduled = Scratch::new("ci-detached-schedule");
    std::fs::copy(
        pushed.0.join("hwdc-pending.json"),
        scheduled.0.join("hwdc-pending.json"),
    )
    .unwrap();
    let ran = run_pipeline(
        &sim,
        &scheduled.0,
        env,
        steps(&jobs["collect"], "run"),
        &known,
    )
    .await;
    assert_eq!(ran, 1, "submit --state");
    let result: Value =
        serde_json::from_slice(&std::fs::read(scheduled.0.join("submit.json")).unwrap()).unwrap();
    assert_eq!(result["reached"], "delivered", "{result}");
    assert_eq!(result["submission"], commit["submission"], "{result}");
    assert!(scheduled.0.join("signed.zip").is_file());
    assert_finished(&scheduled.0.join("hwdc-pending.json"));
    assert_eq!(sim.product_count(), 1);
    assert_eq!(sim.requests("createSubmission"), 1);
    assert_eq!(sim.requests("commitSubmission"), 1);
}
