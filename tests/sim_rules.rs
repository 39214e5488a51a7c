//! hw-api and the generated client against the simulator: every operation, the documented rules
//! and their functional errors, paging, and the signing workflow. Every response is checked
//! against the spec when each test ends.

use std::time::Duration;

use futures_util::TryStreamExt;
use hw_api::Id;
use hw_api::types::ErrorCode;
use hw_api::types::{
    CommitStatus, CurrentStep, DownloadType, NewSubmission, SubmissionType, WorkflowState,
    WorkflowStep,
};
use hw_sim::SimConfig;
use hw_workspace_tests::sim::TestSim;

fn new_submission(name: &str, kind: SubmissionType) -> NewSubmission {
    NewSubmission {
        name: name.try_into().unwrap(),
        type_: kind,
    }
}

/// Uploads `bytes` to the submission's `initialPackage` URL with a single Put Blob.
async fn upload(url: &str, bytes: &'static [u8]) {
    let response = reqwest::Client::new()
        .put(url)
        .header("x-ms-blob-type", "BlockBlob")
        .body(bytes)
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status().as_u16(),
        201,
        "{}",
        response.text().await.unwrap()
    );
}

fn package_url(submission: &hw_api::types::Submission) -> String {
    let downloads = submission.downloads.as_ref().expect("downloads");
    let item = downloads
        .items
        .iter()
        .find(|i| i.type_ == DownloadType::InitialPackage)
        .expect("initialPackage");
    item.url.as_ref().expect("a URL").expose().to_owned()
}

#[tokio::test]
async fn products_page_like_the_service() {
    let sim = TestSim::start(SimConfig {
        seed_products: 120,
        ..SimConfig::default()
    })
    .await;
    let client = sim.client();
    let pages: Vec<_> = client.list_products().pages().try_collect().await.unwrap();
    assert_eq!(
        pages.iter().map(|p| p.items.len()).collect::<Vec<_>>(),
        vec![50, 50, 20]
    );
    let next = pages[0].next_link.as_ref().unwrap();
    assert!(
        next.as_str().starts_with(&sim.api_url()),
        "absolute next_link: {next}"
    );
    assert!(next.query().unwrap().contains("continuationToken="));
    let ids: std::collections::BTreeSet<u64> = pages
        .iter()
        .flat_map(|p| p.items.iter().map(|i| i.id.get()))
        .collect();
    assert_eq!(ids.len(), 120, "every product once");
    assert!(ids.iter().all(|id| *id > 1 << 53));
}

#[tokio::test]
async fn unknown_products_and_submissions_are_entity_not_found() {
    let sim = TestSim::quick().await;
    let client = sim.client();
    let err = client.get_product(Id(42)).await.unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(404), Some(&ErrorCode::EntityNotFound))
    );
    assert_eq!(
        err.service().unwrap().message.as_deref(),
        Some("Product not found")
    );
    let product = Id(sim.add_product("p"));
    let err = client.get_submission(product, Id(7)).await.unwrap_err();
    assert_eq!(
        err.service().unwrap().message.as_deref(),
        Some("No submission found")
    );
    let err = client
        .create_submission(Id(42), &new_submission("x", SubmissionType::Initial))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::EntityNotFound));
}

#[tokio::test]
async fn initial_and_derived_submission_rules() {
    let sim = TestSim::quick().await;
    let client = sim.client();
    let product = Id(sim.add_product("driver"));
    let err = client
        .create_submission(product, &new_submission("d", SubmissionType::Derived))
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::RequestInvalidForCurrentState));
    assert_eq!(
        err.service().unwrap().message.as_deref(),
        Some("Cannot create derived submission since no initial submission created")
    );
    let initial = client
        .create_submission(product, &new_submission("v1", SubmissionType::Initial))
        .await
        .unwrap();
    assert!(initial.id.get() > 1 << 53);
    assert_eq!(initial.commit_status, Some(CommitStatus::CommitPending));
    assert!(
        package_url(&initial).starts_with(&sim.urls().blob_origin),
        "the SAS points at the blob service"
    );
    let err = client
        .create_submission(
            product,
            &new_submission("v1 again", SubmissionType::Initial),
        )
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(400));
    assert_eq!(
        err.service().unwrap().message.as_deref(),
        Some("Initial submission already exists")
    );
    client
        .create_submission(product, &new_submission("v1.1", SubmissionType::Derived))
        .await
        .unwrap();
    let listed: Vec<_> = client
        .list_submissions(product)
        .try_collect()
        .await
        .unwrap();
    assert_eq!(listed.len(), 2);
    assert!(
        listed.iter().all(|s| s.workflow_status.is_none()),
        "lists omit the workflow status"
    );
}

#[tokio::test]
async fn no_valid_token_is_401_in_the_gateway_shape() {
    let sim = TestSim::quick().await;
    for token in [None, Some("made-up")] {
        let err = sim.generated(token).list_products().await.unwrap_err();
        let hw_api_gen::Error::ErrorResponse(response) = err else {
            panic!("{err:?}")
        };
        assert_eq!(response.status().as_u16(), 401);
        assert_eq!(response.status_code, Some(401));
        assert!(response.activity_id.is_some());
    }
    let token = sim.issue_token();
    assert!(sim.generated(Some(&token)).list_products().await.is_ok());
}

#[tokio::test]
async fn wrong_media_type_is_415_and_invalid_input_is_422() {
    let sim = TestSim::quick().await;
    let product = sim.add_product("p");
    let url = format!("{}/hardware/products/{product}/submissions", sim.api_url());
    let http = reqwest::Client::new();
    let token = sim.issue_token();
    let sent = http
        .post(&url)
        .bearer_auth(&token)
        .header("content-type", "text/plain")
        .body("name=x")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status().as_u16(), 415);
    let sent = http
        .post(&url)
        .bearer_auth(&token)
        .json(&serde_json::json!({"name": "", "type": "sideways"}))
        .send()
        .await
        .unwrap();
    assert_eq!(sent.status().as_u16(), 422);
    let body: serde_json::Value = sent.json().await.unwrap();
    let targets: Vec<&str> = body["error"]["validationErrors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, vec!["name", "type"]);
    assert_eq!(body["error"]["code"], "invalidInput");
}

/// A bodiless POST or PUT needs the JSON media type, as the service's gateway wants it
/// (`docs/service-notes.md`, "Hardware API: base URL and headers"); a preprod upload needs the
/// package's. A refused request changes nothing.
#[tokio::test]
async fn bodiless_requests_need_the_json_media_type_and_a_preprod_upload_its_own() {
    let sim = TestSim::quick().await;
    let product = Id(sim.add_product("p"));
    let client = sim.client();
    let created = client
        .create_submission(product, &new_submission("v1", SubmissionType::Initial))
        .await
        .unwrap();
    let submission = format!(
        "{}/hardware/products/{product}/submissions/{}",
        sim.api_url(),
        created.id
    );
    let labels = format!("{submission}/shippingLabels/1");
    let http = reqwest::Client::new();
    let token = sim.issue_token();
    let send = |method: reqwest::Method, url: String, media: Option<&'static str>| {
        let mut request = http.request(method, url).bearer_auth(&token);
        if let Some(media) = media {
            request = request.header("content-type", media);
        }
        async move { request.send().await.unwrap() }
    };
    let bodiless = [
        (reqwest::Method::POST, format!("{submission}/commit")),
        (
            reqwest::Method::POST,
            format!("{submission}/createpublishermetadata"),
        ),
        (reqwest::Method::PUT, format!("{labels}/cancel")),
    ];
    // The package is there: only the media type stands between the commit and the service.
    upload(&package_url(&created), b"MSCF a package").await;
    let commit_status = || async {
        client
            .get_submission(product, created.id)
            .await
            .unwrap()
            .commit_status
    };
    for (method, url) in &bodiless {
        for media in [None, Some("text/plain"), Some("application/octet-stream")] {
            let refused = send(method.clone(), url.clone(), media).await;
            assert_eq!(
                refused.status().as_u16(),
                415,
                "{method} {url} with {media:?}"
            );
            let body: serde_json::Value = refused.json().await.unwrap();
            assert_eq!(body["statusCode"], 415, "the gateway's shape: {body}");
        }
        assert_eq!(
            commit_status().await,
            Some(CommitStatus::CommitPending),
            "a refused request changed nothing"
        );
    }
    // The right media type (a charset parameter aside) gets past it, to the rules: the commit
    // is taken, publisher metadata is too early, and there is no such label to cancel.
    let expected = [202, 400, 404];
    for ((method, url), status) in bodiless.iter().zip(expected) {
        let passed = send(
            method.clone(),
            url.clone(),
            Some("application/json; charset=utf-8"),
        )
        .await;
        assert_eq!(passed.status().as_u16(), status, "{method} {url}");
    }
    assert_ne!(commit_status().await, Some(CommitStatus::CommitPending));
    let preprod = format!("{}/hardware/preprod/packages", sim.api_url());
    for media in [None, Some("application/json")] {
        let refused = send(reqwest::Method::PUT, preprod.clone(), media).await;
        assert_eq!(
            refused.status().as_u16(),
            415,
            "preprod upload with {media:?}"
        );
    }
    let uploaded = http
        .put(&preprod)
        .bearer_auth(&token)
        .header("content-type", "application/octet-stream")
        .body("MSCF a package")
        .send()
        .await
        .unwrap();
    assert_eq!(uploaded.status().as_u16(), 200);
}

#[tokio::test]
async fn commit_rules_and_the_workflow_to_a_signed_package() {
    let sim = TestSim::quick().await;
    let client = sim.client();
    let generated = sim.generated(Some(&sim.issue_token()));
    let product = Id(sim.add_product("driver"));
    let submission = client
        .create_submission(product, &new_submission("v1", SubmissionType::Initial))
        .await
        .unwrap();
    let not_uploaded = generated
        .commit_submission(&product, &submission.id)
        .await
        .unwrap_err();
    assert_eq!(not_uploaded.status().map(|s| s.as_u16()), Some(400));

    upload(&package_url(&submission), b"PK\x03\x04 a driver package").await;
    let accepted = generated
        .commit_submission(&product, &submission.id)
        .await
        .unwrap();
    assert_eq!(accepted.status().as_u16(), 202);
    let hw_api_gen::Error::ErrorResponse(again) = generated
        .commit_submission(&product, &submission.id)
        .await
        .unwrap_err()
    else {
        panic!("a typed error")
    };
    let detail = again.error.as_ref().unwrap();
    assert_eq!(detail.code, Some(ErrorCode::RequestInvalidForCurrentState));
    assert_eq!(
        detail.message.as_deref(),
        Some("Only pending submissions can be committed")
    );

    let mut seen_steps = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let done = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the workflow did not finish"
        );
        let current = client.get_submission(product, submission.id).await.unwrap();
        let status = current.workflow_status.clone().unwrap();
        if let Some(CurrentStep::WorkflowStep(step)) = &status.current_step
            && seen_steps.last() != Some(step)
        {
            seen_steps.push(step.clone());
        }
        if status.current_step == Some(CurrentStep::WorkflowStep(WorkflowStep::FinalizeIngestion))
            && status.state == Some(WorkflowState::Completed)
        {
            break current;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    assert!(
        seen_steps.len() >= 4,
        "the workflow went through its steps: {seen_steps:?}"
    );
    assert_eq!(done.commit_status, Some(CommitStatus::CommitComplete));
    let items = &done.downloads.as_ref().unwrap().items;
    let kinds: Vec<&DownloadType> = items.iter().map(|i| &i.type_).collect();
    for kind in [
        DownloadType::SignedPackage,
        DownloadType::DriverMetadata,
        DownloadType::CertificationReport,
    ] {
        assert!(kinds.contains(&&kind), "{kind} in {kinds:?}");
    }
    let signed_url = &items
        .iter()
        .find(|i| i.type_ == DownloadType::SignedPackage)
        .unwrap()
        .url
        .clone()
        .expect("a URL");
    let signed = reqwest::get(signed_url.expose())
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    assert!(signed.starts_with(b"HWSIM-SIGNED\n") && signed.ends_with(b"a driver package"));
    let metadata_url = &items
        .iter()
        .find(|i| i.type_ == DownloadType::DriverMetadata)
        .unwrap()
        .url
        .clone()
        .expect("a URL");
    let metadata: serde_json::Value = reqwest::get(metadata_url.expose())
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(metadata["BundleInfoMap"].as_object().unwrap().len() == 1);
}

#[tokio::test]
async fn a_package_marked_to_fail_fails_with_an_error_report() {
    let sim = TestSim::quick().await;
    let client = sim.client();
    let generated = sim.generated(Some(&sim.issue_token()));
    let product = Id(sim.add_product("driver"));
    let submission = client
        .create_submission(product, &new_submission("bad", SubmissionType::Initial))
        .await
        .unwrap();
    upload(&package_url(&submission), b"PK HWSIM-FAIL-AT:validation").await;
    generated
        .commit_submission(&product, &submission.id)
        .await
        .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    let failed = loop {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the workflow did not fail"
        );
        let current = client.get_submission(product, submission.id).await.unwrap();
        if current.workflow_status.as_ref().unwrap().state == Some(WorkflowState::Failed) {
            break current;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    };
    let status = failed.workflow_status.unwrap();
    assert_eq!(
        status.current_step,
        Some(CurrentStep::WorkflowStep(WorkflowStep::Validation))
    );
    let report = reqwest::get(status.error_report.unwrap().expose())
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(report.contains("failed at step validation"), "{report}");
}

#[tokio::test]
async fn the_v1_prefix_answers_too() {
    let sim = TestSim::quick().await;
    sim.add_product("p");
    let client = sim
        .client_builder()
        .base_url(sim.api_url().replace("/v2.0/", "/v1.0/"))
        .build()
        .unwrap();
    let products: Vec<_> = client.list_products().try_collect().await.unwrap();
    assert_eq!(products.len(), 1);
    assert!(products[0].links[0].href.contains("/v1.0/my/"));
}

#[test]
fn the_conformance_check_catches_misfits() {
    use hw_workspace_tests::conformance::Conformance;
    use serde_json::json;
    let mut check = Conformance::new();
    assert!(
        check
            .check("getProduct", 200, Some(&json!({"id": 9007199267351834u64})))
            .is_ok()
    );
    assert!(
        check
            .check("getProduct", 200, Some(&json!({"id": "not a number"})))
            .is_err()
    );
    assert!(
        check
            .check("getProduct", 200, Some(&json!({"productName": "no id"})))
            .is_err()
    );
    assert!(
        check
            .check(
                "getSubmission",
                200,
                Some(&json!({"id": 1, "productId": 2, "commitStatus": "made-up"}))
            )
            .is_err()
    );
    assert!(
        check
            .check(
                "getProduct",
                404,
                Some(&json!({"error": {"code": "entityNotFound", "message": "m"}}))
            )
            .is_ok()
    );
    assert!(check.check("commitSubmission", 202, None).is_ok());
    assert!(
        check
            .check("commitSubmission", 202, Some(&json!({})))
            .is_err()
    );
    assert!(check.check("getProduct", 418, None).is_err());
    assert!(
        check.check("getProduct", 503, None).is_ok(),
        "gateway statuses may have any body"
    );
    assert!(check.check("noSuchOperation", 200, None).is_err());
}

#[tokio::test]
async fn attestation_products_refuse_derived_submissions() {
    let sim = TestSim::quick().await;
    let client = sim.client();
    let body: hw_api::types::NewProduct = serde_json::from_value(
        serde_json::json!({"productName": "attested", "testHarness": "Attestation"}),
    )
    .unwrap();
    let product = client.create_product(&body).await.unwrap();
    assert_eq!(
        product.test_harness,
        Some(hw_api::types::TestHarness::Attestation)
    );
    client
        .create_submission(product.id, &new_submission("v1", SubmissionType::Initial))
        .await
        .unwrap();
    let err = client
        .create_submission(product.id, &new_submission("v1.1", SubmissionType::Derived))
        .await
        .unwrap_err();
    assert_eq!(
        (err.status(), err.code()),
        (Some(400), Some(&ErrorCode::InvalidInput))
    );
}

#[tokio::test]
async fn what_the_spec_forbids_in_a_request_is_refused_and_what_it_allows_is_ignored() {
    let sim = TestSim::quick().await;
    let product = sim.add_product("p");
    let http = reqwest::Client::new();
    let token = sim.issue_token();
    let patch = |body: serde_json::Value| {
        http.patch(format!("{}/hardware/products/{product}", sim.api_url()))
            .bearer_auth(&token)
            .json(&body)
            .send()
    };
    // A declared property may not be null, nor an enum property hold another value.
    let null = patch(serde_json::json!({"productName": "p", "announcementDate": null}))
        .await
        .unwrap();
    assert_eq!(null.status().as_u16(), 422);
    let body: serde_json::Value = null.json().await.unwrap();
    let failure = &body["error"]["validationErrors"][0];
    assert_eq!(failure["target"], "/announcementDate", "{body}");
    assert_eq!(failure["message"], "may not be null", "{body}");
    let create = http
        .post(format!("{}/hardware/products", sim.api_url()))
        .bearer_auth(&token)
        .json(&serde_json::json!({
            "productName": "q", "testHarness": "attestation", "deviceType": "sideways",
            "isTestSign": false, "isFlightSign": false, "marketingNames": ["q"],
            "requestedSignatures": ["WINDOWS_v100_X64_GE_FULL"], "deviceMetadataIds": [],
            "firmwareVersion": "0", "additionalAttributes": {}
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(create.status().as_u16(), 422);
    assert!(create.text().await.unwrap().contains("/deviceType"));
    // A property the spec does not declare is allowed (`additionalProperties`), null or not:
    // the rule it meets is the service's own (no update before an initial submission).
    let extra = patch(serde_json::json!({"productName": "p", "somethingElse": null}))
        .await
        .unwrap();
    let text = extra.text().await.unwrap();
    assert!(!text.contains("may not be null"), "{text}");
    // A boolean query parameter of another type is refused.
    let submission = sim
        .client()
        .create_submission_once(
            Id(product),
            &NewSubmission {
                name: "v1".try_into().unwrap(),
                type_: SubmissionType::Initial,
            },
        )
        .await
        .unwrap();
    let labels = http
        .get(format!(
            "{}/hardware/products/{product}/submissions/{}/shippingLabels?includeTargetingInfo=null",
            sim.api_url(),
            submission.id
        ))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(labels.status().as_u16(), 400);
}
