//! Microsoft Entra ID client credentials: an app registration's id and its proof, a secret or a
//! client assertion (a JWT signed with its certificate, or a federated token from GitHub Actions,
//! Azure Pipelines or a file; `assertion.rs`, `certificate.rs`).
//!
//! Hand-written instead of the `oauth2` crate (which fails on the v1 endpoint's string
//! `expires_in` and brings a second reqwest and TLS stack) or azure_identity (+43 crates for one
//! form POST): see `docs/service-notes.md`, "Entra token: crate choice". Requests are retried as
//! every credential's are (`request.rs`).

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::assertion::AssertionSource;
use super::request;
use super::{AccessToken, AuthError, TokenEndpointError, TokenFuture, TokenHttp, TokenProvider};
use crate::error::NetworkError;
use crate::retry::RetryPolicy;
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

/// The `client_assertion_type` of a JWT client assertion (RFC 7521, 7523).
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How the app proves who it is.
#[derive(Clone, Debug)]
enum Proof {
    Secret(SecretString),
    Assertion(std::sync::Arc<dyn AssertionSource>),
}

/// Gets tokens with the client-credentials grant, proving the app with its secret or with a
/// client assertion that is made afresh for every token.
#[derive(Clone, Debug)]
pub struct ClientCredentials {
    tenant_id: String,
    client_id: String,
    proof: Proof,
    authority: Url,
    endpoint: EntraEndpoint,
    retry: RetryPolicy,
}

impl ClientCredentials {
    /// Credentials for the public cloud's v2 endpoint, proven with the app's client secret.
    pub fn new(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        secret: SecretString,
    ) -> Self {
        Self::with_proof(tenant_id.into(), client_id.into(), Proof::Secret(secret))
    }

    /// Credentials for the public cloud's v2 endpoint, proven with a client assertion from
    /// `source` (a [`Certificate`](super::Certificate), a federated token, or one of your own),
    /// asked for afresh at every token request.
    pub fn with_assertion(
        tenant_id: impl Into<String>,
        client_id: impl Into<String>,
        source: impl AssertionSource + 'static,
    ) -> Self {
        let proof = Proof::Assertion(std::sync::Arc::new(source));
        Self::with_proof(tenant_id.into(), client_id.into(), proof)
    }

    fn with_proof(tenant_id: String, client_id: String, proof: Proof) -> Self {
        Self {
            tenant_id,
            client_id,
            proof,
            authority: Url::parse(DEFAULT_AUTHORITY).expect("the default authority is a URL"),
            endpoint: EntraEndpoint::default(),
            retry: RetryPolicy::default().with_max_attempts(4),
        }
    }

    /// Another authority host (a sovereign cloud, or the simulator): HTTPS, or HTTP on loopback.
    pub fn with_authority(mut self, authority: &str) -> Result<Self, crate::Error> {
        self.authority =
            origin::secure_url(authority, "the authority").map_err(crate::Error::Config)?;
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

    async fn fetch(&self, http: &TokenHttp) -> Result<AccessToken, AuthError> {
        let issuer = http.issuer()?;
        let url = self.token_url();
        let (key, value) = match &self.endpoint {
            EntraEndpoint::V2 { scope } => ("scope", scope.as_str()),
            EntraEndpoint::V1 { resource } => ("resource", resource.as_str()),
        };
        // An assertion is made once per token request: its lifetime (minutes) covers the retries.
        let assertion: SecretString;
        let mut form = vec![
            ("grant_type", "client_credentials"),
            ("client_id", self.client_id.as_str()),
            (key, value),
        ];
        match &self.proof {
            Proof::Secret(secret) => form.push(("client_secret", secret.expose_secret())),
            Proof::Assertion(source) => {
                assertion = source
                    .assertion(url.as_str(), &self.client_id, http)
                    .await?;
                form.push(("client_assertion_type", JWT_BEARER));
                form.push(("client_assertion", assertion.expose_secret()));
            }
        }
        let build = |client: &reqwest::Client| client.post(url.clone()).form(&form);
        request::send(issuer, &self.retry, "token", build, token, rejection).await
    }
}

impl TokenProvider for ClientCredentials {
    fn fetch_token<'a>(&'a self, http: &'a TokenHttp) -> TokenFuture<'a> {
        Box::pin(self.fetch(http))
    }
}

/// Seconds given as a JSON number or a string (the v1 endpoint sends `"3599"`).
#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum Seconds {
    Number(u64),
    Text(String),
}

impl Seconds {
    pub(crate) fn duration(&self) -> Option<Duration> {
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
