//! Every HTTP client of the product is built here, from one set of settings
//! ([`HttpSettings`], which [`ClientBuilder`](crate::ClientBuilder) fills): the user agent,
//! the timeouts, the proxy, the extra trusted certificates, and no redirects. progenitor's own
//! constructor (`Client::new` in `generated.rs`) is never used; the generated code gets the API's
//! client from here.
//!
//! Rules every client follows:
//! - **No redirects**: the API's requests carry the token, a token endpoint's carry the secret
//!   or the assertion, an OIDC service's carry the job's token, and a SAS URL is a credential.
//!   A redirect is answered as an error instead.
//! - **The proxy**: the one set on the builder, else the environment's (`HTTPS_PROXY`,
//!   `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY`, which reqwest reads), for every kind of traffic but
//!   [`Traffic::Identity`]: a managed identity endpoint is on the host itself and never goes
//!   through a proxy, as the Azure SDKs do (`docs/service-notes.md`, "Managed identity endpoints").
//! - **Trust**: the TLS stack's roots (the operating system's store by default) and the
//!   certificates added on the builder, for every kind of traffic.

use std::time::Duration;

use super::traffic::Traffic;

/// The most time to connect to a managed identity endpoint: it is on the host, so a longer
/// wait means there is none (the Azure SDKs probe it as briefly).
const IDENTITY_CONNECT: Duration = Duration::from_secs(2);

/// The most time for a managed identity endpoint's answer.
const IDENTITY_ANSWER: Duration = Duration::from_secs(10);

/// The `User-Agent` sent unless another is set.
pub const DEFAULT_USER_AGENT: &str = concat!("hw-api/", env!("CARGO_PKG_VERSION"));

/// What every HTTP client of a [`Client`](crate::Client) is built from.
#[derive(Clone)]
pub(crate) struct HttpSettings {
    /// The `User-Agent` of every request.
    pub(crate) user_agent: String,
    /// The most time to establish a connection.
    pub(crate) connect_timeout: Duration,
    /// The most time for one request and its answer (API and issuer traffic; blob requests
    /// are watched for stalls instead).
    pub(crate) request_timeout: Duration,
    /// The proxy of every request but identity traffic; `None`: the environment's.
    pub(crate) proxy: Option<String>,
    /// More trusted root certificates, PEM.
    pub(crate) roots: Vec<Vec<u8>>,
    /// Whether API requests must use HTTPS (off only for a loopback simulator).
    pub(crate) api_https_only: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        Self {
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            connect_timeout: Duration::from_secs(15),
            request_timeout: Duration::from_secs(100),
            proxy: None,
            roots: Vec::new(),
            api_https_only: true,
        }
    }
}

impl std::fmt::Debug for HttpSettings {
    /// The proxy without its credentials, and how many certificates were added.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpSettings")
            .field("user_agent", &self.user_agent)
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("proxy", &self.proxy.as_deref().map(shown_proxy))
            .field("roots", &self.roots.len())
            .field("api_https_only", &self.api_https_only)
            .finish()
    }
}

impl HttpSettings {
    /// The HTTP client for `traffic`, or why it cannot be built (a proxy URL or a certificate
    /// that does not parse, a TLS stack that cannot start).
    pub(crate) fn client(&self, traffic: Traffic) -> Result<reqwest::Client, String> {
        let failed = |what: &str, detail: String| {
            format!(
                "cannot build the HTTP client for {}: {what}{detail}",
                traffic_name(traffic)
            )
        };
        let mut builder = reqwest::Client::builder()
            .user_agent(&self.user_agent)
            .redirect(reqwest::redirect::Policy::none());
        #[cfg(feature = "rustls")]
        {
            let tls = super::trust::client_config(&self.roots).map_err(|e| failed("", e))?;
            builder = builder.tls_backend_preconfigured(tls);
        }
        #[cfg(not(feature = "rustls"))]
        for pem in &self.roots {
            let certificate = reqwest::Certificate::from_pem(pem)
                .map_err(|e| failed("a root certificate is not PEM: ", network(e)))?;
            builder = builder.add_root_certificate(certificate);
        }
        builder = match (traffic, &self.proxy) {
            (Traffic::Identity, _) => builder.no_proxy(),
            (_, Some(proxy)) => builder.proxy(
                reqwest::Proxy::all(proxy.as_str())
                    .map_err(|e| failed("the proxy URL is not usable: ", network(e)))?,
            ),
            (_, None) => builder,
        };
        builder = match traffic {
            Traffic::Api => builder
                .connect_timeout(self.connect_timeout)
                .timeout(self.request_timeout)
                .https_only(self.api_https_only),
            // reqwest's total timeout runs from a request's start and would cap every upload;
            // blob requests are watched for stalls (`transfer/watch.rs`).
            Traffic::Blob => builder.connect_timeout(self.connect_timeout),
            Traffic::Issuer => builder
                .connect_timeout(self.connect_timeout)
                .timeout(self.request_timeout),
            Traffic::Identity => builder
                .connect_timeout(self.connect_timeout.min(IDENTITY_CONNECT))
                .timeout(self.request_timeout.min(IDENTITY_ANSWER)),
        };
        builder.build().map_err(|e| failed("", network(e)))
    }
}

/// A proxy URL as it may be shown: without its credentials; nothing of it when it does not
/// parse (its password could not be told apart).
fn shown_proxy(text: &str) -> String {
    url::Url::parse(text).map_or_else(|_| "(not a URL)".to_owned(), |u| crate::redact::url(&u))
}

/// What a traffic kind is called in an error.
fn traffic_name(traffic: Traffic) -> &'static str {
    match traffic {
        Traffic::Api => "the API",
        Traffic::Blob => "blob storage",
        Traffic::Issuer => "the token endpoint",
        Traffic::Identity => "the managed identity endpoint",
    }
}

/// A reqwest error's chain, on one line and redacted.
fn network(error: reqwest::Error) -> String {
    crate::report::chain(&error.without_url())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_of_traffic_gets_a_client_from_the_defaults() {
        for traffic in Traffic::ALL {
            HttpSettings::default().client(traffic).unwrap();
        }
    }

    #[test]
    fn the_proxys_password_is_never_shown() {
        let builder = crate::Client::builder().proxy("http://user:proxy-password@127.0.0.1:3128");
        let shown = format!("{builder:?}");
        assert!(!shown.contains("proxy-password"), "{shown}");
        assert!(shown.contains("127.0.0.1:3128"), "{shown}");
        let settings = HttpSettings {
            proxy: Some("http://user:proxy-password@[::1".into()),
            ..HttpSettings::default()
        };
        let shown = format!("{settings:?}");
        assert!(!shown.contains("proxy-password"), "{shown}");
        let error = settings.client(Traffic::Api).unwrap_err();
        assert!(!error.contains("proxy-password"), "{error}");
    }

    #[test]
    fn a_proxy_or_certificate_that_does_not_parse_is_named_in_the_error() {
        let settings = HttpSettings {
            proxy: Some("http://[::1".into()),
            ..HttpSettings::default()
        };
        let error = settings.client(Traffic::Api).unwrap_err();
        assert!(error.contains("the API: the proxy URL"), "{error}");
        // Identity traffic never uses the proxy, so its URL is not even read.
        settings.client(Traffic::Identity).unwrap();
        let settings = HttpSettings {
            roots: vec![
                b"-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n".to_vec(),
            ],
            ..HttpSettings::default()
        };
        let error = settings.client(Traffic::Blob).unwrap_err();
        // reqwest reads the PEM when the client is built: "invalid certificate encoding".
        assert!(error.contains("for blob storage"), "{error}");
        assert!(error.contains("certificate"), "{error}");
    }
}
