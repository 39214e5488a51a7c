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
    let shown = hw_api::Report::new(&err).to_string();
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

/// The test certificate file `name`.
fn fixture(name: &str) -> std::path::PathBuf {
    hw_workspace_tests::workspace_root()
        .join("tests/fixtures/certs")
        .join(name)
}

/// A simulator whose app has the `app` test certificate registered, and 2-second tokens (so
/// that every request signs in again).
async fn assertion_sim() -> TestSim {
    let pem = std::fs::read(fixture("app.cert.pem")).unwrap();
    TestSim::start(SimConfig {
        apps: vec![hw_sim::AppCredential {
            certificates: hw_sim::config::certificates_from_pem(&pem).unwrap(),
            ..hw_sim::AppCredential::default()
        }],
        token_lifetime: std::time::Duration::from_secs(2),
        ..SimConfig::default()
    })
    .await
}

/// A JWT with `claims`, signed (RS256) with the `app` test key and named by `certificate`'s
/// SHA-256 thumbprint (`x5t#S256`).
fn signed(claims: serde_json::Value, certificate: &str) -> String {
    signed_with(claims, certificate, "x5t#S256")
}

/// The same, naming the certificate in header field `field` (`x5t#S256`, or `x5t` for SHA-1).
fn signed_with(claims: serde_json::Value, certificate: &str, field: &str) -> String {
    use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use rustls_pki_types::pem::PemObject;
    use rustls_pki_types::{CertificateDer, PrivatePkcs8KeyDer};
    let pem = std::fs::read(fixture("app.pem")).unwrap();
    let key = PrivatePkcs8KeyDer::from_pem_slice(&pem).unwrap();
    let key = RsaKeyPair::from_pkcs8(key.secret_pkcs8_der()).unwrap();
    let named =
        CertificateDer::from_pem_slice(&std::fs::read(fixture(certificate)).unwrap()).unwrap();
    let (s1, s256) = hw_sim::assertion::thumbprints(&named);
    let thumbprint = if field == "x5t" { s1 } else { s256 };
    let header = serde_json::json!({"alg": "RS256", "typ": "JWT", field: thumbprint});
    let input = format!(
        "{}.{}",
        URL_SAFE_NO_PAD.encode(header.to_string()),
        URL_SAFE_NO_PAD.encode(claims.to_string())
    );
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(
        &RSA_PKCS1_SHA256,
        &aws_lc_rs::rand::SystemRandom::new(),
        input.as_bytes(),
        &mut signature,
    )
    .unwrap();
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
}

/// The AADSTS code the simulator's v2 token endpoint answers `assertion` with, or 0 for a token.
async fn answer(sim: &TestSim, assertion: &str) -> u64 {
    let app = sim.app().unwrap();
    let url = format!(
        "{}/{}/oauth2/v2.0/token",
        sim.authority_url(),
        app.tenant_id
    );
    let response = reqwest::Client::new()
        .post(&url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", app.client_id.as_str()),
            ("scope", "https://manage.devcenter.microsoft.com/.default"),
            (
                "client_assertion_type",
                "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
            ),
            ("client_assertion", assertion),
        ])
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = response.json().await.unwrap();
    body["error_codes"][0].as_u64().unwrap_or(0)
}

#[tokio::test]
async fn the_token_endpoint_checks_client_assertions_as_entra_does() {
    let sim = assertion_sim().await;
    let app = sim.app().unwrap().clone();
    let audience = format!(
        "{}/{}/oauth2/v2.0/token",
        sim.authority_url(),
        app.tenant_id
    );
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let claims = |aud: &str, iss: &str, nbf: u64, exp: u64| serde_json::json!({"aud": aud, "iss": iss, "sub": iss, "jti": "j", "nbf": nbf, "exp": exp});
    let good = claims(&audience, &app.client_id, now, now + 600);
    assert_eq!(answer(&sim, &signed(good.clone(), "app.cert.pem")).await, 0);
    // Another certificate's thumbprint: not registered.
    assert_eq!(
        answer(&sim, &signed(good.clone(), "other.pem")).await,
        700027
    );
    // A changed claim after signing: the signature fails.
    let token = signed(good, "app.cert.pem");
    let mut parts: Vec<&str> = token.split('.').collect();
    let forged = base64::Engine::encode(
        &base64::engine::general_purpose::URL_SAFE_NO_PAD,
        claims(&audience, &app.client_id, now, now + 599).to_string(),
    );
    parts[1] = &forged;
    assert_eq!(answer(&sim, &parts.join(".")).await, 700027);
    let expired = claims(&audience, &app.client_id, now - 3000, now - 1000);
    assert_eq!(answer(&sim, &signed(expired, "app.cert.pem")).await, 700024);
    let too_long = claims(&audience, &app.client_id, now, now + 7200);
    assert_eq!(
        answer(&sim, &signed(too_long, "app.cert.pem")).await,
        700024
    );
    let elsewhere = claims(
        "https://login.example.test/token",
        &app.client_id,
        now,
        now + 600,
    );
    assert_eq!(
        answer(&sim, &signed(elsewhere, "app.cert.pem")).await,
        700027
    );
    let someone = claims(&audience, "another-app", now, now + 600);
    assert_eq!(answer(&sim, &signed(someone, "app.cert.pem")).await, 700021);
    let mut other_subject = claims(&audience, &app.client_id, now, now + 600);
    other_subject["sub"] = "another-app".into();
    assert_eq!(
        answer(&sim, &signed(other_subject, "app.cert.pem")).await,
        700021
    );
    let not_yet = claims(&audience, &app.client_id, now + 3600, now + 3900);
    assert_eq!(answer(&sim, &signed(not_yet, "app.cert.pem")).await, 700024);
    // Named by its SHA-1 thumbprint only, as older clients do.
    let sha1 = claims(&audience, &app.client_id, now, now + 600);
    assert_eq!(
        answer(&sim, &signed_with(sha1, "app.cert.pem", "x5t")).await,
        0
    );
    assert_eq!(answer(&sim, "not.a.jwt").await, 50027);
}

#[tokio::test]
async fn a_certificate_signs_in_through_hw_api() {
    let sim = assertion_sim().await;
    let app = sim.app().unwrap().clone();
    let certificate = hw_api::auth::Certificate::from_file(&fixture("app.pem"), None).unwrap();
    let credentials =
        ClientCredentials::with_assertion(&app.tenant_id, &app.client_id, certificate)
            .with_authority(sim.authority_url())
            .unwrap();
    assert_eq!(list_with(&sim, credentials).await.unwrap(), 0);
}

#[tokio::test]
async fn a_rotated_federated_token_file_is_read_at_every_sign_in() {
    let sim = assertion_sim().await;
    let app = sim.app().unwrap().clone();
    let dir = hw_workspace_tests::tempdir::Dir::new("federated-rotation");
    let file = dir.path().join("token");
    let audience = hw_api::auth::FEDERATION_AUDIENCE;
    let lifetime = std::time::Duration::from_secs(300);
    let credentials = ClientCredentials::with_assertion(
        &app.tenant_id,
        &app.client_id,
        hw_api::auth::FederatedTokenFile::new(&file),
    )
    .with_authority(sim.authority_url())
    .unwrap();
    let client = Client::builder()
        .base_url(sim.api_url())
        .token_provider(credentials)
        .build()
        .unwrap();
    let list = || async {
        client
            .list_products()
            .try_collect::<Vec<_>>()
            .await
            .map(|v| v.len())
    };
    let intruder = "system:serviceaccount:ci:intruder";
    std::fs::write(&file, sim.federated_token(intruder, audience, lifetime)).unwrap();
    let (codes, _) = rejected(list().await.unwrap_err());
    assert_eq!(codes, vec![70021]);
    // The file rotates to a token of the trusted subject: the next sign-in reads it.
    let subject = hw_sim::config::FILE_SUBJECT;
    std::fs::write(&file, sim.federated_token(subject, audience, lifetime)).unwrap();
    assert_eq!(list().await.unwrap(), 0);
    // And back: once the 2-second token has expired, the next sign-in reads the file again.
    std::fs::write(&file, sim.federated_token(intruder, audience, lifetime)).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(2100)).await;
    let (codes, _) = rejected(list().await.unwrap_err());
    assert_eq!(codes, vec![70021]);
}
