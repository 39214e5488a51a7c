//! The whole submission lifecycle through hw-api against the simulator: product, submission,
//! a multi-block upload, commit, wait, download, driver metadata, shipping label, wait — and
//! the ways it can go wrong: interrupted transfers, expired SAS URLs, unclear creates and
//! commits, failed and slow workflows, broken label rules.

use std::path::PathBuf;
use std::time::Duration;

use futures_util::TryStreamExt;
use hw_api::targeting::Filter;
use hw_api::transfer::{Silent, TransferError, TransferOptions};
use hw_api::types::{
    DownloadType, NewProduct, NewShippingLabel, NewSubmission, ShippingLabelCurrentStep,
    ShippingLabelStep, SubmissionType,
};
use hw_api::{Client, Error, Id, LabelMilestone, RetryPolicy, WaitOptions};
use hw_sim::{Fault, FaultRule, SimConfig};
use hw_workspace_tests::sim::TestSim;
use hw_workspace_tests::tempdir;

const KIB: u64 = 1024;

fn quick_wait() -> WaitOptions {
    WaitOptions::default()
        .with_first_interval(Duration::from_millis(10))
        .with_max_interval(Duration::from_millis(40))
        .with_deadline(Some(Duration::from_secs(30)))
}

fn small_blocks() -> TransferOptions {
    TransferOptions::default()
        .with_block_size(64 * KIB)
        .with_single_put_threshold(64 * KIB)
        .with_parallelism(4)
}

async fn sim_with(faults: Vec<FaultRule>) -> TestSim {
    TestSim::start(SimConfig {
        faults,
        step_duration: Duration::from_millis(20),
        ..SimConfig::default()
    })
    .await
}

fn client(sim: &TestSim) -> Client {
    sim.client_builder()
        .transfer_options(small_blocks())
        .build()
        .unwrap()
}

/// A package of `len` bytes with a recognisable pattern, in a fresh temporary directory.
fn package(name: &str, len: usize, marker: &[u8]) -> (tempdir::Dir, PathBuf) {
    let dir = tempdir::Dir::new(name);
    let mut bytes: Vec<u8> = (0..len).map(|i| (i * 31 % 251) as u8).collect();
    bytes[..marker.len()].copy_from_slice(marker);
    let path = dir.path().join("driver.cab");
    std::fs::write(&path, bytes).unwrap();
    (dir, path)
}

async fn new_product(client: &Client, name: &str) -> Id {
    let body: NewProduct = serde_json::from_value(serde_json::json!({
        "productName": name, "testHarness": "hlk",
        "requestedSignatures": ["WINDOWS_v100_X64_RS5_FULL", "WINDOWS_v63_X64"]
    }))
    .unwrap();
    client.create_product_once(&body).await.unwrap().id
}

fn initial(name: &str) -> NewSubmission {
    NewSubmission {
        name: name.try_into().unwrap(),
        type_: SubmissionType::Initial,
    }
}

fn windows_update_label(name: &str) -> NewShippingLabel {
    serde_json::from_value(serde_json::json!({
        "name": name,
        "destination": "windowsUpdate",
        "publishingSpecifications": {
            "isAutoInstallOnApplicableSystems": true, "manualAcquisition": false,
            "additionalInfoForMsApproval": {"microsoftContact": "driver-team@contoso.example", "businessJustification": "fix"}
        },
        "targeting": {}
    }))
    .unwrap()
}

/// A new product named `name` with a submission "v1": their ids.
async fn product_and_submission(client: &Client, name: &str) -> (Id, Id) {
    let product = new_product(client, name).await;
    let submission = client
        .create_submission_once(product, &initial("v1"))
        .await
        .unwrap()
        .id;
    (product, submission)
}

/// Publishes the submission to Windows Update with a label named `name`, every target.
async fn publish_to_wu(
    client: &Client,
    product: Id,
    submission: Id,
    name: &str,
) -> Result<hw_api::types::ShippingLabel, Error> {
    client
        .publish(
            product,
            submission,
            windows_update_label(name),
            &Filter::default(),
        )
        .await
}

/// Downloads the signed package of a submission to `dest`, without progress.
async fn download_signed(
    client: &Client,
    product: Id,
    submission: Id,
    dest: &std::path::Path,
) -> Result<hw_api::transfer::DownloadReport, Error> {
    client
        .download_package(
            product,
            submission,
            DownloadType::SignedPackage,
            dest,
            &Silent,
        )
        .await
}

/// Downloads again after an interrupted run: it resumes, checks out and holds `original`.
async fn resumes_to_the_original(
    client: &Client,
    product: Id,
    submission: Id,
    dest: &std::path::Path,
    original: &[u8],
) {
    let report = download_signed(client, product, submission, dest)
        .await
        .unwrap();
    assert!(report.resumed_from > 0, "{report:?}");
    assert!(report.md5_verified);
    assert!(std::fs::read(dest).unwrap().ends_with(original));
}

async fn signed_submission(client: &Client, dir_name: &str) -> (Id, Id, Vec<u8>) {
    signed_submission_of(client, dir_name, 300 * KIB as usize + 17).await
}

async fn signed_submission_of(client: &Client, name: &str, size: usize) -> (Id, Id, Vec<u8>) {
    let (product, submission, bytes) = uploaded_submission(client, name, size, b"PK").await;
    client.commit_submission(product, submission).await.unwrap();
    client
        .wait_for_submission(product, submission, &quick_wait(), &mut |_| {})
        .await
        .unwrap();
    (product, submission, bytes)
}

/// A new product with a submission "v1" holding a package of `len` bytes that starts with
/// `marker`; returns the ids and the package.
async fn uploaded_submission(
    client: &Client,
    name: &str,
    len: usize,
    marker: &[u8],
) -> (Id, Id, Vec<u8>) {
    let product = new_product(client, name).await;
    let submission = client
        .create_submission_once(product, &initial("v1"))
        .await
        .unwrap()
        .id;
    let (_dir, path) = package(name, len, marker);
    client
        .upload_package(product, submission, &path, &Silent)
        .await
        .unwrap();
    (product, submission, std::fs::read(&path).unwrap())
}

/// A file the service lists with a `null` URL is not available yet: lists and reads decode it,
/// and the flows that need its URL read the submission again until it is there, or until their
/// deadline; a file of another kind that is not listed at all fails at once.
#[tokio::test]
async fn files_listed_without_their_url_yet_are_read_again() {
    const WITHHELD: u32 = 12;
    let sim = TestSim::start(SimConfig {
        step_duration: Duration::from_millis(20),
        withhold_urls: WITHHELD,
        ..SimConfig::default()
    })
    .await;
    let patient = |wait: WaitOptions| {
        sim.client_builder()
            .transfer_options(small_blocks())
            .file_url_wait(wait)
            .build()
            .unwrap()
    };
    let client = patient(quick_wait());
    let product = new_product(&client, "not yet").await;
    let created = client
        .create_submission_once(product, &initial("v1"))
        .await
        .unwrap();
    let item_urls = |s: &hw_api::types::Submission| -> Vec<bool> {
        s.downloads
            .iter()
            .flat_map(|d| d.items.iter())
            .map(|i| i.url.is_some())
            .collect()
    };
    assert_eq!(
        item_urls(&created),
        vec![false],
        "the create's answer lists it without a URL"
    );
    let listed: Vec<_> = client
        .list_submissions(product)
        .try_collect()
        .await
        .expect("a list with a null URL decodes");
    assert_eq!(item_urls(&listed[0]), vec![false]);
    // The upload reads the submission until the URL is there.
    let left = sim.submission(created.id.get()).unwrap().urls_withheld;
    assert!(left > 0, "some reads are still withheld");
    let reads_before = sim.requests("getSubmission");
    let (_dir, path) = package("not-yet", 300 * KIB as usize, b"PK");
    client
        .upload_package(product, created.id, &path, &Silent)
        .await
        .unwrap();
    let reads = sim.requests("getSubmission") - reads_before;
    assert_eq!(
        u64::from(left) + 1,
        reads,
        "the withheld reads, then the one with the URL"
    );
    assert_eq!(sim.submission(created.id.get()).unwrap().urls_withheld, 0);
    let blob = sim
        .blob(&sim.submission(created.id.get()).unwrap().package_blob)
        .expect("the package was uploaded");
    assert_eq!(blob.len(), 300 * KIB as usize);
    // Not listed at all, and not the package to upload: no wait.
    let started = std::time::Instant::now();
    let err = client
        .download_url(product, created.id, DownloadType::SignedPackage)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::InvalidRequest { .. }), "{err:?}");
    assert_eq!(sim.requests("getSubmission") - reads_before, reads + 1);
    assert!(started.elapsed() < Duration::from_secs(5));
    // A URL that stays unavailable past the deadline fails, naming the file.
    let hurried = patient(
        WaitOptions::default()
            .with_first_interval(Duration::from_millis(50))
            .with_max_interval(Duration::from_millis(50))
            .with_deadline(Some(Duration::from_millis(120))),
    );
    let other = new_product(&hurried, "never").await;
    let second = hurried
        .create_submission(other, &initial("v1"))
        .await
        .unwrap();
    let err = hurried
        .upload_package(other, second.id, &path, &Silent)
        .await
        .unwrap_err();
    assert!(
        matches!(err, Error::WaitTimedOut { .. }),
        "a wait that ran out: {err:?}"
    );
    assert!(err.to_string().contains("initialPackage"), "{err}");
    let left = sim.submission(second.id.get()).unwrap().urls_withheld;
    assert!(
        left > 0 && left <= WITHHELD - 3,
        "read again until the deadline: {left} left"
    );
}

#[tokio::test]
async fn the_whole_flow_from_product_to_published_label() {
    let sim = sim_with(Vec::new()).await;
    let client = client(&sim);
    let product = new_product(&client, "Contoso touch").await;
    let submission = client
        .create_submission_once(product, &initial("touch 1.0"))
        .await
        .unwrap();

    let (dir, path) = package("flow", 700 * KIB as usize + 123, b"PK\x03\x04");
    let seen = std::sync::Mutex::new(Vec::new());
    let report = client
        .upload_package(product, submission.id, &path, &|done: u64, total: u64| {
            seen.lock().unwrap().push((done, total))
        })
        .await
        .unwrap();
    assert_eq!(report.blocks, 11, "700 KiB in 64 KiB blocks");
    assert_eq!(report.blocks_reused, 0);
    let seen = seen.into_inner().unwrap();
    assert_eq!(
        seen.last(),
        Some(&(report.bytes, report.bytes)),
        "progress reaches the total"
    );

    client
        .commit_submission(product, submission.id)
        .await
        .unwrap();
    let mut steps = Vec::new();
    let signed = client
        .wait_for_submission(product, submission.id, &quick_wait(), &mut |s| {
            if let Some(step) = s
                .workflow_status
                .as_ref()
                .and_then(|w| w.current_step.clone())
            {
                steps.push(step.to_string());
            }
        })
        .await
        .unwrap();
    assert!(steps.len() > 1, "the wait saw the steps: {steps:?}");
    assert!(
        signed
            .downloads
            .unwrap()
            .items
            .iter()
            .any(|i| i.type_ == DownloadType::SignedPackage)
    );

    let dest = dir.path().join("signed.cab");
    let download = download_signed(&client, product, submission.id, &dest)
        .await
        .unwrap();
    assert!(download.md5_verified);
    let mut expected = b"HWSIM-SIGNED\n".to_vec();
    expected.extend(std::fs::read(&path).unwrap());
    assert_eq!(
        std::fs::read(&dest).unwrap(),
        expected,
        "the signed package is the uploaded one, signed"
    );

    let metadata = client
        .driver_metadata(product, submission.id)
        .await
        .unwrap();
    let filter = Filter {
        os_codes: vec!["WINDOWS_v100_X64_RS5_FULL".into()],
        ..Filter::default()
    };
    assert_eq!(metadata.hardware_ids(&filter).len(), 2);
    let label = client
        .publish(
            product,
            submission.id,
            windows_update_label("to Windows Update"),
            &filter,
        )
        .await
        .unwrap();
    let done = client
        .wait_for_shipping_label(
            product,
            submission.id,
            label.id,
            LabelMilestone::Done,
            &quick_wait(),
            &mut |_| {},
        )
        .await
        .unwrap();
    let step = done.workflow_status.unwrap().current_step;
    assert_eq!(
        step,
        Some(ShippingLabelCurrentStep::ShippingLabelStep(
            ShippingLabelStep::FinalizePublishing
        ))
    );
    let with_targeting = client
        .get_shipping_label(product, submission.id, label.id, true)
        .await
        .unwrap();
    assert_eq!(with_targeting.targeting.unwrap().hardware_ids.len(), 2);

    assert_eq!(
        sim.blob_authorization_headers(),
        0,
        "the blob service never saw an Authorization header"
    );
    assert!(sim.requests("putBlock") >= 11 && sim.requests("putBlockList") == 1);
}

#[tokio::test]
async fn an_interrupted_upload_resumes_with_the_blocks_already_sent() {
    let sim = sim_with(vec![
        FaultRule::new(Fault::InternalError, 1.0)
            .only("putBlock")
            .after(3)
            .at_most(1),
    ])
    .await;
    let fragile = sim
        .client_builder()
        .retry_policy(RetryPolicy::none())
        .transfer_options(small_blocks().with_parallelism(1))
        .build()
        .unwrap();
    let product = new_product(&fragile, "resume").await;
    let submission = fragile
        .create_submission(product, &initial("v1"))
        .await
        .unwrap();
    let (_dir, path) = package("resume", 500 * KIB as usize, b"PK");
    let err = fragile
        .upload_package(product, submission.id, &path, &Silent)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, Error::Transfer(e) if matches!(**e, TransferError::Refused { status: 500, .. })),
        "{err}"
    );

    let report = client(&sim)
        .upload_package(product, submission.id, &path, &Silent)
        .await
        .unwrap();
    assert_eq!(
        report.blocks_reused, 3,
        "the three blocks sent before the failure were not sent again"
    );
    client(&sim)
        .commit_submission(product, submission.id)
        .await
        .unwrap();
    let blob = sim.submission(submission.id.get()).unwrap().package_blob;
    assert_eq!(
        &sim.blob(&blob).unwrap()[..],
        &std::fs::read(&path).unwrap()[..]
    );
}

#[tokio::test]
async fn an_interrupted_download_resumes_from_the_partial_file() {
    // The third range breaks halfway; the first two are on disk.
    let sim = sim_with(vec![
        FaultRule::new(Fault::DropConnection, 1.0)
            .only("getBlob")
            .after(2)
            .at_most(1),
    ])
    .await;
    let client = client(&sim);
    let (product, submission, original) = signed_submission(&client, "download").await;
    let dir = tempdir::Dir::new("download-dest");
    let dest = dir.path().join("signed.cab");
    let fragile = sim
        .client_builder()
        .transfer_options(small_blocks().with_parallelism(1))
        .retry_policy(RetryPolicy::none())
        .build()
        .unwrap();
    let err = download_signed(&fragile, product, submission, &dest)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Transfer(_)), "{err}");
    assert!(
        !dest.exists(),
        "nothing is renamed into place before it is complete"
    );
    resumes_to_the_original(&client, product, submission, &dest, &original).await;
}

#[tokio::test]
async fn an_expired_sas_url_is_refused_before_sending_and_a_fresh_one_works() {
    let sim = TestSim::start(SimConfig {
        sas_lifetime: Duration::from_secs(1),
        ..SimConfig::default()
    })
    .await;
    let client = client(&sim);
    let product = new_product(&client, "expiry").await;
    let submission = client
        .create_submission(product, &initial("v1"))
        .await
        .unwrap();
    let stale = submission.downloads.unwrap().items[0]
        .url
        .as_ref()
        .expect("a URL")
        .expose()
        .to_owned();
    tokio::time::sleep(Duration::from_millis(2100)).await;
    let (_dir, path) = package("expiry", 10 * KIB as usize, b"PK");
    let before = sim.requests("putBlob");
    let err = client.upload_to(&stale, &path, &Silent).await.unwrap_err();
    assert!(err.to_string().contains("expired"), "{err}");
    assert_eq!(sim.requests("putBlob"), before, "nothing was sent");
    client
        .upload_package(product, submission.id, &path, &Silent)
        .await
        .unwrap();
}

#[tokio::test]
async fn an_unclear_create_is_reconciled_by_name() {
    let sim = sim_with(vec![
        FaultRule::new(Fault::DropConnection, 1.0)
            .only("createSubmission")
            .at_most(1),
    ])
    .await;
    let client = client(&sim);
    let product = new_product(&client, "reconcile").await;
    let created = client
        .create_submission_once(product, &initial("exactly once"))
        .await
        .unwrap();
    assert_eq!(created.name.as_deref(), Some("exactly once"));
    let all: Vec<_> = client
        .list_submissions(product)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1, "no duplicate");
    assert_eq!(
        sim.requests("createSubmission"),
        1,
        "it was not sent again: it had been made"
    );
}

#[tokio::test]
async fn a_create_that_did_not_arrive_is_sent_again() {
    let sim = sim_with(vec![
        FaultRule::new(Fault::InternalError, 1.0)
            .only("createSubmission")
            .at_most(1),
    ])
    .await;
    let client = client(&sim);
    let product = new_product(&client, "resend").await;
    client
        .create_submission_once(product, &initial("v1"))
        .await
        .unwrap();
    assert_eq!(sim.requests("createSubmission"), 2);
    let all: Vec<_> = client
        .list_submissions(product)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(all.len(), 1);
}

/// The ids of the products named `name`.
async fn products_named(client: &Client, name: &str) -> Vec<Id> {
    let all: Vec<_> = client.list_products().try_collect().await.unwrap();
    all.into_iter()
        .filter(|p| p.product_name.as_deref() == Some(name))
        .map(|p| p.id)
        .collect()
}

#[tokio::test]
async fn an_older_namesake_is_never_taken_for_what_an_unclear_create_made() {
    for (fault, sent) in [(Fault::InternalError, 2), (Fault::InternalErrorAfter, 1)] {
        let sim = sim_with(vec![
            FaultRule::new(fault.clone(), 1.0)
                .only("createProduct")
                .after(1)
                .at_most(1),
        ])
        .await;
        let client = client(&sim);
        let old = new_product(&client, "Contoso Touch").await;
        let made = new_product(&client, "Contoso Touch").await;
        assert_ne!(
            made, old,
            "{fault:?}: the older namesake is not what was made"
        );
        let named = products_named(&client, "Contoso Touch").await;
        assert_eq!(named, vec![old, made], "{fault:?}: exactly one new product");
        assert_eq!(
            sim.requests("createProduct"),
            1 + sent,
            "{fault:?}: sent again only when it was not processed"
        );
    }
}

#[tokio::test]
async fn an_older_submission_of_the_same_name_is_never_taken_for_the_new_one() {
    for fault in [Fault::InternalError, Fault::InternalErrorAfter] {
        let sim = sim_with(vec![
            FaultRule::new(fault.clone(), 1.0)
                .only("createSubmission")
                .after(2)
                .at_most(1),
        ])
        .await;
        let client = client(&sim);
        let product = new_product(&client, "derived").await;
        client
            .create_submission_once(product, &initial("1.0"))
            .await
            .unwrap();
        let derived = NewSubmission {
            name: "2.0".try_into().unwrap(),
            type_: SubmissionType::Derived,
        };
        let old = client
            .create_submission_once(product, &derived)
            .await
            .unwrap();
        let made = client
            .create_submission_once(product, &derived)
            .await
            .unwrap();
        assert_ne!(made.id, old.id, "{fault:?}");
        let named_2: Vec<_> = sim
            .submissions_of(product.get())
            .into_iter()
            .filter(|s| s.name == "2.0")
            .map(|s| s.id)
            .collect();
        assert_eq!(named_2, vec![old.id.get(), made.id.get()], "{fault:?}");
    }
}

#[tokio::test]
async fn an_unclear_label_create_is_settled_once() {
    let sim = sim_with(vec![
        FaultRule::new(Fault::DropConnection, 1.0)
            .only("createShippingLabel")
            .after(1)
            .at_most(1),
    ])
    .await;
    let client = client(&sim);
    let (product, submission, _) = signed_submission(&client, "label-once").await;
    let first = publish_to_wu(&client, product, submission, "to WU")
        .await
        .unwrap();
    let second = publish_to_wu(&client, product, submission, "to WU")
        .await
        .unwrap();
    assert_ne!(
        first.id, second.id,
        "the older label of the same name is not taken"
    );
    assert_eq!(sim.label_names(submission.get()), ["to WU", "to WU"]);
    assert_eq!(sim.requests("createShippingLabel"), 2, "not sent again");
}

#[tokio::test]
async fn a_label_whose_state_is_published_is_done() {
    let sim = TestSim::start(SimConfig {
        step_duration: Duration::from_millis(20),
        labels_end_published: true,
        ..SimConfig::default()
    })
    .await;
    let client = client(&sim);
    let (product, submission, _) = signed_submission(&client, "published").await;
    let label = publish_to_wu(&client, product, submission, "published")
        .await
        .unwrap();
    let done = client
        .wait_for_shipping_label(
            product,
            submission,
            label.id,
            LabelMilestone::Done,
            &quick_wait(),
            &mut |_| {},
        )
        .await
        .unwrap();
    let state = done.workflow_status.unwrap().state;
    assert_eq!(state, Some(hw_api::types::WorkflowState::Published));
}

#[tokio::test]
async fn an_unclear_commit_is_settled_by_reading_the_submission() {
    let sim = sim_with(vec![
        FaultRule::new(Fault::InternalError, 1.0)
            .only("commitSubmission")
            .at_most(1),
    ])
    .await;
    let client = client(&sim);
    let (product, submission, _) =
        uploaded_submission(&client, "commit", 5 * KIB as usize, b"PK").await;
    client.commit_submission(product, submission).await.unwrap();
    assert_eq!(
        sim.requests("commitSubmission"),
        2,
        "pending after the 500, so sent again"
    );
    client.commit_submission(product, submission).await.unwrap();
    assert_eq!(
        sim.requests("commitSubmission"),
        3,
        "a repeated commit is recognised as done"
    );
}

#[tokio::test]
async fn a_commit_that_was_processed_but_whose_answer_was_lost_is_not_resent() {
    let sim = sim_with(vec![
        FaultRule::new(Fault::Slow(Duration::from_millis(800)), 1.0)
            .only("commitSubmission")
            .at_most(1),
    ])
    .await;
    let client = sim
        .client_builder()
        .transfer_options(small_blocks())
        .request_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let (product, submission, _) =
        uploaded_submission(&client, "lost answer", 5 * KIB as usize, b"PK").await;
    client.commit_submission(product, submission).await.unwrap();
    assert_eq!(
        sim.requests("commitSubmission"),
        1,
        "the submission showed the commit had arrived"
    );
}

#[tokio::test]
async fn a_download_killed_midway_resumes_in_the_next_run() {
    let sim = sim_with(vec![
        FaultRule::new(Fault::Slow(Duration::from_millis(10)), 1.0).only("getBlob"),
    ])
    .await;
    let client = client(&sim);
    // Larger than the download's 1 MiB write buffer, so that bytes reach the disk before the kill.
    let (product, submission, original) =
        signed_submission_of(&client, "killed", 4 * 1024 * 1024).await;
    let dir = tempdir::Dir::new("killed-dest");
    let dest = dir.path().join("signed.cab");
    // The run dies (like a killed process) once 2 MiB have arrived.
    let run = {
        let (client, dest) = (client.clone(), dest.clone());
        tokio::spawn(async move {
            let progress = |done: u64, _total: u64| assert!(done <= 2 * 1024 * 1024, "killed");
            client
                .download_package(
                    product,
                    submission,
                    DownloadType::SignedPackage,
                    &dest,
                    &progress,
                )
                .await
        })
    };
    assert!(run.await.is_err(), "the first run died");
    assert!(!dest.exists());
    resumes_to_the_original(&client, product, submission, &dest, &original).await;
}

#[tokio::test]
async fn a_failed_workflow_carries_its_step_messages_and_report() {
    let sim = sim_with(Vec::new()).await;
    let client = client(&sim);
    let (product, submission, _) =
        uploaded_submission(&client, "fail", 4 * KIB as usize, b"HWSIM-FAIL-AT:scanning").await;
    client.commit_submission(product, submission).await.unwrap();
    let err = client
        .wait_for_submission(product, submission, &quick_wait(), &mut |_| {})
        .await
        .unwrap_err();
    let Error::WorkflowFailed(failure) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(failure.step.as_deref(), Some("scanning"));
    assert!(!failure.messages.is_empty());
    assert!(
        failure
            .error_report
            .as_deref()
            .unwrap()
            .contains("failed at step scanning"),
        "{failure:?}"
    );
    assert!(!err.to_string().contains('\n'));
}

#[tokio::test]
async fn a_wait_gives_up_at_its_deadline() {
    let sim = TestSim::start(SimConfig {
        step_duration: Duration::from_secs(600),
        ..SimConfig::default()
    })
    .await;
    let client = client(&sim);
    let (product, submission, _) = uploaded_submission(&client, "slow", KIB as usize, b"PK").await;
    client.commit_submission(product, submission).await.unwrap();
    let options = quick_wait().with_deadline(Some(Duration::from_millis(100)));
    let err = client
        .wait_for_submission(product, submission, &options, &mut |_| {})
        .await
        .unwrap_err();
    assert!(matches!(err, Error::WaitTimedOut { .. }), "{err:?}");
    assert!(err.to_string().contains("packageInfoValidation"), "{err}");
}

#[tokio::test]
async fn label_rules_are_checked_before_sending() {
    let sim = sim_with(Vec::new()).await;
    let client = client(&sim);
    let (product, submission, _) = signed_submission(&client, "rules").await;
    let mut label = windows_update_label("both");
    label
        .publishing_specifications
        .as_mut()
        .unwrap()
        .manual_acquisition = Some(true);
    let err = client
        .publish(product, submission, label, &Filter::default())
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("manualAcquisition must be false"),
        "{err}"
    );
    assert_eq!(sim.requests("createShippingLabel"), 0);
    let none = Filter {
        hardware_ids: vec!["PCI\\VEN_DEAD".into()],
        ..Filter::default()
    };
    let err = client
        .publish(product, submission, windows_update_label("nothing"), &none)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no hardware id"), "{err}");
}

#[tokio::test]
async fn product_and_submission_updates_follow_the_rules() {
    let sim = sim_with(Vec::new()).await;
    let client = client(&sim);
    let product = new_product(&client, "updates").await;
    let rename: hw_api::types::ProductUpdate =
        serde_json::from_value(serde_json::json!({"productName": "renamed"})).unwrap();
    let err = client.update_product(product, &rename).await.unwrap_err();
    assert_eq!(
        err.code(),
        Some(&hw_api::types::ErrorCode::UpdateUnauthorized)
    );
    assert!(
        err.to_string().contains("without an initial submission"),
        "{err}"
    );

    let submission = client
        .create_submission(product, &initial("v1"))
        .await
        .unwrap()
        .id;
    client.update_product(product, &rename).await.unwrap();
    assert_eq!(
        client
            .get_product(product)
            .await
            .unwrap()
            .product_name
            .as_deref(),
        Some("renamed")
    );
    let update = hw_api::types::SubmissionUpdate {
        name: "v1 final".try_into().unwrap(),
    };
    client
        .update_submission(product, submission, &update)
        .await
        .unwrap();
    assert_eq!(
        client
            .get_submission(product, submission)
            .await
            .unwrap()
            .name
            .as_deref(),
        Some("v1 final")
    );

    let err = client
        .create_publisher_metadata(product, submission)
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(&hw_api::types::ErrorCode::RequestInvalidForCurrentState)
    );
}

#[tokio::test]
async fn labels_update_cancel_audiences_and_partner_translation() {
    let sim = TestSim::start(SimConfig {
        step_duration: Duration::from_millis(60),
        ..SimConfig::default()
    })
    .await;
    let client = client(&sim);
    let (product, submission, _) = signed_submission(&client, "labels").await;
    client
        .create_publisher_metadata(product, submission)
        .await
        .unwrap();
    let audiences: Vec<_> = client.list_audiences().try_collect().await.unwrap();
    assert_eq!(audiences.len(), 2);

    let filter = Filter {
        hardware_ids: vec!["PCI\\VEN_8086&DEV_0000".into()],
        ..Filter::default()
    };
    let metadata = client.driver_metadata(product, submission).await.unwrap();
    let first_id = metadata.hardware_ids(&Filter::default())[0]
        .pnp_string
        .clone()
        .unwrap();
    let filter = Filter {
        hardware_ids: vec![first_id.clone()],
        ..filter
    };
    let targeted = metadata.hardware_ids(&filter).len();
    let label = client
        .publish(product, submission, windows_update_label("wu"), &filter)
        .await
        .unwrap();
    let busy: hw_api::types::ShippingLabelUpdate = serde_json::from_value(
        serde_json::json!({"targeting": {"restrictedToAudiences": [audiences[0].id]}}),
    )
    .unwrap();
    let err = client
        .update_shipping_label(product, submission, label.id, &busy)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("another workflow is in progress"),
        "{err}"
    );

    let approval = client
        .wait_for_shipping_label(
            product,
            submission,
            label.id,
            LabelMilestone::Approval,
            &quick_wait(),
            &mut |_| {},
        )
        .await
        .unwrap();
    let step = approval.workflow_status.unwrap().current_step;
    assert!(
        matches!(
            step,
            Some(ShippingLabelCurrentStep::ShippingLabelStep(
                ShippingLabelStep::MicrosoftApproval
                    | ShippingLabelStep::Publishing
                    | ShippingLabelStep::FinalizePublishing
            ))
        ),
        "{step:?}"
    );
    client
        .wait_for_shipping_label(
            product,
            submission,
            label.id,
            LabelMilestone::Done,
            &quick_wait(),
            &mut |_| {},
        )
        .await
        .unwrap();
    let all = metadata.hardware_ids(&Filter::default());
    let mut add = all
        .iter()
        .find(|h| h.pnp_string.as_deref() != Some(first_id.as_str()))
        .unwrap()
        .clone();
    add.action = Some(hw_api::types::TargetingAction::Add);
    let update: hw_api::types::ShippingLabelUpdate = serde_json::from_value(serde_json::json!({
        "targeting": {"hardwareIds": [add], "restrictedToAudiences": []}
    }))
    .unwrap();
    client
        .update_shipping_label(product, submission, label.id, &update)
        .await
        .unwrap();
    let updated = client
        .get_shipping_label(product, submission, label.id, true)
        .await
        .unwrap();
    assert_eq!(updated.targeting.unwrap().hardware_ids.len(), targeted + 1);
    let labels: Vec<_> = client
        .list_shipping_labels(product, submission, true)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(labels.len(), 1);
    assert!(labels[0].targeting.is_some());

    // Cancelling is possible only in approval or rollout.
    let err = client
        .cancel_shipping_label(product, submission, label.id)
        .await
        .unwrap_err();
    assert_eq!(
        err.code(),
        Some(&hw_api::types::ErrorCode::RequestInvalidForCurrentState)
    );
    let second = publish_to_wu(&client, product, submission, "wu 2")
        .await
        .unwrap();
    client
        .wait_for_shipping_label(
            product,
            submission,
            second.id,
            LabelMilestone::Approval,
            &quick_wait(),
            &mut |_| {},
        )
        .await
        .unwrap();
    client
        .cancel_shipping_label(product, submission, second.id)
        .await
        .unwrap();

    let translated = client
        .get_partner_submission(Id(29_963_920), product, submission)
        .await
        .unwrap();
    assert_eq!(translated.id, submission);
    assert!(
        client
            .get_partner_submission(Id(1), product, submission)
            .await
            .is_err()
    );
}

#[tokio::test]
async fn preprod_signing_end_to_end() {
    let sim = sim_with(Vec::new()).await;
    let client = client(&sim);
    let package = client
        .upload_preprod_package(bytes::Bytes::from_static(b"MSCF an EV-signed cab"))
        .await
        .unwrap();
    assert_eq!(
        package.signing_status,
        Some(hw_api::types::SigningStatus::Processing)
    );
    let signed = loop {
        let current = client.get_preprod_package(&package.id).await.unwrap();
        if current.signing_status == Some(hw_api::types::SigningStatus::Succeeded) {
            break current;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    };
    let assets = client.list_preprod_assets(&signed.id).await.unwrap();
    assert_eq!(assets.len(), 1);
    let dir = tempdir::Dir::new("preprod");
    let dest = dir.path().join("signed.zip");
    let size = client
        .download_preprod_asset(&signed.id, &assets[0].id, &dest)
        .await
        .unwrap();
    assert_eq!(size, std::fs::metadata(&dest).unwrap().len());
    assert!(
        std::fs::read(&dest)
            .unwrap()
            .ends_with(b"MSCF an EV-signed cab")
    );
    // A destination that cannot be written is a local failure naming the file, not a request
    // that was "not sent".
    let unwritable = dir.path().join("no such folder").join("signed.zip");
    let err = client
        .download_preprod_asset(&signed.id, &assets[0].id, &unwritable)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), hw_api::ErrorKind::LocalIo, "{err}");
    assert!(err.to_string().contains("no such folder"), "{err}");
}

#[tokio::test]
async fn a_sas_url_that_expires_midway_is_read_again_and_the_upload_continues() {
    // URLs last 2 s; the second and third blocks are stored, then answered 1.2 s late, so the
    // fourth block meets an expired signature.
    let sim = TestSim::start(SimConfig {
        sas_lifetime: Duration::from_secs(2),
        step_duration: Duration::from_millis(20),
        faults: vec![
            FaultRule::new(Fault::Slow(Duration::from_millis(1200)), 1.0)
                .only("putBlock")
                .after(1)
                .at_most(2),
        ],
        ..SimConfig::default()
    })
    .await;
    let client = sim
        .client_builder()
        .transfer_options(small_blocks().with_parallelism(1))
        .build()
        .unwrap();
    let (product, submission) = product_and_submission(&client, "refresh").await;
    let (_dir, path) = package("refresh", 5 * 64 * KIB as usize, b"PK");
    let report = client
        .upload_package(product, submission, &path, &Silent)
        .await
        .unwrap();
    assert_eq!(report.blocks, 5);
    assert!(
        report.blocks_reused >= 1,
        "continued from the kept blocks: {report:?}"
    );
    let blob = sim.submission(submission.get()).unwrap().package_blob;
    assert_eq!(sim.blob(&blob).unwrap(), std::fs::read(&path).unwrap());
}

#[tokio::test]
async fn a_block_that_stops_moving_is_given_up_and_sent_again() {
    let sim = sim_with(vec![
        FaultRule::new(Fault::Slow(Duration::from_secs(3)), 1.0)
            .only("putBlock")
            .at_most(1),
    ])
    .await;
    // 4 KiB blocks: once a block is all handed over, its answer may take the stall timeout plus
    // its drain at 64 kbit/s (0.3 s + 1 s, in whole seconds), under the 3 s the block is held.
    let client = sim
        .client_builder()
        .transfer_options(
            small_blocks()
                .with_block_size(4 * KIB)
                .with_single_put_threshold(4 * KIB)
                .with_stall_timeout(Duration::from_millis(300)),
        )
        .build()
        .unwrap();
    let (product, submission) = product_and_submission(&client, "stall").await;
    let (_dir, path) = package("stall", 3 * 4 * KIB as usize, b"PK");
    let report = client
        .upload_package(product, submission, &path, &Silent)
        .await
        .unwrap();
    assert_eq!(report.blocks, 3);
    assert_eq!(
        sim.requests("putBlock"),
        4,
        "the stalled block was given up and sent again"
    );
    let blob = sim.submission(submission.get()).unwrap().package_blob;
    assert_eq!(sim.blob(&blob).unwrap(), std::fs::read(&path).unwrap());
}

#[tokio::test]
async fn a_download_whose_sas_expires_between_attempts_reads_it_again_and_resumes() {
    // URLs last 2 s. The third range of the package breaks halfway (the first two are on
    // disk), and its next attempt waits long enough (a backoff of 2.5 s or more) for the URL to
    // expire.
    let sim = TestSim::start(SimConfig {
        sas_lifetime: Duration::from_secs(2),
        step_duration: Duration::from_millis(20),
        faults: vec![
            FaultRule::new(Fault::DropConnection, 1.0)
                .only("getBlob")
                .after(2)
                .at_most(1),
        ],
        ..SimConfig::default()
    })
    .await;
    let client = sim
        .client_builder()
        .transfer_options(small_blocks())
        .retry_policy(
            RetryPolicy::default()
                .with_initial_delay(Duration::from_secs(5))
                .with_max_attempts(3),
        )
        .build()
        .unwrap();
    let (product, submission, uploaded) =
        uploaded_submission(&client, "expiring-read", 300 * KIB as usize, b"PK").await;
    let dir = tempdir::Dir::new("expiring-read-out");
    let dest = dir.path().join("back.cab");
    let report = client
        .download_package(
            product,
            submission,
            DownloadType::InitialPackage,
            &dest,
            &Silent,
        )
        .await
        .unwrap();
    assert!(
        report.resumed_from > 0,
        "resumed from the partial file: {report:?}"
    );
    assert_eq!(std::fs::read(&dest).unwrap(), uploaded);
}

#[tokio::test]
async fn a_package_crosses_a_slow_shared_link() {
    // 20 ms round trips, 8 Mbit/s per connection and 4 Mbit/s in all: a slow uplink that the
    // four blocks in flight share.
    let sim = TestSim::start(SimConfig {
        step_duration: Duration::from_millis(20),
        link: Some(hw_sim::link::Link {
            rtt: Duration::from_millis(20),
            mbit: 8.0,
        }),
        link_total_mbit: Some(4.0),
        ..SimConfig::default()
    })
    .await;
    let client = client(&sim);
    let (product, submission, uploaded) =
        uploaded_submission(&client, "slow-link", 4 * 64 * KIB as usize + 9, b"PK").await;
    let dir = tempdir::Dir::new("slow-link-out");
    let dest = dir.path().join("back.cab");
    let report = client
        .download_package(
            product,
            submission,
            DownloadType::InitialPackage,
            &dest,
            &Silent,
        )
        .await
        .unwrap();
    assert!(report.md5_verified);
    assert_eq!(std::fs::read(&dest).unwrap(), uploaded);
}
