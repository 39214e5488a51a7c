//! The fields of each operation's answer that the client's callers need: ids, names the
//! create settlement matches on, statuses the flows wait on, the URLs of packages and reports,
//! the links that page a list. `decode.rs` lets any other value that does not fit (a null, a
//! missing or a mistyped value) go, keeping the rest of the item; one of these never goes
//! silently: it fails with its JSON path.
//!
//! A pattern is a JSON path with `[]` for any index (`value[].id`, `[].id` for a top-level
//! array); a pattern names the value and nothing under it.

/// Every list's paging: its items, each of them (an item that is not one fails the page: never
/// a list silently short), and its `next_link`.
const PAGE: [&str; 4] = ["value", "value[]", "links[].href", "links[].rel"];

/// What a product's callers need: its id, and its name (an unclear create is settled by it).
const PRODUCT: [&str; 3] = ["id", "productName", "requestedSignatures[]"];

/// What a submission's callers need: its ids, its name and type (an unclear create is settled
/// by them), its commit and workflow status (commit and wait), and its files' URLs.
const SUBMISSION: [&str; 11] = [
    "id",
    "productId",
    "name",
    "type",
    "commitStatus",
    "workflowStatus.currentStep",
    "workflowStatus.state",
    "workflowStatus.errorReport",
    "downloads.items[]",
    "downloads.items[].type",
    "downloads.items[].url",
];

/// What a shipping label's callers need: its id, its name (settlement), its workflow status.
const LABEL: [&str; 5] = [
    "id",
    "name",
    "workflowStatus.currentStep",
    "workflowStatus.state",
    "workflowStatus.errorReport",
];

/// The needed fields of the answer of `operation` (a spec operation id); none for one without
/// a JSON answer.
pub(crate) fn of(operation: &str) -> Vec<String> {
    let item = |fields: &[&str]| fields.iter().map(|f| (*f).to_owned()).collect::<Vec<_>>();
    let page = |fields: &[&str]| {
        PAGE.iter()
            .map(|f| (*f).to_owned())
            .chain(fields.iter().map(|f| format!("value[].{f}")))
            .collect::<Vec<_>>()
    };
    match operation {
        "getProduct" | "createProduct" => item(&PRODUCT),
        "listProducts" => page(&PRODUCT),
        "getSubmission" | "createSubmission" | "getPartnerSubmission" => item(&SUBMISSION),
        "listSubmissions" => page(&SUBMISSION),
        "getShippingLabel" | "createShippingLabel" => item(&LABEL),
        "listShippingLabels" => page(&LABEL),
        "listAudiences" => page(&["id"]),
        "uploadPreprodPackage" | "getPreprodPackage" => {
            item(&["id", "signingStatus", "assets[]", "assets[].id"])
        }
        "getPreprodAsset" => item(&["id"]),
        "listPreprodAssets" => item(&["[]", "[].id"]),
        _ => Vec::new(),
    }
}

/// Whether `path` (segments: a key, or `[]` for an index) is one `needed` names.
pub(crate) fn names(needed: &[String], path: &str) -> bool {
    needed.iter().any(|n| n == path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_need_their_paging_and_their_items_fields() {
        let listed = of("listSubmissions");
        for path in [
            "value",
            "links[].href",
            "value[].id",
            "value[].downloads.items[].url",
        ] {
            assert!(names(&listed, path), "{path}");
        }
        assert!(!names(&listed, "value[].workflowStatus.messages"));
        assert!(of("downloadPreprodAsset").is_empty());
    }
}
