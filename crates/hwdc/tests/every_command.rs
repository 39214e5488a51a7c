//! Every operation of the spec is reachable from `hwdc`, and every command keeps its JSON
//! contract: a script of every command runs against hw-sim with `--output json --record`; the
//! operations in their traces must cover the spec's, and what each command prints must validate
//! against its schema in `docs/schemas/` (`hwdc schema NAME`; `cargo xtask schemas --check`
//! keeps the files as the types say).

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use common::{Run, Scratch, hwdc, id, quick, schema, start, validates};
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

/// Writes the files of the driver folder `folder` into a ZIP at `out`, under
/// `Signed_1/<folder>/`, with a catalog of other bytes (as Microsoft returns its own).
fn signed_zip(folder: &Path, out: &Path) {
    use std::io::Write;
    let name = folder.file_name().unwrap().to_str().unwrap();
    let mut zip = zip::ZipWriter::new(std::fs::File::create(out).unwrap());
    for entry in std::fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        let file = path.file_name().unwrap().to_str().unwrap().to_owned();
        let bytes = if file.ends_with(".cat") {
            b"Microsoft's catalog".to_vec()
        } else {
            std::fs::read(&path).unwrap()
        };
        zip.start_file(
            format!("Signed_1/{name}/{file}"),
            zip::write::SimpleFileOptions::default(),
        )
        .unwrap();
        zip.write_all(&bytes).unwrap();
    }
    zip.finish().unwrap();
}

/// A run of the script: the sim, the scratch folder, the operations reached so far, and the
/// schemas each output was held to.
struct Script {
    sim: hw_sim::SimHandle,
    home: Scratch,
    reached: BTreeSet<String>,
    runs: usize,
    validated: BTreeSet<&'static str>,
}

impl Script {
    /// Runs `hwdc --output json --record TRACE args`, which must succeed and print what the
    /// schema `contract` describes; its JSON.
    async fn json(&mut self, contract: &'static str, args: &[&str]) -> Value {
        let value = self.run(args).await.ok().json();
        validates(contract, &value);
        self.validated.insert(contract);
        value
    }

    /// The schemas `hwdc schema` names.
    async fn json_list_of_schemas(&mut self) -> Vec<String> {
        let listed = self.run(&["schema"]).await.ok().json();
        listed
            .as_array()
            .unwrap()
            .iter()
            .map(|item| item["name"].as_str().unwrap().to_owned())
            .collect()
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
        validated: BTreeSet::new(),
    };
    let home = s.home.0.clone();
    let cab = s.home.file("driver.cab", 200_000, b"MSCF");
    let cab = cab.to_str().unwrap().to_owned();
    let product = s
        .json(
            "product",
            &[
                "products",
                "create",
                "--name",
                "Every",
                "--signature",
                "win11-x64",
            ],
        )
        .await;
    let p = id(&product);
    s.json("products", &["products", "list"]).await;
    s.json("product", &["products", "get", &p]).await;
    let submission = s
        .json("submission", &["submissions", "create", &p, "--name", "v1"])
        .await;
    let sub = id(&submission);
    s.json(
        "product-updated",
        &["products", "update", &p, "--name", "Every command"],
    )
    .await;
    s.json("submissions", &["submissions", "list", &p]).await;
    s.json("submission", &["submissions", "get", &p, &sub])
        .await;
    s.json(
        "submission-updated",
        &["submissions", "update", &p, &sub, "--name", "v1.0"],
    )
    .await;
    s.json("uploaded", &["upload", &p, &sub, &cab]).await;
    s.json("committed", &["submissions", "commit", &p, &sub])
        .await;
    s.json(
        "submission",
        &["submissions", "wait", &p, &sub, "--poll", "0.02"],
    )
    .await;
    s.json("submission-status", &["submissions", "status", &p, &sub])
        .await;
    let signed = home.join("signed.zip");
    s.json(
        "downloaded",
        &["download", &p, &sub, "-o", signed.to_str().unwrap()],
    )
    .await;
    let metadata = s
        .json(
            "metadata-requested",
            &[
                "submissions",
                "metadata",
                &p,
                &sub,
                "--wait",
                "--poll",
                "0.02",
            ],
        )
        .await;
    assert_eq!(metadata["ready"], true);
    let seller = hw_sim::state::SELLER_ID.to_string();
    let translated = s
        .json(
            "translated",
            &[
                "submissions",
                "translate",
                "--publisher",
                &seller,
                "--partner-product",
                &p,
                "--partner-submission",
                &sub,
            ],
        )
        .await;
    assert_eq!(translated["submission"].to_string(), sub);
    assert_eq!(translated["product"].to_string(), p);
    let chid = "0B0B4A4E-3C2F-4F6E-9B2A-8C1D2E3F4A5B";
    let label = s
        .json(
            "label",
            &[
                "labels", "create", &p, &sub, "--name", "everyone", "--manual", "--chid", chid,
            ],
        )
        .await;
    let l = id(&label);
    s.json("labels", &["labels", "list", &p, &sub]).await;
    let targeted = s
        .json("label", &["labels", "get", &p, &sub, &l, "--targeting"])
        .await;
    assert_eq!(
        targeted["targeting"]["chids"][0]["chid"],
        chid.to_ascii_lowercase(),
        "{targeted}"
    );
    // A second label, cancelled while Microsoft approves it.
    let second = s
        .json(
            "label",
            &[
                "labels",
                "create",
                &p,
                &sub,
                "--name",
                "cancelled",
                "--manual",
            ],
        )
        .await;
    let second = id(&second);
    s.json(
        "label",
        &[
            "labels", "wait", &p, &sub, &second, "--until", "approval", "--poll", "0.02",
        ],
    )
    .await;
    s.json("label-cancelled", &["labels", "cancel", &p, &sub, &second])
        .await;
    // The first, changed once its workflow is over.
    s.json("label", &["labels", "wait", &p, &sub, &l, "--poll", "0.02"])
        .await;
    s.json(
        "label-updated",
        &[
            "labels",
            "update",
            &p,
            &sub,
            &l,
            "--remove-chid",
            chid,
            "--chid",
            "{11111111-2222-3333-4444-555555555555}",
        ],
    )
    .await;
    s.json("audiences", &["audiences", "list"]).await;
    let preprod = s.json("preprod-result", &["preprod", "submit", &cab]).await;
    let package = preprod["package"].as_str().unwrap().to_owned();
    assert_eq!(preprod["uploaded"], true);
    s.json("preprod-package", &["preprod", "get", &package])
        .await;
    s.json(
        "preprod-package",
        &["preprod", "wait", &package, "--poll", "0.02"],
    )
    .await;
    let assets = s
        .json("preprod-assets", &["preprod", "assets", &package])
        .await;
    assert_eq!(assets.as_array().unwrap().len(), 1);
    let zip = home.join("preprod.zip");
    let out = s
        .json(
            "preprod-result",
            &["preprod", "download", &package, "-o", zip.to_str().unwrap()],
        )
        .await;
    assert!(out["bytes"].as_u64().unwrap() > 0);
    // The journal keeps the package: a second submit continues with it.
    let again = s
        .json(
            "preprod-result",
            &[
                "preprod",
                "submit",
                &cab,
                "-o",
                zip.to_str().unwrap(),
                "--poll",
                "0.02",
            ],
        )
        .await;
    assert_eq!(again["package"], package.as_str());
    assert_eq!(again["uploaded"], false);

    // The whole flow, and a batch of one (whose manifest is held to its schema too).
    let folder = common::driver_folder(&home, "touch", common::INF.as_bytes());
    let folder = folder.to_str().unwrap().to_owned();
    let shipped = home.join("shipped.zip");
    s.json(
        "submit",
        &[
            "submit",
            &folder,
            "--create-product",
            "Shipped",
            "--signature",
            "win11-x64",
            "--name",
            "1.0",
            "-o",
            shipped.to_str().unwrap(),
            "--poll",
            "0.02",
        ],
    )
    .await;
    let manifest_text = format!(
        "[[package]]\nfile = {folder:?}\nname = \"batched\"\ncreate-product = \"Batched\"\nsignatures = [\"win11-x64\"]\nout = \"batched.zip\"\n"
    );
    let manifest: Value = toml::from_str(&manifest_text).unwrap();
    validates("manifest", &manifest);
    s.validated.insert("manifest");
    let manifest_path = home.join("batch.toml");
    std::fs::write(&manifest_path, &manifest_text).unwrap();
    let summary = s
        .json(
            "batch",
            &["batch", manifest_path.to_str().unwrap(), "--poll", "0.02"],
        )
        .await;
    assert_eq!(summary[0]["state"], "succeeded", "{summary}");
    // Local commands.
    s.json("findings", &["check", &folder, "--signature", "win11-x64"])
        .await;
    let cab_out = home.join("touch.cab");
    s.json(
        "package",
        &["package", &folder, "-o", cab_out.to_str().unwrap()],
    )
    .await;
    // What Microsoft would return for the folder: its files in a ZIP, another catalog.
    let signed = home.join("signed-touch.zip");
    signed_zip(Path::new(&folder), &signed);
    let verified = s
        .json(
            "verify",
            &["verify", signed.to_str().unwrap(), "--against", &folder],
        )
        .await;
    assert_eq!(verified["passed"], true, "{verified}");
    let codes = s
        .json("os-codes", &["os-codes", "--attestation", "--arch", "x64"])
        .await;
    let listed: Vec<&str> = codes
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| c["code"].as_str())
        .collect();
    assert!(listed.contains(&"WINDOWS_v100_X64_25H2_FULL"), "{listed:?}");
    assert!(listed.contains(&"WINDOWS_v100_X64_26H1_FULL"), "{listed:?}");
    assert!(!listed.iter().any(|c| c.contains("SERVER")), "{listed:?}");
    s.json("doctor", &["doctor"]).await;
    // The configuration: a profile written, shown, found; the file held to its schema.
    let config = home.join("hwdc.toml");
    let config_arg = config.to_str().unwrap().to_owned();
    let init = common::run_with_input(
        common::command(&s.sim, &home),
        &[
            "--output",
            "json",
            "--config",
            &config_arg,
            "config",
            "init",
        ],
        b"a-secret\n",
    )
    .await
    .ok()
    .json();
    validates("config-init", &init);
    s.validated.insert("config-init");
    let profile: Value = toml::from_str(&std::fs::read_to_string(&config).unwrap()).unwrap();
    validates("profile", &profile);
    s.validated.insert("profile");
    s.json("config-show", &["--config", &config_arg, "config", "show"])
        .await;
    s.json("config-path", &["--config", &config_arg, "config", "path"])
        .await;
    s.json("demo", &["demo", "--step-ms", "5", "--package-kib", "64"])
        .await;
    // A failure prints the error object on standard error.
    let failed = s.run(&["products", "get", "1"]).await;
    assert_eq!(failed.code, 4, "{}", failed.stderr);
    let error: Value = serde_json::from_str(failed.stderr.lines().last().unwrap()).unwrap();
    validates("error", &error);
    s.validated.insert("error");
    // Every contract hwdc names was held to what a command printed.
    let names = s.json_list_of_schemas().await;
    let missed: Vec<&String> = names
        .iter()
        .filter(|n| !s.validated.contains(n.as_str()))
        .collect();
    assert!(
        missed.is_empty(),
        "schemas no command's output was held to: {missed:?}"
    );

    let spec = spec_operations();
    let reached: BTreeSet<String> = s.reached.intersection(&spec).cloned().collect();
    let missing: Vec<&String> = spec.difference(&reached).collect();
    assert!(
        missing.is_empty(),
        "operations of the spec no command reached: {missing:?}"
    );
    assert!(spec.len() >= 22, "{spec:?}");
}

/// The schemas are strict where the types are: what a command could not print is refused.
#[test]
fn the_schemas_refuse_what_the_types_cannot_print() {
    let refused = |name: &str, value: Value| {
        assert!(
            schema(name).iter_errors(&value).next().is_some(),
            "{name} took {value}"
        );
    };
    refused("product", serde_json::json!({"schema_version": 1}));
    refused(
        "product",
        serde_json::json!({"id": "seven", "schema_version": 1}),
    );
    refused(
        "products",
        serde_json::json!({"id": 7, "schema_version": 1}),
    );
    refused(
        "error",
        serde_json::json!({"error": {"kind": "auth", "exit_code": "3"}}),
    );
    refused(
        "manifest",
        serde_json::json!({"package": [{"file": "a", "name": "a", "out": "b", "typo": 1}]}),
    );
    refused(
        "os-codes",
        serde_json::json!([{"code": "X", "schema_version": 1}]),
    );
    let ok = schema("product")
        .iter_errors(&serde_json::json!({"id": 7, "schema_version": 1, "driverType": "x"}))
        .count();
    assert_eq!(ok, 0, "unknown and newer fields are allowed");
}
