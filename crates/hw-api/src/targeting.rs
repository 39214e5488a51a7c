//! Shipping-label targeting from the driver metadata document, and the documented label rules
//! checked before a label is sent.
//!
//! The metadata is PascalCase maps: `BundleInfoMap` (bundle id) → `InfInfoMap` (INF file name)
//! → `OSPnPInfoMap` (OS code) → hardware id → device details. Every hardware id of a label
//! must be one of these (bundle, INF, OS code, hardware id) combinations.

use std::collections::BTreeMap;

use hw_api_gen::types::{Destination, HardwareId, NewShippingLabel, OsCode};
use serde::Deserialize;

/// A driver metadata document.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct DriverMetadata {
    /// The bundles, by bundle id.
    #[serde(rename = "BundleInfoMap", default)]
    pub bundles: BTreeMap<String, Bundle>,
}

/// One bundle of a driver package.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct Bundle {
    /// Its locales.
    #[serde(rename = "Locales", default)]
    pub locales: Vec<String>,
    /// Its INFs, by file name.
    #[serde(rename = "InfInfoMap", default)]
    pub infs: BTreeMap<String, Inf>,
}

/// One INF of a bundle.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[non_exhaustive]
pub struct Inf {
    /// The driver version.
    #[serde(rename = "DriverVersion", default)]
    pub driver_version: Option<String>,
    /// The provider.
    #[serde(rename = "Provider", default)]
    pub provider: Option<String>,
    /// The extension id, for an extension INF.
    #[serde(rename = "ExtensionId", default)]
    pub extension_id: Option<String>,
    /// The CHIDs the INF installs on.
    #[serde(rename = "InstallationComputerHardwareIds", default)]
    pub chids: Option<Vec<String>>,
    /// The hardware ids it supports, by OS code.
    #[serde(rename = "OSPnPInfoMap", default)]
    pub os: BTreeMap<String, BTreeMap<String, serde_json::Value>>,
}

/// Which hardware ids to target; an empty list lets everything through. Matching ignores case.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// INF file names.
    pub infs: Vec<String>,
    /// OS codes.
    pub os_codes: Vec<String>,
    /// Hardware ids.
    pub hardware_ids: Vec<String>,
}

impl Filter {
    fn admits(list: &[String], value: &str) -> bool {
        list.is_empty() || list.iter().any(|v| v.eq_ignore_ascii_case(value))
    }
}

impl DriverMetadata {
    /// Parses a metadata document.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut deserializer = serde_json::Deserializer::from_str(text);
        serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
            format!(
                "the driver metadata does not parse at `{}`: {}",
                e.path(),
                e.inner()
            )
        })
    }

    /// The label hardware ids for every combination `filter` admits, in a stable order, with
    /// hardware ids in lower case (as Microsoft's tools send them).
    pub fn hardware_ids(&self, filter: &Filter) -> Vec<HardwareId> {
        let mut out = Vec::new();
        for (bundle_id, bundle) in &self.bundles {
            for (inf, info) in bundle
                .infs
                .iter()
                .filter(|(inf, _)| Filter::admits(&filter.infs, inf))
            {
                for (os, ids) in info
                    .os
                    .iter()
                    .filter(|(os, _)| Filter::admits(&filter.os_codes, os))
                {
                    for hwid in ids
                        .keys()
                        .filter(|id| Filter::admits(&filter.hardware_ids, id))
                    {
                        let entry = serde_json::json!({
                            "bundleId": bundle_id,
                            "infId": inf,
                            "operatingSystemCode": os,
                            "pnpString": hwid.to_ascii_lowercase(),
                        });
                        if let Ok(id) = serde_json::from_value(entry) {
                            out.push(id);
                        }
                    }
                }
            }
        }
        out
    }

    /// Whether an INF `filter` admits is an extension INF (which must be published as an
    /// automatic update).
    pub fn has_extension_inf(&self, filter: &Filter) -> bool {
        self.bundles
            .values()
            .flat_map(|b| b.infs.iter())
            .filter(|(name, _)| Filter::admits(&filter.infs, name))
            .any(|(_, inf)| inf.extension_id.as_deref().is_some_and(|id| !id.is_empty()))
    }
}

/// A broken label rule.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the shipping label breaks a rule: {0}")]
pub struct LabelRuleError(pub String);

/// Whether an OS code is Windows 10 or later.
pub fn is_windows_10_or_later(os: &OsCode) -> bool {
    os.as_str().to_ascii_uppercase().starts_with("WINDOWS_V100")
}

/// A CHID (computer hardware id, a GUID as `ComputerHardwareIds` prints it, with or without
/// braces) in the form labels carry it: lower case, without braces.
pub fn parse_chid(text: &str) -> Result<String, LabelRuleError> {
    let bare = text.trim();
    let bare = bare
        .strip_prefix('{')
        .and_then(|b| b.strip_suffix('}'))
        .unwrap_or(bare);
    let groups: Vec<&str> = bare.split('-').collect();
    let shape = [8, 4, 4, 4, 12];
    let valid = groups.len() == shape.len()
        && groups
            .iter()
            .zip(shape)
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()));
    if valid {
        Ok(bare.to_ascii_lowercase())
    } else {
        Err(LabelRuleError(format!(
            "{text:?} is not a CHID (a GUID such as 0b0b4a4e-3c2f-4f6e-9b2a-8c1d2e3f4a5b)"
        )))
    }
}

/// The CHID rule: CHIDs only when every hardware id targets Windows 10 or later.
pub fn check_chid_targets<'a>(
    hardware_ids: impl IntoIterator<Item = &'a HardwareId>,
) -> Result<(), LabelRuleError> {
    let before: Vec<&str> = hardware_ids
        .into_iter()
        .filter(|h| {
            !h.operating_system_code
                .as_ref()
                .is_some_and(is_windows_10_or_later)
        })
        .map(|h| {
            h.operating_system_code
                .as_ref()
                .map_or("(no OS code)", OsCode::as_str)
        })
        .collect();
    if before.is_empty() {
        return Ok(());
    }
    Err(LabelRuleError(format!(
        "CHIDs are allowed only when every hardware id targets Windows 10 or later, and some target {} (choose Windows 10 and later OS codes with --os)",
        before.join(", ")
    )))
}

/// Checks the documented rules of a new label; `extension_inf` says whether the submission is an
/// extension driver.
pub fn check_new_label(
    label: &NewShippingLabel,
    extension_inf: bool,
) -> Result<(), LabelRuleError> {
    let broken = |rule: &str| Err(LabelRuleError(rule.to_owned()));
    let targeting = &label.targeting;
    if targeting.hardware_ids.is_empty() {
        return broken("it targets no hardware id");
    }
    if !targeting.chids.is_empty() {
        check_chid_targets(&targeting.hardware_ids)?;
        for chid in &targeting.chids {
            parse_chid(chid.chid.as_deref().unwrap_or_default())?;
        }
    }
    match label.destination {
        Destination::WindowsUpdate => {
            let Some(spec) = &label.publishing_specifications else {
                return broken("a Windows Update label needs publishingSpecifications");
            };
            let auto = spec.is_auto_install_during_os_upgrade == Some(true)
                || spec.is_auto_install_on_applicable_systems == Some(true);
            let manual = spec.manual_acquisition == Some(true);
            if auto && manual {
                return broken(
                    "manualAcquisition must be false when isAutoInstallDuringOSUpgrade or isAutoInstallOnApplicableSystems is true",
                );
            }
            if !auto && !manual {
                return broken(
                    "manualAcquisition must be true when neither auto-install flag is set",
                );
            }
            if auto && spec.additional_info_for_ms_approval.is_none() {
                return broken("an automatic update needs additionalInfoForMsApproval");
            }
            if extension_inf && !auto {
                return broken(
                    "an extension INF must be published as an automatic update (isAutoInstallDuringOSUpgrade or isAutoInstallOnApplicableSystems)",
                );
            }
        }
        Destination::AnotherPartner => {
            let receiver = label
                .recipient_specifications
                .as_ref()
                .and_then(|r| r.receiver_publisher_id.as_deref());
            if receiver.is_none_or(str::is_empty) {
                return broken(
                    "a label shared with another partner needs recipientSpecifications.receiverPublisherId",
                );
            }
        }
        _ => return broken("the destination must be windowsUpdate or anotherPartner"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn metadata() -> DriverMetadata {
        DriverMetadata::parse(
            &json!({
                "BundleInfoMap": {
                    "b-1": {"Locales": ["en-US"], "InfInfoMap": {
                        "a.inf": {"ExtensionId": null, "OSPnPInfoMap": {
                            "WINDOWS_v100_X64_RS5_FULL": {"PCI\\VEN_8086&DEV_1": {}, "PCI\\VEN_8086&DEV_2": {}},
                            "WINDOWS_v63_X64": {"PCI\\VEN_8086&DEV_1": {}}
                        }},
                        "ext.inf": {"ExtensionId": "e-1", "OSPnPInfoMap": {"WINDOWS_v100_X64_RS5_FULL": {"ACPI\\X": {}}}}
                    }}
                }
            })
            .to_string(),
        )
        .unwrap()
    }

    #[test]
    fn every_combination_or_a_filtered_few() {
        let m = metadata();
        assert_eq!(m.hardware_ids(&Filter::default()).len(), 4);
        let only = Filter {
            infs: vec!["A.INF".into()],
            os_codes: vec!["windows_v100_x64_rs5_full".into()],
            ..Filter::default()
        };
        let ids = m.hardware_ids(&only);
        assert_eq!(ids.len(), 2);
        assert_eq!(ids[0].pnp_string.as_deref(), Some("pci\\ven_8086&dev_1"));
        assert_eq!(ids[0].bundle_id.as_deref(), Some("b-1"));
        assert!(m.has_extension_inf(&Filter::default()));
        assert!(!m.has_extension_inf(&only), "only the targeted INFs count");
    }

    #[test]
    fn a_broken_document_names_the_path() {
        let err = DriverMetadata::parse(
            r#"{"BundleInfoMap": {"b": {"InfInfoMap": {"a.inf": {"OSPnPInfoMap": []}}}}}"#,
        )
        .unwrap_err();
        assert!(
            err.contains("BundleInfoMap.b.InfInfoMap.a.inf.OSPnPInfoMap"),
            "{err}"
        );
    }

    fn label(spec: serde_json::Value, chids: bool, os: &str) -> NewShippingLabel {
        let mut targeting = json!({"hardwareIds": [{"bundleId": "b", "infId": "a.inf", "operatingSystemCode": os, "pnpString": "x"}]});
        if chids {
            targeting["chids"] = json!([{"chid": "0b0b4a4e-3c2f-4f6e-9b2a-8c1d2e3f4a5b"}]);
        }
        serde_json::from_value(json!({"name": "l", "destination": "windowsUpdate", "publishingSpecifications": spec, "targeting": targeting})).unwrap()
    }

    #[test]
    fn chids_are_guids_in_lower_case_without_braces() {
        assert_eq!(
            parse_chid("{0B0B4A4E-3C2F-4F6E-9B2A-8C1D2E3F4A5B}").unwrap(),
            "0b0b4a4e-3c2f-4f6e-9b2a-8c1d2e3f4a5b"
        );
        for bad in [
            "",
            "0b0b4a4e-3c2f-4f6e-9b2a",
            "0b0b4a4e-3c2f-4f6e-9b2a-8c1d2e3f4a5g",
            "0b0b4a4e3c2f-4f6e-9b2a-8c1d2e3f4a5b0",
            "{0b0b4a4e-3c2f-4f6e-9b2a-8c1d2e3f4a5b",
        ] {
            assert!(parse_chid(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_documented_rules() {
        let info = json!({"microsoftContact": "m"});
        let auto = json!({"isAutoInstallOnApplicableSystems": true, "manualAcquisition": false, "additionalInfoForMsApproval": info});
        let manual = json!({"manualAcquisition": true});
        assert!(
            check_new_label(
                &label(auto.clone(), false, "WINDOWS_v100_X64_RS5_FULL"),
                true
            )
            .is_ok()
        );
        assert!(
            check_new_label(
                &label(manual.clone(), false, "WINDOWS_v100_X64_RS5_FULL"),
                false
            )
            .is_ok()
        );
        let cases = [
            (
                label(
                    json!({"isAutoInstallOnApplicableSystems": true, "manualAcquisition": true, "additionalInfoForMsApproval": info}),
                    false,
                    "WINDOWS_v100_X64_RS5_FULL",
                ),
                false,
                "must be false",
            ),
            (
                label(json!({}), false, "WINDOWS_v100_X64_RS5_FULL"),
                false,
                "must be true",
            ),
            (
                label(
                    json!({"isAutoInstallOnApplicableSystems": true, "manualAcquisition": false}),
                    false,
                    "WINDOWS_v100_X64_RS5_FULL",
                ),
                false,
                "additionalInfoForMsApproval",
            ),
            (
                label(manual.clone(), false, "WINDOWS_v100_X64_RS5_FULL"),
                true,
                "extension INF",
            ),
            (label(manual, true, "WINDOWS_v63_X64"), false, "Windows 10"),
        ];
        let mut bad_chid = label(
            json!({"manualAcquisition": true}),
            true,
            "WINDOWS_v100_X64_RS5_FULL",
        );
        assert!(check_new_label(&bad_chid, false).is_ok());
        let mut shared = label(json!(null), false, "WINDOWS_v100_X64_RS5_FULL");
        shared.destination = Destination::AnotherPartner;
        shared.publishing_specifications = None;
        let no_receiver = check_new_label(&shared, false).unwrap_err().to_string();
        assert!(no_receiver.contains("receiverPublisherId"), "{no_receiver}");
        shared.recipient_specifications =
            serde_json::from_value(json!({"receiverPublisherId": "29963920"})).unwrap();
        assert!(
            check_new_label(&shared, false).is_ok(),
            "a shared label needs no publishing"
        );
        bad_chid.targeting.chids[0].chid = Some("0b0b4a4e-3c2f".into());
        let cases = cases
            .into_iter()
            .chain([(bad_chid, false, "is not a CHID")]);
        for (l, extension, needle) in cases {
            let err = check_new_label(&l, extension).unwrap_err().to_string();
            assert!(err.contains(needle), "{needle}: {err}");
        }
    }
}
