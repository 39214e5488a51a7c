//! `hwdc products …`.

use hw_api::Id;
use hw_api::types::{NewProduct, ProductUpdate};
use serde_json::json;

use super::Ctx;
use crate::cli::{CreateProduct, Harness, Products};
use crate::exit::Failure;

/// The body of a new product.
pub(crate) fn new_product(
    name: &str,
    harness: Harness,
    signatures: &[String],
    marketing: &[String],
    device_type: &str,
    date: Option<&str>,
    test_sign: bool,
) -> Result<NewProduct, Failure> {
    let harness = match harness {
        Harness::Hlk => "hlk",
        Harness::Hck => "hck",
        Harness::Attestation => "attestation",
    };
    let signatures = if signatures.is_empty() {
        vec!["WINDOWS_v100_X64_RS5_FULL".to_owned()]
    } else {
        signatures.to_vec()
    };
    let marketing = if marketing.is_empty() {
        vec![name.to_owned()]
    } else {
        marketing.to_vec()
    };
    let mut body = json!({
        "productName": name,
        "testHarness": harness,
        "deviceType": device_type,
        "isTestSign": test_sign,
        "isFlightSign": false,
        "marketingNames": marketing,
        "requestedSignatures": signatures,
        "deviceMetadataIds": [],
        "firmwareVersion": "0",
        "additionalAttributes": {},
    });
    if let Some(date) = date {
        body["announcementDate"] = date.into();
    }
    serde_json::from_value(body).map_err(|e| Failure::Local {
        kind: hw_api::ErrorKind::Config,
        message: format!("not a valid product: {e}"),
    })
}

/// The pre-flight rules of a new product (P2: the OS codes its harness accepts).
pub(crate) fn check_new(ctx: &Ctx, body: &NewProduct) -> Result<(), Failure> {
    super::preflight::enforce(ctx, "the new product", &super::preflight::new_product(body))
}

/// The body of `products create`.
fn product_body(c: &CreateProduct) -> Result<NewProduct, Failure> {
    new_product(
        &c.name,
        c.harness,
        &c.signatures,
        &c.marketing_names,
        &c.device_type,
        c.announcement_date.as_deref(),
        c.test_sign,
    )
}

/// Runs a products command.
pub(crate) async fn run(ctx: &Ctx, command: Products) -> Result<(), Failure> {
    // A new product's options, and the pre-flight rules, are checked before signing in.
    if let Products::Create(create) = &command {
        let body = product_body(create)?;
        if !create.no_check {
            check_new(ctx, &body)?;
        }
    }
    let client = ctx.client().await?;
    match command {
        Products::List(limit) => {
            ctx.out.list(client.list_products(), limit.limit).await?;
        }
        Products::Get { product } => ctx.out.item(&client.get_product(Id(product)).await?),
        Products::Create(create) => {
            let body = product_body(&create)?;
            ctx.out.item(&client.create_product_once(&body).await?);
        }
        Products::Update(update) => {
            let body = ProductUpdate {
                product_name: update.name,
                marketing_names: update.marketing_names,
                announcement_date: update.announcement_date,
            };
            client.update_product(Id(update.product), &body).await?;
            ctx.out.done(
                &format!("Product {} updated.", update.product),
                crate::results::ProductUpdated {
                    product: update.product,
                    updated: true,
                },
            );
        }
    }
    Ok(())
}
