//! Loading `openapi/hardware.yaml`: once as a plain JSON tree (for the lint and the vendor
//! extensions `openapiv3` drops) and once as `openapiv3::OpenAPI` (for progenitor).

use std::path::Path;

use crate::TaskError;

/// The spec as read from disk.
pub struct Spec {
    /// The file's bytes, hashed into the generated header.
    pub text: String,
    /// The whole document as a JSON tree.
    pub tree: serde_json::Value,
}

impl Spec {
    /// Reads and parses the spec at `path`.
    pub fn load(path: &Path) -> Result<Self, TaskError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| TaskError(format!("cannot read {}: {e}", path.display())))?;
        Self::parse(text)
    }

    /// Parses spec text (YAML or JSON).
    pub fn parse(text: String) -> Result<Self, TaskError> {
        let tree: serde_json::Value = serde_norway::from_str(&text)
            .map_err(|e| TaskError(format!("the spec is not valid YAML: {e}")))?;
        Ok(Self { text, tree })
    }

    /// The typed document progenitor consumes. Call only after the lint passed: typify panics on
    /// some defects the lint reports as errors.
    pub fn openapi(&self) -> Result<openapiv3::OpenAPI, TaskError> {
        serde_json::from_value(self.tree.clone())
            .map_err(|e| TaskError(format!("the spec is not an OpenAPI 3.0 document: {e}")))
    }

    /// The schemas under `components/schemas`, in document order.
    pub fn component_schemas(&self) -> impl Iterator<Item = (&str, &serde_json::Value)> {
        self.tree
            .pointer("/components/schemas")
            .and_then(serde_json::Value::as_object)
            .into_iter()
            .flat_map(|schemas| schemas.iter().map(|(name, schema)| (name.as_str(), schema)))
    }

    /// A short hex digest of the spec text, written into the generated header.
    pub fn hash(&self) -> String {
        use sha2::{Digest, Sha256};
        let digest = Sha256::digest(self.text.as_bytes());
        digest.iter().map(|b| format!("{b:02x}")).collect()
    }
}
