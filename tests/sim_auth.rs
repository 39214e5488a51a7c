//! The simulator's token endpoints in both Entra shapes, and their AADSTS errors, through hw-api.

use futures_util::TryStreamExt;
use hw_api::auth::{AuthError, ClientCredentials, EntraEndpoint};
use hw_api::{Client, Error};
use hw_sim::SimConfig;
use hw_workspace_tests::sim::TestSim;

async fn list_with(sim: &TestSim, credentials: ClientCredentials) -> Result<usize, Error> {
    let client = Client::builder()
        .base_url(sim.api_url())
        .token_provider(credentials)
        .build()?;
    client
        .list_products()
        .try_collect::<Vec<_>>()
        .await
        .map(|v| v.len())
}

fn rejected(err: Error) -> (Vec<u64>, String) {
    let shown = err.to_string();
    match err {
        Error::Auth {
            source: AuthError::Rejected(r),
            ..
        } => (r.codes.clone(), shown),
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test]
async fn v2_and_v1_endpoints_issue_tokens_the_api_accepts() {
    let sim = TestSim::start(SimConfig {
        seed_products: 2,
        ..SimConfig::default()
    })
    .await;
    assert_eq!(list_with(&sim, sim.credentials()).await.unwrap(), 2);
    assert_eq!(
        list_with(&sim, sim.credentials().with_endpoint(EntraEndpoint::v1()))
            .await
            .unwrap(),
        2
    );
    assert_eq!(sim.requests("token"), 2);
}

#[tokio::test]
async fn wrong_credentials_get_aadsts_errors() {
    let sim = TestSim::quick().await;
    let app = sim.app().unwrap().clone();
    let with = |tenant: &str, client: &str, secret: &str| {
        ClientCredentials::new(tenant, client, secret.to_owned().into())
            .with_authority(sim.authority_url())
            .unwrap()
    };
    let (codes, shown) = rejected(
        list_with(&sim, with(&app.tenant_id, &app.client_id, "wrong"))
            .await
            .unwrap_err(),
    );
    assert_eq!(codes, vec![7_000_215]);
    assert!(shown.contains("the client secret is wrong"), "{shown}");
    let (codes, _) = rejected(
        list_with(&sim, with("no-such-tenant", &app.client_id, &app.secret))
            .await
            .unwrap_err(),
    );
    assert_eq!(codes, vec![90_002]);
    let (codes, shown) = rejected(
        list_with(&sim, with(&app.tenant_id, "no-such-app", &app.secret))
            .await
            .unwrap_err(),
    );
    assert_eq!(codes, vec![700_016]);
    assert!(shown.contains("trace id"), "{shown}");
    let wrong_scope = sim.credentials().with_endpoint(EntraEndpoint::V2 {
        scope: "https://graph.microsoft.com/.default".into(),
    });
    let (codes, _) = rejected(list_with(&sim, wrong_scope).await.unwrap_err());
    assert_eq!(codes, vec![70_011]);
}

#[tokio::test]
async fn an_expired_token_is_refused() {
    let sim = TestSim::start(SimConfig {
        token_lifetime: std::time::Duration::from_millis(300),
        ..SimConfig::default()
    })
    .await;
    let token = sim.issue_token();
    assert!(sim.generated(Some(&token)).list_products().await.is_ok());
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    let err = sim
        .generated(Some(&token))
        .list_products()
        .await
        .unwrap_err();
    assert_eq!(err.status().map(|s| s.as_u16()), Some(401));
}
