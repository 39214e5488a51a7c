//! Open enumerations: every string enum under `components/schemas` becomes a Rust enum with a
//! catch-all `Other(String)` variant instead of typify's closed enum.
//!
//! Hand-written because progenitor/typify fall short here: a closed enum fails the whole response
//! on a value the service added later, and `TypePatch` cannot add a catch-all variant (see
//! `docs/service-notes.md`, "Progenitor: enums"). We tell progenitor to use a replacement type for
//! each such schema and inject an `open_enum!` invocation (the macro lives in `hw-api-gen`) into
//! the generated `types` module.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};

use crate::TaskError;
use crate::spec::Spec;

/// The name of the catch-all variant; no known value may take it.
pub const CATCH_ALL: &str = "Other";

/// One string enum of the spec.
#[derive(Debug, Clone)]
pub struct OpenEnum {
    /// The schema (and Rust type) name.
    pub name: String,
    /// The schema's description.
    pub description: Option<String>,
    /// The known values, in spec order.
    pub variants: Vec<Variant>,
}

/// One known value of an [`OpenEnum`].
#[derive(Debug, Clone)]
pub struct Variant {
    /// The Rust variant name.
    pub ident: String,
    /// The canonical wire value.
    pub wire: String,
    /// What the value means, if the spec says.
    pub description: Option<String>,
}

/// Collects every string enum under `components/schemas`, checking that each can be an open enum.
pub fn collect(spec: &Spec) -> Result<Vec<OpenEnum>, TaskError> {
    let mut enums = Vec::new();
    let mut problems = Vec::new();
    for (name, schema) in spec.component_schemas() {
        let Some(values) = schema.get("enum").and_then(|v| v.as_array()) else {
            continue;
        };
        match build(name, schema, values) {
            Ok(e) => enums.push(e),
            Err(p) => problems.extend(p),
        }
    }
    if problems.is_empty() {
        Ok(enums)
    } else {
        Err(TaskError(problems.join("\n")))
    }
}

fn build(
    name: &str,
    schema: &serde_json::Value,
    values: &[serde_json::Value],
) -> Result<OpenEnum, Vec<String>> {
    let mut problems = Vec::new();
    if schema.get("type").and_then(|t| t.as_str()) != Some("string") {
        problems.push(format!(
            "components/schemas/{name}: an enum must have `type: string`"
        ));
    }
    let strings = |key: &str| -> Option<Vec<String>> {
        schema.get(key).and_then(|v| v.as_array()).map(|a| {
            a.iter()
                .map(|v| v.as_str().unwrap_or_default().to_owned())
                .collect()
        })
    };
    let names = strings("x-enum-varnames");
    let descriptions = strings("x-enum-descriptions");
    for (key, list) in [
        ("x-enum-varnames", &names),
        ("x-enum-descriptions", &descriptions),
    ] {
        if list.as_ref().is_some_and(|l| l.len() != values.len()) {
            problems.push(format!(
                "components/schemas/{name}: `{key}` must have one entry per enum value"
            ));
        }
    }
    let mut variants: Vec<Variant> = Vec::new();
    for (i, value) in values.iter().enumerate() {
        let Some(wire) = value.as_str() else {
            problems.push(format!(
                "components/schemas/{name}: enum value {value} is not a string"
            ));
            continue;
        };
        let ident = names
            .as_ref()
            .and_then(|n| n.get(i).cloned())
            .unwrap_or_else(|| variant_name(wire));
        if !is_usable_ident(&ident) {
            problems.push(format!(
                "components/schemas/{name}: value {wire:?} gives the variant name `{ident}`, which is not usable; name it with `x-enum-varnames`"
            ));
        }
        for earlier in &variants {
            if earlier.ident == ident {
                problems.push(format!(
                    "components/schemas/{name}: values {:?} and {wire:?} both give the variant `{ident}`",
                    earlier.wire
                ));
            }
            if earlier.wire.eq_ignore_ascii_case(wire) {
                problems.push(format!(
                    "components/schemas/{name}: values {:?} and {wire:?} differ only in case; decoding is case-insensitive",
                    earlier.wire
                ));
            }
        }
        variants.push(Variant {
            ident,
            wire: wire.to_owned(),
            description: descriptions.as_ref().and_then(|d| d.get(i).cloned()),
        });
    }
    if problems.is_empty() {
        Ok(OpenEnum {
            name: name.to_owned(),
            description: schema
                .get("description")
                .and_then(|d| d.as_str())
                .map(str::to_owned),
            variants,
        })
    } else {
        Err(problems)
    }
}

/// Turns a wire value into a PascalCase variant name: words split at anything that is not a
/// letter or digit and at lower-to-upper case changes, each word capitalised.
pub fn variant_name(wire: &str) -> String {
    let mut words: Vec<String> = Vec::new();
    let mut current = String::new();
    let mut prev_lower = false;
    for c in wire.chars() {
        if !c.is_ascii_alphanumeric() {
            if !current.is_empty() {
                words.push(std::mem::take(&mut current));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        current.push(c);
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
        .iter()
        .map(|w| {
            let mut chars = w.chars();
            let first = chars.next().map(|c| c.to_ascii_uppercase());
            first
                .into_iter()
                .chain(chars.map(|c| c.to_ascii_lowercase()))
                .collect::<String>()
        })
        .collect()
}

fn is_usable_ident(ident: &str) -> bool {
    let starts_well = ident.chars().next().is_some_and(|c| c.is_ascii_uppercase());
    let chars_ok = ident.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    starts_well && chars_ok && ident != CATCH_ALL && ident != "Self"
}

/// The `open_enum!` invocation that defines `e` inside the generated `types` module.
pub fn tokens(e: &OpenEnum) -> TokenStream {
    let name = format_ident!("{}", e.name);
    let doc = e
        .description
        .clone()
        .unwrap_or_else(|| format!("The `{}` enumeration of the API.", e.name));
    let variants = e.variants.iter().map(|v| {
        let ident = format_ident!("{}", v.ident);
        let wire = &v.wire;
        let vdoc = v.description.clone().unwrap_or_else(|| format!("`{wire}`"));
        quote! {
            #[doc = #vdoc]
            #ident = #wire,
        }
    });
    quote! {
        crate::open_enum! {
            #[doc = #doc]
            #name {
                #(#variants)*
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::variant_name;

    #[test]
    fn variant_names_are_pascal_case() {
        assert_eq!(variant_name("internalExternal"), "InternalExternal");
        assert_eq!(
            variant_name("WINDOWS_v100_X64_TH1_FULL"),
            "WindowsV100X64Th1Full"
        );
        assert_eq!(
            variant_name("Windows_v100Server_RS1"),
            "WindowsV100ServerRs1"
        );
        assert_eq!(
            variant_name("Graphics Adapter WDDM1.2 DisplayOnly"),
            "GraphicsAdapterWddm12DisplayOnly"
        );
        assert_eq!(variant_name("LAN (Server)"), "LanServer");
        assert_eq!(variant_name("Ultra-Mobile PC"), "UltraMobilePc");
    }
}
