//! A readable digest of the generated API surface, snapshotted with insta so that a review of a
//! spec change shows its effect: each operation (method, path, parameters, success and error
//! types) and each type (fields with wire names and types, or enum values).

use std::fmt::Write;

use syn::parse::{Parse, ParseStream};
use syn::{Attribute, Fields, Item, Type};

use crate::TaskError;

/// The digest of `generated.rs` source text.
pub fn digest(source: &str) -> Result<String, TaskError> {
    let file = syn::parse_file(source)
        .map_err(|e| TaskError(format!("generated.rs does not parse: {e}")))?;
    let mut out = String::from("# Operations\n");
    for item in &file.items {
        if let Item::Impl(block) = item
            && block.trait_.is_none()
            && type_name(&block.self_ty) == "Client"
        {
            for member in &block.items {
                if let syn::ImplItem::Fn(f) = member
                    && f.sig.asyncness.is_some()
                {
                    operation(&mut out, f);
                }
            }
        }
    }
    out.push_str("\n# Types\n");
    let types = file
        .items
        .iter()
        .find_map(|item| match item {
            Item::Mod(m) if m.ident == "types" => m.content.as_ref(),
            _ => None,
        })
        .ok_or_else(|| TaskError("generated.rs has no `mod types`".into()))?;
    for item in &types.1 {
        match item {
            Item::Struct(s) => structure(&mut out, s),
            Item::Enum(e) => enumeration(&mut out, e),
            Item::Macro(m)
                if m.mac
                    .path
                    .segments
                    .last()
                    .is_some_and(|s| s.ident == "open_enum") =>
            {
                let parsed: OpenEnumInvocation = m
                    .mac
                    .parse_body()
                    .map_err(|e| TaskError(format!("open_enum! invocation does not parse: {e}")))?;
                let _ = writeln!(out, "\nopen enum {} (unknown values kept):", parsed.name);
                for (variant, wire) in parsed.variants {
                    let _ = writeln!(out, "  {variant} = {wire:?}");
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

fn operation(out: &mut String, f: &syn::ImplItemFn) {
    let request = docs(&f.attrs)
        .into_iter()
        .find_map(|line| {
            let rest = line.trim().strip_prefix("Sends a `")?;
            let (method, rest) = rest.split_once("` request to `")?;
            let path = rest.strip_suffix('`')?;
            Some(format!("{method} {path}"))
        })
        .unwrap_or_else(|| "(no request line in the docs)".into());
    let body = quote::quote!(#f).to_string();
    let _ = writeln!(out, "\n{}: {request}", f.sig.ident);
    for input in &f.sig.inputs {
        if let syn::FnArg::Typed(arg) = input {
            let name = quote::quote!(#arg.pat).to_string();
            let name = name
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_owned();
            let _ = writeln!(out, "  param {name}: {}", render(&arg.ty));
        }
    }
    if let syn::ReturnType::Type(_, ty) = &f.sig.output {
        let args = generic_args(ty);
        if let [ok, err] = args.as_slice() {
            let inner = |t: &Type| {
                generic_args(t)
                    .first()
                    .map(|t| render(t))
                    .unwrap_or_default()
            };
            let (ok_codes, err_codes): (Vec<u16>, Vec<u16>) = statuses(&body)
                .into_iter()
                .partition(|c| (200..300).contains(c));
            let _ = writeln!(out, "  ok: {} {ok_codes:?}", inner(ok));
            let _ = writeln!(out, "  error: {} {err_codes:?}", inner(err));
        }
    }
}

/// The HTTP statuses a generated method matches on (`200u16 => ...` arms).
fn statuses(body: &str) -> Vec<u16> {
    body.match_indices("u16 =>")
        .filter_map(|(at, _)| body.get(at.checked_sub(3)?..at)?.parse().ok())
        .collect()
}

fn structure(out: &mut String, s: &syn::ItemStruct) {
    let _ = writeln!(out, "\nstruct {}:", s.ident);
    let Fields::Named(fields) = &s.fields else {
        let _ = writeln!(out, "  (tuple struct)");
        return;
    };
    for field in &fields.named {
        let rust = field
            .ident
            .as_ref()
            .map(ToString::to_string)
            .unwrap_or_default();
        let serde = serde_args(&field.attrs);
        if serde.iter().any(|a| a == "flatten") {
            let _ = writeln!(
                out,
                "  (other fields kept in `{rust}`: {})",
                render(&field.ty)
            );
            continue;
        }
        let wire = serde
            .iter()
            .find_map(|a| {
                a.strip_prefix("rename = \"")
                    .and_then(|r| r.strip_suffix('"'))
            })
            .map(str::to_owned)
            .unwrap_or_else(|| rust.clone());
        let _ = writeln!(out, "  {wire}: {}", render(&field.ty));
    }
}

fn enumeration(out: &mut String, e: &syn::ItemEnum) {
    let untagged = serde_args(&e.attrs).iter().any(|a| a == "untagged");
    let kind = if untagged { "untagged union" } else { "enum" };
    let _ = writeln!(out, "\n{kind} {}:", e.ident);
    for v in &e.variants {
        let payload = match &v.fields {
            Fields::Unnamed(f) => f
                .unnamed
                .iter()
                .map(|f| render(&f.ty))
                .collect::<Vec<_>>()
                .join(", "),
            _ => String::new(),
        };
        let _ = writeln!(out, "  {}({payload})", v.ident);
    }
}

/// The `#[serde(...)]` arguments of a field or item, one string each.
fn serde_args(attrs: &[Attribute]) -> Vec<String> {
    let mut args = Vec::new();
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        if let syn::Meta::List(list) = &attr.meta {
            let text = list.tokens.to_string();
            args.extend(text.split(',').map(|a| a.trim().to_owned()));
        }
    }
    args
}

fn docs(attrs: &[Attribute]) -> Vec<String> {
    attrs.iter().filter_map(crate::doc_text).collect()
}

fn type_name(ty: &Type) -> String {
    match ty {
        Type::Path(p) => p
            .path
            .segments
            .last()
            .map(|s| s.ident.to_string())
            .unwrap_or_default(),
        _ => String::new(),
    }
}

fn generic_args(ty: &Type) -> Vec<&Type> {
    let Type::Path(p) = ty else { return Vec::new() };
    let Some(last) = p.path.segments.last() else {
        return Vec::new();
    };
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return Vec::new();
    };
    args.args
        .iter()
        .filter_map(|a| match a {
            syn::GenericArgument::Type(t) => Some(t),
            _ => None,
        })
        .collect()
}

/// A type as a person would write it: last path segments only, references kept, lifetimes
/// dropped (`&'a crate::Id` is `&Id`, `::std::option::Option<X>` is `Option<X>`).
fn render(ty: &Type) -> String {
    match ty {
        Type::Reference(r) => format!("&{}", render(&r.elem)),
        Type::Path(p) => {
            let Some(last) = p.path.segments.last() else {
                return String::new();
            };
            let args = generic_args(ty);
            if args.is_empty() {
                last.ident.to_string()
            } else {
                let inner: Vec<String> = args.into_iter().map(render).collect();
                format!("{}<{}>", last.ident, inner.join(", "))
            }
        }
        other => quote::quote!(#other).to_string(),
    }
}

/// The body of `open_enum! { #[doc] Name { #[doc] Variant = "wire", ... } }`.
struct OpenEnumInvocation {
    name: syn::Ident,
    variants: Vec<(syn::Ident, String)>,
}

impl Parse for OpenEnumInvocation {
    fn parse(input: ParseStream<'_>) -> syn::Result<Self> {
        input.call(Attribute::parse_outer)?;
        let name: syn::Ident = input.parse()?;
        let body;
        syn::braced!(body in input);
        let mut variants = Vec::new();
        while !body.is_empty() {
            body.call(Attribute::parse_outer)?;
            let variant: syn::Ident = body.parse()?;
            body.parse::<syn::Token![=]>()?;
            let wire: syn::LitStr = body.parse()?;
            body.parse::<syn::Token![,]>()?;
            variants.push((variant, wire.value()));
        }
        Ok(Self { name, variants })
    }
}
