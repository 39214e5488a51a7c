//! What a submission offers for download: the upload URL at first; the signed package, the
//! driver metadata and the certification report once signed; an error report if it failed.

use axum::extract::Path;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use serde_json::{Value, json};

use crate::blob::Blob;
use crate::shared::Shared;
use crate::state::{self, Store, SubmissionRecord};
use crate::workflow::Progress;

/// The downloads and messages of a submission.
pub(super) struct Outputs {
    pub items: Vec<Value>,
    pub messages: Vec<String>,
    pub error_report: Option<String>,
}

/// The blob names of a submission's outputs.
struct Names {
    signed: String,
    metadata: String,
    report: String,
}

fn names(submission: u64) -> Names {
    let key = state::guid(submission);
    Names {
        signed: format!("signed/{key}"),
        metadata: format!("metadata/{key}.json"),
        report: format!("reports/{key}.txt"),
    }
}

/// The signed package and the driver metadata of a committed package, built from the package as
/// it was at commit (outside the store's lock: it copies the whole package).
pub(super) fn build(
    submission: u64,
    product: u64,
    package: &[u8],
    os_codes: &[String],
) -> Vec<(String, Blob)> {
    let names = names(submission);
    let mut signed = Vec::with_capacity(package.len() + 16);
    signed.extend_from_slice(b"HWSIM-SIGNED\n");
    signed.extend_from_slice(package);
    let metadata = driver_metadata(submission, product, os_codes).to_string();
    vec![
        (names.signed, Blob::committed(Bytes::from(signed))),
        (names.metadata, Blob::committed(Bytes::from(metadata))),
    ]
}

/// The downloads of `record` at `progress`; writes the error report the first time a failure
/// is seen.
pub(super) fn downloads(
    sim: &Shared,
    store: &mut Store,
    record: &SubmissionRecord,
    progress: &Progress,
) -> Outputs {
    let names = names(record.id);
    if progress.failed() && !record.report_made {
        let text = format!(
            "Submission {} failed at step {}.\nThe package asked to fail there (hw-sim marker).\n",
            record.id, progress.step
        );
        let mut report = Blob::committed(Bytes::from(text));
        report.etag = store.next_etag();
        store.blobs.insert(names.report.clone(), report);
        if let Some(r) = store.submissions.get_mut(&record.id) {
            r.report_made = true;
        }
    }
    let package_permissions = if record.committed_at.is_some() {
        "rl"
    } else {
        "rwl"
    };
    let mut outputs = Outputs {
        items: vec![item(
            "initialPackage",
            sim.sas_url(&record.package_blob, package_permissions),
        )],
        messages: Vec::new(),
        error_report: None,
    };
    if progress.finished() {
        outputs
            .items
            .push(item("signedPackage", sim.sas_url(&names.signed, "r")));
        outputs
            .items
            .push(item("driverMetadata", sim.sas_url(&names.metadata, "r")));
        let report_url = format!(
            "{}/dashboard/hardware/Driver/DownloadCertificationReport/29963920/{}/{}",
            sim.urls.api_origin, record.product_id, record.id
        );
        outputs.items.push(item("certificationReport", report_url));
    }
    if progress.failed() {
        outputs
            .messages
            .push(format!("The package failed {}.", progress.step));
        outputs.error_report = Some(sim.sas_url(&names.report, "r"));
    }
    outputs
}

fn item(kind: &str, url: String) -> Value {
    json!({"type": kind, "url": url})
}

/// The driver metadata document of a submission (the PascalCase maps of the service).
fn driver_metadata(submission: u64, product: u64, os_codes: &[String]) -> Value {
    let offset = product % 0x1_0000;
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
            state::guid(submission ^ 0xb0b): {
                "Locales": ["en-US"],
                "InfInfoMap": {
                    "hwsim.inf": {
                        "DriverPackageFamilyId": format!("hwsim.inf_{product}"),
                        "InfClass": "System",
                        "DriverVersion": "1.0.0.0",
                        "DriverDate": "2026-01-01T00:00:00",
                        "ExtensionId": null,
                        "Provider": "Contoso",
                        "ClassGuid": "{4d36e97d-e325-11ce-bfc1-08002be10318}",
                        "InstallationComputerHardwareIds": [state::guid(product)],
                        "OSPnPInfoMap": per_os,
                    }
                }
            }
        }
    })
}

/// The certification report page (the real one is a dashboard page, not part of the API).
pub(super) async fn certification_report(
    Path((seller, product, submission)): Path<(u64, u64, u64)>,
) -> Response {
    let page = format!(
        "<!doctype html><title>Certification report</title><h1>Certification report</h1>\
         <p>Seller {seller}, product {product}, submission {submission}: certified by hw-sim.</p>"
    );
    ([(header::CONTENT_TYPE, "text/html; charset=utf-8")], page).into_response()
}
