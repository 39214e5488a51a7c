//! `Client::ship` across runs: the journal and service state that used to leave a flow stuck
//! (a re-run after its journal was gone, refused for a second initial submission forever), and
//! a flow stopped after a stage and continued from its journal alone.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hw_api::ship::{FileStateStore, ProductChoice, ShipPlan, ShipStage, Transfers};
use hw_api::transfer::Silent;
use hw_api::types::{NewProduct, NewSubmission, SubmissionType};
use hw_api::{Client, Error, ErrorKind, Id, WaitOptions};
use hw_workspace_tests::sim::TestSim;
use hw_workspace_tests::tempdir;
use sha2::Digest;

const ACCOUNT: &str = "hw-sim-tenant/hw-sim-client";
const PRODUCT: &str = "Stuck Touch";

fn quick_wait() -> WaitOptions {
    WaitOptions::default()
        .with_first_interval(Duration::from_millis(10))
        .with_max_interval(Duration::from_millis(40))
        .with_deadline(Some(Duration::from_secs(30)))
}

fn initial(name: &str) -> NewSubmission {
    NewSubmission {
        name: name.try_into().unwrap(),
        type_: SubmissionType::Initial,
    }
}

fn named_product() -> NewProduct {
    serde_json::from_value(serde_json::json!({
        "productName": PRODUCT, "testHarness": "attestation",
        "requestedSignatures": ["WINDOWS_v100_X64_RS5_FULL"]
    }))
    .unwrap()
}

/// A package in `dir`: its path and SHA-256 (hex).
fn package(dir: &Path) -> (PathBuf, String) {
    let bytes: Vec<u8> = (0..60_000).map(|i| (i * 7 % 251) as u8).collect();
    let path = dir.join("driver.cab");
    std::fs::write(&path, &bytes).unwrap();
    let sha = sha2::Sha256::digest(&bytes);
    let hex: String = sha.iter().map(|b| format!("{b:02x}")).collect();
    (path, hex)
}

fn plan(package: &Path, out: &Path) -> ShipPlan {
    ShipPlan::new(
        package,
        ProductChoice::Named(Box::new(named_product())),
        initial("1.0"),
        out,
        ACCOUNT,
    )
    .with_wait(quick_wait())
}

async fn ship(
    client: &Client,
    plan: &ShipPlan,
    store: &FileStateStore,
) -> Result<hw_api::ship::ShipReport, Error> {
    let transfers = Transfers {
        upload: &Silent,
        download: &Silent,
    };
    client.ship(plan, store, &mut |_| {}, transfers).await
}

/// The product named [`PRODUCT`] with its initial submission "1.0", made as a finished run of
/// the flow would have left them, and the journal of a later run that sent a create: the
/// product, its snapshot of submissions (with that submission when `snapshot_has_it`), no
/// submission.
async fn refused_journal(
    client: &Client,
    journal: &Path,
    sha256: &str,
    snapshot_has_it: bool,
) -> (Id, Id) {
    let product = client
        .create_product_once(&named_product())
        .await
        .unwrap()
        .id;
    let submission = client
        .create_submission_once(product, &initial("1.0"))
        .await
        .unwrap()
        .id;
    let state = serde_json::json!({
        "version": 1,
        "packageSha256": sha256,
        "account": ACCOUNT,
        "submissionName": "1.0",
        "productChoice": format!("named {PRODUCT:?}"),
        "submissionType": "initial",
        "product": product.get(),
        "submissionsBefore": {"ids": if snapshot_has_it { vec![submission.get()] } else { vec![] }},
        "committed": false,
        "signed": false,
    });
    std::fs::write(journal, serde_json::to_vec(&state).unwrap()).unwrap();
    (product, submission)
}

/// The stuck state of issue 27: a flow run again after an earlier run finished (its journal
/// removed) snapshots the product's initial submission, and the service refuses a second one.
/// Every re-run used to exit with that refusal. Now the refusal is settled against the
/// snapshot: the existing initial submission is the candidate of an unclear outcome (exit 8),
/// the same on every re-run, and a person who keeps it continues with it.
#[tokio::test(flavor = "multi_thread")]
async fn a_create_refused_because_the_initial_submission_exists_names_it() {
    let sim = TestSim::quick().await;
    let client = sim.client();
    let dir = tempdir::Dir::new("ship-refused");
    let (package, sha256) = package(dir.path());
    let out = dir.path().join("signed.cab");
    let journal = dir.path().join("driver.cab.hwdc.json");
    let store = FileStateStore::new(&journal);
    // The snapshot holds the existing submission: it was made before this run's create.
    let (product, existing) = refused_journal(&client, &journal, &sha256, true).await;

    for _ in 0..2 {
        let error = ship(&client, &plan(&package, &out), &store)
            .await
            .unwrap_err();
        assert_eq!(error.kind(), ErrorKind::Ambiguous, "{error}");
        assert_eq!(error.candidates(), [existing], "{error}");
        let text = hw_api::Report::new(&error).to_string();
        assert!(text.contains("second initial submission"), "{text}");
        assert!(text.contains(&existing.to_string()), "{text}");
        assert_eq!(sim.submissions_of(product.get()).len(), 1, "nothing made");
    }
    // The person keeps it: the flow continues with it to the signed package.
    let kept = plan(&package, &out).with_existing_submission(existing);
    let report = ship(&client, &kept, &store).await.unwrap();
    assert_eq!(report.submission, existing);
    assert_eq!(report.reached, ShipStage::Delivered);
    assert!(out.is_file());
    assert!(
        hw_api::ship::StateStore::load(&store)
            .unwrap()
            .unwrap()
            .is_finished(),
        "the finished journal is kept"
    );
    assert_eq!(sim.submissions_of(product.get()).len(), 1);
}

/// The same service state, but the journal's snapshot was taken before the submission was
/// made: it is new since the snapshot, so it is this flow's, adopted without a create.
#[tokio::test(flavor = "multi_thread")]
async fn a_submission_new_since_the_snapshot_is_adopted() {
    let sim = TestSim::quick().await;
    let client = sim.client();
    let dir = tempdir::Dir::new("ship-adopted");
    let (package, sha256) = package(dir.path());
    let out = dir.path().join("signed.cab");
    let journal = dir.path().join("journal.json");
    let store = FileStateStore::new(&journal);
    let (product, made) = refused_journal(&client, &journal, &sha256, false).await;
    let creates = sim.requests("createSubmission");
    let report = ship(&client, &plan(&package, &out), &store).await.unwrap();
    assert_eq!(report.submission, made);
    assert_eq!(sim.requests("createSubmission"), creates, "no create sent");
    assert_eq!(sim.submissions_of(product.get()).len(), 1);
}

/// `--until committed` and `--until signed`, then the rest with the journal alone (a later CI
/// job that has neither the package nor the flags).
#[tokio::test(flavor = "multi_thread")]
async fn a_flow_stopped_after_its_commit_is_continued_from_its_journal_alone() {
    let sim = TestSim::quick().await;
    let client = sim.client();
    let dir = tempdir::Dir::new("ship-stages");
    let (package, _) = package(dir.path());
    let out = dir.path().join("signed.cab");
    let journal = dir.path().join("journal.json");
    let store = FileStateStore::new(&journal);

    let committed = plan(&package, &out).with_stop_after(ShipStage::Committed);
    let report = ship(&client, &committed, &store).await.unwrap();
    assert_eq!(report.reached, ShipStage::Committed);
    assert!(report.download.is_none() && report.signed_sha256.is_none());
    assert_eq!(sim.requests("commitSubmission"), 1);
    assert!(!out.exists());

    // The package is gone; only the journal is left.
    std::fs::remove_file(&package).unwrap();
    let state = hw_api::ship::StateStore::load(&store).unwrap().unwrap();
    assert!(
        ShipPlan::continuing(&state, &out, ACCOUNT).is_some(),
        "committed: the journal alone continues"
    );
    let signed = ShipPlan::continuing(&state, &out, ACCOUNT)
        .unwrap()
        .with_wait(quick_wait())
        .with_stop_after(ShipStage::Signed);
    let report = ship(&client, &signed, &store).await.unwrap();
    assert_eq!(report.reached, ShipStage::Signed);
    assert!(!out.exists());

    // Another account's journal is refused, whatever the plan was made from.
    let other = ShipPlan::continuing(&state, &out, "another/account").unwrap();
    let refused = ship(&client, &other, &store).await.unwrap_err();
    assert!(matches!(refused, Error::StateMismatch(_)), "{refused}");

    let state = hw_api::ship::StateStore::load(&store).unwrap().unwrap();
    let delivered = ShipPlan::continuing(&state, &out, ACCOUNT)
        .unwrap()
        .with_wait(quick_wait());
    let report = ship(&client, &delivered, &store).await.unwrap();
    assert_eq!(report.reached, ShipStage::Delivered);
    assert_eq!(report.submission, state.submission.unwrap());
    assert!(report.download.is_some() && out.is_file());
    assert_eq!(sim.requests("createSubmission"), 1);
    assert_eq!(sim.requests("commitSubmission"), 1);

    // Once more: the kept journal reports the same delivery, with nothing downloaded again.
    let again = ship(&client, &delivered, &store).await.unwrap();
    assert_eq!(again.signed_sha256, report.signed_sha256);
    let bytes = std::fs::metadata(&out).unwrap().len();
    assert_eq!(
        again.download.unwrap().resumed_from,
        bytes,
        "not downloaded again"
    );

    // A journal that is gone cannot be continued.
    std::fs::remove_file(&journal).unwrap();
    let gone = ship(&client, &delivered, &store).await.unwrap_err();
    assert!(matches!(gone, Error::StateMismatch(_)), "{gone}");
}

/// A journal whose package is not uploaded yet cannot be continued alone.
#[test]
fn a_journal_before_the_upload_is_not_continued_alone() {
    let state: hw_api::ship::ShipState = serde_json::from_value(serde_json::json!({
        "version": 1, "packageSha256": "00", "account": ACCOUNT, "submissionName": "1.0",
        "productChoice": "id 1", "submissionType": "initial", "product": 1, "submission": 2,
        "committed": false, "signed": false
    }))
    .unwrap();
    assert!(ShipPlan::continuing(&state, "out.cab", ACCOUNT).is_none());
    let mut uploaded = state.clone();
    uploaded.uploaded_etag = Some("\"etag\"".into());
    assert!(ShipPlan::continuing(&uploaded, "out.cab", ACCOUNT).is_some());
}

/// The service's create answer can come without `downloads` (seen in 2026): the flow reads
/// the submission for its upload URL and ships as usual.
#[tokio::test(flavor = "multi_thread")]
async fn a_create_answered_without_downloads_still_ships() {
    let sim = TestSim::start(hw_sim::SimConfig {
        step_duration: Duration::from_millis(10),
        bare_creates: true,
        ..hw_sim::SimConfig::default()
    })
    .await;
    let client = sim.client();
    let dir = tempdir::Dir::new("bare-create");
    let (path, _) = package(dir.path());
    let mut probe = named_product();
    probe.product_name = "Bare probe".try_into().unwrap();
    let probe = client.create_product_once(&probe).await.unwrap().id;
    let created = client
        .create_submission(probe, &initial("probe"))
        .await
        .unwrap();
    assert!(
        created.downloads.is_none(),
        "the simulator answers the create bare"
    );
    let out = dir.path().join("signed.zip");
    let store = FileStateStore::beside(&path, ".hwdc.json");
    let report = ship(&client, &plan(&path, &out), &store).await.unwrap();
    assert_eq!(report.reached, ShipStage::Delivered);
    assert!(std::fs::metadata(&out).unwrap().len() > 0);
}
