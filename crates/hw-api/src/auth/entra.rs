//! Microsoft Entra ID client credentials (an app registration's id and secret).
//!
//! Hand-written instead of the `oauth2` crate (which fails on the v1 endpoint's string
//! `expires_in` and brings a second reqwest and TLS stack) or azure_identity (+43 crates for one
//! form POST): see `docs/service-notes.md`, "Entra token: crate choice". Requests are retried by
//! the client's one retry engine ([`crate::retry`]): asking for a token twice is harmless.

use std::time::{Duration, SystemTime};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::{AccessToken, AuthError, TokenEndpointError, TokenFuture, TokenProvider};
use crate::error::NetworkError;
use crate::retry::{self, Attempt, Failed, RetryPolicy, Verdict, server_wait};
use crate::wire::{self, BodyError, limits};
use crate::{origin, redact};

/// The public-cloud Entra authority.
pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";

/// The resource id of the Hardware Dev Center API.
pub const DEFAULT_RESOURCE: &str = "https://manage.devcenter.microsoft.com";

/// The lifetime assumed for a token whose response gives none.
const ASSUMED_LIFETIME: Duration = Duration::from_secs(300);

/// Which Entra token endpoint to use.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EntraEndpoint {
    /// `/{tenant}/oauth2/v2.0/token` with a scope (the default).
    V2 {
        /// The scope, normally `https://manage.devcenter.microsoft.com/.default`.
        scope: String,
    },
    /// `/{tenant}/oauth2/token` with a resource (what the Hardware documentation shows).
    V1 {
        /// The resource, normally `https://manage.devcenter.microsoft.com`.
        resource: String,
    },
}

impl Default for EntraEndpoint {
    fn default() -> Self {
        Self::V2 {
            scope: format!("{DEFAULT_RESOURCE}/.default"),
        }
    }
}

impl EntraEndpoint {
    /// The v1 endpoint with the Hardware Dev Center resource.
    pub fn v1() -> Self {
        Self::V1 {
            resource: DEFAULT_RESOURCE.to_owned(),
        }
    }
}

/// Gets tokens with the client-credentials grant.
#[derive(Clone, Debug)]
pub struct ClientCredentials {
    tenant_id: String,
    client_id: String,
    secret: SecretString,
    authority: Url,
    endpoint: EntraEndpoint,
    retry: RetryPolicy,
    /// The HTTP client, or why it could not be built (reported on the first fetch).
    http: Result<reqwest::Client, String>,
}

impl ClientCredentials {
    /// Credentials for the public cloud's v2 endpoint.
    pub fn new(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        secret: SecretString,
    ) -> Self {
        Self {
            tenant_id: tenant_id.into(),
            client_id: client_id.into(),
            secret,
            authority: Url::parse(DEFAULT_AUTHORITY).expect("the default authority is a URL"),
            endpoint: EntraEndpoint::default(),
            retry: RetryPolicy::default().with_max_attempts(4),
            http: http_client(true),
        }
    }

    /// Another authority host (a sovereign cloud, or the simulator): HTTPS, or HTTP on loopback.
    pub fn with_authority(mut self, authority: &str) -> Result<Self, crate::Error> {
        self.authority =
            origin::secure_url(authority, "the authority").map_err(crate::Error::Config)?;
        self.http = http_client(self.authority.scheme() == "https");
        Ok(self)
    }

    /// Another endpoint, scope or resource.
    pub fn with_endpoint(mut self, endpoint: EntraEndpoint) -> Self {
        self.endpoint = endpoint;
        self
    }

    /// How token requests are retried (429, 5xx and network errors; never 400 or 401).
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    fn token_url(&self) -> Url {
        let mut url = self.authority.clone();
        if let Ok(mut segments) = url.path_segments_mut() {
            segments.pop_if_empty().push(&self.tenant_id).push("oauth2");
            if matches!(self.endpoint, EntraEndpoint::V2 { .. }) {
                segments.push("v2.0");
            }
            segments.push("token");
        }
        url
    }

    async fn fetch(&self) -> Result<AccessToken, AuthError> {
        let http = self
            .http
            .as_ref()
            .map_err(|message| AuthError::Config(message.clone()))?;
        let url = self.token_url();
        let (key, value) = match &self.endpoint {
            EntraEndpoint::V2 { scope } => ("scope", scope.as_str()),
            EntraEndpoint::V1 { resource } => ("resource", resource.as_str()),
        };
        let form = [
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            ("client_secret", self.secret.expose_secret()),
            (key, value),
        ];
        let (url, form) = (&url, &form);
        retry::run(&self.retry, "token", |_| async move {
            let (error, failed, wait) = match http.post(url.clone()).form(form).send().await {
                Ok(response) if response.status().is_success() => {
                    return Attempt::Done(token(response).await);
                }
                Ok(response) => {
                    let status = response.status().as_u16();
                    let wait = server_wait(response.headers(), SystemTime::now());
                    (rejection(response).await, Failed::Status(status), wait)
                }
                Err(e) => {
                    let failed = retry::failed_send(&e);
                    (AuthError::Transport(NetworkError::new(e)), failed, None)
                }
            };
            match retry::classify(failed, true) {
                Verdict::Retry => Attempt::retry(error, wait),
                // A 401 here is a wrong secret, not a stale token.
                Verdict::Reauthenticate | Verdict::Ambiguous | Verdict::Final => {
                    Attempt::Done(Err(error))
                }
            }
        })
        .await
    }
}

impl TokenProvider for ClientCredentials {
    fn fetch_token(&self) -> TokenFuture<'_> {
        Box::pin(self.fetch())
    }
}

/// The token endpoint's HTTP client: no redirects (the form carries the secret) and HTTPS only
/// unless the authority is a loopback test server.
fn http_client(https_only: bool) -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(15))
        .timeout(Duration::from_secs(60))
        .redirect(reqwest::redirect::Policy::none())
        .https_only(https_only)
        .user_agent(crate::config::DEFAULT_USER_AGENT)
        .build()
        .map_err(|e| {
            format!(
                "cannot build the HTTP client for the token endpoint: {}",
                crate::error::chain(&NetworkError::new(e))
            )
        })
}

/// Seconds given as a JSON number or a string (the v1 endpoint sends `"3599"`).
#[derive(Deserialize)]
#[serde(untagged)]
enum Seconds {
    Number(u64),
    Text(String),
}

impl Seconds {
    fn duration(&self) -> Option<Duration> {
        match self {
            Seconds::Number(n) => Some(Duration::from_secs(*n)),
            Seconds::Text(t) => t.trim().parse().ok().map(Duration::from_secs),
        }
    }
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_in: Option<Seconds>,
    refresh_in: Option<Seconds>,
}

#[derive(Deserialize, Default)]
struct ErrorBody {
    error: Option<String>,
    error_description: Option<String>,
    #[serde(default)]
    error_codes: Vec<u64>,
    trace_id: Option<String>,
    correlation_id: Option<String>,
}

async fn token(response: reqwest::Response) -> Result<AccessToken, AuthError> {
    let status = response.status().as_u16();
    let body = match wire::read_whole(response, limits::TOKEN_RESPONSE).await {
        Ok(body) => body,
        Err(BodyError::Network(e)) => return Err(AuthError::Transport(NetworkError::new(e))),
        Err(BodyError::TooLarge(limit)) => {
            return Err(AuthError::InvalidResponse {
                status,
                message: format!("the response is larger than {limit} bytes"),
            });
        }
    };
    let parsed: TokenResponse =
        serde_json::from_slice(&body).map_err(|e| AuthError::InvalidResponse {
            status,
            message: format!("not a token response: {e}"),
        })?;
    if parsed.access_token.is_empty() {
        return Err(AuthError::InvalidResponse {
            status,
            message: "the access token is empty".into(),
        });
    }
    // Without a readable lifetime, assume a short one rather than "never expires".
    let life = parsed
        .expires_in
        .as_ref()
        .and_then(Seconds::duration)
        .unwrap_or(ASSUMED_LIFETIME);
    let mut token = AccessToken::new(SecretString::from(parsed.access_token)).with_expires_in(life);
    if let Some(refresh) = parsed.refresh_in.as_ref().and_then(Seconds::duration) {
        token = token.with_refresh_in(refresh);
    }
    Ok(token)
}

async fn rejection(response: reqwest::Response) -> AuthError {
    let status = response.status();
    let body = wire::read_start(response, limits::ERROR_BODY)
        .await
        .unwrap_or_default();
    let parsed: ErrorBody = serde_json::from_slice(&body).unwrap_or_default();
    let description = parsed
        .error_description
        .as_deref()
        .and_then(|d| d.lines().next())
        .map(|d| redact::text(&redact::single_line(d)));
    let error = parsed
        .error
        .filter(|e| !e.trim().is_empty())
        .map(|e| redact::single_line(&e))
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned());
    AuthError::Rejected(Box::new(TokenEndpointError {
        status: status.as_u16(),
        error,
        description,
        codes: parsed.error_codes,
        trace_id: parsed.trace_id,
        correlation_id: parsed.correlation_id,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_urls_for_both_endpoints() {
        let c = ClientCredentials::new("contoso.onmicrosoft.com", "app", "s".to_owned().into());
        assert_eq!(
            c.token_url().as_str(),
            "https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token"
        );
        let v1 = c
            .with_authority("http://127.0.0.1:9/authority/")
            .unwrap()
            .with_endpoint(EntraEndpoint::v1());
        assert_eq!(
            v1.token_url().as_str(),
            "http://127.0.0.1:9/authority/contoso.onmicrosoft.com/oauth2/token"
        );
    }

    #[test]
    fn plain_http_authorities_are_refused_off_loopback() {
        let c = ClientCredentials::new("t", "app", "s".to_owned().into());
        assert!(c.with_authority("http://login.example.test").is_err());
    }

    #[test]
    fn debug_never_shows_the_secret() {
        let c = ClientCredentials::new("t", "app", "very-secret-value".to_owned().into());
        let shown = format!("{c:?}");
        assert!(!shown.contains("very-secret-value"), "{shown}");
    }
}
