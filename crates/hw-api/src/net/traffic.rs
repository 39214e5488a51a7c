//! The kinds of traffic the toolkit sends, each with its own client and retry rules.

/// The kinds of traffic the toolkit sends. Each has its own HTTP client (settings such as the
/// proxy and the timeouts differ) and its own rows in the retry decision table
/// (`retry::decide`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Traffic {
    /// The Hardware Dev Center API: carries the bearer token, paced, timed out as a whole.
    Api,
    /// Azure Blob Storage through SAS URLs: no total timeout (requests are watched for stalls
    /// instead), never a token.
    Blob,
    /// A token endpoint or a CI system's OIDC token service.
    Issuer,
    /// A managed identity endpoint of the host (the VM metadata service, App Service's): never
    /// through a proxy, short timeouts.
    Identity,
}

impl Traffic {
    /// Every kind, for tests that go through them all.
    #[cfg(test)]
    pub(crate) const ALL: [Traffic; 4] = [
        Traffic::Api,
        Traffic::Blob,
        Traffic::Issuer,
        Traffic::Identity,
    ];
}
