//! Azure managed identities: the identity endpoint of App Service, Functions and Container Apps
//! (`IDENTITY_ENDPOINT` with `IDENTITY_HEADER`), Cloud Shell's (`MSI_ENDPOINT`), or a virtual
//! machine's instance metadata service (IMDS, `http://169.254.169.254`)
//! (`docs/service-notes.md`, "Managed identity endpoints").
//!
//! IMDS is plain HTTP by design, on a link-local address no traffic leaves the machine for: the
//! only non-loopback plain HTTP this project uses, and only here, with short timeouts.

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use super::entra::Seconds;
use super::request;
use super::{AccessToken, AuthError, DEFAULT_RESOURCE, TokenFuture, TokenHttp, TokenProvider, jwt};
use crate::retry::RetryPolicy;
use crate::wire::{self, limits};
use crate::{origin, redact};

/// The instance metadata service's address.
pub const IMDS_AUTHORITY: &str = "http://169.254.169.254";

/// Where a managed identity's tokens come from.
#[derive(Clone)]
enum Endpoint {
    /// App Service, Functions, Container Apps: `GET {endpoint}` with `X-IDENTITY-HEADER`.
    AppService { url: Url, header: SecretString },
    /// Cloud Shell: `POST {endpoint}` with `Metadata: true` and the resource as a form.
    CloudShell { url: Url },
    /// The instance metadata service: `GET /metadata/identity/oauth2/token` with `Metadata: true`.
    Imds { url: Url },
}

/// Gets tokens for a managed identity: the system-assigned one, or a user-assigned one by its
/// client id.
#[derive(Clone)]
pub struct ManagedIdentity {
    endpoint: Endpoint,
    client_id: Option<String>,
    resource: String,
    retry: RetryPolicy,
}

impl std::fmt::Debug for ManagedIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, url) = match &self.endpoint {
            Endpoint::AppService { url, .. } => ("app service", url),
            Endpoint::CloudShell { url } => ("cloud shell", url),
            Endpoint::Imds { url } => ("imds", url),
        };
        f.debug_struct("ManagedIdentity")
            .field("endpoint", &kind)
            .field("url", &redact::url(url))
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

impl ManagedIdentity {
    /// The identity endpoint of App Service, Functions or Container Apps (`IDENTITY_ENDPOINT`,
    /// a loopback or HTTPS URL) with its `IDENTITY_HEADER`.
    pub fn app_service(endpoint: &str, header: SecretString) -> Result<Self, AuthError> {
        let url = origin::secure_url(endpoint, "IDENTITY_ENDPOINT").map_err(AuthError::Config)?;
        Self::with_endpoint(Endpoint::AppService { url, header })
    }

    /// Cloud Shell's identity endpoint (`MSI_ENDPOINT`, a loopback or HTTPS URL). It has no
    /// user-assigned identities.
    pub fn cloud_shell(endpoint: &str) -> Result<Self, AuthError> {
        let url = origin::secure_url(endpoint, "MSI_ENDPOINT").map_err(AuthError::Config)?;
        Self::with_endpoint(Endpoint::CloudShell { url })
    }

    /// The instance metadata service at `authority`: [`IMDS_AUTHORITY`], or another one for
    /// tests (`AZURE_POD_IDENTITY_AUTHORITY_HOST`; loopback or HTTPS).
    pub fn imds(authority: &str) -> Result<Self, AuthError> {
        let base = if authority.trim_end_matches('/') == IMDS_AUTHORITY {
            Url::parse(IMDS_AUTHORITY).map_err(|e| AuthError::Config(e.to_string()))?
        } else {
            origin::secure_url(authority, "the instance metadata authority")
                .map_err(AuthError::Config)?
        };
        let url = base
            .join("/metadata/identity/oauth2/token")
            .map_err(|e| AuthError::Config(e.to_string()))?;
        Self::with_endpoint(Endpoint::Imds { url })
    }

    fn with_endpoint(endpoint: Endpoint) -> Result<Self, AuthError> {
        Ok(Self {
            endpoint,
            client_id: None,
            resource: DEFAULT_RESOURCE.to_owned(),
            retry: RetryPolicy::default().with_max_attempts(4),
        })
    }

    /// A user-assigned identity, by its client id. Cloud Shell has none: its tokens are then
    /// refused with [`AuthError::Config`] rather than given for another identity.
    pub fn with_client_id(mut self, client_id: impl Into<String>) -> Self {
        self.client_id = Some(client_id.into());
        self
    }

    /// How requests are retried.
    pub fn with_retry_policy(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// Tokens for `resource` instead of the API's.
    pub fn with_resource(mut self, resource: impl Into<String>) -> Self {
        self.resource = resource.into();
        self
    }

    /// A `GET` of `url` with the API version, the resource and the user-assigned identity in
    /// its query.
    fn get(&self, http: &reqwest::Client, url: &Url, version: &str) -> reqwest::RequestBuilder {
        let mut url = url.clone();
        url.query_pairs_mut()
            .append_pair("api-version", version)
            .append_pair("resource", &self.resource);
        if let Some(id) = &self.client_id {
            url.query_pairs_mut().append_pair("client_id", id);
        }
        http.get(url)
    }

    /// The request for a token, made with `http`.
    fn request(&self, http: &reqwest::Client) -> reqwest::RequestBuilder {
        match &self.endpoint {
            Endpoint::AppService { url, header } => self
                .get(http, url, "2019-08-01")
                .header("X-IDENTITY-HEADER", header.expose_secret()),
            Endpoint::Imds { url } => self.get(http, url, "2018-02-01").header("Metadata", "true"),
            Endpoint::CloudShell { url } => http
                .post(url.clone())
                .header("Metadata", "true")
                .form(&[("resource", self.resource.as_str())]),
        }
    }

    async fn fetch(&self, http: &TokenHttp) -> Result<AccessToken, AuthError> {
        if matches!(self.endpoint, Endpoint::CloudShell { .. }) && self.client_id.is_some() {
            return Err(AuthError::Config(
                "Cloud Shell's identity endpoint (MSI_ENDPOINT) has no user-assigned identities"
                    .into(),
            ));
        }
        let build = |client: &reqwest::Client| self.request(client);
        let what = "managedIdentityToken";
        request::send(http.identity()?, &self.retry, what, build, token, refusal).await
    }
}

impl TokenProvider for ManagedIdentity {
    fn fetch_token<'a>(&'a self, http: &'a TokenHttp) -> TokenFuture<'a> {
        Box::pin(self.fetch(http))
    }
}

const WHAT: &str = "the managed identity endpoint";

/// A managed-identity token: `expires_on` (seconds since the epoch, a number or a string) and,
/// from IMDS, `expires_in`.
#[derive(Deserialize)]
struct TokenResponse {
    access_token: String,
    expires_on: Option<Seconds>,
    expires_in: Option<Seconds>,
}

async fn token(response: reqwest::Response) -> Result<AccessToken, AuthError> {
    let status = response.status().as_u16();
    let unusable = |message: String| AuthError::Source {
        what: WHAT,
        status: Some(status),
        message,
    };
    let body = wire::read_whole(response, limits::TOKEN_RESPONSE)
        .await
        .map_err(|_| unusable("the answer could not be read".into()))?;
    let parsed: TokenResponse = serde_json::from_slice(&body)
        .map_err(|e| unusable(format!("not a token response: {e}")))?;
    if parsed.access_token.is_empty() {
        return Err(unusable("the access token is empty".into()));
    }
    let life = parsed
        .expires_on
        .as_ref()
        .and_then(Seconds::duration)
        .and_then(|on| jwt::until(on.as_secs()))
        .or_else(|| parsed.expires_in.as_ref().and_then(Seconds::duration))
        .ok_or_else(|| unusable("the token has no usable expires_on or expires_in".into()))?;
    Ok(AccessToken::new(SecretString::from(parsed.access_token)).with_expires_in(life))
}

async fn refusal(response: reqwest::Response) -> AuthError {
    let status = response.status().as_u16();
    let body = wire::read_start(response, limits::ERROR_BODY)
        .await
        .unwrap_or_default();
    let parsed: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let message = ["error_description", "message", "error"]
        .iter()
        .find_map(|key| parsed.get(key).and_then(|v| v.as_str()))
        .map(str::to_owned)
        .unwrap_or_else(|| String::from_utf8_lossy(&body).into_owned());
    AuthError::Source {
        what: WHAT,
        status: Some(status),
        message: redact::text(&redact::single_line(&message)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cloud_shell_refuses_a_user_assigned_identity_before_sending() {
        // A closed loopback port: a request would fail as a network error, not a refusal.
        let identity = ManagedIdentity::cloud_shell("http://127.0.0.1:9/oauth2/token")
            .unwrap()
            .with_client_id("someone");
        let refused = identity
            .fetch_token(&TokenHttp::default())
            .await
            .unwrap_err();
        assert!(matches!(refused, AuthError::Config(_)), "{refused:?}");
        assert!(
            refused.to_string().contains("no user-assigned"),
            "{refused}"
        );
    }
}

/// A managed identity's token for Entra's federation audience (`api://AzureADTokenExchange`),
/// sent as the client assertion of the app registration, which trusts the identity through a
/// federated credential: how an Azure-hosted machine signs in as the app associated with the
/// Partner Center account (the only identity the Hardware Dev Center accepts) without a secret,
/// as Microsoft's own C# library for this API offers. Fetched afresh for every token request.
#[derive(Clone, Debug)]
pub struct ManagedIdentityAssertion {
    identity: ManagedIdentity,
}

impl ManagedIdentityAssertion {
    /// Assertions from `identity` (its resource is set to the federation audience).
    pub fn new(identity: ManagedIdentity) -> Self {
        Self {
            identity: identity.with_resource(super::FEDERATION_AUDIENCE),
        }
    }
}

impl super::AssertionSource for ManagedIdentityAssertion {
    fn assertion<'a>(
        &'a self,
        _audience: &'a str,
        _client_id: &'a str,
        http: &'a TokenHttp,
    ) -> super::AssertionFuture<'a> {
        Box::pin(async move {
            let token = self.identity.fetch(http).await?;
            Ok(token.secret().clone())
        })
    }
}
