//! The one way every API request goes, generated or hand-built (next pages, preprod
//! downloads):
//!
//! 1. **built**: by a generated method ([`Transport::build`], through
//!    `hw_api_gen::RequestFactory`) or, for a URL the service gave (a `next_link`), here;
//! 2. **retried**: the one retry engine ([`retry::run`]) drives whole attempts, and the one
//!    decision table ([`retry::decide`]) judges each failure; a 401 that renewed the token earns
//!    one more attempt;
//! 3. **sent**: each attempt goes through the API's pipeline (`net/pipeline.rs`), one step per
//!    file: the attempt's span (`net/attempt_span.rs`), pacing (`rate_limit.rs`: the shared
//!    rate, which a 429 lowers and a success raises), the token (`auth/authorize.rs`: only to
//!    the API's origin, [`origin::may_carry_token`]; a 401 drops it once per call), recording
//!    (`record/http.rs`, when the client records), then the client (`net/clients.rs`);
//! 4. **read**: bounded ([`wire::limits`]);
//! 5. **decoded**: success and both error shapes ([`decode`]).
//!
//! A token fetch inside an attempt is bounded by the provider's own retry policy (4 attempts by
//! default for the providers of `auth/`); a fetch that fails ends the call with `Error::Auth`,
//! never repeated by the API's retries. A 401 earns one more fetch, so one API call sends at
//! most twice the provider's attempts to its issuer.
//!
//! One tracing span per operation (`hw_api.operation`) and one per attempt (`hw_api.attempt`).

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use hw_api_gen::types::ErrorResponse;
use hw_api_gen::{Built, RequestFactory, ResponseValue};
use reqwest::header::{ACCEPT, HeaderMap, HeaderValue};
use serde::de::DeserializeOwned;
use tracing::{Instrument, field::Empty};
use url::Url;

use crate::auth::authorize::{Authorize, RenewOnce, Renewed};
use crate::auth::cache::TokenCache;
use crate::auth::{TokenHttp, TokenProvider};
use crate::decode;
use crate::error::{Error, NetworkError, TransferError};
use crate::net::{AttemptSpan, Halt, Outgoing, Pipeline, Step, Traffic};
use crate::rate_limit::{Limiter, Pace, RateLimit};
use crate::record::{Recorder, Service};
use crate::redact;
use crate::retry::{self, Attempt, Failed, RetryPolicy, Verdict, server_wait};
use crate::wire::{self, BodyError, limits};

/// What the client knows about an operation of the spec.
#[derive(Debug)]
pub(crate) struct Operation {
    /// The spec's `operationId`.
    pub(crate) id: &'static str,
    /// The HTTP method.
    pub(crate) method: &'static str,
    /// The path template under the base URL (what traces show: no ids).
    pub(crate) path: &'static str,
    /// Whether sending it twice has the effect of sending it once.
    pub(crate) idempotent: bool,
}

/// Sends the API's requests: the base URL, the pipeline every attempt goes through and the
/// retry policy.
pub(crate) struct Transport {
    base: Url,
    requests: RequestFactory,
    /// The API's steps: the attempt's span, pacing, the token, recording.
    api: Pipeline<Error>,
    /// The same client and recording, without a token or pacing: the clock's one request.
    plain: Pipeline<Error>,
    retry: RetryPolicy,
}

/// How one attempt failed.
enum Failure {
    /// An error status, with the start of its body; `renewed` says a 401 dropped the token
    /// (`auth/authorize.rs`), so that another attempt gets a fresh one.
    Status {
        status: u16,
        headers: HeaderMap,
        body: Vec<u8>,
        renewed: bool,
    },
    /// No complete answer, and what that says of whether the request was sent.
    Network(NetworkError, Failed),
    /// A failure another attempt cannot fix (a body that does not decode, a file that cannot
    /// be written).
    Final(Error),
}

impl Failure {
    fn network(error: reqwest::Error) -> Self {
        let failed = retry::failed_send(&error);
        Failure::Network(NetworkError::new(error), failed)
    }
}

/// A received response, to be read into a value.
type Received<T> = Result<T, Failure>;

impl Transport {
    /// A transport for the API at `base`, sending with `http` (`net/clients.rs`), its tokens
    /// from `tokens` fetched with `token_http`.
    pub(crate) fn new(
        base: Url,
        http: reqwest::Client,
        (tokens, token_http): (Arc<dyn TokenProvider>, TokenHttp),
        retry: RetryPolicy,
        rate: RateLimit,
        recorder: Option<Recorder>,
    ) -> Self {
        let requests = RequestFactory::new(base.as_str(), http.clone());
        let tokens = Arc::new(TokenCache::new(tokens, token_http));
        let limiter = Arc::new(Limiter::new(rate, retry.max_retry_after()));
        let recording = crate::record::steps(recorder.as_ref(), Service::Api);
        let mut steps: Vec<Arc<dyn Step<Error>>> = vec![
            Arc::new(AttemptSpan),
            Arc::new(Pace(limiter)),
            Arc::new(Authorize::new(tokens, base.clone())),
        ];
        steps.extend(recording.iter().cloned());
        Self {
            api: Pipeline::new(http.clone(), steps),
            plain: Pipeline::new(http, recording),
            base,
            requests,
            retry,
        }
    }

    /// The API's base URL.
    pub(crate) fn base(&self) -> &Url {
        &self.base
    }

    /// The retry policy, which blob operations share.
    pub(crate) fn retry(&self) -> &RetryPolicy {
        &self.retry
    }

    /// Carries out the generated call `call` as operation `op`: builds its request, sends it
    /// and decodes its success.
    pub(crate) async fn call<T, F, Fut>(&self, op: &Operation, call: F) -> Result<T, Error>
    where
        T: DeserializeOwned,
        F: FnOnce(hw_api_gen::Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, hw_api_gen::Error<ErrorResponse>>>,
    {
        let built = self.build(op, call).await?;
        self.json(op, built.request).await
    }

    /// Carries out the generated call `call` of an operation whose success carries nothing the
    /// client needs (a commit, a PATCH, a cancel): any 2xx is success, whatever its body (the
    /// service documents a body for some of them; `docs/service-notes.md`, "Hardware API:
    /// submissions and commit").
    pub(crate) async fn call_unit<F, Fut>(&self, op: &Operation, call: F) -> Result<(), Error>
    where
        F: FnOnce(hw_api_gen::Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<()>, hw_api_gen::Error<ErrorResponse>>>,
    {
        let built = self.build(op, call).await?;
        self.send(op, built.request, read_nothing).await
    }

    /// Sends `request` as operation `op`; any 2xx is success, its body read and dropped (how a
    /// recorded request is sent again).
    #[cfg(feature = "test-util")]
    pub(crate) async fn unit(
        &self,
        op: &Operation,
        request: reqwest::Request,
    ) -> Result<(), Error> {
        self.send(op, request, read_nothing).await
    }

    /// Sends `request` as operation `op` and decodes its success as `T`.
    pub(crate) async fn json<T: DeserializeOwned>(
        &self,
        op: &Operation,
        request: reqwest::Request,
    ) -> Result<T, Error> {
        self.send(op, request, |r| read_json(r, op.id)).await
    }

    /// The request the generated call `call` builds.
    pub(crate) async fn build<T, F, Fut>(&self, op: &Operation, call: F) -> Result<Built<T>, Error>
    where
        F: FnOnce(hw_api_gen::Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, hw_api_gen::Error<ErrorResponse>>>,
    {
        self.requests
            .build(call)
            .await
            .map_err(|message| Error::InvalidRequest {
                operation: op.id,
                message: redact::text(&message),
            })
    }

    /// GETs `url`, a link the service gave (a next page), as operation `op`, and decodes it.
    pub(crate) async fn get<T: DeserializeOwned>(
        &self,
        op: &Operation,
        url: Url,
    ) -> Result<T, Error> {
        let mut request = reqwest::Request::new(reqwest::Method::GET, url);
        request
            .headers_mut()
            .insert(ACCEPT, HeaderValue::from_static("application/json"));
        self.json(op, request).await
    }

    /// The `Date` of the answer to a GET of the base URL, sent once and without a token.
    pub(crate) async fn service_clock(&self) -> Result<SystemTime, Error> {
        const OPERATION: &str = "serviceClock";
        let request = reqwest::Request::new(reqwest::Method::GET, self.base.clone());
        let response = match self.plain.send(Outgoing::new(OPERATION, request)).await {
            Ok(response) => response,
            Err(Halt::Stopped(error)) => return Err(error),
            Err(Halt::Network(e)) => {
                return Err(Error::Transport {
                    operation: OPERATION,
                    attempts: 1,
                    source: NetworkError::new(e),
                });
            }
        };
        let unusable = |message: String| Error::Decode {
            operation: OPERATION,
            status: Some(response.status().as_u16()),
            path: "Date".into(),
            message,
        };
        let date = wire::header(response.headers(), "date")
            .ok_or_else(|| unusable("the answer has no Date header".into()))?;
        httpdate::parse_http_date(&date)
            .map_err(|e| unusable(format!("{:?} is not a date: {e}", redact::text(&date))))
    }

    /// Sends `request` as operation `op` and streams its success into the file `dest`;
    /// returns its size and SHA-256 (hex).
    pub(crate) async fn download(
        &self,
        op: &Operation,
        request: reqwest::Request,
        dest: &Path,
    ) -> Result<(u64, String), Error> {
        self.send(op, request, |response| write_file(response, dest))
            .await
    }

    /// Sends `request` as operation `op` until an attempt succeeds or fails for good, and reads
    /// a success with `receive`.
    async fn send<T, R, RF>(
        &self,
        op: &Operation,
        request: reqwest::Request,
        receive: R,
    ) -> Result<T, Error>
    where
        R: Fn(reqwest::Response) -> RF,
        RF: Future<Output = Received<T>>,
    {
        let span = tracing::info_span!(
            "hw_api.operation",
            operation = op.id,
            http.request.method = op.method,
            server.address = self.base.host_str().unwrap_or_default(),
            url.path = op.path,
            http.response.status_code = Empty,
            attempts = Empty,
        );
        let renew = RenewOnce::default();
        let (receive, renew, request) = (&receive, &renew, &request);
        retry::run(&self.retry, op.id, |attempt| async move {
            tracing::Span::current().record("attempts", attempt);
            let Some(request) = request.try_clone() else {
                return Attempt::Done(Err(Error::InvalidRequest {
                    operation: op.id,
                    message: "the request body is a stream and cannot be sent again".into(),
                }));
            };
            let mut out = Outgoing::new(op.id, request);
            out.attempt = attempt;
            out.notes.insert(renew.clone());
            let outcome = self.exchange(out, receive).await;
            let status = match &outcome {
                Ok((status, _)) | Err(Failure::Status { status, .. }) => Some(*status),
                Err(_) => None,
            };
            if let Some(status) = status {
                tracing::Span::current().record("http.response.status_code", status);
            }
            match outcome {
                Ok((_, value)) => Attempt::Done(Ok(value)),
                Err(failure) => self.judge(op, attempt, failure),
            }
        })
        .instrument(span)
        .await
    }

    /// One attempt: sends `out` through the API's pipeline and reads its answer.
    async fn exchange<T, R, RF>(&self, out: Outgoing, receive: &R) -> Result<(u16, T), Failure>
    where
        R: Fn(reqwest::Response) -> RF,
        RF: Future<Output = Received<T>>,
    {
        let response = match self.api.send(out).await {
            Ok(response) => response,
            Err(Halt::Network(error)) => {
                let (network, failed) = crate::send_failure::classify(error).await;
                return Err(Failure::Network(network, failed));
            }
            Err(Halt::Stopped(error)) => return Err(Failure::Final(error)),
        };
        let status = response.status().as_u16();
        if !response.status().is_success() {
            let headers = response.headers().clone();
            let renewed = response.extensions().get::<Renewed>().is_some();
            let body = wire::read_start(response, limits::ERROR_BODY)
                .await
                .map_err(Failure::network)?;
            return Err(Failure::Status {
                status,
                headers,
                body,
                renewed,
            });
        }
        let value = receive(response).await?;
        Ok((status, value))
    }

    /// What the failure of attempt `attempt` of `op` leads to, as the decision table says; a
    /// 401 earns one more attempt when it renewed the token.
    fn judge<T>(&self, op: &Operation, attempt: u32, failure: Failure) -> Attempt<T, Error> {
        let mut renewed = false;
        let (error, verdict, wait) = match failure {
            Failure::Final(error) => return Attempt::Done(Err(error)),
            // The network path refused it (a certificate, a proxy): what configuration fixes.
            Failure::Network(source, Failed::NotSent) if source.problem().is_some() => {
                return Attempt::Done(Err(Error::Transport {
                    operation: op.id,
                    attempts: attempt,
                    source,
                }));
            }
            Failure::Network(source, Failed::NotSent) => {
                return Attempt::Done(Err(Error::InvalidRequest {
                    operation: op.id,
                    message: crate::error::chain(&source),
                }));
            }
            Failure::Network(source, failed) => {
                let error = if source.is_timeout() {
                    Error::Timeout {
                        operation: op.id,
                        attempts: attempt,
                        source,
                    }
                } else {
                    Error::Transport {
                        operation: op.id,
                        attempts: attempt,
                        source,
                    }
                };
                (
                    error,
                    retry::decide(Traffic::Api, failed, op.idempotent),
                    None,
                )
            }
            Failure::Status {
                status,
                headers,
                body,
                renewed: fresh,
            } => {
                renewed = fresh;
                let error = Error::Service(Box::new(decode::service_error(
                    op.id, attempt, status, &headers, &body,
                )));
                let wait = server_wait(&headers, SystemTime::now());
                (
                    error,
                    retry::decide(Traffic::Api, Failed::Status(status), op.idempotent),
                    wait,
                )
            }
        };
        match verdict {
            Verdict::Retry => Attempt::retry(error, wait),
            Verdict::Reauthenticate if renewed => Attempt::Again,
            Verdict::Ambiguous => Attempt::Done(Err(Error::Ambiguous {
                operation: op.id,
                source: Box::new(error),
            })),
            Verdict::Reauthenticate | Verdict::Final => Attempt::Done(Err(error)),
        }
    }
}

/// Reads a success body of `operation` (bounded) and decodes it as `T`.
async fn read_json<T: DeserializeOwned>(
    response: reqwest::Response,
    operation: &'static str,
) -> Received<T> {
    let status = response.status().as_u16();
    let body = match wire::read_whole(response, limits::API_BODY).await {
        Ok(body) => body,
        Err(BodyError::Network(e)) => return Err(Failure::network(e)),
        Err(BodyError::TooLarge(limit)) => {
            return Err(Failure::Final(Error::Decode {
                operation,
                status: Some(status),
                path: ".".into(),
                message: format!("the body is larger than {limit} bytes"),
            }));
        }
    };
    decode::success(&body, operation).map_err(|mismatch| {
        Failure::Final(Error::Decode {
            operation,
            status: Some(status),
            path: mismatch.path,
            message: mismatch.message,
        })
    })
}

/// Reads (bounded) and drops a success body, so that the connection can be reused. The status
/// already said the request succeeded: a body cut short changes nothing.
async fn read_nothing(mut response: reqwest::Response) -> Received<()> {
    let mut read = 0;
    while let Ok(Some(chunk)) = response.chunk().await {
        read += chunk.len();
        if read > limits::API_BODY {
            break;
        }
    }
    Ok(())
}

/// Streams a success body into `dest` (created afresh), hashing it with SHA-256.
async fn write_file(mut response: reqwest::Response, dest: &Path) -> Received<(u64, String)> {
    use sha2::Digest;
    use tokio::io::AsyncWriteExt;
    let file_failure = |source: std::io::Error| {
        Failure::Final(Error::Transfer(Box::new(TransferError::File {
            path: dest.to_owned(),
            source,
        })))
    };
    let mut file = tokio::fs::File::create(dest).await.map_err(file_failure)?;
    let mut hash = sha2::Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = response.chunk().await.map_err(Failure::network)? {
        hash.update(&chunk);
        size += chunk.len() as u64;
        file.write_all(&chunk).await.map_err(file_failure)?;
    }
    file.flush().await.map_err(file_failure)?;
    let hex = crate::encode::hex(&hash.finalize());
    Ok((size, hex))
}
