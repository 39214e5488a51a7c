//! The commands of pre-production signing, publisher metadata and CHID targeting, where they
//! must do more than pass a request on: an upload whose answer was lost is never sent again
//! blindly, and CHIDs are refused before any request when the service would refuse them.

mod common;

use common::{Scratch, hwdc, id, quick, sent, start};
use hw_sim::{Fault, FaultRule, SimConfig};

#[tokio::test(flavor = "multi_thread")]
async fn a_preprod_upload_whose_answer_was_lost_is_not_sent_again_without_restart() {
    let sim = start(SimConfig {
        faults: vec![
            FaultRule::new(Fault::DropConnection, 1.0)
                .only("uploadPreprodPackage")
                .at_most(1),
        ],
        ..quick()
    })
    .await;
    let home = Scratch::new("preprod-unclear");
    let cab = home.file("driver.cab", 50_000, b"MSCF");
    let cab = cab.to_str().unwrap();
    let trace = home.0.join("trace.jsonl");
    let trace_arg = trace.to_str().unwrap();
    let submit = |extra: &'static [&'static str]| {
        let mut args = vec!["--record", trace_arg, "preprod", "submit", cab];
        args.extend_from_slice(extra);
        args
    };
    let first = hwdc(&sim, &home.0, &submit(&[])).await;
    assert_eq!(first.code, 8, "an unclear outcome: {}", first.stderr);
    assert_eq!(
        sent(&trace, "uploadPreprodPackage"),
        1,
        "sent once, never resent"
    );
    let journal = home.0.join("driver.cab.preprod.json");
    assert!(journal.is_file(), "the journal remembers the send");
    let again = hwdc(&sim, &home.0, &submit(&[])).await;
    assert_eq!(again.code, 8, "{}", again.stderr);
    assert!(again.stderr.contains("Partner Center"), "{}", again.stderr);
    assert_eq!(sent(&trace, "uploadPreprodPackage"), 0, "not sent again");
    let restarted = hwdc(&sim, &home.0, &submit(&["--restart"])).await.ok();
    assert_eq!(sent(&trace, "uploadPreprodPackage"), 1);
    assert!(restarted.stdout.contains("sent for pre-production signing"));
    let kept: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&journal).unwrap()).unwrap();
    assert!(kept["package"].is_string(), "{kept}");
    // A refusal makes nothing: the journal goes, and the next run sends.
    let other = home.file("other.cab", 10, b"MSCF");
    std::fs::write(home.0.join("other.cab.preprod.json"), b"not json").unwrap();
    let broken = hwdc(
        &sim,
        &home.0,
        &["preprod", "submit", other.to_str().unwrap()],
    )
    .await;
    assert_eq!(
        broken.code, 2,
        "a broken journal is named: {}",
        broken.stderr
    );
    assert!(
        broken.stderr.contains("other.cab.preprod.json"),
        "{}",
        broken.stderr
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn chids_are_refused_before_any_request_for_hardware_ids_before_windows_10() {
    let sim = start(quick()).await;
    let home = Scratch::new("chids");
    let (p, s) = common::signed_submission(
        &sim,
        &home.0,
        "hlk",
        &["WINDOWS_v63_X64", "WINDOWS_v100_X64_GE_FULL"],
    )
    .await;
    let trace = home.0.join("trace.jsonl");
    let chid = "0b0b4a4e-3c2f-4f6e-9b2a-8c1d2e3f4a5b";
    let create = |os: &'static str| {
        vec![
            "--record",
            trace.to_str().unwrap(),
            "labels",
            "create",
            &p,
            &s,
            "--name",
            "chid",
            "--manual",
            "--chid",
            chid,
            "--os",
            os,
        ]
    };
    let refused = hwdc(&sim, &home.0, &create("WINDOWS_v63_X64")).await;
    assert_eq!(refused.code, 5, "{}", refused.stderr);
    assert!(refused.stderr.contains("Windows 10"), "{}", refused.stderr);
    assert!(
        refused.stderr.contains("WINDOWS_v63_X64"),
        "{}",
        refused.stderr
    );
    assert_eq!(sent(&trace, "createShippingLabel"), 0, "never asked");
    // Only Windows 10 and later: sent.
    let made = hwdc(&sim, &home.0, &{
        let mut a = vec!["--output", "json"];
        a.extend(create("WINDOWS_v100_X64_GE_FULL"));
        a
    })
    .await
    .ok()
    .json();
    assert_eq!(sent(&trace, "createShippingLabel"), 1);
    // A label of an older OS code gets no CHID by update either.
    let old = hwdc(
        &sim,
        &home.0,
        &[
            "--output",
            "json",
            "labels",
            "create",
            &p,
            &s,
            "--name",
            "old",
            "--manual",
            "--os",
            "WINDOWS_v63_X64",
        ],
    )
    .await
    .ok()
    .json();
    hwdc(
        &sim,
        &home.0,
        &["labels", "wait", &p, &s, &id(&old), "--poll", "0.02"],
    )
    .await
    .ok();
    let update = hwdc(
        &sim,
        &home.0,
        &[
            "--record",
            trace.to_str().unwrap(),
            "labels",
            "update",
            &p,
            &s,
            &id(&old),
            "--chid",
            chid,
        ],
    )
    .await;
    assert_eq!(update.code, 5, "{}", update.stderr);
    assert_eq!(sent(&trace, "updateShippingLabel"), 0, "never asked");
    assert!(made["id"].is_u64());
    // Not a GUID: a usage error.
    let bad = hwdc(
        &sim,
        &home.0,
        &["labels", "create", &p, &s, "--name", "x", "--chid", "nope"],
    )
    .await;
    assert_eq!(bad.code, 2, "{}", bad.stderr);
}
