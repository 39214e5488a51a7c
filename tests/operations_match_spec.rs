//! The client's table of operations agrees with the spec: every operation of the spec is there,
//! with the same method and path, and only creates are treated as unsafe to repeat.

#[test]
fn every_spec_operation_is_in_the_client_with_its_method_and_path() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../openapi/hardware.yaml"
    ))
    .unwrap();
    let spec: serde_json::Value = serde_norway::from_str(&text).unwrap();
    let client = hw_api::operations();
    let mut in_spec = Vec::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, op) in item.as_object().unwrap() {
            let Some(id) = op.get("operationId").and_then(|v| v.as_str()) else {
                continue;
            };
            in_spec.push(id.to_owned());
            let known = client.iter().find(|(cid, ..)| *cid == id);
            let Some((_, cmethod, cpath, idempotent)) = known else {
                panic!("{id} ({method} {path}) has no method in hw-api");
            };
            assert_eq!(cmethod.to_ascii_lowercase(), *method, "{id}");
            assert_eq!(cpath, path, "{id}");
            let creates = [
                "createProduct",
                "createSubmission",
                "commitSubmission",
                "createShippingLabel",
                "updateShippingLabel",
                "uploadPreprodPackage",
            ];
            assert_eq!(
                !idempotent,
                creates.contains(&id),
                "{id}: only creates (and the label update) may not be repeated"
            );
        }
    }
    for (id, ..) in &client {
        assert!(in_spec.iter().any(|s| s == id), "{id} is not in the spec");
    }
}
