//! Any Azure SDK credential as a [`TokenProvider`] (the `azure-identity` feature), for crates
//! already on the Azure SDK: `azure_identity`'s `ManagedIdentityCredential`,
//! `AzureCliCredential`, `ClientAssertionCredential` and the rest, or one of your own.

use std::sync::Arc;
use std::time::Duration;

use azure_core::credentials::TokenCredential;
use secrecy::SecretString;

use super::{AccessToken, AuthError, DEFAULT_RESOURCE, TokenFuture, TokenHttp, TokenProvider, jwt};

/// An Azure SDK `TokenCredential` asked for the Hardware Dev Center scope. The credential keeps
/// its own cache; hw-api's cache sits in front of it, so it is asked only when a token is due.
#[derive(Clone, Debug)]
pub struct AzureSdkCredential {
    credential: Arc<dyn TokenCredential>,
    scope: String,
}

impl AzureSdkCredential {
    /// Tokens from `credential` for `https://manage.devcenter.microsoft.com/.default`.
    pub fn new(credential: Arc<dyn TokenCredential>) -> Self {
        Self {
            credential,
            scope: format!("{DEFAULT_RESOURCE}/.default"),
        }
    }

    async fn fetch(&self) -> Result<AccessToken, AuthError> {
        let token = self
            .credential
            .get_token(&[self.scope.as_str()], None)
            .await
            .map_err(|e| AuthError::Provider(format!("the Azure SDK credential failed: {e}")))?;
        let expires_on = u64::try_from(token.expires_on.unix_timestamp()).unwrap_or(0);
        let life = jwt::until(expires_on).unwrap_or(Duration::ZERO);
        Ok(
            AccessToken::new(SecretString::from(token.token.secret().to_owned()))
                .with_expires_in(life),
        )
    }
}

impl TokenProvider for AzureSdkCredential {
    fn fetch_token<'a>(&'a self, _http: &'a TokenHttp) -> TokenFuture<'a> {
        Box::pin(self.fetch())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use azure_core::credentials::{AccessToken as SdkToken, Secret, TokenRequestOptions};
    use secrecy::ExposeSecret;

    /// A credential that answers with a fixed token, and says which scopes it was asked for.
    #[derive(Debug, Default)]
    struct Fixed {
        asked: std::sync::Mutex<Vec<String>>,
    }

    #[async_trait::async_trait]
    impl TokenCredential for Fixed {
        async fn get_token(
            &self,
            scopes: &[&str],
            _options: Option<TokenRequestOptions<'_>>,
        ) -> azure_core::Result<SdkToken> {
            self.asked
                .lock()
                .unwrap()
                .extend(scopes.iter().map(|s| s.to_string()));
            Ok(SdkToken::new(
                Secret::new("sdk-token"),
                azure_core::time::OffsetDateTime::now_utc()
                    + azure_core::time::Duration::minutes(50),
            ))
        }
    }

    #[tokio::test]
    async fn an_sdk_credential_is_asked_for_the_api_scope() {
        let fixed = Arc::new(Fixed::default());
        let provider = AzureSdkCredential::new(fixed.clone());
        let token = provider.fetch_token(&TokenHttp::default()).await.unwrap();
        assert_eq!(token.secret().expose_secret(), "sdk-token");
        let life = token.expires_in().unwrap();
        assert!(life > Duration::from_secs(2900) && life <= Duration::from_secs(3000));
        assert_eq!(
            *fixed.asked.lock().unwrap(),
            vec!["https://manage.devcenter.microsoft.com/.default".to_owned()]
        );
    }
}
