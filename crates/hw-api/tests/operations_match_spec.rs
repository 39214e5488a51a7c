//! The client's table of operations agrees with the spec: ids, methods and paths.

#[test]
fn every_client_operation_is_in_the_spec_with_the_same_method_and_path() {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../openapi/hardware.yaml"
    ))
    .unwrap();
    let spec: serde_json::Value = serde_norway::from_str(&text).unwrap();
    for (id, method, path, idempotent) in hw_api::operations() {
        let op = &spec["paths"][path][method.to_ascii_lowercase()];
        assert_eq!(op["operationId"], id, "{method} {path}");
        assert_eq!(
            idempotent,
            method != "POST",
            "{id}: only POST creates are non-idempotent so far"
        );
    }
}
