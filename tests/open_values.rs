//! Values the service adds later, drifted casing, numbers where strings were documented, and
//! fields the spec does not know: decoding never fails and nothing is lost on re-encoding.

use hw_api_gen::types::{
    CommitStatus, CurrentStep, DeviceType, DownloadType, ErrorCode, LinkRel, OsCode, Product,
    ProductType, Submission, TestHarness, WorkflowState, WorkflowStatus, WorkflowStep,
};
use serde_json::json;

#[test]
fn unknown_enum_values_are_kept_and_written_back_unchanged() {
    let product: Product = serde_json::from_value(json!({
        "id": 9007199267351834u64,
        "deviceType": "somethingNew",
        "requestedSignatures": ["WINDOWS_v100_X64_RS5_FULL", "WINDOWS_v200_X64_FUTURE"],
        "selectedProductTypes": {"windows_v100_RS3": "Brand New Type", "Windows_v100": "Touch"},
        "links": [{"href": "https://example.test/x", "rel": "brand_new_rel", "method": "OPTIONS"}]
    }))
    .unwrap();
    assert_eq!(
        product.device_type,
        Some(DeviceType::Other("somethingNew".into()))
    );
    assert_eq!(
        product.requested_signatures[0],
        OsCode::WindowsV100X64Rs5Full
    );
    assert_eq!(
        product.requested_signatures[1],
        OsCode::Other("WINDOWS_v200_X64_FUTURE".into())
    );
    assert_eq!(
        product.selected_product_types["Windows_v100"],
        ProductType::Touch
    );
    assert!(!product.selected_product_types["windows_v100_RS3"].is_known());
    assert_eq!(product.links[0].rel, LinkRel::Other("brand_new_rel".into()));

    let back = serde_json::to_value(&product).unwrap();
    assert_eq!(back["deviceType"], "somethingNew");
    assert_eq!(back["requestedSignatures"][1], "WINDOWS_v200_X64_FUTURE");
    assert_eq!(
        back["selectedProductTypes"]["windows_v100_RS3"],
        "Brand New Type"
    );
    assert_eq!(back["links"][0]["rel"], "brand_new_rel");
    assert_eq!(back["links"][0]["method"], "OPTIONS");
}

#[test]
fn known_values_match_in_any_case_and_encode_canonically() {
    let submission: Submission = serde_json::from_value(json!({
        "id": 1152921504621465124u64,
        "productId": 14631253285588838u64,
        "commitStatus": "CommitComplete",
        "workflowStatus": {"currentStep": "FINALIZEINGESTION", "state": "Completed"},
        "downloads": {"items": [{"type": "SignedPackage", "url": "https://example.test/p"}]}
    }))
    .unwrap();
    assert_eq!(submission.commit_status, Some(CommitStatus::CommitComplete));
    let status = submission.workflow_status.as_ref().unwrap();
    assert_eq!(
        status.current_step,
        Some(CurrentStep::WorkflowStep(WorkflowStep::FinalizeIngestion))
    );
    assert_eq!(status.state, Some(WorkflowState::Completed));
    assert_eq!(
        submission.downloads.as_ref().unwrap().items[0].type_,
        DownloadType::SignedPackage
    );

    let back = serde_json::to_value(&submission).unwrap();
    assert_eq!(back["commitStatus"], "commitComplete");
    assert_eq!(back["workflowStatus"]["currentStep"], "finalizeIngestion");

    assert_eq!("HLK".parse::<TestHarness>().unwrap(), TestHarness::Hlk);
    assert_eq!(ErrorCode::from("EntityNotFound"), ErrorCode::EntityNotFound);
    assert_eq!(ErrorCode::EntityNotFound.to_string(), "entityNotFound");
}

#[test]
fn a_numeric_current_step_is_kept_as_a_number() {
    let status: WorkflowStatus =
        serde_json::from_value(json!({"currentStep": 7, "state": "started", "messages": ["m"]}))
            .unwrap();
    assert_eq!(status.current_step, Some(CurrentStep::Int64(7)));
    assert_eq!(
        serde_json::to_value(&status).unwrap()["currentStep"],
        json!(7)
    );
}

#[test]
fn unknown_fields_survive_at_every_level() {
    let input = json!({
        "id": 1152921504621465124u64,
        "productId": 14631253285588838u64,
        "originType": "author",
        "futureTopLevel": {"nested": [1, 2, {"deep": true}]},
        "workflowStatus": {"currentStep": "signing", "state": "started", "futureStatusField": "x"},
        "downloads": {"items": [{"type": "driverMetadata", "url": "u", "sizeBytes": 1152921504621465999u64}]},
        "links": [{"href": "h", "rel": "self", "method": "GET", "title": "t"}]
    });
    let submission: Submission = serde_json::from_value(input.clone()).unwrap();
    assert_eq!(
        submission.extra["futureTopLevel"]["nested"][2]["deep"],
        json!(true)
    );
    assert_eq!(serde_json::to_value(&submission).unwrap(), input);
}

#[test]
fn an_id_sent_as_a_string_is_read_and_written_as_a_number() {
    let product: Product =
        serde_json::from_value(json!({"id": "9007199267351834", "sourcePublisherId": "27691110"}))
            .unwrap();
    assert_eq!(product.id.get(), 9_007_199_267_351_834);
    let back = serde_json::to_value(&product).unwrap();
    assert_eq!(back["sourcePublisherId"], json!(27691110));
}

#[test]
fn a_rounded_float_id_is_refused_with_a_clear_message() {
    let err = serde_json::from_value::<Product>(json!({"id": 1.152921504621465e18})).unwrap_err();
    assert!(
        err.to_string()
            .contains("an id as an integer or a string of digits"),
        "{err}"
    );
}

#[test]
fn every_known_value_round_trips_through_its_wire_form() {
    for value in OsCode::KNOWN
        .iter()
        .chain([OsCode::from("WINDOWS_v100_ARM64_GE_FULL")].iter())
    {
        assert!(value.is_known());
        assert_eq!(&OsCode::from(value.as_str().to_ascii_lowercase()), value);
    }
    assert!(ProductType::KNOWN.len() >= 78);
    assert_eq!(
        ProductType::from("graphics adapter wddm1.2 displayonly"),
        ProductType::GraphicsAdapterWddm12DisplayOnly
    );
}

#[test]
fn debug_output_of_resources_hides_sas_signatures() {
    let submission: Submission = serde_json::from_value(json!({
        "id": 1, "productId": 2,
        "downloads": {"items": [{"type": "initialPackage", "url": "https://a.blob.core.windows.net/c/b?sv=2019-12-12&sr=b&sp=rw&sig=TOPSECRETSIG"}]},
        "workflowStatus": {"errorReport": "https://a.blob.core.windows.net/r/x?sig=ALSOSECRET&sr=b"}
    }))
    .unwrap();
    let shown = format!("{submission:?}");
    assert!(
        !shown.contains("TOPSECRETSIG") && !shown.contains("ALSOSECRET"),
        "{shown}"
    );
    let url = &submission.downloads.as_ref().unwrap().items[0]
        .url
        .as_ref()
        .expect("a URL");
    assert!(
        url.expose().ends_with("sig=TOPSECRETSIG"),
        "the real URL is kept for requests"
    );
    assert!(
        serde_json::to_string(&submission)
            .unwrap()
            .contains("TOPSECRETSIG"),
        "and written back unchanged"
    );
}

/// A list whose item names a file not available yet (`url: null`), as the service sends it:
/// it decodes, the file is kept without a URL, and it is written back as `null`.
#[test]
fn a_file_without_its_url_yet_decodes_and_is_written_back_as_null() {
    let page: hw_api_gen::types::SubmissionList = serde_json::from_value(json!({
        "value": [{
            "id": 1152921504621465124u64, "productId": 14631253285588838u64, "name": "v1",
            "downloads": {"items": [
                {"type": "initialPackage", "url": null},
                {"type": "signedPackage", "url": "https://a.blob.core.windows.net/c/s?sv=2019-12-12&sr=b&sp=r&sig=S"}
            ], "messages": []}
        }],
        "links": []
    }))
    .expect("a null URL is not an error");
    let items = &page.value[0].downloads.as_ref().unwrap().items;
    assert_eq!(items[0].type_, DownloadType::InitialPackage);
    assert!(items[0].url.is_none());
    assert!(items[1].url.is_some());
    let written = serde_json::to_value(&page).unwrap();
    assert_eq!(
        written["value"][0]["downloads"]["items"][0],
        json!({"type": "initialPackage", "url": null})
    );
}
