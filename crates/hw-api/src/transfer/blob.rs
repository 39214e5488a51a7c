//! One request to blob storage, as every transfer sends it: through the blob client (never the
//! API's token, no redirects), watched for stalls, retried by the one engine with the blob rows
//! of the decision table, and a refusal read into a [`TransferError`].

use std::time::{Duration, SystemTime};

use super::options::TransferOptions;
use super::sas::SasUrl;
use super::watch;
use crate::error::{NetworkError, TransferError};
use crate::net::{HttpSettings, Sender, Traffic};
use crate::record::BodyDigest;
use crate::retry::{self, Attempt, Failed, RetryPolicy, server_wait};
use crate::wire::{self, limits};

/// The blob HTTP client (`net/clients.rs`): no token, no redirects, and no total timeout;
/// requests are watched for stalls instead (`watch.rs`, and per chunk in downloads).
pub(crate) fn blob_client(
    settings: &HttpSettings,
    recorder: Option<crate::record::Recorder>,
) -> Result<Sender, String> {
    let steps = crate::record::steps(recorder.as_ref(), crate::record::Service::Blob);
    settings
        .client(Traffic::Blob)
        .map(|client| Sender::new(client, steps, recorder.is_some()))
}

/// Sends the request `build` makes until it succeeds or the retry policy gives up; an attempt
/// that gets no answer within `stall` is given up and tried again.
pub(crate) async fn send(
    http: &Sender,
    retry: &RetryPolicy,
    operation: &'static str,
    shown_url: &str,
    stall: Duration,
    build: impl Fn() -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, TransferError> {
    let watch = watch::Watch {
        stall,
        min_throughput: None,
    };
    send_watched(http, retry, operation, shown_url, &watch, None, &|_| {
        build()
    })
    .await
}

/// Sends `data` with the request `build` makes (given the body) until it succeeds or the retry
/// policy gives up, each attempt watched for stalls as `options` say.
pub(crate) async fn send_body(
    http: &Sender,
    retry: &RetryPolicy,
    operation: &'static str,
    shown_url: &str,
    options: &TransferOptions,
    data: &bytes::Bytes,
    build: impl Fn(reqwest::Body) -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, TransferError> {
    let watch = options.watch();
    // The body is streamed (for the stall watch): a trace is given its digest beforehand.
    let digest = http.recording().then(|| BodyDigest::of(data));
    send_watched(
        http,
        retry,
        operation,
        shown_url,
        &watch,
        digest,
        &|clock| {
            build(watch::body(data.clone(), clock))
                .header(reqwest::header::CONTENT_LENGTH, data.len())
        },
    )
    .await
}

/// The one loop of blob requests: each attempt's request from `build` (given its progress
/// clock), sent through `http`, watched as `watch` says and classified by
/// the decision table ([`retry::decide`]); `digest` describes a streamed body to a trace.
async fn send_watched(
    http: &Sender,
    retry: &RetryPolicy,
    operation: &'static str,
    shown_url: &str,
    watch: &watch::Watch,
    digest: Option<BodyDigest>,
    build: &impl Fn(&std::sync::Arc<watch::Clock>) -> reqwest::RequestBuilder,
) -> Result<reqwest::Response, TransferError> {
    let digest = &digest;
    retry::run(retry, operation, |attempt| async move {
        let clock = watch::Clock::start();
        let sending = http.send(operation, build(&clock), digest.clone());
        let sent = match watch::watched(watch, &clock, sending).await {
            Ok(sent) => sent,
            Err(why) => {
                let error = TransferError::Transport {
                    operation,
                    url: shown_url.to_owned(),
                    attempts: attempt,
                    source: NetworkError::other(why),
                };
                return after_failure(error, Failed::NoAnswer, None);
            }
        };
        let (error, failed, wait) = match sent {
            Ok(response) if response.status().is_success() => return Attempt::Done(Ok(response)),
            Ok(response) => {
                let status = response.status().as_u16();
                let wait = server_wait(response.headers(), SystemTime::now());
                let error = refused(operation, shown_url, response).await;
                (error, Failed::Status(status), wait)
            }
            Err(e) => {
                let (network, failed) = crate::send_failure::classify(e).await;
                let error = TransferError::Transport {
                    operation,
                    url: shown_url.to_owned(),
                    attempts: attempt,
                    source: network,
                };
                (error, failed, None)
            }
        };
        after_failure(error, failed, wait)
    })
    .await
}

/// What follows a failed blob request: another attempt where the decision table says one may
/// help (every blob operation here may be repeated), else the error.
pub(crate) fn after_failure<T>(
    error: TransferError,
    failed: Failed,
    wait: Option<Duration>,
) -> Attempt<T, TransferError> {
    retry::after(retry::decide(Traffic::Blob, failed, true), error, wait)
}

/// A request to `url` with the SAS's service version, if it names one.
pub(crate) fn request(
    http: &Sender,
    method: reqwest::Method,
    sas: &SasUrl,
    url: url::Url,
) -> reqwest::RequestBuilder {
    let request = http.client().request(method, url);
    if sas.version().is_empty() {
        request
    } else {
        request.header("x-ms-version", sas.version())
    }
}

/// A storage error response as an error.
pub(crate) async fn refused(
    operation: &'static str,
    shown_url: &str,
    response: reqwest::Response,
) -> TransferError {
    let status = response.status().as_u16();
    let code = wire::header(response.headers(), "x-ms-error-code");
    let request_id = wire::header(response.headers(), "x-ms-request-id");
    let body = wire::read_start(response, limits::ERROR_BODY)
        .await
        .unwrap_or_default();
    let (body_code, message) = super::xml::storage_error(&String::from_utf8_lossy(&body));
    TransferError::Refused {
        operation,
        url: shown_url.to_owned(),
        status,
        code: code.or(body_code.map(|c| wire::clean(&c))),
        message: message.map(|m| wire::clean(&m)),
        request_id,
    }
}
