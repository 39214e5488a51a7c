//! Pages of lists: `pageSize` and an opaque `continuationToken`, answered with `self` and an
//! absolute `next_link`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hw_api_gen::types::{HttpMethod, Link, LinkRel};

/// The largest page a caller may ask for.
pub const MAX_PAGE_SIZE: usize = 500;

/// A page request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    pub offset: usize,
    pub size: usize,
}

/// Reads `pageSize` and `continuationToken` from a query string.
pub fn request(query: Option<&str>, default_size: usize) -> Result<PageRequest, &'static str> {
    let mut page = PageRequest {
        offset: 0,
        size: default_size,
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
                page.offset = decode(&value).ok_or("The continuation token is not valid")?
            }
            _ => {}
        }
    }
    Ok(page)
}

fn encode(offset: usize) -> String {
    URL_SAFE_NO_PAD.encode(format!("hwsim:{offset}"))
}

fn decode(token: &str) -> Option<usize> {
    let bytes = URL_SAFE_NO_PAD.decode(token).ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix("hwsim:")?
        .parse()
        .ok()
}

/// The links of a page of `total` items at `url` (absolute, without query).
pub fn links(url: &str, page: PageRequest, total: usize) -> Vec<Link> {
    let query = |offset: usize| {
        if offset == 0 {
            format!("{url}?pageSize={}", page.size)
        } else {
            format!(
                "{url}?pageSize={}&continuationToken={}",
                page.size,
                encode(offset)
            )
        }
    };
    let mut links = vec![link(query(page.offset), LinkRel::Self_)];
    let next = page.offset.saturating_add(page.size);
    if next < total {
        links.push(link(query(next), LinkRel::NextLink));
    }
    links
}

/// A GET link.
pub fn link(href: String, rel: LinkRel) -> Link {
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
            },
            120,
        );
        let next = &links[1].href;
        let query = next.split_once('?').unwrap().1;
        assert_eq!(
            request(Some(query), 50),
            Ok(PageRequest {
                offset: 100,
                size: 50
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
                    size: 50
                },
                120
            )
            .len(),
            1
        );
    }
}
