//! What a token provider sends its requests with: the HTTP settings of the client it serves
//! (user agent, proxy, extra trusted certificates, timeouts) and that client's trace. The
//! client's token cache hands it to every fetch, so that a provider built before the client,
//! or shared by several, still sends as the client was configured to.

use std::sync::{Arc, OnceLock};

use super::AuthError;
use crate::net::{HttpSettings, Traffic};
use crate::record::{Http, Recorder, Service};

/// How a [`TokenProvider`](super::TokenProvider) sends its requests: given to each
/// [`fetch_token`](super::TokenProvider::fetch_token) by the client it serves. Outside a
/// client, [`TokenHttp::default`] sends with the default settings and records nothing.
#[derive(Clone, Default)]
pub struct TokenHttp {
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    settings: HttpSettings,
    recorder: Option<Recorder>,
    /// Built on first use: most runs use one of the two, many neither.
    issuer: OnceLock<Result<Http, String>>,
    identity: OnceLock<Result<Http, String>>,
}

impl std::fmt::Debug for TokenHttp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenHttp")
            .field("user_agent", &self.shared.settings.user_agent)
            .field("recording", &self.shared.recorder.is_some())
            .finish_non_exhaustive()
    }
}

impl TokenHttp {
    /// Sends with `settings`, recording to `recorder`.
    pub(crate) fn new(settings: HttpSettings, recorder: Option<Recorder>) -> Self {
        Self {
            shared: Arc::new(Shared {
                settings,
                recorder,
                ..Shared::default()
            }),
        }
    }

    /// The client for token endpoints and OIDC token services, with its kind of traffic.
    pub(crate) fn issuer(&self) -> Result<(&Http, Traffic), AuthError> {
        Ok((
            self.client(&self.shared.issuer, Traffic::Issuer)?,
            Traffic::Issuer,
        ))
    }

    /// The client for managed identity endpoints (never through a proxy), with its kind of
    /// traffic.
    pub(crate) fn identity(&self) -> Result<(&Http, Traffic), AuthError> {
        let http = self.client(&self.shared.identity, Traffic::Identity)?;
        Ok((http, Traffic::Identity))
    }

    /// The trace the requests go to, if any.
    pub(crate) fn recorder(&self) -> Option<&Recorder> {
        self.shared.recorder.as_ref()
    }

    fn client<'a>(
        &'a self,
        cell: &'a OnceLock<Result<Http, String>>,
        traffic: Traffic,
    ) -> Result<&'a Http, AuthError> {
        cell.get_or_init(|| {
            self.shared
                .settings
                .client(traffic)
                .map(|client| Http::new(client, Service::Token, self.shared.recorder.clone()))
        })
        .as_ref()
        .map_err(|message| AuthError::Config(message.clone()))
    }
}
