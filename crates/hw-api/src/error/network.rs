//! A request that got no complete answer, without secrets.

use super::ErrorKind;
use super::network_path::NetworkProblem;

/// A request that got no complete answer: what happened, on one line without secrets (reqwest's
/// own level, its URL redacted: it may carry a SAS signature); the causes under it (the
/// connection's, the socket's) follow in `source()`, which [`Report`](crate::Report) prints.
/// When the network path is set up so that no request gets through (an untrusted server
/// certificate, a proxy that refuses), it says so and what fixes it ([`problem`](Self::problem)).
#[derive(Debug)]
pub struct NetworkError {
    description: String,
    /// reqwest's error, without its URL.
    error: Option<reqwest::Error>,
    /// What the message is made of (boxed: errors stay small).
    context: Box<Context>,
}

/// What a [`NetworkError`]'s message is made of.
#[derive(Debug, Default)]
struct Context {
    /// What is wrong with the network path, if that is why.
    problem: Option<NetworkProblem>,
    /// The host asked for.
    host: String,
    /// The proxy on the way, without credentials.
    proxy: Option<String>,
    /// The URL, redacted.
    shown_url: Option<String>,
}

impl std::fmt::Display for NetworkError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.description)
    }
}

/// Hand-written rather than derived: the description is reqwest's own level, so the source is
/// what is under it, not reqwest's error again.
impl std::error::Error for NetworkError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.error.as_ref().and_then(std::error::Error::source)
    }
}

impl NetworkError {
    /// The failure `error`.
    pub(crate) fn new(error: reqwest::Error) -> Self {
        let url = error.url().cloned();
        let shown = url.as_ref().map(crate::redact::url);
        let error = error.without_url();
        let problem = NetworkProblem::of(&error);
        let host = url
            .as_ref()
            .and_then(|u| u.host_str())
            .unwrap_or("the host")
            .to_owned();
        let proxy = url.as_ref().and_then(proxy_of);
        let mut network = Self {
            description: String::new(),
            error: Some(error),
            context: Box::new(Context {
                problem,
                host,
                proxy,
                shown_url: shown,
            }),
        };
        network.describe();
        network
    }

    /// The message: the problem's, or reqwest's own level, with the URL.
    fn describe(&mut self) {
        let Context {
            problem,
            host,
            proxy,
            shown_url,
        } = &*self.context;
        let mut description = match (problem, &self.error) {
            (Some(problem), _) => problem.describe(host, proxy.as_deref()),
            (None, Some(error)) => error.to_string(),
            (None, None) => return,
        };
        if let Some(url) = shown_url {
            description.push_str(&format!(" ({url})"));
        }
        self.description = crate::wire::clean(&description);
    }

    /// The same failure, with the status the proxy gave when asked again (reqwest does not
    /// say it): tells a refused destination (403) from a proxy that could not reach it now.
    pub(crate) fn with_proxy_status(mut self, status: u16) -> Self {
        if let Some(NetworkProblem::ProxyRefused { status: known }) = &mut self.context.problem {
            *known = Some(status);
            self.describe();
        }
        self
    }

    /// A failure that reqwest did not see (a body cut short).
    pub(crate) fn other(description: impl Into<String>) -> Self {
        Self {
            description: description.into(),
            error: None,
            context: Box::default(),
        }
    }

    /// Whether the request timed out.
    pub fn is_timeout(&self) -> bool {
        self.error.as_ref().is_some_and(reqwest::Error::is_timeout)
    }

    /// What is wrong with the network path, when that is why the request failed.
    pub fn problem(&self) -> Option<&NetworkProblem> {
        self.context.problem.as_ref()
    }

    /// The kind of failure: [`Certificate`](ErrorKind::Certificate) or
    /// [`Proxy`](ErrorKind::Proxy) for a network path that configuration must fix, else
    /// [`Transient`](ErrorKind::Transient).
    pub fn kind(&self) -> ErrorKind {
        self.problem()
            .map_or(ErrorKind::Transient, NetworkProblem::kind)
    }
}

/// The proxy the environment gives for `url` (as reqwest reads it: `HTTPS_PROXY`, `HTTP_PROXY`,
/// `ALL_PROXY`, `NO_PROXY`), without its credentials.
fn proxy_of(url: &url::Url) -> Option<String> {
    let uri: http::Uri = url.as_str().parse().ok()?;
    let intercepted = hyper_util::client::proxy::matcher::Matcher::from_system().intercept(&uri)?;
    let proxy = url::Url::parse(&intercepted.uri().to_string()).ok()?;
    Some(crate::redact::url(&proxy))
}
