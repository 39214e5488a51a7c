//! One request of a credential to its issuer (the token endpoint, an OIDC token service, a
//! managed-identity endpoint), sent with the asking client's HTTP settings and trace
//! ([`TokenHttp`](super::TokenHttp)) and retried as the decision table says for its kind of
//! traffic ([`retry::decide`]).

use std::time::SystemTime;

use super::AuthError;
use crate::net::{Sender, Traffic};
use crate::retry::{self, Attempt, Failed, RetryPolicy, server_wait};

/// Sends the request `build` makes with `http` (to an issuer of `traffic`) until it is answered
/// with a success, read by `accepted`, or refused for good, read by `refused`.
pub(crate) async fn send<T, Accepted, Refused>(
    (http, traffic): (&Sender, Traffic),
    retry: &RetryPolicy,
    what: &'static str,
    build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    accepted: impl Fn(reqwest::Response) -> Accepted,
    refused: impl Fn(reqwest::Response) -> Refused,
) -> Result<T, AuthError>
where
    Accepted: Future<Output = Result<T, AuthError>>,
    Refused: Future<Output = AuthError>,
{
    let (build, accepted, refused) = (&build, &accepted, &refused);
    retry::run(retry, what, |_| async move {
        let sent = http.send::<()>(what, build(http.client()), None).await;
        let (error, failed, wait) = match sent {
            Ok(response) if response.status().is_success() => {
                return Attempt::Done(accepted(response).await);
            }
            Ok(response) => {
                let status = response.status().as_u16();
                let wait = server_wait(response.headers(), SystemTime::now());
                (refused(response).await, Failed::Status(status), wait)
            }
            Err(e) => {
                let (network, failed) = crate::send_failure::classify(e).await;
                (AuthError::Transport(network), failed, None)
            }
        };
        // Asking an issuer twice is harmless: every such request may be repeated.
        retry::after(retry::decide(traffic, failed, true), error, wait)
    })
    .await
}
