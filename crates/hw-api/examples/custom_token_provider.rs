//! A `TokenProvider` of your own: here, a token handed over by another system (a vault, a
//! sidecar) through a file that is read afresh on every call. The client caches what it
//! returns, refreshes it before it expires and asks again after a 401.
//!
//! `cargo run -p hw-api --example custom_token_provider` (against an embedded hw-sim, whose
//! token endpoint issues the token the file holds).

mod common;

use std::path::PathBuf;
use std::time::Duration;

use futures_util::TryStreamExt;
use hw_api::Client;
use hw_api::auth::{AccessToken, AuthError, TokenFuture, TokenHttp, TokenProvider};
use secrecy::SecretString;

/// Reads the token from a file at every call (the file is the secret: never logged).
#[derive(Debug)]
struct TokenFile {
    path: PathBuf,
}

impl TokenProvider for TokenFile {
    // `TokenHttp` is for providers that send requests (with the client's proxy and user agent,
    // recorded in its trace); this one reads a file.
    fn fetch_token<'a>(&'a self, _http: &'a TokenHttp) -> TokenFuture<'a> {
        Box::pin(async move {
            let text = tokio::fs::read_to_string(&self.path)
                .await
                .map_err(|e| AuthError::Provider(format!("cannot read the token file: {e}")))?;
            let token = AccessToken::new(SecretString::from(text.trim().to_owned()))
                // Ask again after ten minutes, whatever the token says.
                .with_expires_in(Duration::from_secs(600));
            Ok(token)
        })
    }
}

#[tokio::main]
async fn main() -> Result<(), common::Failure> {
    let sim = hw_sim::start(hw_sim::SimConfig {
        seed_products: 3,
        ..hw_sim::SimConfig::default()
    })
    .await?;
    // Another system puts a token in the file; here the simulator issues it.
    let token = sim.issue_token();
    let path = std::env::temp_dir().join(format!("hw-api-token-{}", std::process::id()));
    std::fs::write(&path, &token)?;
    let client = Client::builder()
        .base_url(sim.api_url())
        .token_provider(TokenFile { path: path.clone() })
        .build()?;
    let products: Vec<_> = client.list_products().try_collect().await?;
    println!(
        "{} products, signed in with the token from {}",
        products.len(),
        path.display()
    );
    assert_eq!(products.len(), 3);
    std::fs::remove_file(&path)?;
    Ok(())
}
