//! What a token provider sends its requests with: the HTTP settings of the client it serves
//! (user agent, proxy, extra trusted certificates, timeouts) and that client's trace. The
//! client's token cache hands it to every fetch, so that a provider built before the client,
//! or shared by several, still sends as the client was configured to.

use std::sync::{Arc, OnceLock};

use super::AuthError;
use crate::net::{HttpSettings, Sender, Traffic};
use crate::record::{Recorder, Service};

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
    issuer: OnceLock<Result<Sender, String>>,
    identity: OnceLock<Result<Sender, String>>,
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
    pub(crate) fn issuer(&self) -> Result<(&Sender, Traffic), AuthError> {
        Ok((
            self.client(&self.shared.issuer, Traffic::Issuer)?,
            Traffic::Issuer,
        ))
    }

    /// The client for managed identity endpoints (never through a proxy), with its kind of
    /// traffic.
    pub(crate) fn identity(&self) -> Result<(&Sender, Traffic), AuthError> {
        let http = self.client(&self.shared.identity, Traffic::Identity)?;
        Ok((http, Traffic::Identity))
    }

    /// The trace the requests go to, if any.
    pub(crate) fn recorder(&self) -> Option<&Recorder> {
        self.shared.recorder.as_ref()
    }

    fn client<'a>(
        &'a self,
        cell: &'a OnceLock<Result<Sender, String>>,
        traffic: Traffic,
    ) -> Result<&'a Sender, AuthError> {
        cell.get_or_init(|| {
            let recorder = self.shared.recorder.as_ref();
            let steps = crate::record::steps(recorder, Service::Token);
            let client = self.shared.settings.client(traffic)?;
            Ok(Sender::new(client, steps, recorder.is_some()))
        })
        .as_ref()
        .map_err(|message| AuthError::Config(message.clone()))
    }
}
