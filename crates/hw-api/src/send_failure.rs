//! A request that got no answer: the error it becomes, and what it says of whether the request
//! was sent (the retry table's input), with a refused tunnel's status asked of the proxy once
//! more first. Every kind of traffic's sender calls it where reqwest gives up on a request.

use crate::error::{NetworkError, NetworkProblem};
use crate::retry::{self, Failed};

/// A request that got no answer: the failure, and what it says of whether the request was
/// sent. A network path that configuration must fix ([`NetworkProblem`]) was not sent; a
/// refused tunnel's status is asked of the proxy once more (`net/proxy_probe.rs`), so that a
/// proxy that cannot reach the host now (502, 503, 504) is retried and a refused destination
/// is not.
pub(crate) async fn classify(error: reqwest::Error) -> (NetworkError, Failed) {
    let url = error.url().cloned();
    let failed = retry::failed_send(&error);
    let mut network = NetworkError::new(error);
    if let (Some(NetworkProblem::ProxyRefused { status: None }), Some(url)) =
        (network.problem(), &url)
        && let Some(status) = crate::net::proxy_probe::connect_status(url).await
    {
        network = network.with_proxy_status(status);
    }
    let failed = match network.problem() {
        Some(problem) if problem.is_transient() => Failed::NotConnected,
        Some(_) => Failed::NotSent,
        None => failed,
    };
    (network, failed)
}
