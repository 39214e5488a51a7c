//! Building a [`Client`]: where the API is, how to authenticate, how to connect (the settings
//! every HTTP client of the client is built from, `net/clients.rs`), and retries.

use std::sync::Arc;
use std::time::Duration;

use secrecy::SecretString;

use crate::auth::{StaticToken, TokenHttp, TokenProvider};
use crate::client::Client;
use crate::error::Error;
use crate::inner::Inner;
use crate::net::{HttpSettings, Traffic};
use crate::origin;
use crate::poll::WaitOptions;
use crate::rate_limit::RateLimit;
use crate::record::Recorder;
use crate::retry::RetryPolicy;
use crate::transfer::TransferOptions;
use crate::transport::Transport;

/// The production API, version 2.0.
pub const DEFAULT_BASE_URL: &str = "https://manage.devcenter.microsoft.com/v2.0/my";

impl Client {
    /// A builder with the production defaults.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }
}

/// Builds a [`Client`]; start with [`Client::builder`].
#[derive(Debug, Clone)]
pub struct ClientBuilder {
    base_url: String,
    tokens: Option<Arc<dyn TokenProvider>>,
    http: HttpSettings,
    retry: RetryPolicy,
    transfer: TransferOptions,
    max_pages: u32,
    rate: RateLimit,
    recorder: Option<Recorder>,
    file_url_wait: WaitOptions,
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            base_url: DEFAULT_BASE_URL.to_owned(),
            tokens: None,
            http: HttpSettings::default(),
            retry: RetryPolicy::default(),
            transfer: TransferOptions::default(),
            max_pages: crate::pager::DEFAULT_MAX_PAGES,
            rate: RateLimit::default(),
            recorder: None,
            file_url_wait: default_file_url_wait(),
        }
    }
}

impl ClientBuilder {
    /// The API's base URL, up to and including `/my` (default: [`DEFAULT_BASE_URL`]). HTTPS,
    /// or HTTP on a loopback host (the simulator).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Where access tokens come from (required).
    pub fn token_provider(mut self, provider: impl TokenProvider + 'static) -> Self {
        self.tokens = Some(Arc::new(provider));
        self
    }

    /// Where access tokens come from, shared with other clients.
    pub fn shared_token_provider(mut self, provider: Arc<dyn TokenProvider>) -> Self {
        self.tokens = Some(provider);
        self
    }

    /// A fixed access token (obtained elsewhere).
    pub fn access_token(self, token: SecretString) -> Self {
        self.token_provider(StaticToken::new(token))
    }

    /// The most time to establish a connection (default 15 s; at most 2 s to a managed
    /// identity endpoint, which is on the host).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.http.connect_timeout = timeout;
        self
    }

    /// The most time for one request and its response, to the API and to token issuers
    /// (default 100 s; at most 10 s from a managed identity endpoint). Blob transfers have no
    /// total limit: they are given up when they stall
    /// ([`TransferOptions::stall_timeout`](crate::transfer::TransferOptions::stall_timeout)).
    pub fn request_timeout(mut self, timeout: Duration) -> Self {
        self.http.request_timeout = timeout;
        self
    }

    /// The `User-Agent` header of every request: to the API, blob storage, token issuers and
    /// managed identity endpoints.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.http.user_agent = user_agent.into();
        self
    }

    /// The proxy of every request (`http://user:password@host:port` for one that asks for
    /// basic credentials), instead of the environment's (`HTTPS_PROXY`, `HTTP_PROXY`,
    /// `ALL_PROXY` and `NO_PROXY`, read by default). Managed identity endpoints are on the host
    /// and are never reached through a proxy.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.http.proxy = Some(url.into());
        self
    }

    /// Trusts the certificate authority `pem` (a PEM certificate) for every connection, in
    /// addition to the TLS stack's own roots: the CA of a network that inspects TLS, say.
    pub fn add_root_certificate(mut self, pem: impl Into<Vec<u8>>) -> Self {
        self.http.roots.push(pem.into());
        self
    }

    /// How failed requests are retried ([`RetryPolicy::none`] turns retries off).
    pub fn retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// How package uploads are cut into blocks and how many run at once.
    pub fn transfer_options(mut self, transfer: TransferOptions) -> Self {
        self.transfer = transfer;
        self
    }

    /// The most pages a list may have (default [`DEFAULT_MAX_PAGES`](crate::DEFAULT_MAX_PAGES));
    /// a longer list ends with [`Error::Paging`] instead of going on for ever.
    pub fn max_pages(mut self, pages: u32) -> Self {
        self.max_pages = pages.max(1);
        self
    }

    /// How API requests are paced: one adaptive rate that the client's clones share (default
    /// [`RateLimit::default`]; [`RateLimit::off`] turns it off). Blob transfers are not paced.
    pub fn rate_limit(mut self, rate: RateLimit) -> Self {
        self.rate = rate;
        self
    }

    /// Records every exchange of the client (API, token endpoint, blob storage) to
    /// `recorder`, redacted as it is written: a trace to attach to a report of a difference
    /// from the real service (`docs/traces.md`).
    pub fn record(mut self, recorder: Recorder) -> Self {
        self.recorder = Some(recorder);
        self
    }

    /// How long a flow reads a submission again for a file's URL that is not available yet
    /// (listed with a `null` URL, or a new submission's package URL not listed yet); see
    /// [`Client::download_url`]. Default: 1 s growing to 10 s, for at most 5 minutes.
    pub fn file_url_wait(mut self, options: WaitOptions) -> Self {
        self.file_url_wait = options;
        self
    }

    /// Checks the settings and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let trimmed = self.base_url.trim_end_matches('/');
        let base = origin::secure_url(trimmed, "the base URL").map_err(Error::Config)?;
        if base.query().is_some() || base.fragment().is_some() {
            return Err(Error::Config(
                "the base URL must not have a query or fragment".into(),
            ));
        }
        let tokens = self.tokens.ok_or_else(|| {
            Error::Config(
                "no token provider: set one with token_provider() or access_token()".into(),
            )
        })?;
        let settings = HttpSettings {
            api_https_only: base.scheme() == "https",
            ..self.http
        };
        let http = settings.client(Traffic::Api).map_err(Error::Config)?;
        let blob = crate::transfer::blob_client(&settings, self.recorder.clone());
        if let Some(recorder) = &self.recorder {
            recorder.client(&base);
        }
        let token_http = TokenHttp::new(settings, self.recorder.clone());
        Ok(Client::from_inner(Inner {
            api: Transport::new(
                base,
                http,
                (tokens, token_http),
                self.retry,
                self.rate,
                self.recorder,
            ),
            blob,
            transfer: self.transfer,
            max_pages: self.max_pages,
            file_url_wait: self.file_url_wait,
        }))
    }
}

/// The default of [`ClientBuilder::file_url_wait`].
fn default_file_url_wait() -> WaitOptions {
    WaitOptions::default()
        .with_first_interval(Duration::from_secs(1))
        .with_max_interval(Duration::from_secs(10))
        .with_deadline(Some(Duration::from_secs(300)))
}
