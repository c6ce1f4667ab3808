//! A small call against a server on 127.0.0.1: `raw_data().count_samples` through the crate
//! versus the same request written by hand with `reqwest` + `serde_json`. Target: the crate
//! within 5% of the hand-written call.
//!
//! Both run on one runtime, interleaved (the order alternates every iteration), against the
//! same server; prints the median latency of each and the crate's overhead.
//!
//! Run: `cargo bench -p edge-impulse-api --bench small_call`; fewer calls (for a profiler):
//! `cargo bench -p edge-impulse-api --bench small_call -- --iterations 2000 --rounds 1`;
//! one side only, to compare whole-process costs: `-- --only crate` or `-- --only hand`.

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use edge_impulse_api::models::RawDataCategoryQuery;
use edge_impulse_api::Client;

use common::{summarize, BenchBody, LoopbackServer, Summary};

const PROJECT_ID: i64 = 4242;
const API_KEY: &str = "ei_bench_0123456789abcdef";
const ANSWER: &str = r#"{"success":true,"count":1234}"#;
const WARM_UP: usize = 500;
const ITERATIONS: usize = 20_000;
const ROUNDS: usize = 4;

/// The value after `--name` on the command line, else `default`.
fn arg(name: &str, default: usize) -> usize {
    let flag = format!("--{name}");
    let value = std::env::args().skip_while(|a| *a != flag).nth(1);
    value.map_or(default, |v| v.parse().unwrap_or_else(|_| panic!("{flag} takes a number, got {v}")))
}

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
    let (iterations, rounds) = (arg("iterations", ITERATIONS), arg("rounds", ROUNDS));

    let only = std::env::args().skip_while(|a| a != "--only").nth(1);
    if let Some(side) = only {
        runtime.block_on(async {
            let started = Instant::now();
            for _ in 0..iterations {
                match side.as_str() {
                    "crate" => black_box(crate_call(&client).await),
                    "hand" => black_box(hand_written(&http, &base_url).await),
                    other => panic!("--only takes `crate` or `hand`, not `{other}`"),
                };
            }
            let per_call = duration_micros(started.elapsed()) / iterations as f64;
            println!("bench small call (count_samples, 127.0.0.1), {side} only: mean {per_call:.1} µs per call, {iterations} calls");
        });
        return;
    }

    runtime.block_on(async {
        for _ in 0..WARM_UP {
            black_box(crate_call(&client).await);
            black_box(hand_written(&http, &base_url).await);
        }
        // Rounds show how stable the figure is on a busy machine.
        for round in 1..=rounds {
            let mut crate_times = Vec::with_capacity(iterations);
            let mut hand_times = Vec::with_capacity(iterations);
            for i in 0..iterations {
                if i % 2 == 0 {
                    crate_times.push(time(crate_call(&client)).await);
                    hand_times.push(time(hand_written(&http, &base_url)).await);
                } else {
                    hand_times.push(time(hand_written(&http, &base_url)).await);
                    crate_times.push(time(crate_call(&client)).await);
                }
            }
            let ours = summarize(&crate_times);
            let theirs = summarize(&hand_times);
            let overhead = (ours.median / theirs.median - 1.0) * 100.0;
            println!(
                "bench small call (count_samples, 127.0.0.1) round {round}/{rounds}: crate median {} µs, hand-written reqwest+serde median {} µs, overhead {overhead:+.1}%, {iterations} calls each",
                describe(ours),
                describe(theirs),
            );
        }
    });
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

/// Microseconds the call took.
async fn time(call: impl std::future::Future<Output = i64>) -> f64 {
    let started = Instant::now();
    black_box(call.await);
    duration_micros(started.elapsed())
}

fn duration_micros(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e6
}

fn describe(summary: Summary) -> String {
    format!("{:.1} (min {:.1}, max {:.0})", summary.median, summary.min, summary.max)
}
