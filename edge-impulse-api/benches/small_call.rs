//! A small call against a server on 127.0.0.1: `raw_data().count_samples` through the crate
//! versus the same request written by hand with `reqwest` + `serde_json`. Target: latency
//! within 5% of the hand-written call, client CPU within 3%.
//!
//! Both run on one single-threaded runtime against the same server (on its own thread),
//! interleaved in short blocks whose order alternates. Prints per round the median latency of
//! each and the crate's overhead, and the CPU time the client thread spent per call (from
//! `/proc/thread-self/schedstat`), which wake-up latencies of a busy machine do not blur; then
//! the median of the rounds' overheads.
//!
//! Run: `cargo bench -p edge-impulse-api --bench small_call`; fewer calls (for a profiler):
//! `cargo bench -p edge-impulse-api --bench small_call -- --iterations 2000 --rounds 1`;
//! one side only, to compare whole-process costs: `-- --only crate` or `-- --only hand`.

mod common;

use std::future::Future;
use std::hint::black_box;
use std::time::Instant;

use edge_impulse_api::models::RawDataCategoryQuery;
use edge_impulse_api::Client;

use common::{summarize, BenchBody, LoopbackServer, Summary};

const PROJECT_ID: i64 = 4242;
const API_KEY: &str = "ei_bench_0123456789abcdef";
const ANSWER: &str = r#"{"success":true,"count":1234}"#;
const WARM_UP: usize = 500;
const ITERATIONS: usize = 20_000;
const ROUNDS: usize = 4;
/// Calls of one side in a row: long enough for a CPU-time reading to be exact, short enough
/// for both sides to see the same machine.
const BLOCK: usize = 50;

/// What a hand-written client would declare for this answer.
#[derive(serde::Deserialize)]
struct CountAnswer {
    success: bool,
    #[serde(default)]
    error: Option<String>,
    count: i64,
}

fn main() {
    let path = format!("/api/{PROJECT_ID}/raw-data/count");
    let server = LoopbackServer::start(move |request| {
        let authorized = request.headers().get("x-api-key").is_some_and(|v| v == API_KEY);
        let query = request.uri().query() == Some("category=training");
        match request.uri().path() == path && authorized && query {
            true => common::ok("application/json", BenchBody::full(ANSWER)),
            false => common::not_found(request),
        }
    });
    let runtime = common::client_runtime();
    let client = Client::builder().base_url(&server.base_url).api_key(API_KEY).build().expect("client");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().expect("reqwest client");
    let base_url = server.base_url.clone();
    let iterations = arg("iterations", ITERATIONS).div_ceil(BLOCK) * BLOCK;
    let rounds = arg("rounds", ROUNDS);

    if let Some(side) = std::env::args().skip_while(|a| a != "--only").nth(1) {
        runtime.block_on(async {
            let started = Instant::now();
            for _ in 0..iterations {
                match side.as_str() {
                    "crate" => black_box(crate_call(&client).await),
                    "hand" => black_box(hand_written(&http, &base_url).await),
                    other => panic!("--only takes `crate` or `hand`, not `{other}`"),
                };
            }
            let per_call = started.elapsed().as_secs_f64() * 1e6 / iterations as f64;
            println!("bench small call (count_samples, 127.0.0.1), {side} only: mean {per_call:.1} µs per call, {iterations} calls");
        });
        return;
    }

    runtime.block_on(async {
        for _ in 0..WARM_UP {
            black_box(crate_call(&client).await);
            black_box(hand_written(&http, &base_url).await);
        }
        // Rounds show how stable the figures are on a busy machine.
        let (mut latency_overheads, mut cpu_overheads) = (Vec::new(), Vec::new());
        if rounds == 0 {
            return;
        }
        for round in 1..=rounds {
            let mut ours = Side::new(iterations);
            let mut theirs = Side::new(iterations);
            for block in 0..iterations / BLOCK {
                if block % 2 == 0 {
                    ours.block(|| crate_call(&client)).await;
                    theirs.block(|| hand_written(&http, &base_url)).await;
                } else {
                    theirs.block(|| hand_written(&http, &base_url)).await;
                    ours.block(|| crate_call(&client)).await;
                }
            }
            let (latency, hand_latency) = (summarize(&ours.micros), summarize(&theirs.micros));
            let (cpu, hand_cpu) = (ours.cpu_micros_per_call(), theirs.cpu_micros_per_call());
            latency_overheads.push((latency.median / hand_latency.median - 1.0) * 100.0);
            cpu_overheads.push((cpu / hand_cpu - 1.0) * 100.0);
            println!(
                "bench small call (count_samples, 127.0.0.1) round {round}/{rounds}: latency median crate {} µs, hand-written reqwest+serde {} µs, overhead {:+.1}%; client CPU per call crate {cpu:.1} µs, hand-written {hand_cpu:.1} µs, overhead {:+.1}%; {iterations} calls each",
                describe(latency),
                describe(hand_latency),
                latency_overheads[round - 1],
                cpu_overheads[round - 1],
            );
        }
        // One round moves by about 1.5 points on this VM (an A/A run, both sides hand-written,
        // spreads as much): the median of the rounds is the figure to compare.
        println!(
            "bench small call (count_samples, 127.0.0.1), median of {rounds} rounds: latency overhead {:+.1}%, client CPU overhead {:+.1}%",
            summarize(&latency_overheads).median,
            summarize(&cpu_overheads).median,
        );
    });
}

/// The measurements of one side.
struct Side {
    micros: Vec<f64>,
    cpu_nanos: u64,
}

impl Side {
    fn new(iterations: usize) -> Self {
        Side { micros: Vec::with_capacity(iterations), cpu_nanos: 0 }
    }

    /// `BLOCK` calls in a row, each timed, and the thread's CPU time for all of them.
    async fn block<F: Future<Output = i64>>(&mut self, mut call: impl FnMut() -> F) {
        let cpu_before = thread_cpu_nanos();
        for _ in 0..BLOCK {
            let started = Instant::now();
            black_box(call().await);
            self.micros.push(started.elapsed().as_secs_f64() * 1e6);
        }
        self.cpu_nanos += thread_cpu_nanos() - cpu_before;
    }

    fn cpu_micros_per_call(&self) -> f64 {
        self.cpu_nanos as f64 / 1000.0 / self.micros.len() as f64
    }
}

async fn crate_call(client: &Client) -> i64 {
    let answer = client.raw_data().count_samples(PROJECT_ID, RawDataCategoryQuery::Training).await.expect("count_samples");
    answer.count
}

async fn hand_written(http: &reqwest::Client, base_url: &str) -> i64 {
    let response = http
        .get(format!("{base_url}/api/{PROJECT_ID}/raw-data/count?category=training"))
        .header("x-api-key", API_KEY)
        .send()
        .await
        .expect("GET");
    let bytes = response.error_for_status().expect("200").bytes().await.expect("body");
    let answer: CountAnswer = serde_json::from_slice(&bytes).expect("decodes");
    assert!(answer.success, "{:?}", answer.error);
    answer.count
}

/// Nanoseconds this thread has run on a CPU (the first field of its `schedstat`).
fn thread_cpu_nanos() -> u64 {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").expect("/proc/thread-self/schedstat (Linux)");
    stat.split_whitespace().next().and_then(|n| n.parse().ok()).expect("schedstat starts with the run time in ns")
}

/// The value after `--name` on the command line, else `default`.
fn arg(name: &str, default: usize) -> usize {
    let flag = format!("--{name}");
    let value = std::env::args().skip_while(|a| *a != flag).nth(1);
    value.map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{flag} takes a number, got {v}")))
}

fn describe(summary: Summary) -> String {
    format!("{:.1} (min {:.1}, max {:.0})", summary.median, summary.min, summary.max)
}
