//! Live job logs: the latency from a line sent by a fake Socket.IO server on 127.0.0.1 to the
//! `wait_for_job(..).follow_logs(true)` progress callback, and the time to deliver a burst.
//!
//! The server (tests/common/socketio.rs, on tokio-tungstenite) notes the instant just
//! before it writes each line's frame; the callback notes the instant it sees the line.
//! One line at a time (the next is sent once the previous arrived) gives the latency of a
//! line on an idle connection; a burst of lines sent at once gives the time until the last
//! arrives. The REST side (socket token, status, log) is a wiremock server; every line is
//! fetched from its log endpoint when the socket announces it, so a line's latency is the
//! socket's plus one log request over loopback.
//!
//! Run: `cargo bench -p edge-impulse-api --bench live_logs` (`-- --lines N` to change the
//! number of single lines, 2000 by default).

mod common;
#[path = "../tests/common/socketio.rs"]
mod socketio;

use std::future::IntoFuture;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use edge_impulse_api::{Client, LiveLogOptions};
use socketio::{Behaviour, FakeSocketServer};
use wiremock::MockServer;

use common::summarize;

const JOB: i64 = 42;
const BURST: usize = 1000;

fn main() {
    let lines = std::env::args().skip_while(|a| a != "--lines").nth(1).and_then(|n| n.parse().ok()).unwrap_or(2000);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    runtime.block_on(run(lines));
}

async fn run(single_lines: usize) {
    let socket = FakeSocketServer::start(JOB, vec![Behaviour::Script(vec![])]).await;
    let finished = Arc::new(AtomicBool::new(false));
    let rest = MockServer::start().await;
    socketio::mount_job_api(&rest, &socket, JOB, finished.clone(), Duration::ZERO).await;

    let client = Client::builder().base_url(rest.uri()).api_key("ei_bench_key").build().expect("client");
    let received: Arc<Mutex<Vec<Instant>>> = Arc::default();
    let arrived = Arc::new(Notify::new());
    let (record, signal) = (received.clone(), arrived.clone());
    let options = LiveLogOptions::default().endpoint(&socket.url).status_interval(Duration::from_millis(200));
    let wait = client.wait_for_job(7, JOB).follow_logs(true).live_logs(options).on_progress(move |p| {
        let now = Instant::now();
        record.lock().unwrap().extend(p.new_log_lines.iter().map(|_| now));
        signal.notify_one();
    });
    let drive = async {
        // Connected once the first line comes through.
        socket.push("warm-up");
        until_received(&received, &arrived, 1).await;
        for n in 0..single_lines {
            socket.push(&format!("line {n}: loss 0.{n:04}"));
            until_received(&received, &arrived, n + 2).await;
        }
        let burst_start = Instant::now();
        for n in 0..BURST {
            socket.push(&format!("burst {n}"));
        }
        until_received(&received, &arrived, single_lines + 1 + BURST).await;
        let burst = burst_start.elapsed();
        finished.store(true, Ordering::SeqCst);
        burst
    };
    let (outcome, burst) = tokio::join!(wait.into_future(), drive);
    let polls = outcome.expect("the job succeeded").polls;

    let sent = socket.pushed_at();
    let received = received.lock().unwrap().clone();
    let latencies: Vec<f64> = (1..=single_lines).map(|i| received[i].duration_since(sent[i]).as_secs_f64() * 1e6).collect();
    let summary = summarize(&latencies);
    let mut sorted = latencies.clone();
    sorted.sort_by(f64::total_cmp);
    let p99 = sorted[(sorted.len() * 99 / 100).min(sorted.len() - 1)];
    println!(
        "live_logs: line sent by the server -> progress callback, {} lines one at a time: median {:.0} µs, min {:.0} µs, p99 {:.0} µs, max {:.0} µs",
        summary.runs, summary.median, summary.min, p99, summary.max
    );
    println!(
        "live_logs: burst of {BURST} lines sent at once: last one in the callback after {:.1} ms ({:.0} lines/s); {polls} status polls in all",
        burst.as_secs_f64() * 1e3,
        BURST as f64 / burst.as_secs_f64()
    );
}

async fn until_received(received: &Mutex<Vec<Instant>>, arrived: &Notify, count: usize) {
    while received.lock().unwrap().len() < count {
        arrived.notified().await;
    }
}
