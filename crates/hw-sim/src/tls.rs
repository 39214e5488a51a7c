//! TLS, as the service is reached: a test CA made at start (its certificate written to a file
//! for clients to trust, or not), a server certificate from it for the names asked for, and
//! every endpoint served over it; with a front ([`SimFront`]), the service's own host names on
//! one address, each request routed by its `Host` to the API, the token endpoint or blob
//! storage, as a proxy that resolves those names to the simulator reaches them.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::extract::Request;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

/// TLS for every endpoint of the simulator.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SimTls {
    /// Where the test CA's certificate is written (PEM), for clients that trust it.
    pub ca_file: PathBuf,
    /// More host names the server certificate is for (it is always for `localhost` and
    /// `127.0.0.1`, and for the front's names).
    pub hosts: Vec<String>,
}

impl SimTls {
    /// TLS with the test CA written to `ca_file`.
    pub fn new(ca_file: impl Into<PathBuf>) -> Self {
        Self {
            ca_file: ca_file.into(),
            hosts: Vec::new(),
        }
    }
}

/// The service's host names on one address (with TLS): the URLs the simulator gives name them,
/// and a request is routed by its `Host`.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SimFront {
    /// Where to listen (`127.0.0.1:443` in a network namespace of its own).
    pub addr: SocketAddr,
    /// The API's host name.
    pub api: String,
    /// The token endpoint's host name.
    pub token: String,
    /// Blob storage's host name.
    pub blob: String,
}

impl SimFront {
    /// The service's own names on `addr`: `manage.devcenter.microsoft.com`,
    /// `login.microsoftonline.com` and `hwsim.blob.core.windows.net`.
    pub fn service_names(addr: SocketAddr) -> Self {
        Self {
            addr,
            api: "manage.devcenter.microsoft.com".into(),
            token: "login.microsoftonline.com".into(),
            blob: "hwsim.blob.core.windows.net".into(),
        }
    }

    /// The origin of `host` on the front: `https://host`, with the port unless it is 443.
    pub(crate) fn origin(&self, host: &str) -> String {
        match self.addr.port() {
            443 => format!("https://{host}"),
            port => format!("https://{host}:{port}"),
        }
    }
}

/// Makes the test CA (written to `tls.ca_file`) and a server certificate for `names`, and the
/// acceptor that serves it.
pub(crate) fn acceptor(tls: &SimTls, names: &[String]) -> std::io::Result<TlsAcceptor> {
    let failed = |e: rcgen::Error| std::io::Error::other(format!("hw-sim TLS: {e}"));
    let ca_key = rcgen::KeyPair::generate().map_err(failed)?;
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).map_err(failed)?;
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "hw-sim test CA");
    ca_params
        .distinguished_name
        .push(rcgen::DnType::OrganizationName, "hw-sim");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params.key_usages = vec![
        rcgen::KeyUsagePurpose::KeyCertSign,
        rcgen::KeyUsagePurpose::CrlSign,
    ];
    let ca = ca_params.self_signed(&ca_key).map_err(failed)?;
    let mut hosts = vec!["localhost".to_owned(), "127.0.0.1".to_owned()];
    hosts.extend(tls.hosts.iter().cloned());
    hosts.extend(names.iter().cloned());
    hosts.sort();
    hosts.dedup();
    let key = rcgen::KeyPair::generate().map_err(failed)?;
    let mut params = rcgen::CertificateParams::new(hosts).map_err(failed)?;
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "hw-sim");
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
    let leaf = params.signed_by(&key, &issuer).map_err(failed)?;
    std::fs::write(&tls.ca_file, ca.pem())?;
    let chain = vec![leaf.der().clone(), ca.der().clone()];
    let private = rustls_pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into());
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(std::io::Error::other)?
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .map_err(std::io::Error::other)?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Serves `router` over TLS on `listener` until `stop` resolves.
pub(crate) async fn serve(
    listener: TcpListener,
    router: Router,
    acceptor: TlsAcceptor,
    stop: impl std::future::Future<Output = ()>,
) {
    let mut stop = std::pin::pin!(stop);
    loop {
        let (tcp, _) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!(error = %e, "hw-sim TLS accept failed");
                    continue;
                }
            },
            () = &mut stop => return,
        };
        let (acceptor, router) = (acceptor.clone(), router.clone());
        tokio::spawn(async move {
            // A client that does not trust the test CA ends the handshake here.
            let Ok(stream) = acceptor.accept(tcp).await else {
                return;
            };
            let service = hyper_util::service::TowerToHyperService::new(router);
            let _ =
                hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new())
                    .serve_connection(hyper_util::rt::TokioIo::new(stream), service)
                    .await;
        });
    }
}

/// One router for the front: each request goes to the API's, the token endpoint's or blob
/// storage's by its `Host`; another host is answered 421.
pub(crate) fn by_host(front: &SimFront, api: Router, token: Router, blob: Router) -> Router {
    let names = [
        (front.api.clone(), api),
        (front.token.clone(), token),
        (front.blob.clone(), blob),
    ];
    let route = move |request: Request| {
        let host = request
            .headers()
            .get(axum::http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .map(|h| h.split(':').next().unwrap_or(h).to_ascii_lowercase())
            .unwrap_or_default();
        let router = names
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(&host))
            .map(|(_, router)| router.clone());
        async move {
            match router {
                Some(router) => router.oneshot(request).await,
                None => Ok(axum::response::IntoResponse::into_response((
                    axum::http::StatusCode::MISDIRECTED_REQUEST,
                    format!("hw-sim does not serve {host}"),
                ))),
            }
        }
    };
    Router::new().fallback_service(tower::service_fn(route))
}
