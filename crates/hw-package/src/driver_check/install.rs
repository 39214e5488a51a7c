//! The install sections of an INF (`docs/package-rules.md`, "Install sections"): S1 copied files
//! listed as sources, D1 a destination for every copy list, D4 each device's install section with its services.

use std::collections::BTreeSet;

use super::architecture::{Arch, models_sections};
use super::finding::Findings;
use crate::inf::Inf;

/// A number as INFs write them: decimal or `0x` hex.
pub(super) fn number(text: &str) -> Option<u32> {
    let text = text.trim();
    match text.strip_prefix("0x").or_else(|| text.strip_prefix("0X")) {
        Some(hex) => u32::from_str_radix(hex, 16).ok(),
        None => text.parse().ok(),
    }
}

/// Runs the install-section rules on `inf`.
pub(super) fn check(inf: &Inf, out: &mut Findings, is_extension: bool) {
    copy_lists(inf, out);
    devices(inf, out, is_extension);
}

/// The lower-cased names of the files `[SourceDisksFiles]` (any decoration) lists.
fn source_names(inf: &Inf) -> BTreeSet<String> {
    inf.sections()
        .iter()
        .filter(|s| s.name.to_ascii_lowercase().starts_with("sourcedisksfiles"))
        .flat_map(|s| s.entries.iter())
        .filter_map(|e| e.key.as_deref().map(|k| inf.expand(k).to_lowercase()))
        .collect()
}

/// S1 and D1: every `CopyFiles` value names a file list that exists and has a destination, or a
/// single `@file`; every copied file is a listed source file.
fn copy_lists(inf: &Inf, out: &mut Findings) {
    let sources = source_names(inf);
    let destinations = inf.section("DestinationDirs");
    let has_destination = |key: &str| destinations.is_some_and(|d| d.entry(key).is_some());
    let source_listed = |file: &str, line: usize, out: &mut Findings| {
        if !sources.contains(&file.to_lowercase()) {
            out.error(
                Some(line),
                "S1",
                format!("{file} is copied but not listed in [SourceDisksFiles]"),
            );
        }
    };
    let directives = inf
        .sections()
        .iter()
        .flat_map(|s| s.entries.iter())
        .filter(|e| e.is("CopyFiles"));
    for directive in directives {
        for field in &directive.fields {
            let value = inf.expand(field);
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            if let Some(file) = value.strip_prefix('@') {
                source_listed(file.trim(), directive.line, out);
                if !has_destination("DefaultDestDir") {
                    out.error(
                        Some(directive.line),
                        "D1",
                        format!("CopyFiles=@{file} needs DefaultDestDir in [DestinationDirs]"),
                    );
                }
                continue;
            }
            let Some(list) = inf.section(value) else {
                out.error(
                    Some(directive.line),
                    "D1",
                    format!("CopyFiles names the file list [{value}], which is missing"),
                );
                continue;
            };
            if !has_destination(value) && !has_destination("DefaultDestDir") {
                out.error(
                    Some(directive.line),
                    "D1",
                    format!("[DestinationDirs] has no entry for [{value}] and no DefaultDestDir"),
                );
            }
            for entry in list.entries.iter().filter(|e| e.key.is_none()) {
                let named = |i: usize| entry.fields.get(i).map(|f| inf.expand(f).trim().to_owned());
                let file = named(1)
                    .filter(|f| !f.is_empty())
                    .or_else(|| named(0))
                    .unwrap_or_default();
                if !file.is_empty() {
                    source_listed(&file, entry.line, out);
                }
            }
        }
    }
}

/// D4: each device's install section, as Windows picks it for the models section's
/// architecture, exists and (but for an extension INF) has a `.Services` section whose services
/// are sound.
fn devices(inf: &Inf, out: &mut Findings, is_extension: bool) {
    let mut seen = BTreeSet::new();
    for (models, arch) in models_sections(inf) {
        let Some(section) = inf.section(&models) else {
            continue;
        };
        for entry in &section.entries {
            let Some(install) = entry.fields.first().map(|f| inf.expand(f)) else {
                continue;
            };
            let install = install.trim().to_owned();
            if install.is_empty() || !seen.insert((install.to_lowercase(), arch)) {
                continue;
            }
            let chosen = [
                format!("{install}.NT{}", arch.suffix()),
                format!("{install}.NT"),
                install.clone(),
            ]
            .into_iter()
            .find(|name| inf.section(name).is_some());
            let Some(chosen) = chosen else {
                out.error(
                    Some(entry.line),
                    "D4",
                    format!(
                        "the install section [{install}] ({} or undecorated) is missing",
                        arch.name()
                    ),
                );
                continue;
            };
            if !is_extension {
                services(inf, out, &chosen, entry.line, arch);
            }
        }
    }
}

/// D4: `[<install>.Services]` exists, at most one service is the function driver, and each
/// service's binary is under a DIRID.
fn services(inf: &Inf, out: &mut Findings, install: &str, line: usize, arch: Arch) {
    let name = format!("{install}.Services");
    let Some(section) = inf.section(&name) else {
        out.error(
            Some(line),
            "D4",
            format!(
                "[{name}] is missing ({}): every device install section needs one (AddService = ,2 when the device has no function driver)",
                arch.name()
            ),
        );
        return;
    };
    let mut associated = 0;
    for entry in section.entries.iter().filter(|e| e.is("AddService")) {
        let field = |i: usize| entry.fields.get(i).map(|f| inf.expand(f));
        if field(1)
            .and_then(|f| number(&f))
            .is_some_and(|f| f & 0x2 != 0)
        {
            associated += 1;
            if associated == 2 {
                out.error(
                    Some(entry.line),
                    "D4",
                    format!("[{name}] gives the SPSVCINST_ASSOCSERVICE flag (0x2) to more than one service"),
                );
            }
        }
        let Some(service) = field(2).filter(|s| !s.trim().is_empty()) else {
            continue;
        };
        let Some(service_section) = inf.section(service.trim()) else {
            out.error(
                Some(entry.line),
                "D4",
                format!(
                    "the service install section [{}] is missing",
                    service.trim()
                ),
            );
            continue;
        };
        if let Some(binary) = service_section.entry("ServiceBinary") {
            let path = binary
                .fields
                .first()
                .map(|f| inf.expand(f))
                .unwrap_or_default();
            if !under_dirid(&path) {
                out.error(
                    Some(binary.line),
                    "D4",
                    format!("ServiceBinary {path:?} must start with a DIRID, such as %13%\\"),
                );
            }
        }
    }
}

/// Whether `path` starts with `%<number>%`.
fn under_dirid(path: &str) -> bool {
    let Some(rest) = path.trim().strip_prefix('%') else {
        return false;
    };
    rest.split_once('%')
        .is_some_and(|(id, _)| !id.is_empty() && id.chars().all(|c| c.is_ascii_digit()))
}
