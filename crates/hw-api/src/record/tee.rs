//! A response body that is passed on unchanged while a copy of it (text, bounded) or its
//! digest (content) is kept for the trace; what was kept is handed on, once, when the body
//! ends, fails or is dropped unread (the exchange is then written).
//!
//! Hand-written because reqwest has no response middleware; `reqwest::Body::wrap` keeps the
//! body's size hint, so `Response::content_length` means what it meant.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body as HttpBody, Frame, SizeHint};
use md5::{Digest, Md5};

use super::entry::{Body, BodyDigest};

/// The most of a text body a trace keeps (a page of a list is well under 1 MiB).
const TEXT_LIMIT: usize = 8 * 1024 * 1024;

/// What is kept of a body as it passes.
pub(super) enum Capture {
    /// Its bytes, up to [`TEXT_LIMIT`].
    Text { bytes: Vec<u8>, truncated: bool },
    /// Its size and MD5.
    Digest { md5: Md5, size: u64 },
}

impl Capture {
    pub(super) fn text() -> Self {
        Capture::Text {
            bytes: Vec::new(),
            truncated: false,
        }
    }

    pub(super) fn digest() -> Self {
        Capture::Digest {
            md5: Md5::new(),
            size: 0,
        }
    }

    pub(super) fn add(&mut self, data: &[u8]) {
        match self {
            Capture::Text { bytes, truncated } => {
                let room = TEXT_LIMIT.saturating_sub(bytes.len());
                bytes.extend_from_slice(&data[..data.len().min(room)]);
                *truncated |= data.len() > room;
            }
            Capture::Digest { md5, size } => {
                md5.update(data);
                *size += data.len() as u64;
            }
        }
    }

    /// The body as kept, and whether it is incomplete (`ended`: the body was read to its end).
    pub(super) fn into_body(self, ended: bool) -> Option<(Body, bool)> {
        match self {
            Capture::Text { bytes, .. } if bytes.is_empty() && ended => None,
            Capture::Text { bytes, truncated } => Some((
                Body::Text(String::from_utf8_lossy(&bytes).into_owned()),
                truncated || !ended,
            )),
            Capture::Digest { size: 0, .. } if ended => None,
            Capture::Digest { md5, size } => Some((
                Body::Digest(BodyDigest {
                    size,
                    md5: Some(crate::encode::base64(&md5.finalize())),
                }),
                !ended,
            )),
        }
    }
}

/// What a [`Tee`] does once its body ends: it is given the body as kept (and whether that is
/// incomplete) and the error that ended it, if any.
pub(super) trait OnEnd:
    FnOnce(Option<(Body, bool)>, Option<String>) + Send + Sync + Unpin + 'static
{
}

impl<F: FnOnce(Option<(Body, bool)>, Option<String>) + Send + Sync + Unpin + 'static> OnEnd for F {}

/// The watched body.
pub(super) struct Tee<F: OnEnd> {
    inner: reqwest::Body,
    capture: Option<Capture>,
    on_end: Option<F>,
}

impl<F: OnEnd> Tee<F> {
    pub(super) fn new(inner: reqwest::Body, capture: Capture, on_end: F) -> Self {
        Self {
            inner,
            capture: Some(capture),
            on_end: Some(on_end),
        }
    }

    /// Hands what was kept on, once.
    fn finish(&mut self, ended: bool, error: Option<String>) {
        if let (Some(on_end), Some(capture)) = (self.on_end.take(), self.capture.take()) {
            on_end(capture.into_body(ended), error);
        }
    }
}

impl<F: OnEnd> HttpBody for Tee<F> {
    type Data = Bytes;
    type Error = reqwest::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, reqwest::Error>>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.inner).poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let (Some(data), Some(capture)) = (frame.data_ref(), this.capture.as_mut()) {
                    capture.add(data);
                }
                if this.inner.is_end_stream() {
                    this.finish(true, None);
                }
            }
            Poll::Ready(Some(Err(error))) => {
                this.finish(false, Some(crate::report::chain(error)));
            }
            Poll::Ready(None) => this.finish(true, None),
            Poll::Pending => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

impl<F: OnEnd> Drop for Tee<F> {
    fn drop(&mut self) {
        let ended = self.inner.is_end_stream();
        self.finish(ended, None);
    }
}
