//! Binary answers streamed as `Download`, saved atomically; redirect answers returned, not followed.

mod common;

use std::future::IntoFuture;
use std::io::{Read, Write};
use std::net::TcpListener;

use common::*;
use edge_impulse_api::{Client, Error, Redirect};
use futures_util::StreamExt;
use wiremock::matchers::{header as header_is, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Bytes that are not text, with every byte value and CR/LF pairs, larger than one chunk.
fn payload(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 % 256) as u8).collect()
}

async fn serving_sample(body: Vec<u8>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/4/raw-data/77/raw"))
        .and(header_is("x-api-key", API_KEY))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(body, "application/octet-stream")
                .insert_header("content-disposition", "attachment; filename=\"sample 77.cbor\""),
        )
        .mount(&server)
        .await;
    server
}

#[tokio::test]
async fn download_is_read_in_chunks() {
    let body = payload(700 * 1024);
    let server = serving_sample(body.clone()).await;
    let client = client(&server, true, false);

    let mut download = client.raw_data().get_sample_as_raw(4, 77).await.unwrap();
    assert_eq!(download.content_length(), Some(body.len() as u64));
    assert_eq!(download.content_type(), Some("application/octet-stream"));
    assert_eq!(download.file_name().as_deref(), Some("sample 77.cbor"));

    let mut received = Vec::new();
    let mut chunks = 0;
    while let Some(chunk) = download.chunk().await.unwrap() {
        assert!(!chunk.is_empty());
        received.extend_from_slice(&chunk);
        chunks += 1;
    }
    assert!(chunks > 1, "a 700 KiB body arrives in several chunks, got {chunks}");
    assert_eq!(received, body);
    assert_eq!(download.chunk().await.unwrap(), None, "the end stays the end");
}

#[tokio::test]
async fn download_as_stream_bytes_and_writer() {
    let body = payload(100 * 1024);
    let server = serving_sample(body.clone()).await;
    let client = client(&server, true, false);

    let mut stream = Box::pin(client.raw_data().get_sample_as_raw(4, 77).await.unwrap().into_stream());
    let mut streamed = Vec::new();
    while let Some(chunk) = stream.next().await {
        streamed.extend_from_slice(&chunk.unwrap());
    }
    assert_eq!(streamed, body);

    let all = client.raw_data().get_sample_as_raw(4, 77).await.unwrap().bytes().await.unwrap();
    assert_eq!(all.as_ref(), body.as_slice());

    let mut written = Vec::new();
    let count = client.raw_data().get_sample_as_raw(4, 77).await.unwrap().write_to(&mut written).await.unwrap();
    assert_eq!(count, body.len() as u64);
    assert_eq!(written, body);
}

#[tokio::test]
async fn save_writes_the_file_and_leaves_nothing_else() {
    let body = payload(300 * 1024);
    let server = serving_sample(body.clone()).await;
    let client = client(&server, true, false);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("sample.cbor");
    std::fs::write(&target, b"an older version").unwrap();

    let written = client.raw_data().get_sample_as_raw(4, 77).await.unwrap().save(&target).await.unwrap();
    assert_eq!(written, body.len() as u64);
    assert_eq!(std::fs::read(&target).unwrap(), body, "the old file is replaced");
    assert_eq!(dir_entries(dir.path()), ["sample.cbor"]);
}

fn dir_entries(dir: &std::path::Path) -> Vec<String> {
    let mut names: Vec<String> =
        std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

/// A server that promises `announced` bytes, sends `sent` of them, and hangs up.
fn truncating_server(announced: usize, sent: usize) -> (String, std::thread::JoinHandle<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let response = format!(
            "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {announced}\r\nConnection: close\r\n\r\n"
        );
        stream.write_all(response.as_bytes()).unwrap();
        stream.write_all(&payload(sent)).unwrap();
        stream.flush().unwrap();
        String::from_utf8_lossy(&head).into_owned()
        // `stream` drops here: the connection closes before the announced length.
    });
    (base, handle)
}

#[tokio::test]
async fn save_failure_never_leaves_a_partial_file_under_the_final_name() {
    let (base, server) = truncating_server(1_000_000, 64 * 1024);
    let client = Client::builder().base_url(base).api_key(API_KEY).build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("model.bin");
    std::fs::write(&target, b"previous model").unwrap();

    let download = client.raw_data().get_sample_as_raw(4, 77).await.unwrap();
    assert_eq!(download.content_length(), Some(1_000_000));
    let error = expect_err(download.save(&target).await);
    assert_eq!(error.operation(), Some("getSampleAsRaw"));
    assert!(matches!(error, Error::Transport { .. }), "a body cut short is a transport error: {error:?}");

    assert_eq!(std::fs::read(&target).unwrap(), b"previous model", "the final name still holds the old file");
    assert_eq!(dir_entries(dir.path()), ["model.bin"], "the partial file is removed");

    let head = server.join().unwrap();
    assert!(head.starts_with("GET /api/4/raw-data/77/raw HTTP/1.1\r\n"), "{head}");
}

#[tokio::test]
async fn save_failure_without_an_earlier_file_leaves_no_file() {
    let (base, server) = truncating_server(500_000, 1000);
    let client = Client::builder().base_url(base).api_key(API_KEY).build().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("export.zip");

    let error = expect_err(client.raw_data().get_sample_as_raw(4, 77).await.unwrap().save(&target).await);
    assert_eq!(error.operation(), Some("getSampleAsRaw"));
    assert!(!target.exists());
    assert!(dir_entries(dir.path()).is_empty());
    server.join().unwrap();
}

#[tokio::test]
async fn save_into_a_missing_directory_is_an_io_error_naming_the_path() {
    let server = serving_sample(payload(10)).await;
    let client = client(&server, true, false);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("no-such-dir").join("sample.cbor");

    let error = expect_err(client.raw_data().get_sample_as_raw(4, 77).await.unwrap().save(&target).await);
    match &error {
        Error::Io { operation, context, .. } => {
            assert_eq!(*operation, "getSampleAsRaw");
            assert!(context.contains("no-such-dir"), "{context}");
        }
        other => panic!("expected Error::Io, got {other:?}"),
    }
}

#[tokio::test]
async fn download_that_fails_with_a_status_is_an_error_not_a_file() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/4/raw-data/78/raw"))
        .respond_with(ResponseTemplate::new(404).set_body_json(serde_json::json!({"success": false, "error": "Sample not found"})))
        .mount(&server)
        .await;
    let client = client(&server, true, false);
    let error = expect_err(client.raw_data().get_sample_as_raw(4, 78).await);
    assert!(
        matches!(&error, Error::Status { operation: "getSampleAsRaw", status: 404, messages, .. } if messages == &["Sample not found"]),
        "{error:?}"
    );
}

#[tokio::test]
async fn redirect_is_returned_with_a_resolved_location_and_not_followed() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/auth/readme"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "../docs/landing?jwt=abc"))
        .expect(1)
        .mount(&server)
        .await;
    // If the client followed the redirect, it would land here.
    Mock::given(method("GET")).and(path("/api/docs/landing")).respond_with(ResponseTemplate::new(200)).expect(0).mount(&server).await;

    let client = client(&server, false, true);
    let redirect = client.auth().readme().await.unwrap();
    assert_eq!(redirect, Redirect { status: 302, location: format!("{}/api/docs/landing?jwt=abc", server.uri()) });
    assert_eq!(server.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn redirect_to_another_host_is_kept_as_is() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/admin/metrics/reports/9/download"))
        .respond_with(
            ResponseTemplate::new(302).insert_header("location", "https://storage.example.com/reports/9.csv?sig=x%2By"),
        )
        .mount(&server)
        .await;
    let client = client(&server, true, false);
    let redirect = client.admin().admin_download_metrics_report(9).await.unwrap();
    assert_eq!(redirect.status, 302);
    assert_eq!(redirect.location, "https://storage.example.com/reports/9.csv?sig=x%2By");
}

#[tokio::test]
async fn redirect_operation_answering_with_an_error_status_fails() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/auth/readme"))
        .respond_with(ResponseTemplate::new(403).set_body_json(serde_json::json!({"success": false, "error": "Only JWT"})))
        .mount(&server)
        .await;
    let client = client(&server, true, false);
    let error = expect_err(client.auth().readme().await);
    assert!(matches!(&error, Error::Status { operation: "readme", status: 403, .. }), "{error:?}");
}

#[tokio::test]
async fn a_redirect_to_a_json_operation_is_not_followed_either() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/1/raw-data/count"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/elsewhere"))
        .mount(&server)
        .await;
    Mock::given(method("GET")).and(path("/elsewhere")).respond_with(ResponseTemplate::new(200)).expect(0).mount(&server).await;
    let client = client(&server, true, false);
    let error =
        expect_err(client.raw_data().count_samples(1, edge_impulse_api::models::RawDataCategoryQuery::Training).await);
    assert!(matches!(&error, Error::Status { operation: "countSamples", status: 302, .. }), "{error:?}");
}

/// A server that sends the head at once, then `chunks` pieces of `size` bytes `pause` apart.
fn trickling_server(chunks: usize, size: usize, pause: std::time::Duration) -> (String, std::thread::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let handle = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            stream.read_exact(&mut byte).unwrap();
            head.push(byte[0]);
        }
        let length = chunks * size;
        let response = format!("HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: {length}\r\n\r\n");
        stream.write_all(response.as_bytes()).unwrap();
        let body = payload(length);
        for piece in body.chunks(size) {
            stream.flush().unwrap();
            std::thread::sleep(pause);
            // The client may have given up; that is what some tests check.
            if stream.write_all(piece).is_err() {
                return;
            }
        }
    });
    (base, handle)
}

#[tokio::test]
async fn the_client_timeout_does_not_cut_a_download_that_keeps_coming() {
    // 6 pieces 150 ms apart: the body takes ~900 ms, three times the client's timeout.
    let (base, server) = trickling_server(6, 1000, std::time::Duration::from_millis(150));
    let client = Client::builder().base_url(base).api_key(API_KEY).timeout(std::time::Duration::from_millis(300)).build().unwrap();
    let download = client.raw_data().get_sample_as_raw(4, 77).await.unwrap();
    let body = download.bytes().await;
    server.join().unwrap();
    assert_eq!(body.map(|b| b.len()).map_err(|e| e.to_string()), Ok(6000));
}

#[tokio::test]
async fn a_download_whose_answer_does_not_start_in_time_times_out() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/4/raw-data/77/raw"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(payload(10)).set_delay(std::time::Duration::from_secs(5)))
        .mount(&server)
        .await;
    let limited = Client::builder().base_url(server.uri()).api_key(API_KEY).timeout(std::time::Duration::from_millis(200)).build().unwrap();
    let error = expect_err(limited.raw_data().get_sample_as_raw(4, 77).await);
    assert!(matches!(error, Error::Timeout { operation: "getSampleAsRaw", .. }), "{error:?}");

    // The per-request timeout applies the same way.
    let unlimited = client(&server, true, false);
    let mut request = unlimited.raw_data().get_sample_as_raw(4, 77);
    request.timeout(std::time::Duration::from_millis(200));
    let error = expect_err(request.await);
    assert!(matches!(error, Error::Timeout { operation: "getSampleAsRaw", .. }), "{error:?}");
}

#[tokio::test]
async fn a_download_error_whose_body_stalls_still_ends_within_the_timeout() {
    // The head says 404 and promises a body that never comes; the server holds the
    // connection until the client lets go.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut buffer = [0u8; 4096];
        let mut head = Vec::new();
        while !head.ends_with(b"\r\n\r\n") {
            let read = stream.read(&mut buffer).unwrap();
            head.extend_from_slice(&buffer[..read]);
        }
        stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"error\":").unwrap();
        stream.flush().unwrap();
        while matches!(stream.read(&mut buffer), Ok(n) if n > 0) {}
    });
    let client = Client::builder().base_url(base).api_key(API_KEY).timeout(std::time::Duration::from_millis(300)).build().unwrap();
    let call = client.raw_data().get_sample_as_raw(4, 77);
    let result = tokio::time::timeout(std::time::Duration::from_secs(10), call.into_future())
        .await
        .expect("the client's 300 ms timeout ends the call, not this 10 s guard");
    let error = expect_err(result);
    assert!(matches!(error, Error::Status { operation: "getSampleAsRaw", status: 404, .. }), "{error:?}");
    // The server thread ends when the connection closes, which the runtime's connection task
    // does: wait for it off this (single) runtime thread.
    drop(client);
    tokio::task::spawn_blocking(move || server.join().unwrap()).await.unwrap();
}

#[tokio::test]
async fn a_failure_envelope_answering_a_download_is_an_api_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/5/deployment/download"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": false, "error": "No deployment built yet"})))
        .mount(&server)
        .await;
    let client = common::client(&server, true, false);
    match client.deployment().download_build(5, "zip").await {
        Err(Error::Api { operation, message, .. }) => {
            assert_eq!(operation, "downloadBuild");
            assert_eq!(message, "No deployment built yet");
        }
        other => panic!("expected Error::Api, got {other:?}"),
    }
}

#[tokio::test]
async fn a_redirect_without_a_location_is_an_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ResponseTemplate::new(302)).mount(&server).await;
    let client = common::client(&server, false, true);
    match client.request::<Redirect>(edge_impulse_api::Method::Get, "/api/auth/readme").await {
        Err(Error::Status { status: 302, messages, .. }) => assert_eq!(messages, vec!["redirect without a Location header".to_string()]),
        other => panic!("expected Error::Status, got {other:?}"),
    }
}
