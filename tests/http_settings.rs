//! One HTTP configuration for every request: the user agent and the proxy set on the builder
//! reach the API, the token endpoint, a CI system's OIDC token service and blob storage, while
//! a managed identity endpoint, which is on the host, is reached without the proxy (as the
//! Azure SDKs do; `docs/service-notes.md`, "Managed identity endpoints").

use std::time::Duration;

use futures_util::TryStreamExt;
use hw_api::Client;
use hw_api::auth::{ClientCredentials, GitHubActionsToken, ManagedIdentity, TokenProvider};
use hw_api::transfer::Silent;
use hw_workspace_tests::proxy::{Forwarded, Proxy};
use hw_workspace_tests::sim::TestSim;
use hw_workspace_tests::tempdir::Dir;
use secrecy::SecretString;

const AGENT: &str = "hw-api-settings-test/7";

/// A client of `sim` through `proxy` with the test's user agent, signed in by `tokens`.
fn client(sim: &TestSim, proxy: &Proxy, tokens: impl TokenProvider + 'static) -> Client {
    Client::builder()
        .base_url(sim.api_url())
        .token_provider(tokens)
        .user_agent(AGENT)
        .proxy(proxy.url())
        .build()
        .expect("the client builds")
}

/// The requests of `seen` whose method is `method` and whose target contains `part`.
fn matching<'a>(seen: &'a [Forwarded], method: &str, part: &str) -> Vec<&'a Forwarded> {
    seen.iter()
        .filter(|f| f.method == method && f.target.contains(part))
        .collect()
}

#[tokio::test]
async fn the_builders_user_agent_and_proxy_reach_the_api_the_token_endpoint_and_blob_storage() {
    let sim = TestSim::quick().await;
    let proxy = Proxy::start().await;
    let client = client(&sim, &proxy, sim.credentials());
    client
        .list_products()
        .try_collect::<Vec<_>>()
        .await
        .expect("products are listed through the proxy");
    let dir = Dir::new("http-settings");
    let file = dir.path().join("package.bin");
    std::fs::write(&file, vec![7u8; 10_000]).unwrap();
    let url = sim.blob_sas_url("packages/settings.bin", "rw", Duration::from_secs(600));
    client.upload_to(&url, &file, &Silent).await.unwrap();
    let back = dir.path().join("back.bin");
    client.download_from(&url, &back, &Silent).await.unwrap();
    assert_eq!(std::fs::read(&back).unwrap(), vec![7u8; 10_000]);

    let seen = proxy.forwarded();
    let origin = sim.authority_url().trim_end_matches('/').to_owned();
    for (what, method, part) in [
        ("the token endpoint", "POST", "/oauth2/v2.0/token"),
        ("the API", "GET", "/v2.0/my/hardware/products"),
        ("the upload", "PUT", "settings.bin"),
        ("the download", "GET", "settings.bin"),
    ] {
        assert!(
            !matching(&seen, method, part).is_empty(),
            "{what} did not go through the proxy: {seen:#?}"
        );
    }
    assert!(
        seen.iter().any(|f| f.target.starts_with(&origin)),
        "the token endpoint's origin is not among {seen:#?}"
    );
    for forwarded in &seen {
        assert_eq!(
            forwarded.user_agent.as_deref(),
            Some(AGENT),
            "{forwarded:?}"
        );
    }
    // The simulator answered what the proxy forwarded: one token for the whole run.
    assert_eq!(sim.requests("token"), 1);
}

#[tokio::test]
async fn a_ci_systems_oidc_token_service_is_asked_through_the_proxy() {
    let sim = TestSim::quick().await;
    let proxy = Proxy::start().await;
    let app = sim.app().expect("the simulator has an application").clone();
    let request_token = SecretString::from(sim.config().oidc_request_token.clone());
    let github = GitHubActionsToken::new(&sim.github_token_url(), request_token).unwrap();
    let credentials = ClientCredentials::with_assertion(&app.tenant_id, &app.client_id, github)
        .with_authority(sim.authority_url())
        .unwrap();
    client(&sim, &proxy, credentials)
        .list_products()
        .try_collect::<Vec<_>>()
        .await
        .expect("signed in with GitHub's OIDC token");
    let seen = proxy.forwarded();
    let oidc = matching(&seen, "GET", "/oidc/github");
    assert_eq!(oidc.len(), 1, "{seen:#?}");
    assert_eq!(oidc[0].user_agent.as_deref(), Some(AGENT));
    assert_eq!(
        matching(&seen, "POST", "/oauth2/v2.0/token").len(),
        1,
        "{seen:#?}"
    );
}

#[tokio::test]
async fn a_managed_identity_endpoint_is_reached_without_the_proxy() {
    let sim = TestSim::quick().await;
    let proxy = Proxy::start().await;
    let header = SecretString::from(sim.config().identity_header.clone());
    let identity = ManagedIdentity::app_service(&sim.identity_endpoint(), header).unwrap();
    let products = client(&sim, &proxy, identity)
        .list_products()
        .try_collect::<Vec<_>>()
        .await
        .expect("signed in with the managed identity");
    let _ = products;
    let seen = proxy.forwarded();
    assert!(
        !matching(&seen, "GET", "/v2.0/my/hardware/products").is_empty(),
        "the API went through the proxy: {seen:#?}"
    );
    assert!(
        seen.iter().all(|f| !f.target.contains("/msi/")),
        "the identity endpoint was asked through the proxy: {seen:#?}"
    );
}
