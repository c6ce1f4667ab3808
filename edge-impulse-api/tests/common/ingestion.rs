//! A fake ingestion service on 127.0.0.1: records every request (headers and multipart
//! parts, parsed here) and answers as the test says, including cutting the connection.

#![allow(dead_code)] // each test file uses a different subset

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;

/// One part of a `multipart/form-data` body.
#[derive(Debug, Clone)]
pub struct Part {
    pub name: String,
    pub file_name: Option<String>,
    pub content_type: Option<String>,
    pub data: Vec<u8>,
}

impl Part {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.data).expect("a JSON part")
    }
}

/// A request as the server received it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    pub path: String,
    pub headers: hyper::HeaderMap,
    pub body: Vec<u8>,
    pub parts: Vec<Part>,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(|v| v.to_str().expect("ASCII header"))
    }

    /// The file parts (`data`) that are samples, not `.labels` files.
    pub fn sample_names(&self) -> Vec<String> {
        self.parts.iter().filter_map(|p| p.file_name.clone()).filter(|n| !n.ends_with(".labels")).collect()
    }

    pub fn part(&self, file_name: &str) -> &Part {
        self.parts.iter().find(|p| p.file_name.as_deref() == Some(file_name)).unwrap_or_else(|| panic!("no part named {file_name} in {:?}", self.parts))
    }
}

/// What the server does with a request.
#[derive(Debug, Clone)]
pub enum Reply {
    /// 200 with `{"success": true, "files": [...]}`.
    Files(Vec<serde_json::Value>),
    /// Any status with a JSON body.
    Json(u16, serde_json::Value),
    /// Any status with a `text/plain` body.
    Text(u16, String),
    /// Any status with an HTML page.
    Html(u16),
    /// Reads the whole body, then closes the connection without answering.
    Cut,
    /// Never answers (until the test ends).
    Hang,
}

type Answer = dyn Fn(usize, &Received) -> Reply + Send + Sync;

/// The running server.
pub struct FakeIngestion {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    started: Arc<AtomicUsize>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeIngestion {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeIngestion {
    /// A server answering every request with `answer(request_number, request)`; requests
    /// whose number `cut_mid_body` accepts are cut after the first piece of their body.
    pub async fn start(answer: impl Fn(usize, &Received) -> Reply + Send + Sync + 'static) -> Self {
        Self::start_with_cuts(|_| false, answer).await
    }

    pub async fn start_with_cuts(
        cut_mid_body: impl Fn(usize) -> bool + Send + Sync + 'static,
        answer: impl Fn(usize, &Received) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let received = Arc::new(Mutex::new(Vec::new()));
        let started = Arc::new(AtomicUsize::new(0));
        let answer: Arc<Answer> = Arc::new(answer);
        let cut: Arc<dyn Fn(usize) -> bool + Send + Sync> = Arc::new(cut_mid_body);
        let (received_in, started_in) = (received.clone(), started.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else { return };
                let (received, started, answer, cut) = (received_in.clone(), started_in.clone(), answer.clone(), cut.clone());
                tokio::spawn(async move {
                    let service = service_fn(move |request: Request<Incoming>| {
                        let (received, started, answer, cut) = (received.clone(), started.clone(), answer.clone(), cut.clone());
                        async move { handle(request, &received, &started, &*answer, &*cut).await }
                    });
                    let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        FakeIngestion { url, received, started, task }
    }

    /// Every request received in full, in order.
    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }

    /// Requests started (cut ones included).
    pub fn started(&self) -> usize {
        self.started.load(Ordering::SeqCst)
    }
}

async fn handle(
    request: Request<Incoming>,
    received: &Mutex<Vec<Received>>,
    started: &AtomicUsize,
    answer: &Answer,
    cut: &(dyn Fn(usize) -> bool + Send + Sync),
) -> Result<Response<Full<Bytes>>, std::io::Error> {
    let number = started.fetch_add(1, Ordering::SeqCst);
    let (head, mut body) = request.into_parts();
    if cut(number) {
        // Take a piece of the upload, then fail the connection: hyper closes it unanswered.
        let _ = body.frame().await;
        return Err(std::io::Error::other("cut mid-upload"));
    }
    let bytes = body.collect().await.map_err(std::io::Error::other)?.to_bytes().to_vec();
    let content_type = head.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let parts = parse_multipart(&content_type, &bytes);
    let request = Received { method: head.method.to_string(), path: head.uri.path().to_owned(), headers: head.headers, body: bytes, parts };
    let reply = answer(number, &request);
    received.lock().unwrap().push(request);
    let (status, content_type, body) = match reply {
        Reply::Files(files) => (200, "application/json", serde_json::json!({ "success": true, "files": files }).to_string()),
        Reply::Json(status, value) => (status, "application/json", value.to_string()),
        Reply::Text(status, text) => (status, "text/plain", text),
        Reply::Html(status) => (status, "text/html", "<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1><p>nginx</p></body></html>".to_owned()),
        Reply::Cut => return Err(std::io::Error::other("cut before answering")),
        Reply::Hang => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            return Err(std::io::Error::other("hung"));
        }
    };
    let response = Response::builder().status(status).header("content-type", content_type).body(Full::new(Bytes::from(body))).unwrap();
    Ok::<_, std::io::Error>(response)
}

/// Parses a `multipart/form-data` body (test-side, to check what the uploader sent).
pub fn parse_multipart(content_type: &str, body: &[u8]) -> Vec<Part> {
    let Some(boundary) = content_type.split("boundary=").nth(1) else { return Vec::new() };
    let delimiter = format!("--{}", boundary.trim_matches('"'));
    let mut parts = Vec::new();
    let sections = split(body, delimiter.as_bytes());
    for section in sections.into_iter().skip(1) {
        if section.starts_with(b"--") {
            break;
        }
        let section = section.strip_prefix(b"\r\n").unwrap_or(section);
        let Some(end) = find(section, b"\r\n\r\n") else { continue };
        let head = String::from_utf8_lossy(&section[..end]).into_owned();
        let data = &section[end + 4..];
        let data = data.strip_suffix(b"\r\n").unwrap_or(data);
        let mut part = Part { name: String::new(), file_name: None, content_type: None, data: data.to_vec() };
        for line in head.lines() {
            let lower = line.to_ascii_lowercase();
            if lower.starts_with("content-disposition:") {
                part.name = quoted(line, "name=").unwrap_or_default();
                part.file_name = quoted(line, "filename=");
            } else if lower.starts_with("content-type:") {
                part.content_type = Some(line["content-type:".len()..].trim().to_owned());
            }
        }
        parts.push(part);
    }
    parts
}

fn quoted(line: &str, key: &str) -> Option<String> {
    let start = line.find(&format!(" {key}\"")).or_else(|| line.find(&format!(";{key}\"")))? + key.len() + 2;
    let rest = &line[start..];
    Some(rest[..rest.find('"')?].to_owned())
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn split<'a>(mut body: &'a [u8], delimiter: &[u8]) -> Vec<&'a [u8]> {
    let mut sections = Vec::new();
    while let Some(at) = find(body, delimiter) {
        sections.push(&body[..at]);
        body = &body[at + delimiter.len()..];
    }
    sections.push(body);
    sections
}

/// Answers every sample part with a success and a sample id (1000 + its position in the
/// request, plus 100000 times the request number).
pub fn accept_all(number: usize, request: &Received) -> Reply {
    Reply::Files(
        request
            .sample_names()
            .iter()
            .enumerate()
            .map(|(i, name)| serde_json::json!({ "success": true, "fileName": name, "sampleId": 100_000 * number + 1000 + i }))
            .collect(),
    )
}
