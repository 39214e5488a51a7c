//! Every known OS code (the values of a product's `requestedSignatures` and of a label's
//! `operatingSystemCode`) with its Windows version, architecture and kind, whether attestation
//! signing accepts it, and the family shorthands that expand to exact lists of them.
//!
//! No API lists the codes (`docs/os-codes.md` says where each one comes from): this table is
//! the documented list plus the codes seen on live products, and a test holds it to the spec's
//! `OsCode` enumeration.

/// The processor architecture an OS code signs for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Arch {
    /// 32-bit x86.
    X86,
    /// x64 (AMD64).
    X64,
    /// 32-bit Arm (Windows RT).
    Arm,
    /// Arm64.
    Arm64,
    /// Itanium.
    Ia64,
}

impl Arch {
    /// The name `hwdc os-codes --arch` takes and prints.
    pub fn as_str(self) -> &'static str {
        match self {
            Arch::X86 => "x86",
            Arch::X64 => "x64",
            Arch::Arm => "arm",
            Arch::Arm64 => "arm64",
            Arch::Ia64 => "ia64",
        }
    }
}

/// Where a code is known from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Source {
    /// Microsoft's list of OS codes (`dashboard/get-product-data`).
    Documented,
    /// Not in the documentation, seen on live products (`docs/os-codes.md` names where).
    Seen,
}

/// One OS code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[non_exhaustive]
pub struct OsCodeInfo {
    /// The code, as the service spells it.
    pub code: &'static str,
    /// The Windows version, with the release's code name where it has one (`11 24H2 (GE)`).
    pub windows: &'static str,
    /// The architecture.
    pub arch: Arch,
    /// Whether it is a Windows Server code.
    pub server: bool,
    /// Whether an attestation product may request it: Windows 10 and later, client only.
    pub attestation: bool,
    /// Where the code is known from.
    pub source: Source,
    /// Microsoft's description of it.
    pub description: &'static str,
}

/// `str::starts_with`, which is not `const`.
const fn starts_with(text: &str, prefix: &str) -> bool {
    let (text, prefix) = (text.as_bytes(), prefix.as_bytes());
    if text.len() < prefix.len() {
        return false;
    }
    let mut i = 0;
    while i < prefix.len() {
        if text[i] != prefix[i] {
            return false;
        }
        i += 1;
    }
    true
}

const fn code(
    code: &'static str,
    windows: &'static str,
    arch: Arch,
    server: bool,
    source: Source,
    description: &'static str,
) -> OsCodeInfo {
    // Attestation-signed drivers load on Windows 10 and later, and Windows Server 2016 and
    // later refuse attestation submissions (`docs/os-codes.md`).
    let v100 = starts_with(code, "WINDOWS_v100_");
    OsCodeInfo {
        code,
        windows,
        arch,
        server,
        attestation: v100 && !server,
        source,
        description,
    }
}

/// Every known code, oldest first (the order of Microsoft's list, the codes seen after it).
pub const ALL: &[OsCodeInfo] = &[
    code(
        "WINDOWS_ME",
        "Me",
        Arch::X86,
        false,
        Source::Documented,
        "Windows Me",
    ),
    code(
        "WINDOWS_98",
        "98",
        Arch::X86,
        false,
        Source::Documented,
        "Windows 98",
    ),
    code(
        "WINDOWS_2000",
        "2000",
        Arch::X86,
        false,
        Source::Documented,
        "Windows 2000",
    ),
    code(
        "WINDOWS_NT40",
        "NT 4.0",
        Arch::X86,
        false,
        Source::Documented,
        "Windows NT 4.0",
    ),
    code(
        "WINDOWS_XP",
        "XP",
        Arch::X86,
        false,
        Source::Documented,
        "Windows XP",
    ),
    code(
        "WINDOWS_XP_IA64",
        "XP",
        Arch::Ia64,
        false,
        Source::Documented,
        "Windows XP IA64",
    ),
    code(
        "WINDOWS_XP_X64",
        "XP",
        Arch::X64,
        false,
        Source::Documented,
        "Windows XP X64",
    ),
    code(
        "WINDOWS_XP_MEDIA_CENTER",
        "XP Media Center",
        Arch::X86,
        false,
        Source::Documented,
        "Windows XP Media Center",
    ),
    code(
        "WINDOWS_2003",
        "Server 2003",
        Arch::X86,
        true,
        Source::Documented,
        "Windows Server 2003",
    ),
    code(
        "WINDOWS_2003_IA64",
        "Server 2003",
        Arch::Ia64,
        true,
        Source::Documented,
        "Windows Server 2003 IA64",
    ),
    code(
        "WINDOWS_2003_X64",
        "Server 2003",
        Arch::X64,
        true,
        Source::Documented,
        "Windows Server 2003 X64",
    ),
    code(
        "WINDOWS_VISTA",
        "Vista",
        Arch::X86,
        false,
        Source::Documented,
        "Windows Vista Client",
    ),
    code(
        "WINDOWS_VISTA_X64",
        "Vista",
        Arch::X64,
        false,
        Source::Documented,
        "Windows Vista Client X64",
    ),
    code(
        "WINDOWS_2008_SERVER",
        "Server 2008",
        Arch::X86,
        true,
        Source::Documented,
        "Windows Server 2008",
    ),
    code(
        "WINDOWS_2008_SERVER_IA64",
        "Server 2008",
        Arch::Ia64,
        true,
        Source::Documented,
        "Windows Server 2008 IA64",
    ),
    code(
        "WINDOWS_2008_SERVER_X64",
        "Server 2008",
        Arch::X64,
        true,
        Source::Documented,
        "Windows Server 2008 X64",
    ),
    code(
        "WINDOWS_HOME_SERVER",
        "Home Server",
        Arch::X86,
        true,
        Source::Documented,
        "Windows Home Server",
    ),
    code(
        "WINDOWS_7",
        "7",
        Arch::X86,
        false,
        Source::Documented,
        "Windows 7 Client",
    ),
    code(
        "WINDOWS_7_X64",
        "7",
        Arch::X64,
        false,
        Source::Documented,
        "Windows 7 Client x64",
    ),
    code(
        "WINDOWS_2008_SERVER_R2_IA64",
        "Server 2008 R2",
        Arch::Ia64,
        true,
        Source::Documented,
        "Windows Server 2008 Release 2 IA64",
    ),
    code(
        "WINDOWS_2008_SERVER_R2_X64",
        "Server 2008 R2",
        Arch::X64,
        true,
        Source::Documented,
        "Windows Server 2008 Release 2 x64",
    ),
    code(
        "WINDOWS_SERVER_SOLUTIONS_X64",
        "Server Solutions",
        Arch::X64,
        true,
        Source::Documented,
        "Windows Server Solutions x64",
    ),
    code(
        "WINDOWS_8",
        "8",
        Arch::X86,
        false,
        Source::Documented,
        "Windows 8 Client",
    ),
    code(
        "WINDOWS_8_X64",
        "8",
        Arch::X64,
        false,
        Source::Documented,
        "Windows 8 Client x64",
    ),
    code(
        "WINDOWS_8_ARM",
        "8 RT",
        Arch::Arm,
        false,
        Source::Documented,
        "Windows 8 Client RT",
    ),
    code(
        "WINDOWS_8_SERVER_X64",
        "Server 2012",
        Arch::X64,
        true,
        Source::Documented,
        "Windows Server 2012",
    ),
    code(
        "WINDOWS_v63",
        "8.1",
        Arch::X86,
        false,
        Source::Documented,
        "Windows 8.1 Client",
    ),
    code(
        "WINDOWS_v63_X64",
        "8.1",
        Arch::X64,
        false,
        Source::Documented,
        "Windows 8.1 Client x64",
    ),
    code(
        "WINDOWS_v63_ARM",
        "8.1 RT",
        Arch::Arm,
        false,
        Source::Documented,
        "Windows 8.1 Client RT",
    ),
    code(
        "WINDOWS_v63_SERVER_X64",
        "Server 2012 R2",
        Arch::X64,
        true,
        Source::Documented,
        "Windows Server 2012 R2 x64",
    ),
    code(
        "WINDOWS_v100_TH1_FULL",
        "10 1507 (TH1)",
        Arch::X86,
        false,
        Source::Documented,
        "Windows 10 Client versions 1506 and 1511 (TH1)",
    ),
    code(
        "WINDOWS_v100_X64_TH1_FULL",
        "10 1507 (TH1)",
        Arch::X64,
        false,
        Source::Documented,
        "Windows 10 Client versions 1506 and 1511 x64 (TH1)",
    ),
    code(
        "WINDOWS_v100_SERVER_X64_TH1_FULL",
        "Server 2016 (TH1)",
        Arch::X64,
        true,
        Source::Documented,
        "Windows Server 2016 x64 (TH1)",
    ),
    code(
        "WINDOWS_v100_TH2_FULL",
        "10 1511 (TH2)",
        Arch::X86,
        false,
        Source::Documented,
        "Windows 10 Client versions 1506 and 1511 (TH2)",
    ),
    code(
        "WINDOWS_v100_X64_TH2_FULL",
        "10 1511 (TH2)",
        Arch::X64,
        false,
        Source::Documented,
        "Windows 10 Client versions 1506 and 1511 x64 (TH2)",
    ),
    code(
        "WINDOWS_v100_SERVER_X64_TH2_FULL",
        "Server 2016 (TH2)",
        Arch::X64,
        true,
        Source::Documented,
        "Windows Server 2016 x64 (TH2)",
    ),
    code(
        "WINDOWS_v100_RS1_FULL",
        "10 1607 (RS1)",
        Arch::X86,
        false,
        Source::Documented,
        "Windows 10 Client version 1607",
    ),
    code(
        "WINDOWS_v100_X64_RS1_FULL",
        "10 1607 (RS1)",
        Arch::X64,
        false,
        Source::Documented,
        "Windows 10 Client version 1607 x64",
    ),
    code(
        "WINDOWS_v100_SERVER_X64_RS1_FULL",
        "Server 2016 (RS1)",
        Arch::X64,
        true,
        Source::Documented,
        "Windows Server 2016 x64 (RS1)",
    ),
    code(
        "WINDOWS_v100_RS2_FULL",
        "10 1703 (RS2)",
        Arch::X86,
        false,
        Source::Documented,
        "Windows 10 RS2 Client",
    ),
    code(
        "WINDOWS_v100_X64_RS2_FULL",
        "10 1703 (RS2)",
        Arch::X64,
        false,
        Source::Documented,
        "Windows 10 RS2 Client x64",
    ),
    code(
        "WINDOWS_v100_RS3_FULL",
        "10 1709 (RS3)",
        Arch::X86,
        false,
        Source::Documented,
        "Windows 10 RS3 Client",
    ),
    code(
        "WINDOWS_v100_X64_RS3_FULL",
        "10 1709 (RS3)",
        Arch::X64,
        false,
        Source::Documented,
        "Windows 10 RS3 Client x64",
    ),
    code(
        "WINDOWS_v100_ARM64_RS3_FULL",
        "10 1709 (RS3)",
        Arch::Arm64,
        false,
        Source::Documented,
        "Windows 10 RS3 Client Arm64",
    ),
    code(
        "WINDOWS_v100_RS4_FULL",
        "10 1803 (RS4)",
        Arch::X86,
        false,
        Source::Documented,
        "Windows 10 RS4 Client",
    ),
    code(
        "WINDOWS_v100_X64_RS4_FULL",
        "10 1803 (RS4)",
        Arch::X64,
        false,
        Source::Documented,
        "Windows 10 RS4 Client x64",
    ),
    code(
        "WINDOWS_v100_ARM64_RS4_FULL",
        "10 1803 (RS4)",
        Arch::Arm64,
        false,
        Source::Documented,
        "Windows 10 RS4 Client Arm64",
    ),
    code(
        "WINDOWS_v100_SERVER_X64_RS5_FULL",
        "Server 2019 (RS5)",
        Arch::X64,
        true,
        Source::Documented,
        "Windows Server 2019",
    ),
    code(
        "WINDOWS_v100_RS5_FULL",
        "10 1809 (RS5)",
        Arch::X86,
        false,
        Source::Documented,
        "Windows 10 RS5 x86",
    ),
    code(
        "WINDOWS_v100_X64_RS5_FULL",
        "10 1809 (RS5)",
        Arch::X64,
        false,
        Source::Documented,
        "Windows 10 RS5 Client x64",
    ),
    code(
        "WINDOWS_v100_19H1_FULL",
        "10 1903 (19H1)",
        Arch::X86,
        false,
        Source::Documented,
        "Windows 19H1 Client x86",
    ),
    code(
        "WINDOWS_v100_X64_19H1_FULL",
        "10 1903 (19H1)",
        Arch::X64,
        false,
        Source::Documented,
        "Windows 19H1 Client x64",
    ),
    code(
        "WINDOWS_v100_ARM64_19H1_FULL",
        "10 1903 (19H1)",
        Arch::Arm64,
        false,
        Source::Documented,
        "Windows 19H1 Client Arm64",
    ),
    code(
        "WINDOWS_v100_VB_FULL",
        "10 2004 (VB)",
        Arch::X86,
        false,
        Source::Documented,
        "Windows 10 version 2004 Client x86",
    ),
    code(
        "WINDOWS_v100_X64_VB_FULL",
        "10 2004 (VB)",
        Arch::X64,
        false,
        Source::Documented,
        "Windows version 2004 Client x64",
    ),
    code(
        "WINDOWS_v100_ARM64_VB_FULL",
        "10 2004 (VB)",
        Arch::Arm64,
        false,
        Source::Documented,
        "Windows version 2004 Client Arm64",
    ),
    code(
        "WINDOWS_v100_SERVER_X64_FE_FULL",
        "Server 2022 (FE)",
        Arch::X64,
        true,
        Source::Documented,
        "Windows - Server, version 21H2 x64",
    ),
    code(
        "WINDOWS_v100_SERVER_ARM64_FE_FULL",
        "Server 2022 (FE)",
        Arch::Arm64,
        true,
        Source::Documented,
        "Windows - Server, version 21H2 Arm64",
    ),
    code(
        "WINDOWS_v100_X64_CO_FULL",
        "11 21H2 (CO)",
        Arch::X64,
        false,
        Source::Documented,
        "Windows - Client, version 21H2 x64",
    ),
    code(
        "WINDOWS_v100_ARM64_CO_FULL",
        "11 21H2 (CO)",
        Arch::Arm64,
        false,
        Source::Documented,
        "Windows - Client, version 21H2 Arm64",
    ),
    code(
        "WINDOWS_v100_X64_NI_FULL",
        "11 22H2 (NI)",
        Arch::X64,
        false,
        Source::Documented,
        "Windows 11 Client, version 22H2 x64",
    ),
    code(
        "WINDOWS_v100_ARM64_NI_FULL",
        "11 22H2 (NI)",
        Arch::Arm64,
        false,
        Source::Documented,
        "Windows 11 Client, version 22H2 Arm64",
    ),
    code(
        "WINDOWS_v100_X64_GE_FULL",
        "11 24H2 (GE)",
        Arch::X64,
        false,
        Source::Documented,
        "Windows 11 Client, version 24H2 x64",
    ),
    code(
        "WINDOWS_v100_ARM64_GE_FULL",
        "11 24H2 (GE)",
        Arch::Arm64,
        false,
        Source::Documented,
        "Windows 11 Client, version 24H2 ARM64",
    ),
    code(
        "WINDOWS_v100_SERVER_X64_GE_FULL",
        "Server 2025 (GE)",
        Arch::X64,
        true,
        Source::Documented,
        "Windows Server 2025 x64",
    ),
    code(
        "WINDOWS_v100_SERVER_ARM64_GE_FULL",
        "Server 2025 (GE)",
        Arch::Arm64,
        true,
        Source::Documented,
        "Windows Server 2025 ARM64",
    ),
    code(
        "WINDOWS_v100_X64_25H2_FULL",
        "11 25H2",
        Arch::X64,
        false,
        Source::Seen,
        "(undocumented; seen on live products)",
    ),
    code(
        "WINDOWS_v100_X64_26H1_FULL",
        "11 26H1",
        Arch::X64,
        false,
        Source::Seen,
        "(undocumented; seen on live products)",
    ),
];

/// The code `code` names, in any case.
pub fn lookup(code: &str) -> Option<&'static OsCodeInfo> {
    ALL.iter().find(|c| c.code.eq_ignore_ascii_case(code))
}

/// A shorthand for a list of codes (`win11-x64`), documented in `docs/os-codes.md`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[non_exhaustive]
pub struct Family {
    /// The shorthand.
    pub name: &'static str,
    /// What it covers.
    pub description: &'static str,
    /// The codes it expands to, exactly.
    pub codes: &'static [&'static str],
}

/// Every family shorthand.
pub const FAMILIES: &[Family] = &[
    Family {
        name: "win10-x86",
        description: "Windows 10 client, x86, every release from 1507 to 2004",
        codes: &[
            "WINDOWS_v100_TH1_FULL",
            "WINDOWS_v100_TH2_FULL",
            "WINDOWS_v100_RS1_FULL",
            "WINDOWS_v100_RS2_FULL",
            "WINDOWS_v100_RS3_FULL",
            "WINDOWS_v100_RS4_FULL",
            "WINDOWS_v100_RS5_FULL",
            "WINDOWS_v100_19H1_FULL",
            "WINDOWS_v100_VB_FULL",
        ],
    },
    Family {
        name: "win10-x64",
        description: "Windows 10 client, x64, every release from 1507 to 2004",
        codes: &[
            "WINDOWS_v100_X64_TH1_FULL",
            "WINDOWS_v100_X64_TH2_FULL",
            "WINDOWS_v100_X64_RS1_FULL",
            "WINDOWS_v100_X64_RS2_FULL",
            "WINDOWS_v100_X64_RS3_FULL",
            "WINDOWS_v100_X64_RS4_FULL",
            "WINDOWS_v100_X64_RS5_FULL",
            "WINDOWS_v100_X64_19H1_FULL",
            "WINDOWS_v100_X64_VB_FULL",
        ],
    },
    Family {
        name: "win10-arm64",
        description: "Windows 10 client, Arm64, every release from 1709 to 2004",
        codes: &[
            "WINDOWS_v100_ARM64_RS3_FULL",
            "WINDOWS_v100_ARM64_RS4_FULL",
            "WINDOWS_v100_ARM64_19H1_FULL",
            "WINDOWS_v100_ARM64_VB_FULL",
        ],
    },
    Family {
        name: "win11-x64",
        description: "Windows 11 client, x64: 21H2, 22H2, 24H2, 25H2 and 26H1",
        codes: &[
            "WINDOWS_v100_X64_CO_FULL",
            "WINDOWS_v100_X64_NI_FULL",
            "WINDOWS_v100_X64_GE_FULL",
            "WINDOWS_v100_X64_25H2_FULL",
            "WINDOWS_v100_X64_26H1_FULL",
        ],
    },
    Family {
        name: "win11-arm64",
        description: "Windows 11 client, Arm64: 21H2, 22H2 and 24H2",
        codes: &[
            "WINDOWS_v100_ARM64_CO_FULL",
            "WINDOWS_v100_ARM64_NI_FULL",
            "WINDOWS_v100_ARM64_GE_FULL",
        ],
    },
    Family {
        name: "server-x64",
        description: "Windows Server 2016 to 2025, x64 (not for attestation)",
        codes: &[
            "WINDOWS_v100_SERVER_X64_TH1_FULL",
            "WINDOWS_v100_SERVER_X64_TH2_FULL",
            "WINDOWS_v100_SERVER_X64_RS1_FULL",
            "WINDOWS_v100_SERVER_X64_RS5_FULL",
            "WINDOWS_v100_SERVER_X64_FE_FULL",
            "WINDOWS_v100_SERVER_X64_GE_FULL",
        ],
    },
    Family {
        name: "server-arm64",
        description: "Windows Server 2022 and 2025, Arm64 (not for attestation)",
        codes: &[
            "WINDOWS_v100_SERVER_ARM64_FE_FULL",
            "WINDOWS_v100_SERVER_ARM64_GE_FULL",
        ],
    },
];

/// The family `name` names, in any case.
pub fn family(name: &str) -> Option<&'static Family> {
    FAMILIES.iter().find(|f| f.name.eq_ignore_ascii_case(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use hw_api_gen::types::OsCode;

    #[test]
    fn the_table_is_the_specs_enumeration() {
        let spec: Vec<&str> = OsCode::KNOWN.iter().map(OsCode::as_str).collect();
        let table: Vec<&str> = ALL.iter().map(|c| c.code).collect();
        assert_eq!(
            table, spec,
            "ALL must list the spec's OsCode values, in its order"
        );
    }

    #[test]
    fn a_const_prefix_test() {
        assert!(starts_with("WINDOWS_v100_", "WINDOWS_v100_"));
        assert!(starts_with("WINDOWS_v100_X64", "WINDOWS_v100_"));
        assert!(!starts_with("WINDOWS_v10", "WINDOWS_v100_"));
        assert!(!starts_with("WINDOWS_v63_X64_ABC", "WINDOWS_v100_"));
        assert!(!starts_with("WINDOWS_v101_X64", "WINDOWS_v100_"));
        assert!(!starts_with("XINDOWS_v100_X64", "WINDOWS_v100_"));
    }

    #[test]
    fn architectures_are_named_as_the_flag_takes_them() {
        let names: Vec<&str> = [Arch::X86, Arch::X64, Arch::Arm, Arch::Arm64, Arch::Ia64]
            .iter()
            .map(|a| a.as_str())
            .collect();
        assert_eq!(names, ["x86", "x64", "arm", "arm64", "ia64"]);
    }

    #[test]
    fn attestation_takes_windows_10_and_later_clients_only() {
        let info = |c: &str| lookup(c).unwrap();
        assert!(info("windows_v100_x64_26h1_full").attestation);
        assert!(info("WINDOWS_v100_ARM64_RS3_FULL").attestation);
        assert!(!info("WINDOWS_v100_SERVER_X64_GE_FULL").attestation);
        assert!(!info("WINDOWS_v100_SERVER_X64_TH1_FULL").attestation);
        assert!(!info("WINDOWS_v63_X64").attestation);
        assert!(!info("WINDOWS_8_SERVER_X64").attestation);
        assert_eq!(ALL.iter().filter(|c| c.attestation).count(), 30);
        for c in ALL {
            assert_eq!(
                c.server,
                c.code.contains("SERVER") || c.windows.starts_with("Server"),
                "{}",
                c.code
            );
            let named = match c.arch {
                Arch::X64 => c.code.contains("X64"),
                Arch::Arm64 => c.code.contains("ARM64"),
                Arch::Ia64 => c.code.contains("IA64"),
                Arch::Arm => c.code.ends_with("_ARM"),
                Arch::X86 => !["X64", "ARM", "IA64"].iter().any(|a| c.code.contains(a)),
                #[allow(unreachable_patterns)]
                _ => false,
            };
            assert!(named, "{} is not {:?}", c.code, c.arch);
        }
        assert_eq!(lookup("WINDOWS_v100_X64_SV3_FULL"), None);
    }

    #[test]
    fn every_family_lists_known_codes_of_one_architecture_and_kind() {
        for f in FAMILIES {
            let infos: Vec<_> = f.codes.iter().map(|c| lookup(c).expect(c)).collect();
            assert!(infos.iter().all(|i| i.arch == infos[0].arch), "{}", f.name);
            assert!(
                infos
                    .iter()
                    .all(|i| i.server == f.name.starts_with("server")),
                "{}",
                f.name
            );
            assert!(f.name.ends_with(infos[0].arch.as_str()), "{}", f.name);
        }
        assert_eq!(family("WIN11-X64").unwrap().codes.len(), 5);
        assert!(family("win12-x64").is_none());
    }
}
