//! A lint of the spec for the things progenitor and typify silently mishandle or panic on
//! (`docs/service-notes.md`, "Progenitor: spec rules" and "Progenitor: enums"). Each rule names
//! where it failed.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::TaskError;
use crate::open_enums;
use crate::spec::Spec;

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Runs every rule; the error lists every problem found, one per line.
pub fn check(spec: &Spec) -> Result<(), TaskError> {
    let mut problems = Vec::new();
    version(&spec.tree, &mut problems);
    operations(&spec.tree, &mut problems);
    schema_shapes(&spec.tree, &mut problems);
    references(&spec.tree, &mut problems);
    if let Err(e) = open_enums::collect(spec) {
        problems.push(e.0);
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(TaskError(format!(
            "the spec has {} problem(s):\n  - {}",
            problems.len(),
            problems.join("\n  - ")
        )))
    }
}

fn version(tree: &Value, problems: &mut Vec<String>) {
    match tree.get("openapi").and_then(Value::as_str) {
        Some(v) if v.starts_with("3.0.") => {}
        Some(v) => problems.push(format!(
            "openapi: version {v:?} is not 3.0.x (progenitor reads only OpenAPI 3.0)"
        )),
        None => problems.push("openapi: the version field is missing".into()),
    }
}

fn operations(tree: &Value, problems: &mut Vec<String>) {
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    let Some(paths) = tree.get("paths").and_then(Value::as_object) else {
        problems.push("paths: missing".into());
        return;
    };
    for (path, item) in paths {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let at = format!("paths.{path}.{method}");
            match op.get("operationId").and_then(Value::as_str) {
                None | Some("") => problems.push(format!("{at}: missing operationId")),
                Some(id) => {
                    if let Some(other) = seen.insert(id.to_owned(), at.clone()) {
                        problems.push(format!("{at}: operationId {id:?} is also used by {other}"));
                    }
                }
            }
            if let Some(body) = op.get("requestBody") {
                let body = resolve(tree, body);
                let media = body.get("content").and_then(Value::as_object);
                if media.is_some_and(|m| m.len() != 1) {
                    problems.push(format!(
                        "{at}.requestBody: exactly one media type is supported (progenitor panics on more)"
                    ));
                }
                named_body_schemas(body, &format!("{at}.requestBody"), problems);
            }
            responses(tree, op, &at, problems);
        }
    }
}

fn responses(tree: &Value, op: &Value, at: &str, problems: &mut Vec<String>) {
    let Some(responses) = op.get("responses").and_then(Value::as_object) else {
        problems.push(format!("{at}: no responses"));
        return;
    };
    let mut success = BTreeSet::new();
    let mut failure = BTreeSet::new();
    for (code, response) in responses {
        let here = format!("{at}.responses.{code}");
        if code == "default" {
            problems.push(format!(
                "{here}: a `default` response counts as success and error at once; list the codes"
            ));
            continue;
        }
        let response = resolve(tree, response);
        named_body_schemas(response, &here, problems);
        let body = body_ref(response);
        if code.starts_with('2') {
            success.insert(body);
        } else {
            failure.insert(body);
        }
    }
    if success.is_empty() {
        problems.push(format!("{at}: no 2xx response"));
    }
    if success.len() > 1 {
        problems.push(format!(
            "{at}: the 2xx responses have different bodies {success:?}"
        ));
    }
    if failure.len() > 1 {
        problems.push(format!(
            "{at}: the error responses have different bodies {failure:?} (progenitor panics)"
        ));
    }
}

/// The body schema reference of a response, or `"(no body)"`.
fn body_ref(response: &Value) -> String {
    response
        .get("content")
        .and_then(Value::as_object)
        .and_then(|m| m.values().next())
        .and_then(|media| media.pointer("/schema/$ref"))
        .and_then(Value::as_str)
        .unwrap_or("(no body)")
        .to_owned()
}

fn named_body_schemas(holder: &Value, at: &str, problems: &mut Vec<String>) {
    let Some(content) = holder.get("content").and_then(Value::as_object) else {
        return;
    };
    for (media, value) in content {
        let Some(schema) = value.get("schema") else {
            continue;
        };
        let is_ref = schema
            .as_object()
            .is_some_and(|o| o.len() == 1 && o.contains_key("$ref"));
        if !is_ref {
            problems.push(format!(
                "{at}.content.{media}.schema: inline body schema; use a $ref to a named component (inline names collide)"
            ));
        }
    }
}

/// Calls `visit` with every object of the document (examples skipped) and its location
/// (`components.schemas.Thing.properties.kind`).
fn walk_objects(
    value: &Value,
    at: &str,
    visit: &mut dyn FnMut(&serde_json::Map<String, Value>, &str),
) {
    match value {
        Value::Object(map) => {
            visit(map, at.trim_start_matches('.'));
            for (key, child) in map {
                if key != "example" && key != "examples" {
                    walk_objects(child, &format!("{at}.{key}"), visit);
                }
            }
        }
        Value::Array(items) => {
            for (i, child) in items.iter().enumerate() {
                walk_objects(child, &format!("{at}[{i}]"), visit);
            }
        }
        _ => {}
    }
}

/// Flags an `enum` anywhere but at the top of a component schema, and
/// `additionalProperties: true`, which typify treats as "ignore unknown fields".
fn schema_shapes(tree: &Value, problems: &mut Vec<String>) {
    walk_objects(tree, "", &mut |map, at| {
        if map.get("additionalProperties") == Some(&Value::Bool(true)) {
            problems.push(format!(
                "{at}: `additionalProperties: true` makes typify drop unknown fields; write `additionalProperties: {{}}` to keep them"
            ));
        }
        let top_component = at.starts_with("components.schemas.") && at.matches('.').count() == 2;
        if map.contains_key("enum") && !top_component && !at.starts_with("servers") {
            problems.push(format!(
                "{at}: inline enum; make it a named schema under components/schemas"
            ));
        }
    });
}

/// Flags a `$ref` that is not local or points nowhere (typify panics on those).
fn references(tree: &Value, problems: &mut Vec<String>) {
    walk_objects(tree, "", &mut |map, at| {
        if let Some(target) = map.get("$ref").and_then(Value::as_str) {
            let found = target
                .strip_prefix('#')
                .and_then(|pointer| tree.pointer(pointer));
            if found.is_none() {
                problems.push(format!("{at}: $ref {target:?} does not resolve"));
            }
        }
    });
}

/// Follows a local `$ref`, if the value is one.
fn resolve<'a>(root: &'a Value, value: &'a Value) -> &'a Value {
    value
        .get("$ref")
        .and_then(Value::as_str)
        .and_then(|r| r.strip_prefix('#'))
        .and_then(|pointer| root.pointer(pointer))
        .unwrap_or(value)
}
