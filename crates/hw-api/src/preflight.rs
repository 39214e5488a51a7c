//! Rules the service enforces that a request can be held to before it is sent, so that a
//! refusal is known without asking (`docs/package-rules.md`, "Pre-flight rules"):
//!
//! * **P1** an attestation product's Windows Update label is restricted to an audience;
//! * **P2** an attestation product requests no Windows Server code (and, as a warning, no code
//!   before Windows 10);
//! * **P3** no derived submission of an attestation, test-signed or extension-INF product.

use hw_api_gen::types::{
    Destination, NewShippingLabel, OsCode, Product, ShippingLabelUpdate, Submission,
    SubmissionType, TestHarness,
};

use crate::os_codes;

/// A rule a request breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RuleBreach {
    /// The rule's id in `docs/package-rules.md` (`P1`, `P2`, `P3`).
    pub rule: &'static str,
    /// Whether the service refuses it (else it is only worth knowing).
    pub error: bool,
    /// What is wrong, and what to do.
    pub message: String,
}

fn breach(rule: &'static str, error: bool, message: String) -> RuleBreach {
    RuleBreach {
        rule,
        error,
        message,
    }
}

/// P2: the OS codes an attestation product may not request (`harness` another than
/// attestation: none).
pub fn product_rules(harness: &TestHarness, signatures: &[OsCode]) -> Vec<RuleBreach> {
    if *harness != TestHarness::Attestation {
        return Vec::new();
    }
    let mut found = Vec::new();
    for code in signatures {
        let Some(info) = os_codes::lookup(code.as_str()) else {
            continue;
        };
        if info.server {
            found.push(breach(
                "P2",
                true,
                format!(
                    "{} is a Windows Server code, and Windows Server does not accept attestation-signed drivers: request client codes only (hwdc os-codes --attestation), or certify for Server with the HLK",
                    info.code
                ),
            ));
        } else if !info.attestation {
            found.push(breach(
                "P2",
                false,
                format!(
                    "{} is before Windows 10, where attestation-signed drivers do not load",
                    info.code
                ),
            ));
        }
    }
    found
}

/// P2 and P3 for a new submission of `product` (whose initial submission, when it has one, is
/// `initial`: it says whether the driver is an extension INF).
pub fn submission_rules(
    product: &Product,
    initial: Option<&Submission>,
    kind: &SubmissionType,
) -> Vec<RuleBreach> {
    let harness = product.test_harness.clone().unwrap_or(TestHarness::NotSet);
    let mut found: Vec<RuleBreach> = product_rules(&harness, &product.requested_signatures)
        .into_iter()
        .filter(|b| b.error)
        .collect();
    if *kind == SubmissionType::Derived {
        let extension = product.is_extension_inf == Some(true)
            || initial.is_some_and(|s| s.is_extension_inf == Some(true));
        let why = if harness == TestHarness::Attestation {
            Some("an attestation product")
        } else if product.is_test_sign == Some(true) {
            Some("a test-signed product")
        } else if extension {
            Some("an extension INF")
        } else {
            None
        };
        if let Some(why) = why {
            found.push(breach(
                "P3",
                true,
                format!(
                    "product {} is {why}, and the service refuses derived submissions of attestation, test-signed and extension-INF products: submit an initial submission of a new product instead",
                    product.id
                ),
            ));
        }
    }
    found
}

/// The P1 message.
fn unrestricted(product: &Product) -> RuleBreach {
    breach(
        "P1",
        true,
        format!(
            "product {} is attestation-signed, and such drivers are published to Windows Update only for a restricted audience (CoDev, or the Test Registry Key): give --audience (hwdc audiences list), or share the label with a partner",
            product.id
        ),
    )
}

/// P1 for a new label of `product`.
pub fn label_rules(product: &Product, label: &NewShippingLabel) -> Vec<RuleBreach> {
    let attestation = product.test_harness == Some(TestHarness::Attestation);
    if attestation
        && label.destination == Destination::WindowsUpdate
        && label.targeting.restricted_to_audiences.is_empty()
    {
        return vec![unrestricted(product)];
    }
    Vec::new()
}

/// P1 for a change of a label of `product` going to `destination`: its audiences may not be
/// cleared.
pub fn label_update_rules(
    product: &Product,
    destination: Option<&Destination>,
    update: &ShippingLabelUpdate,
) -> Vec<RuleBreach> {
    let clears = update
        .targeting
        .restricted_to_audiences
        .as_ref()
        .is_some_and(Vec::is_empty);
    let attestation = product.test_harness == Some(TestHarness::Attestation);
    if clears && attestation && destination == Some(&Destination::WindowsUpdate) {
        return vec![unrestricted(product)];
    }
    Vec::new()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn product(harness: &str, extra: serde_json::Value) -> Product {
        let mut value = json!({"id": 7, "testHarness": harness, "requestedSignatures": ["WINDOWS_v100_X64_GE_FULL"]});
        for (k, v) in extra.as_object().unwrap() {
            value[k] = v.clone();
        }
        serde_json::from_value(value).unwrap()
    }

    fn rules(breaches: &[RuleBreach]) -> Vec<(&str, bool)> {
        breaches.iter().map(|b| (b.rule, b.error)).collect()
    }

    #[test]
    fn attestation_takes_no_server_code_and_warns_of_codes_before_windows_10() {
        let codes: Vec<OsCode> = [
            "WINDOWS_v100_X64_GE_FULL",
            "WINDOWS_v100_SERVER_X64_GE_FULL",
            "WINDOWS_v63_X64",
            "WINDOWS_v100_X64_SV3_FULL",
        ]
        .into_iter()
        .map(OsCode::from)
        .collect();
        let found = product_rules(&TestHarness::Attestation, &codes);
        assert_eq!(rules(&found), [("P2", true), ("P2", false)]);
        assert!(found[0].message.contains("WINDOWS_v100_SERVER_X64_GE_FULL"));
        assert!(product_rules(&TestHarness::Hlk, &codes).is_empty());
    }

    #[test]
    fn derived_submissions_of_products_that_refuse_them() {
        let derived = SubmissionType::Derived;
        let initial = SubmissionType::Initial;
        let hlk = product("hlk", json!({}));
        assert!(submission_rules(&hlk, None, &derived).is_empty());
        let cases = [
            (product("attestation", json!({})), "attestation"),
            (product("hlk", json!({"isTestSign": true})), "test-signed"),
            (
                product("hlk", json!({"isExtensionInf": true})),
                "extension INF",
            ),
        ];
        for (p, why) in cases {
            let found = submission_rules(&p, None, &derived);
            assert_eq!(rules(&found), [("P3", true)], "{why}");
            assert!(found[0].message.contains(why), "{}", found[0].message);
            assert!(submission_rules(&p, None, &initial).is_empty(), "{why}");
        }
        let extension: Submission =
            serde_json::from_value(json!({"id": 1, "productId": 7, "isExtensionInf": true}))
                .unwrap();
        assert_eq!(
            rules(&submission_rules(&hlk, Some(&extension), &derived)),
            [("P3", true)]
        );
        let server = product(
            "attestation",
            json!({"requestedSignatures": ["WINDOWS_v100_SERVER_X64_GE_FULL", "WINDOWS_v63_X64"]}),
        );
        assert_eq!(
            rules(&submission_rules(&server, None, &initial)),
            [("P2", true)],
            "only the refusal, not the warning"
        );
    }

    #[test]
    fn attestation_labels_for_windows_update_need_an_audience() {
        let label = |destination: &str, audiences: serde_json::Value| -> NewShippingLabel {
            serde_json::from_value(json!({
                "name": "l", "destination": destination,
                "targeting": {"hardwareIds": [], "restrictedToAudiences": audiences}
            }))
            .unwrap()
        };
        let attestation = product("attestation", json!({}));
        let hlk = product("hlk", json!({}));
        assert_eq!(
            rules(&label_rules(
                &attestation,
                &label("windowsUpdate", json!([]))
            )),
            [("P1", true)]
        );
        assert!(label_rules(&attestation, &label("windowsUpdate", json!(["a-1"]))).is_empty());
        assert!(label_rules(&attestation, &label("anotherPartner", json!([]))).is_empty());
        assert!(label_rules(&hlk, &label("windowsUpdate", json!([]))).is_empty());
        let update = |audiences: serde_json::Value| -> ShippingLabelUpdate {
            serde_json::from_value(json!({"targeting": {"restrictedToAudiences": audiences}}))
                .unwrap()
        };
        let wu = Destination::WindowsUpdate;
        assert_eq!(
            rules(&label_update_rules(
                &attestation,
                Some(&wu),
                &update(json!([]))
            )),
            [("P1", true)]
        );
        assert!(label_update_rules(&attestation, Some(&wu), &update(json!(null))).is_empty());
        assert!(label_update_rules(&attestation, Some(&wu), &update(json!(["a"]))).is_empty());
        assert!(label_update_rules(&hlk, Some(&wu), &update(json!([]))).is_empty());
        assert!(
            label_update_rules(
                &attestation,
                Some(&Destination::AnotherPartner),
                &update(json!([]))
            )
            .is_empty()
        );
    }
}
