//! The Azure CLI's sign-in, for a developer's own machine: `az account get-access-token
//! --resource https://manage.devcenter.microsoft.com --output json` (`docs/service-notes.md`,
//! "Azure CLI tokens").

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use super::entra::Seconds;
use super::{AccessToken, AuthError, DEFAULT_RESOURCE, TokenFuture, TokenHttp, TokenProvider, jwt};
use crate::redact;

/// How long `az` may take.
const TIMEOUT: Duration = Duration::from_secs(60);

/// The lifetime assumed when `az` gives only its local-time `expiresOn` (older versions).
const ASSUMED_LIFETIME: Duration = Duration::from_secs(300);

/// Gets tokens from the Azure CLI (`az`, which must be on `PATH` and signed in with `az login`).
#[derive(Clone, Debug, Default)]
pub struct AzureCli {
    tenant_id: Option<String>,
}

impl AzureCli {
    /// The CLI's current account.
    pub fn new() -> Self {
        Self::default()
    }

    /// A token for `tenant_id` rather than the current account's tenant.
    pub fn with_tenant(mut self, tenant_id: impl Into<String>) -> Self {
        self.tenant_id = Some(tenant_id.into());
        self
    }

    /// The program: `az`, which is a batch file on Windows.
    fn program() -> &'static str {
        if cfg!(windows) { "az.cmd" } else { "az" }
    }

    async fn fetch(&self) -> Result<AccessToken, AuthError> {
        let mut command = tokio::process::Command::new(Self::program());
        command
            .args([
                "account",
                "get-access-token",
                "--resource",
                DEFAULT_RESOURCE,
            ])
            .args(["--output", "json"])
            .stdin(std::process::Stdio::null())
            .kill_on_drop(true);
        if let Some(tenant) = &self.tenant_id {
            command.args(["--tenant", tenant]);
        }
        let failed = |message: String| AuthError::Source {
            what: "the Azure CLI",
            status: None,
            message,
        };
        let output = match tokio::time::timeout(TIMEOUT, command.output()).await {
            Err(_) => {
                return Err(failed(format!(
                    "az did not answer in {} s",
                    TIMEOUT.as_secs()
                )));
            }
            Ok(Err(e)) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(AuthError::Config(
                    "the Azure CLI (az) is not on PATH: install it and run `az login`".into(),
                ));
            }
            Ok(Err(e)) => return Err(failed(format!("az could not be run: {e}"))),
            Ok(Ok(output)) => output,
        };
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            let first = stderr
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("no message");
            return Err(failed(format!(
                "az exited with {}: {}",
                output.status,
                redact::text(first)
            )));
        }
        parse(&output.stdout).map_err(failed)
    }
}

impl TokenProvider for AzureCli {
    fn fetch_token<'a>(&'a self, _http: &'a TokenHttp) -> TokenFuture<'a> {
        Box::pin(self.fetch())
    }
}

/// `az account get-access-token`'s answer: `expires_on` (seconds since the epoch, Azure CLI 2.54
/// and later), else only `expiresOn` in local time, which cannot be read without the time zone.
#[derive(Deserialize)]
struct CliToken {
    #[serde(rename = "accessToken")]
    access_token: String,
    expires_on: Option<Seconds>,
}

fn parse(stdout: &[u8]) -> Result<AccessToken, String> {
    let parsed: CliToken = serde_json::from_slice(stdout)
        .map_err(|e| format!("az printed something that is not a token: {e}"))?;
    if parsed.access_token.is_empty() {
        return Err("az printed an empty access token".into());
    }
    let life = parsed
        .expires_on
        .as_ref()
        .and_then(Seconds::duration)
        .map(|on| jwt::until(on.as_secs()).unwrap_or(Duration::ZERO))
        .unwrap_or(ASSUMED_LIFETIME);
    Ok(AccessToken::new(SecretString::from(parsed.access_token)).with_expires_in(life))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_expiry_forms_are_read() {
        let at = jwt::now_seconds() + 3000;
        let new = format!(
            r#"{{"accessToken":"t","expiresOn":"2026-12-01 12:00:00.000000","expires_on":{at},"tokenType":"Bearer"}}"#
        );
        let life = parse(new.as_bytes()).unwrap().expires_in().unwrap();
        assert!(life <= Duration::from_secs(3000) && life > Duration::from_secs(2900));
        let old = br#"{"accessToken":"t","expiresOn":"2026-12-01 12:00:00.000000"}"#;
        assert_eq!(parse(old).unwrap().expires_in(), Some(ASSUMED_LIFETIME));
        assert!(parse(b"Please run 'az login'").is_err());
    }
}
