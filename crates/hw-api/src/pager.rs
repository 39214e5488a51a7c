//! Lists that span pages: the service's `{value, links}` envelope, followed through the
//! `next_link` link.
//!
//! Hand-written because progenitor generates paging streams only for Dropshot's
//! `page_token`/`items`/`next_page` convention (`shared/reference/progenitor-findings.md` §9).

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::{Stream, StreamExt};
use hw_api_gen::types::{
    Audience, AudienceList, Link, LinkRel, Product, ProductList, ShippingLabel, ShippingLabelList,
    Submission, SubmissionList,
};
use serde::de::DeserializeOwned;
use url::Url;

use crate::call::Operation;
use crate::client::Inner;
use crate::error::Error;
use crate::{origin, redact};

/// One page of a list.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Page<T> {
    /// The items on this page (possibly none, even when more pages follow).
    pub items: Vec<T>,
    /// The next page's URL, if there is one.
    pub next_link: Option<Url>,
}

/// The pages of a list as a stream.
pub type PageStream<T> = Pin<Box<dyn Stream<Item = Result<Page<T>, Error>> + Send>>;

/// The future that fetches a list's first page.
pub(crate) type FirstPage<E> = Pin<Box<dyn Future<Output = Result<E, Error>> + Send>>;

/// A list envelope of the spec.
pub(crate) trait Envelope: DeserializeOwned + Send + 'static {
    type Item: Send + 'static;

    fn into_parts(self) -> (Vec<Self::Item>, Vec<Link>);
}

impl Envelope for ProductList {
    type Item = Product;

    fn into_parts(self) -> (Vec<Product>, Vec<Link>) {
        (self.value, self.links)
    }
}

impl Envelope for SubmissionList {
    type Item = Submission;

    fn into_parts(self) -> (Vec<Submission>, Vec<Link>) {
        (self.value, self.links)
    }
}

impl Envelope for ShippingLabelList {
    type Item = ShippingLabel;

    fn into_parts(self) -> (Vec<ShippingLabel>, Vec<Link>) {
        (self.value, self.links)
    }
}

impl Envelope for AudienceList {
    type Item = Audience;

    fn into_parts(self) -> (Vec<Audience>, Vec<Link>) {
        (self.value, self.links)
    }
}

/// All items of a list, fetched page by page as the stream is polled (nothing is requested
/// before the first poll).
///
/// The pager follows `next_link` as given, absolute or relative to the page it came from. It
/// stops when a page has no `next_link` or repeats one already followed, keeps going past empty
/// pages, and ends with [`Error::ForeignLink`] rather than send the access token to another
/// origin. A failed page ends the stream after its error.
pub struct Pager<T> {
    pages: PageStream<T>,
    buffered: VecDeque<T>,
}

impl<T> std::fmt::Debug for Pager<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pager")
            .field("buffered", &self.buffered.len())
            .finish_non_exhaustive()
    }
}

impl<T: Send + 'static> Pager<T> {
    pub(crate) fn new<E: Envelope<Item = T>>(
        inner: Arc<Inner>,
        op: &'static Operation,
        first_url: Url,
        first: FirstPage<E>,
    ) -> Self {
        let state = State {
            cursor: Cursor::First(first),
            page_url: first_url.clone(),
            seen: HashSet::from([first_url.to_string()]),
            inner,
            op,
        };
        let pages = futures_util::stream::unfold(state, State::next_page).fuse();
        Self {
            pages: Box::pin(pages),
            buffered: VecDeque::new(),
        }
    }

    /// The remaining pages (items already taken from this pager are not repeated; items of a
    /// page partly taken come first, as a page of their own).
    pub fn pages(self) -> PageStream<T> {
        if self.buffered.is_empty() {
            return self.pages;
        }
        let head = Page {
            items: self.buffered.into_iter().collect(),
            next_link: None,
        };
        Box::pin(futures_util::stream::once(async move { Ok(head) }).chain(self.pages))
    }
}

// The items are never pinned in place: they are moved out of the buffer by value.
impl<T> Unpin for Pager<T> {}

impl<T> Stream for Pager<T> {
    type Item = Result<T, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(item) = this.buffered.pop_front() {
                return Poll::Ready(Some(Ok(item)));
            }
            match this.pages.as_mut().poll_next(cx) {
                Poll::Ready(Some(Ok(page))) => this.buffered.extend(page.items),
                Poll::Ready(Some(Err(e))) => return Poll::Ready(Some(Err(e))),
                Poll::Ready(None) => return Poll::Ready(None),
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}

enum Cursor<E> {
    First(FirstPage<E>),
    Next(Url),
    Foreign(Url),
    Broken(Error),
    Done,
}

struct State<E> {
    cursor: Cursor<E>,
    page_url: Url,
    seen: HashSet<String>,
    inner: Arc<Inner>,
    op: &'static Operation,
}

impl<E: Envelope> State<E> {
    async fn next_page(mut self) -> Option<(Result<Page<E::Item>, Error>, Self)> {
        let fetched = match std::mem::replace(&mut self.cursor, Cursor::Done) {
            Cursor::Done => return None,
            Cursor::Broken(error) => Err(error),
            Cursor::Foreign(url) => Err(Error::ForeignLink {
                operation: self.op.id,
                url: redact::url(&url),
                origin: self.inner.base.origin().ascii_serialization(),
            }),
            Cursor::First(first) => first.await,
            Cursor::Next(url) => {
                self.page_url = url.clone();
                let inner = self.inner.clone();
                inner
                    .call(self.op, url.path(), |lease| {
                        inner.get_json::<E>(&url, lease)
                    })
                    .await
            }
        };
        let envelope = match fetched {
            Ok(envelope) => envelope,
            Err(e) => return Some((Err(e), self)),
        };
        let (items, links) = envelope.into_parts();
        let next_link = self.follow(&links);
        Some((Ok(Page { items, next_link }), self))
    }

    /// Sets the cursor from the page's links; returns the next page's URL. A link that cannot
    /// be followed ends the list with an error after this page.
    fn follow(&mut self, links: &[Link]) -> Option<Url> {
        let url = match next_link(&self.page_url, links) {
            Ok(Some(url)) => url,
            Ok(None) => return None,
            Err(message) => {
                self.cursor = Cursor::Broken(Error::Decode {
                    operation: self.op.id,
                    status: None,
                    path: "links[rel=next_link].href".into(),
                    message,
                });
                return None;
            }
        };
        if !self.seen.insert(url.to_string()) {
            tracing::warn!(operation = self.op.id, link = %redact::url(&url), "the service repeated a next_link; stopping");
            return None;
        }
        self.cursor = if origin::same_origin(&url, &self.inner.base) {
            Cursor::Next(url.clone())
        } else {
            Cursor::Foreign(url.clone())
        };
        Some(url)
    }
}

/// The next page's URL from a page's links: the `next_link` href, absolute or relative to the
/// page's own URL; `None` when there is no (non-empty) `next_link`; a message (redacted) when it
/// is not a URL.
pub(crate) fn next_link(page_url: &Url, links: &[Link]) -> Result<Option<Url>, String> {
    let Some(href) = links
        .iter()
        .find(|l| l.rel == LinkRel::NextLink)
        .map(|l| l.href.trim())
        .filter(|h| !h.is_empty())
    else {
        return Ok(None);
    };
    page_url
        .join(href)
        .map(Some)
        .map_err(|e| format!("{}: {e}", redact::url_text(href)))
}
