//! Retries: what is retried (idempotent requests after connection failures, 429, 502, 503,
//! 504), what never is (POST without opt-in, other statuses), and the bounds on attempts and
//! time. Every count below is the number of requests the server really received.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use edge_impulse_api::models::RawDataCategoryQuery;
use edge_impulse_api::{Client, Error, FilePart, Method, RetryPolicy};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const COUNT_PATH: &str = "/api/1/raw-data/count";
const API_KEY: &str = "ei_retry_test_key_51d0";

fn count_body(count: i64) -> serde_json::Value {
    serde_json::json!({ "success": true, "count": count })
}

#[track_caller]
fn expect_err<T: std::fmt::Debug>(result: Result<T, Error>) -> Error {
    let error = result.expect_err("expected an error");
    assert!(!format!("{error} {error:?}").contains(API_KEY), "the error shows the API key");
    error
}

/// Retries without noticeable waits, so that tests stay fast.
fn quick(attempts: u32) -> RetryPolicy {
    RetryPolicy::new().max_attempts(attempts).initial_backoff(Duration::from_millis(1)).jitter(false)
}

fn client_with(server_uri: &str, policy: RetryPolicy) -> Client {
    Client::builder().base_url(server_uri).api_key(API_KEY).retry(policy).build().unwrap()
}

async fn count_samples(client: &Client) -> Result<i64, Error> {
    client.raw_data().count_samples(1, RawDataCategoryQuery::Training).await.map(|a| a.count)
}

/// A server that answers `status` to the first `failures` requests on `path_`, then succeeds.
async fn failing_then_ok(method_: &str, path_: &str, status: u16, failures: u64) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method(method_))
        .and(path(path_))
        .respond_with(ResponseTemplate::new(status).set_body_json(serde_json::json!({"success": false, "error": "busy"})))
        .up_to_n_times(failures)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method(method_)).and(path(path_)).respond_with(ResponseTemplate::new(200).set_body_json(count_body(5))).mount(&server).await;
    server
}

async fn received(server: &MockServer) -> usize {
    server.received_requests().await.unwrap().len()
}

#[tokio::test]
async fn idempotent_requests_are_retried_on_each_passing_status() {
    for status in [429, 502, 503, 504] {
        let server = failing_then_ok("GET", COUNT_PATH, status, 2).await;
        let client = client_with(&server.uri(), quick(4));
        assert_eq!(count_samples(&client).await.unwrap(), 5, "after two {status}s");
        assert_eq!(received(&server).await, 3, "{status}: two failures and the success");
    }
}

#[tokio::test]
async fn put_delete_and_head_are_retried_too() {
    for verb in [Method::Put, Method::Delete, Method::Head] {
        let server = failing_then_ok(verb.as_str(), "/api/1/thing", 503, 1).await;
        let client = client_with(&server.uri(), quick(3));
        let mut request = client.request::<()>(verb, "/api/1/thing");
        if verb == Method::Put {
            request.json(&serde_json::json!({"name": "x"}));
        }
        request.await.unwrap_or_else(|e| panic!("{verb:?}: {e}"));
        let requests = server.received_requests().await.unwrap();
        assert_eq!(requests.len(), 2, "{verb:?}");
        // The body is sent again, unchanged.
        assert_eq!(requests[0].body, requests[1].body, "{verb:?}");
    }
}

#[tokio::test]
async fn attempts_are_bounded() {
    let server = failing_then_ok("GET", COUNT_PATH, 503, u64::MAX).await;
    let client = client_with(&server.uri(), quick(3));
    let error = expect_err(count_samples(&client).await);
    assert!(matches!(error, Error::Status { status: 503, .. }), "the last failure is returned as it is: {error:?}");
    assert_eq!(received(&server).await, 3);
}

#[tokio::test]
async fn total_time_is_bounded() {
    let server = failing_then_ok("GET", COUNT_PATH, 502, u64::MAX).await;
    // Waits of 100, 200, 400 ms: the third would end past the 500 ms budget, so three
    // attempts are made although fifty are allowed.
    let policy = RetryPolicy::new()
        .max_attempts(50)
        .initial_backoff(Duration::from_millis(100))
        .jitter(false)
        .max_elapsed(Duration::from_millis(500));
    let client = client_with(&server.uri(), policy);
    let error = expect_err(count_samples(&client).await);
    assert_eq!(error.status(), Some(502));
    assert_eq!(received(&server).await, 3);
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(COUNT_PATH))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "1"))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET")).and(path(COUNT_PATH)).respond_with(ResponseTemplate::new(200).set_body_json(count_body(2))).mount(&server).await;
    let client = client_with(&server.uri(), quick(3));
    let started = Instant::now();
    assert_eq!(count_samples(&client).await.unwrap(), 2);
    // The server's wait replaces the 1 ms backoff.
    assert!(started.elapsed() >= Duration::from_secs(1), "came back after {:?}", started.elapsed());
    assert_eq!(received(&server).await, 2);
}

#[tokio::test]
async fn a_retry_after_past_the_budget_fails_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(COUNT_PATH))
        .respond_with(ResponseTemplate::new(503).insert_header("retry-after", "3600"))
        .mount(&server)
        .await;
    let client = client_with(&server.uri(), quick(5));
    let error = expect_err(count_samples(&client).await);
    assert_eq!(error.status(), Some(503));
    assert_eq!(received(&server).await, 1);
}

#[tokio::test]
async fn other_statuses_are_never_retried() {
    for status in [400, 401, 403, 404, 409, 500, 501] {
        let server = failing_then_ok("GET", COUNT_PATH, status, 1).await;
        let client = client_with(&server.uri(), quick(5));
        let error = expect_err(count_samples(&client).await);
        assert_eq!(error.status(), Some(status));
        assert_eq!(received(&server).await, 1, "{status} is not retried");
    }
}

#[tokio::test]
async fn post_is_never_retried_without_opt_in() {
    for status in [429, 502, 503, 504] {
        let server = failing_then_ok("POST", "/api/1/jobs/2/cancel", status, 1).await;
        let client = client_with(&server.uri(), quick(5));
        let error = expect_err(client.jobs().cancel_job(1, 2).await);
        assert_eq!(error.status(), Some(status));
        assert_eq!(received(&server).await, 1, "POST after {status}");
    }
}

#[tokio::test]
async fn post_is_retried_when_the_request_opts_in() {
    let server = failing_then_ok("POST", "/api/1/jobs/2/cancel", 503, 2).await;
    let client = client_with(&server.uri(), quick(5));
    let mut request = client.jobs().cancel_job(1, 2).into_request();
    request.retry_non_idempotent(true);
    // The success body is not a GenericApiResponse failure: `success` is true.
    request.await.unwrap();
    assert_eq!(received(&server).await, 3);
}

#[tokio::test]
async fn retried_multipart_uploads_send_the_whole_file_again() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sample.bin");
    let content: Vec<u8> = (0..50_000u32).map(|i| (i % 251) as u8).collect();
    std::fs::write(&file, &content).unwrap();
    let server = failing_then_ok("POST", "/api/1/upload", 502, 1).await;
    let client = client_with(&server.uri(), quick(3));

    #[derive(Debug)]
    struct Upload(FilePart);
    impl edge_impulse_api::multipart::ToMultipart for Upload {
        fn to_multipart(&self, form: &mut edge_impulse_api::multipart::MultipartForm) {
            form.file("data", &self.0);
        }
    }
    let mut request = client.request::<serde_json::Value>(Method::Post, "/api/1/upload");
    request.multipart(&Upload(FilePart::from_path(&file))).retry_non_idempotent(true);
    request.await.unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(requests.len(), 2);
    for request in &requests {
        let found = request.body.windows(content.len()).any(|w| w == content.as_slice());
        assert!(found, "each attempt carries the whole file");
    }
}

#[tokio::test]
async fn retries_can_be_switched_off() {
    let server = failing_then_ok("GET", COUNT_PATH, 503, u64::MAX).await;
    let client = Client::builder().base_url(server.uri()).api_key(API_KEY).no_retries().build().unwrap();
    assert_eq!(count_samples(&client).await.unwrap_err().status(), Some(503));
    assert_eq!(received(&server).await, 1);

    // Per request, too.
    let server = failing_then_ok("GET", COUNT_PATH, 503, u64::MAX).await;
    let client = client_with(&server.uri(), quick(5));
    let mut request = client.raw_data().count_samples(1, RawDataCategoryQuery::Training).into_request();
    request.retry(RetryPolicy::disabled());
    assert_eq!(request.await.unwrap_err().status(), Some(503));
    assert_eq!(received(&server).await, 1);
}

/// A raw HTTP server on 127.0.0.1 that reads each request head and hangs up without an
/// answer on the first `hang_ups` connections, then answers `200` with `body`. Returns the base
/// URL and the count of connections accepted.
async fn hanging_up_server(hang_ups: usize, body: &'static str) -> (String, Arc<AtomicUsize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        // Bounded: the server stops with the test's runtime, and serves at most 20 connections.
        for _ in 0..20 {
            let Ok((mut socket, _)) = listener.accept().await else { return };
            let n = count.fetch_add(1, Ordering::SeqCst);
            let mut head = Vec::new();
            let mut buffer = [0u8; 4096];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buffer).await {
                    Ok(0) | Err(_) => break,
                    Ok(read) => head.extend_from_slice(&buffer[..read]),
                }
            }
            if n < hang_ups {
                drop(socket);
                continue;
            }
            let answer = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = socket.write_all(answer.as_bytes()).await;
        }
    });
    (format!("http://{address}"), accepted)
}

#[tokio::test]
async fn connection_failures_are_retried_for_idempotent_requests() {
    let (uri, accepted) = hanging_up_server(2, r#"{"success":true,"count":9}"#).await;
    let client = client_with(&uri, quick(4));
    assert_eq!(count_samples(&client).await.unwrap(), 9);
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn connection_failures_are_not_retried_for_post() {
    let (uri, accepted) = hanging_up_server(1, r#"{"success":true}"#).await;
    let client = client_with(&uri, quick(4));
    let error = expect_err(client.jobs().cancel_job(1, 2).await);
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn refused_connections_end_with_a_transport_error_after_the_attempts() {
    // A port that was just free: nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = client_with(&format!("http://127.0.0.1:{port}"), quick(3));
    let error = expect_err(count_samples(&client).await);
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
}
