//! Secrets never reach logs, `Debug` or `Display`: the client secret, access tokens and SAS
//! signatures.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};

use common::*;
use hw_api::{Client, Id};
use serde_json::json;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::fmt::format::FmtSpan;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "eyJ0eXAi.access-token-value.sig";
const SIG: &str = "SASsignatureValue0123456789";

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test]
async fn no_secret_in_trace_logs_debug_or_errors() {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::CLOSE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let api = MockServer::start().await;
    let authority = MockServer::start().await;
    mount_token(&authority, TOKEN).await;
    let sas = format!(
        "https://acct.blob.core.windows.net/ingestion/x?sv=2019-12-12&sr=b&sp=rw&sig={SIG}"
    );
    Mock::given(method("GET"))
        .and(path(format!("/v2.0/my/hardware/products/{PRODUCT}")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"code": "invalidInput", "message": format!("cannot read {sas}")}
        })))
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2.0/my/hardware/products"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&api)
        .await;
    Mock::given(method("GET"))
        .and(path("/v2.0/my/hardware/products"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{"id": 1, "downloads": {"items": [{"type": "initialPackage", "url": sas}]}}],
            "links": [{"rel": "next_link", "href": format!("https://elsewhere.example/p?sig={SIG}")}]
        })))
        .mount(&api)
        .await;

    let client = entra_client(&api, &authority);
    let err = client.get_product(Id(PRODUCT)).await.unwrap_err();
    let listed = futures_util::TryStreamExt::try_collect::<Vec<_>>(client.list_products())
        .await
        .unwrap_err();

    let mut shown = captured.0.lock().unwrap().clone();
    for text in [
        format!("{err}"),
        format!("{err:?}"),
        format!("{listed}"),
        format!("{listed:?}"),
        format!("{client:?}"),
        format!("{:?}", credentials(&authority)),
        format!(
            "{:?}",
            Client::builder().access_token(TOKEN.to_owned().into())
        ),
    ] {
        shown.extend_from_slice(text.as_bytes());
        shown.push(b'\n');
    }
    let shown = String::from_utf8(shown).unwrap();
    for secret in [SECRET, TOKEN, SIG] {
        assert!(!shown.contains(secret), "{secret} leaked:\n{shown}");
    }
    // The logs are there, with operation and attempt spans.
    assert!(
        shown.contains("hw_api.operation") && shown.contains("hw_api.attempt"),
        "{shown}"
    );
    assert!(
        shown.contains("operation=\"getProduct\"") || shown.contains("operation=getProduct"),
        "{shown}"
    );
    assert!(shown.contains("sig=REDACTED"), "{shown}");
    assert!(
        shown.contains("retrying") && shown.contains("retry.delay_ms"),
        "the retry was logged: {shown}"
    );
}
