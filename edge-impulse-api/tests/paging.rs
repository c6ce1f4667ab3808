//! Paging: `.pages()` and `.items()` of list operations against a loopback server that pages
//! like the API (`limit`/`offset` in the query). `listAllJobs` answers a total count
//! (`totalJobCount`); `getAllImportedFrom` does not, so it ends at a short or empty page.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use edge_impulse_api::{Client, Error, FromResponse, Items, Pages, RetryPolicy};
use serde_json::{json, Value};
use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const JOBS_PATH: &str = "/api/1/jobs/all";
const IMPORTED_PATH: &str = "/api/1/raw-data/imported-from";

/// A list of items served a page at a time, as the API pages.
struct ListServer {
    /// The length of the list for the n-th request (0-based): a list can change while paged.
    length: fn(usize) -> usize,
    /// Whether answers carry `totalJobCount` (the jobs shape) or not (the imported-from shape).
    jobs_shape: bool,
    /// Answers the first page whatever the offset.
    ignore_offset: bool,
    /// How many new items were put in front of the list before the n-th request (0-based):
    /// the item at position `p` then has the id `p - prepended(n)`.
    prepended: fn(usize) -> usize,
    /// Whether each answer carries a member of its own (`requestId`, the request's number).
    stamped: bool,
    requests: AtomicUsize,
}

impl ListServer {
    fn new(length: fn(usize) -> usize, jobs_shape: bool) -> Self {
        ListServer { length, jobs_shape, ignore_offset: false, prepended: |_| 0, stamped: false, requests: AtomicUsize::new(0) }
    }
}

fn query_number(request: &Request, name: &str) -> usize {
    let value = request.url.query_pairs().find(|(n, _)| n == name).unwrap_or_else(|| panic!("no `{name}` in {}", request.url));
    value.1.parse().unwrap_or_else(|_| panic!("`{name}` is not a number in {}", request.url))
}

impl Respond for ListServer {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let n = self.requests.fetch_add(1, Ordering::SeqCst);
        let length = (self.length)(n);
        let limit = query_number(request, "limit");
        let offset = if self.ignore_offset { 0 } else { query_number(request, "offset") };
        let prepended = (self.prepended)(n) as i64;
        let ids = (offset..length).take(limit).map(|position| position as i64 - prepended);
        let body = if self.jobs_shape {
            let jobs: Vec<Value> = ids
                .map(|id| json!({"id": id, "key": format!("job-{id}"), "created": "2024-01-02T03:04:05Z", "category": "training", "jobNotificationUids": []}))
                .collect();
            json!({"success": true, "jobs": jobs, "totalJobCount": length})
        } else {
            let data: Vec<Value> = ids.map(|id| json!({"id": id, "category": "training", "importedFrom": "s3"})).collect();
            json!({"success": true, "data": data})
        };
        let mut body = body;
        if self.stamped {
            body["requestId"] = json!(format!("req-{n}"));
        }
        ResponseTemplate::new(200).set_body_json(body)
    }
}

async fn serve(list: ListServer) -> MockServer {
    let server = MockServer::start().await;
    let path_ = if list.jobs_shape { JOBS_PATH } else { IMPORTED_PATH };
    Mock::given(method("GET")).and(path(path_)).respond_with(list).mount(&server).await;
    server
}

/// `(limit, offset)` of every request the server received, in order.
async fn page_requests(server: &MockServer) -> Vec<(usize, usize)> {
    let requests = server.received_requests().await.expect("recording is on");
    requests.iter().map(|r| (query_number(r, "limit"), query_number(r, "offset"))).collect()
}

/// Every item of the stream, or the first error.
async fn all_items<T: FromResponse, I>(mut items: Items<'_, T, I>) -> Result<Vec<I>, Error> {
    let mut all = Vec::new();
    while let Some(item) = items.next().await {
        all.push(item?);
    }
    Ok(all)
}

/// How many items each page holds (`count` reads a page).
async fn page_sizes<T: FromResponse>(pages: &mut Pages<'_, T>, count: fn(&T) -> usize) -> Vec<usize> {
    let mut sizes = Vec::new();
    while let Some(page) = pages.next().await {
        sizes.push(count(&page.expect("a page")));
    }
    sizes
}

async fn job_ids(client: &Client, page_size: u64) -> Result<Vec<i64>, Error> {
    let jobs = all_items(client.jobs().list_all_jobs(1).items().page_size(page_size)).await?;
    Ok(jobs.iter().map(|job| job.id).collect())
}

async fn imported_ids(client: &Client, page_size: u64) -> Result<Vec<i64>, Error> {
    let imported = all_items(client.raw_data().get_all_imported_from(1).items().page_size(page_size)).await?;
    Ok(imported.iter().map(|item| item.id).collect())
}

fn ids(range: std::ops::Range<i64>) -> Vec<i64> {
    range.collect()
}

#[tokio::test]
async fn several_pages_until_the_total_count() {
    let server = serve(ListServer::new(|_| 25, true)).await;
    let client = common::client(&server, true, false);
    assert_eq!(job_ids(&client, 10).await.unwrap(), ids(0..25));
    assert_eq!(page_requests(&server).await, [(10, 0), (10, 10), (10, 20)]);
}

#[tokio::test]
async fn pages_carry_the_other_parameters_and_start_at_the_calls_limit_and_offset() {
    let server = serve(ListServer::new(|_| 25, true)).await;
    let client = common::client(&server, true, false);
    let mut pages = client.jobs().list_all_jobs(1).category("training").limit(8).offset(5).pages();
    assert_eq!(page_sizes(&mut pages, |page| page.jobs.len()).await, [8, 8, 4]);
    assert_eq!(pages.total(), Some(25));
    assert_eq!(page_requests(&server).await, [(8, 5), (8, 13), (8, 21)]);
    for request in server.received_requests().await.unwrap() {
        let categories: Vec<_> = request.url.query_pairs().filter(|(n, _)| n == "category").collect();
        assert_eq!(categories.len(), 1, "{}", request.url);
        assert_eq!(categories[0].1, "training");
    }
}

#[tokio::test]
async fn an_exact_multiple_of_the_page_size_stops_at_the_total_or_at_the_empty_page() {
    let server = serve(ListServer::new(|_| 20, true)).await;
    let client = common::client(&server, true, false);
    assert_eq!(job_ids(&client, 10).await.unwrap(), ids(0..20));
    assert_eq!(page_requests(&server).await, [(10, 0), (10, 10)], "the total count saves the empty page");

    let server = serve(ListServer::new(|_| 20, false)).await;
    let client = common::client(&server, true, false);
    let mut pages = client.raw_data().get_all_imported_from(1).limit(10).pages();
    assert_eq!(page_sizes(&mut pages, |page| page.data.len()).await, [10, 10], "the empty page that ends the list is not yielded");
    assert_eq!(pages.total(), None);
    assert_eq!(page_requests(&server).await, [(10, 0), (10, 10), (10, 20)]);
}

#[tokio::test]
async fn a_short_page_ends_a_list_without_total_count() {
    let server = serve(ListServer::new(|_| 23, false)).await;
    let client = common::client(&server, true, false);
    assert_eq!(imported_ids(&client, 10).await.unwrap(), ids(0..23));
    assert_eq!(page_requests(&server).await, [(10, 0), (10, 10), (10, 20)]);
}

#[tokio::test]
async fn an_empty_first_page_is_yielded_once_and_has_no_items() {
    let server = serve(ListServer::new(|_| 0, false)).await;
    let client = common::client(&server, true, false);
    let mut pages = client.raw_data().get_all_imported_from(1).pages();
    let first = pages.next().await.expect("the first page").unwrap();
    assert!(first.data.is_empty());
    assert!(pages.next().await.is_none());
    assert_eq!(imported_ids(&client, 10).await.unwrap(), Vec::<i64>::new());
    assert_eq!(
        page_requests(&server).await,
        [(edge_impulse_api::DEFAULT_PAGE_SIZE as usize, 0), (10, 0)],
        "one request per stream"
    );
}

#[tokio::test]
async fn a_total_count_that_grows_while_paging_is_followed() {
    // 25 jobs when the first page is read, 32 from then on.
    let server = serve(ListServer::new(|n| if n == 0 { 25 } else { 32 }, true)).await;
    let client = common::client(&server, true, false);
    assert_eq!(job_ids(&client, 10).await.unwrap(), ids(0..32));
    assert_eq!(page_requests(&server).await, [(10, 0), (10, 10), (10, 20), (10, 30)]);
}

#[tokio::test]
async fn a_total_count_that_shrinks_while_paging_ends_it_early() {
    // 25 jobs when the first page is read, 12 from then on.
    let server = serve(ListServer::new(|n| if n == 0 { 25 } else { 12 }, true)).await;
    let client = common::client(&server, true, false);
    let mut items = client.jobs().list_all_jobs(1).items().page_size(10);
    let mut received = Vec::new();
    while let Some(job) = items.next().await {
        received.push(job.unwrap().id);
        if received.len() == 1 {
            assert_eq!(items.total(), Some(25));
        }
    }
    assert_eq!(received, ids(0..12));
    assert_eq!(items.total(), Some(12));
    assert_eq!(page_requests(&server).await, [(10, 0), (10, 10)]);
}

#[tokio::test]
async fn a_server_that_ignores_offset_ends_the_stream_with_an_error() {
    for jobs_shape in [true, false] {
        let server = serve(ListServer { ignore_offset: true, ..ListServer::new(|_| 50, jobs_shape) }).await;
        let client = common::client(&server, true, false);
        let result = if jobs_shape { job_ids(&client, 10).await } else { imported_ids(&client, 10).await };
        let error = common::expect_err(result);
        match &error {
            Error::PageRepeated { operation, offset_param, offset } => {
                assert_eq!(*operation, if jobs_shape { "listAllJobs" } else { "getAllImportedFrom" });
                assert_eq!((*offset_param, *offset), ("offset", 10));
            }
            other => panic!("expected PageRepeated, got {other:?}"),
        }
        assert!(error.to_string().contains("offset=10"), "{error}");
        assert_eq!(page_requests(&server).await.len(), 2, "no request after the repeated page");
    }
}

#[tokio::test]
async fn a_server_that_ignores_offset_is_caught_by_the_items_when_the_rest_of_the_answer_changes() {
    for jobs_shape in [true, false] {
        let list = ListServer { ignore_offset: true, stamped: true, ..ListServer::new(|_| 50, jobs_shape) };
        let server = serve(list).await;
        let client = common::client(&server, true, false);
        let result = if jobs_shape { job_ids(&client, 10).await } else { imported_ids(&client, 10).await };
        let error = common::expect_err(result);
        assert!(matches!(error, Error::PageRepeated { offset_param: "offset", offset: 10, .. }), "{error:?}");
        assert_eq!(page_requests(&server).await.len(), 2, "no request after the repeated page");
    }
}

#[tokio::test]
async fn a_page_that_shares_some_items_with_the_previous_one_is_not_a_repeat() {
    // Three jobs are added in front after the first page: the second page starts with the
    // last three of the first again (the list moved; the client cannot know), then new ones.
    for jobs_shape in [true, false] {
        let list = ListServer { prepended: |n| if n == 0 { 0 } else { 3 }, ..ListServer::new(|n| if n == 0 { 25 } else { 28 }, jobs_shape) };
        let server = serve(ListServer { stamped: true, ..list }).await;
        let client = common::client(&server, true, false);
        let received = if jobs_shape { job_ids(&client, 10).await } else { imported_ids(&client, 10).await };
        let mut expected = ids(0..10);
        expected.extend(ids(7..25));
        assert_eq!(received.unwrap(), expected, "jobs shape: {jobs_shape}");
    }
}

#[tokio::test]
async fn an_error_on_page_three_comes_after_the_items_before_it_and_ends_the_stream() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(JOBS_PATH))
        .and(query_param("offset", "20"))
        .respond_with(ResponseTemplate::new(500).set_body_json(json!({"success": false, "error": "database on fire"})))
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET")).and(path(JOBS_PATH)).respond_with(ListServer::new(|_| 45, true)).mount(&server).await;
    let client = common::client(&server, true, false);
    let mut items = client.jobs().list_all_jobs(1).items().page_size(10);
    let mut received = Vec::new();
    let mut errors = Vec::new();
    while let Some(item) = items.next().await {
        match item {
            Ok(job) => received.push(job.id),
            Err(error) => errors.push(error),
        }
    }
    assert_eq!(received, ids(0..20));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].status(), Some(500));
    assert!(common::checked(&errors[0]).contains("database on fire"), "{}", errors[0]);
    assert_eq!(page_requests(&server).await, [(10, 0), (10, 10), (10, 20)], "500 is not retried, and paging stops");
}

#[tokio::test]
async fn a_page_is_retried_like_a_single_call() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(JOBS_PATH))
        .and(query_param("offset", "10"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET")).and(path(JOBS_PATH)).respond_with(ListServer::new(|_| 25, true)).mount(&server).await;
    let policy = RetryPolicy::new().max_attempts(3).initial_backoff(Duration::from_millis(1)).jitter(false);
    let client = Client::builder().base_url(server.uri()).api_key(common::API_KEY).retry(policy).build().unwrap();
    assert_eq!(job_ids(&client, 10).await.unwrap(), ids(0..25));
    assert_eq!(page_requests(&server).await, [(10, 0), (10, 10), (10, 10), (10, 20)]);
}

#[tokio::test]
async fn dropping_the_stream_stops_paging() {
    let server = serve(ListServer::new(|_| 100, true)).await;
    let client = common::client(&server, true, false);
    let mut items = client.jobs().list_all_jobs(1).items().page_size(10);
    for _ in 0..3 {
        items.next().await.expect("an item").unwrap();
    }
    drop(items);
    assert_eq!(page_requests(&server).await, [(10, 0)], "three items come from the first page");
}
