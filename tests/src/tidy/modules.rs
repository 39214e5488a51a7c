//! A crate's modules and what each file imports, read from its sources with `syn`: the module
//! tree is followed from the crate root through its `mod` declarations (test modules left
//! out), and every path a file names (in `use` trees, code, types and macro arguments) is
//! resolved to the file that defines it, through `use` re-exports and globs.
//!
//! Hand-written because no library answers "which file imports which": rust-analyzer does, but
//! is far too big a dependency for a test, and `cargo modules` is a program, not a library.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use proc_macro2::{TokenStream, TokenTree};
use syn::visit::Visit;

/// A module path inside a crate: `[]` is the root, `["record", "http"]` is `record::http`.
pub type ModulePath = Vec<String>;

/// A crate's files and the imports between them.
#[derive(Debug, Default)]
pub struct Crate {
    /// Each file's module path, by the file's path relative to the crate's `src`.
    pub files: BTreeMap<String, ModulePath>,
    /// For each file, the other files of the crate whose items it names.
    pub imports: BTreeMap<String, BTreeSet<String>>,
}

/// What one module (a file's or an inline one) holds, for resolving paths into it.
#[derive(Debug, Default)]
struct Module {
    /// The file it is in, relative to `src`.
    file: String,
    /// The names of the items it defines (modules included).
    defines: BTreeSet<String>,
    /// Names brought in by `use` (public or not: a child module sees both): name → the path
    /// as written.
    uses: BTreeMap<String, Vec<String>>,
    /// Paths of `use …::*`, as written.
    globs: Vec<Vec<String>>,
}

/// A path named somewhere: the module it is named in, and its segments as written.
struct Named {
    module: ModulePath,
    segments: Vec<String>,
}

impl Crate {
    /// Reads the crate whose sources are in `src` (`lib.rs`, else `main.rs`, and the files its
    /// `mod` declarations name).
    pub fn read(src: &Path) -> Result<Crate, String> {
        let root = ["lib.rs", "main.rs"]
            .iter()
            .map(|name| src.join(name))
            .find(|path| path.is_file())
            .ok_or_else(|| format!("{} has no lib.rs or main.rs", src.display()))?;
        let mut reader = Reader {
            src: src.to_owned(),
            modules: BTreeMap::new(),
            named: Vec::new(),
            files: BTreeMap::new(),
        };
        reader.read_file(&root, Vec::new(), true)?;
        Ok(reader.resolve())
    }

    /// The graph between the crate's top-level modules (`crate` for the root's own file).
    pub fn top_level(&self) -> BTreeMap<String, BTreeSet<String>> {
        let top = |file: &str| {
            self.files[file]
                .first()
                .cloned()
                .unwrap_or_else(|| "crate".to_owned())
        };
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (file, imported) in &self.imports {
            let from = top(file);
            let entry = graph.entry(from.clone()).or_default();
            entry.extend(imported.iter().map(|f| top(f)).filter(|to| *to != from));
        }
        graph
    }
}

struct Reader {
    src: PathBuf,
    modules: BTreeMap<ModulePath, Module>,
    named: Vec<(String, Named)>,
    files: BTreeMap<String, ModulePath>,
}

impl Reader {
    /// Reads the file of module `path`; `owns_dir`: its children are beside it (a root or a
    /// `mod.rs`), not in a folder named after it.
    fn read_file(&mut self, file: &Path, path: ModulePath, owns_dir: bool) -> Result<(), String> {
        let text = std::fs::read_to_string(file)
            .map_err(|e| format!("cannot read {}: {e}", file.display()))?;
        let syntax =
            syn::parse_file(&text).map_err(|e| format!("cannot parse {}: {e}", file.display()))?;
        let relative = file
            .strip_prefix(&self.src)
            .unwrap_or(file)
            .to_string_lossy()
            .replace('\\', "/");
        self.files.insert(relative.clone(), path.clone());
        let dir = if owns_dir {
            file.parent().unwrap_or(Path::new("")).to_owned()
        } else {
            file.with_extension("")
        };
        let mut visitor = FileVisitor {
            file: relative.clone(),
            stack: path.clone(),
            modules: BTreeMap::new(),
            named: Vec::new(),
            children: Vec::new(),
            depth: path.len(),
        };
        visitor.modules.entry(path.clone()).or_default().file = relative.clone();
        visitor.visit_file(&syntax);
        for (module_path, module) in visitor.modules {
            let entry = self.modules.entry(module_path).or_default();
            entry.file = module.file;
            entry.defines.extend(module.defines);
            entry.uses.extend(module.uses);
            entry.globs.extend(module.globs);
        }
        self.named
            .extend(visitor.named.into_iter().map(|n| (relative.clone(), n)));
        for (child, inline) in visitor.children {
            // `mod x;` inside inline modules `a::b` of this file lives in `dir/a/b/x.rs`.
            let mut folder = dir.clone();
            for part in &inline {
                folder.push(part);
            }
            let name = child.last().expect("a child has a name").clone();
            let flat = folder.join(format!("{name}.rs"));
            let nested = folder.join(&name).join("mod.rs");
            if flat.is_file() {
                self.read_file(&flat, child, false)?;
            } else if nested.is_file() {
                self.read_file(&nested, child, true)?;
            } else {
                return Err(format!(
                    "{relative} declares `mod {name};` but neither {} nor {} exists",
                    flat.display(),
                    nested.display()
                ));
            }
        }
        Ok(())
    }

    /// Resolves every named path to the file that defines what it names.
    fn resolve(self) -> Crate {
        let mut imports: BTreeMap<String, BTreeSet<String>> = self
            .files
            .keys()
            .map(|file| (file.clone(), BTreeSet::new()))
            .collect();
        for (file, named) in &self.named {
            let Some(absolute) = self.absolute(&named.module, &named.segments, 0) else {
                continue;
            };
            if let Some(target) = self.target(&absolute, 0) {
                let target_file = &self.modules[&target].file;
                if target_file != file {
                    imports
                        .get_mut(file)
                        .expect("every file is listed")
                        .insert(target_file.clone());
                }
            }
        }
        Crate {
            files: self.files,
            imports,
        }
    }

    /// The module that defines what `path` (from the crate root) names, following `use`s;
    /// `None` when it is outside the crate.
    fn target(&self, path: &[String], depth: usize) -> Option<ModulePath> {
        if depth > 16 {
            return None;
        }
        let (module, rest) = (0..=path.len())
            .rev()
            .map(|n| (&path[..n], &path[n..]))
            .find(|(prefix, _)| self.modules.contains_key(*prefix))?;
        let Some(name) = rest.first() else {
            return Some(module.to_vec());
        };
        let holder = &self.modules[module];
        if holder.defines.contains(name) {
            return Some(module.to_vec());
        }
        if let Some(used) = holder.uses.get(name) {
            // A `use` of another crate's item names nothing of this crate.
            let used = self.absolute(&module.to_vec(), used, depth + 1)?;
            let onward: Vec<String> = used.into_iter().chain(rest[1..].iter().cloned()).collect();
            return self.target(&onward, depth + 1);
        }
        for glob in &holder.globs {
            let Some(glob) = self.absolute(&module.to_vec(), glob, depth + 1) else {
                continue;
            };
            if let Some(found) = self.target_in(&glob, rest, depth) {
                return Some(found);
            }
        }
        Some(module.to_vec())
    }

    /// `segments`, named in `module`, as a path from the crate root; `None` when they name
    /// another crate's item (or a local name that is not a module's).
    fn absolute(
        &self,
        module: &ModulePath,
        segments: &[String],
        depth: usize,
    ) -> Option<ModulePath> {
        if depth > 16 {
            return None;
        }
        let name = match anchored(module, segments) {
            Ok(path) => return path,
            Err(name) => name,
        };
        let rest = segments;
        // A child module named without `self::` (2018 paths), or a name this module
        // (or, for an inline module, its file) brought in with `use`.
        let child: ModulePath = module.iter().cloned().chain([name.to_owned()]).collect();
        if self.modules.contains_key(&child) {
            return Some(child.into_iter().chain(rest[1..].iter().cloned()).collect());
        }
        let used = self.modules.get(module)?.uses.get(name)?;
        if used.len() == 1 && used[0] == *name {
            // `use serde;` and the like: another crate.
            return None;
        }
        let used = self.absolute(module, used, depth + 1)?;
        Some(used.into_iter().chain(rest[1..].iter().cloned()).collect())
    }

    /// What `rest` names inside the module at `glob`, if that module has it.
    fn target_in(&self, glob: &ModulePath, rest: &[String], depth: usize) -> Option<ModulePath> {
        let module = self.modules.get(glob)?;
        let name = rest.first()?;
        if module.defines.contains(name) || module.uses.contains_key(name) {
            let onward: Vec<String> = glob.iter().chain(rest).cloned().collect();
            self.target(&onward, depth + 1)
        } else {
            None
        }
    }
}

/// `segments`, named in `module`, from the crate root when they start with `crate`, `self` or
/// `super` (`Ok(None)` for a `super` above the root); `Err(first)` for a path that starts with
/// a name, which only the caller's view of the module can place.
pub(super) fn anchored<'a>(
    module: &[String],
    segments: &'a [String],
) -> Result<Option<ModulePath>, &'a str> {
    let Some(first) = segments.first() else {
        return Ok(None);
    };
    let mut base = module.to_vec();
    let mut rest = segments;
    match first.as_str() {
        "crate" => {
            base.clear();
            rest = &segments[1..];
        }
        "self" | "super" => {
            while let Some(head) = rest.first() {
                match head.as_str() {
                    "self" => {}
                    "super" => {
                        if base.pop().is_none() {
                            return Ok(None);
                        }
                    }
                    _ => break,
                }
                rest = &rest[1..];
            }
        }
        name => return Err(name),
    }
    Ok(Some(base.into_iter().chain(rest.iter().cloned()).collect()))
}

/// Walks one file: its inline modules, the items each defines, its `use`s and every path.
struct FileVisitor {
    file: String,
    stack: ModulePath,
    modules: BTreeMap<ModulePath, Module>,
    named: Vec<Named>,
    /// `mod x;` declarations: the child's path, and the inline modules of this file it is in.
    children: Vec<(ModulePath, Vec<String>)>,
    /// How deep the file's own module is (its inline modules come after).
    depth: usize,
}

impl FileVisitor {
    fn module(&mut self) -> &mut Module {
        let file = self.file.clone();
        let module = self.modules.entry(self.stack.clone()).or_default();
        module.file = file;
        module
    }

    fn name(&mut self, segments: Vec<String>) {
        if !segments.is_empty() {
            self.named.push(Named {
                module: self.stack.clone(),
                segments,
            });
        }
    }
}

/// Whether `attrs` hold `#[cfg(test)]` (the item is compiled only for the crate's own tests).
fn test_only(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|attr| {
        attr.path().is_ident("cfg")
            && attr
                .parse_args::<syn::Ident>()
                .is_ok_and(|ident| ident == "test")
    })
}

pub(super) fn item_attrs(item: &syn::Item) -> &[syn::Attribute] {
    use syn::Item::*;
    match item {
        Const(i) => &i.attrs,
        Enum(i) => &i.attrs,
        ExternCrate(i) => &i.attrs,
        Fn(i) => &i.attrs,
        ForeignMod(i) => &i.attrs,
        Impl(i) => &i.attrs,
        Macro(i) => &i.attrs,
        Mod(i) => &i.attrs,
        Static(i) => &i.attrs,
        Struct(i) => &i.attrs,
        Trait(i) => &i.attrs,
        TraitAlias(i) => &i.attrs,
        Type(i) => &i.attrs,
        Union(i) => &i.attrs,
        Use(i) => &i.attrs,
        _ => &[],
    }
}

fn item_name(item: &syn::Item) -> Option<String> {
    use syn::Item::*;
    let ident = match item {
        Const(i) => &i.ident,
        Enum(i) => &i.ident,
        Fn(i) => &i.sig.ident,
        Macro(i) => i.ident.as_ref()?,
        Mod(i) => &i.ident,
        Static(i) => &i.ident,
        Struct(i) => &i.ident,
        Trait(i) => &i.ident,
        TraitAlias(i) => &i.ident,
        Type(i) => &i.ident,
        Union(i) => &i.ident,
        _ => return None,
    };
    Some(ident.to_string())
}

/// The paths of a `use` tree: each with the name it is known by (`None` for a glob).
pub(super) fn use_paths(
    tree: &syn::UseTree,
    prefix: &mut Vec<String>,
    out: &mut Vec<(Vec<String>, Option<String>)>,
) {
    match tree {
        syn::UseTree::Path(path) => {
            prefix.push(path.ident.to_string());
            use_paths(&path.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(name) if name.ident == "self" => {
            out.push((prefix.clone(), prefix.last().cloned()));
        }
        syn::UseTree::Name(name) => {
            let mut path = prefix.clone();
            path.push(name.ident.to_string());
            out.push((path, Some(name.ident.to_string())));
        }
        syn::UseTree::Rename(rename) => {
            let mut path = prefix.clone();
            path.push(rename.ident.to_string());
            out.push((path, Some(rename.rename.to_string())));
        }
        syn::UseTree::Glob(_) => out.push((prefix.clone(), None)),
        syn::UseTree::Group(group) => {
            for tree in &group.items {
                use_paths(tree, prefix, out);
            }
        }
    }
}

/// The `a::b::c` paths in a macro's tokens (which `syn` leaves unparsed).
fn token_paths(tokens: TokenStream, out: &mut Vec<Vec<String>>) {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut i = 0;
    while i < tokens.len() {
        match &tokens[i] {
            TokenTree::Group(group) => token_paths(group.stream(), out),
            TokenTree::Ident(ident) => {
                let mut path = vec![ident.to_string()];
                let mut j = i + 1;
                while let (
                    Some(TokenTree::Punct(a)),
                    Some(TokenTree::Punct(b)),
                    Some(TokenTree::Ident(next)),
                ) = (tokens.get(j), tokens.get(j + 1), tokens.get(j + 2))
                {
                    if a.as_char() != ':' || b.as_char() != ':' {
                        break;
                    }
                    path.push(next.to_string());
                    j += 3;
                }
                if path.len() > 1 {
                    out.push(path);
                    i = j;
                    continue;
                }
            }
            _ => {}
        }
        i += 1;
    }
}

impl<'ast> Visit<'ast> for FileVisitor {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        if test_only(item_attrs(item)) {
            return;
        }
        if let Some(name) = item_name(item) {
            self.module().defines.insert(name);
        }
        syn::visit::visit_item(self, item);
    }

    fn visit_item_mod(&mut self, module: &'ast syn::ItemMod) {
        let child: ModulePath = self
            .stack
            .iter()
            .cloned()
            .chain([module.ident.to_string()])
            .collect();
        match &module.content {
            Some((_, items)) => {
                self.stack.push(module.ident.to_string());
                self.module();
                for item in items {
                    self.visit_item(item);
                }
                self.stack.pop();
            }
            None => {
                let inline = self.stack[self.depth..].to_vec();
                self.children.push((child, inline));
            }
        }
    }

    fn visit_item_use(&mut self, item: &'ast syn::ItemUse) {
        let mut paths = Vec::new();
        use_paths(&item.tree, &mut Vec::new(), &mut paths);
        for (path, name) in paths {
            self.name(path.clone());
            let module = self.module();
            match name {
                Some(name) => {
                    module.uses.insert(name, path);
                }
                None => module.globs.push(path),
            }
        }
    }

    fn visit_path(&mut self, path: &'ast syn::Path) {
        if path.leading_colon.is_none() && path.segments.len() > 1 {
            self.name(path.segments.iter().map(|s| s.ident.to_string()).collect());
        }
        syn::visit::visit_path(self, path);
    }

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let mut paths = Vec::new();
        token_paths(mac.tokens.clone(), &mut paths);
        for path in paths {
            self.name(path);
        }
        syn::visit::visit_macro(self, mac);
    }

    fn visit_impl_item_fn(&mut self, item: &'ast syn::ImplItemFn) {
        if !test_only(&item.attrs) {
            syn::visit::visit_impl_item_fn(self, item);
        }
    }
}
