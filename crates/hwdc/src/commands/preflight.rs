//! The pre-flight rules (`hw_api::preflight`) as findings in `check`'s format, checked before a
//! request is sent (`--no-check` skips them).

use hw_api::preflight::RuleBreach;
use hw_api::types::{Product, Submission, SubmissionType};
use hw_api::{Client, Id};
use hw_package::driver_check::{Finding, Severity};

use super::{Ctx, check};
use crate::exit::Failure;

/// `breaches` as findings about `place` (`product 7`, `the new product`).
pub(crate) fn findings(place: &str, breaches: Vec<RuleBreach>) -> Vec<Finding> {
    breaches
        .into_iter()
        .map(|b| {
            let severity = if b.error {
                Severity::Error
            } else {
                Severity::Warning
            };
            Finding::new(severity, place, None, b.rule, b.message)
        })
        .collect()
}

/// The pre-flight findings of a new product (P2: the OS codes its harness accepts).
pub(crate) fn new_product(body: &hw_api::types::NewProduct) -> Vec<Finding> {
    findings(
        "the new product",
        hw_api::preflight::product_rules(&body.test_harness, &body.requested_signatures),
    )
}

/// Tells every finding; fails (exit 5, nothing sent) when one is an error.
pub(crate) fn enforce(ctx: &Ctx, what: &str, findings: &[Finding]) -> Result<(), Failure> {
    check::tell(ctx, findings);
    if check::count(findings).0 > 0 {
        return Err(check::failed(what, findings));
    }
    Ok(())
}

/// The rules of a new submission of `product` of `kind`: the product is read, and for a derived
/// one its initial submission too (which says whether it is an extension INF).
pub(crate) async fn submission(
    ctx: &Ctx,
    client: &Client,
    product: Id,
    kind: &SubmissionType,
) -> Result<(), Failure> {
    let read: Product = client.get_product(product).await?;
    let initial: Option<Submission> = if *kind == SubmissionType::Derived {
        use futures_util::TryStreamExt;
        let all: Vec<Submission> = client.list_submissions(product).try_collect().await?;
        all.into_iter()
            .find(|s| s.type_ == Some(SubmissionType::Initial))
    } else {
        None
    };
    let found = findings(
        &format!("product {product}"),
        hw_api::preflight::submission_rules(&read, initial.as_ref(), kind),
    );
    enforce(ctx, "the submission", &found)
}
