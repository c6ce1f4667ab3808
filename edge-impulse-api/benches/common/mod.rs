//! Shared pieces of the benchmarks: a loopback HTTP server on its own thread, a response body
//! that is generated on the fly, summary statistics and memory readings.

#![allow(dead_code)] // each benchmark uses a different subset

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

/// Decimal megabyte, as in "MB/s".
pub const MB: f64 = 1_000_000.0;

/// A response body: bytes held in memory, or `remaining` bytes produced by repeating one
/// shared chunk, so that a body of any size costs one chunk of memory.
pub enum BenchBody {
    Full(Option<Bytes>),
    Repeated { remaining: u64, chunk: Bytes },
}

impl BenchBody {
    pub fn full(bytes: impl Into<Bytes>) -> Self {
        BenchBody::Full(Some(bytes.into()))
    }

    /// `len` bytes made of `chunk` repeated (the last repetition cut short).
    pub fn repeated(len: u64, chunk: Bytes) -> Self {
        assert!(!chunk.is_empty() || len == 0, "a repeated body needs a non-empty chunk");
        BenchBody::Repeated { remaining: len, chunk }
    }

    fn remaining(&self) -> u64 {
        match self {
            BenchBody::Full(bytes) => bytes.as_ref().map_or(0, |b| b.len() as u64),
            BenchBody::Repeated { remaining, .. } => *remaining,
        }
    }
}

impl Body for BenchBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        let data = match self.get_mut() {
            BenchBody::Full(bytes) => bytes.take(),
            BenchBody::Repeated { remaining, chunk } => match *remaining {
                0 => None,
                left => {
                    let len = left.min(chunk.len() as u64) as usize;
                    *remaining -= len as u64;
                    // A cheap clone: the chunk's memory is shared, never copied.
                    Some(chunk.slice(..len))
                }
            },
        };
        Poll::Ready(data.map(|d| Ok(Frame::data(d))))
    }

    fn is_end_stream(&self) -> bool {
        self.remaining() == 0
    }

    /// Exact, so hyper sends `Content-Length` rather than chunked encoding.
    fn size_hint(&self) -> SizeHint {
        SizeHint::with_exact(self.remaining())
    }
}

/// What the server answers to a request (the request body is ignored).
pub type Handler = dyn Fn(&hyper::Request<Incoming>) -> hyper::Response<BenchBody> + Send + Sync;

/// An HTTP/1.1 server on 127.0.0.1 running on its own thread and runtime, so that its work is
/// not scheduled on the client's runtime. It lives as long as the process.
pub struct LoopbackServer {
    pub base_url: String,
}

impl LoopbackServer {
    pub fn start(handler: impl Fn(&hyper::Request<Incoming>) -> hyper::Response<BenchBody> + Send + Sync + 'static) -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        listener.set_nonblocking(true).expect("non-blocking listener");
        let address = listener.local_addr().expect("listener address");
        let handler: Arc<Handler> = Arc::new(handler);
        std::thread::Builder::new()
            .name("bench-server".into())
            .spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("server runtime");
                runtime.block_on(serve(listener, handler));
            })
            .expect("server thread");
        LoopbackServer { base_url: format!("http://{address}") }
    }
}

async fn serve(listener: std::net::TcpListener, handler: Arc<Handler>) {
    let listener = tokio::net::TcpListener::from_std(listener).expect("tokio listener");
    loop {
        let Ok((stream, _)) = listener.accept().await else { continue };
        let _ = stream.set_nodelay(true);
        let handler = handler.clone();
        tokio::spawn(async move {
            let service = service_fn(move |request| {
                let response = handler(&request);
                async move { Ok::<_, Infallible>(response) }
            });
            let _ = http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
        });
    }
}

/// A 200 answer with these headers.
pub fn ok(content_type: &str, body: BenchBody) -> hyper::Response<BenchBody> {
    hyper::Response::builder().header(hyper::header::CONTENT_TYPE, content_type).body(body).expect("valid response")
}

pub fn not_found(request: &hyper::Request<Incoming>) -> hyper::Response<BenchBody> {
    let message = format!("{{\"success\":false,\"error\":\"no route for {}\"}}", request.uri().path());
    let mut response = ok("application/json", BenchBody::full(message));
    *response.status_mut() = hyper::StatusCode::NOT_FOUND;
    response
}

/// A runtime for the client side of a benchmark.
pub fn client_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().expect("client runtime")
}

/// Median, minimum and maximum.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    pub median: f64,
    pub min: f64,
    pub max: f64,
    pub runs: usize,
}

pub fn summarize(values: &[f64]) -> Summary {
    assert!(!values.is_empty(), "no measurements");
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    let median = if n % 2 == 1 { sorted[n / 2] } else { (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0 };
    Summary { median, min: sorted[0], max: sorted[n - 1], runs: n }
}

/// Throughput in MB/s of moving `bytes` in each of `durations`.
pub fn throughputs(bytes: usize, durations: &[Duration]) -> Vec<f64> {
    durations.iter().map(|d| bytes as f64 / MB / d.as_secs_f64()).collect()
}

/// A `kB` line of `/proc/self/status` (`VmHWM`: peak resident set; `VmRSS`: current), in KiB.
pub fn proc_status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with(field) && l[field.len()..].starts_with(':'))?;
    line[field.len() + 1..].trim().trim_end_matches("kB").trim().parse().ok()
}

pub fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
