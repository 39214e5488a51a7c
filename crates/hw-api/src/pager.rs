//! Lists that span pages: the service's `{value, links}` envelope, followed through the
//! `next_link` link.
//!
//! Hand-written because progenitor generates paging streams only for Dropshot's
//! `page_token`/`items`/`next_page` convention (`docs/service-notes.md`, "Progenitor: paging").

use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::{Stream, StreamExt};
use hw_api_gen::ResponseValue;
use hw_api_gen::types::{
    Audience, AudienceList, ErrorResponse, Link, LinkRel, Product, ProductList, ShippingLabel,
    ShippingLabelList, Submission, SubmissionList,
};
use serde::de::DeserializeOwned;
use url::Url;

use crate::error::Error;
use crate::inner::Inner;
use crate::redact;
use crate::transport::Operation;

/// The most pages a list may have unless the client is built with another cap: a hundred
/// thousand items or more, where a list whose links never repeat would otherwise never end.
pub const DEFAULT_MAX_PAGES: u32 = 10_000;

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
/// The pager follows `next_link` as given, absolute or relative to the page it came from, each
/// page through the same transport as the first. It stops when a page has no `next_link` and
/// keeps going past empty pages. It never reports a truncated list as complete: it ends with
/// [`Error::Paging`] when the service repeats a link or the list passes the page cap
/// ([`ClientBuilder::max_pages`](crate::ClientBuilder::max_pages)), and with
/// [`Error::ForeignLink`] rather than send the access token to another origin. A failed page
/// ends the stream after its error.
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
    /// A pager over `op`, whose first page the generated call `first` fetches.
    pub(crate) fn new<E, F, Fut>(inner: Arc<Inner>, op: &'static Operation, first: F) -> Self
    where
        E: Envelope<Item = T>,
        F: FnOnce(hw_api_gen::Client) -> Fut + Send + 'static,
        Fut: Future<Output = Result<ResponseValue<E>, hw_api_gen::Error<ErrorResponse>>>
            + Send
            + 'static,
    {
        let state = State {
            cursor: Cursor::First(first),
            seen: HashSet::new(),
            pages: 0,
            inner,
            op,
        };
        let pages = futures_util::stream::unfold(state, State::next_page::<E, Fut>).fuse();
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

enum Cursor<F> {
    First(F),
    Next(Url),
    Broken(Error),
    Done,
}

struct State<F> {
    cursor: Cursor<F>,
    /// The links followed so far.
    seen: HashSet<String>,
    /// The pages fetched so far.
    pages: u32,
    inner: Arc<Inner>,
    op: &'static Operation,
}

impl<F> State<F> {
    async fn next_page<E, Fut>(mut self) -> Option<(Result<Page<E::Item>, Error>, Self)>
    where
        E: Envelope,
        F: FnOnce(hw_api_gen::Client) -> Fut,
        Fut: Future<Output = Result<ResponseValue<E>, hw_api_gen::Error<ErrorResponse>>>,
    {
        let api = &self.inner.api;
        let fetched = match std::mem::replace(&mut self.cursor, Cursor::Done) {
            Cursor::Done => return None,
            Cursor::Broken(error) => Err(error),
            Cursor::First(first) => match api.build(self.op, first).await {
                Ok(built) => {
                    let url = built.request.url().clone();
                    api.json::<E>(self.op, built.request)
                        .await
                        .map(|page| (url, page))
                }
                Err(e) => Err(e),
            },
            Cursor::Next(url) => api
                .get::<E>(self.op, url.clone())
                .await
                .map(|page| (url, page)),
        };
        let (page_url, envelope) = match fetched {
            Ok(fetched) => fetched,
            Err(e) => return Some((Err(e), self)),
        };
        self.pages += 1;
        self.seen.insert(page_url.to_string());
        let (items, links) = envelope.into_parts();
        let next_link = self.follow(&page_url, &links);
        Some((Ok(Page { items, next_link }), self))
    }

    /// Sets the cursor from the links of the page at `page_url`; returns the next page's URL.
    /// A link that cannot or must not be followed ends the list with an error after this page.
    fn follow(&mut self, page_url: &Url, links: &[Link]) -> Option<Url> {
        let url = match next_link(page_url, links) {
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
        let problem = if !self.seen.insert(url.to_string()) {
            Some("the service repeated this next_link, so the list would never end".to_owned())
        } else if self.pages >= self.inner.max_pages {
            Some(format!(
                "the list has more than {} pages, the most this client reads",
                self.inner.max_pages
            ))
        } else {
            None
        };
        self.cursor = match problem {
            Some(problem) => Cursor::Broken(Error::Paging {
                operation: self.op.id,
                url: redact::url(&url),
                problem,
            }),
            None => Cursor::Next(url.clone()),
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
