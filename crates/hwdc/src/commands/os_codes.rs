//! `hwdc os-codes`, and the family shorthands `--signature` takes (`win11-x64`).

use hw_api::os_codes::{self, Arch, OsCodeInfo};

use super::Ctx;
use crate::cli::{Command, OsArch, OsCodes};
use crate::exit::Failure;
use crate::output::Row;

impl Row for OsCodeInfo {
    const COLUMNS: &'static [(&'static str, usize)] = &[
        ("CODE", 34),
        ("WINDOWS", 18),
        ("ARCH", 5),
        ("SERVER", 6),
        ("ATTESTATION", 11),
        ("SOURCE", 10),
    ];

    fn cells(&self) -> Vec<String> {
        let yes = |b: bool| if b { "yes" } else { "no" }.to_owned();
        vec![
            self.code.to_owned(),
            self.windows.to_owned(),
            self.arch.as_str().to_owned(),
            yes(self.server),
            yes(self.attestation),
            match self.source {
                os_codes::Source::Documented => "documented".to_owned(),
                _ => "seen".to_owned(),
            },
        ]
    }
}

impl OsArch {
    fn arch(self) -> Arch {
        match self {
            OsArch::X86 => Arch::X86,
            OsArch::X64 => Arch::X64,
            OsArch::Arm => Arch::Arm,
            OsArch::Arm64 => Arch::Arm64,
            OsArch::Ia64 => Arch::Ia64,
        }
    }
}

/// The codes `command`'s filters let through.
fn selected(command: &OsCodes) -> Vec<OsCodeInfo> {
    os_codes::ALL
        .iter()
        .filter(|c| command.arch.is_none_or(|a| c.arch == a.arch()))
        .filter(|c| !command.server || c.server)
        .filter(|c| !command.client || !c.server)
        .filter(|c| !command.attestation || c.attestation)
        .copied()
        .collect()
}

/// Runs `os-codes`.
pub(crate) async fn run(ctx: &Ctx, command: OsCodes) -> Result<(), Failure> {
    let codes = selected(&command);
    ctx.out
        .list(futures_util::stream::iter(codes.into_iter().map(Ok)), None)
        .await?;
    Ok(())
}

/// `values` with every family shorthand replaced by its codes, and what was expanded (for a
/// person to see), and the values that are neither a known code nor a family.
pub(crate) fn expand(values: &[String]) -> (Vec<String>, Vec<String>, Vec<String>) {
    let mut codes = Vec::new();
    let mut said = Vec::new();
    let mut unknown = Vec::new();
    for value in values {
        if let Some(family) = os_codes::family(value) {
            said.push(format!(
                "--signature {} is {}",
                family.name,
                family.codes.join(", ")
            ));
            codes.extend(family.codes.iter().map(|c| (*c).to_owned()));
        } else {
            match os_codes::lookup(value) {
                Some(info) => codes.push(info.code.to_owned()),
                None => {
                    unknown.push(value.clone());
                    codes.push(value.clone());
                }
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    codes.retain(|c| seen.insert(c.clone()));
    (codes, said, unknown)
}

/// Replaces the family shorthands in `values` with their codes, telling a person what they
/// became and which values are not known codes (they are sent as given: the service may know
/// a newer one).
pub(crate) fn expand_in_place(values: &mut Vec<String>, quiet: bool) {
    let (codes, said, unknown) = expand(values);
    if !quiet {
        for line in said {
            eprintln!("{line}");
        }
        for value in unknown {
            eprintln!(
                "warning: {value} is not a known OS code or family (hwdc os-codes lists them); sent as given"
            );
        }
    }
    *values = codes;
}

/// Expands the family shorthands of every `--signature` of `command`.
pub(crate) fn expand_command(command: &mut Command, quiet: bool) {
    let values = match command {
        Command::Products(crate::cli::Products::Create(c)) => &mut c.signatures,
        Command::Submit(c) => &mut c.signatures,
        Command::Check(c) => &mut c.targets.signatures,
        Command::Package(c) => &mut c.targets.signatures,
        _ => return,
    };
    expand_in_place(values, quiet);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn families_expand_to_their_codes_once_and_unknown_values_stay() {
        let values = [
            "win11-arm64".to_owned(),
            "windows_v100_arm64_ge_full".to_owned(),
            "WINDOWS_v100_X64_SV3_FULL".to_owned(),
        ];
        let (codes, said, unknown) = expand(&values);
        assert_eq!(
            codes,
            [
                "WINDOWS_v100_ARM64_CO_FULL",
                "WINDOWS_v100_ARM64_NI_FULL",
                "WINDOWS_v100_ARM64_GE_FULL",
                "WINDOWS_v100_X64_SV3_FULL"
            ]
        );
        assert_eq!(said.len(), 1);
        assert!(said[0].contains("WINDOWS_v100_ARM64_NI_FULL"), "{said:?}");
        assert_eq!(unknown, ["WINDOWS_v100_X64_SV3_FULL"]);
    }

    #[test]
    fn filters() {
        let command = |arch, server, client, attestation| OsCodes {
            arch,
            server,
            client,
            attestation,
        };
        let all = selected(&command(None, false, false, false));
        assert_eq!(all.len(), os_codes::ALL.len());
        let x64 = selected(&command(Some(OsArch::X64), false, false, true));
        assert!(x64.iter().all(|c| c.arch == Arch::X64 && c.attestation));
        assert!(x64.iter().any(|c| c.code == "WINDOWS_v100_X64_26H1_FULL"));
        let servers = selected(&command(None, true, false, false));
        assert!(!servers.is_empty() && servers.iter().all(|c| c.server));
        let clients = selected(&command(None, false, true, false));
        assert_eq!(clients.len() + servers.len(), all.len());
    }
}
