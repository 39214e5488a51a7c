//! `hwdc demo`: the whole flow against a simulator started in this process, told step by step.

use std::path::PathBuf;
use std::time::Duration;

use hw_api::auth::ClientCredentials;
use hw_api::targeting::Filter;
use hw_api::transfer::TransferOptions;
use hw_api::{Client, LabelMilestone, RetryPolicy, WaitOptions};

use super::Ctx;
use super::labels::new_label;
use super::products::new_product;
use super::submissions::new_submission;
use super::transfer::{download, upload};
use crate::cli::{CreateLabel, Demo, FileKind, Harness, Kind, OutputFormat, SubmissionRef};
use crate::exit::Failure;
use crate::rows::{label_status, submission_status};

/// A temporary directory removed at the end.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn local(message: String) -> Failure {
    Failure::Local {
        kind: hw_api::ErrorKind::LocalIo,
        message,
    }
}

/// Runs the demo.
pub(crate) async fn run(ctx: &Ctx, demo: Demo) -> Result<(), Failure> {
    let json = ctx.out.format == OutputFormat::Json;
    let say = |text: String| {
        if !json && !ctx.global.quiet {
            crate::output::emit(&format!("{text}\n"));
        }
    };
    let sim = hw_sim::start(hw_sim::SimConfig {
        step_duration: Duration::from_millis(demo.step_ms),
        ..hw_sim::SimConfig::default()
    })
    .await
    .map_err(|e| local(format!("cannot start the simulator: {e}")))?;
    let app = sim
        .app()
        .cloned()
        .ok_or_else(|| local("the simulator has no application".into()))?;
    say(format!(
        "hw-sim, a simulator of the Hardware Dev Center, is running on this machine:\n  API {}\n  sign-in (Entra ID) {}\n  blob storage {}\n",
        sim.api_url(),
        sim.authority_url(),
        sim.urls().blob_origin
    ));

    let credentials =
        ClientCredentials::new(&app.tenant_id, &app.client_id, app.secret.clone().into())
            .with_authority(sim.authority_url())
            .map_err(|e| local(hw_api::Report::new(&e).to_string()))?;
    let mut builder = Client::builder();
    if let Some(recorder) = &ctx.recorder {
        builder = builder.record(recorder.clone());
    }
    let client = builder
        .base_url(sim.api_url())
        .token_provider(credentials)
        .retry_policy(RetryPolicy::default())
        .transfer_options(
            TransferOptions::default()
                .with_block_size(1024 * 1024)
                .with_single_put_threshold(1024 * 1024)
                .with_parallelism(4),
        )
        .build()?;

    say("1. Create a product: the driver as the dashboard knows it.".into());
    let product = client
        .create_product_once(&new_product(
            "Contoso Demo Touch Controller",
            Harness::Hlk,
            &[
                "WINDOWS_v100_X64_RS5_FULL".into(),
                "WINDOWS_v100_ARM64_GE_FULL".into(),
            ],
            &[],
            "internal",
            None,
            false,
        )?)
        .await?;
    say(format!(
        "   product {} created (the client signed in with the client-credentials flow first).\n",
        product.id
    ));

    say("2. Create a submission: it comes with a URL to upload the package to.".into());
    let body = new_submission("demo 1.0.0", Kind::Initial)?;
    let submission = client.create_submission_once(product.id, &body).await?;
    let upload_url = submission
        .downloads
        .as_ref()
        .and_then(|d| d.items.first())
        .and_then(|i| i.url.clone())
        .unwrap_or_default();
    say(format!(
        "   submission {} created; upload URL {} (its signature is never shown).\n",
        submission.id, upload_url
    ));

    say(format!(
        "3. Upload a {} KiB sample package in 1 MiB blocks, 4 at a time.",
        demo.package_kib
    ));
    let scratch = Scratch(std::env::temp_dir().join(format!("hwdc-demo-{}", std::process::id())));
    std::fs::create_dir_all(&scratch.0)
        .map_err(|e| local(format!("cannot make a scratch directory: {e}")))?;
    let package = scratch.0.join("contoso-demo.hlkx");
    let mut bytes: Vec<u8> = (0..demo.package_kib * 1024)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    bytes[..4].copy_from_slice(b"PK\x03\x04");
    std::fs::write(&package, &bytes)
        .map_err(|e| local(format!("cannot write the sample package: {e}")))?;
    let at = SubmissionRef {
        product: product.id.get(),
        submission: submission.id.get(),
    };
    let report = upload(ctx, &client, at, &package).await?;
    say(format!(
        "   {} bytes uploaded in {} blocks, each checked by MD5.\n",
        report.bytes, report.blocks
    ));

    say("4. Commit the submission: Microsoft starts processing it.".into());
    client.commit_submission(product.id, submission.id).await?;
    say("   committed.\n".into());

    say("5. Wait while the package goes through Microsoft's steps:".into());
    let options = WaitOptions::default()
        .with_first_interval(Duration::from_millis(demo.step_ms / 4 + 1))
        .with_max_interval(Duration::from_millis(demo.step_ms + 1))
        .with_deadline(Some(Duration::from_secs(600)));
    let mut last = String::new();
    let signed = client
        .wait_for_submission(product.id, submission.id, &options, &mut |s| {
            let now = submission_status(s);
            if now != last {
                say(format!("   - {now}"));
                last = now;
            }
        })
        .await?;
    say(format!(
        "   signed: the submission now offers {} downloads.\n",
        signed.downloads.map(|d| d.items.len()).unwrap_or(0)
    ));

    say("6. Download the signed package and check it.".into());
    let dest = scratch.0.join("contoso-demo-signed.hlkx");
    let download = download(ctx, &client, at, FileKind::Signed, &dest).await?;
    let signed_bytes =
        std::fs::read(&dest).map_err(|e| local(format!("cannot read the download: {e}")))?;
    if !signed_bytes.ends_with(&bytes) {
        return Err(local(
            "the signed package does not contain the uploaded package".into(),
        ));
    }
    say(format!(
        "   {} bytes, MD5 {}, and it holds the package we uploaded.\n",
        download.bytes,
        if download.md5_verified {
            "verified"
        } else {
            "not offered"
        }
    ));

    say(
        "7. Publish it to Windows Update with a shipping label built from the driver metadata."
            .into(),
    );
    let metadata = client.driver_metadata(product.id, submission.id).await?;
    let targets = metadata.hardware_ids(&Filter::default()).len();
    let label = new_label(&CreateLabel {
        at,
        name: "Contoso demo to Windows Update".into(),
        partner: None,
        manual: false,
        infs: Vec::new(),
        os_codes: Vec::new(),
        hardware_ids: Vec::new(),
        audiences: Vec::new(),
        no_check: false,
        chids: Vec::new(),
        go_live: None,
        contact: "driver-team@contoso.example".into(),
        justification: "Demo of hwdc".into(),
    })?;
    let label = client
        .publish(product.id, submission.id, label, &Filter::default())
        .await?;
    say(format!(
        "   label {} targets {targets} hardware ids; waiting for it:",
        label.id
    ));
    let mut last = String::new();
    client
        .wait_for_shipping_label(
            product.id,
            submission.id,
            label.id,
            LabelMilestone::Done,
            &options,
            &mut |l| {
                let now = label_status(l);
                if now != last {
                    say(format!("   - {now}"));
                    last = now;
                }
            },
        )
        .await?;
    say("   published.\n".into());

    say(format!(
        "Done. Against the real service the same flow is one command:\n  hwdc submit driver.hlkx --product {} --name \"1.0.0\" --out signed.hlkx",
        product.id
    ));
    if json {
        ctx.out.done(
            "",
            crate::results::DemoResult {
                product: product.id.get(),
                submission: submission.id.get(),
                uploaded_bytes: report.bytes,
                blocks: report.blocks,
                signed_bytes: download.bytes,
                md5_verified: download.md5_verified,
                label: label.id.get(),
                hardware_ids: targets,
            },
        );
    }
    sim.stop().await;
    Ok(())
}
