//! What can go wrong while getting a token.

use std::fmt;

use super::{ErrorKind, NetworkError};

/// A failure to get an access token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// The token endpoint answered with an error (wrong secret, unknown app or tenant, …).
    #[error("the token endpoint refused: {0}")]
    Rejected(Box<TokenEndpointError>),
    /// The token endpoint could not be reached or did not answer in time.
    #[error("cannot reach the token endpoint")]
    Transport(#[source] NetworkError),
    /// The token endpoint answered with something that is not a token.
    #[error("the token endpoint sent an unusable response (HTTP {status}): {message}")]
    InvalidResponse {
        /// The HTTP status.
        status: u16,
        /// What was wrong with it.
        message: String,
    },
    /// The token endpoint's client could not be set up.
    #[error("cannot set up the token request: {0}")]
    Config(String),
    /// The credential's own source refused or failed: a CI system's OIDC token service, a
    /// managed-identity endpoint, the Azure CLI.
    #[error("{what} refused{}: {message}", status.map(|s| format!(" (HTTP {s})")).unwrap_or_default())]
    Source {
        /// Which source.
        what: &'static str,
        /// The HTTP status, when it answered over HTTP.
        status: Option<u16>,
        /// What it said (redacted).
        message: String,
    },
    /// A custom [`TokenProvider`](crate::auth::TokenProvider) failed.
    #[error("the token provider failed: {0}")]
    Provider(String),
}

impl AuthError {
    /// What kind of failure this is: a token endpoint that could not be reached or answers with
    /// a transient status is [transient](ErrorKind::Transient) or
    /// [throttled](ErrorKind::Throttled) (by the one definition in `retry.rs`); a client that
    /// could not be set up is [configuration](ErrorKind::Config); any other failure is an
    /// [authentication](ErrorKind::Auth) failure.
    pub fn kind(&self) -> ErrorKind {
        match self {
            AuthError::Transport(network) => network.kind(),
            AuthError::Config(_) => ErrorKind::Config,
            AuthError::Rejected(r) => match ErrorKind::of_status(r.status) {
                kind @ (ErrorKind::Throttled | ErrorKind::Transient) => kind,
                _ => ErrorKind::Auth,
            },
            AuthError::Source {
                status: Some(status),
                ..
            } => match ErrorKind::of_status(*status) {
                kind @ (ErrorKind::Throttled | ErrorKind::Transient) => kind,
                _ => ErrorKind::Auth,
            },
            AuthError::InvalidResponse { .. }
            | AuthError::Provider(_)
            | AuthError::Source { .. } => ErrorKind::Auth,
        }
    }
}

/// An error body of the Entra token endpoint.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct TokenEndpointError {
    /// The HTTP status.
    pub status: u16,
    /// The OAuth error (`invalid_client`, `unauthorized_client`, …).
    pub error: String,
    /// The first line of `error_description`.
    pub description: Option<String>,
    /// The AADSTS numbers (`error_codes`).
    pub codes: Vec<u64>,
    /// Entra's trace id, for support.
    pub trace_id: Option<String>,
    /// Entra's correlation id, for support.
    pub correlation_id: Option<String>,
}

impl TokenEndpointError {
    /// What to do about the common AADSTS codes, if this is one.
    pub fn hint(&self) -> Option<&'static str> {
        let by_code = self.codes.iter().find_map(|code| match code {
            7_000_215 => Some("the client secret is wrong: use the secret's value, not its id"),
            7_000_222 => Some("the client secret has expired: create a new one for the app registration"),
            700_016 => Some("no application with this client id exists in the tenant: check the client id and tenant id"),
            90_002 => Some("the tenant does not exist: check the tenant id"),
            500_011 => Some("the resource or scope is wrong: it should be https://manage.devcenter.microsoft.com"),
            700_024 => Some("the client assertion has expired or is not yet valid: check the machine's clock"),
            700_027 => Some("the certificate that signed the assertion is not registered on the app registration, or the signature is wrong: upload the certificate (its public part) under Certificates & secrets"),
            70_021 | 700_211 | 700_212 | 700_213 => Some("the app registration has no federated credential for this token's issuer, subject and audience: add one under Certificates & secrets > Federated credentials"),
            50_027 => Some("the client assertion is not a well-formed JWT"),
            _ => None,
        });
        by_code.or(match self.error.as_str() {
            "invalid_client" => Some("the client id or secret is wrong"),
            "invalid_scope" => Some(
                "the scope is wrong: it should be https://manage.devcenter.microsoft.com/.default",
            ),
            "unauthorized_client" => {
                Some("the application may not use the client-credentials flow in this tenant")
            }
            _ => None,
        })
    }
}

impl fmt::Display for TokenEndpointError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "HTTP {} {}", self.status, self.error)?;
        if !self.codes.is_empty() {
            let codes: Vec<String> = self.codes.iter().map(|c| format!("AADSTS{c}")).collect();
            write!(f, " ({})", codes.join(", "))?;
        }
        if let Some(description) = &self.description {
            write!(f, ": {description}")?;
        }
        if let Some(hint) = self.hint() {
            write!(f, " — {hint}")?;
        }
        let ids: Vec<String> = [
            ("trace id", &self.trace_id),
            ("correlation id", &self.correlation_id),
        ]
        .into_iter()
        .filter_map(|(name, value)| value.as_ref().map(|v| format!("{name} {v}")))
        .collect();
        if !ids.is_empty() {
            write!(f, " ({})", ids.join(", "))?;
        }
        Ok(())
    }
}
