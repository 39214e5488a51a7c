//! The tolerant reader, held for every response schema of the spec: a sample of each built from
//! the schema (every property, at every depth), then each property nulled, left out and given
//! a value of another type, one at a time, and decoded as the operation's type. Only the fields
//! `needed.rs` names may fail, each with its own JSON path; everything else decodes, and every
//! needed value the sample held is still there.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value, json};

use crate::decode::success;
use hw_api_gen::types;

/// The spec, as JSON.
fn spec() -> Value {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi/hardware.yaml");
    let text = std::fs::read_to_string(path).expect("the spec is readable");
    serde_norway::from_str(&text).expect("the spec is YAML")
}

/// A sample of `schema`: every property, an array with one item, the schema's example or a
/// value of its type and format for a leaf.
fn sample(spec: &Value, schema: &Value, depth: usize) -> Value {
    assert!(depth < 40, "the spec's schemas nest too deep: {schema}");
    if let Some(reference) = schema["$ref"].as_str() {
        let name = reference.rsplit('/').next().unwrap();
        return sample(spec, &spec["components"]["schemas"][name], depth + 1);
    }
    for combined in ["allOf", "oneOf", "anyOf"] {
        if let Some(first) = schema[combined].as_array().and_then(|all| all.first()) {
            return sample(spec, first, depth + 1);
        }
    }
    match schema["type"].as_str() {
        Some("object") | None if schema["properties"].is_object() => {
            let mut object = Map::new();
            for (name, property) in schema["properties"].as_object().unwrap() {
                object.insert(name.clone(), sample(spec, property, depth + 1));
            }
            Value::Object(object)
        }
        Some("array") => json!([sample(spec, &schema["items"], depth + 1)]),
        _ if !schema["example"].is_null() => schema["example"].clone(),
        _ if schema["enum"].is_array() => schema["enum"][0].clone(),
        Some("string") => match schema["format"].as_str() {
            Some("date-time") => json!("2026-08-05T10:00:00Z"),
            Some("uuid") => json!("4e4a8b2f-7d1c-4f5e-9a3b-2c6d8e0f1a2b"),
            _ => json!("sample text"),
        },
        Some("integer") => json!(7),
        Some("number") => json!(1.5),
        Some("boolean") => json!(true),
        _ => json!({}),
    }
}

/// A value of another type than `value`'s.
fn mistyped(value: &Value) -> Value {
    match value {
        Value::String(_) => json!(12345),
        Value::Number(_) => json!("not a number"),
        Value::Bool(_) => json!("yes"),
        Value::Array(_) => json!("not a list"),
        Value::Object(_) => json!(["not", "an", "object"]),
        Value::Null => json!(1),
    }
}

/// Every path to a value in `tree` (the root excluded), as steps: a key or an index.
fn paths(tree: &Value, prefix: &mut Vec<Value>, out: &mut Vec<Vec<Value>>) {
    match tree {
        Value::Object(map) => {
            for (key, child) in map {
                prefix.push(json!(key));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                prefix.push(json!(i));
                out.push(prefix.clone());
                paths(child, prefix, out);
                prefix.pop();
            }
        }
        _ => {}
    }
}

/// `steps` as `needed.rs` writes paths.
fn pattern(steps: &[Value]) -> String {
    let mut out = String::new();
    for step in steps {
        match step {
            Value::String(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            _ => out.push_str("[]"),
        }
    }
    out
}

/// The value at `pattern` in `tree`, taking the first item of every array.
fn at<'a>(tree: &'a Value, pattern: &str) -> Option<&'a Value> {
    let mut current = tree;
    for part in pattern.split('.') {
        let (key, indexed) = match part.strip_suffix("[]") {
            Some(key) => (key, true),
            None => (part, false),
        };
        if !key.is_empty() {
            current = current.get(key)?;
        }
        if indexed {
            current = current.get(0)?;
        }
    }
    (!current.is_null()).then_some(current)
}

/// `tree` with the value at `steps` replaced by `with` (`None`: left out).
fn mutated(tree: &Value, steps: &[Value], with: Option<Value>) -> Value {
    let mut copy = tree.clone();
    let (last, parents) = steps.split_last().unwrap();
    let mut parent = &mut copy;
    for step in parents {
        parent = match step {
            Value::String(key) => parent.get_mut(key.as_str()).unwrap(),
            _ => parent.get_mut(step.as_u64().unwrap() as usize).unwrap(),
        };
    }
    match (last, with) {
        (Value::String(key), Some(value)) => {
            parent[key.as_str()] = value;
        }
        (Value::String(key), None) => {
            parent.as_object_mut().unwrap().remove(key);
        }
        (index, Some(value)) => parent[index.as_u64().unwrap() as usize] = value,
        (index, None) => {
            parent
                .as_array_mut()
                .unwrap()
                .remove(index.as_u64().unwrap() as usize);
        }
    }
    copy
}

/// Decodes `body` as `T` for `operation`: the value as JSON again, or the failure's path.
fn decode<T: DeserializeOwned + serde::Serialize>(
    body: &Value,
    operation: &str,
) -> Result<Value, String> {
    let bytes = serde_json::to_vec(body).unwrap();
    success::<T>(&bytes, operation)
        .map(|value| serde_json::to_value(value).unwrap())
        .map_err(|mismatch| format!("{} ({})", mismatch.path, mismatch.message))
}

/// Holds the rule for the response schema `schema` of `operation`, decoded as `T`; returns how
/// many variants were tried.
fn holds<T: DeserializeOwned + serde::Serialize>(
    spec: &Value,
    schema: &str,
    operation: &str,
) -> usize {
    let needed = crate::needed::of(operation);
    let whole = sample(
        spec,
        &json!({ "$ref": format!("#/components/schemas/{schema}") }),
        0,
    );
    // Whatever else an operation's callers need, its ids and its list's items always are: a
    // list is never silently short, an item never without its id.
    for (path, also) in [("id", "id"), ("value", "value[]"), ("value", "value[].id")] {
        if at(&whole, path).is_some() {
            assert!(
                crate::needed::names(&needed, also),
                "{operation} must need {also}"
            );
        }
    }
    if whole.is_array() {
        for also in ["[]", "[].id"] {
            assert!(
                crate::needed::names(&needed, also),
                "{operation} must need {also}"
            );
        }
    }
    let decoded = decode::<T>(&whole, operation)
        .unwrap_or_else(|e| panic!("{schema}: the sample does not decode: {e}\n{whole:#}"));
    for path in &needed {
        assert!(
            at(&decoded, path).is_some() || at(&whole, path).is_none(),
            "{schema}: {path} is lost from the sample"
        );
    }
    let mut all = Vec::new();
    paths(&whole, &mut Vec::new(), &mut all);
    let mut tried = 0;
    for steps in &all {
        let name = pattern(steps);
        let original = {
            let mut v = &whole;
            for step in steps {
                v = match step {
                    Value::String(key) => &v[key.as_str()],
                    _ => &v[step.as_u64().unwrap() as usize],
                };
            }
            v.clone()
        };
        for (what, with) in [
            ("null", Some(Value::Null)),
            ("left out", None),
            ("mistyped", Some(mistyped(&original))),
        ] {
            tried += 1;
            let body = mutated(&whole, steps, with);
            match decode::<T>(&body, operation) {
                Ok(kept) => {
                    // The rest of the item is kept: every needed value not under the
                    // changed one is still there.
                    for path in needed
                        .iter()
                        .filter(|p| !p.starts_with(&name) && !name.starts_with(p.as_str()))
                    {
                        assert!(
                            at(&kept, path).is_some() || at(&body, path).is_none(),
                            "{schema}: {name} {what} lost {path}"
                        );
                    }
                }
                Err(failure) => {
                    let failed = failure.split(' ').next().unwrap_or_default();
                    let failed = failed
                        .split('[')
                        .map(|part| {
                            part.split_once(']')
                                .map_or(part.to_owned(), |(_, rest)| format!("[]{rest}"))
                        })
                        .collect::<String>();
                    assert!(
                        crate::needed::names(&needed, &name) && failed == name,
                        "{schema}: {name} {what} failed the whole answer: {failure}"
                    );
                }
            }
        }
    }
    tried
}

#[test]
fn every_response_schema_reads_tolerantly() {
    let spec = spec();
    let mut tried = 0;
    tried += holds::<types::Product>(&spec, "Product", "getProduct");
    tried += holds::<types::ProductList>(&spec, "ProductList", "listProducts");
    tried += holds::<types::Submission>(&spec, "Submission", "getSubmission");
    tried += holds::<types::Submission>(&spec, "Submission", "getPartnerSubmission");
    tried += holds::<types::SubmissionList>(&spec, "SubmissionList", "listSubmissions");
    tried += holds::<types::ShippingLabel>(&spec, "ShippingLabel", "getShippingLabel");
    tried += holds::<types::ShippingLabelList>(&spec, "ShippingLabelList", "listShippingLabels");
    tried += holds::<types::AudienceList>(&spec, "AudienceList", "listAudiences");
    tried += holds::<types::PreprodPackage>(&spec, "PreprodPackage", "getPreprodPackage");
    tried += holds::<types::PreprodAsset>(&spec, "PreprodAsset", "getPreprodAsset");
    tried += holds::<types::PreprodAssetList>(&spec, "PreprodAssetList", "listPreprodAssets");
    assert!(tried > 1000, "only {tried} variants");
}

/// Every JSON answer of the spec is held above: a response schema added to the spec without
/// a line there fails here.
#[test]
fn the_test_above_covers_every_json_answer_of_the_spec() {
    let spec = spec();
    let covered = [
        "Product",
        "ProductList",
        "Submission",
        "SubmissionList",
        "ShippingLabel",
        "ShippingLabelList",
        "AudienceList",
        "PreprodPackage",
        "PreprodAsset",
        "PreprodAssetList",
    ];
    for (path, operations) in spec["paths"].as_object().unwrap() {
        for (method, operation) in operations.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().into_iter().flatten() {
                if !status.starts_with('2') {
                    continue;
                }
                if let Some(reference) =
                    response["content"]["application/json"]["schema"]["$ref"].as_str()
                {
                    let name = reference.rsplit('/').next().unwrap();
                    assert!(
                        covered.contains(&name),
                        "{method} {path} answers {name}, which the tolerance test does not hold"
                    );
                }
            }
        }
    }
}
