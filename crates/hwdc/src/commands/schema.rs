//! `hwdc schema`: the JSON Schema of what each command prints with `--output json`, and of the
//! files hwdc reads (the batch manifest, the configuration file). `docs/schemas/` holds them
//! all, written by `cargo xtask schemas`; a test fails when they drift from the types, and
//! another validates what every command prints against them.

use hw_api::types as api;
use schemars::JsonSchema;
use schemars::schema::RootSchema;

use super::Ctx;
use crate::exit::{ErrorEnvelope, Failure};
use crate::output::Versioned;
use crate::results::*;

/// A JSON contract: a name, what prints it, and its schema.
pub(crate) struct Contract {
    /// The name (`hwdc schema NAME`; `docs/schemas/NAME.json`).
    pub name: &'static str,
    /// What prints it, or reads it.
    pub about: &'static str,
    schema: fn() -> RootSchema,
}

impl Contract {
    /// The JSON Schema (draft 7), as printed.
    pub(crate) fn text(&self) -> String {
        let mut root = (self.schema)();
        root.schema.metadata().title = Some(self.name.to_owned());
        root.schema.metadata().description = Some(self.about.to_owned());
        let mut text = serde_json::to_string_pretty(&root).unwrap_or_default();
        text.push('\n');
        text
    }
}

fn generator() -> schemars::r#gen::SchemaGenerator {
    schemars::r#gen::SchemaSettings::draft07().into_generator()
}

/// An object printed with its `schema_version`.
fn object<T: JsonSchema>() -> RootSchema {
    generator().into_root_schema_for::<Versioned<T>>()
}

/// A list, printed as one array of objects with their `schema_version`.
fn list<T: JsonSchema>() -> RootSchema {
    generator().into_root_schema_for::<Vec<Versioned<T>>>()
}

/// A document as it is, without `schema_version` (a file hwdc reads, the error envelope).
fn plain<T: JsonSchema>() -> RootSchema {
    generator().into_root_schema_for::<T>()
}

macro_rules! contracts {
    ($($name:literal, $about:literal => $make:ident::<$ty:ty>;)*) => {
        /// Every contract, by name.
        pub(crate) const CONTRACTS: &[Contract] = &[
            $(Contract { name: $name, about: $about, schema: $make::<$ty> },)*
        ];
    };
}

contracts! {
    "product", "products get, products create" => object::<api::Product>;
    "products", "products list" => list::<api::Product>;
    "product-updated", "products update" => object::<ProductUpdated>;
    "submission", "submissions get, submissions create, submissions wait" => object::<api::Submission>;
    "submissions", "submissions list" => list::<api::Submission>;
    "submission-updated", "submissions update" => object::<SubmissionUpdated>;
    "submission-status", "submissions status" => object::<hw_api::SubmissionStatus>;
    "committed", "submissions commit" => object::<Committed>;
    "metadata-requested", "submissions metadata" => object::<MetadataRequested>;
    "translated", "submissions translate" => object::<Translated>;
    "uploaded", "upload" => object::<Uploaded>;
    "downloaded", "download" => object::<Downloaded>;
    "label", "labels get, labels create, labels wait" => object::<api::ShippingLabel>;
    "labels", "labels list" => list::<api::ShippingLabel>;
    "label-updated", "labels update" => object::<LabelUpdated>;
    "label-cancelled", "labels cancel" => object::<LabelCancelled>;
    "audiences", "audiences list" => list::<api::Audience>;
    "preprod-package", "preprod get, preprod wait" => object::<api::PreprodPackage>;
    "preprod-assets", "preprod assets" => list::<api::PreprodAsset>;
    "preprod-result", "preprod submit, preprod download" => object::<PreprodResult>;
    "submit", "submit" => object::<Submitted>;
    "batch", "batch: the summary, one entry each" => list::<crate::commands::batch::EntryOutcome>;
    "findings", "check: every finding" => list::<hw_package::driver_check::Finding>;
    "package", "package" => object::<Packaged>;
    "verify", "verify" => object::<hw_package::verify::Verification>;
    "os-codes", "os-codes" => list::<hw_api::os_codes::OsCodeInfo>;
    "doctor", "doctor: one line a check" => list::<crate::commands::doctor::Finding>;
    "config-path", "config path" => object::<ConfigPath>;
    "config-init", "config init" => object::<ProfileWritten>;
    "config-show", "config show" => object::<ConfigShown>;
    "demo", "demo" => object::<DemoResult>;
    "error", "any command's failure, on standard error" => plain::<ErrorEnvelope>;
    "manifest", "the batch manifest (TOML), as read" => plain::<crate::commands::batch::Manifest>;
    "profile", "the configuration file (TOML: [profile.NAME] tables), as read" => plain::<crate::config::File>;
}

/// The contract named `name`.
pub(crate) fn contract(name: &str) -> Option<&'static Contract> {
    CONTRACTS.iter().find(|c| c.name == name)
}

/// Runs `schema`: the schema named, or the list of names.
pub(crate) async fn run(ctx: &Ctx, name: Option<String>) -> Result<(), Failure> {
    let Some(name) = name else {
        let rows = CONTRACTS.iter().map(|c| {
            Ok(Named {
                name: c.name,
                about: c.about,
            })
        });
        ctx.out.list(futures_util::stream::iter(rows), None).await?;
        return Ok(());
    };
    let Some(found) = contract(&name) else {
        let names: Vec<&str> = CONTRACTS.iter().map(|c| c.name).collect();
        return Err(Failure::Local {
            kind: hw_api::ErrorKind::Config,
            message: format!(
                "no schema is named {name:?}; the names: {}",
                names.join(", ")
            ),
        });
    };
    crate::output::emit(&found.text());
    Ok(())
}

/// One name `schema` lists.
#[derive(serde::Serialize)]
struct Named {
    name: &'static str,
    about: &'static str,
}

impl crate::output::Row for Named {
    const COLUMNS: &'static [(&'static str, usize)] = &[("NAME", 20), ("PRINTED BY", 0)];

    fn cells(&self) -> Vec<String> {
        vec![self.name.to_owned(), self.about.to_owned()]
    }
}
