//! Federated tokens as client assertions (workload identity federation): a token that another
//! identity provider issued to this run, which Entra exchanges for an access token when the app
//! registration has a federated credential for its issuer, subject and audience
//! (`docs/service-notes.md`, "Entra token: client assertions"). Each is fetched afresh at every
//! token request: files rotate, and CI tokens last minutes.

use std::path::{Path, PathBuf};

use reqwest::header::AUTHORIZATION;
use secrecy::{ExposeSecret, SecretString};
use serde_json::Value;
use url::Url;

use super::assertion::{AssertionFuture, AssertionSource};
use super::{AuthError, TokenHttp, request};
use crate::origin;
use crate::retry::RetryPolicy;
use crate::wire::{self, limits};

/// The audience Entra expects of federated tokens.
pub const FEDERATION_AUDIENCE: &str = "api://AzureADTokenExchange";

/// A federated token read from a file at every token request, as Kubernetes workload identity
/// and other CI systems provide it (`AZURE_FEDERATED_TOKEN_FILE`): the file may be rotated at
/// any time.
#[derive(Clone, Debug)]
pub struct FederatedTokenFile {
    path: PathBuf,
}

impl FederatedTokenFile {
    /// The token in the file at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    /// Where the token is read from.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl AssertionSource for FederatedTokenFile {
    fn assertion<'a>(
        &'a self,
        _audience: &'a str,
        _client_id: &'a str,
        _http: &'a TokenHttp,
    ) -> AssertionFuture<'a> {
        Box::pin(async move {
            let text = tokio::fs::read_to_string(&self.path).await.map_err(|e| {
                AuthError::Config(format!(
                    "cannot read the federated token file {}: {e}",
                    self.path.display()
                ))
            })?;
            let token = text.trim();
            if token.is_empty() {
                return Err(AuthError::Config(format!(
                    "the federated token file {} is empty",
                    self.path.display()
                )));
            }
            Ok(SecretString::from(token.to_owned()))
        })
    }
}

/// GitHub Actions' OIDC token for the running job, requested from `ACTIONS_ID_TOKEN_REQUEST_URL`
/// with `ACTIONS_ID_TOKEN_REQUEST_TOKEN` and the audience `api://AzureADTokenExchange`. GitHub
/// sets both variables only in a job with `permissions: id-token: write`.
#[derive(Clone, Debug)]
pub struct GitHubActionsToken {
    request: OidcRequest,
}

impl GitHubActionsToken {
    /// The token service at `request_url`, asked with `request_token`.
    pub fn new(request_url: &str, request_token: SecretString) -> Result<Self, AuthError> {
        let mut url = origin::secure_url(request_url, "ACTIONS_ID_TOKEN_REQUEST_URL")
            .map_err(AuthError::Config)?;
        url.query_pairs_mut()
            .append_pair("audience", FEDERATION_AUDIENCE);
        Ok(Self {
            request: OidcRequest::new(
                "GitHub Actions' OIDC token service",
                url,
                request_token,
                "value",
            )?,
        })
    }
}

/// An [`AssertionSource`] that asks a CI system's OIDC token service with `method`.
macro_rules! oidc_source {
    ($source:ty, $method:ident) => {
        impl AssertionSource for $source {
            fn assertion<'a>(
                &'a self,
                _audience: &'a str,
                _client_id: &'a str,
                http: &'a TokenHttp,
            ) -> AssertionFuture<'a> {
                Box::pin(self.request.fetch(reqwest::Method::$method, http))
            }
        }
    };
}

oidc_source!(GitHubActionsToken, GET);

/// Azure Pipelines' OIDC token for a service connection (workload identity federation),
/// requested from `SYSTEM_OIDCREQUESTURI` with the job's `SYSTEM_ACCESSTOKEN`.
#[derive(Clone, Debug)]
pub struct AzurePipelinesToken {
    request: OidcRequest,
}

impl AzurePipelinesToken {
    /// The token of service connection `service_connection_id`, from `request_uri` with the
    /// job's `access_token`.
    pub fn new(
        request_uri: &str,
        service_connection_id: &str,
        access_token: SecretString,
    ) -> Result<Self, AuthError> {
        let mut url =
            origin::secure_url(request_uri, "SYSTEM_OIDCREQUESTURI").map_err(AuthError::Config)?;
        url.query_pairs_mut()
            .append_pair("api-version", "7.1")
            .append_pair("serviceConnectionId", service_connection_id);
        Ok(Self {
            request: OidcRequest::new(
                "Azure Pipelines' OIDC token service",
                url,
                access_token,
                "oidcToken",
            )?,
        })
    }
}

oidc_source!(AzurePipelinesToken, POST);

/// A request for a CI system's OIDC token: a bearer-authorized call whose JSON answer holds the
/// token in one field.
#[derive(Clone)]
struct OidcRequest {
    what: &'static str,
    url: Url,
    bearer: SecretString,
    field: &'static str,
    retry: RetryPolicy,
}

impl std::fmt::Debug for OidcRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OidcRequest")
            .field("what", &self.what)
            .field("url", &crate::redact::url(&self.url))
            .finish_non_exhaustive()
    }
}

impl OidcRequest {
    fn new(
        what: &'static str,
        url: Url,
        bearer: SecretString,
        field: &'static str,
    ) -> Result<Self, AuthError> {
        Ok(Self {
            what,
            url,
            bearer,
            field,
            retry: RetryPolicy::default().with_max_attempts(4),
        })
    }

    /// Asks for the token with `method`, sending with `http` (whose issuer client never
    /// follows a redirect: the request carries the job's token).
    async fn fetch(
        &self,
        method: reqwest::Method,
        http: &TokenHttp,
    ) -> Result<SecretString, AuthError> {
        let build = |client: &reqwest::Client| {
            client
                .request(method.clone(), self.url.clone())
                .header(
                    AUTHORIZATION,
                    format!("Bearer {}", self.bearer.expose_secret()),
                )
                .header(reqwest::header::CONTENT_LENGTH, "0")
        };
        let accepted = |response| self.token(response);
        let refused = |response| self.refusal(response);
        let issuer = http.issuer()?;
        request::send(issuer, &self.retry, self.what, build, accepted, refused).await
    }

    async fn refusal(&self, response: reqwest::Response) -> AuthError {
        let status = response.status().as_u16();
        let body = wire::read_start(response, limits::ERROR_BODY)
            .await
            .unwrap_or_default();
        let message = crate::redact::single_line(&String::from_utf8_lossy(&body));
        AuthError::Source {
            what: self.what,
            status: Some(status),
            message: crate::redact::text(&message),
        }
    }

    async fn token(&self, response: reqwest::Response) -> Result<SecretString, AuthError> {
        let status = response.status().as_u16();
        let unusable = |message: String| AuthError::Source {
            what: self.what,
            status: Some(status),
            message,
        };
        let body = wire::read_whole(response, limits::TOKEN_RESPONSE)
            .await
            .map_err(|_| unusable("the answer could not be read".into()))?;
        let parsed: Value = serde_json::from_slice(&body)
            .map_err(|e| unusable(format!("the answer is not JSON: {e}")))?;
        match parsed.get(self.field).and_then(Value::as_str) {
            Some(token) if !token.is_empty() => Ok(SecretString::from(token.to_owned())),
            _ => Err(unusable(format!("the answer has no `{}`", self.field))),
        }
    }
}
