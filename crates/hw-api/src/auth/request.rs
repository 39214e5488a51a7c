//! One request of a credential to its issuer (the token endpoint, an OIDC token service, a
//! managed-identity endpoint), sent and retried the same way for all of them by the client's one
//! retry engine: 429, 5xx and network failures again, any other refusal at once (asking for a
//! token twice is harmless).

use std::time::SystemTime;

use super::AuthError;
use crate::error::NetworkError;
use crate::retry::{self, Attempt, Failed, RetryPolicy, Verdict, server_wait};

/// Sends the request `build` makes until it is answered with a success, read by `accepted`, or
/// refused for good, read by `refused`.
pub(crate) async fn send<T, Accepted, Refused>(
    retry: &RetryPolicy,
    what: &'static str,
    build: impl Fn() -> reqwest::RequestBuilder,
    accepted: impl Fn(reqwest::Response) -> Accepted,
    refused: impl Fn(reqwest::Response) -> Refused,
) -> Result<T, AuthError>
where
    Accepted: Future<Output = Result<T, AuthError>>,
    Refused: Future<Output = AuthError>,
{
    let (build, accepted, refused) = (&build, &accepted, &refused);
    retry::run(retry, what, |_| async move {
        let (error, failed, wait) = match crate::record::send_token(what, build()).await {
            Ok(response) if response.status().is_success() => {
                return Attempt::Done(accepted(response).await);
            }
            Ok(response) => {
                let status = response.status().as_u16();
                let wait = server_wait(response.headers(), SystemTime::now());
                (refused(response).await, Failed::Status(status), wait)
            }
            Err(e) => {
                let failed = retry::failed_send(&e);
                (AuthError::Transport(NetworkError::new(e)), failed, None)
            }
        };
        match retry::classify(failed, true) {
            Verdict::Retry => Attempt::retry(error, wait),
            // A 401 here is a wrong credential, not a stale token.
            Verdict::Reauthenticate | Verdict::Ambiguous | Verdict::Final => {
                Attempt::Done(Err(error))
            }
        }
    })
    .await
}
