//! Every example of the spec — the seed documentation's JSON samples with their defects fixed —
//! decodes into its generated type and re-encodes to the same JSON with every id exact.

use hw_api_gen::types;
use hw_workspace_tests::{big_integers, examples, spec, without_empty_members};
use serde::Serialize;
use serde::de::DeserializeOwned;

fn round_trip<T: DeserializeOwned + Serialize>(
    value: &serde_json::Value,
) -> Result<String, String> {
    let text = serde_json::to_string(value).unwrap();
    let typed: T = serde_json::from_str(&text).map_err(|e| format!("decode: {e}"))?;
    serde_json::to_string(&typed).map_err(|e| format!("encode: {e}"))
}

/// Re-encodes `value` through the generated type named `schema`.
fn through_type(schema: &str, value: &serde_json::Value) -> Result<String, String> {
    match schema {
        "Product" => round_trip::<types::Product>(value),
        "ProductList" => round_trip::<types::ProductList>(value),
        "Submission" => round_trip::<types::Submission>(value),
        "SubmissionList" => round_trip::<types::SubmissionList>(value),
        "NewSubmission" => round_trip::<types::NewSubmission>(value),
        "WorkflowStatus" => round_trip::<types::WorkflowStatus>(value),
        "Downloads" => round_trip::<types::Downloads>(value),
        "Link" => round_trip::<types::Link>(value),
        "ErrorResponse" => round_trip::<types::ErrorResponse>(value),
        "NewProduct" => round_trip::<types::NewProduct>(value),
        "ShippingLabel" => round_trip::<types::ShippingLabel>(value),
        "Audience" => round_trip::<types::Audience>(value),
        "Id" => round_trip::<hw_api_gen::Id>(value),
        "LenientInteger" => round_trip::<hw_api_gen::LenientInteger>(value),
        "SasUrl" => round_trip::<hw_api_gen::SecretUrl>(value),
        other => Err(format!(
            "no generated type is mapped for schema {other}; add it here"
        )),
    }
}

#[test]
fn every_spec_example_round_trips_exactly() {
    let spec = spec();
    let found = examples(&spec);
    assert!(found.len() >= 12, "only {} examples found", found.len());
    let mut failures = Vec::new();
    for example in &found {
        let original = serde_json::to_string(&example.value).unwrap();
        match through_type(&example.schema, &example.value) {
            Err(e) => failures.push(format!("{} ({}): {e}", example.location, example.schema)),
            Ok(encoded) => {
                let back: serde_json::Value = serde_json::from_str(&encoded).unwrap();
                if without_empty_members(&back) != without_empty_members(&example.value) {
                    failures.push(format!(
                        "{}: re-encoded differently:\n  was {original}\n  now {encoded}",
                        example.location
                    ));
                }
                for id in big_integers(&original) {
                    if !encoded.contains(&id) {
                        failures.push(format!("{}: id {id} not written exactly", example.location));
                    }
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_seed_samples_are_all_there() {
    let found = examples(&spec());
    for (schema, what) in [
        ("Product", "product resource of get-product-data"),
        ("Submission", "submission resource of get-product-data"),
        ("WorkflowStatus", "workflow status object"),
        ("Downloads", "download object"),
        ("Link", "link object"),
        ("NewSubmission", "create-submission request body"),
        ("ErrorResponse", "error bodies"),
    ] {
        assert!(
            found.iter().any(|e| e.schema == schema),
            "no {schema} example ({what})"
        );
    }
    let created = found
        .iter()
        .find(|e| e.location.contains("post/responses/201"))
        .expect("the create-submission response sample");
    assert_eq!(
        created.value["id"].as_u64(),
        Some(1_152_921_504_621_465_124)
    );
}

#[test]
fn ids_survive_exactly_where_f64_would_round() {
    let json = r#"{"id":1152921504621465124,"productId":14631253285588838}"#;
    let s: types::Submission = serde_json::from_str(json).unwrap();
    assert_eq!(s.id.get(), 1_152_921_504_621_465_124);
    assert_ne!(
        s.id.get() as f64 as u64,
        s.id.get(),
        "this id is one f64 cannot hold"
    );
    assert_eq!(serde_json::to_string(&s).unwrap(), json);
}
