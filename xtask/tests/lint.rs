//! The spec lint catches what progenitor would silently mishandle or panic on.

use xtask::{lint, spec::Spec, workspace_root};

/// A minimal valid spec; each test breaks one thing with `patch`.
fn spec_with(patch: impl FnOnce(&mut serde_json::Value)) -> Result<(), String> {
    let mut tree = serde_json::json!({
        "openapi": "3.0.3",
        "info": {"title": "t", "version": "1"},
        "paths": {
            "/things/{id}": {
                "get": {
                    "operationId": "getThing",
                    "parameters": [{"name": "id", "in": "path", "required": true, "schema": {"type": "integer"}}],
                    "responses": {
                        "200": {"description": "ok", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Thing"}}}},
                        "404": {"description": "no", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
                    }
                }
            }
        },
        "components": {"schemas": {
            "Thing": {"type": "object", "additionalProperties": {}, "properties": {"kind": {"$ref": "#/components/schemas/Kind"}}},
            "Kind": {"type": "string", "enum": ["a", "b"]},
            "Problem": {"type": "object", "properties": {"message": {"type": "string"}}}
        }}
    });
    patch(&mut tree);
    let spec = Spec::parse(serde_json::to_string(&tree).unwrap()).unwrap();
    lint::check(&spec).map_err(|e| e.0)
}

fn fails_with(patch: impl FnOnce(&mut serde_json::Value), needle: &str) {
    let err = spec_with(patch).expect_err("the lint should fail");
    assert!(err.contains(needle), "expected {needle:?} in:\n{err}");
}

#[test]
fn the_minimal_spec_and_the_real_spec_pass() {
    spec_with(|_| {}).unwrap();
    let spec = Spec::load(&workspace_root().join(xtask::SPEC_PATH)).unwrap();
    lint::check(&spec).unwrap();
}

#[test]
fn missing_operation_id() {
    fails_with(
        |t| {
            t["paths"]["/things/{id}"]["get"]
                .as_object_mut()
                .unwrap()
                .remove("operationId");
        },
        "paths./things/{id}.get: missing operationId",
    );
}

#[test]
fn duplicate_operation_id() {
    fails_with(
        |t| {
            let op = t["paths"]["/things/{id}"]["get"].clone();
            t["paths"]["/other"] = serde_json::json!({"get": op});
        },
        "operationId \"getThing\" is also used by",
    );
}

#[test]
fn inline_response_schema() {
    fails_with(
        |t| {
            t["paths"]["/things/{id}"]["get"]["responses"]["200"]["content"]["application/json"]
                ["schema"] =
                serde_json::json!({"type": "object", "properties": {"x": {"type": "string"}}});
        },
        "responses.200.content.application/json.schema: inline body schema",
    );
}

#[test]
fn inline_enum_in_a_property_or_parameter() {
    fails_with(
        |t| {
            t["components"]["schemas"]["Thing"]["properties"]["state"] =
                serde_json::json!({"type": "string", "enum": ["x"]});
        },
        "components.schemas.Thing.properties.state: inline enum",
    );
    fails_with(
        |t| {
            t["paths"]["/things/{id}"]["get"]["parameters"][0]["schema"] =
                serde_json::json!({"type": "string", "enum": ["x"]});
        },
        "parameters[0].schema: inline enum",
    );
}

#[test]
fn openapi_3_1_is_refused() {
    fails_with(
        |t| t["openapi"] = "3.1.0".into(),
        "version \"3.1.0\" is not 3.0.x",
    );
}

#[test]
fn unresolved_reference() {
    fails_with(
        |t| {
            t["components"]["schemas"]["Thing"]["properties"]["kind"]["$ref"] =
                "#/components/schemas/Knd".into()
        },
        "$ref \"#/components/schemas/Knd\" does not resolve",
    );
}

#[test]
fn errors_with_different_bodies_and_default_responses() {
    fails_with(
        |t| {
            t["paths"]["/things/{id}"]["get"]["responses"]["401"] =
                serde_json::json!({"description": "empty"});
        },
        "the error responses have different bodies",
    );
    fails_with(
        |t| {
            t["paths"]["/things/{id}"]["get"]["responses"]["default"] =
                serde_json::json!({"description": "x"});
        },
        "a `default` response",
    );
}

#[test]
fn additional_properties_true_drops_fields() {
    fails_with(
        |t| t["components"]["schemas"]["Thing"]["additionalProperties"] = true.into(),
        "`additionalProperties: true` makes typify drop unknown fields",
    );
}

#[test]
fn enum_values_that_collide() {
    fails_with(
        |t| t["components"]["schemas"]["Kind"]["enum"] = serde_json::json!(["done", "Done"]),
        "differ only in case",
    );
    fails_with(
        |t| t["components"]["schemas"]["Kind"]["enum"] = serde_json::json!(["other"]),
        "not usable; name it with `x-enum-varnames`",
    );
}
