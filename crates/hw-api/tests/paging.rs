//! Lists follow `next_link` to the end, lazily, safely and without loops.

mod common;

use std::time::Duration;

use common::*;
use futures_util::{StreamExt, TryStreamExt};
use hw_api::{Error, Id};
use serde_json::json;
use wiremock::matchers::{header, method, path, query_param, query_param_is_missing};
use wiremock::{Mock, MockServer, ResponseTemplate};

const PRODUCTS: &str = "/v2.0/my/hardware/products";

fn page(ids: &[u64], next: Option<&str>) -> ResponseTemplate {
    let mut links =
        vec![json!({"href": "https://self.example/ignored", "rel": "self", "method": "GET"})];
    if let Some(next) = next {
        links.push(json!({"href": next, "rel": "next_link", "method": "GET"}));
    }
    let value: Vec<_> = ids.iter().map(|id| product(*id)).collect();
    ResponseTemplate::new(200).set_body_json(json!({"value": value, "links": links}))
}

async fn mount_page(server: &MockServer, token: Option<&str>, body: ResponseTemplate) {
    let mock = Mock::given(method("GET"))
        .and(path(PRODUCTS))
        .and(header("authorization", "Bearer static-token"));
    let mock = match token {
        Some(t) => mock.and(query_param("continuationToken", t)),
        None => mock.and(query_param_is_missing("continuationToken")),
    };
    mock.respond_with(body).expect(1).mount(server).await;
}

#[tokio::test]
async fn three_pages_absolute_and_relative_links() {
    let server = MockServer::start().await;
    let absolute = format!("{}{PRODUCTS}?pageSize=50&continuationToken=a", server.uri());
    mount_page(&server, None, page(&[1, 2], Some(&absolute))).await;
    mount_page(
        &server,
        Some("a"),
        page(
            &[3, 4],
            Some("/v2.0/my/hardware/products?pageSize=50&continuationToken=b"),
        ),
    )
    .await;
    mount_page(&server, Some("b"), page(&[5], None)).await;
    let all = static_client(&server)
        .list_products()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    let ids: Vec<u64> = all.iter().map(|p| p.id.get()).collect();
    assert_eq!(ids, vec![1, 2, 3, 4, 5]);
}

#[tokio::test]
async fn pages_as_a_stream() {
    let server = MockServer::start().await;
    mount_page(
        &server,
        None,
        page(&[1, 2], Some("products?continuationToken=a")),
    )
    .await;
    mount_page(&server, Some("a"), page(&[3], None)).await;
    let pages: Vec<_> = static_client(&server)
        .list_products()
        .pages()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(pages.len(), 2);
    assert_eq!(pages[0].items.len(), 2);
    assert!(
        pages[0]
            .next_link
            .as_ref()
            .unwrap()
            .as_str()
            .ends_with("/hardware/products?continuationToken=a")
    );
    assert!(pages[1].next_link.is_none());
}

#[tokio::test]
async fn an_empty_page_in_the_middle_does_not_end_the_list() {
    let server = MockServer::start().await;
    mount_page(
        &server,
        None,
        page(&[1], Some("products?continuationToken=a")),
    )
    .await;
    mount_page(
        &server,
        Some("a"),
        page(&[], Some("products?continuationToken=b")),
    )
    .await;
    mount_page(&server, Some("b"), page(&[2], None)).await;
    let all = static_client(&server)
        .list_products()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
}

#[tokio::test]
async fn a_repeated_link_is_an_error_that_names_it_not_a_short_list() {
    let server = first_page().await;
    mount_page(
        &server,
        Some("a"),
        page(&[2], Some("products?continuationToken=a")),
    )
    .await;
    let mut items = static_client(&server).list_products();
    let mut ids = Vec::new();
    let err = loop {
        match items.next().await {
            Some(Ok(product)) => ids.push(product.id),
            Some(Err(e)) => break e,
            None => panic!("a list whose link repeats must not end as if complete"),
        }
    };
    assert_eq!(ids, [Id(1), Id(2)], "each page once, then the error");
    let Error::Paging { url, .. } = &err else {
        panic!("expected a paging error, got {err:?}");
    };
    assert!(url.contains("products?continuationToken="), "{url}");
    assert!(err.to_string().contains("repeated"), "{err}");
    assert_eq!(err.kind(), hw_api::ErrorKind::InvalidResponse);
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

/// A server with the first page of a list, whose next link is `continuationToken=a`.
async fn first_page() -> MockServer {
    let server = MockServer::start().await;
    mount_page(
        &server,
        None,
        page(&[1], Some("products?continuationToken=a")),
    )
    .await;
    server
}

/// A server with a list of three pages (the third mounted by the caller).
async fn three_pages() -> MockServer {
    let server = first_page().await;
    mount_page(
        &server,
        Some("a"),
        page(&[2], Some("products?continuationToken=b")),
    )
    .await;
    server
}

#[tokio::test]
async fn a_list_past_the_page_cap_is_an_error() {
    let server = three_pages().await;
    let err = static_client_with(&server, |b| b.max_pages(2))
        .list_products()
        .try_collect::<Vec<_>>()
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Paging { .. }), "{err:?}");
    assert!(err.to_string().contains("more than 2 pages"), "{err}");
    // With room for three pages the same list is read whole.
    let server = three_pages().await;
    mount_page(&server, Some("b"), page(&[3], None)).await;
    let all = static_client_with(&server, |b| b.max_pages(3))
        .list_products()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(all.len(), 3);
}

#[tokio::test]
async fn a_link_to_another_origin_is_refused_not_followed() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    let foreign = format!(
        "{}{PRODUCTS}?continuationToken=a&sig=leak-me",
        elsewhere.uri()
    );
    mount_page(&server, None, page(&[1], Some(&foreign))).await;
    Mock::given(method("GET"))
        .respond_with(page(&[2], None))
        .expect(0)
        .mount(&elsewhere)
        .await;

    let mut items = static_client(&server).list_products();
    assert_eq!(items.next().await.unwrap().unwrap().id, Id(1));
    let err = items.next().await.unwrap().unwrap_err();
    assert!(matches!(err, Error::ForeignLink { .. }), "{err:?}");
    let shown = err.to_string();
    assert!(
        shown.contains("not on the API origin") && !shown.contains("leak-me"),
        "{shown}"
    );
    assert!(
        items.next().await.is_none(),
        "the list ends after the refusal"
    );
}

#[tokio::test]
async fn nothing_is_requested_until_polled() {
    let server = MockServer::start().await;
    mount_page(&server, None, page(&[1], None)).await;
    let pager = static_client(&server).list_products();
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(server.received_requests().await.unwrap().is_empty());
    assert_eq!(pager.try_collect::<Vec<_>>().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_page_that_keeps_failing_is_reported_after_the_items_before_it() {
    let server = MockServer::start().await;
    mount_page(
        &server,
        None,
        page(&[1], Some("products?continuationToken=a")),
    )
    .await;
    Mock::given(method("GET"))
        .and(query_param("continuationToken", "a"))
        .respond_with(
            ResponseTemplate::new(404)
                .set_body_json(json!({"error": {"code": "entityNotFound", "message": "gone"}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let mut items = static_client(&server).list_products();
    assert_eq!(items.next().await.unwrap().unwrap().id, Id(1));
    assert_eq!(items.next().await.unwrap().unwrap_err().status(), Some(404));
    assert!(items.next().await.is_none());
    assert!(
        items.next().await.is_none(),
        "polling after the end is safe"
    );
}

#[tokio::test]
async fn a_failing_page_is_retried() {
    let server = MockServer::start().await;
    mount_page(
        &server,
        None,
        page(&[1], Some("products?continuationToken=a")),
    )
    .await;
    Mock::given(method("GET"))
        .and(query_param("continuationToken", "a"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    mount_page(&server, Some("a"), page(&[2], None)).await;
    let all = static_client(&server)
        .list_products()
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
}

#[tokio::test]
async fn submissions_of_a_product_page_too() {
    let server = MockServer::start().await;
    let base = format!("/v2.0/my/hardware/products/{PRODUCT}/submissions");
    Mock::given(method("GET"))
        .and(path(base.clone()))
        .and(query_param_is_missing("continuationToken"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{"id": SUBMISSION, "productId": PRODUCT}],
            "links": [{"href": "submissions?continuationToken=a", "rel": "next_link"}]
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(base))
        .and(query_param("continuationToken", "a"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "value": [{"id": SUBMISSION + 1, "productId": PRODUCT}]
        })))
        .mount(&server)
        .await;
    let all = static_client(&server)
        .list_submissions(Id(PRODUCT))
        .try_collect::<Vec<_>>()
        .await
        .unwrap();
    assert_eq!(all[1].id, Id(SUBMISSION + 1));
}
