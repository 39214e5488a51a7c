//! The network as users have it, on loopback: hw-sim over TLS from a test CA, trusted through
//! `SSL_CERT_FILE` or not at all (a network that inspects TLS with a CA this machine does not
//! trust), and a forward proxy that refuses the credentials (407), the destination (403) or
//! cannot reach it (502). What configuration must fix ends with exit 2 and a message that
//! names the certificate's issuer or the proxy; what a re-run may fix, with 75.

mod common;

use common::*;
use hw_workspace_tests::proxy::Proxy;

/// A simulator over TLS whose test CA is written into `home`, and the CA file's path.
async fn tls_sim(home: &Scratch) -> (hw_sim::SimHandle, String) {
    let ca = home.0.join("hw-sim-ca.pem");
    let sim = start(hw_sim::SimConfig {
        tls: Some(hw_sim::SimTls::new(&ca)),
        ..quick()
    })
    .await;
    assert!(sim.api_url().starts_with("https://"), "{}", sim.api_url());
    (sim, ca.to_string_lossy().into_owned())
}

const LIST: [&str; 4] = ["--output", "json", "products", "list"];

/// `SSL_CERT_FILE` replaces the system store where OpenSSL's conventions hold (Linux and the
/// BSDs); Windows and macOS verify against their own stores and do not read it.
#[cfg(not(any(windows, target_os = "macos")))]
#[tokio::test(flavor = "multi_thread")]
async fn a_test_ca_in_ssl_cert_file_is_trusted() {
    let home = Scratch::new("net-trusted");
    let (sim, ca) = tls_sim(&home).await;
    let mut trusted = command(&sim, &home.0);
    trusted.env("SSL_CERT_FILE", &ca);
    let listed = run(trusted, &LIST).await.ok();
    assert!(listed.json().is_array(), "{}", listed.stdout);
    assert_eq!(sim.requests("listProducts"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_untrusted_server_certificate_ends_with_exit_2_naming_its_issuer() {
    let home = Scratch::new("net-untrusted");
    let (sim, _) = tls_sim(&home).await;
    let refused = run(command(&sim, &home.0), &["products", "list"]).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    let store = if cfg!(windows) {
        "trust comes from the Windows certificate store"
    } else if cfg!(target_os = "macos") {
        "trust comes from the macOS keychain"
    } else {
        "trust comes from the system store"
    };
    for says in ["is not trusted", "CN=hw-sim test CA", store, "127.0.0.1"] {
        assert!(
            refused.stderr.contains(says),
            "{says:?}: {}",
            refused.stderr
        );
    }
    assert_eq!(refused.stdout, "");
    // Nothing got through, and nothing was tried twice: the token endpoint refused first.
    assert_eq!(sim.requests("listProducts"), 0);
    let json = run(command(&sim, &home.0), &LIST).await;
    let error: serde_json::Value = serde_json::from_str(json.stderr.trim()).unwrap();
    assert_eq!(error["error"]["kind"], "certificate", "{error}");
    assert_eq!(error["error"]["exit_code"], 2, "{error}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_that_refuses_the_credentials_ends_with_exit_2_naming_it() {
    let home = Scratch::new("net-407");
    let (sim, ca) = tls_sim(&home).await;
    let proxy = Proxy::refusing_tunnels(407).await;
    let mut through = command(&sim, &home.0);
    through
        .env("SSL_CERT_FILE", &ca)
        .env("HTTPS_PROXY", proxy.url());
    let refused = run(through, &LIST).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    let error: serde_json::Value = serde_json::from_str(refused.stderr.trim()).unwrap();
    assert_eq!(error["error"]["kind"], "proxy", "{error}");
    let message = error["error"]["message"].as_str().unwrap();
    assert!(message.contains(proxy.url()), "{message}");
    assert!(message.contains("407"), "{message}");
    assert_eq!(
        proxy.forwarded().len(),
        1,
        "asked once: a refusal is not retried"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_that_refuses_the_destination_is_told_from_one_that_cannot_reach_it() {
    let home = Scratch::new("net-403");
    let (sim, ca) = tls_sim(&home).await;
    let denied = Proxy::refusing_tunnels(403).await;
    let mut through = command(&sim, &home.0);
    through
        .env("SSL_CERT_FILE", &ca)
        .env("HTTPS_PROXY", denied.url());
    let refused = run(through, &["--max-attempts", "3", "products", "list"]).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("refused to open a tunnel")
            && refused.stderr.contains("it answered 403"),
        "{}",
        refused.stderr
    );
    // reqwest's CONNECT, then the question of its status: no retry.
    assert_eq!(denied.forwarded().len(), 2);

    let unreachable = Proxy::refusing_tunnels(502).await;
    let mut through = command(&sim, &home.0);
    through
        .env("SSL_CERT_FILE", &ca)
        .env("HTTPS_PROXY", unreachable.url());
    let failed = run(through, &["--max-attempts", "2", "products", "list"]).await;
    assert_eq!(failed.code, 75, "{}", failed.stderr);
    assert!(
        failed.stderr.contains("it answered 502"),
        "{}",
        failed.stderr
    );
    let asked = unreachable.forwarded().len();
    assert!(
        asked >= 4 && asked % 2 == 0,
        "retried, each refusal asked again for its status: {asked}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_proxy_that_cannot_be_reached_ends_with_exit_2() {
    let home = Scratch::new("net-no-proxy");
    let (sim, ca) = tls_sim(&home).await;
    // A port nothing listens on: bound, then closed.
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = free.local_addr().unwrap();
    drop(free);
    let mut through = command(&sim, &home.0);
    through
        .env("SSL_CERT_FILE", &ca)
        .env("HTTPS_PROXY", format!("http://{address}"));
    let refused = run(through, &["products", "list"]).await;
    assert_eq!(refused.code, 2, "{}", refused.stderr);
    assert!(
        refused.stderr.contains("cannot be reached")
            && refused.stderr.contains(&address.to_string()),
        "{}",
        refused.stderr
    );
}
