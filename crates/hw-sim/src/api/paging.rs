//! Pages of lists: `pageSize` and an opaque `continuationToken`, answered with `self` and an
//! absolute `next_link`.
//!
//! A token holds the next page's offset and, for lists kept in key order, the key it starts
//! at: a long list (100,000 products) is then read from its page on, not skipped through from
//! the start for every page.

use axum::Json;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hw_api_gen::types::{HttpMethod, Link, LinkRel};

/// The largest page a caller may ask for.
pub(crate) const MAX_PAGE_SIZE: usize = 500;

/// A page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PageRequest {
    pub offset: usize,
    pub size: usize,
    /// The key the page starts at, when the token carries one.
    pub start: Option<u64>,
}

/// Reads `pageSize` and `continuationToken` from a query string.
pub(super) fn request(
    query: Option<&str>,
    default_size: usize,
) -> Result<PageRequest, &'static str> {
    let mut page = PageRequest {
        offset: 0,
        size: default_size,
        start: None,
    };
    for (key, value) in url::form_urlencoded::parse(query.unwrap_or_default().as_bytes()) {
        match key.as_ref() {
            "pageSize" => {
                page.size = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE_SIZE).contains(n))
                    .ok_or("pageSize must be a number from 1 to 500")?;
            }
            "continuationToken" => {
                (page.offset, page.start) =
                    decode(&value).ok_or("The continuation token is not valid")?
            }
            _ => {}
        }
    }
    Ok(page)
}

fn encode(offset: usize, start: Option<u64>) -> String {
    let token = match start {
        Some(key) => format!("hwsim:{offset}:{key}"),
        None => format!("hwsim:{offset}"),
    };
    URL_SAFE_NO_PAD.encode(token)
}

fn decode(token: &str) -> Option<(usize, Option<u64>)> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    let rest = text.strip_prefix("hwsim:")?;
    match rest.split_once(':') {
        Some((offset, key)) => Some((offset.parse().ok()?, Some(key.parse().ok()?))),
        None => Some((rest.parse().ok()?, None)),
    }
}

/// The links of a page of `total` items at `url` (absolute, without query).
/// A page of a list as the service sends it: `{"value": [...], "links": [...]}`.
pub(super) fn page_response<T: serde::Serialize>(value: Vec<T>, links: Vec<Link>) -> Response {
    Json(serde_json::json!({"value": value, "links": links})).into_response()
}

pub(super) fn links(url: &str, page: PageRequest, total: usize) -> Vec<Link> {
    keyed_links(url, page, total, None)
}

/// As [`links`], for a list in key order whose next page starts at the key `next_start`.
pub(super) fn keyed_links(
    url: &str,
    page: PageRequest,
    total: usize,
    next_start: Option<u64>,
) -> Vec<Link> {
    let query = |offset: usize, start: Option<u64>| {
        if offset == 0 {
            format!("{url}?pageSize={}", page.size)
        } else {
            format!(
                "{url}?pageSize={}&continuationToken={}",
                page.size,
                encode(offset, start)
            )
        }
    };
    let mut links = vec![link(query(page.offset, page.start), LinkRel::Self_)];
    let next = page.offset.saturating_add(page.size);
    // A keyed page knows whether an item follows it; an offset page counts.
    let more = match page.start {
        Some(_) => next_start.is_some(),
        None => next < total,
    };
    if more {
        links.push(link(query(next, next_start), LinkRel::NextLink));
    }
    links
}

/// A GET link.
pub(super) fn link(href: String, rel: LinkRel) -> Link {
    Link {
        href,
        rel,
        method: Some(HttpMethod::Get),
        extra: Default::default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_garbage_is_refused() {
        let links = links(
            "http://h/v2.0/my/hardware/products",
            PageRequest {
                offset: 50,
                size: 50,
                start: None,
            },
            120,
        );
        let next = &links[1].href;
        let query = next.split_once('?').unwrap().1;
        assert_eq!(
            request(Some(query), 50),
            Ok(PageRequest {
                offset: 100,
                size: 50,
                start: None,
            })
        );
        assert!(request(Some("continuationToken=bm9wZQ"), 50).is_err());
        assert!(request(Some("pageSize=0"), 50).is_err());
        assert_eq!(links.len(), 2);
        assert_eq!(
            super::links(
                "u",
                PageRequest {
                    offset: 100,
                    size: 50,
                    start: None,
                },
                120
            )
            .len(),
            1
        );
    }

    #[test]
    fn keyed_tokens_carry_the_next_start() {
        let page = PageRequest {
            offset: 0,
            size: 50,
            start: None,
        };
        let links = keyed_links("u", page, 120, Some(1 << 60));
        let query = links[1].href.split_once('?').unwrap().1;
        assert_eq!(
            request(Some(query), 50),
            Ok(PageRequest {
                offset: 50,
                size: 50,
                start: Some(1 << 60),
            })
        );
    }
}
