//! The pipeline of traffic that no step stops (blob storage, token issuers, managed identity
//! endpoints): its only steps note or watch, so a request fails only when the network does.

use std::convert::Infallible;
use std::sync::Arc;

use reqwest::{RequestBuilder, Response};

use super::pipeline::{Halt, Outgoing, Pipeline, Step};

/// Sends requests through a pipeline whose steps never stop one.
#[derive(Clone)]
pub(crate) struct Sender {
    pipeline: Pipeline<Infallible>,
    recording: bool,
}

impl Sender {
    /// `client` after `steps`; `recording` says whether a step records (a caller then describes
    /// a streamed body beforehand).
    pub(crate) fn new(
        client: reqwest::Client,
        steps: Vec<Arc<dyn Step<Infallible>>>,
        recording: bool,
    ) -> Self {
        Self {
            pipeline: Pipeline::new(client, steps),
            recording,
        }
    }

    /// The client, to build requests with.
    pub(crate) fn client(&self) -> &reqwest::Client {
        self.pipeline.client()
    }

    /// Whether the exchanges are recorded.
    pub(crate) fn recording(&self) -> bool {
        self.recording
    }

    /// Sends what `builder` built as `operation`, with `note` (a streamed body's digest, say)
    /// beside it for the steps.
    pub(crate) async fn send<N: Clone + Send + Sync + 'static>(
        &self,
        operation: &'static str,
        builder: RequestBuilder,
        note: Option<N>,
    ) -> reqwest::Result<Response> {
        let mut out = Outgoing::new(operation, builder.build()?);
        if let Some(note) = note {
            out.notes.insert(note);
        }
        self.pipeline.send(out).await.map_err(|halt| match halt {
            Halt::Network(error) => error,
            Halt::Stopped(never) => match never {},
        })
    }
}
