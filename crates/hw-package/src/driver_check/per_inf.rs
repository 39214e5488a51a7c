//! The rules each INF is held to on its own (`docs/package-rules.md`, "INF rules"): the
//! `[Version]` section, the source files, the manufacturer and models, and (`install.rs`) the
//! install sections.

use std::path::{Path, PathBuf};

use super::finding::{Finding, Findings};
use super::install;
use super::modes::{self, Mode};
use crate::inf::{Inf, InfError};

/// The GUID of the Extension class.
const EXTENSION_CLASS_GUID: &str = "{e2f84ce7-8efa-411c-aa69-97454ca4cb57}";

/// Checks one INF, named `file`, against the rules of `mode`; its package has a file at a
/// relative path when `exists` says so.
pub fn check_inf(
    file: &Path,
    bytes: &[u8],
    exists: &dyn Fn(&Path) -> bool,
    mode: Mode,
) -> Vec<Finding> {
    check_and_parse(file, bytes, exists, mode).0
}

/// [`check_inf`], and the INF read, when it could be, for the package rules that need it too.
pub(crate) fn check_and_parse(
    file: &Path,
    bytes: &[u8],
    exists: &dyn Fn(&Path) -> bool,
    mode: Mode,
) -> (Vec<Finding>, Option<Inf>) {
    let mut out = Findings {
        file: file.to_owned(),
        found: Vec::new(),
    };
    let inf = match Inf::parse(bytes) {
        Ok(inf) => inf,
        Err(InfError::Encoding(what)) => {
            out.error(
                None,
                "I1",
                format!("the INF is {what}: save it as ANSI or UTF-16 LE"),
            );
            return (out.found, None);
        }
        Err(e) => {
            out.error(None, "I1", e.to_string());
            return (out.found, None);
        }
    };
    for problem in inf.problems() {
        out.warning(Some(problem.line), "I0", problem.message.clone());
    }
    version(&inf, &mut out, exists);
    templates(&inf, &mut out);
    source_files(&inf, &mut out, exists);
    manufacturer(&inf, &mut out);
    install::check(&inf, &mut out, is_extension(&inf));
    modes::check(&inf, &mut out, mode);
    (out.found, Some(inf))
}

/// Whether `inf` is an extension INF (by its class or class GUID).
fn is_extension(inf: &Inf) -> bool {
    inf.value("Version", "Class")
        .is_some_and(|c| c.eq_ignore_ascii_case("Extension"))
        || inf
            .value("Version", "ClassGuid")
            .is_some_and(|g| g.eq_ignore_ascii_case(EXTENSION_CLASS_GUID))
}

/// A `{8-4-4-4-12}` GUID in braces.
fn is_guid(text: &str) -> bool {
    let Some(inner) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) else {
        return false;
    };
    let groups: Vec<&str> = inner.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.chars().all(|c| c.is_ascii_hexdigit()))
}

/// `[Version]`: V1 Signature, V2 Class and ClassGuid, V3 Provider, V4 DriverVer, V5 CatalogFile,
/// V7 an extension INF's ExtensionId.
fn version(inf: &Inf, out: &mut Findings, exists: &dyn Fn(&Path) -> bool) {
    let Some(section) = inf.section("Version") else {
        out.error(None, "V1", "there is no [Version] section".into());
        return;
    };
    let at = |key: &str| section.entry(key).map(|e| e.line);
    let value = |key: &str| inf.value("Version", key);
    match value("Signature") {
        Some(s)
            if s.eq_ignore_ascii_case("$Windows NT$") || s.eq_ignore_ascii_case("$Chicago$") => {}
        Some(s) => out.error(
            at("Signature"),
            "V1",
            format!("Signature is {s:?}: it must be \"$Windows NT$\""),
        ),
        None => out.error(
            Some(section.line),
            "V1",
            "[Version] has no Signature".into(),
        ),
    }
    let installs_devices = inf.section("Manufacturer").is_some();
    let class_guid = value("ClassGuid");
    if installs_devices {
        if value("Class").is_none() {
            out.error(Some(section.line), "V2", "[Version] has no Class".into());
        }
        match &class_guid {
            Some(guid) if is_guid(guid) => {}
            Some(guid) => out.error(
                at("ClassGuid"),
                "V2",
                format!("ClassGuid {guid:?} is not a {{8-4-4-4-12}} GUID in braces"),
            ),
            None => out.error(
                Some(section.line),
                "V2",
                "[Version] has no ClassGuid".into(),
            ),
        }
        match value("Provider") {
            Some(p) if p.trim().to_ascii_lowercase().starts_with("microsoft") => out.error(
                at("Provider"),
                "V3",
                format!("Provider {p:?} may not be Microsoft or start with it"),
            ),
            Some(p) if !p.trim().is_empty() => {}
            _ => out.error(Some(section.line), "V3", "[Version] has no Provider".into()),
        }
    }
    match section.entry("DriverVer") {
        Some(entry) => {
            let v: Vec<String> = entry.fields.iter().map(|f| inf.expand(f)).collect();
            let v = v.join(",");
            if let Err(why) = driver_ver(&v) {
                out.error(Some(entry.line), "V4", format!("DriverVer {v:?}: {why}"));
            } else if !two_digit_date(&v) {
                out.warning(
                    Some(entry.line),
                    "V8",
                    format!(
                        "DriverVer {v:?}: the documented form is mm/dd/yyyy, with two-digit month and day (stampinf writes it so)"
                    ),
                );
            }
        }
        None => out.error(
            Some(section.line),
            "V4",
            "[Version] has no DriverVer".into(),
        ),
    }
    let catalogs: Vec<_> = section
        .entries
        .iter()
        .filter(|e| {
            e.key
                .as_deref()
                .is_some_and(|k| k.to_ascii_lowercase().starts_with("catalogfile"))
        })
        .collect();
    if catalogs.is_empty() {
        out.error(Some(section.line), "V5", "[Version] has no CatalogFile: the package needs a catalog (name it, e.g. CatalogFile=driver.cat)".into());
    }
    for entry in catalogs {
        let Some(name) = entry.fields.first().map(|f| inf.expand(f)) else {
            continue;
        };
        if !name.to_ascii_lowercase().ends_with(".cat") {
            out.error(
                Some(entry.line),
                "V5",
                format!("CatalogFile {name:?} is not a .cat file name"),
            );
        } else if !exists(Path::new(&name)) {
            out.warning(Some(entry.line), "V5", format!("the catalog {name} is not in the folder yet: Inf2Cat makes it, and it must be signed before the CAB is"));
        }
    }
    if is_extension(inf) {
        match value("ExtensionId") {
            Some(id) if is_guid(&id) => {}
            Some(id) => out.error(
                at("ExtensionId"),
                "V7",
                format!("ExtensionId {id:?} is not a GUID in braces"),
            ),
            None => out.error(
                Some(section.line),
                "V7",
                "an extension INF needs ExtensionId={GUID}".into(),
            ),
        }
        out.warning(
            Some(section.line),
            "E4",
            "an extension INF: publish it as an automatic update, in a submission of its own"
                .into(),
        );
    }
}

/// `mm/dd/yyyy,w.x.y.z`: a real date, and a version of four parts below 65535, not 0.0.0.0.
fn driver_ver(text: &str) -> Result<(), String> {
    let (date, version) = text
        .split_once(',')
        .ok_or("it must be mm/dd/yyyy,w.x.y.z")?;
    let parts: Vec<&str> = date.trim().split(['/', '-']).collect();
    let [m, d, y] = parts.as_slice() else {
        return Err("the date must be mm/dd/yyyy".into());
    };
    let number = |t: &str| t.parse::<u32>().ok();
    match (number(m), number(d), number(y)) {
        (Some(1..=12), Some(1..=31), Some(1980..=9999)) if y.len() == 4 => {}
        _ => return Err("the date must be mm/dd/yyyy".into()),
    }
    let fields: Vec<Option<u32>> = version.trim().split('.').map(number).collect();
    if fields.len() != 4 || fields.iter().any(|f| f.is_none_or(|n| n >= 65535)) {
        return Err("the version must be four numbers below 65535".into());
    }
    if fields.iter().all(|f| *f == Some(0)) {
        return Err("0.0.0.0 is not a valid version".into());
    }
    Ok(())
}

/// Whether a valid `DriverVer`'s date has a two-digit month and day (`02/01/2023`), as the
/// directive's page writes it (`mm/dd/yyyy`).
fn two_digit_date(text: &str) -> bool {
    let date = text.split(',').next().unwrap_or_default().trim();
    let parts: Vec<&str> = date.split(['/', '-']).collect();
    matches!(parts.as_slice(), [m, d, _] if m.len() == 2 && d.len() == 2)
}

/// The variables stampinf replaces in an `.inx` template (`$ARCH$`, `$KMDFVERSION$`,
/// `$UMDFVERSION$`).
const STAMPINF_VARIABLES: [&str; 3] = ["$ARCH$", "$KMDFVERSION$", "$UMDFVERSION$"];

/// T1: a template packaged before stampinf ran still holds its variables, in a section's name,
/// a key or a value; Windows would read them literally (a model section decorated
/// `NT$ARCH$` matches no architecture).
fn templates(inf: &Inf, out: &mut Findings) {
    let leftover = |text: &str| {
        let upper = text.to_ascii_uppercase();
        STAMPINF_VARIABLES.into_iter().find(|v| upper.contains(v))
    };
    let mut say = |line: usize, variable: &str, place: String| {
        out.error(
            Some(line),
            "T1",
            format!(
                "{place} holds the stampinf variable {variable}: run stampinf on the template (.inx) before packaging it"
            ),
        );
    };
    for section in inf.sections() {
        if let Some(variable) = leftover(&section.name) {
            say(
                section.line,
                variable,
                format!("the section name [{}]", section.name),
            );
        }
        for entry in &section.entries {
            let texts = entry.key.iter().chain(&entry.fields);
            if let Some(variable) = texts.filter_map(|t| leftover(t)).next() {
                say(entry.line, variable, format!("[{}]", section.name));
            }
        }
    }
}

/// S2 `[SourceDisksNames]` beside `[SourceDisksFiles]`, S4 no INF or CAT listed, S5 each listed
/// file present, V5 the catalog not listed.
fn source_files(inf: &Inf, out: &mut Findings, exists: &dyn Fn(&Path) -> bool) {
    let lists: Vec<_> = inf
        .sections()
        .iter()
        .filter(|s| s.name.to_ascii_lowercase().starts_with("sourcedisksfiles"))
        .collect();
    if lists.is_empty() {
        return;
    }
    let names: Vec<_> = inf
        .sections()
        .iter()
        .filter(|s| s.name.to_ascii_lowercase().starts_with("sourcedisksnames"))
        .collect();
    if names.is_empty() {
        out.error(
            Some(lists[0].line),
            "S2",
            "[SourceDisksFiles] needs a [SourceDisksNames] section".into(),
        );
    }
    // Disk id → its path (the 4th field of its entry).
    let disk_path = |id: &str| {
        names.iter().find_map(|s| {
            s.entries
                .iter()
                .find(|e| e.key.as_deref() == Some(id))
                .map(|e| e.fields.get(3).map(|p| inf.expand(p)).unwrap_or_default())
        })
    };
    for section in lists {
        for entry in &section.entries {
            let Some(file) = entry.key.as_deref().map(|k| inf.expand(k)) else {
                continue;
            };
            let lower = file.to_ascii_lowercase();
            if lower.ends_with(".inf") || lower.ends_with(".cat") {
                out.error(
                    Some(entry.line),
                    "S4",
                    format!("{file} may not be listed in [SourceDisksFiles]"),
                );
                continue;
            }
            let disk = entry
                .fields
                .first()
                .map(|d| d.trim().to_owned())
                .unwrap_or_default();
            let Some(path) = disk_path(&disk) else {
                if !names.is_empty() {
                    out.error(
                        Some(entry.line),
                        "S2",
                        format!(
                            "{file} is on disk {disk:?}, which [SourceDisksNames] does not define"
                        ),
                    );
                }
                continue;
            };
            let subdir = entry
                .fields
                .get(1)
                .map(|s| inf.expand(s))
                .unwrap_or_default();
            let relative: PathBuf = [path.as_str(), subdir.as_str(), file.as_str()]
                .iter()
                .flat_map(|part| part.split(['\\', '/']))
                .filter(|p| !p.is_empty() && *p != ".")
                .collect();
            if !exists(&relative) {
                out.error(
                    Some(entry.line),
                    "S5",
                    format!("{} is listed but not in the package", relative.display()),
                );
            }
        }
    }
}

/// M1 a models section for every `[Manufacturer]` entry, M3 decorated for 64-bit platforms, M4
/// a section for each decoration.
fn manufacturer(inf: &Inf, out: &mut Findings) {
    let Some(section) = inf.section("Manufacturer") else {
        return;
    };
    for entry in &section.entries {
        let Some(models) = entry.fields.first().map(|m| inf.expand(m)) else {
            continue;
        };
        if models.trim().is_empty() {
            out.error(
                Some(entry.line),
                "M1",
                "a [Manufacturer] entry names no models section".into(),
            );
            continue;
        }
        let decorations: Vec<String> = entry.fields[1..].iter().map(|d| inf.expand(d)).collect();
        if decorations.is_empty() {
            if inf.section(&models).is_none() {
                out.error(
                    Some(entry.line),
                    "M4",
                    format!("the models section [{models}] is missing"),
                );
            }
            out.warning(Some(entry.line), "M3", format!("[{models}] has no platform decoration: it applies to x86 only; decorate it (NTamd64, NTarm64)"));
            continue;
        }
        for decoration in decorations {
            let name = format!("{models}.{decoration}");
            if inf.section(&name).is_none() {
                out.error(
                    Some(entry.line),
                    "M4",
                    format!("the models section [{name}] is missing"),
                );
            }
        }
    }
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;
    use crate::driver_check::Severity;

    pub(in crate::driver_check) const GOOD: &str = "[Version]\n\
Signature=\"$Windows NT$\"\n\
Class=System\n\
ClassGuid={4d36e97d-e325-11ce-bfc1-08002be10318}\n\
Provider=%Contoso%\n\
DriverVer=11/30/2026,1.2.3.4\n\
CatalogFile=touch.cat\n\
PnpLockdown=1\n\
[SourceDisksNames]\n\
1=%Disk%,,,\\bin\n\
[SourceDisksFiles]\n\
touch.sys=1\n\
[Manufacturer]\n\
%Contoso%=Touch,NTamd64.10.0...17763\n\
[Touch.NTamd64.10.0...17763]\n\
%Device%=Install,ACPI\\CTS0001\n\
[DestinationDirs]\n\
DefaultDestDir=13\n\
[Install.NTamd64]\n\
CopyFiles=Drivers\n\
[Drivers]\n\
touch.sys\n\
[Install.NTamd64.Services]\n\
AddService=touch,0x00000002,Service\n\
[Service]\n\
ServiceType=1\n\
ServiceBinary=%13%\\touch.sys\n\
[Strings]\n\
Contoso=\"Contoso\"\n\
Disk=\"Disk\"\n\
Device=\"Touch\"\n";

    fn check(text: &str, files: &[&str]) -> Vec<Finding> {
        let files: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
        check_inf(
            Path::new("touch.inf"),
            text.as_bytes(),
            &|p| files.iter().any(|f| f == p),
            Mode::default(),
        )
    }

    fn rules(findings: &[Finding]) -> Vec<&'static str> {
        findings.iter().map(|f| f.rule).collect()
    }

    #[test]
    fn a_good_inf_has_no_findings() {
        let findings = check(GOOD, &["bin/touch.sys", "touch.cat"]);
        assert!(findings.is_empty(), "{findings:#?}");
    }

    #[test]
    fn each_rule_fails_with_its_file_and_line() {
        let missing_file = check(GOOD, &["touch.cat"]);
        assert_eq!(rules(&missing_file), ["S5"]);
        assert_eq!(missing_file[0].line, Some(12));
        let cases = [
            (
                "Signature=\"$Windows NT$\"",
                "Signature=\"$Windows 95$\"",
                "V1",
            ),
            (
                "{4d36e97d-e325-11ce-bfc1-08002be10318}",
                "{not-a-guid}",
                "V2",
            ),
            ("Provider=%Contoso%", "Provider=Microsoft Corp", "V3"),
            ("11/30/2026,1.2.3.4", "13/30/2026,1.2.3.4", "V4"),
            ("11/30/2026,1.2.3.4", "11/30/2026,0.0.0.0", "V4"),
            ("CatalogFile=touch.cat", "CatalogFile=touch.txt", "V5"),
            ("touch.sys=1", "touch.sys=2", "S2"),
            ("touch.sys=1", "touch.cat=1", "S4"),
            ("[Touch.NTamd64.10.0...17763]", "[Touch.NTx86]", "M4"),
            ("[Drivers]\ntouch.sys", "[Drivers]\nother.sys", "S1"),
            ("CopyFiles=Drivers", "CopyFiles=@other.sys", "S1"),
            ("CopyFiles=Drivers", "CopyFiles=Missing", "D1"),
            ("DefaultDestDir=13", "Other=13", "D1"),
            ("DefaultDestDir=13", "DefaultDestDir=50", "D2"),
            ("[Install.NTamd64]", "[Setup]", "D4"),
            ("[Install.NTamd64.Services]", "[Install.NTamd64.Svc]", "D4"),
            (
                "AddService=touch,0x00000002,Service",
                "AddService=touch,0x00000002,Service\nAddService=filter,2,Service",
                "D4",
            ),
            ("ServiceBinary=%13%", "ServiceBinary=C:", "D4"),
            (
                "AddService=touch,0x00000002,Service",
                "AddService=touch,2,Absent",
                "D4",
            ),
        ];
        for (from, to, rule) in cases {
            let text = GOOD.replace(from, to);
            let findings = check(&text, &["bin/touch.sys", "touch.cat"]);
            assert!(rules(&findings).contains(&rule), "{rule}: {findings:#?}");
            assert!(findings.iter().all(|f| f.line.is_some()), "{findings:#?}");
        }
        let undecorated = GOOD
            .replace("Touch,NTamd64.10.0...17763", "Touch")
            .replace("[Touch.NTamd64.10.0...17763]", "[Touch]")
            .replace("[Install.NTamd64", "[Install.NTx86");
        let findings = check(&undecorated, &["bin/touch.sys", "touch.cat"]);
        assert_eq!(rules(&findings), ["M3"]);
        assert_eq!(findings[0].severity, Severity::Warning);
    }

    #[test]
    fn a_template_packaged_before_stampinf_is_an_error_at_each_line() {
        let template = GOOD
            .replace("NTamd64.10.0...17763", "NT$ARCH$.10.0...17763")
            .replace(
                "PnpLockdown=1",
                "PnpLockdown=1\nKmdfLibraryVersion=$kmdfversion$",
            );
        let findings = check(&template, &["bin/touch.sys", "touch.cat"]);
        let t1: Vec<(Option<usize>, &str)> = findings
            .iter()
            .filter(|f| f.rule == "T1")
            .map(|f| (f.line, f.message.as_str()))
            .collect();
        assert_eq!(t1.len(), 3, "{findings:#?}");
        assert_eq!(t1[0].0, Some(9), "the variable's line: {t1:?}");
        assert!(t1[0].1.contains("$KMDFVERSION$"), "{t1:?}");
        assert_eq!(t1[1].0, Some(15), "{t1:?}");
        assert!(t1[1].1.contains("$ARCH$"), "{t1:?}");
        assert_eq!(t1[2].0, Some(16), "a section's name: {t1:?}");
        assert!(t1[2].1.contains("[Touch.NT$ARCH$"), "{t1:?}");
        assert!(
            findings
                .iter()
                .filter(|f| f.rule == "T1")
                .all(|f| f.severity == Severity::Error)
        );
        // `$Windows NT$` is no stampinf variable.
        assert!(check(GOOD, &["bin/touch.sys", "touch.cat"]).is_empty());
    }

    #[test]
    fn a_one_digit_month_or_day_is_a_warning_and_two_digits_are_not() {
        for (date, warned) in [
            ("2/1/2023", true),
            ("02/1/2023", true),
            ("2/01/2023", true),
            ("02/01/2023", false),
            ("02-01-2023", false),
        ] {
            let text = GOOD.replace("11/30/2026", date);
            let findings = check(&text, &["bin/touch.sys", "touch.cat"]);
            let v8: Vec<&Finding> = findings.iter().filter(|f| f.rule == "V8").collect();
            assert_eq!(v8.len(), usize::from(warned), "{date}: {findings:#?}");
            assert!(
                v8.iter()
                    .all(|f| f.severity == Severity::Warning && f.line == Some(6))
            );
            assert!(!rules(&findings).contains(&"V4"), "{date}");
        }
    }

    #[test]
    fn an_extension_inf_needs_its_id_and_is_recognised() {
        let extension = GOOD.replace("Class=System", "Class=Extension").replace(
            "{4d36e97d-e325-11ce-bfc1-08002be10318}",
            "{e2f84ce7-8efa-411c-aa69-97454ca4cb57}",
        );
        let findings = check(&extension, &["bin/touch.sys", "touch.cat"]);
        assert_eq!(rules(&findings), ["V7", "E4"]);
        let with_id = extension.replace(
            "PnpLockdown=1",
            "ExtensionId={a1b2c3d4-0000-1111-2222-333344445555}",
        );
        let findings = check(&with_id, &["bin/touch.sys", "touch.cat"]);
        assert_eq!(rules(&findings), ["E4"]);
    }

    #[test]
    fn a_big_endian_or_bomless_utf16_inf_is_an_encoding_error() {
        let utf16: Vec<u8> = GOOD.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let findings = check_inf(Path::new("touch.inf"), &utf16, &|_| true, Mode::default());
        assert_eq!(rules(&findings), ["I1"]);
    }
}
