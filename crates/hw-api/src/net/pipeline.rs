//! The pipeline every request is sent through: the ordered steps its kind of traffic takes,
//! then the HTTP client. A step sees the request on its way out and the answer (or the failure)
//! on its way back, and hands the request on with [`Next::send`]. Features plug their steps in
//! (the token in `auth/authorize.rs`, pacing in `rate_limit.rs`, recording in `record/http.rs`);
//! this module knows none of them.
//!
//! Retrying is not a step: an attempt includes reading the answer's body (a page of JSON, a
//! download's bytes), whose failure must be retried too, so `retry::run` drives whole attempts
//! and each attempt goes through the pipeline once.
//!
//! Hand-written rather than with reqwest-middleware, which would bring a second request type
//! and `anyhow` errors for what is a slice of steps and one trait.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use reqwest::{Request, Response};

/// What the pipeline's caller learns: an answer (of any status), or why there is none.
pub(crate) type Sent<'a, E> = Pin<Box<dyn Future<Output = Result<Response, Halt<E>>> + Send + 'a>>;

/// Why a request got no answer.
#[derive(Debug)]
pub(crate) enum Halt<E> {
    /// The client could not send it or got no complete answer.
    Network(reqwest::Error),
    /// A step stopped it before it was sent (no token, a URL the token may not go to), with
    /// the error of the caller's kind.
    Stopped(E),
}

/// A request on its way through a pipeline, with what the steps need to know of it.
#[derive(Debug)]
pub(crate) struct Outgoing {
    /// The request itself.
    pub(crate) request: Request,
    /// The operation it carries out (the spec's operation id, or a blob or issuer operation),
    /// for spans and traces.
    pub(crate) operation: &'static str,
    /// Which attempt of the operation it is, from 1.
    pub(crate) attempt: u32,
    /// Notes for particular steps (a streamed body's digest for recording, the one fresh
    /// token a call may have): reqwest keeps a request's own extensions to itself.
    pub(crate) notes: http::Extensions,
}

impl Outgoing {
    /// The first attempt of `operation`: `request`, with no notes.
    pub(crate) fn new(operation: &'static str, request: Request) -> Self {
        Self {
            request,
            operation,
            attempt: 1,
            notes: http::Extensions::new(),
        }
    }
}

/// One step of a pipeline.
pub(crate) trait Step<E>: Send + Sync {
    /// Handles `out`: changes its request, sends it on with `next` (or not), and looks at what
    /// comes back.
    fn send<'a>(&'a self, out: Outgoing, next: Next<'a, E>) -> Sent<'a, E>;
}

/// What ends a pipeline: the HTTP client (or, in the steps' tests, a stand-in).
pub(crate) trait Deliver<E>: Send + Sync {
    /// Sends `out` and returns the answer's head, its body still to be read.
    fn deliver(&self, out: Outgoing) -> Sent<'_, E>;
}

impl<E> Deliver<E> for reqwest::Client {
    fn deliver(&self, out: Outgoing) -> Sent<'_, E> {
        Box::pin(async move { self.execute(out.request).await.map_err(Halt::Network) })
    }
}

/// The rest of a pipeline, after the step that holds it.
pub(crate) struct Next<'a, E> {
    steps: &'a [Arc<dyn Step<E>>],
    last: &'a dyn Deliver<E>,
}

impl<'a, E: 'a> Next<'a, E> {
    /// Sends `out` through the remaining steps, then the client.
    pub(crate) fn send(self, out: Outgoing) -> Sent<'a, E> {
        match self.steps.split_first() {
            Some((step, steps)) => step.send(
                out,
                Next {
                    steps,
                    last: self.last,
                },
            ),
            None => self.last.deliver(out),
        }
    }
}

/// An HTTP client and the steps before it.
pub(crate) struct Pipeline<E> {
    client: reqwest::Client,
    steps: Vec<Arc<dyn Step<E>>>,
    last: Arc<dyn Deliver<E>>,
}

impl<E> Clone for Pipeline<E> {
    fn clone(&self) -> Self {
        Self {
            client: self.client.clone(),
            steps: self.steps.clone(),
            last: self.last.clone(),
        }
    }
}

impl<E: 'static> Pipeline<E> {
    /// `steps`, in order, then `client`.
    pub(crate) fn new(client: reqwest::Client, steps: Vec<Arc<dyn Step<E>>>) -> Self {
        Self {
            last: Arc::new(client.clone()),
            client,
            steps,
        }
    }

    /// `steps`, in order, ending with `last` instead of a client (for the steps' tests).
    #[cfg(test)]
    pub(crate) fn ending_with(steps: Vec<Arc<dyn Step<E>>>, last: Arc<dyn Deliver<E>>) -> Self {
        Self {
            client: reqwest::Client::new(),
            steps,
            last,
        }
    }

    /// The client, to build requests with.
    pub(crate) fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends `out` through every step.
    pub(crate) fn send(&self, out: Outgoing) -> Sent<'_, E> {
        let last: &dyn Deliver<E> = &*self.last;
        Next {
            steps: &self.steps,
            last,
        }
        .send(out)
    }
}

/// Stand-ins for the steps' tests.
#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A last step that answers every request with `status` and notes what it was sent.
    pub(crate) struct Answer {
        pub(crate) status: u16,
        pub(crate) headers: Vec<(&'static str, &'static str)>,
        pub(crate) seen: Mutex<Vec<Request>>,
    }

    impl Answer {
        pub(crate) fn new(status: u16) -> Arc<Self> {
            Self::with_headers(status, Vec::new())
        }

        pub(crate) fn with_headers(
            status: u16,
            headers: Vec<(&'static str, &'static str)>,
        ) -> Arc<Self> {
            Arc::new(Self {
                status,
                headers,
                seen: Mutex::new(Vec::new()),
            })
        }

        /// The requests it was sent.
        pub(crate) fn seen(&self) -> std::sync::MutexGuard<'_, Vec<Request>> {
            self.seen.lock().unwrap()
        }
    }

    impl<E: Send + 'static> Deliver<E> for Answer {
        fn deliver(&self, out: Outgoing) -> Sent<'_, E> {
            self.seen.lock().unwrap().push(out.request);
            let mut response = http::Response::builder().status(self.status);
            for (name, value) in &self.headers {
                response = response.header(*name, *value);
            }
            let response = response.body(reqwest::Body::from("answer")).unwrap();
            Box::pin(std::future::ready(Ok(Response::from(response))))
        }
    }

    /// A step that notes its name on the way out and on the way back.
    struct Mark(&'static str, Arc<Mutex<Vec<String>>>);

    impl<E: 'static> Step<E> for Mark {
        fn send<'a>(&'a self, out: Outgoing, next: Next<'a, E>) -> Sent<'a, E> {
            Box::pin(async move {
                self.1.lock().unwrap().push(format!("{} out", self.0));
                let answer = next.send(out).await;
                self.1.lock().unwrap().push(format!("{} back", self.0));
                answer
            })
        }
    }

    /// A step that stops every request.
    struct Stop;

    impl Step<String> for Stop {
        fn send<'a>(&'a self, _out: Outgoing, _next: Next<'a, String>) -> Sent<'a, String> {
            Box::pin(std::future::ready(Err(Halt::Stopped("stopped".into()))))
        }
    }

    /// A GET of `url`, as operation `getThing`.
    pub(crate) fn get(url: &str) -> Outgoing {
        Outgoing::new(
            "getThing",
            Request::new(reqwest::Method::GET, url.parse().unwrap()),
        )
    }

    #[tokio::test]
    async fn steps_run_in_order_out_and_back_and_the_last_one_answers() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let last = Answer::new(204);
        let steps: Vec<Arc<dyn Step<String>>> = vec![
            Arc::new(Mark("first", log.clone())),
            Arc::new(Mark("second", log.clone())),
        ];
        let pipeline = Pipeline::ending_with(steps, last.clone());
        let answer = pipeline.send(get("http://127.0.0.1:9/a")).await.unwrap();
        assert_eq!(answer.status(), 204);
        assert_eq!(
            *log.lock().unwrap(),
            ["first out", "second out", "second back", "first back"]
        );
        assert_eq!(last.seen().len(), 1);
    }

    #[tokio::test]
    async fn a_step_that_stops_a_request_keeps_it_from_the_steps_after_it() {
        let log = Arc::new(Mutex::new(Vec::new()));
        let last = Answer::new(200);
        let steps: Vec<Arc<dyn Step<String>>> =
            vec![Arc::new(Mark("first", log.clone())), Arc::new(Stop)];
        let pipeline = Pipeline::ending_with(steps, last.clone());
        match pipeline.send(get("http://127.0.0.1:9/a")).await {
            Err(Halt::Stopped(why)) => assert_eq!(why, "stopped"),
            other => panic!("expected the stop, got {other:?}"),
        }
        assert!(last.seen().is_empty());
        assert_eq!(*log.lock().unwrap(), ["first out", "first back"]);
    }

    #[tokio::test]
    async fn a_pipeline_with_a_client_sends_for_real() {
        // Nothing listens on port 9 of loopback: the client's own failure comes back.
        let pipeline: Pipeline<String> = Pipeline::new(reqwest::Client::new(), Vec::new());
        match pipeline.send(get("http://127.0.0.1:9/a")).await {
            Err(Halt::Network(e)) => assert!(e.is_connect(), "{e:?}"),
            other => panic!("expected a connection failure, got {other:?}"),
        }
    }
}
