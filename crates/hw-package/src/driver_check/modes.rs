//! The rule sets of InfVerif's modes (`docs/package-rules.md`, "Modes"): the destinations (D2)
//! and registry roots (D5) each mode accepts, the legacy sections and directives a universal INF
//! may not use (D6), an undecorated `[DefaultInstall]` (D8), a `ProductType` or `SuiteMask` in a
//! target OS decoration (M6) and `PnpLockdown=1` (V6).

use super::finding::Findings;
use super::install::number;
use crate::inf::Inf;

/// The rule set an INF is checked against, as InfVerif's modes name them.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize,
)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
#[non_exhaustive]
pub enum Mode {
    /// What an attestation or HLK submission needs (the default): InfVerif `/h`'s rules, as
    /// warnings, since which mode the portal runs is not documented; the universal rules as
    /// warnings, as InfVerif reports them without `/u`.
    #[default]
    Submission,
    /// InfVerif `/h` (a Windows Desktop driver, the WHQL signature's rules): its destinations
    /// and registry roots are errors; the universal rules warnings.
    Desktop,
    /// InfVerif `/u`: a universal INF.
    Universal,
    /// InfVerif `/k`: a declarative INF (the same rules as universal here; see the docs).
    Declarative,
    /// InfVerif `/w`: a Windows Driver (universal plus driver package isolation).
    WindowsDriver,
}

impl Mode {
    /// Every mode, the default first.
    pub const ALL: [Mode; 5] = [
        Mode::Submission,
        Mode::Desktop,
        Mode::Universal,
        Mode::Declarative,
        Mode::WindowsDriver,
    ];

    /// The name on the command line and in JSON (`windows-driver`).
    pub fn name(self) -> &'static str {
        match self {
            Mode::Submission => "submission",
            Mode::Desktop => "desktop",
            Mode::Universal => "universal",
            Mode::Declarative => "declarative",
            Mode::WindowsDriver => "windows-driver",
        }
    }

    /// Whether the universal rules (D6, D8, M6) are errors: `/u`, `/k` and `/w`.
    fn universal(self) -> bool {
        matches!(
            self,
            Mode::Universal | Mode::Declarative | Mode::WindowsDriver
        )
    }
}

impl std::fmt::Display for Mode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The DIRIDs InfVerif `/h` accepts besides 13 (Learn `devtest/infverif_h.md`).
const H_DIRIDS: &[u32] = &[
    10, 11, 12, 23, 51, 52, 55, 16422, 16425, 16426, 16427, 16428, 66000, 66001, 66002, 66003,
    66004,
];

/// The `HKLM` subkeys InfVerif `/h` accepts (Learn `devtest/infverif_h.md`, "as of April 2024").
const H_HKLM: &[&str] = &[
    r"SYSTEM\CurrentControlSet",
    r"SOFTWARE\Classes",
    r"SOFTWARE\Khronos",
    r"SOFTWARE\Microsoft\Analog\Providers",
    r"SOFTWARE\Microsoft\Cellular\MVSettings\DeviceSpecific\CellUX",
    r"SOFTWARE\Microsoft\Cryptography\Calais\Readers",
    r"SOFTWARE\Microsoft\Cryptography\Calais\SmartCards",
    r"SOFTWARE\Microsoft\Cryptography\DRM_RNG",
    r"SOFTWARE\Microsoft\EAPOL",
    r"SOFTWARE\Microsoft\Palm\DelayManipulationDuration",
    r"SOFTWARE\Microsoft\Shell\OEM\QuickActions\ColorProfileQuickAction",
    r"SOFTWARE\Microsoft\Speech_OneCore\AudioInput",
    r"SOFTWARE\Microsoft\Windows Media Foundation",
    r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\AdaptiveDisplayBrightness",
    r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\drivers.desc",
    r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\Drivers32",
    r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\ICM",
    r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\OpenGlDrivers",
    r"SOFTWARE\Microsoft\Windows NT\CurrentVersion\Winlogon\Notify\ScCertProp",
    r"SOFTWARE\Microsoft\Windows\CurrentVersion\App Paths",
    r"SOFTWARE\Microsoft\Windows\CurrentVersion\Audio",
    r"SOFTWARE\Microsoft\Windows\CurrentVersion\Authentication",
    r"SOFTWARE\Microsoft\Windows\CurrentVersion\Control Panel",
    r"SOFTWARE\Microsoft\Windows\CurrentVersion\Controls Folder",
    r"SOFTWARE\Microsoft\Windows\CurrentVersion\Explorer",
    r"SOFTWARE\Microsoft\Windows\CurrentVersion\Reliability\UserDefined",
    r"SOFTWARE\Microsoft\Windows\CurrentVersion\Run",
    r"SOFTWARE\Microsoft\Windows\CurrentVersion\RunOnce",
    r"SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall",
    r"SOFTWARE\Wow6432Node\Microsoft\Windows Media Foundation",
    r"SOFTWARE\Wow6432Node\Khronos",
    r"SOFTWARE\WowAA32Node\Microsoft\Windows Media Foundation",
    r"SOFTWARE\WowAA32Node\Khronos",
];

/// The `HKLM` subkeys a universal INF may write: COM classes and hardware MFTs (Learn
/// `install/using-a-universal-inf-file.md`).
const U_HKLM: &[&str] = &[
    r"SOFTWARE\Classes",
    r"SOFTWARE\Microsoft\Windows Media Foundation",
    r"SOFTWARE\WOW6432Node\Microsoft\Windows Media Foundation",
    r"SOFTWARE\WOW3232Node\Microsoft\Windows Media Foundation",
];

/// The sections a universal INF may not have, by the end of their names (D6).
const LEGACY_SECTIONS: &[&str] = &[".coinstallers", ".factdef", ".logconfigoverride"];

/// The directives a universal INF may not use (D6).
const LEGACY_DIRECTIVES: &[&str] = &[
    "BitReg",
    "DelFiles",
    "DelProperty",
    "DelReg",
    "DelService",
    "Ini2Reg",
    "LogConfig",
    "ProfileItems",
    "RegisterDlls",
    "RenFiles",
    "UnregisterDlls",
    "UpdateIniFields",
    "UpdateInis",
];

/// Runs the rules `mode` adds on `inf`.
pub(super) fn check(inf: &Inf, out: &mut Findings, mode: Mode) {
    destinations(inf, out, mode);
    registry(inf, out, mode);
    legacy(inf, out, mode);
    default_install(inf, out, mode);
    target_os(inf, out, mode);
    lockdown(inf, out, mode);
}

/// Adds a finding that is an error when `error`, else a warning.
fn say(out: &mut Findings, error: bool, line: usize, rule: &'static str, message: String) {
    if error {
        out.error(Some(line), rule, message);
    } else {
        out.warning(Some(line), rule, message);
    }
}

/// D2: each `[DestinationDirs]` entry is a destination the mode accepts: `/h`'s list (an error
/// in desktop, a warning in submission), 11, 12, 13 or 10 with a subdirectory (universal and
/// declarative), 13 only (windows-driver, 1322).
fn destinations(inf: &Inf, out: &mut Findings, mode: Mode) {
    let Some(section) = inf.section("DestinationDirs") else {
        return;
    };
    for entry in &section.entries {
        let Some(dirid) = entry.fields.first().map(|f| inf.expand(f)) else {
            continue;
        };
        let subdir = entry.fields.get(1).map(|f| inf.expand(f));
        let has_subdir = subdir.as_deref().is_some_and(|s| !s.trim().is_empty());
        let id = number(&dirid);
        let (accepted, what) = match mode {
            Mode::Submission | Mode::Desktop => (
                id.is_some_and(|n| n == 13 || H_DIRIDS.contains(&n)),
                "InfVerif /h accepts only DIRID 13 (the Driver Store) and its listed exceptions",
            ),
            Mode::Universal | Mode::Declarative => (
                matches!(id, Some(11..=13)) || (id == Some(10) && has_subdir),
                "a universal INF copies only to DIRID 11, 12, 13, or 10 with a subdirectory",
            ),
            Mode::WindowsDriver => (
                id == Some(13),
                "driver package isolation copies only to DIRID 13 (the Driver Store) (1322)",
            ),
        };
        if !accepted {
            say(
                out,
                mode != Mode::Submission,
                entry.line,
                "D2",
                format!("the destination {}: {what}", dirid.trim()),
            );
        }
    }
}

/// Whether `subkey` is one of `keys` or below one (registry paths ignore case).
fn under(subkey: &str, keys: &[&str]) -> bool {
    let subkey = subkey.trim().trim_matches('\\').to_ascii_lowercase();
    keys.iter().any(|key| {
        let key = key.to_ascii_lowercase();
        subkey == key
            || subkey
                .strip_prefix(&key)
                .is_some_and(|rest| rest.starts_with('\\'))
    })
}

/// D5: each entry of every add-registry section writes under a root the mode accepts; D6: none
/// registers a co-installer (1303).
fn registry(inf: &Inf, out: &mut Findings, mode: Mode) {
    let lists = inf
        .sections()
        .iter()
        .flat_map(|s| s.entries.iter())
        .filter(|e| e.is("AddReg"))
        .flat_map(|e| e.fields.iter().map(|f| inf.expand(f)));
    let mut seen = std::collections::BTreeSet::new();
    for list in lists {
        let list = list.trim().to_owned();
        if list.is_empty() || !seen.insert(list.to_ascii_lowercase()) {
            continue;
        }
        let Some(section) = inf.section(&list) else {
            continue;
        };
        for entry in section.entries.iter().filter(|e| e.key.is_none()) {
            let field = |i: usize| {
                entry
                    .fields
                    .get(i)
                    .map(|f| inf.expand(f))
                    .unwrap_or_default()
            };
            let root = field(0).trim().to_ascii_uppercase();
            let subkey = field(1);
            if field(2).trim().eq_ignore_ascii_case("CoInstallers32") {
                say(
                    out,
                    mode.universal(),
                    entry.line,
                    "D6",
                    format!(
                        "[{}] registers a co-installer (CoInstallers32): co-installers are legacy, not allowed in a universal INF (1303)",
                        section.name
                    ),
                );
            }
            let accepted = match root.as_str() {
                "HKR" => true,
                "HKCR" => mode != Mode::WindowsDriver,
                "HKLM" => match mode {
                    Mode::Submission | Mode::Desktop => under(&subkey, H_HKLM),
                    Mode::Universal | Mode::Declarative => under(&subkey, U_HKLM),
                    Mode::WindowsDriver => false,
                },
                _ => false,
            };
            let what = match mode {
                Mode::Submission | Mode::Desktop => {
                    "InfVerif /h accepts only HKR, HKCR and its listed HKLM subkeys"
                }
                Mode::Universal | Mode::Declarative => {
                    "a universal INF writes only under HKR, or HKCR, HKLM\\SOFTWARE\\Classes and the Media Foundation keys (1304)"
                }
                Mode::WindowsDriver => {
                    "driver package isolation writes only under HKR (1320, 1321)"
                }
            };
            if !accepted {
                let place = if subkey.trim().is_empty() {
                    root.clone()
                } else {
                    format!("{root}\\{}", subkey.trim())
                };
                say(
                    out,
                    mode != Mode::Submission,
                    entry.line,
                    "D5",
                    format!("[{}] writes under {place}: {what}", section.name),
                );
            }
        }
    }
}

/// D6: the sections and directives a universal INF may not use (errors in universal,
/// declarative and windows-driver; warnings otherwise, as InfVerif reports them without `/u`).
fn legacy(inf: &Inf, out: &mut Findings, mode: Mode) {
    for section in inf.sections() {
        let lower = section.name.to_ascii_lowercase();
        if lower == "classinstall32" || lower.starts_with("classinstall32.") {
            say(
                out,
                mode.universal(),
                section.line,
                "D6",
                format!(
                    "[{}]: a class installer is legacy, not allowed in a universal INF (use an existing class, or Class=Extension)",
                    section.name
                ),
            );
        } else if let Some(kind) = LEGACY_SECTIONS.iter().find(|k| lower.ends_with(**k)) {
            say(
                out,
                mode.universal(),
                section.line,
                "D6",
                format!(
                    "[{}]: a DDInstall{kind} section is legacy, not allowed in a universal INF",
                    section.name
                ),
            );
        }
        if lower.starts_with("strings") {
            continue;
        }
        for entry in &section.entries {
            if let Some(directive) = LEGACY_DIRECTIVES.iter().find(|d| entry.is(d)) {
                say(
                    out,
                    mode.universal(),
                    entry.line,
                    "D6",
                    format!(
                        "[{}] uses {directive}, a legacy directive not allowed in a universal INF",
                        section.name
                    ),
                );
            }
        }
    }
}

/// D8: `[DefaultInstall]` has an architecture decoration (`[DefaultInstall.NTamd64]`).
fn default_install(inf: &Inf, out: &mut Findings, mode: Mode) {
    for section in inf.sections() {
        let lower = section.name.to_ascii_lowercase();
        if lower == "defaultinstall" || lower == "defaultinstall.nt" {
            say(
                out,
                mode.universal(),
                section.line,
                "D8",
                format!(
                    "[{}] has no architecture decoration: a universal INF decorates it, as [DefaultInstall.NTamd64]",
                    section.name
                ),
            );
        }
    }
}

/// M6: no `[Manufacturer]` decoration names a ProductType or SuiteMask
/// (`NT[arch].[major].[minor].[ProductType].[SuiteMask].[build]`).
fn target_os(inf: &Inf, out: &mut Findings, mode: Mode) {
    let Some(section) = inf.section("Manufacturer") else {
        return;
    };
    for entry in &section.entries {
        for decoration in entry.fields.iter().skip(1).map(|d| inf.expand(d)) {
            let parts: Vec<&str> = decoration.trim().split('.').collect();
            let set = |i: usize| parts.get(i).is_some_and(|p| !p.trim().is_empty());
            if set(3) || set(4) {
                say(
                    out,
                    mode.universal(),
                    entry.line,
                    "M6",
                    format!(
                        "the decoration {} names a ProductType or SuiteMask, which a universal INF may not",
                        decoration.trim()
                    ),
                );
            }
        }
    }
}

/// V6: `PnpLockdown=1` in `[Version]` (1324: an error in windows-driver, a warning in universal
/// and declarative).
fn lockdown(inf: &Inf, out: &mut Findings, mode: Mode) {
    if !mode.universal() {
        return;
    }
    let Some(section) = inf.section("Version") else {
        return;
    };
    let value = inf.value("Version", "PnpLockdown");
    if value.as_deref().map(str::trim) != Some("1") {
        let line = section
            .entry("PnpLockdown")
            .map_or(section.line, |e| e.line);
        say(
            out,
            mode == Mode::WindowsDriver,
            line,
            "V6",
            "[Version] should say PnpLockdown=1 (1324)".into(),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::Mode;
    use crate::driver_check::per_inf::tests::GOOD;
    use crate::driver_check::{Severity, check_inf};

    /// The findings of `text` in each mode of [`Mode::ALL`], written as the tests expect them:
    /// per mode `E` (the rule once, an error), `w` (once, a warning) or `-` (no finding), and
    /// the rule of each finding.
    fn per_mode(text: &str) -> (String, Vec<&'static str>) {
        let mut marks = String::new();
        let mut rules = Vec::new();
        for mode in Mode::ALL {
            let found = check_inf(Path::new("touch.inf"), text.as_bytes(), &|_| true, mode);
            marks.push(match found.as_slice() {
                [] => '-',
                [one] if one.severity == Severity::Error => 'E',
                [_] => 'w',
                _ => panic!("{mode}: more than one finding: {found:#?}"),
            });
            rules.extend(found.iter().map(|f| f.rule));
        }
        rules.dedup();
        (marks, rules)
    }

    /// GOOD with `from` replaced by `to` (which must be there).
    fn edit(from: &str, to: &str) -> String {
        assert!(GOOD.contains(from), "{from}");
        GOOD.replacen(from, to, 1)
    }

    /// GOOD whose install section writes `line` through an add-registry section.
    fn writes(line: &str) -> String {
        edit("CopyFiles=Drivers\n", "CopyFiles=Drivers\nAddReg=Reg\n") + "[Reg]\n" + line + "\n"
    }

    #[test]
    fn the_good_inf_passes_every_mode() {
        assert_eq!(per_mode(GOOD), ("-----".into(), vec![]));
    }

    #[test]
    fn each_mode_accepts_its_own_destinations() {
        let cases = [
            ("DefaultDestDir=50", "wEEEE"),
            ("DefaultDestDir=12", "----E"),
            ("DefaultDestDir=11", "----E"),
            ("DefaultDestDir=10", "--EEE"),
            ("DefaultDestDir=10,Contoso", "----E"),
            ("DefaultDestDir=23", "--EEE"),
            ("DefaultDestDir=0x0D", "-----"),
        ];
        for (to, marks) in cases {
            let (got, rules) = per_mode(&edit("DefaultDestDir=13", to));
            assert_eq!(got, marks, "{to}");
            let want: &[&str] = if marks == "-----" { &[] } else { &["D2"] };
            assert_eq!(rules, want, "{to}");
        }
    }

    #[test]
    fn each_mode_accepts_its_own_registry_roots() {
        let cases = [
            ("HKR,,Foo,0x00010001,1", "-----"),
            (r#"HKLM,"SOFTWARE\Contoso",Foo,0x00010001,1"#, "wEEEE"),
            (r#"HKLM,"SOFTWARE\ClassesX",Foo,0x00010001,1"#, "wEEEE"),
            (
                r#"HKLM,"SOFTWARE\Microsoft\Windows\CurrentVersion\Run",Foo,,"x.exe""#,
                "--EEE",
            ),
            (r#"HKLM,"\software\classes\CLSID\{1}",,,"x""#, "----E"),
            (
                r#"HKLM,"SOFTWARE\Microsoft\Windows Media Foundation\HardwareMFT",Foo,,1"#,
                "----E",
            ),
            (
                r#"HKLM,"SYSTEM\CurrentControlSet\Control\Contoso",Foo,,1"#,
                "--EEE",
            ),
            (r#"HKCR,"CLSID\{1}",,,"x""#, "----E"),
            (r#"HKCU,"Software\Contoso",Foo,,1"#, "wEEEE"),
        ];
        for (line, marks) in cases {
            // Named twice, the section is read once.
            let text = writes(line).replace("AddReg=Reg\n", "AddReg=Reg, Reg\n");
            let (got, rules) = per_mode(&text);
            assert_eq!(got, marks, "{line}");
            let want: &[&str] = if marks == "-----" { &[] } else { &["D5"] };
            assert_eq!(rules, want, "{line}");
        }
    }

    #[test]
    fn legacy_constructs_are_errors_only_in_the_universal_modes() {
        let cases = [
            writes(r#"HKR,,CoInstallers32,0x00010000,"co.dll,Entry""#),
            GOOD.to_owned() + "[ClassInstall32]\nAddReg=ClassReg\n",
            GOOD.to_owned() + "[ClassInstall32.NTamd64]\n",
            GOOD.to_owned() + "[Install.NTamd64.CoInstallers]\n",
            GOOD.to_owned() + "[Install.NTamd64.FactDef]\n",
            GOOD.to_owned() + "[Install.NTamd64.LogConfigOverride]\n",
            edit("CopyFiles=Drivers\n", "CopyFiles=Drivers\nDelFiles=Old\n"),
            edit(
                "CopyFiles=Drivers\n",
                "CopyFiles=Drivers\nregisterdlls=Dlls\n",
            ),
            edit("ServiceType=1\n", "ServiceType=1\nDelReg=Old\n"),
        ];
        for text in cases {
            assert_eq!(per_mode(&text), ("wwEEE".into(), vec!["D6"]), "{text}");
        }
        // A string that merely has a directive's name is not one.
        let string = GOOD.to_owned() + "DelReg=\"Delete\"\n";
        assert_eq!(per_mode(&string), ("-----".into(), vec![]));
    }

    #[test]
    fn default_install_needs_an_architecture_in_the_universal_modes() {
        for name in ["DefaultInstall", "defaultinstall.NT"] {
            let text = GOOD.to_owned() + &format!("[{name}]\nCopyFiles=Drivers\n");
            assert_eq!(per_mode(&text), ("wwEEE".into(), vec!["D8"]), "{name}");
        }
        let decorated = GOOD.to_owned() + "[DefaultInstall.NTamd64]\nCopyFiles=Drivers\n";
        assert_eq!(per_mode(&decorated), ("-----".into(), vec![]));
    }

    #[test]
    fn a_product_type_or_suite_mask_is_refused_by_the_universal_modes() {
        for decoration in ["NTamd64.10.0.1", "NTamd64.10.0..0x80"] {
            let text = edit("Touch,NTamd64.10.0...17763", &format!("Touch,{decoration}")).replace(
                "[Touch.NTamd64.10.0...17763]",
                &format!("[Touch.{decoration}]"),
            );
            assert_eq!(
                per_mode(&text),
                ("wwEEE".into(), vec!["M6"]),
                "{decoration}"
            );
        }
    }

    #[test]
    fn pnp_lockdown_is_an_error_for_a_windows_driver_and_a_warning_when_universal() {
        for to in ["", "PnpLockdown=0\n"] {
            let (marks, rules) = per_mode(&edit("PnpLockdown=1\n", to));
            assert_eq!((marks.as_str(), rules), ("--wwE", vec!["V6"]), "{to:?}");
        }
    }

    #[test]
    fn modes_are_named_as_on_the_command_line() {
        let names: Vec<&str> = Mode::ALL.iter().map(|m| m.name()).collect();
        assert_eq!(
            names,
            [
                "submission",
                "desktop",
                "universal",
                "declarative",
                "windows-driver"
            ]
        );
        assert_eq!(Mode::default(), Mode::Submission);
        assert_eq!(Mode::WindowsDriver.to_string(), "windows-driver");
        assert_eq!(
            serde_json::to_string(&Mode::WindowsDriver).unwrap(),
            "\"windows-driver\""
        );
    }
}
