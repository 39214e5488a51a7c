//! A step that makes the tracing span of one attempt (`hw_api.attempt`), with the attempt's
//! number, and the answer's status and request id once they come.

use tracing::{Instrument, field::Empty};

use super::pipeline::{Next, Outgoing, Sent, Step};
use crate::wire;

/// Makes each attempt's span; the steps after it run inside it (pacing records its rate
/// there).
pub(crate) struct AttemptSpan;

impl<E: Send + 'static> Step<E> for AttemptSpan {
    fn send<'a>(&'a self, out: Outgoing, next: Next<'a, E>) -> Sent<'a, E> {
        let attempt = out.attempt;
        let span = tracing::debug_span!(
            "hw_api.attempt",
            attempt,
            http.response.status_code = Empty,
            request_id = Empty,
            rate_limit.per_second = Empty,
        );
        Box::pin(async move {
            let answer = next.send(out).instrument(span.clone()).await;
            if let Ok(response) = &answer {
                span.record("http.response.status_code", response.status().as_u16());
                if let Some(id) = wire::request_id(response.headers()) {
                    span.record("request_id", id.as_str());
                }
            }
            answer
        })
    }
}
