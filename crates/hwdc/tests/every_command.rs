//! Every operation of the spec is reachable from `hwdc`: a script of commands runs against
//! hw-sim with `--output json --record`, and the operations in their traces must be exactly the
//! spec's. Each command's JSON is also kept for the contract test (`schemas.rs`).

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{Run, Scratch, hwdc, id, quick, start};
use serde_json::Value;

/// The spec's `operationId`s.
fn spec_operations() -> BTreeSet<String> {
    let spec = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../openapi/hardware.yaml");
    let text = std::fs::read_to_string(spec).unwrap();
    let spec: Value = serde_norway::from_str(&text).unwrap();
    let mut ids = BTreeSet::new();
    for path in spec["paths"].as_object().unwrap().values() {
        for operation in path.as_object().unwrap().values() {
            if let Some(id) = operation.get("operationId").and_then(Value::as_str) {
                ids.insert(id.to_owned());
            }
        }
    }
    ids
}

/// The operations a trace file records.
fn traced(path: &Path) -> BTreeSet<String> {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    text.lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter_map(|entry| entry["operation"].as_str().map(str::to_owned))
        .collect()
}

/// A run of the script: the sim, the scratch folder, and the operations reached so far.
struct Script {
    sim: hw_sim::SimHandle,
    home: Scratch,
    reached: BTreeSet<String>,
    runs: usize,
}

impl Script {
    /// Runs `hwdc --output json --record TRACE args`, which must succeed; its JSON.
    async fn json(&mut self, args: &[&str]) -> Value {
        let run = self.run(args).await.ok();
        run.json()
    }

    async fn run(&mut self, args: &[&str]) -> Run {
        self.runs += 1;
        let trace = self.home.0.join(format!("trace-{}.jsonl", self.runs));
        let mut all = vec!["--output", "json", "--record", trace.to_str().unwrap()];
        all.extend_from_slice(args);
        let run = hwdc(&self.sim, &self.home.0, &all).await;
        self.reached.extend(traced(&trace));
        run
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_operation_of_the_spec_has_a_command() {
    // Steps long enough that a label waited for until Microsoft's approval is still there
    // (or publishing) when the next command cancels it.
    let sim = start(hw_sim::SimConfig {
        step_duration: std::time::Duration::from_millis(300),
        ..quick()
    })
    .await;
    let home = Scratch::new("every-command");
    let mut s = Script {
        sim,
        home,
        reached: BTreeSet::new(),
        runs: 0,
    };
    let home = s.home.0.clone();
    let cab = s.home.file("driver.cab", 200_000, b"MSCF");
    let cab = cab.to_str().unwrap().to_owned();
    let product = s
        .json(&[
            "products",
            "create",
            "--name",
            "Every",
            "--signature",
            "win11-x64",
        ])
        .await;
    let p = id(&product);
    s.json(&["products", "list"]).await;
    s.json(&["products", "get", &p]).await;
    let submission = s.json(&["submissions", "create", &p, "--name", "v1"]).await;
    let sub = id(&submission);
    s.json(&["products", "update", &p, "--name", "Every command"])
        .await;
    s.json(&["submissions", "list", &p]).await;
    s.json(&["submissions", "get", &p, &sub]).await;
    s.json(&["submissions", "update", &p, &sub, "--name", "v1.0"])
        .await;
    s.json(&["upload", &p, &sub, &cab]).await;
    s.json(&["submissions", "commit", &p, &sub]).await;
    s.json(&["submissions", "wait", &p, &sub, "--poll", "0.02"])
        .await;
    s.json(&["submissions", "status", &p, &sub]).await;
    let signed = home.join("signed.zip");
    s.json(&["download", &p, &sub, "-o", signed.to_str().unwrap()])
        .await;
    let metadata = s
        .json(&[
            "submissions",
            "metadata",
            &p,
            &sub,
            "--wait",
            "--poll",
            "0.02",
        ])
        .await;
    assert_eq!(metadata["ready"], true);
    let seller = hw_sim::state::SELLER_ID.to_string();
    let translated = s
        .json(&[
            "submissions",
            "translate",
            "--publisher",
            &seller,
            "--partner-product",
            &p,
            "--partner-submission",
            &sub,
        ])
        .await;
    assert_eq!(translated["submission"].to_string(), sub);
    assert_eq!(translated["product"].to_string(), p);
    let chid = "0B0B4A4E-3C2F-4F6E-9B2A-8C1D2E3F4A5B";
    let label = s
        .json(&[
            "labels", "create", &p, &sub, "--name", "everyone", "--manual", "--chid", chid,
        ])
        .await;
    let l = id(&label);
    s.json(&["labels", "list", &p, &sub]).await;
    let targeted = s
        .json(&["labels", "get", &p, &sub, &l, "--targeting"])
        .await;
    assert_eq!(
        targeted["targeting"]["chids"][0]["chid"],
        chid.to_ascii_lowercase(),
        "{targeted}"
    );
    // A second label, cancelled while Microsoft approves it.
    let second = s
        .json(&[
            "labels",
            "create",
            &p,
            &sub,
            "--name",
            "cancelled",
            "--manual",
        ])
        .await;
    let second = id(&second);
    s.json(&[
        "labels", "wait", &p, &sub, &second, "--until", "approval", "--poll", "0.02",
    ])
    .await;
    s.json(&["labels", "cancel", &p, &sub, &second]).await;
    // The first, changed once its workflow is over.
    s.json(&["labels", "wait", &p, &sub, &l, "--poll", "0.02"])
        .await;
    s.json(&[
        "labels",
        "update",
        &p,
        &sub,
        &l,
        "--remove-chid",
        chid,
        "--chid",
        "{11111111-2222-3333-4444-555555555555}",
    ])
    .await;
    s.json(&["audiences", "list"]).await;
    let preprod = s.json(&["preprod", "submit", &cab]).await;
    let package = preprod["package"].as_str().unwrap().to_owned();
    assert_eq!(preprod["uploaded"], true);
    s.json(&["preprod", "get", &package]).await;
    s.json(&["preprod", "wait", &package, "--poll", "0.02"])
        .await;
    let assets = s.json(&["preprod", "assets", &package]).await;
    assert_eq!(assets.as_array().unwrap().len(), 1);
    let zip = home.join("preprod.zip");
    let out = s
        .json(&["preprod", "download", &package, "-o", zip.to_str().unwrap()])
        .await;
    assert!(out["bytes"].as_u64().unwrap() > 0);
    // The journal keeps the package: a second submit continues with it.
    let again = s
        .json(&[
            "preprod",
            "submit",
            &cab,
            "-o",
            zip.to_str().unwrap(),
            "--poll",
            "0.02",
        ])
        .await;
    assert_eq!(again["package"], package.as_str());
    assert_eq!(again["uploaded"], false);

    let spec = spec_operations();
    let reached: BTreeSet<String> = s.reached.intersection(&spec).cloned().collect();
    let missing: Vec<&String> = spec.difference(&reached).collect();
    assert!(
        missing.is_empty(),
        "operations of the spec no command reached: {missing:?}"
    );
    assert!(spec.len() >= 22, "{spec:?}");
}
