//! Checks responses against `openapi/hardware.yaml` with a real JSON Schema validator: the body
//! of each response must fit the schema the spec gives for its operation and status.

use std::collections::HashMap;

use serde_json::{Value, json};

/// Statuses a gateway may send that the spec does not list (bodies may be anything).
const GATEWAY_STATUSES: [u16; 3] = [502, 503, 504];

/// The spec's response schemas, with validators built on demand.
pub struct Conformance {
    spec: Value,
    validators: HashMap<String, jsonschema::Validator>,
}

impl Conformance {
    /// The checker for the workspace's spec.
    pub fn new() -> Self {
        Self {
            spec: crate::spec(),
            validators: HashMap::new(),
        }
    }

    /// Why a response of `operation` with `status` and `body` does not fit the spec, if it does
    /// not.
    pub fn check(
        &mut self,
        operation: &str,
        status: u16,
        body: Option<&Value>,
    ) -> Result<(), String> {
        let Some(op) = self.operation(operation) else {
            return Err(format!("{operation}: not an operation of the spec"));
        };
        let response = op["responses"].get(status.to_string()).cloned();
        let Some(response) = response else {
            return if GATEWAY_STATUSES.contains(&status) {
                Ok(())
            } else {
                Err(format!("{operation}: status {status} is not in the spec"))
            };
        };
        let response = self.resolve(&response);
        let schema_ref = response
            .pointer("/content/application~1json/schema/$ref")
            .and_then(Value::as_str);
        match (schema_ref, body) {
            (None, None) => Ok(()),
            (None, Some(body)) => Err(format!(
                "{operation} {status}: the spec says no body, got {body}"
            )),
            (Some(schema), None) => Err(format!(
                "{operation} {status}: no JSON body, the spec says {schema}"
            )),
            (Some(schema), Some(body)) => {
                let name = schema.rsplit('/').next().unwrap_or_default().to_owned();
                let validator = self.validator(&name)?;
                let errors: Vec<String> = validator
                    .iter_errors(body)
                    .map(|e| format!("{} at {}", e, e.instance_path()))
                    .collect();
                if errors.is_empty() {
                    Ok(())
                } else {
                    Err(format!(
                        "{operation} {status} does not fit {name}: {}",
                        errors.join("; ")
                    ))
                }
            }
        }
    }

    fn operation(&self, id: &str) -> Option<Value> {
        let paths = self.spec["paths"].as_object()?;
        paths
            .values()
            .filter_map(Value::as_object)
            .flat_map(|item| item.values())
            .find(|op| op["operationId"] == id)
            .cloned()
    }

    fn resolve(&self, value: &Value) -> Value {
        match value
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.strip_prefix('#'))
        {
            Some(pointer) => self.spec.pointer(pointer).cloned().unwrap_or(Value::Null),
            None => value.clone(),
        }
    }

    fn validator(&mut self, name: &str) -> Result<&jsonschema::Validator, String> {
        if !self.validators.contains_key(name) {
            let root = json!({
                "$ref": format!("#/components/schemas/{name}"),
                "components": json_schema(&self.spec["components"]),
            });
            let validator =
                jsonschema::validator_for(&root).map_err(|e| format!("schema {name}: {e}"))?;
            self.validators.insert(name.to_owned(), validator);
        }
        Ok(&self.validators[name])
    }
}

/// `value` with OpenAPI 3.0's `nullable: true` written as JSON Schema has it, which the
/// validator reads: the schema, or `null`.
fn json_schema(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut converted: serde_json::Map<String, Value> = map
                .iter()
                .filter(|(key, v)| !(key.as_str() == "nullable" && v.is_boolean()))
                .map(|(key, v)| (key.clone(), json_schema(v)))
                .collect();
            if map.get("nullable") == Some(&Value::Bool(true)) {
                let description = converted.remove("description");
                let mut either = json!({"anyOf": [converted, {"type": "null"}]});
                if let Some(description) = description {
                    either["description"] = description;
                }
                either
            } else {
                Value::Object(converted)
            }
        }
        Value::Array(items) => Value::Array(items.iter().map(json_schema).collect()),
        other => other.clone(),
    }
}

impl Default for Conformance {
    fn default() -> Self {
        Self::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_nullable_schema_admits_null_and_only_then() {
        let nullable = json!({"allOf": [{"type": "string"}], "nullable": true});
        let validator = jsonschema::validator_for(&json_schema(&nullable)).unwrap();
        assert!(validator.is_valid(&json!(null)));
        assert!(validator.is_valid(&json!("a")));
        assert!(!validator.is_valid(&json!(1)));
        let plain = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        let validator = jsonschema::validator_for(&json_schema(&plain)).unwrap();
        assert!(!validator.is_valid(&json!({"a": null})));
    }
}
