//! Under load: 10,000 calls, 256 in flight, through one `Client`, to a server on 127.0.0.1
//! that answers each request at random: promptly, slowly, not at all, with a reset, cut
//! short, with 5xx or 429, or with garbage. Every call must end in `Ok` or a typed error,
//! nothing may panic or hang, and open file descriptors and memory must come back to their
//! level before the load. Alone in its file: descriptors and memory are process-wide.
//!
//! `EI_LOAD_CALLS` changes the number of calls (10,000 by default).

use std::collections::BTreeMap;
use std::future::IntoFuture;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use edge_impulse_api::models::RawDataCategoryQuery;
use edge_impulse_api::{Client, Error, RetryPolicy};
use futures_util::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const IN_FLIGHT: usize = 256;
const ANSWER: &str = r#"{"success":true,"count":7}"#;
/// Longer than any call may take with the client below (3 s call limit): a call still
/// running then is a hang.
const HANG_GUARD: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, Debug)]
enum Answer {
    Prompt,
    Slow,
    Stall,
    Reset,
    Truncated,
    ServerError,
    TooMany,
    BadJson,
    NotHttp,
}

impl Answer {
    /// A fixed mix: half good answers, the rest every kind of trouble.
    fn pick(rng: &mut fastrand::Rng) -> Answer {
        match rng.u32(0..100) {
            0..=44 => Answer::Prompt,
            45..=54 => Answer::Slow,
            55..=59 => Answer::Stall,
            60..=67 => Answer::Reset,
            68..=75 => Answer::Truncated,
            76..=83 => Answer::ServerError,
            84..=91 => Answer::TooMany,
            92..=95 => Answer::BadJson,
            _ => Answer::NotHttp,
        }
    }
}

/// The hostile server; the seed makes its choices repeatable.
async fn hostile_server(seed: u64) -> (String, tokio::task::JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let connections = AtomicU64::new(0);
    let accepting = tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let n = connections.fetch_add(1, Ordering::Relaxed);
            tokio::spawn(serve(socket, fastrand::Rng::with_seed(seed ^ n.wrapping_mul(0x9e37_79b9))));
        }
    });
    (format!("http://{address}"), accepting)
}

/// Answers requests on one connection until an answer ends it or the client leaves.
async fn serve(mut socket: TcpStream, mut rng: fastrand::Rng) {
    let mut buffer = vec![0u8; 8192];
    loop {
        let mut head = Vec::new();
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match socket.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buffer[..n]),
            }
        }
        let ok = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{ANSWER}", ANSWER.len());
        let keep_open = match Answer::pick(&mut rng) {
            Answer::Prompt => socket.write_all(ok.as_bytes()).await.is_ok(),
            Answer::Slow => {
                tokio::time::sleep(Duration::from_millis(rng.u64(20..300))).await;
                socket.write_all(ok.as_bytes()).await.is_ok()
            }
            Answer::Stall => {
                // Past the client's 500 ms answer limit; then gone.
                tokio::time::sleep(Duration::from_secs(2)).await;
                false
            }
            Answer::Reset => {
                // Linger 0: the close is a reset, not an orderly end. (Deprecated because a
                // non-zero linger blocks the thread on drop; zero does not.)
                #[allow(deprecated)]
                let _ = socket.set_linger(Some(Duration::ZERO));
                false
            }
            Answer::Truncated => {
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 500\r\n\r\n";
                let _ = socket.write_all(format!("{head}{}", &ANSWER[..10]).as_bytes()).await;
                false
            }
            Answer::ServerError => {
                let status = ["500 Internal Server Error", "502 Bad Gateway", "503 Service Unavailable"][rng.usize(0..3)];
                let body = "<html><h1>upstream trouble</h1></html>";
                let answer = format!("HTTP/1.1 {status}\r\ncontent-type: text/html\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                socket.write_all(answer.as_bytes()).await.is_ok()
            }
            Answer::TooMany => {
                let answer = "HTTP/1.1 429 Too Many Requests\r\nretry-after: 0\r\ncontent-length: 0\r\n\r\n";
                socket.write_all(answer.as_bytes()).await.is_ok()
            }
            Answer::BadJson => {
                let body = "{\"success\":tru";
                let answer = format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}", body.len());
                socket.write_all(answer.as_bytes()).await.is_ok()
            }
            Answer::NotHttp => {
                let mut noise = vec![0u8; rng.usize(1..400)];
                rng.fill(&mut noise);
                let _ = socket.write_all(&noise).await;
                false
            }
        };
        if !keep_open {
            return;
        }
    }
}

fn open_descriptors() -> usize {
    std::fs::read_dir("/proc/self/fd").map(|entries| entries.count()).unwrap_or(0)
}

/// Resident memory in KiB (`VmRSS`).
fn resident_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// Runs `calls` calls, at most `IN_FLIGHT` at a time; counts the outcomes by kind.
async fn run_calls(client: &Client, calls: usize) -> BTreeMap<&'static str, usize> {
    let outcomes = futures_util::stream::iter(0..calls)
        .map(|_| async {
            let call = client.raw_data().count_samples(1, RawDataCategoryQuery::Training);
            match tokio::time::timeout(HANG_GUARD, call.into_future()).await {
                Err(_) => "hung",
                Ok(Ok(answer)) => {
                    assert_eq!(answer.count, 7, "a success is the real answer");
                    "ok"
                }
                Ok(Err(error)) => kind(&error),
            }
        })
        .buffer_unordered(IN_FLIGHT)
        .collect::<Vec<_>>()
        .await;
    let mut counts = BTreeMap::new();
    for outcome in outcomes {
        *counts.entry(outcome).or_insert(0) += 1;
    }
    counts
}

/// The error's kind; each must be one a caller can act on, with a message.
fn kind(error: &Error) -> &'static str {
    assert!(!error.to_string().is_empty());
    assert_eq!(error.operation(), Some("countSamples"), "{error:?}");
    match error {
        Error::Timeout { .. } => "timeout",
        Error::Transport { .. } => "transport",
        Error::Status { .. } => "status",
        Error::Decode { .. } => "decode",
        Error::Api { .. } => "api",
        other => panic!("an error no hostile answer should give: {other:?}"),
    }
}

#[test]
fn ten_thousand_calls_against_a_hostile_server_end_cleanly_and_leave_nothing_behind() {
    let calls: usize = std::env::var("EI_LOAD_CALLS").ok().and_then(|v| v.parse().ok()).unwrap_or(10_000);
    let start_fds = open_descriptors();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let (before_fds, before_kib, counts, after_kib_loaded) = runtime.block_on(async {
        let (base_url, server) = hostile_server(0x5eed).await;
        let client = Client::builder()
            .base_url(&base_url)
            .api_key("ei_load_test_key_7f7f")
            .timeout(Duration::from_millis(500))
            .call_timeout(Duration::from_secs(3))
            .retry(RetryPolicy::new().max_attempts(3).initial_backoff(Duration::from_millis(5)).max_elapsed(Duration::from_secs(2)))
            .build()
            .unwrap();
        // Warm-up: the runtime, the pool and the allocator reach their working size first.
        run_calls(&client, 512.min(calls)).await;
        let before = (open_descriptors(), resident_kib());
        let counts = run_calls(&client, calls).await;
        let loaded = resident_kib();
        drop(client);
        server.abort();
        (before.0, before.1, counts, loaded)
    });
    // The server's connection tasks end once the runtime goes: drop it, then look.
    runtime.shutdown_timeout(Duration::from_secs(5));
    let after_fds = open_descriptors();
    let after_kib = resident_kib();
    println!(
        "load: {calls} calls, {IN_FLIGHT} in flight: {counts:?}; open fds {start_fds} at start, {before_fds} under load, {after_fds} at the end; \
         RSS {before_kib} KiB before, {after_kib_loaded} KiB after the load, {after_kib} KiB after shutdown"
    );
    assert_eq!(counts.get("hung"), None, "no call outlives its limits");
    assert_eq!(counts.values().sum::<usize>(), calls);
    assert!(counts.get("ok").copied().unwrap_or(0) > calls / 4, "retries turn many failures into answers: {counts:?}");
    assert!(after_fds <= start_fds, "every connection is closed: {start_fds} fds at the start, {after_fds} at the end");
    // The allocator keeps some freed memory; what must not happen is growth with the load.
    assert!(after_kib <= before_kib + 32 * 1024, "memory comes back: {before_kib} KiB before, {after_kib} KiB after");
}
