//! What a submission offers for download: the upload URL at first; the signed package, the
//! driver metadata and the certification report once signed; an error report if it failed.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::blob;
use crate::server::Shared;
use crate::state::{self, Store, SubmissionRecord};
use crate::workflow::Progress;

/// The downloads and messages of a submission.
pub struct Outputs {
    pub items: Vec<Value>,
    pub messages: Vec<String>,
    pub error_report: Option<String>,
}

/// The downloads of `record` at `progress`, making the output blobs the first time they are due.
pub fn ensure(
    sim: &Shared,
    store: &mut Store,
    record: &SubmissionRecord,
    progress: &Progress,
) -> Outputs {
    let key = state::guid(record.id);
    let signed = format!("signed/{key}");
    let metadata = format!("metadata/{key}.json");
    let report = format!("reports/{key}.txt");
    let due = (progress.finished() || progress.failed()) && !record.outputs_made;
    if due {
        let package = store
            .blobs
            .get(&record.package_blob)
            .map(|b| b.data.clone())
            .unwrap_or_default();
        if progress.finished() {
            let mut signed_bytes = b"HWSIM-SIGNED\n".to_vec();
            signed_bytes.extend_from_slice(&package);
            let doc = driver_metadata(store, record);
            let etag = store.next_counter();
            store.blobs.insert(
                signed.clone(),
                blob::Blob::committed(Bytes::from(signed_bytes), etag),
            );
            let etag = store.next_counter();
            store.blobs.insert(
                metadata.clone(),
                blob::Blob::committed(Bytes::from(doc.to_string()), etag),
            );
        } else {
            let text = format!(
                "Submission {} failed at step {}.\nThe package asked to fail there (hw-sim marker).\n",
                record.id, progress.step
            );
            let etag = store.next_counter();
            store.blobs.insert(
                report.clone(),
                blob::Blob::committed(Bytes::from(text), etag),
            );
        }
        if let Some(r) = store.submissions.get_mut(&record.id) {
            r.outputs_made = true;
        }
    }
    let package_permissions = if record.committed_at.is_some() {
        "rl"
    } else {
        "rwl"
    };
    let mut items = vec![item(
        "initialPackage",
        sim.sas_url(&record.package_blob, package_permissions),
    )];
    let mut outputs = Outputs {
        items: Vec::new(),
        messages: Vec::new(),
        error_report: None,
    };
    if progress.finished() {
        items.push(item("signedPackage", sim.sas_url(&signed, "r")));
        items.push(item("driverMetadata", sim.sas_url(&metadata, "r")));
        let report_url = format!(
            "{}/dashboard/hardware/Driver/DownloadCertificationReport/29963920/{}/{}",
            sim.urls.api_origin, record.product_id, record.id
        );
        items.push(item("certificationReport", report_url));
    }
    if progress.failed() {
        outputs
            .messages
            .push(format!("The package failed {}.", progress.step));
        outputs.error_report = Some(sim.sas_url(&report, "r"));
    }
    outputs.items = items;
    outputs
}

fn item(kind: &str, url: String) -> Value {
    json!({"type": kind, "url": url})
}

/// The driver metadata document of a submission (the PascalCase maps of the service).
fn driver_metadata(store: &Store, record: &SubmissionRecord) -> Value {
    let offset = record.product_id % 0x1_0000;
    let os_codes: Vec<String> = store
        .products
        .get(&record.product_id)
        .map(|p| {
            p.requested_signatures
                .iter()
                .map(|s| s.to_string())
                .collect()
        })
        .unwrap_or_default();
    let hardware_ids = [
        format!("PCI\\VEN_8086&DEV_{offset:04X}"),
        format!("PCI\\VEN_8086&DEV_{offset:04X}&SUBSYS_00011234"),
    ];
    let per_os: serde_json::Map<String, Value> = os_codes
        .iter()
        .map(|os| {
            let ids: serde_json::Map<String, Value> = hardware_ids
                .iter()
                .map(|hwid| {
                    (hwid.clone(), json!({"Manufacturer": "Contoso", "DeviceDescription": "Contoso Simulated Device", "FeatureScore": "FF"}))
                })
                .collect();
            (os.clone(), Value::Object(ids))
        })
        .collect();
    json!({
        "BundleInfoMap": {
            state::guid(record.id ^ 0xb0b): {
                "Locales": ["en-US"],
                "InfInfoMap": {
                    "hwsim.inf": {
                        "DriverPackageFamilyId": format!("hwsim.inf_{}", record.product_id),
                        "InfClass": "System",
                        "DriverVersion": "1.0.0.0",
                        "DriverDate": "2026-01-01T00:00:00",
                        "ExtensionId": null,
                        "Provider": "Contoso",
                        "ClassGuid": "{4d36e97d-e325-11ce-bfc1-08002be10318}",
                        "InstallationComputerHardwareIds": [state::guid(record.product_id)],
                        "OSPnPInfoMap": per_os,
                    }
                }
            }
        }
    })
}

/// The certification report page (the real one is a dashboard page, not part of the API).
pub async fn certification_report(
    Path((seller, product, submission)): Path<(u64, u64, u64)>,
) -> Response {
    let page = format!(
        "<!doctype html><title>Certification report</title><h1>Certification report</h1>\
         <p>Seller {seller}, product {product}, submission {submission}: certified by hw-sim.</p>"
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}
