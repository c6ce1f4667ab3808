//! Downloads with progress: reported per chunk with the announced total, written while the
//! body is still arriving (one chunk in memory), and never left half-written under the final
//! name, whether the transfer fails or the caller drops it.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use edge_impulse_api::{Client, Download, DownloadProgress, Error, Method};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::Notify;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn client(base_url: &str) -> Client {
    Client::builder().base_url(base_url).api_key("ei_progress_test_key").no_retries().build().unwrap()
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 % 253) as u8).collect()
}

fn dir_entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    names.sort();
    names
}

async fn serving(body: Vec<u8>) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/4/raw-data/77/raw"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(body, "application/octet-stream"))
        .mount(&server)
        .await;
    server
}

/// Progress as reported: starts at 0 with the total, only grows, ends at the size.
fn check_reports(reports: &[DownloadProgress], size: u64, total: Option<u64>) {
    assert_eq!(reports.first(), Some(&DownloadProgress { bytes: 0, total }), "first report");
    assert_eq!(reports.last(), Some(&DownloadProgress { bytes: size, total }), "last report");
    assert!(reports.windows(2).all(|w| w[0].bytes < w[1].bytes), "each report is further along");
}

#[tokio::test]
async fn save_with_progress_reports_every_chunk_up_to_the_total() {
    let body = pattern(3 * 1024 * 1024 + 17);
    let server = serving(body.clone()).await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("model.zip");

    let mut reports = Vec::new();
    let download = client(&server.uri()).raw_data().get_sample_as_raw(4, 77).await.unwrap();
    let written = download.save_with_progress(&target, |p| reports.push(p)).await.unwrap();

    assert_eq!(written, body.len() as u64);
    assert_eq!(std::fs::read(&target).unwrap(), body);
    assert_eq!(dir_entries(dir.path()), ["model.zip"], "no temporary file is left");
    check_reports(&reports, body.len() as u64, Some(body.len() as u64));
    assert!(reports.len() > 2, "a 3 MiB body arrives in several chunks, each reported");
    assert_eq!(reports.last().unwrap().fraction(), Some(1.0));
}

#[tokio::test]
async fn write_to_with_progress_writes_to_any_async_writer() {
    let body = pattern(200_000);
    let server = serving(body.clone()).await;
    let mut reports = Vec::new();
    let mut sink = Vec::new();
    let download = client(&server.uri()).raw_data().get_sample_as_raw(4, 77).await.unwrap();
    let written = download.write_to_with_progress(&mut sink, |p| reports.push(p)).await.unwrap();
    assert_eq!(written, 200_000);
    assert_eq!(sink, body);
    check_reports(&reports, 200_000, Some(200_000));
}

#[tokio::test]
async fn a_successful_save_replaces_an_existing_file() {
    let server = serving(b"new content".to_vec()).await;
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("model.bin");
    std::fs::write(&target, b"old").unwrap();
    let download = client(&server.uri()).raw_data().get_sample_as_raw(4, 77).await.unwrap();
    download.save_with_progress(&target, |_| {}).await.unwrap();
    assert_eq!(std::fs::read(&target).unwrap(), b"new content");
    assert_eq!(dir_entries(dir.path()), ["model.bin"]);
}

/// A raw HTTP server on 127.0.0.1 for one request: sends `head`, then `first`, then waits
/// for `go` before sending `rest` (or, with `rest == None`, closes the connection early, or
/// with `hold`, keeps it open without sending more until the test ends).
struct Script {
    head: String,
    first: Vec<u8>,
    rest: Option<Vec<u8>>,
    hold: bool,
    go: Arc<Notify>,
}

async fn scripted_server(script: Script) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let Ok((mut socket, _)) = listener.accept().await else { return };
        let mut head = Vec::new();
        let mut buffer = [0u8; 4096];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(read) => head.extend_from_slice(&buffer[..read]),
            }
        }
        let _ = socket.write_all(script.head.as_bytes()).await;
        let _ = socket.write_all(&script.first).await;
        let _ = socket.flush().await;
        if script.hold {
            // Keeps the socket open; bounded by the test's own timeout.
            tokio::time::sleep(Duration::from_secs(30)).await;
            return;
        }
        if let Some(rest) = script.rest {
            script.go.notified().await;
            let _ = socket.write_all(&rest).await;
        }
    });
    format!("http://{address}")
}

fn octet_head(length: usize) -> String {
    format!("HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: {length}\r\nconnection: close\r\n\r\n")
}

async fn download(base_url: &str) -> Download {
    client(base_url).request::<Download>(Method::Get, "/files/model.bin").await.unwrap()
}

#[tokio::test]
async fn the_body_is_written_while_it_is_still_arriving() {
    // The server sends the second half only after the first half reached the writer: a
    // client that buffered the body first would wait forever (and hit the timeout).
    let half = 256 * 1024;
    let body = pattern(2 * half);
    let go = Arc::new(Notify::new());
    let uri = scripted_server(Script {
        head: octet_head(body.len()),
        first: body[..half].to_vec(),
        rest: Some(body[half..].to_vec()),
        hold: false,
        go: go.clone(),
    })
    .await;
    let mut sink = Vec::new();
    let download = download(&uri).await;
    let copy = download.write_to_with_progress(&mut sink, |p| {
        if p.bytes >= half as u64 {
            go.notify_one();
        }
    });
    let written = tokio::time::timeout(Duration::from_secs(20), copy).await.expect("streamed, not buffered").unwrap();
    assert_eq!(written, body.len() as u64);
    assert_eq!(sink, body);
}

#[tokio::test]
async fn a_broken_transfer_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("model.bin");
    // Announces 100 000 bytes, sends 1 000, hangs up.
    let uri = scripted_server(Script { head: octet_head(100_000), first: pattern(1_000), rest: None, hold: false, go: Arc::default() }).await;
    let mut reports = Vec::new();
    let error = download(&uri).await.save_with_progress(&target, |p| reports.push(p)).await.unwrap_err();
    assert!(matches!(error, Error::Transport { operation: "custom", .. }), "{error:?}");
    assert!(dir_entries(dir.path()).is_empty(), "neither the final nor the partial file: {:?}", dir_entries(dir.path()));
    let last = reports.last().unwrap();
    assert_eq!(last.total, Some(100_000));
    assert!(last.bytes < 100_000);
}

#[tokio::test]
async fn a_download_dropped_half_way_leaves_no_file() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("model.bin");
    let uri = scripted_server(Script { head: octet_head(100_000), first: pattern(5_000), rest: None, hold: true, go: Arc::default() }).await;
    let arrived = Notify::new();
    let seen_while_running = Mutex::new(Vec::new());
    let save = download(&uri).await.save_with_progress(&target, |p| {
        if p.bytes > 0 {
            *seen_while_running.lock().unwrap() = dir_entries(dir.path());
            arrived.notify_one();
        }
    });
    tokio::select! {
        result = save => panic!("the server never finishes, yet: {result:?}"),
        _ = arrived.notified() => {}
    }
    // `save` was dropped by select!: its partial file must go with it.
    let seen = seen_while_running.lock().unwrap().clone();
    assert_eq!(seen.len(), 1, "one partial file while running: {seen:?}");
    assert!(seen[0].starts_with(".model.bin.") && seen[0].ends_with(".part"), "{seen:?}");
    assert!(dir_entries(dir.path()).is_empty(), "left behind: {:?}", dir_entries(dir.path()));
}

#[tokio::test]
async fn without_a_content_length_the_total_is_unknown() {
    let body = b"hello, streamed world".to_vec();
    let chunked = format!("{:x}\r\n{}\r\n0\r\n\r\n", body.len(), String::from_utf8(body.clone()).unwrap());
    let uri = scripted_server(Script {
        head: "HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".into(),
        first: chunked.into_bytes(),
        rest: None,
        hold: false,
        go: Arc::default(),
    })
    .await;
    let mut reports = Vec::new();
    let mut sink = Vec::new();
    let download = download(&uri).await;
    assert_eq!(download.content_length(), None);
    download.write_to_with_progress(&mut sink, |p| reports.push(p)).await.unwrap();
    assert_eq!(sink, body);
    check_reports(&reports, body.len() as u64, None);
    assert_eq!(reports.last().unwrap().fraction(), None);
}
