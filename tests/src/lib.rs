//! Helpers shared by the workspace-level black-box tests (the `[[test]]` targets of this
//! package): the spec and its examples, conformance of responses to the spec, a simulator
//! that checks its own responses, Azurite, a forward proxy, and the tidy checks of the
//! architecture (`tidy/`).

pub mod azurite;
pub mod cabextract;
pub mod conformance;
pub mod debian;
pub mod metadata;
pub mod proxy;
pub mod signing;
pub mod sim;
pub mod squid;
pub mod tempdir;
pub mod tidy;

use std::path::PathBuf;

/// The workspace root.
pub fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(PathBuf::from)
        .expect("tests/ has a parent")
}

/// Where the tests keep the tools they install (Azurite, cabextract): `<target>/tools`, beside
/// the profile folder this test binary was built into (`<target>/<profile>/deps/<test>`).
pub fn tools_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.ancestors().nth(3).map(std::path::Path::to_path_buf))
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("tools")
}

/// A tool installed once into `<target>/tools/<name>`: `install` fills that folder, under a
/// file lock (test binaries run in parallel), unless the folder records that `pins` were
/// installed and holds `ready`. Returns the folder.
pub fn install_tool(
    name: &str,
    pins: &[u8],
    ready: &str,
    install: impl FnOnce(&std::path::Path) -> Result<(), String>,
) -> Result<PathBuf, String> {
    let tools = tools_dir();
    let dir = tools.join(name);
    let stamp = dir.join("installed-pins");
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let guard = std::fs::File::create(tools.join(format!("{name}.lock")))
        .map_err(|e| format!("{}: {e}", tools.display()))?;
    guard
        .lock()
        .map_err(|e| format!("locking the {name} install: {e}"))?;
    if std::fs::read(&stamp).ok().as_deref() == Some(pins) && dir.join(ready).exists() {
        return Ok(dir);
    }
    install(&dir)?;
    std::fs::write(&stamp, pins).map_err(|e| format!("{}: {e}", stamp.display()))?;
    Ok(dir)
}

/// `openapi/hardware.yaml` as a JSON tree.
pub fn spec() -> serde_json::Value {
    let text = std::fs::read_to_string(workspace_root().join("openapi/hardware.yaml"))
        .expect("the spec is readable");
    serde_norway::from_str(&text).expect("the spec is valid YAML")
}

/// One example of the spec: where it is, the component schema it claims to be, and its value.
#[derive(Debug, Clone)]
pub struct Example {
    /// A JSON-pointer-like location in the spec.
    pub location: String,
    /// The name of the component schema under `components/schemas`.
    pub schema: String,
    /// The example itself.
    pub value: serde_json::Value,
}

/// Every example in the spec: on component schemas, and on request and response bodies
/// (`example` and each `examples.*.value`), with the schema each claims to be.
pub fn examples(spec: &serde_json::Value) -> Vec<Example> {
    let mut found = Vec::new();
    if let Some(schemas) = spec
        .pointer("/components/schemas")
        .and_then(|s| s.as_object())
    {
        for (name, schema) in schemas {
            if let Some(value) = schema.get("example") {
                found.push(Example {
                    location: format!("components/schemas/{name}"),
                    schema: name.clone(),
                    value: value.clone(),
                });
            }
        }
    }
    collect_media_examples(spec, "", &mut found);
    found
}

fn collect_media_examples(node: &serde_json::Value, at: &str, found: &mut Vec<Example>) {
    let Some(map) = node.as_object() else { return };
    if let (Some(schema_ref), true) = (
        map.get("schema")
            .and_then(|s| s.get("$ref"))
            .and_then(|r| r.as_str()),
        map.contains_key("example") || map.contains_key("examples"),
    ) {
        let schema = schema_ref.rsplit('/').next().unwrap_or_default().to_owned();
        if let Some(value) = map.get("example") {
            found.push(Example {
                location: format!("{at}/example"),
                schema: schema.clone(),
                value: value.clone(),
            });
        }
        if let Some(named) = map.get("examples").and_then(|e| e.as_object()) {
            for (name, example) in named {
                let value = example.get("value").cloned().unwrap_or_default();
                found.push(Example {
                    location: format!("{at}/examples/{name}"),
                    schema: schema.clone(),
                    value,
                });
            }
        }
    }
    for (key, child) in map {
        if key == "schemas" && at == "/components" {
            continue;
        }
        collect_media_examples(child, &format!("{at}/{key}"), found);
    }
}

/// The integers above 2^53 in a JSON text, as written (these are the ids `f64` would round).
pub fn big_integers(json: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut digits = String::new();
    for c in json.chars().chain(std::iter::once(' ')) {
        if c.is_ascii_digit() {
            digits.push(c);
        } else {
            if digits.len() >= 16 && digits.parse::<u64>().is_ok_and(|n| n > 1 << 53) {
                out.push(digits.clone());
            }
            digits.clear();
        }
    }
    out
}

/// Drops object members whose value is `null` or `[]`: the generated types do not write absent
/// options or empty lists, and the service treats those the same as a missing member.
pub fn without_empty_members(value: &serde_json::Value) -> serde_json::Value {
    match value {
        serde_json::Value::Object(map) => serde_json::Value::Object(
            map.iter()
                .filter(|(_, v)| !(v.is_null() || v.as_array().is_some_and(Vec::is_empty)))
                .map(|(k, v)| (k.clone(), without_empty_members(v)))
                .collect(),
        ),
        serde_json::Value::Array(items) => {
            serde_json::Value::Array(items.iter().map(without_empty_members).collect())
        }
        other => other.clone(),
    }
}
