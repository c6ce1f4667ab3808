//! A recording proxy between the client and Prism.
//!
//! The crate does not expose response headers, and the suite must see exactly what Prism saw
//! (which credentials, which parameters) and what it answered (status, `sl-violations`,
//! `Location`). Every request goes through here, is forwarded unchanged, and is recorded.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

/// What one request and its answer looked like on the wire.
#[derive(Debug, Clone)]
pub struct Exchange {
    pub method: String,
    pub path_and_query: String,
    /// Header names in lower case.
    pub request_headers: Vec<(String, String)>,
    pub status: u16,
    /// Prism's `sl-violations` header: its findings about the request and its own response.
    pub violations: Option<String>,
    pub location: Option<String>,
    pub body: Bytes,
}

impl Exchange {
    /// The start of the answer, to explain a failure.
    pub fn body_start(&self) -> String {
        String::from_utf8_lossy(&self.body[..self.body.len().min(600)]).into_owned()
    }

    pub fn request_header(&self, name: &str) -> Option<&str> {
        self.request_headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Whether the request carried a cookie of this name.
    pub fn has_cookie(&self, name: &str) -> bool {
        self.request_headers
            .iter()
            .filter(|(n, _)| n == "cookie")
            .flat_map(|(_, v)| v.split(';'))
            .any(|pair| pair.trim().split_once('=').is_some_and(|(n, _)| n == name))
    }

    /// Whether the query string carried a parameter of this name.
    pub fn has_query_param(&self, name: &str) -> bool {
        let query = self.path_and_query.split_once('?').map_or("", |(_, q)| q);
        query.split('&').any(|pair| pair.split('=').next() == Some(name))
    }
}

/// Headers that describe one hop's connection, not the message.
const HOP_HEADERS: &[&str] = &["connection", "keep-alive", "transfer-encoding", "content-length", "host", "upgrade", "te", "trailer"];

pub struct Proxy {
    pub address: SocketAddr,
    recorded: Arc<Mutex<Vec<Exchange>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Proxy {
    pub async fn start(upstream: SocketAddr) -> Result<Proxy, String> {
        let listener = TcpListener::bind("127.0.0.1:0").await.map_err(|e| format!("proxy: {e}"))?;
        let address = listener.local_addr().map_err(|e| format!("proxy: {e}"))?;
        let recorded = Arc::new(Mutex::new(Vec::new()));
        // No redirects followed and no pooling surprises: the answer goes back as it came.
        let forward = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("proxy client: {e}"))?;
        let shared = Arc::new(Shared { upstream, forward, recorded: recorded.clone() });
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = shared.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |request| {
                        let shared = shared.clone();
                        async move { Ok::<_, Infallible>(shared.handle(request).await) }
                    });
                    let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                });
            }
        });
        Ok(Proxy { address, recorded, task })
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The exchanges since the last call.
    pub fn take(&self) -> Vec<Exchange> {
        std::mem::take(&mut *self.recorded.lock().unwrap_or_else(|e| e.into_inner()))
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct Shared {
    upstream: SocketAddr,
    forward: reqwest::Client,
    recorded: Arc<Mutex<Vec<Exchange>>>,
}

impl Shared {
    async fn handle(&self, request: hyper::Request<Incoming>) -> hyper::Response<Full<Bytes>> {
        let (parts, body) = request.into_parts();
        let path_and_query = parts.uri.path_and_query().map_or("/", |p| p.as_str()).to_owned();
        let request_headers: Vec<(String, String)> = parts
            .headers
            .iter()
            .map(|(n, v)| (n.as_str().to_ascii_lowercase(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let mut exchange = Exchange {
            method: parts.method.to_string(),
            path_and_query: path_and_query.clone(),
            request_headers,
            status: 0,
            violations: None,
            location: None,
            body: Bytes::new(),
        };
        let response = match self.forward(&parts, &path_and_query, body).await {
            Ok(response) => response,
            Err(message) => {
                exchange.status = 502;
                exchange.body = Bytes::from(message.clone());
                hyper::Response::builder().status(502).body(Full::new(Bytes::from(message))).unwrap_or_default()
            }
        };
        if exchange.status == 0 {
            exchange.status = response.status().as_u16();
            let header = |name: &str| response.headers().get(name).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            exchange.violations = header("sl-violations");
            exchange.location = header("location");
            exchange.body = response.body().clone().collect().await.map(|c| c.to_bytes()).unwrap_or_default();
        }
        self.recorded.lock().unwrap_or_else(|e| e.into_inner()).push(exchange);
        response
    }

    async fn forward(
        &self,
        parts: &hyper::http::request::Parts,
        path_and_query: &str,
        body: Incoming,
    ) -> Result<hyper::Response<Full<Bytes>>, String> {
        let body = body.collect().await.map_err(|e| format!("proxy: reading the request body: {e}"))?.to_bytes();
        let url = format!("http://{}{}", self.upstream, path_and_query);
        let method = reqwest::Method::from_bytes(parts.method.as_str().as_bytes()).map_err(|e| format!("proxy: {e}"))?;
        let mut request = self.forward.request(method, url).body(body);
        for (name, value) in &parts.headers {
            if !HOP_HEADERS.contains(&name.as_str()) {
                request = request.header(name.as_str(), value.as_bytes());
            }
        }
        let answer = request.send().await.map_err(|e| format!("proxy: forwarding to Prism: {e}"))?;
        let mut response = hyper::Response::builder().status(answer.status().as_u16());
        for (name, value) in answer.headers() {
            if !HOP_HEADERS.contains(&name.as_str()) {
                response = response.header(name.as_str(), value.as_bytes());
            }
        }
        let bytes = answer.bytes().await.map_err(|e| format!("proxy: reading Prism's answer: {e}"))?;
        response.body(Full::new(bytes)).map_err(|e| format!("proxy: {e}"))
    }
}
