//! Shipping labels: list, get (targeting only when asked), create with the documented rules,
//! update with add/remove actions, cancel; each with its own workflow on the simulator's clock.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use hw_api_gen::types::{
    Destination, NewShippingLabel, ShippingLabel, ShippingLabelStep, ShippingLabelUpdate,
    TargetingAction, WorkflowState,
};
use serde_json::{Value, json};

use super::errors::{functional, submission_not_found, validation};
use super::extract::{Target, Typed};
use super::paging;
use super::submissions::progress_of;
use crate::shared::Shared;
use crate::state::{self, LabelRecord, Store};
use crate::workflow;

/// The steps of a Windows Update label.
const UPDATE_STEPS: [ShippingLabelStep; 7] = [
    ShippingLabelStep::PreProcessShippingLabel,
    ShippingLabelStep::FinalizePreProcessing,
    ShippingLabelStep::PublishJobValidation,
    ShippingLabelStep::UpdateGeneration,
    ShippingLabelStep::MicrosoftApproval,
    ShippingLabelStep::Publishing,
    ShippingLabelStep::FinalizePublishing,
];

/// The steps of a label shared with another partner.
const SHARING_STEPS: [ShippingLabelStep; 5] = [
    ShippingLabelStep::PreProcessShippingLabel,
    ShippingLabelStep::FinalizePreProcessing,
    ShippingLabelStep::PublishJobValidation,
    ShippingLabelStep::ProcessSharing,
    ShippingLabelStep::FinalizeSharing,
];

/// Where a label's workflow is: step, state, and whether it is over.
fn status(sim: &Shared, record: &LabelRecord) -> (ShippingLabelStep, WorkflowState, bool) {
    let steps: &[ShippingLabelStep] =
        if record.label.destination == Some(Destination::AnotherPartner) {
            &SHARING_STEPS
        } else {
            &UPDATE_STEPS
        };
    let elapsed = record
        .cancelled_at
        .unwrap_or_else(|| record.started_at.elapsed());
    let (index, completed) = workflow::position(elapsed, sim.config.step_duration, steps.len());
    let over = index == steps.len() - 1 && completed;
    let state = match (index, completed) {
        _ if over
            && sim.config.labels_end_published
            && record.label.destination != Some(Destination::AnotherPartner) =>
        {
            WorkflowState::Published
        }
        (_, true) => WorkflowState::Completed,
        (0, false) => WorkflowState::NotStarted,
        _ => WorkflowState::Started,
    };
    (steps[index].clone(), state, over)
}

fn render(sim: &Shared, prefix: &str, record: &LabelRecord, targeting: bool) -> ShippingLabel {
    let (step, state, _) = status(sim, record);
    let mut label = record.label.clone();
    let me = format!(
        "{prefix}/hardware/products/{}/submissions/{}/shippingLabels/{}",
        record.product_id, record.submission_id, record.id
    );
    let mut messages = Vec::new();
    if record.cancelled_at.is_some() {
        messages.push("Cancellation was requested.");
    }
    label.workflow_status =
        serde_json::from_value(json!({"currentStep": step, "state": state, "messages": messages}))
            .ok();
    label.links = serde_json::from_value(json!([
        {"href": me, "rel": "self", "method": "GET"},
        {"href": me, "rel": "update_shippinglabel", "method": "PATCH"},
    ]))
    .unwrap_or_default();
    if !targeting {
        label.targeting = None;
    }
    label
}

/// The `includeTargetingInfo` query parameter: a boolean, or a 400 as for any parameter of the
/// wrong type.
fn include_targeting(query: Option<&str>) -> Result<bool, Response> {
    let mut include = false;
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        if key != "includeTargetingInfo" {
            continue;
        }
        include = match value.to_ascii_lowercase().as_str() {
            "true" => true,
            "false" => false,
            _ => {
                return Err(functional(
                    StatusCode::BAD_REQUEST,
                    "invalidInput",
                    &format!("includeTargetingInfo must be true or false, not {value:?}"),
                ));
            }
        };
    }
    Ok(include)
}

/// The (bundle, INF, OS code, hardware id) combinations of a submission's driver metadata, with
/// the hardware id in lower case.
fn combinations(store: &Store, submission: u64) -> HashSet<(String, String, String, String)> {
    let name = format!("metadata/{}.json", state::guid(submission));
    let Some(doc) = store
        .blobs
        .get(&name)
        .and_then(|b| serde_json::from_slice::<Value>(&b.data).ok())
    else {
        return HashSet::new();
    };
    let mut out = HashSet::new();
    let entries = |v: &Value| v.as_object().cloned().unwrap_or_default();
    for (bundle, info) in entries(&doc["BundleInfoMap"]) {
        for (inf, inf_info) in entries(&info["InfInfoMap"]) {
            for (os, ids) in entries(&inf_info["OSPnPInfoMap"]) {
                for (hwid, _) in entries(&ids) {
                    out.insert((
                        bundle.clone(),
                        inf.clone(),
                        os.clone(),
                        hwid.to_ascii_lowercase(),
                    ));
                }
            }
        }
    }
    out
}

fn key(h: &hw_api_gen::types::HardwareId) -> (String, String, String, String) {
    (
        h.bundle_id.clone().unwrap_or_default(),
        h.inf_id.clone().unwrap_or_default(),
        h.operating_system_code
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default(),
        h.pnp_string
            .clone()
            .unwrap_or_default()
            .to_ascii_lowercase(),
    )
}

/// The label's submission exists and belongs to the product; the label exists and belongs to it.
fn find(store: &Store, target: &Target, label: Option<u64>) -> Result<(), Response> {
    if !store.products.contains_key(&target.product) {
        return Err(super::errors::product_not_found());
    }
    match store.submissions.get(&target.submission) {
        Some(s) if s.product_id == target.product => {}
        _ => return Err(submission_not_found()),
    }
    match label.map(|id| store.labels.get(&id)) {
        Some(Some(l)) if l.submission_id == target.submission => Ok(()),
        Some(_) => Err(functional(
            StatusCode::NOT_FOUND,
            "entityNotFound",
            "No shipping label found",
        )),
        None => Ok(()),
    }
}

/// `GET …/shippingLabels`.
pub(super) async fn list(
    State(sim): State<Arc<Shared>>,
    t: Target,
    RawQuery(query): RawQuery,
) -> Response {
    let page = match paging::request(query.as_deref(), sim.config.page_size) {
        Ok(page) => page,
        Err(message) => return functional(StatusCode::BAD_REQUEST, "invalidInput", message),
    };
    let store = state::lock(&sim.store);
    if let Err(e) = find(&store, &t, None) {
        return e;
    }
    let targeting = match include_targeting(query.as_deref()) {
        Ok(targeting) => targeting,
        Err(e) => return e,
    };
    let labels: Vec<&LabelRecord> = store
        .labels
        .values()
        .filter(|l| l.submission_id == t.submission)
        .collect();
    let value = labels
        .iter()
        .skip(page.offset)
        .take(page.size)
        .map(|l| render(&sim, &t.prefix, l, targeting))
        .collect();
    let url = format!(
        "{}/hardware/products/{}/submissions/{}/shippingLabels",
        t.prefix, t.product, t.submission
    );
    paging::page_response(value, paging::links(&url, page, labels.len()))
}

/// `GET …/shippingLabels/{shippingLabelId}`.
pub(super) async fn get(
    State(sim): State<Arc<Shared>>,
    t: Target,
    RawQuery(query): RawQuery,
) -> Response {
    let label = t.label;
    let store = state::lock(&sim.store);
    if let Err(e) = find(&store, &t, Some(label)) {
        return e;
    }
    let targeting = match include_targeting(query.as_deref()) {
        Ok(targeting) => targeting,
        Err(e) => return e,
    };
    Json(render(&sim, &t.prefix, &store.labels[&label], targeting)).into_response()
}

/// `POST …/shippingLabels`.
pub(super) async fn create(
    State(sim): State<Arc<Shared>>,
    t: Target,
    Typed { fields, value: new }: Typed<NewShippingLabel>,
) -> Response {
    let mut store = state::lock(&sim.store);
    if let Err(e) = find(&store, &t, None) {
        return e;
    }
    if !progress_of(&sim, &store.submissions[&t.submission]).finished() {
        return functional(
            StatusCode::BAD_REQUEST,
            "requestInvalidForCurrentState",
            "Submission is not yet ready to create shipping label. Please retry after some time.",
        );
    }
    let known = combinations(&store, t.submission);
    if let Err(e) = check_new(&new, &known) {
        return e;
    }
    let attestation = is_attestation(&store, t.product);
    if attestation
        && new.destination == Destination::WindowsUpdate
        && new.targeting.restricted_to_audiences.is_empty()
    {
        return unrestricted_attestation();
    }
    let id = store.next_label;
    store.next_label += 1;
    let mut label = fields;
    label["id"] = id.into();
    label["productId"] = t.product.into();
    label["submissionId"] = t.submission.into();
    for list in ["hardwareIds", "chids"] {
        // `get_mut`, not indexing: indexing would add a null member where there is none.
        let items = label
            .get_mut("targeting")
            .and_then(|t| t.get_mut(list))
            .and_then(Value::as_array_mut);
        if let Some(items) = items {
            for item in items {
                item["distributionState"] = "pendingAdd".into();
            }
        }
    }
    let label: ShippingLabel = match serde_json::from_value(label) {
        Ok(l) => l,
        Err(e) => {
            return functional(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalidInput",
                &format!("{e}"),
            );
        }
    };
    let record = LabelRecord {
        id,
        product_id: t.product,
        submission_id: t.submission,
        label,
        started_at: Instant::now(),
        cancelled_at: None,
    };
    let shown = render(&sim, &t.prefix, &record, true);
    store.labels.insert(id, record);
    (StatusCode::CREATED, Json(shown)).into_response()
}

/// Whether the product is an attestation product.
fn is_attestation(store: &state::Store, product: u64) -> bool {
    store
        .products
        .get(&product)
        .is_some_and(|p| p.test_harness == Some(hw_api_gen::types::TestHarness::Attestation))
}

/// The refusal of a Windows Update label of an attestation product without an audience: since
/// 2023 such drivers are published only to the CoDev or Test Registry Key audiences.
fn unrestricted_attestation() -> Response {
    functional(
        StatusCode::BAD_REQUEST,
        "invalidInput",
        "Attestation signed drivers can be published to Windows Update only for a restricted audience (CoDev or Test Registry Key).",
    )
}

/// The documented rules of a new label.
fn check_new(
    new: &NewShippingLabel,
    known: &HashSet<(String, String, String, String)>,
) -> Result<(), Response> {
    let mut failures: Vec<(String, &str)> = Vec::new();
    if !matches!(
        new.destination,
        Destination::WindowsUpdate | Destination::AnotherPartner
    ) {
        failures.push((
            "destination".into(),
            "The destination must be windowsUpdate or anotherPartner.",
        ));
    }
    let targeting = &new.targeting;
    if targeting.hardware_ids.is_empty() {
        failures.push((
            "targeting.hardwareIds".into(),
            "At least one hardware id is required.",
        ));
    }
    for (i, h) in targeting.hardware_ids.iter().enumerate() {
        if !known.contains(&key(h)) {
            failures.push((
                format!("targeting.hardwareIds[{i}]"),
                "Not a combination of the submission's driver metadata.",
            ));
        }
    }
    match new.destination {
        Destination::WindowsUpdate => match &new.publishing_specifications {
            None => failures.push((
                "publishingSpecifications".into(),
                "Publishing specifications are required for Windows Update.",
            )),
            Some(spec) => {
                let auto = spec.is_auto_install_during_os_upgrade == Some(true)
                    || spec.is_auto_install_on_applicable_systems == Some(true);
                let manual = spec.manual_acquisition == Some(true);
                if auto && manual {
                    failures.push((
                        "publishingSpecifications.manualAcquisition".into(),
                        "Must be false when the driver installs automatically.",
                    ));
                }
                if !auto && !manual {
                    failures.push((
                        "publishingSpecifications.manualAcquisition".into(),
                        "Must be true when the driver does not install automatically.",
                    ));
                }
                if auto && spec.additional_info_for_ms_approval.is_none() {
                    failures.push((
                        "publishingSpecifications.additionalInfoForMsApproval".into(),
                        "Required for an automatic update.",
                    ));
                }
            }
        },
        Destination::AnotherPartner => {
            let receiver = new
                .recipient_specifications
                .as_ref()
                .and_then(|r| r.receiver_publisher_id.as_deref());
            if receiver.is_none_or(str::is_empty) {
                failures.push((
                    "recipientSpecifications.receiverPublisherId".into(),
                    "The receiving partner is required.",
                ));
            }
        }
        _ => {}
    }
    if !failures.is_empty() {
        let pairs: Vec<(&str, &str)> = failures.iter().map(|(t, m)| (t.as_str(), *m)).collect();
        return Err(validation(&pairs));
    }
    let below_10 = targeting.hardware_ids.iter().any(|h| {
        !h.operating_system_code
            .as_ref()
            .is_some_and(|os| os.as_str().to_ascii_uppercase().starts_with("WINDOWS_V100"))
    });
    if !targeting.chids.is_empty() && below_10 {
        return Err(functional(
            StatusCode::BAD_REQUEST,
            "invalidInput",
            "Chids are allowed only when HardwareIds are for operating systems Windows10 & Above.",
        ));
    }
    Ok(())
}

/// `PATCH …/shippingLabels/{shippingLabelId}`.
pub(super) async fn update(
    State(sim): State<Arc<Shared>>,
    t: Target,
    Typed { value: update, .. }: Typed<ShippingLabelUpdate>,
) -> Response {
    let label = t.label;
    let changes = &update.targeting;
    let missing_action = changes.hardware_ids.iter().any(|h| h.action.is_none())
        || changes.chids.iter().any(|c| c.action.is_none());
    if missing_action {
        return validation(&[(
            "targeting",
            "Each hardware id and CHID needs an action (add or remove).",
        )]);
    }
    let mut store = state::lock(&sim.store);
    if let Err(e) = find(&store, &t, Some(label)) {
        return e;
    }
    let record = &store.labels[&label];
    let unrestricting = changes
        .restricted_to_audiences
        .as_ref()
        .is_some_and(Vec::is_empty);
    if unrestricting
        && record.label.destination == Some(Destination::WindowsUpdate)
        && is_attestation(&store, t.product)
    {
        return unrestricted_attestation();
    }
    let (_, _, over) = status(&sim, record);
    if !over {
        return functional(
            StatusCode::BAD_REQUEST,
            "invalidInput",
            "Cannot update the shipping label when another workflow is in progress. Please retry.",
        );
    }
    let known = combinations(&store, t.submission);
    for h in changes
        .hardware_ids
        .iter()
        .filter(|h| h.action == Some(TargetingAction::Add))
    {
        if !known.contains(&key(h)) {
            return validation(&[(
                "targeting.hardwareIds",
                "Not a combination of the submission's driver metadata.",
            )]);
        }
    }
    let Some(record) = store.labels.get_mut(&label) else {
        return functional(
            StatusCode::NOT_FOUND,
            "entityNotFound",
            "No shipping label found",
        );
    };
    let targeting = record
        .label
        .targeting
        .get_or_insert_with(|| serde_json::from_value(json!({})).expect("an empty targeting"));
    for change in &changes.hardware_ids {
        targeting.hardware_ids.retain(|h| key(h) != key(change));
        if change.action == Some(TargetingAction::Add) {
            let mut added = change.clone();
            added.action = None;
            added.distribution_state = Some(hw_api_gen::types::DistributionState::PendingAdd);
            targeting.hardware_ids.push(added);
        }
    }
    for change in &changes.chids {
        targeting.chids.retain(|c| {
            !c.chid
                .as_deref()
                .unwrap_or_default()
                .eq_ignore_ascii_case(change.chid.as_deref().unwrap_or_default())
        });
        if change.action == Some(TargetingAction::Add) {
            let mut added = change.clone();
            added.action = None;
            added.distribution_state = Some(hw_api_gen::types::DistributionState::PendingAdd);
            targeting.chids.push(added);
        }
    }
    if let Some(audiences) = &changes.restricted_to_audiences {
        targeting.restricted_to_audiences = audiences.clone();
    }
    if let Some(info) = &changes.in_service_publish_info {
        targeting.in_service_publish_info = Some(info.clone());
    }
    record.started_at = Instant::now();
    StatusCode::NO_CONTENT.into_response()
}

/// `PUT …/shippingLabels/{shippingLabelId}/cancel`.
pub(super) async fn cancel(State(sim): State<Arc<Shared>>, t: Target) -> Response {
    let label = t.label;
    let mut store = state::lock(&sim.store);
    if let Err(e) = find(&store, &t, Some(label)) {
        return e;
    }
    let record = &store.labels[&label];
    if record.label.destination == Some(Destination::AnotherPartner) {
        return functional(
            StatusCode::BAD_REQUEST,
            "requestInvalidForCurrentState",
            "Shipping labels shared with another partner cannot be cancelled.",
        );
    }
    let (step, _, over) = status(&sim, record);
    let cancellable = matches!(
        step,
        ShippingLabelStep::MicrosoftApproval | ShippingLabelStep::Publishing
    ) && !over;
    if !cancellable || record.cancelled_at.is_some() {
        return functional(
            StatusCode::BAD_REQUEST,
            "requestInvalidForCurrentState",
            "Only shipping labels in Microsoft approval or gradual rollout can be cancelled.",
        );
    }
    let elapsed: Duration = record.started_at.elapsed();
    if let Some(record) = store.labels.get_mut(&label) {
        record.cancelled_at = Some(elapsed);
    }
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /hardware/audiences`.
pub(super) async fn audiences(
    State(sim): State<Arc<Shared>>,
    Path(version): Path<String>,
) -> Response {
    let prefix = match super::extract::prefix(&sim, &version) {
        Ok(p) => p,
        Err(e) => return e,
    };
    let value = json!([
        {"id": "2c3a1f4e-8a4b-4c8e-9d2e-3f1b6a7c9d10", "name": "Contoso insiders", "description": "Early adopters", "audienceName": "contoso-insiders"},
        {"id": "7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6", "name": "Contoso lab", "description": "Systems in the lab", "audienceName": "contoso-lab"},
    ]);
    let self_link =
        json!({"href": format!("{prefix}/hardware/audiences"), "rel": "self", "method": "GET"});
    Json(json!({"value": value, "links": [self_link]})).into_response()
}
