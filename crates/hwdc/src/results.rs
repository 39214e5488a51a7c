//! The results of hwdc's actions, as types whose JSON Schemas (`schemars`) are the contract
//! scripts rely on (`commands::schema` names them all). The types of the API's resources, the
//! findings, the batch summary and the error are their own modules'.

use std::collections::BTreeMap;
use std::path::PathBuf;

use schemars::JsonSchema;
use serde::Serialize;

/// `products update`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct ProductUpdated {
    /// The product id.
    pub product: u64,
    /// Always true when printed.
    pub updated: bool,
}

/// `submissions update`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct SubmissionUpdated {
    /// The submission id.
    pub submission: u64,
    /// Always true when printed.
    pub updated: bool,
}

/// `labels update`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct LabelUpdated {
    /// The label id.
    pub label: u64,
    /// Always true when printed.
    pub updated: bool,
}

/// `labels cancel`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct LabelCancelled {
    /// The label id.
    pub label: u64,
    /// Always true when printed: cancellation can take more than a day.
    pub cancel_requested: bool,
}

/// `submissions commit`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Committed {
    /// The product id.
    pub product: u64,
    /// The submission id.
    pub submission: u64,
    /// Always true when printed.
    pub committed: bool,
}

/// `upload`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Uploaded {
    /// The product id.
    pub product: u64,
    /// The submission id.
    pub submission: u64,
    /// The file sent.
    pub file: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256 (hex), when it could be read again.
    pub sha256: Option<String>,
    /// The blob's whole-content MD5 (base64) as stored.
    pub content_md5: Option<String>,
    /// How many blocks it took.
    pub blocks: usize,
    /// How many were already there from an interrupted upload.
    pub blocks_reused: usize,
    /// How many uncommitted blocks of another tool were cleared first.
    pub foreign_blocks_cleared: usize,
}

/// `download`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Downloaded {
    /// The product id.
    pub product: u64,
    /// The submission id.
    pub submission: u64,
    /// Which file (`signed`, `metadata`, `error-report`, `initial`, `derived`).
    pub kind: Option<String>,
    /// Where it was written.
    pub path: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256 (hex), when it could be read again.
    pub sha256: Option<String>,
    /// Where this run started (an interrupted download resumes).
    pub resumed_from: u64,
    /// Whether the whole file matched the MD5 storage keeps for it.
    pub md5_verified: bool,
}

/// `submit`: where the flow got, and the signed package once it is written.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Submitted {
    /// The product id.
    pub product: u64,
    /// The submission id.
    pub submission: u64,
    /// How far the flow got: `uploaded`, `committed`, `signed` (`--until`) or `delivered`.
    pub reached: String,
    /// The journal a later `submit` continues from (when it stopped where `--until` asked).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub journal: Option<PathBuf>,
    /// The signed package (when delivered).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signed_package: Option<PathBuf>,
    /// Its size.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bytes: Option<u64>,
    /// Whether it matched the MD5 storage keeps for it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub md5_verified: Option<bool>,
    /// Its SHA-256 (hex).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// `package`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Packaged {
    /// The cabinet written.
    pub cab: PathBuf,
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256 (hex).
    pub sha256: String,
    /// Its driver folders.
    pub folders: Vec<hw_package::cabinet::FolderSummary>,
    /// What the check found (warnings only, or errors with `--no-check`).
    pub findings: Vec<hw_package::driver_check::Finding>,
}

/// `config path`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct ConfigPath {
    /// The configuration file.
    pub path: PathBuf,
    /// Whether it exists.
    pub exists: bool,
}

/// `config init`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct ProfileWritten {
    /// The configuration file.
    pub path: PathBuf,
    /// The profile written.
    pub profile: String,
    /// Whether the client secret is in it.
    pub client_secret_stored: bool,
}

/// One setting of `config show`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Setting {
    /// Its value (secrets redacted).
    pub value: String,
    /// Where it comes from (a flag, a variable, the profile, a default).
    pub source: String,
}

/// `config show`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct ConfigShown {
    /// The configuration file.
    pub path: PathBuf,
    /// The profile in use.
    pub profile: String,
    /// Each setting, by name.
    pub settings: BTreeMap<String, Setting>,
}

/// `demo`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct DemoResult {
    /// The simulated product's id.
    pub product: u64,
    /// The submission's id.
    pub submission: u64,
    /// The package size.
    pub uploaded_bytes: u64,
    /// How many blocks it took.
    pub blocks: usize,
    /// The signed package's size.
    pub signed_bytes: u64,
    /// Whether it matched its MD5.
    pub md5_verified: bool,
    /// The shipping label's id.
    pub label: u64,
    /// How many hardware ids it targets.
    pub hardware_ids: usize,
}

/// `preprod submit` and `preprod download`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct PreprodResult {
    /// The package id.
    pub package: String,
    /// The signing status last seen.
    pub signing_status: Option<String>,
    /// Whether this run uploaded the file (false: the journal had its package).
    pub uploaded: bool,
    /// The signed files, when written.
    pub out: Option<PathBuf>,
    /// Their size in bytes.
    pub bytes: Option<u64>,
}

/// The partner's ids `submissions translate` was given.
#[derive(Serialize, JsonSchema, Clone, Copy)]
pub(crate) struct PartnerIds {
    /// The partner's seller (publisher) id.
    pub publisher: u64,
    /// The product id in the partner's account.
    pub product: u64,
    /// The submission id in the partner's account.
    pub submission: u64,
}

/// `submissions translate`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct Translated {
    /// The partner's ids, as given.
    pub partner: PartnerIds,
    /// Your product id.
    pub product: u64,
    /// Your submission id.
    pub submission: u64,
    /// The submission's name.
    pub name: Option<String>,
}

/// `submissions metadata`.
#[derive(Serialize, JsonSchema)]
pub(crate) struct MetadataRequested {
    /// The product id.
    pub product: u64,
    /// The submission id.
    pub submission: u64,
    /// Whether the request was accepted (always, when this is printed).
    pub requested: bool,
    /// Whether the submission lists its driver metadata now (checked with `--wait` only).
    pub ready: bool,
}
