//! The JSON Schemas the generated types derive (hw-api-gen's `schemars` feature, behind
//! `hwdc schema`) say what the spec's components say: the same properties, and the same
//! required ones except where the generated type is more tolerant, each listed here with why.

use std::collections::BTreeSet;
use std::path::Path;

use hw_api_gen::types;
use serde_json::Value;

/// Fields the spec requires that a type reads as optional (or the other way), and why.
const REQUIRED_DIFFERS: &[(&str, &str, &str)] = &[(
    "DownloadItem",
    "url",
    "required and nullable in the spec (`null` while the file is not available yet): the type \
     reads a missing `url` as that same `null` (an `Option`), which schemars writes as not required",
)];

fn spec() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi/hardware.yaml");
    serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn keys(value: &Value) -> BTreeSet<String> {
    value
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default()
}

fn names(value: &Value) -> BTreeSet<String> {
    value
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

macro_rules! derived {
    ($($name:ident),* $(,)?) => {
        /// Every object component's type: its name and its derived schema.
        fn derived() -> Vec<(&'static str, Value)> {
            vec![$((
                stringify!($name),
                serde_json::to_value(schemars::schema_for!(types::$name)).unwrap(),
            )),*]
        }
    };
}

derived!(
    Link,
    ProductList,
    SubmissionList,
    Product,
    Submission,
    NewSubmission,
    WorkflowStatus,
    Downloads,
    DownloadItem,
    AdditionalAttributes,
    StorageController,
    RaidController,
    Svvp,
    ErrorResponse,
    ErrorDetail,
    ValidationError,
    NewProduct,
    ProductUpdate,
    SubmissionUpdate,
    ShippingLabelList,
    ShippingLabel,
    NewShippingLabel,
    PublishingSpecifications,
    AdditionalInfoForMsApproval,
    RecipientSpecifications,
    Targeting,
    TargetingUpdate,
    ShippingLabelUpdate,
    HardwareId,
    Chid,
    InServicePublishInfo,
    CoEngDriverPublishInfo,
    ShippingLabelWorkflowStatus,
    AudienceList,
    Audience,
    PreprodPackage,
    PreprodError,
    PreprodAsset,
);

#[test]
fn every_object_component_has_its_properties_and_its_required_fields() {
    let spec = spec();
    let components = &spec["components"]["schemas"];
    let objects: BTreeSet<String> = components
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| v.get("properties").is_some())
        .map(|(k, _)| k.clone())
        .collect();
    let derived = derived();
    let listed: BTreeSet<String> = derived.iter().map(|(n, _)| (*n).to_owned()).collect();
    assert_eq!(listed, objects, "every object component is checked");
    let mut differences = Vec::new();
    for (name, schema) in &derived {
        let component = &components[*name];
        assert_eq!(
            keys(&schema["properties"]),
            keys(&component["properties"]),
            "{name}: the properties"
        );
        let ours = names(&schema["required"]);
        let theirs = names(&component["required"]);
        for field in theirs.symmetric_difference(&ours) {
            differences.push(format!("{name}.{field}"));
        }
    }
    let expected: Vec<String> = REQUIRED_DIFFERS
        .iter()
        .map(|(t, f, _)| format!("{t}.{f}"))
        .collect();
    assert_eq!(
        differences, expected,
        "required fields that differ from the spec"
    );
}
