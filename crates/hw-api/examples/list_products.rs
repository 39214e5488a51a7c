//! Lists every product of the account, following every page, as the pager reads them: one
//! line each, and the count at the end.
//!
//! `cargo run -p hw-api --example list_products` (against an embedded hw-sim unless the
//! `HW_*` variables name an account).

mod common;

use futures_util::TryStreamExt;

#[tokio::main]
async fn main() -> Result<(), common::Failure> {
    let connection = common::connect(120).await?;
    let mut products = std::pin::pin!(connection.client.list_products());
    let mut count = 0;
    while let Some(product) = products.try_next().await? {
        count += 1;
        println!(
            "{}  {}",
            product.id,
            product.product_name.unwrap_or_default()
        );
    }
    println!("{count} products");
    if connection.sim.is_some() {
        // The simulator's 120 products come in pages of 50: all three pages were read.
        assert_eq!(count, 120, "every page");
    }
    Ok(())
}
