//! Submissions: list, get, create and commit, with the documented rules.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hw_api_gen::types::{Submission, SubmissionType, TestHarness};
use serde_json::{Value, json};

use super::errors::{functional, product_not_found, submission_not_found, validation};
use super::extract::{JsonObject, Target, text};
use super::outputs;
use super::paging;
use crate::shared::Shared;
use crate::state::{self, Store, SubmissionRecord};
use crate::workflow;

/// `GET /hardware/products/{productId}/submissions`.
pub(super) async fn list(
    State(sim): State<Arc<Shared>>,
    t: Target,
    RawQuery(query): RawQuery,
) -> Response {
    let Target {
        prefix, product, ..
    } = t;
    let page = match paging::request(query.as_deref(), sim.config.page_size) {
        Ok(page) => page,
        Err(message) => return functional(StatusCode::BAD_REQUEST, "invalidInput", message),
    };
    let mut store = state::lock(&sim.store);
    if !store.products.contains_key(&product) {
        return product_not_found();
    }
    let ids: Vec<u64> = store.submissions_of(product).map(|s| s.id).collect();
    let value = ids
        .iter()
        .skip(page.offset)
        .take(page.size)
        .map(|id| render(&sim, &mut store, &prefix, *id, false))
        .collect();
    let links = paging::links(
        &format!("{prefix}/hardware/products/{product}/submissions"),
        page,
        ids.len(),
    );
    paging::page_response(value, links)
}

/// `GET /hardware/products/{productId}/submissions/{submissionId}`.
pub(super) async fn get(State(sim): State<Arc<Shared>>, t: Target) -> Response {
    let Target {
        prefix,
        product,
        submission,
        ..
    } = t;
    let mut store = state::lock(&sim.store);
    if let Err(e) = find(&store, product, submission) {
        return e;
    }
    Json(render(&sim, &mut store, &prefix, submission, true)).into_response()
}

/// `POST /hardware/products/{productId}/submissions`.
pub(super) async fn create(
    State(sim): State<Arc<Shared>>,
    t: Target,
    JsonObject(fields): JsonObject,
) -> Response {
    let Target {
        prefix, product, ..
    } = t;
    let (name, kind) = match parse_new_submission(&fields) {
        Ok(parsed) => parsed,
        Err(e) => return e,
    };
    let mut store = state::lock(&sim.store);
    if !store.products.contains_key(&product) {
        return product_not_found();
    }
    let restricted = store.products.get(&product).is_some_and(|p| {
        p.test_harness == Some(TestHarness::Attestation)
            || p.is_test_sign == Some(true)
            || p.is_extension_inf == Some(true)
    });
    if kind == SubmissionType::Derived && restricted {
        return functional(
            StatusCode::BAD_REQUEST,
            "invalidInput",
            "Cannot create derived submission for Attestation, TestSigned and ExtensionInf type of products.",
        );
    }
    let has_initial = store
        .submissions_of(product)
        .any(|s| s.kind == SubmissionType::Initial);
    match (&kind, has_initial) {
        (SubmissionType::Initial, true) => {
            return functional(
                StatusCode::BAD_REQUEST,
                "requestInvalidForCurrentState",
                "Initial submission already exists",
            );
        }
        (SubmissionType::Derived, false) => {
            return functional(
                StatusCode::BAD_REQUEST,
                "requestInvalidForCurrentState",
                "Cannot create derived submission since no initial submission created",
            );
        }
        _ => {}
    }
    let created = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    let id = store.insert_submission(product, name, kind, created);
    if let Some(record) = store.submissions.get_mut(&id) {
        record.urls_withheld = sim.config.withhold_urls;
    }
    let mut submission = render(&sim, &mut store, &prefix, id, true);
    if sim.config.bare_creates {
        submission.downloads = None;
    }
    (StatusCode::CREATED, Json(submission)).into_response()
}

/// `POST /hardware/products/{productId}/submissions/{submissionId}/commit`.
///
/// The package is taken as it is now; the signed package and the driver metadata are built from
/// it outside the store's lock (they copy the whole package).
pub(super) async fn commit(State(sim): State<Arc<Shared>>, t: Target) -> Response {
    let Target {
        product,
        submission,
        ..
    } = t;
    let (package, os_codes) = {
        let store = state::lock(&sim.store);
        if let Err(e) = pending(&store, product, submission) {
            return e;
        }
        let record = &store.submissions[&submission];
        let package = store
            .blobs
            .get(&record.package_blob)
            .filter(|b| b.exists && !b.data.is_empty());
        let Some(package) = package else {
            return functional(
                StatusCode::BAD_REQUEST,
                "invalidInput",
                "The package has not been uploaded",
            );
        };
        let os_codes: Vec<String> = store.products[&product]
            .requested_signatures
            .iter()
            .map(ToString::to_string)
            .collect();
        (package.data.clone(), os_codes)
    };
    let fail_at = workflow::fail_step(&package);
    let outputs = outputs::build(submission, product, &package, &os_codes);
    let mut store = state::lock(&sim.store);
    // Another commit may have won the race while the outputs were built.
    if let Err(e) = pending(&store, product, submission) {
        return e;
    }
    for (name, mut blob) in outputs {
        blob.etag = store.next_etag();
        store.blobs.insert(name, blob);
    }
    if let Some(record) = store.submissions.get_mut(&submission) {
        record.committed_at = Some(Instant::now());
        record.fail_at = fail_at;
    }
    if let Some(p) = store.products.get_mut(&product) {
        p.is_committed = Some(true);
    }
    StatusCode::ACCEPTED.into_response()
}

/// The submission exists and was not committed yet.
fn pending(store: &Store, product: u64, submission: u64) -> Result<(), Response> {
    find(store, product, submission)?;
    if store.submissions[&submission].committed_at.is_some() {
        return Err(functional(
            StatusCode::BAD_REQUEST,
            "requestInvalidForCurrentState",
            "Only pending submissions can be committed",
        ));
    }
    Ok(())
}

fn find(store: &Store, product: u64, submission: u64) -> Result<(), Response> {
    if !store.products.contains_key(&product) {
        return Err(product_not_found());
    }
    match store.submissions.get(&submission) {
        Some(s) if s.product_id == product => Ok(()),
        _ => Err(submission_not_found()),
    }
}

fn parse_new_submission(value: &Value) -> Result<(String, SubmissionType), Response> {
    let mut failures = Vec::new();
    let name = value
        .get("name")
        .and_then(Value::as_str)
        .unwrap_or_default();
    if name.is_empty() {
        failures.push(("name", "The name is required."));
    }
    let kind = value
        .get("type")
        .and_then(Value::as_str)
        .map(SubmissionType::from);
    let kind = match kind {
        Some(kind @ (SubmissionType::Initial | SubmissionType::Derived)) => Some(kind),
        _ => {
            failures.push(("type", "The type must be initial or derived."));
            None
        }
    };
    match kind {
        Some(kind) if failures.is_empty() => Ok((name.to_owned(), kind)),
        _ => Err(validation(&failures)),
    }
}

/// A submission as the API shows it; `detail` adds the workflow status and downloads.
fn render(sim: &Shared, store: &mut Store, prefix: &str, id: u64, detail: bool) -> Submission {
    let record = store.submissions[&id].clone();
    let progress = progress_of(sim, &record);
    let me = format!(
        "{prefix}/hardware/products/{}/submissions/{}",
        record.product_id, record.id
    );
    let mut value = json!({
        "id": record.id,
        "productId": record.product_id,
        "name": record.name,
        "type": record.kind,
        "commitStatus": progress.commit,
        "isExtensionInf": false,
        "isUniversal": true,
        "isDeclarativeInf": true,
        "createdDateTime": record.created,
        "links": [
            {"href": me, "rel": "self", "method": "GET"},
            {"href": me, "rel": "update_submission", "method": "PATCH"},
            {"href": format!("{me}/commit"), "rel": "commit_submission", "method": "POST"},
        ],
    });
    let withheld = record.urls_withheld > 0;
    if detail || withheld {
        let mut outputs = outputs::downloads(sim, store, &record, &progress);
        if withheld {
            // Listed, but not available yet.
            for item in &mut outputs.items {
                item["url"] = Value::Null;
            }
            if let Some(r) = store.submissions.get_mut(&id) {
                r.urls_withheld -= 1;
            }
        }
        if detail {
            let mut status = json!({"currentStep": progress.step, "state": progress.state, "messages": outputs.messages});
            if let Some(report) = &outputs.error_report {
                status["errorReport"] = json!(report);
            }
            value["workflowStatus"] = status;
        }
        value["downloads"] = json!({"items": outputs.items, "messages": []});
    }
    serde_json::from_value(value).expect("a well-formed submission")
}

/// `PATCH /hardware/products/{productId}/submissions/{submissionId}`: the name only.
pub(super) async fn update(
    State(sim): State<Arc<Shared>>,
    t: Target,
    JsonObject(fields): JsonObject,
) -> Response {
    let Target {
        product,
        submission,
        ..
    } = t;
    let Some(name) = text(&fields, "name") else {
        return validation(&[("name", "The name is required.")]);
    };
    let mut store = state::lock(&sim.store);
    if let Err(e) = find(&store, product, submission) {
        return e;
    }
    let progress = progress_of(&sim, &store.submissions[&submission]);
    if progress.failed() {
        return functional(
            StatusCode::BAD_REQUEST,
            "updateUnauthorized",
            "Cannot update the submission since the workflows have failed",
        );
    }
    let name = name.to_owned();
    if let Some(record) = store.submissions.get_mut(&submission) {
        record.name = name;
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `POST …/createpublishermetadata`: the simulator's submissions have their metadata once
/// signed, so this only checks the submission is far enough along.
pub(super) async fn create_publisher_metadata(
    State(sim): State<Arc<Shared>>,
    t: Target,
) -> Response {
    let Target {
        product,
        submission,
        ..
    } = t;
    let store = state::lock(&sim.store);
    if let Err(e) = find(&store, product, submission) {
        return e;
    }
    let progress = progress_of(&sim, &store.submissions[&submission]);
    if !progress.finished() {
        return functional(
            StatusCode::BAD_REQUEST,
            "requestInvalidForCurrentState",
            "Submission is not yet ready to create publisher metadata. Please retry after some time.",
        );
    }
    StatusCode::ACCEPTED.into_response()
}

/// `GET /hardware/products/relationships/sourcepubliherid/…`: the simulated account shares with
/// itself, so a submission of its own seller id translates to itself.
pub(super) async fn partner(
    State(sim): State<Arc<Shared>>,
    t: Target,
    Path((_, publisher, _, _)): Path<(String, String, String, String)>,
) -> Response {
    let Target {
        prefix,
        product,
        submission,
        ..
    } = t;
    if publisher.parse::<u64>().ok() != Some(state::SELLER_ID) {
        return functional(
            StatusCode::NOT_FOUND,
            "entityNotFound",
            "No submission was shared by this publisher",
        );
    }
    let mut store = state::lock(&sim.store);
    if let Err(e) = find(&store, product, submission) {
        return e;
    }
    Json(render(&sim, &mut store, &prefix, submission, true)).into_response()
}

/// The progress of a submission now.
pub(super) fn progress_of(sim: &Shared, record: &SubmissionRecord) -> workflow::Progress {
    workflow::progress(
        record.committed_at.map(|at| at.elapsed()),
        sim.config.step_duration,
        record.fail_at,
    )
}
