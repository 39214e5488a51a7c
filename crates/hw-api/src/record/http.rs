//! Recording as a step of the pipelines (`net/pipeline.rs`): every exchange of a client with a
//! recorder, with the API, blob storage or an issuer, is noted as it goes out and written when
//! its answer ends.

use std::sync::Arc;

use super::entry::{BodyDigest, Service};
use super::pending::Pending;
use super::recorder::Recorder;
use crate::net::{Halt, Next, Outgoing, Sent, Step};

/// Recording as a step of a pipeline: the request is noted as it goes out, and the exchange
/// written when the answer's body ends (or the request fails or is given up). The last step
/// before the client, so that it notes the request as sent (with its token, which is never
/// written).
pub(crate) struct Record {
    recorder: Recorder,
    service: Service,
}

/// The steps that record the exchanges with `service` to `recorder`: none without one.
pub(crate) fn steps<E: Send + 'static>(
    recorder: Option<&Recorder>,
    service: Service,
) -> Vec<Arc<dyn Step<E>>> {
    match recorder {
        Some(recorder) => vec![Arc::new(Record {
            recorder: recorder.clone(),
            service,
        })],
        None => Vec::new(),
    }
}

impl<E: Send + 'static> Step<E> for Record {
    fn send<'a>(&'a self, out: Outgoing, next: Next<'a, E>) -> Sent<'a, E> {
        Box::pin(async move {
            // A streamed body is described by the digest its sender put beside it.
            let streamed = out.notes.get::<BodyDigest>().cloned();
            let pending = Pending::begin(
                &self.recorder,
                self.service,
                out.operation,
                &out.request,
                streamed,
            );
            match next.send(out).await {
                Ok(response) => Ok(pending.answered(response)),
                Err(Halt::Network(error)) => {
                    pending.failed(&error);
                    Err(Halt::Network(error))
                }
                // Stopped after this step (none is): written as given up when dropped.
                Err(stopped) => Err(stopped),
            }
        })
    }
}
