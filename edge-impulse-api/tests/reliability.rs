//! Reliability against a careless or hostile server: no secret in any error, limits on time
//! and memory, errors that say what happened, and the runtime defects of issue 9, each
//! shown against a server on 127.0.0.1.

mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::*;
use edge_impulse_api::models::RawDataCategoryQuery;
use edge_impulse_api::multipart::MultipartForm;
use edge_impulse_api::{BodySize, Client, Download, Error, Method, Redirect, RetryPolicy, TimeLimit};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const COUNT_PATH: &str = "/api/1/raw-data/count";

async fn answering(template: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path(COUNT_PATH)).respond_with(template).mount(&server).await;
    server
}

/// A client with both credentials and no retries.
fn strict_client(base_url: &str) -> Client {
    Client::builder().base_url(base_url).api_key(API_KEY).jwt(JWT).no_retries().build().unwrap()
}

async fn count_samples(client: &Client) -> Result<i64, Error> {
    client.raw_data().count_samples(1, RawDataCategoryQuery::Training).await.map(|a| a.count)
}

/// What a hand-written server does with one connection (numbered from 0).
type Behaviour = fn(usize) -> Script;

/// A scripted answer: bytes to write, with an optional pause between them, then either a
/// close or a stall until the client goes away.
struct Script {
    parts: Vec<Vec<u8>>,
    pause: Duration,
    then_stall: bool,
}

impl Script {
    fn send(bytes: impl Into<Vec<u8>>) -> Script {
        Script { parts: vec![bytes.into()], pause: Duration::ZERO, then_stall: false }
    }
}

/// A server on 127.0.0.1 that answers each connection as `behaviour` says; counts connections.
async fn scripted_server(behaviour: Behaviour) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let connections = Arc::new(AtomicUsize::new(0));
    let counter = connections.clone();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let n = counter.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(play(socket, behaviour(n)));
        }
    });
    (format!("http://{address}"), connections)
}

async fn play(mut socket: TcpStream, script: Script) {
    let mut head = Vec::new();
    let mut buffer = [0u8; 4096];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match socket.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(n) => head.extend_from_slice(&buffer[..n]),
        }
    }
    for part in script.parts {
        if socket.write_all(&part).await.is_err() {
            return;
        }
        let _ = socket.flush().await;
        if !script.pause.is_zero() {
            tokio::time::sleep(script.pause).await;
        }
    }
    if script.then_stall {
        while matches!(socket.read(&mut buffer).await, Ok(n) if n > 0) {}
    }
}

fn json_head(length: usize) -> String {
    format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n")
}

// ---- 1. Redaction: each place a server can echo a secret, each variant ----

#[tokio::test]
async fn a_key_across_the_excerpt_cut_is_redacted_whole() {
    // The key begins 8 bytes before the 2 KiB cut of the body excerpt.
    for start in [2040, 2047, 2048, 2030] {
        let body = format!("{}{API_KEY} and then some", "x".repeat(start));
        let server = answering(ResponseTemplate::new(500).set_body_raw(body, "text/plain")).await;
        let error = expect_err(count_samples(&strict_client(&server.uri())).await);
        let Error::Status { body: excerpt, .. } = &error else { panic!("{error:?}") };
        assert!(!excerpt.contains(&API_KEY[..6]), "part of the key is left at {start}: …{}", &excerpt[excerpt.len().saturating_sub(40)..]);
        assert!(excerpt.ends_with('…'), "{excerpt}");
    }
}

#[tokio::test]
async fn errors_of_pages_and_items_are_redacted() {
    let echo = format!(r#"{{"error": "bad key {API_KEY}", "token": "page-secret-1234"}}"#);
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/1/jobs/all"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(echo, "application/json"))
        .mount(&server)
        .await;
    let client = strict_client(&server.uri());
    let mut pages = client.jobs().list_all_jobs(1).pages();
    let page_error = expect_err(pages.next().await.expect("an error, not the end"));
    let mut items = client.jobs().list_all_jobs(1).items();
    let item_error = expect_err(items.next().await.expect("an error, not the end"));
    for error in [page_error, item_error] {
        let text = format!("{error} {error:?}");
        assert!(!text.contains("page-secret-1234"), "{text}");
        assert!(matches!(&error, Error::Status { status: 401, messages, .. } if messages == &["bad key <redacted>"]), "{error:?}");
    }
}

#[tokio::test]
async fn api_error_echoing_the_credentials_is_redacted() {
    let body = json!({"success": false, "error": format!("key {API_KEY} and token {JWT} are not allowed here")});
    let server = answering(ResponseTemplate::new(200).set_body_json(body)).await;
    let error = expect_err(count_samples(&strict_client(&server.uri())).await);
    let Error::Api { message, .. } = &error else { panic!("{error:?}") };
    assert_eq!(message, "key <redacted> and token <redacted> are not allowed here");
}

#[tokio::test]
async fn api_error_echoing_a_secret_field_of_the_answer_is_redacted() {
    let secret = "hmac-5f1e0c9a77d2";
    let body = json!({"success": false, "error": format!("hmac key {secret} was revoked"), "hmacKey": secret});
    let server = answering(ResponseTemplate::new(200).set_body_json(body)).await;
    let error = expect_err(count_samples(&strict_client(&server.uri())).await);
    let text = format!("{error} {error:?}");
    assert!(!text.contains(secret), "{text}");
    assert!(text.contains("hmac key <redacted> was revoked"), "{text}");
}

#[tokio::test]
async fn decode_error_on_a_field_holding_the_key_is_redacted() {
    // Before: `invalid type: string "ei_..."` in the message, and the key in the excerpt.
    let server = answering(ResponseTemplate::new(200).set_body_json(json!({"success": true, "count": API_KEY}))).await;
    let error = expect_err(count_samples(&strict_client(&server.uri())).await);
    let Error::Decode { path, message, body, .. } = &error else { panic!("{error:?}") };
    assert_eq!(path, "count");
    assert!(message.contains("invalid type: string \"<redacted>\""), "{message}");
    assert!(body.contains("<redacted>"), "{body}");
}

#[tokio::test]
async fn decode_error_on_a_field_echoing_a_secret_property_is_redacted() {
    let other_key = "ei_other_project_key_8841";
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/3/apikeys"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "success": true,
            "apiKeys": [{"id": other_key, "apiKey": other_key, "isDevelopmentKey": true, "name": "dev",
                         "created": "2024-05-01T10:00:00Z", "role": "admin"}]
        })))
        .mount(&server)
        .await;
    let error = expect_err(strict_client(&server.uri()).projects().list_project_api_keys(3).await);
    let Error::Decode { path, message, .. } = &error else { panic!("{error:?}") };
    assert_eq!(path, "apiKeys[0].id");
    assert!(!format!("{error} {error:?}").contains(other_key), "{error:?}");
    assert!(message.contains("<redacted>"), "{message}");
}

#[tokio::test]
async fn status_error_with_the_key_in_a_location_header_is_redacted() {
    let location = format!("https://elsewhere.example/login?key={API_KEY}&jwt={JWT}");
    let server = answering(ResponseTemplate::new(302).insert_header("location", location.as_str())).await;
    let error = expect_err(count_samples(&strict_client(&server.uri())).await);
    let Error::Status { status: 302, messages, .. } = &error else { panic!("{error:?}") };
    assert_eq!(messages, &["redirected to https://elsewhere.example/login?key=<redacted>&jwt=<redacted>, which this operation does not follow"]);
}

#[tokio::test]
async fn invalid_request_with_the_key_in_the_url_is_redacted() {
    let server = MockServer::start().await;
    let client = strict_client(&server.uri());
    let error = expect_err(client.request::<serde_json::Value>(Method::Get, format!("https://x.example/api?key={API_KEY}")).await);
    assert!(matches!(&error, Error::InvalidRequest { operation: "custom", message } if message.contains("key=<redacted>")), "{error:?}");
}

#[tokio::test]
async fn job_failure_logs_echoing_the_key_are_redacted() {
    let server = MockServer::start().await;
    let job = json!({"success": true, "job": {"id": 2, "category": "Training model", "key": "keras-3",
        "created": "2024-05-01T10:00:00Z", "started": "2024-05-01T10:00:05Z", "finished": "2024-05-01T10:09:00Z",
        "finishedSuccessful": false, "jobNotificationUids": []}});
    let logs = json!({"success": true, "totalCount": 1,
        "stdout": [{"created": "2024-05-01T10:08:59Z", "data": format!("auth failed for {API_KEY}"), "logLevel": "error"}]});
    Mock::given(method("GET")).and(path("/api/1/jobs/2/status")).respond_with(ResponseTemplate::new(200).set_body_json(job)).mount(&server).await;
    Mock::given(method("GET")).and(path("/api/1/jobs/2/stdout")).respond_with(ResponseTemplate::new(200).set_body_json(logs)).mount(&server).await;
    let error = expect_err(strict_client(&server.uri()).wait_for_job(1, 2).await);
    let Error::JobFailed { logs, .. } = &error else { panic!("{error:?}") };
    assert_eq!(logs[0].data, "auth failed for <redacted>");
    assert!(error.to_string().ends_with("auth failed for <redacted>"), "{error}");
}

#[tokio::test]
async fn configuration_errors_do_not_show_the_credentials() {
    let error = expect_err(Client::builder().api_key(API_KEY).base_url(format!("not a url/{API_KEY}")).build());
    assert!(matches!(&error, Error::Config(message) if message.contains("<redacted>")), "{error:?}");
}

#[tokio::test]
async fn transport_and_timeout_errors_do_not_show_the_credentials() {
    // A query credential would be in the URL: transport errors carry none.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = strict_client(&format!("http://127.0.0.1:{port}"));
    let error = expect_err(client.request::<serde_json::Value>(Method::Get, format!("/api?token={JWT}")).await);
    assert!(matches!(error, Error::Transport { .. }), "{error:?}");
    let mut cause = std::error::Error::source(&error);
    while let Some(reason) = cause {
        assert_redacted("a transport error's source", &format!("{reason} {reason:?}"));
        cause = reason.source();
    }
}

// ---- 2. Bounded by default ----

#[tokio::test]
async fn a_client_is_bounded_without_being_told() {
    let shown = format!("{:?}", Client::builder().build().unwrap());
    for limit in ["connect: Some(10s)", "answer: Some(120s)", "download_idle: Some(60s)", "max_body: Some(268435456)"] {
        assert!(shown.contains(limit), "{limit} in {shown}");
    }
    // Each limit can be switched off.
    let unbounded = Client::builder().timeout(None).connect_timeout(None).download_idle_timeout(None).max_body_size(None).build().unwrap();
    let shown = format!("{unbounded:?}");
    assert!(shown.contains("connect: None, answer: None, call: None, download_idle: None, max_body: None"), "{shown}");
}

#[tokio::test]
async fn a_body_trickling_in_byte_by_byte_times_out() {
    // One byte every 50 ms: the head comes at once, the body would take 5 s.
    let (uri, _) = scripted_server(|_| {
        let body = format!("{{\"success\":true,\"count\":1{}}}", " ".repeat(70));
        let mut parts = vec![json_head(body.len()).into_bytes()];
        parts.extend(body.bytes().map(|b| vec![b]));
        Script { parts, pause: Duration::from_millis(50), then_stall: false }
    })
    .await;
    let client = Client::builder().base_url(&uri).api_key(API_KEY).timeout(Duration::from_millis(300)).no_retries().build().unwrap();
    let error = expect_err(count_samples(&client).await);
    assert!(matches!(error, Error::Timeout { limit: TimeLimit::Answer(_), .. }), "{error:?}");
}

#[tokio::test]
async fn a_success_body_over_the_cap_fails_naming_size_and_setting() {
    let big = json!({"success": true, "count": 1, "padding": "x".repeat(2 << 20)});
    let server = answering(ResponseTemplate::new(200).set_body_json(&big)).await;
    let capped = Client::builder().base_url(server.uri()).api_key(API_KEY).max_body_size(1 << 20).build().unwrap();
    let error = expect_err(count_samples(&capped).await);
    let Error::BodyTooLarge { operation: "countSamples", size: BodySize::Announced(size), limit } = &error else { panic!("{error:?}") };
    assert_eq!((*size as usize, *limit), (serde_json::to_vec(&big).unwrap().len(), 1 << 20));
    assert!(error.to_string().contains("ClientBuilder::max_body_size"), "{error}");
    // The cap is a setting: without it, the same answer decodes.
    let uncapped = Client::builder().base_url(server.uri()).api_key(API_KEY).max_body_size(None).build().unwrap();
    assert_eq!(count_samples(&uncapped).await.unwrap(), 1);
}

#[tokio::test]
async fn a_chunked_body_over_the_cap_stops_being_read() {
    // No Content-Length: the limit is found while reading.
    let (uri, _) = scripted_server(|_| {
        let chunk = format!("{:x}\r\n{}\r\n", 600 * 1024, " ".repeat(600 * 1024));
        let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
        Script { parts: vec![head.into(), chunk.clone().into(), chunk.clone().into(), chunk.into()], pause: Duration::ZERO, then_stall: true }
    })
    .await;
    let client = Client::builder().base_url(&uri).api_key(API_KEY).max_body_size(1 << 20).no_retries().build().unwrap();
    let error = expect_err(count_samples(&client).await);
    assert!(matches!(error, Error::BodyTooLarge { size: BodySize::AtLeast(_), limit: 1048576, .. }), "{error:?}");
}

#[tokio::test]
async fn a_download_that_stalls_fails_with_the_idle_timeout() {
    let (uri, _) = scripted_server(|_| Script {
        parts: vec![b"HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: 1000\r\n\r\n0123456789".to_vec()],
        pause: Duration::ZERO,
        then_stall: true,
    })
    .await;
    let client = Client::builder().base_url(&uri).api_key(API_KEY).download_idle_timeout(Duration::from_millis(200)).build().unwrap();
    let mut download = client.raw_data().get_sample_as_raw(4, 77).await.unwrap();
    assert_eq!(download.chunk().await.unwrap().unwrap().len(), 10);
    let error = expect_err(download.chunk().await);
    assert!(matches!(error, Error::Timeout { operation: "getSampleAsRaw", limit: TimeLimit::DownloadIdle(_) }), "{error:?}");
}

#[tokio::test]
async fn the_call_timeout_bounds_retries_and_their_waits() {
    let server = answering(ResponseTemplate::new(503).insert_header("retry-after", "5")).await;
    let client = Client::builder()
        .base_url(server.uri())
        .api_key(API_KEY)
        .retry(RetryPolicy::new().max_attempts(5))
        .call_timeout(Duration::from_millis(300))
        .build()
        .unwrap();
    let error = expect_err(count_samples(&client).await);
    assert!(matches!(error, Error::Timeout { limit: TimeLimit::Call(_), .. }), "{error:?}");
    assert!(error.to_string().contains("ClientBuilder::call_timeout"), "{error}");
}

// ---- 3. Errors that say what happened ----

#[tokio::test]
async fn an_error_object_keeps_its_message() {
    let body = json!({"success": false, "error": {"code": "E42", "message": "quota exceeded"}});
    let server = answering(ResponseTemplate::new(200).set_body_json(body)).await;
    let error = expect_err(count_samples(&strict_client(&server.uri())).await);
    assert!(matches!(&error, Error::Api { message, .. } if message == "quota exceeded"), "{error:?}");
    // Without a `message`, the object's JSON.
    let body = json!({"success": false, "error": {"code": "E42"}});
    let server = answering(ResponseTemplate::new(200).set_body_json(body)).await;
    let error = expect_err(count_samples(&strict_client(&server.uri())).await);
    assert!(matches!(&error, Error::Api { message, .. } if message == r#"{"code":"E42"}"#), "{error:?}");
}

#[tokio::test]
async fn a_failure_without_a_message_says_so() {
    let server = answering(ResponseTemplate::new(200).set_body_json(json!({"success": false}))).await;
    let error = expect_err(count_samples(&strict_client(&server.uri())).await);
    assert_eq!(error.to_string(), "countSamples: the API reported a failure (HTTP 200) without giving a reason (its `error` field is missing or empty)");
}

#[tokio::test]
async fn empty_null_and_array_answers_are_described_in_words() {
    for (body, expected) in [
        ("", "the answer is empty, where a JSON value was expected"),
        ("null", "found `null` where a JSON object (`CountSamplesResponse`) was expected"),
        ("[]", "found a JSON array (0 items) where a JSON object (`CountSamplesResponse`) was expected"),
    ] {
        let server = answering(ResponseTemplate::new(200).set_body_raw(body, "application/json")).await;
        let error = expect_err(count_samples(&strict_client(&server.uri())).await);
        let Error::Decode { message, path, .. } = &error else { panic!("{body:?}: {error:?}") };
        assert_eq!((message.as_str(), path.as_str()), (expected, "."), "{body:?}");
    }
}

#[tokio::test]
async fn a_refused_connection_says_so_and_keeps_the_cause_chain() {
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let error = expect_err(count_samples(&strict_client(&format!("http://127.0.0.1:{port}"))).await);
    assert_eq!(error.to_string(), "countSamples: could not connect to the server (connection refused)");
    // The OS's words are in the chain, once, and not repeated in the message.
    let mut chain = Vec::new();
    let mut cause = std::error::Error::source(&error);
    while let Some(reason) = cause {
        chain.push(reason.to_string());
        cause = reason.source();
    }
    assert!(chain.iter().any(|c| c.to_lowercase().contains("connection refused")), "{chain:?}");
    assert!(chain.iter().all(|c| !error.to_string().contains(c.as_str())), "{chain:?}");
}

#[tokio::test]
async fn an_html_error_page_stays_out_of_the_one_line_message() {
    let page = format!("<html>\n<body>\n<h1>502 Bad Gateway</h1>\n{}</body>\n</html>", "<p>nginx</p>\n".repeat(200));
    let server = answering(ResponseTemplate::new(500).set_body_raw(page, "text/html")).await;
    let error = expect_err(count_samples(&strict_client(&server.uri())).await);
    let text = error.to_string();
    assert!(!text.contains('\n') && text.len() < 250, "{text}");
    assert!(text.starts_with("countSamples: HTTP 500: <html> <body> <h1>502 Bad Gateway</h1>"), "{text}");
    assert!(matches!(&error, Error::Status { body, .. } if body.len() >= 2048), "the excerpt is kept in the field");
}

// ---- 6. Defects of the runtime ----

#[tokio::test]
async fn a_download_file_name_is_a_safe_base_name() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/4/raw-data/77/raw"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("x", "application/octet-stream").insert_header("content-disposition", "attachment; FILENAME=\"../../x.bin\""))
        .mount(&server)
        .await;
    let download = strict_client(&server.uri()).raw_data().get_sample_as_raw(4, 77).await.unwrap();
    assert_eq!(download.file_name().as_deref(), Some("x.bin"));
}

#[tokio::test]
async fn a_json_file_answering_a_download_is_a_download() {
    // The user's own JSON file, with a top-level `"success": false` of its own.
    let file = json!({"success": false, "error": "label missing", "values": [1, 2, 3]});
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/4/raw-data/77/raw"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(&file)
                .insert_header("content-disposition", "attachment; filename=\"sample.json\""),
        )
        .mount(&server)
        .await;
    let download = strict_client(&server.uri()).raw_data().get_sample_as_raw(4, 77).await.unwrap();
    assert_eq!(download.content_type(), Some("application/json"));
    assert_eq!(download.file_name().as_deref(), Some("sample.json"));
    assert_eq!(download.bytes().await.unwrap(), serde_json::to_vec(&file).unwrap());
}

#[tokio::test]
async fn a_get_whose_connection_drops_during_the_body_is_retried() {
    let (uri, connections) = scripted_server(|n| {
        let body = r#"{"success":true,"count":9}"#;
        match n {
            // The head promises the whole body; the connection closes after a few bytes.
            0 => Script::send(format!("{}{}", json_head(body.len()), &body[..6])),
            _ => Script::send(format!("{}{body}", json_head(body.len()))),
        }
    })
    .await;
    let client = Client::builder()
        .base_url(&uri)
        .api_key(API_KEY)
        .retry(RetryPolicy::new().max_attempts(3).initial_backoff(Duration::from_millis(1)))
        .build()
        .unwrap();
    assert_eq!(count_samples(&client).await.unwrap(), 9);
    assert_eq!(connections.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_post_refused_with_retry_after_is_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/5/raw-data/clear-all-object-detection-labels"))
        .respond_with(ResponseTemplate::new(429).insert_header("retry-after", "0"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/api/5/raw-data/clear-all-object-detection-labels"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .mount(&server)
        .await;
    strict_client_with_retries(&server.uri()).raw_data().clear_all_object_detection_labels(5).await.unwrap();
    assert_eq!(server.received_requests().await.unwrap().len(), 2);
}

#[tokio::test]
async fn a_post_answered_503_is_not_retried() {
    // It may have been processed: only a request that provably did nothing is repeated.
    let server = MockServer::start().await;
    Mock::given(method("POST")).respond_with(ResponseTemplate::new(503).insert_header("retry-after", "0")).mount(&server).await;
    let error = expect_err(strict_client_with_retries(&server.uri()).raw_data().clear_all_object_detection_labels(5).await);
    assert!(matches!(error, Error::Status { status: 503, .. }), "{error:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

fn strict_client_with_retries(base_url: &str) -> Client {
    Client::builder().base_url(base_url).api_key(API_KEY).retry(RetryPolicy::new().initial_backoff(Duration::from_millis(1))).build().unwrap()
}

#[tokio::test]
async fn a_redirect_operation_answered_by_a_failure_envelope_keeps_the_message() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/auth/discourse"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": false, "error": "SSO is not enabled"})))
        .mount(&server)
        .await;
    let error = expect_err(strict_client(&server.uri()).auth().discourse("sso", "sig").await);
    assert!(matches!(&error, Error::Api { operation: "discourse", message, .. } if message == "SSO is not enabled"), "{error:?}");
    // Anything else that is not a redirect says what came.
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(200).set_body_raw("<html>", "text/html")).mount(&server).await;
    let error = expect_err(strict_client(&server.uri()).request::<Redirect>(Method::Get, "/api/auth/readme").await);
    assert!(matches!(&error, Error::Status { status: 200, messages, body, .. } if messages == &["expected a redirect, got HTTP 200"] && body == "<html>"), "{error:?}");
}

#[tokio::test]
async fn request_paths_must_be_relative_to_the_base_url() {
    let server = MockServer::start().await;
    let client = strict_client(&server.uri());
    for (path, says) in [("v1api/projects", "must start with `/`"), ("https://studio.edgeimpulse.com/v1/api/projects", "is a URL"), ("//evil.example/x", "is a URL")] {
        let error = expect_err(client.request::<serde_json::Value>(Method::Get, path).await);
        assert!(matches!(&error, Error::InvalidRequest { operation: "custom", message } if message.contains(says)), "{path}: {error:?}");
    }
    assert!(server.received_requests().await.unwrap().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn a_multipart_json_field_that_does_not_serialize_fails_the_request() {
    let server = MockServer::start().await;
    let mut form = MultipartForm::default();
    // JSON objects need string keys: this map does not serialize.
    form.json("metadata", &std::collections::BTreeMap::from([((1, 2), "x")]));
    let client = strict_client(&server.uri());
    let mut request = client.request::<serde_json::Value>(Method::Post, "/api/1/upload");
    request.multipart(&form);
    let error = expect_err(request.await);
    assert!(matches!(&error, Error::InvalidRequest { message, .. } if message.contains("`metadata` does not serialize")), "{error:?}");
    assert!(server.received_requests().await.unwrap().is_empty(), "no `null` was sent");
}

#[tokio::test]
async fn a_download_as_a_stream_ends_and_keeps_its_chunks() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/4/raw-data/77/raw"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(vec![7u8; 100_000], "application/octet-stream"))
        .mount(&server)
        .await;
    let download: Download = strict_client(&server.uri()).raw_data().get_sample_as_raw(4, 77).await.unwrap();
    use futures_util::TryStreamExt;
    let chunks: Vec<bytes::Bytes> = download.into_stream().try_collect().await.unwrap();
    assert_eq!(chunks.iter().map(|c| c.len()).sum::<usize>(), 100_000);
}

// ---- 3. Durations too long to be a point in time ----

#[tokio::test]
async fn every_duration_saturates_instead_of_panicking() {
    let server = answering(ResponseTemplate::new(200).set_body_json(count_body(4))).await;
    // A download streamed in chunks, which each wait for with the idle timeout.
    Mock::given(method("GET"))
        .and(path("/file"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(vec![7u8; 300_000], "application/octet-stream"))
        .mount(&server)
        .await;
    let client = Client::builder()
        .base_url(server.uri())
        .api_key(API_KEY)
        .timeout(Duration::MAX)
        .connect_timeout(Duration::MAX)
        .call_timeout(Duration::MAX)
        .download_idle_timeout(Duration::MAX)
        .retry(RetryPolicy::new().initial_backoff(Duration::MAX).max_backoff(Duration::MAX).max_elapsed(Duration::MAX))
        .build()
        .unwrap();
    assert_eq!(count_samples(&client).await.unwrap(), 4);
    let mut request = client.request::<serde_json::Value>(Method::Get, COUNT_PATH);
    request.timeout(Duration::MAX);
    assert_eq!(request.await.unwrap()["count"], 4);
    let download = client.request::<Download>(Method::Get, "/file").await.unwrap();
    assert_eq!(download.bytes().await.unwrap().len(), 300_000);
}

#[tokio::test]
async fn a_retry_after_too_long_to_wait_ends_the_retries() {
    // u64::MAX seconds: past the default 60 s budget, so the 503 is the answer, at once.
    let server = answering(ResponseTemplate::new(503).insert_header("retry-after", u64::MAX.to_string().as_str())).await;
    let client = Client::builder().base_url(server.uri()).api_key(API_KEY).build().unwrap();
    let started = std::time::Instant::now();
    let error = expect_err(count_samples(&client).await);
    assert!(matches!(error, Error::Status { status: 503, .. }), "{error:?}");
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
    assert!(started.elapsed() < Duration::from_secs(30));
    // The same with a backoff of `Duration::MAX` and no Retry-After.
    let server = answering(ResponseTemplate::new(503)).await;
    let policy = RetryPolicy::new().jitter(false).initial_backoff(Duration::MAX).max_backoff(Duration::MAX);
    let client = Client::builder().base_url(server.uri()).api_key(API_KEY).retry(policy).build().unwrap();
    assert!(matches!(count_samples(&client).await, Err(Error::Status { status: 503, .. })));
}
