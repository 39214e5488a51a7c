//! The whole flow for one package with `Client::ship`: the product (created once by name),
//! a submission, the upload, the commit, the wait for Microsoft's signature and the download,
//! with a journal so that running it again after an interruption continues the same work.
//!
//! `cargo run -p hw-api --example submit_flow -- PACKAGE OUT` submits PACKAGE with the account
//! the `HW_*` variables name; without arguments it makes a sample package in a scratch folder
//! and submits it to an embedded hw-sim, whatever the environment says.

mod common;

use hw_api::ship::{FileStateStore, ProductChoice, ShipEvent, ShipPlan, Transfers};
use hw_api::transfer::Silent;
use hw_api::types::{NewProduct, NewSubmission, SubmissionType};

#[tokio::main]
async fn main() -> Result<(), common::Failure> {
    let mut args = std::env::args_os().skip(1);
    let scratch = std::env::temp_dir().join(format!("hw-api-submit-{}", std::process::id()));
    let (connection, package, out, sample) = match (args.next(), args.next()) {
        (Some(package), Some(out)) => {
            (common::connect(0).await?, package.into(), out.into(), false)
        }
        _ => {
            // A sample package is never sent to a real account.
            std::fs::create_dir_all(&scratch)?;
            let package = scratch.join("driver.cab");
            std::fs::write(&package, vec![7u8; 300_000])?;
            let out = scratch.join("signed.cab");
            (common::simulated(0).await?, package, out, true)
        }
    };
    let product: NewProduct = serde_json::from_value(serde_json::json!({
        "productName": "Example Touch Controller",
        "testHarness": "attestation",
        "deviceType": "internal",
        "isTestSign": false,
        "isFlightSign": false,
        "marketingNames": ["Example Touch Controller"],
        "requestedSignatures": ["WINDOWS_v100_X64_GE_FULL"],
        "deviceMetadataIds": [],
        "firmwareVersion": "0",
        "additionalAttributes": {},
    }))?;
    let submission = NewSubmission {
        name: "example 1.0.0".try_into()?,
        type_: SubmissionType::Initial,
    };
    let plan = ShipPlan::new(
        &package,
        ProductChoice::Named(Box::new(product)),
        submission,
        &out,
        connection.account.clone(),
    );
    let store = FileStateStore::beside(&package, ".hwdc.json");
    let mut events = |event: ShipEvent<'_>| match event {
        ShipEvent::Product { id, created } => {
            eprintln!("product {id}{}", if created { " (created)" } else { "" })
        }
        ShipEvent::Submission(id) => eprintln!("submission {id}"),
        ShipEvent::Uploaded(report) => eprintln!("uploaded {} bytes", report.bytes),
        ShipEvent::Committed => eprintln!("committed; waiting for Microsoft's signature"),
        ShipEvent::Downloaded(report) => eprintln!("downloaded {} bytes", report.bytes),
        _ => {}
    };
    let transfers = Transfers {
        upload: &Silent,
        download: &Silent,
    };
    let report = connection
        .client
        .ship(&plan, &store, &mut events, transfers)
        .await?;
    println!(
        "product {}, submission {}: signed package in {} (SHA-256 {})",
        report.product,
        report.submission,
        out.display(),
        // The plan goes all the way (no `with_stop_after`): the package is delivered.
        report.signed_sha256.as_deref().unwrap_or("?")
    );
    if sample {
        std::fs::remove_dir_all(&scratch)?;
    }
    Ok(())
}
