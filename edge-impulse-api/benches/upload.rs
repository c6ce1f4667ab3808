//! Uploading a dataset: `client.upload().directory(..)` against the official Python SDK
//! (`edgeimpulse.data.upload_samples` with its defaults) and, for large files, a plain
//! reqwest POST of the same bytes, all to one fake ingestion server on 127.0.0.1.
//!
//! The server (in this process) reads every body as it arrives, finds the multipart parts'
//! file names, and answers the per-file list. Each client runs in a child process (this
//! binary started again, or `python3`), which reports its time for the upload alone (not its
//! start-up) and its peak resident set.
//!
//! ```sh
//! cargo bench -p edge-impulse-api --features upload --bench upload                        # 10,000 x 2 KB, 20 x 50 MB
//! cargo bench -p edge-impulse-api --features upload --bench upload -- --small 2000 --large 4
//! cargo bench -p edge-impulse-api --features upload --bench upload -- --rss-files 100000  # peak RSS for 100,000 files
//! ```
//!
//! Targets: 10x the SDK's files/s on small files, 90% of plain reqwest's MB/s on large
//! ones, under 64 MiB peak RSS for 100,000 files. The SDK is measured when
//! `python3 -c 'import edgeimpulse'` works (`pip install edgeimpulse`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;

use common::{mib, proc_status_kib, MB};

const CHILD_FLAG: &str = "--upload-child";
const API_KEY: &str = "ei_bench_key_0000";

struct Options {
    small: usize,
    small_bytes: usize,
    large: usize,
    large_mb: usize,
    rss_files: Option<usize>,
    python: bool,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == CHILD_FLAG) {
        let [mode, url, dir] = &args[at + 1..] else {
            panic!("usage: {CHILD_FLAG} rust|reqwest URL DIR");
        };
        child(mode, url, Path::new(dir));
        return;
    }
    let options = parse(&args);
    let server = Server::start();
    let python = options.python && python_sdk_available();

    if let Some(files) = options.rss_files {
        let dir = tempfile::tempdir().expect("temporary directory");
        make_files(dir.path(), files, options.small_bytes);
        let rust = run_child("rust", &server.url, dir.path());
        println!(
            "bench upload ({files} files of {} B): {:.0} files/s, peak RSS {:.1} MiB (target < 64 MiB); server got {} files",
            options.small_bytes,
            files as f64 / rust.seconds,
            mib(rust.peak_kib),
            server.files.swap(0, Ordering::SeqCst)
        );
        return;
    }

    let small_dir = tempfile::tempdir().expect("temporary directory");
    make_files(small_dir.path(), options.small, options.small_bytes);
    let small_mb = (options.small * options.small_bytes) as f64 / MB;
    let rust = run_child("rust", &server.url, small_dir.path());
    let received = server.files.swap(0, Ordering::SeqCst);
    println!(
        "bench upload small, Rust uploader: {} files of {} B in {:.2} s: {:.0} files/s, {:.1} MB/s, peak RSS {:.1} MiB ({} requests; server got {received} files)",
        options.small,
        options.small_bytes,
        rust.seconds,
        options.small as f64 / rust.seconds,
        small_mb / rust.seconds,
        mib(rust.peak_kib),
        server.requests.swap(0, Ordering::SeqCst),
    );
    if python {
        let sdk = run_python(&server.url, small_dir.path());
        let received = server.files.swap(0, Ordering::SeqCst);
        println!(
            "bench upload small, Python SDK:     {} files in {:.2} s: {:.0} files/s, {:.1} MB/s, peak RSS {:.1} MiB ({} requests; server got {received} files)",
            options.small,
            sdk.seconds,
            options.small as f64 / sdk.seconds,
            small_mb / sdk.seconds,
            mib(sdk.peak_kib),
            server.requests.swap(0, Ordering::SeqCst),
        );
        println!("bench upload small: Rust / SDK files/s = {:.1}x (target >= 10x)", sdk.seconds / rust.seconds);
    } else {
        println!("bench upload: the Python SDK is not installed, so it is not measured (pip install edgeimpulse)");
    }
    drop(small_dir);

    server.bytes.swap(0, Ordering::SeqCst);
    let large_dir = tempfile::tempdir().expect("temporary directory");
    make_files(large_dir.path(), options.large, options.large_mb * 1_000_000);
    let large_mb = (options.large * options.large_mb) as f64;
    let line = |who: &str, result: &ChildResult| {
        server.files.swap(0, Ordering::SeqCst);
        println!(
            "bench upload large, {who}: {} files of {} MB in {:.2} s: {:.0} MB/s, peak RSS {:.1} MiB ({} requests, {:.0} MB received)",
            options.large,
            options.large_mb,
            result.seconds,
            large_mb / result.seconds,
            mib(result.peak_kib),
            server.requests.swap(0, Ordering::SeqCst),
            server.bytes.swap(0, Ordering::SeqCst) as f64 / MB,
        );
    };
    // Twice each, alternating, the best of each kept: on a busy machine one run of either
    // can be much slower than the other.
    let mut plain = Vec::new();
    let mut rust = Vec::new();
    for _ in 0..2 {
        plain.push(run_child("reqwest", &server.url, large_dir.path()));
        line("plain reqwest    ", plain.last().expect("a run"));
        rust.push(run_child("rust", &server.url, large_dir.path()));
        line("Rust uploader    ", rust.last().expect("a run"));
    }
    let best = |runs: Vec<ChildResult>| runs.into_iter().min_by(|a, b| a.seconds.total_cmp(&b.seconds)).expect("a run");
    let (plain, rust) = (best(plain), best(rust));
    if python {
        let sdk = run_python(&server.url, large_dir.path());
        line("Python SDK       ", &sdk);
    }
    println!("bench upload large: Rust uploader / plain reqwest MB/s = {:.0}%, best runs (target >= 90%)", 100.0 * plain.seconds / rust.seconds);
}

fn parse(args: &[String]) -> Options {
    let mut options = Options { small: 10_000, small_bytes: 2048, large: 20, large_mb: 50, rss_files: None, python: true };
    let mut i = 1;
    while i < args.len() {
        let value = |i: usize| args.get(i + 1).and_then(|v| v.parse::<usize>().ok()).unwrap_or_else(|| panic!("{} needs a number", args[i]));
        match args[i].as_str() {
            "--small" => options.small = value(i),
            "--small-bytes" => options.small_bytes = value(i),
            "--large" => options.large = value(i),
            "--large-mb" => options.large_mb = value(i),
            "--rss-files" => options.rss_files = Some(value(i)),
            "--no-python" => {
                options.python = false;
                i += 1;
                continue;
            }
            // `cargo bench` passes `--bench`.
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    options
}

/// `count` files of `size` bytes, each different (a hash-based duplicate check would
/// otherwise see one file).
fn make_files(dir: &Path, count: usize, size: usize) {
    let mut data: Vec<u8> = (0..size).map(|i| b'a' + (i % 26) as u8).collect();
    for i in 0..count {
        let tag = format!("{i:08}\n");
        data[..tag.len().min(size)].copy_from_slice(&tag.as_bytes()[..tag.len().min(size)]);
        std::fs::write(dir.join(format!("sample.{i:06}.csv")), &data).expect("writing a bench file");
    }
}

struct ChildResult {
    seconds: f64,
    peak_kib: u64,
}

/// Reads the child's last line: `SECONDS PEAK_KIB`.
fn result_of(output: std::process::Output, who: &str) -> ChildResult {
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success(), "{who} failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
    let last = stdout.lines().last().unwrap_or_default();
    let mut fields = last.split_whitespace();
    let seconds = fields.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{who}: no result in {stdout}"));
    let peak_kib = fields.next().and_then(|s| s.parse().ok()).unwrap_or_else(|| panic!("{who}: no peak RSS in {stdout}"));
    ChildResult { seconds, peak_kib }
}

fn run_child(mode: &str, url: &str, dir: &Path) -> ChildResult {
    let exe = std::env::current_exe().expect("own executable");
    let output = Command::new(exe).args([CHILD_FLAG, mode, url, dir.to_str().expect("UTF-8 temp path")]).output().expect("child process");
    result_of(output, mode)
}

fn python_sdk_available() -> bool {
    Command::new("python3").args(["-c", "import edgeimpulse"]).output().map(|o| o.status.success()).unwrap_or(false)
}

/// The SDK's `upload_samples` with its defaults, every file of `dir` a sample (as its
/// `upload_plain_directory` builds them).
const PYTHON: &str = r#"
import os, sys, time, resource
import edgeimpulse as ei
from edgeimpulse.data import upload_samples
from edgeimpulse.data.sample_type import Sample
directory = sys.argv[1]
names = sorted(os.listdir(directory))
samples = [Sample(filename=name, data=open(os.path.join(directory, name), "rb")) for name in names]
start = time.perf_counter()
result = upload_samples(samples)
seconds = time.perf_counter() - start
assert len(result.successes) == len(names), (len(result.successes), len(result.fails), result.fails[:3])
print(seconds, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"#;

fn run_python(url: &str, dir: &Path) -> ChildResult {
    let output = Command::new("python3")
        .args(["-c", PYTHON, dir.to_str().expect("UTF-8 temp path")])
        .env("EI_INGESTION_ENDPOINT", url)
        .env("EI_API_KEY", API_KEY)
        .output()
        .expect("python3");
    result_of(output, "the Python SDK")
}

/// The child: uploads `dir` with the uploader, or POSTs each file with plain reqwest (the
/// same concurrency as the uploader's default), and prints `SECONDS PEAK_KIB`.
fn child(mode: &str, url: &str, dir: &Path) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let started = Instant::now();
    runtime.block_on(async {
        match mode {
            "rust" => {
                let client = edge_impulse_api::Client::builder().ingestion_endpoint(url).api_key(API_KEY).build().expect("client");
                let report = client.upload().directory(dir).await.expect("upload");
                assert!(report.all_uploaded(), "{report}");
            }
            "reqwest" => {
                use futures_util::StreamExt;
                let http = reqwest::Client::new();
                let mut paths: Vec<PathBuf> = std::fs::read_dir(dir).expect("bench dir").map(|e| e.expect("entry").path()).collect();
                paths.sort();
                let target = format!("{url}/api/training/files");
                let sends = paths.iter().map(|path| {
                    let (http, target) = (&http, &target);
                    async move {
                        let file = tokio::fs::File::open(path).await.expect("open");
                        let length = file.metadata().await.expect("metadata").len();
                        let body = reqwest::Body::wrap_stream(tokio_util::io::ReaderStream::with_capacity(file, 64 * 1024));
                        let response = http
                            .post(target)
                            .header("x-api-key", API_KEY)
                            .header("content-length", length)
                            .body(body)
                            .send()
                            .await
                            .expect("POST");
                        assert!(response.status().is_success());
                        response.bytes().await.expect("answer");
                    }
                });
                futures_util::stream::iter(sends).buffer_unordered(edge_impulse_api::upload::DEFAULT_CONCURRENCY).collect::<Vec<()>>().await;
            }
            other => panic!("unknown child mode {other}"),
        }
    });
    let seconds = started.elapsed().as_secs_f64();
    println!("{seconds} {}", proc_status_kib("VmHWM").expect("VmHWM in /proc/self/status"));
}

/// The fake ingestion server: counts requests, body bytes and file parts, answers a success
/// per file part (by the names in the part headers, found with memchr as the body streams).
struct Server {
    url: String,
    requests: Arc<AtomicU64>,
    files: Arc<AtomicU64>,
    bytes: Arc<AtomicU64>,
}

impl Server {
    fn start() -> Self {
        let (requests, files, bytes) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let (sender, receiver) = std::sync::mpsc::channel();
        let counters = (requests.clone(), files.clone(), bytes.clone());
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("server runtime");
            runtime.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
                sender.send(format!("http://{}", listener.local_addr().expect("address"))).expect("url");
                loop {
                    let Ok((stream, _)) = listener.accept().await else { return };
                    let counters = counters.clone();
                    tokio::spawn(async move {
                        let service = service_fn(move |request: hyper::Request<Incoming>| {
                            let counters = counters.clone();
                            async move { answer(request, &counters).await }
                        });
                        let _ = hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
                    });
                }
            });
        });
        let url = receiver.recv().expect("server started");
        Server { url, requests, files, bytes }
    }
}

async fn answer(request: hyper::Request<Incoming>, (requests, files, bytes): &(Arc<AtomicU64>, Arc<AtomicU64>, Arc<AtomicU64>)) -> Result<hyper::Response<Full<Bytes>>, hyper::Error> {
    requests.fetch_add(1, Ordering::Relaxed);
    let mut body = request.into_body();
    let finder = memchr::memmem::Finder::new(b"filename=\"");
    let mut names = Vec::new();
    // The end of the previous chunk: a part header cut between two chunks is found in the
    // carried bytes followed by the new chunk's start.
    let mut carry: Vec<u8> = Vec::new();
    while let Some(frame) = body.frame().await {
        let Ok(data) = frame?.into_data() else { continue };
        bytes.fetch_add(data.len() as u64, Ordering::Relaxed);
        let carried = carry.len();
        carry.extend_from_slice(&data[..data.len().min(512)]);
        for (start, end) in names_in(&finder, &carry) {
            // Only headers cut by the chunk boundary: the rest were found in a chunk alone.
            if start < carried && end >= carried {
                names.push(String::from_utf8_lossy(&carry[start..end]).into_owned());
            }
        }
        for (start, end) in names_in(&finder, &data) {
            names.push(String::from_utf8_lossy(&data[start..end]).into_owned());
        }
        carry = data[data.len().saturating_sub(256)..].to_vec();
    }
    files.fetch_add(names.iter().filter(|n| !n.ends_with(".labels")).count() as u64, Ordering::Relaxed);
    let list: Vec<_> = names
        .iter()
        .enumerate()
        .map(|(i, name)| serde_json::json!({ "success": true, "fileName": name, "sampleId": i }))
        .collect();
    let body = serde_json::json!({ "success": true, "files": list }).to_string();
    Ok(hyper::Response::builder().header("content-type", "application/json").body(Full::new(Bytes::from(body))).expect("response"))
}

/// The file names in `text`, as ranges: `filename="NAME"` with its closing quote in `text`.
fn names_in(finder: &memchr::memmem::Finder<'_>, text: &[u8]) -> Vec<(usize, usize)> {
    finder
        .find_iter(text)
        .filter_map(|at| {
            let start = at + finder.needle().len();
            memchr::memchr(b'"', &text[start..]).map(|len| (start, start + len))
        })
        .collect()
}
