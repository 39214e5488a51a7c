//! Traces (`docs/traces.md`): a flow recorded from hw-sim keeps no secret and fits the spec,
//! and replays through the client; every trace in `tests/traces/` (recorded from hw-sim at
//! first, later users' traces of the real service) fits the spec's schema for its operation and
//! status, and replays through the client request by request.
//!
//! `HW_API_UPDATE_TRACES=1` writes the recorded flows into `tests/traces/` again.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::TryStreamExt;
use hw_api::ship::{FileStateStore, ProductChoice, ShipPlan, Transfers};
use hw_api::transfer::{Silent, TransferOptions};
use hw_api::types::{NewProduct, NewSubmission, SubmissionType};
use hw_api::{Client, Id, RecordOptions, Recorder, RetryPolicy, WaitOptions};
use hw_sim::{SimConfig, Trace};
use hw_workspace_tests::conformance::Conformance;
use hw_workspace_tests::sim::TestSim;
use hw_workspace_tests::tempdir::Dir;
use serde_json::Value;

/// A trace written into memory.
#[derive(Clone, Default)]
struct Memory(Arc<Mutex<Vec<u8>>>);

impl Write for Memory {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Memory {
    fn text(&self) -> String {
        String::from_utf8(self.0.lock().unwrap().clone()).expect("a trace is UTF-8")
    }
}

/// Client credentials that remember each token they hand out, so that a test can look for
/// them in a trace.
#[derive(Debug)]
struct Remembering {
    inner: hw_api::auth::ClientCredentials,
    issued: Arc<Mutex<Vec<String>>>,
}

impl hw_api::auth::TokenProvider for Remembering {
    fn fetch_token<'a>(
        &'a self,
        http: &'a hw_api::auth::TokenHttp,
    ) -> hw_api::auth::TokenFuture<'a> {
        Box::pin(async move {
            let token = self.inner.fetch_token(http).await?;
            use secrecy::ExposeSecret;
            self.issued
                .lock()
                .unwrap()
                .push(token.secret().expose_secret().to_owned());
            Ok(token)
        })
    }
}

/// What a flow saw.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    products: usize,
    missing_status: Option<u16>,
    product: Id,
    submission: Id,
    signed_bytes: u64,
}

/// The simulator the flows are recorded from: a few products over pages, quick steps.
fn recording_sim() -> SimConfig {
    SimConfig {
        step_duration: Duration::from_millis(20),
        seed_products: 5,
        page_size: 2,
        ..SimConfig::default()
    }
}

/// Block size and parallelism that make several blocks and ranges of the test package.
fn transfers() -> TransferOptions {
    TransferOptions::default()
        .with_block_size(1024 * 1024)
        .with_single_put_threshold(1024 * 1024)
        .with_parallelism(2)
}

/// The flow every trace test records or replays: every product over its pages, a product that
/// does not exist, and the whole submit flow (a product created by name, a submission, the
/// upload in blocks, the commit, the wait and the download in ranges), in a fresh `dir`.
async fn flow(client: &Client, dir: &Path) -> Outcome {
    let products: Vec<_> = client.list_products().try_collect().await.unwrap();
    let missing_status = client
        .get_product(Id(1))
        .await
        .err()
        .and_then(|e| e.status());
    let package = dir.join("driver.cab");
    let bytes: Vec<u8> = (0..2_500_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&package, bytes).unwrap();
    let product: NewProduct = serde_json::from_value(serde_json::json!({
        "productName": "Trace Touch Controller",
        "testHarness": "attestation",
        "deviceType": "internal",
        "isTestSign": false,
        "isFlightSign": false,
        "marketingNames": ["Trace Touch Controller"],
        "requestedSignatures": ["WINDOWS_v100_X64_GE_FULL"],
        "deviceMetadataIds": [],
        "firmwareVersion": "0",
        "additionalAttributes": {},
    }))
    .unwrap();
    let submission = NewSubmission {
        name: "trace 1.0.0".try_into().unwrap(),
        type_: SubmissionType::Initial,
    };
    let plan = ShipPlan::new(
        &package,
        ProductChoice::Named(Box::new(product)),
        submission,
        dir.join("signed.cab"),
        "hw-sim-tenant/hw-sim-client",
    )
    .with_wait(WaitOptions::default().with_first_interval(Duration::from_millis(10)));
    let store = FileStateStore::beside(&package, ".hwdc.json");
    let report = client
        .ship(
            &plan,
            &store,
            &mut |_| {},
            Transfers {
                upload: &Silent,
                download: &Silent,
            },
        )
        .await
        .unwrap();
    Outcome {
        products: products.len(),
        missing_status,
        product: report.product,
        submission: report.submission,
        signed_bytes: report.download.expect("delivered").bytes,
    }
}

/// Records the flow against a fresh simulator; returns the trace and what the flow saw.
async fn record(anonymize: bool) -> (String, Outcome) {
    let (trace, outcome, _) = record_remembering(anonymize).await;
    (trace, outcome)
}

/// [`record`], with the tokens the client was issued.
async fn record_remembering(anonymize: bool) -> (String, Outcome, Vec<String>) {
    let sim = TestSim::start(recording_sim()).await;
    let memory = Memory::default();
    let recorder = Recorder::to_writer(
        memory.clone(),
        RecordOptions::default()
            .with_anonymize(anonymize)
            .with_tool("hw-api tests"),
    )
    .unwrap();
    let issued = Arc::new(Mutex::new(Vec::new()));
    let client = sim
        .client_builder()
        .token_provider(Remembering {
            inner: sim.credentials(),
            issued: issued.clone(),
        })
        .transfer_options(transfers())
        .record(recorder.clone())
        .build()
        .unwrap();
    let dir = Dir::new("trace-record");
    let outcome = flow(&client, dir.path()).await;
    recorder.finish().unwrap();
    let issued = issued.lock().unwrap().clone();
    (memory.text(), outcome, issued)
}

/// The lines of a trace.
fn lines(trace: &str) -> Vec<Value> {
    trace
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is JSON"))
        .collect()
}

/// Every string of a JSON value.
fn strings(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|v| strings(v, out)),
        Value::Object(map) => {
            for (k, v) in map {
                out.push(k.clone());
                strings(v, out);
            }
        }
        _ => {}
    }
}

/// Each API response of a trace that does not fit the spec, named by file, exchange,
/// operation and status.
fn spec_findings(name: &str, trace: &str) -> Vec<String> {
    let mut conformance = Conformance::new();
    lines(trace)
        .iter()
        .filter(|l| l["kind"] == "exchange" && l["service"] == "api")
        .filter_map(|e| {
            let status = e["status"].as_u64()? as u16;
            let body = e.pointer("/response/body/json");
            let operation = e["operation"].as_str().unwrap_or_default();
            conformance
                .check(operation, status, body)
                .err()
                .map(|misfit| format!("{name}: exchange {}: {misfit}", e["seq"]))
        })
        .collect()
}

/// A simulator that replays `trace`.
async fn replaying(trace: &str) -> hw_sim::SimHandle {
    hw_sim::start(SimConfig {
        replay: Some(Trace::parse(trace).unwrap()),
        ..SimConfig::default()
    })
    .await
    .unwrap()
}

/// A client of `sim` with `recording_sim`'s transfer options and quick waits.
fn replay_client(sim: &hw_sim::SimHandle, retry: RetryPolicy) -> Client {
    let app = sim.app().unwrap();
    let credentials = hw_api::auth::ClientCredentials::new(
        &app.tenant_id,
        &app.client_id,
        app.secret.clone().into(),
    )
    .with_authority(sim.authority_url())
    .unwrap();
    Client::builder()
        .base_url(sim.api_url())
        .token_provider(credentials)
        .retry_policy(retry)
        .transfer_options(transfers())
        .build()
        .unwrap()
}

/// Replays `trace` request by request through the client: each recorded API request sent
/// again, its answer decoded as its operation's type (or, for a recorded failure, the same
/// status). Returns the differences.
async fn replay_requests(name: &str, trace: &str) -> Vec<String> {
    let sim = replaying(trace).await;
    // One recorded exchange per request: retries would take the next recorded answer.
    let client = replay_client(&sim, RetryPolicy::none());
    let mut findings = Vec::new();
    for e in lines(trace)
        .iter()
        .filter(|l| l["kind"] == "exchange" && l["service"] == "api" && l["status"].is_u64())
    {
        let operation = e["operation"].as_str().unwrap();
        let status = e["status"].as_u64().unwrap() as u16;
        let body = e.pointer("/request/body/json");
        let outcome = client
            .resend_recorded(operation, e["target"].as_str().unwrap(), body)
            .await;
        let ok = match &outcome {
            Ok(()) => (200..300).contains(&status),
            // A recorded failure fails the same way; a decode error of a success is a finding.
            Err(error) => !(200..300).contains(&status) && error.status() == Some(status),
        };
        if !ok {
            findings.push(format!(
                "{name}: exchange {} ({operation}, recorded {status}): {}",
                e["seq"],
                outcome.map_or_else(
                    |e| hw_api::Report::new(&e).to_string(),
                    |()| "succeeded".into()
                )
            ));
        }
    }
    let report = sim.replay_report().unwrap();
    findings.extend(
        report
            .misses
            .iter()
            .map(|m| format!("{name}: not in the trace: {m}")),
    );
    findings
}

#[tokio::test]
async fn a_recorded_flow_keeps_no_secret_and_fits_the_spec() {
    let (trace, outcome, secrets) = record_remembering(false).await;
    assert!(!secrets.is_empty(), "the client signed in");
    for secret in &secrets {
        let encoded: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
        assert!(
            !trace.contains(secret.as_str()) && !trace.contains(&encoded),
            "an issued token survived"
        );
    }
    let lines = lines(&trace);
    assert_eq!(lines[0]["kind"], "trace");
    assert_eq!(lines[1]["kind"], "client");
    let exchanges: Vec<&Value> = lines.iter().filter(|l| l["kind"] == "exchange").collect();
    for service in ["api", "token", "blob"] {
        assert!(
            exchanges.iter().any(|e| e["service"] == service),
            "no {service} exchange in {trace}"
        );
    }
    let mut texts = Vec::new();
    for e in &exchanges {
        strings(e, &mut texts);
    }
    let secret = hw_sim::AppCredential::default().secret;
    for text in &texts {
        assert!(!text.contains(&secret), "the client secret in {text}");
        let lower = text.to_ascii_lowercase();
        for marker in ["sig=", "sig%3d", "bearer "] {
            for (at, _) in lower.match_indices(marker) {
                assert!(
                    text[at + marker.len()..].starts_with("REDACTED"),
                    "a {marker} value survived: {text}"
                );
            }
        }
    }
    let token = exchanges
        .iter()
        .find(|e| e["service"] == "token")
        .expect("a sign-in");
    assert_eq!(
        token["response"]["body"]["json"]["access_token"],
        "REDACTED"
    );
    assert_eq!(
        token["request"]["body"]["form"]["client_secret"],
        "REDACTED"
    );
    // Blob content is its size and MD5, never its bytes.
    let put_block = exchanges
        .iter()
        .find(|e| e["operation"] == "putBlock")
        .expect("blocks");
    assert_eq!(put_block["request"]["body"]["digest"]["size"], 1024 * 1024);
    let findings = spec_findings("recorded flow", &trace);
    assert!(findings.is_empty(), "{}", findings.join("\n"));
    assert_eq!(outcome.missing_status, Some(404));
    assert_eq!(outcome.products, 5);
}

#[tokio::test]
async fn a_recorded_flow_replays_through_the_client_plain_and_anonymized() {
    for anonymize in [false, true] {
        let (trace, recorded) = record(anonymize).await;
        let sim = replaying(&trace).await;
        let client = replay_client(&sim, RetryPolicy::default());
        let dir = Dir::new("trace-replay");
        let replayed = flow(&client, dir.path()).await;
        let report = sim.replay_report().unwrap();
        assert_eq!(
            report.misses,
            Vec::<String>::new(),
            "anonymized: {anonymize}"
        );
        assert_eq!(report.left, 0, "anonymized: {anonymize}");
        if anonymize {
            assert_ne!(replayed.product, recorded.product);
            assert!(!trace.contains(&recorded.product.to_string()));
            assert!(!trace.contains("Trace Touch Controller"));
            // hw-sim's paging cursors encode ids (base64 of `hwsim:…`): replaced whole.
            assert!(!trace.contains("aHdzaW06"), "a cursor survived");
            assert_eq!(replayed.products, recorded.products);
            assert_eq!(replayed.signed_bytes, recorded.signed_bytes);
        } else {
            assert_eq!(replayed, recorded);
        }
        if let Some(path) = update_committed(anonymize, &trace) {
            eprintln!("wrote {}", path.display());
        }
    }
}

/// With `HW_API_UPDATE_TRACES=1`, writes a recorded flow into `tests/traces/`.
fn update_committed(anonymize: bool, trace: &str) -> Option<PathBuf> {
    std::env::var_os("HW_API_UPDATE_TRACES")?;
    let name = if anonymize {
        "sim-flow-anonymized.jsonl"
    } else {
        "sim-flow.jsonl"
    };
    let path = traces_dir().join(name);
    std::fs::write(&path, trace).unwrap();
    Some(path)
}

fn traces_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("traces")
}

#[tokio::test]
async fn every_committed_trace_fits_the_spec_and_replays_through_the_client() {
    let mut files: Vec<PathBuf> = std::fs::read_dir(traces_dir())
        .expect("tests/traces exists")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    files.sort();
    assert!(files.len() >= 2, "the recorded flows are in tests/traces");
    let mut findings = Vec::new();
    for path in &files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let trace = std::fs::read_to_string(path).unwrap();
        findings.extend(spec_findings(&name, &trace));
        findings.extend(replay_requests(&name, &trace).await);
    }
    assert!(
        findings.is_empty(),
        "{} differences:\n{}",
        findings.len(),
        findings.join("\n")
    );
}

#[tokio::test]
async fn a_request_the_trace_does_not_hold_gets_a_clear_error() {
    let (trace, _) = record(false).await;
    let sim = replaying(&trace).await;
    let client = replay_client(&sim, RetryPolicy::default());
    let error = client.get_product(Id(424242)).await.unwrap_err();
    assert_eq!(error.status(), Some(501));
    let text = hw_api::Report::new(&error).to_string();
    assert!(
        text.contains("notInTrace") && text.contains("/hardware/products/424242"),
        "{text}"
    );
    assert_eq!(
        sim.replay_report().unwrap().misses,
        vec!["GET /v2.0/my/hardware/products/424242".to_owned()]
    );
    // Its own token endpoint still signs clients in; an unsigned request is refused.
    let anonymous = reqwest::get(format!("{}/hardware/products", sim.api_url()))
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
}

#[test]
fn a_file_that_is_not_a_trace_is_refused_with_its_line() {
    let error = Trace::parse("{\"kind\":\"trace\",\"format\":1}\nnot json\n").unwrap_err();
    assert!(error.to_string().starts_with("line 2:"), "{error}");
    let error = Trace::parse("{\"kind\":\"trace\",\"format\":99}\n").unwrap_err();
    assert!(error.to_string().contains("format 99"), "{error}");
    let error = Trace::parse("{\"kind\":\"client\",\"api_base\":\"x\"}\n").unwrap_err();
    assert!(error.to_string().contains("not a trace"), "{error}");
}

#[tokio::test]
async fn a_trace_that_differs_from_the_spec_is_reported_with_its_file_and_operation() {
    let trace = std::fs::read_to_string(traces_dir().join("sim-flow.jsonl")).unwrap();
    let mut changed = false;
    let altered: Vec<String> = trace
        .lines()
        .map(|line| {
            let mut value: Value = serde_json::from_str(line).unwrap();
            if !changed && value["operation"] == "getSubmission" && value["status"] == 200 {
                value["response"]["body"]["json"]["id"] = Value::from("not an id");
                changed = true;
            }
            value.to_string()
        })
        .collect();
    assert!(changed, "the flow has a submission read");
    let altered = altered.join("\n");
    let spec = spec_findings("altered.jsonl", &altered);
    assert_eq!(spec.len(), 1, "{spec:?}");
    assert!(
        spec[0].starts_with("altered.jsonl: exchange ")
            && spec[0].contains("getSubmission 200")
            && spec[0].contains("/id"),
        "{spec:?}"
    );
    let replayed = replay_requests("altered.jsonl", &altered).await;
    assert_eq!(replayed.len(), 1, "{replayed:?}");
    assert!(
        replayed[0].contains("getSubmission") && replayed[0].contains("id"),
        "{replayed:?}"
    );
}
