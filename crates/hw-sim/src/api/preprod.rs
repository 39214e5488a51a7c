//! Pre-production signing: upload a package, watch its signing status on the simulator's clock,
//! list and download its signed assets. A package containing `HWSIM-FAIL-AT:` fails.

use std::sync::Arc;
use std::time::Instant;

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::errors::functional;
use super::extract::prefix;
use crate::shared::Shared;
use crate::state::{self, PreprodRecord};
use crate::workflow;

/// How many step durations signing takes.
const SIGNING_STEPS: u32 = 2;

fn not_found() -> Response {
    functional(StatusCode::NOT_FOUND, "entityNotFound", "Package not found")
}

/// The signed zip of a package.
fn signed_zip(record: &PreprodRecord) -> Vec<u8> {
    let mut zip = b"PK\x03\x04HWSIM-PREPROD-SIGNED\n".to_vec();
    zip.extend_from_slice(&record.data);
    zip
}

fn status(sim: &Shared, record: &PreprodRecord) -> &'static str {
    let done = record.received_at.elapsed() >= sim.config.step_duration * SIGNING_STEPS;
    match (done, record.fail) {
        (false, _) => "Processing",
        (true, true) => "Failed",
        (true, false) => "Succeeded",
    }
}

fn asset(record: &PreprodRecord) -> Value {
    let hash: String = Sha256::digest(signed_zip(record))
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    json!({
        "id": format!("{}-signed", record.id),
        "packageId": record.id,
        "assetType": "SignedFilesZip",
        "createdDate": record.received,
        "contentHash": hash,
    })
}

fn render(sim: &Shared, record: &PreprodRecord) -> Value {
    let status = status(sim, record);
    let mut value = json!({
        "id": record.id,
        "etag": format!("\"{}\"", record.id),
        "lastModified": record.received,
        "signingStatus": status,
    });
    match status {
        "Succeeded" => value["assets"] = json!([asset(record)]),
        "Failed" => {
            value["error"] =
                json!({"message": "Signing failed: the package asked to fail (hw-sim marker)."})
        }
        _ => {}
    }
    value
}

/// `PUT /hardware/preprod/packages`.
pub(super) async fn upload(
    State(sim): State<Arc<Shared>>,
    Path(version): Path<String>,
    body: Bytes,
) -> Response {
    if let Err(e) = prefix(&sim, &version) {
        return e;
    }
    // Its media type was judged before (`api::media_type`).
    if body.is_empty() {
        return super::errors::validation(&[("body", "The package is empty.")]);
    }
    let mut store = state::lock(&sim.store);
    let id = state::guid(store.next_counter() ^ 0x9e9e);
    let record = PreprodRecord {
        id: id.clone(),
        fail: workflow::fail_step(&body).is_some(),
        data: body,
        received_at: Instant::now(),
        received: humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string(),
    };
    let shown = render(&sim, &record);
    store.preprod.insert(id, record);
    Json(shown).into_response()
}

/// `GET /hardware/preprod/packages/{packageId}`.
pub(super) async fn get(
    State(sim): State<Arc<Shared>>,
    Path((version, package)): Path<(String, String)>,
) -> Response {
    match package_of(&sim, &version, &package) {
        Ok(record) => Json(render(&sim, &record)).into_response(),
        Err(e) => e,
    }
}

/// The package a path names, or the service's error.
fn package_of(sim: &Shared, version: &str, package: &str) -> Result<PreprodRecord, Response> {
    prefix(sim, version)?;
    let store = state::lock(&sim.store);
    store.preprod.get(package).cloned().ok_or_else(not_found)
}

/// The record of a signed package, or the response to send.
fn signed(sim: &Shared, record: PreprodRecord) -> Result<PreprodRecord, Response> {
    if status(sim, &record) != "Succeeded" {
        return Err(functional(
            StatusCode::NOT_FOUND,
            "entityNotFound",
            "The package has no signed assets yet",
        ));
    }
    Ok(record)
}

/// `GET /hardware/preprod/packages/{packageId}/assets`: a plain array.
pub(super) async fn assets(
    State(sim): State<Arc<Shared>>,
    Path((version, package)): Path<(String, String)>,
) -> Response {
    let record = match package_of(&sim, &version, &package) {
        Ok(record) => record,
        Err(e) => return e,
    };
    let list = if status(&sim, &record) == "Succeeded" {
        vec![asset(&record)]
    } else {
        Vec::new()
    };
    Json(list).into_response()
}

/// `GET /hardware/preprod/packages/{packageId}/assets/{assetId}`.
pub(super) async fn get_asset(
    State(sim): State<Arc<Shared>>,
    Path((version, package, asset_id)): Path<(String, String, String)>,
) -> Response {
    match signed_asset(&sim, &version, &package, &asset_id) {
        Ok(record) => Json(asset(&record)).into_response(),
        Err(e) => e,
    }
}

/// `GET /hardware/preprod/packages/{packageId}/assets/{assetId}/download`.
pub(super) async fn download(
    State(sim): State<Arc<Shared>>,
    Path((version, package, asset_id)): Path<(String, String, String)>,
) -> Response {
    match signed_asset(&sim, &version, &package, &asset_id) {
        Ok(record) => (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            signed_zip(&record),
        )
            .into_response(),
        Err(e) => e,
    }
}

/// The signed package whose asset `asset_id` a path names, or the service's error.
fn signed_asset(
    sim: &Shared,
    version: &str,
    package: &str,
    asset_id: &str,
) -> Result<PreprodRecord, Response> {
    let record = signed(sim, package_of(sim, version, package)?)?;
    if asset(&record)["id"] == asset_id {
        Ok(record)
    } else {
        Err(not_found())
    }
}
