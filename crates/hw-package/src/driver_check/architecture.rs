//! Architectures (`docs/package-rules.md`, "Architectures"): those an INF's `[Manufacturer]`
//! decorations cover, and those a product's requested signatures ask for.

use std::collections::BTreeSet;

use crate::inf::Inf;

/// A processor architecture, as INF decorations name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum Arch {
    /// 32-bit x86 (`NTx86`, `NT`, or no decoration).
    X86,
    /// x64 (`NTamd64`).
    Amd64,
    /// 64-bit Arm (`NTarm64`).
    Arm64,
    /// 32-bit Arm (`NTarm`).
    Arm,
    /// Itanium (`NTia64`).
    Ia64,
}

impl Arch {
    /// The name in decorations after `NT` (`amd64`).
    pub fn suffix(self) -> &'static str {
        match self {
            Arch::X86 => "x86",
            Arch::Amd64 => "amd64",
            Arch::Arm64 => "arm64",
            Arch::Arm => "arm",
            Arch::Ia64 => "ia64",
        }
    }

    /// The name for messages.
    pub fn name(self) -> &'static str {
        self.suffix()
    }

    /// The architecture of a decoration such as `NTamd64.10.0...17763`, when it names one.
    pub fn of_decoration(decoration: &str) -> Option<Arch> {
        let platform = decoration
            .trim()
            .split('.')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        match platform.as_str() {
            "nt" | "ntx86" => Some(Arch::X86),
            "ntamd64" => Some(Arch::Amd64),
            "ntarm64" => Some(Arch::Arm64),
            "ntarm" => Some(Arch::Arm),
            "ntia64" => Some(Arch::Ia64),
            _ => None,
        }
    }

    /// The architecture a requested signature's OS code asks for: `ARM64` in the code is arm64,
    /// `X64` amd64, and a code with neither (`WINDOWS_v100_VB_FULL`) x86.
    pub fn of_signature(code: &str) -> Arch {
        let code = code.to_ascii_uppercase();
        if code.contains("ARM64") {
            Arch::Arm64
        } else if code.contains("X64") || code.contains("AMD64") {
            Arch::Amd64
        } else if code.contains("IA64") {
            Arch::Ia64
        } else {
            Arch::X86
        }
    }
}

impl std::fmt::Display for Arch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// Every models section `[Manufacturer]` names, with the architecture it applies to (an
/// undecorated one applies to x86).
pub(crate) fn models_sections(inf: &Inf) -> Vec<(String, Arch)> {
    let Some(section) = inf.section("Manufacturer") else {
        return Vec::new();
    };
    let mut found = Vec::new();
    for entry in &section.entries {
        let Some(models) = entry.fields.first().map(|m| inf.expand(m)) else {
            continue;
        };
        let models = models.trim().to_owned();
        if models.is_empty() {
            continue;
        }
        let decorations: Vec<String> = entry.fields[1..].iter().map(|d| inf.expand(d)).collect();
        if decorations.is_empty() {
            found.push((models.clone(), Arch::X86));
        }
        for decoration in decorations {
            if let Some(arch) = Arch::of_decoration(&decoration) {
                found.push((format!("{models}.{}", decoration.trim()), arch));
            }
        }
    }
    found
}

/// The architectures an INF's models sections cover.
pub fn architectures(inf: &Inf) -> BTreeSet<Arch> {
    models_sections(inf).into_iter().map(|(_, a)| a).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decorations_and_signature_codes_map_to_architectures() {
        assert_eq!(
            Arch::of_decoration("NTamd64.10.0...17763"),
            Some(Arch::Amd64)
        );
        assert_eq!(Arch::of_decoration("ntARM64"), Some(Arch::Arm64));
        assert_eq!(Arch::of_decoration("NT"), Some(Arch::X86));
        assert_eq!(Arch::of_decoration("Windows"), None);
        assert_eq!(Arch::of_signature("WINDOWS_v100_X64_GE_FULL"), Arch::Amd64);
        assert_eq!(
            Arch::of_signature("WINDOWS_v100_SERVER_ARM64_GE_FULL"),
            Arch::Arm64
        );
        assert_eq!(Arch::of_signature("WINDOWS_v100_VB_FULL"), Arch::X86);
        let inf = Inf::parse_text("[Manufacturer]\nA=Models,NTamd64,NTarm64\nB=Old\n");
        let all: Vec<Arch> = architectures(&inf).into_iter().collect();
        assert_eq!(all, [Arch::X86, Arch::Amd64, Arch::Arm64]);
    }
}
