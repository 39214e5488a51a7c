//! A library's public API as a list of paths, read from its sources with `syn` for a given set
//! of features: every item another crate can name, at each path it can name it by (through
//! `pub mod` and `pub use`, globs included), with the inherent methods and associated constants
//! of its types. What the snapshot of hw-api's API (`tests/public_api.rs`) is made of.
//!
//! Hand-written because the tools that list a public API (`cargo public-api`) read rustdoc's
//! JSON, which only a nightly toolchain writes.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path inside the crate (`[]` is the root).
type ModulePath = Vec<String>;

/// Where an item is defined: its module and its name.
type Definition = (ModulePath, String);

/// An inherent impl: its type's path as written, and its public methods and constants.
type Impl = (Vec<String>, Vec<(String, &'static str)>);

/// A crate's public API.
#[derive(Debug, Default)]
pub struct PublicApi {
    /// Each public path (`hw_api::Client::ship`) with its kind (`fn`, `struct`, or for another
    /// crate's item `pub use secrecy::SecretString as`), so that `{kind} {path}` reads.
    pub items: BTreeMap<String, String>,
    /// Each item of the crate that can be named by more than one public path, with the paths.
    pub several_paths: Vec<Vec<String>>,
}

#[derive(Debug, Default)]
struct Module {
    /// Items defined here: name, kind, public.
    items: Vec<(String, &'static str, bool)>,
    /// `use` declarations: the name they bring, the path as written (`None` for a glob),
    /// public.
    uses: Vec<(Option<String>, Vec<String>, bool)>,
    /// Inherent impls.
    impls: Vec<Impl>,
}

/// Reads the library in `src` (its `lib.rs`) as built with `features`, and lists its API under
/// `crate_name`.
pub fn public_api(src: &Path, crate_name: &str, features: &[&str]) -> Result<PublicApi, String> {
    let mut modules = BTreeMap::new();
    read(
        &src.join("lib.rs"),
        src,
        Vec::new(),
        true,
        features,
        &mut modules,
    )?;
    let mut walk = Walk {
        modules: &modules,
        items: BTreeMap::new(),
        paths: BTreeMap::new(),
        seen: BTreeSet::new(),
    };
    walk.export(&Vec::new(), crate_name, 0);
    // Inherent methods and constants, at every path of their type.
    for (module_path, module) in &modules {
        for (ty, members) in &module.impls {
            let Some(definition) = walk.definition(module_path, ty, 0) else {
                continue;
            };
            let public: Vec<String> = walk.paths.get(&definition).cloned().unwrap_or_default();
            for path in public {
                for (name, kind) in members {
                    walk.items
                        .insert(format!("{path}::{name}"), (*kind).to_owned());
                }
            }
        }
    }
    let mut several_paths: Vec<Vec<String>> = walk
        .paths
        .values()
        .filter(|paths| paths.len() > 1)
        .cloned()
        .collect();
    several_paths.iter_mut().for_each(|paths| paths.sort());
    several_paths.sort();
    Ok(PublicApi {
        items: walk.items,
        several_paths,
    })
}

/// Reads the module file `file` at `path`, and the files of its `mod` declarations.
fn read(
    file: &Path,
    src: &Path,
    path: ModulePath,
    owns_dir: bool,
    features: &[&str],
    modules: &mut BTreeMap<ModulePath, Module>,
) -> Result<(), String> {
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
    let syntax =
        syn::parse_file(&text).map_err(|e| format!("cannot parse {}: {e}", file.display()))?;
    let dir: PathBuf = if owns_dir {
        file.parent().unwrap_or(src).to_owned()
    } else {
        file.with_extension("")
    };
    let mut children = Vec::new();
    items(&syntax.items, &path, &dir, features, modules, &mut children);
    for (child, folder) in children {
        let name = child.last().expect("a named child").clone();
        let flat = folder.join(format!("{name}.rs"));
        if flat.is_file() {
            read(&flat, src, child, false, features, modules)?;
        } else {
            read(
                &folder.join(&name).join("mod.rs"),
                src,
                child,
                true,
                features,
                modules,
            )?;
        }
    }
    Ok(())
}

/// Records `list`, the items of module `path` (whose child files are in `dir`).
fn items(
    list: &[syn::Item],
    path: &ModulePath,
    dir: &Path,
    features: &[&str],
    modules: &mut BTreeMap<ModulePath, Module>,
    children: &mut Vec<(ModulePath, PathBuf)>,
) {
    modules.entry(path.clone()).or_default();
    for item in list {
        if !enabled(attrs(item), features) {
            continue;
        }
        let public = |vis: &syn::Visibility| matches!(vis, syn::Visibility::Public(_));
        let mut define = |name: String, kind: &'static str, is_pub: bool| {
            modules
                .get_mut(path)
                .expect("made above")
                .items
                .push((name, kind, is_pub));
        };
        match item {
            syn::Item::Mod(m) => {
                define(m.ident.to_string(), "mod", public(&m.vis));
                let child: ModulePath = path.iter().cloned().chain([m.ident.to_string()]).collect();
                match &m.content {
                    Some((_, inner)) => {
                        let folder = dir.join(m.ident.to_string());
                        items(inner, &child, &folder, features, modules, children);
                    }
                    None => children.push((child, dir.to_owned())),
                }
            }
            syn::Item::Struct(s) => define(s.ident.to_string(), "struct", public(&s.vis)),
            syn::Item::Enum(e) => define(e.ident.to_string(), "enum", public(&e.vis)),
            syn::Item::Fn(f) => define(f.sig.ident.to_string(), "fn", public(&f.vis)),
            syn::Item::Trait(t) => define(t.ident.to_string(), "trait", public(&t.vis)),
            syn::Item::Type(t) => define(t.ident.to_string(), "type", public(&t.vis)),
            syn::Item::Const(c) => define(c.ident.to_string(), "const", public(&c.vis)),
            syn::Item::Static(s) => define(s.ident.to_string(), "static", public(&s.vis)),
            syn::Item::Macro(m) if m.ident.is_some() => {
                let exported = m.attrs.iter().any(|a| a.path().is_ident("macro_export"));
                define(
                    m.ident.as_ref().expect("named").to_string(),
                    "macro",
                    exported,
                );
            }
            syn::Item::Use(u) => {
                let mut found = Vec::new();
                super::modules::use_paths(&u.tree, &mut Vec::new(), &mut found);
                let module = modules.get_mut(path).expect("made above");
                for (target, name) in found {
                    module.uses.push((name, target, public(&u.vis)));
                }
            }
            syn::Item::Impl(i) if i.trait_.is_none() => {
                let syn::Type::Path(ty) = &*i.self_ty else {
                    continue;
                };
                let ty: Vec<String> = ty
                    .path
                    .segments
                    .iter()
                    .map(|s| s.ident.to_string())
                    .collect();
                let mut members = Vec::new();
                for member in &i.items {
                    match member {
                        syn::ImplItem::Fn(f) if public(&f.vis) && enabled(&f.attrs, features) => {
                            members.push((f.sig.ident.to_string(), "fn"));
                        }
                        syn::ImplItem::Const(c)
                            if public(&c.vis) && enabled(&c.attrs, features) =>
                        {
                            members.push((c.ident.to_string(), "const"));
                        }
                        _ => {}
                    }
                }
                modules
                    .get_mut(path)
                    .expect("made above")
                    .impls
                    .push((ty, members));
            }
            _ => {}
        }
    }
}

struct Walk<'a> {
    modules: &'a BTreeMap<ModulePath, Module>,
    items: BTreeMap<String, String>,
    /// Each definition of this crate with the public paths it can be named by.
    paths: BTreeMap<Definition, Vec<String>>,
    /// Modules exported at a path already (a module re-exported in a circle stops here).
    seen: BTreeSet<(ModulePath, String)>,
}

impl Walk<'_> {
    /// Lists the public items of `module`, which other crates name as `prefix`.
    fn export(&mut self, module: &ModulePath, prefix: &str, depth: usize) {
        if depth > 16 || !self.seen.insert((module.clone(), prefix.to_owned())) {
            return;
        }
        let Some(held) = self.modules.get(module) else {
            return;
        };
        for (name, kind, public) in &held.items {
            if !public {
                continue;
            }
            let path = format!("{prefix}::{name}");
            self.name(&path, kind, (module.clone(), name.clone()));
            if *kind == "mod" {
                let child: ModulePath = module.iter().cloned().chain([name.clone()]).collect();
                self.export(&child, &path, depth + 1);
            }
        }
        for (name, target, public) in &held.uses {
            if !public {
                continue;
            }
            match (name, self.absolute(module, target, depth)) {
                // Another crate's item, or all of another crate's module.
                (Some(name), None) => {
                    let path = format!("{prefix}::{name}");
                    self.items
                        .insert(path, format!("pub use {} as", target.join("::")));
                }
                (None, None) => {
                    let path = format!("{prefix}::*");
                    self.items
                        .insert(path, format!("pub use {}::* as", target.join("::")));
                }
                // A glob of this crate: its items as if declared here.
                (None, Some(glob)) => self.export(&glob, prefix, depth + 1),
                (Some(name), Some(absolute)) => {
                    if self.modules.contains_key(&absolute) {
                        let path = format!("{prefix}::{name}");
                        let definition = split(&absolute);
                        self.name(&path, "mod", definition);
                        self.export(&absolute, &path, depth + 1);
                    } else if let Some(definition) = self.resolve(&absolute, depth + 1) {
                        let kind = self.kind(&definition);
                        self.name(&format!("{prefix}::{name}"), kind, definition);
                    }
                }
            }
        }
    }

    fn name(&mut self, path: &str, kind: &str, definition: Definition) {
        self.items.insert(path.to_owned(), kind.to_owned());
        let paths = self.paths.entry(definition).or_default();
        if !paths.iter().any(|p| p == path) {
            paths.push(path.to_owned());
        }
    }

    /// The kind of the item defined at `definition`.
    fn kind(&self, (module, name): &Definition) -> &'static str {
        self.modules
            .get(module)
            .and_then(|m| m.items.iter().find(|(n, ..)| n == name))
            .map_or("item", |(_, kind, _)| kind)
    }

    /// Where the item at `path` (from the crate root) is defined, following `use`s; `None`
    /// for another crate's.
    fn resolve(&self, path: &[String], depth: usize) -> Option<Definition> {
        if depth > 24 || path.is_empty() {
            return None;
        }
        let (module, rest) = path.split_at(path.len() - 1);
        let name = &rest[0];
        let held = self.modules.get(module)?;
        if held.items.iter().any(|(n, ..)| n == name) {
            return Some((module.to_vec(), name.clone()));
        }
        for (used, target, _) in &held.uses {
            match used {
                Some(used) if used == name => {
                    let absolute = self.absolute(&module.to_vec(), target, depth + 1)?;
                    return self.resolve(&absolute, depth + 1);
                }
                None => {
                    if let Some(glob) = self.absolute(&module.to_vec(), target, depth + 1) {
                        let inner: Vec<String> =
                            glob.iter().cloned().chain([name.clone()]).collect();
                        if let Some(found) = self.resolve(&inner, depth + 1) {
                            return Some(found);
                        }
                    }
                }
                _ => {}
            }
        }
        None
    }

    /// Where the type `ty`, named in `module`, is defined.
    fn definition(&self, module: &ModulePath, ty: &[String], depth: usize) -> Option<Definition> {
        let first = ty.first()?;
        let held = self.modules.get(module)?;
        if ty.len() == 1 && held.items.iter().any(|(n, ..)| n == first) {
            return Some((module.clone(), first.clone()));
        }
        let absolute = self.absolute(module, ty, depth)?;
        self.resolve(&absolute, depth + 1)
    }

    /// `segments`, named in `module`, from the crate root; `None` for another crate's path.
    fn absolute(
        &self,
        module: &ModulePath,
        segments: &[String],
        depth: usize,
    ) -> Option<ModulePath> {
        if depth > 24 {
            return None;
        }
        let name = match super::modules::anchored(module, segments) {
            Ok(path) => return path,
            Err(name) => name,
        };
        let rest = segments;
        let held = self.modules.get(module)?;
        if held
            .items
            .iter()
            .any(|(n, kind, _)| n == name && *kind == "mod")
        {
            // A child module, named without `self::`.
        } else if let Some((_, target, _)) = held
            .uses
            .iter()
            .find(|(used, ..)| used.as_deref() == Some(name))
        {
            if target.len() == 1 && target[0] == *name {
                return None;
            }
            let used = self.absolute(module, target, depth + 1)?;
            return Some(used.into_iter().chain(rest[1..].iter().cloned()).collect());
        } else if held.items.iter().any(|(n, ..)| n == name) {
            // An item of this module.
        } else {
            return None;
        }
        Some(module.iter().chain(rest).cloned().collect())
    }
}

/// `path`'s module and last name.
fn split(path: &[String]) -> Definition {
    let (module, name) = path.split_at(path.len() - 1);
    (module.to_vec(), name[0].clone())
}

fn attrs(item: &syn::Item) -> &[syn::Attribute] {
    super::modules::item_attrs(item)
}

/// Whether the `#[cfg(…)]`s of `attrs` hold with `features` on (on Linux, not under test).
fn enabled(attrs: &[syn::Attribute], features: &[&str]) -> bool {
    attrs
        .iter()
        .filter(|attr| attr.path().is_ident("cfg"))
        .all(|attr| {
            attr.parse_args::<syn::Meta>()
                .map(|meta| holds(&meta, features))
                .unwrap_or(true)
        })
}

fn holds(meta: &syn::Meta, features: &[&str]) -> bool {
    match meta {
        syn::Meta::Path(path) => path.is_ident("unix"),
        syn::Meta::NameValue(nv) if nv.path.is_ident("feature") => match &nv.value {
            syn::Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Str(s),
                ..
            }) => features.contains(&s.value().as_str()),
            _ => false,
        },
        syn::Meta::NameValue(_) => false,
        syn::Meta::List(list) => {
            let inner = list
                .parse_args_with(
                    syn::punctuated::Punctuated::<syn::Meta, syn::Token![,]>::parse_terminated,
                )
                .unwrap_or_default();
            if list.path.is_ident("not") {
                !inner.iter().all(|m| holds(m, features))
            } else if list.path.is_ident("any") {
                inner.iter().any(|m| holds(m, features))
            } else {
                inner.iter().all(|m| holds(m, features))
            }
        }
    }
}
