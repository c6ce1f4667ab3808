//! Decoding a large list answer: `raw_data().list_samples` returning a ~20 MB
//! `ListSamplesResponse`. Target: over 300 MB/s for the decode.
//!
//! Prints, as medians over several runs:
//! - the decode alone, through `FromResponse` as an awaited call does it (JSON into the model,
//!   then the `{"success": false}` envelope check), with plain JSON parsing (`IgnoredAny`),
//!   `serde_json::Value`, a plain `serde_json::from_slice` into the model, and the parse plus
//!   an owned copy of every string value (the floor for a model of owned `String`s) as references;
//! - the HTTP transfer alone (reqwest GET + body) from a server on 127.0.0.1;
//! - the whole call (`client.raw_data().list_samples(..).await`) against that server;
//! - the memory a whole call needs: peak resident memory during one call for the 20 MB list
//!   and for a 200 MB one, over the resident memory before it (which holds the server's copy).
//!
//! Run: `cargo bench -p edge-impulse-api --bench decode`; under a profiler, run the built
//! binary with `--decode-only` to time nothing but the model decode.

// The `json!` literal of one sample has more fields than the default limit expands.
#![recursion_limit = "256"]

mod common;

use std::hint::black_box;
use std::time::{Duration, Instant};

use chrono::SecondsFormat;
use edge_impulse_api::models::{ListSamplesResponse, RawDataCategoryQuery, Sample};
use bytes::Bytes;
use edge_impulse_api::{Client, FromResponse, Method, Operation, RawResponse, ResponseKind};
use serde_json::json;

use common::{summarize, throughputs, BenchBody, LoopbackServer, Summary, MB};

/// The size of the answer to build.
const TARGET_BYTES: usize = 20_000_000;
const DECODE_RUNS: usize = 15;
const HTTP_RUNS: usize = 9;
const PROJECT_ID: i64 = 4242;

fn main() {
    let body = Bytes::from(list_samples_answer(TARGET_BYTES));
    let body_mb = body.len() as f64 / MB;
    let samples = check_answer(&body);
    let what = format!("{body_mb:.1} MB list ({samples} samples)");

    // Warm-up: page in the input and let the allocator grow its pools once.
    black_box(decode(&body));
    let decode_only = std::env::args().any(|a| a == "--decode-only");
    if decode_only {
        let model = time_runs(DECODE_RUNS, || decode(&body));
        report("decode (FromResponse for ListSamplesResponse)", &what, &throughputs(body.len(), &model));
        return;
    }

    let parse_only = time_runs(DECODE_RUNS, || serde_json::from_slice::<serde::de::IgnoredAny>(&body).expect("valid JSON"));
    report("decode (JSON parse only, IgnoredAny)", &what, &throughputs(body.len(), &parse_only));
    let value = time_runs(DECODE_RUNS, || serde_json::from_slice::<serde_json::Value>(&body).expect("valid JSON"));
    report("decode (serde_json::Value)", &what, &throughputs(body.len(), &value));
    let plain = time_runs(DECODE_RUNS, || serde_json::from_slice::<ListSamplesResponse>(&body).expect("decodes"));
    report("decode (serde_json::from_slice into ListSamplesResponse)", &what, &throughputs(body.len(), &plain));
    let model = time_runs(DECODE_RUNS, || decode(&body));
    report("decode (FromResponse for ListSamplesResponse)", &what, &throughputs(body.len(), &model));
    // After the model: what this one frees leaves glibc's heap in a state that slows the
    // model's decode by a third (see the README), while the reverse order changes nothing here.
    let strings = time_runs(DECODE_RUNS, || owned_strings(&body));
    report("decode (JSON parse + an owned copy of every string value, no structs)", &what, &throughputs(body.len(), &strings));
    let parse_ms = summarize(&millis(&parse_only)).median;
    println!(
        "bench decode: the model takes {:.1}x the time of the JSON parse alone (IgnoredAny); parse + owned strings takes {:.1}x",
        summarize(&millis(&model)).median / parse_ms,
        summarize(&millis(&strings)).median / parse_ms,
    );

    let served = body.clone();
    let path = format!("/api/{PROJECT_ID}/raw-data");
    let server = LoopbackServer::start(move |request| match request.uri().path() == path {
        true => common::ok("application/json", BenchBody::full(served.clone())),
        false => common::not_found(request),
    });
    let runtime = common::client_runtime();
    let url = format!("{}/api/{PROJECT_ID}/raw-data?category=training", server.base_url);
    let http = reqwest::Client::new();
    let client = Client::builder().base_url(&server.base_url).api_key("ei_bench_0123456789abcdef").build().expect("client");

    let (http_only, end_to_end) = runtime.block_on(async {
        // Warm-up: open the connections of both clients.
        fetch(&http, &url).await;
        black_box(list_samples(&client).await);
        let mut http_only = Vec::with_capacity(HTTP_RUNS);
        let mut end_to_end = Vec::with_capacity(HTTP_RUNS);
        for _ in 0..HTTP_RUNS {
            let started = Instant::now();
            let bytes = fetch(&http, &url).await;
            http_only.push(started.elapsed());
            assert_eq!(bytes, body.len(), "the server sent the whole body");

            let started = Instant::now();
            let answer = list_samples(&client).await;
            end_to_end.push(started.elapsed());
            assert_eq!(answer.samples.len(), samples);
        }
        (http_only, end_to_end)
    });
    report("http (reqwest GET + body, 127.0.0.1)", &what, &throughputs(body.len(), &http_only));
    report("call (list_samples().await, 127.0.0.1)", &what, &throughputs(body.len(), &end_to_end));
    let http_ms = summarize(&millis(&http_only)).median;
    let call_ms = summarize(&millis(&end_to_end)).median;
    let decode_ms = summarize(&millis(&model)).median;
    println!("bench decode: the call takes {call_ms:.1} ms (median); its parts measured alone take http {http_ms:.1} ms and decode {decode_ms:.1} ms");
    drop((server, runtime, client, body));

    for size in [TARGET_BYTES, 10 * TARGET_BYTES] {
        call_memory(size);
    }
}

/// Peak resident memory of one whole call for a list of about `size` bytes, over what the
/// process held before it (the server's copy of the body included).
fn call_memory(size: usize) {
    let body = Bytes::from(list_samples_answer(size));
    let path = format!("/api/{PROJECT_ID}/raw-data");
    let served = body.clone();
    let server = LoopbackServer::start(move |request| match request.uri().path() == path {
        true => common::ok("application/json", BenchBody::full(served.clone())),
        false => common::not_found(request),
    });
    let runtime = common::client_runtime();
    let client = Client::builder().base_url(&server.base_url).api_key("ei_bench_0123456789abcdef").build().expect("client");
    let before = memory_kib("VmRSS:");
    // Linux resets the peak (VmHWM) to the current RSS on writing 5 to clear_refs.
    let reset = std::fs::write("/proc/self/clear_refs", "5").is_ok();
    let answer = runtime.block_on(list_samples(&client));
    let peak = memory_kib("VmHWM:");
    // With the body freed, what stays is the decoded answer.
    let holding = memory_kib("VmRSS:");
    let samples = answer.samples.len();
    drop(answer);
    let body_mib = body.len() as f64 / (1024.0 * 1024.0);
    let extra_mib = peak.saturating_sub(before) as f64 / 1024.0;
    let note = if reset { "" } else { " (peak not resettable here: an upper bound)" };
    let answer_mib = holding.saturating_sub(before) as f64 / 1024.0;
    println!(
        "bench decode memory: {:.1} MB list ({samples} samples): peak RSS {extra_mib:.0} MiB over the {:.0} MiB before the call, \
         {:.2}x the body's {body_mib:.0} MiB; the decoded answer holds {answer_mib:.0} MiB, so the call needed {:.2}x the body \
         beyond its result{note}",
        body.len() as f64 / MB,
        before as f64 / 1024.0,
        extra_mib / body_mib,
        (extra_mib - answer_mib) / body_mib,
    );
}

/// A `/proc/self/status` figure in KiB (`VmRSS:`, `VmHWM:`).
fn memory_kib(field: &str) -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|line| line.strip_prefix(field))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// A lower bound for any model that owns its strings: the JSON parse plus one `String` per
/// string value, kept in a vector sized beforehand, with no struct, no key matching and no
/// number or date conversion.
fn owned_strings(body: &Bytes) -> Vec<String> {
    struct Strings<'a>(&'a mut Vec<String>);
    impl<'de> serde::de::DeserializeSeed<'de> for Strings<'_> {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
            deserializer.deserialize_any(self)
        }
    }
    impl<'de> serde::de::Visitor<'de> for Strings<'_> {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("any JSON value")
        }
        fn visit_bool<E>(self, _: bool) -> Result<(), E> {
            Ok(())
        }
        fn visit_i64<E>(self, _: i64) -> Result<(), E> {
            Ok(())
        }
        fn visit_u64<E>(self, _: u64) -> Result<(), E> {
            Ok(())
        }
        fn visit_f64<E>(self, _: f64) -> Result<(), E> {
            Ok(())
        }
        fn visit_unit<E>(self) -> Result<(), E> {
            Ok(())
        }
        fn visit_str<E>(self, value: &str) -> Result<(), E> {
            self.0.push(value.to_owned());
            Ok(())
        }
        fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut items: A) -> Result<(), A::Error> {
            while items.next_element_seed(Strings(&mut *self.0))?.is_some() {}
            Ok(())
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(self, mut entries: A) -> Result<(), A::Error> {
            while entries.next_key::<serde::de::IgnoredAny>()?.is_some() {
                entries.next_value_seed(Strings(&mut *self.0))?;
            }
            Ok(())
        }
    }
    // About 30 string values a sample; sized so the vector never grows during the run.
    let mut strings = Vec::with_capacity(body.len() / 40);
    serde::de::DeserializeSeed::deserialize(Strings(&mut strings), &mut serde_json::Deserializer::from_slice(body)).expect("valid JSON");
    strings
}

/// What an awaited call does with a buffered JSON answer: `FromResponse` for the model type.
fn decode(body: &Bytes) -> ListSamplesResponse {
    static LIST_SAMPLES: Operation = Operation {
        id: "listSamples",
        method: Method::Get,
        path: "/api/{projectId}/raw-data",
        security: &[],
        response: ResponseKind::Json,
        service: &edge_impulse_api::services::PRIMARY,
    };
    // A clone of `Bytes` shares the buffer: nothing is copied.
    ListSamplesResponse::from_response(RawResponse::buffered(&LIST_SAMPLES, 200, body.clone())).expect("the answer decodes")
}

async fn list_samples(client: &Client) -> ListSamplesResponse {
    client.raw_data().list_samples(PROJECT_ID, RawDataCategoryQuery::Training).await.expect("list_samples")
}

/// The body's length, read the way a hand-written client would.
async fn fetch(http: &reqwest::Client, url: &str) -> usize {
    let response = http.get(url).header("x-api-key", "ei_bench_0123456789abcdef").send().await.expect("GET");
    response.error_for_status().expect("200").bytes().await.expect("body").len()
}

/// The time of each run; what a run returns is dropped after the clock stopped, as a
/// caller keeps an answer after the call.
fn time_runs<T>(runs: usize, mut run: impl FnMut() -> T) -> Vec<Duration> {
    (0..runs)
        .map(|_| {
            let started = Instant::now();
            let output = black_box(run());
            let elapsed = started.elapsed();
            drop(output);
            elapsed
        })
        .collect()
}

fn millis(durations: &[Duration]) -> Vec<f64> {
    durations.iter().map(|d| d.as_secs_f64() * 1000.0).collect()
}

fn report(name: &str, what: &str, mb_per_s: &[f64]) {
    let Summary { median, min, max, runs } = summarize(mb_per_s);
    println!("bench {name}: {what}, median {median:.0} MB/s (min {min:.0}, max {max:.0}), {runs} runs");
}

/// Decodes the answer once and checks that it is what was built: every optional field set on
/// every sample (serde ignores unknown keys, so a misspelt key would otherwise go unnoticed
/// and make the decode look cheaper than it is). Returns the number of samples.
fn check_answer(body: &Bytes) -> usize {
    let answer = decode(body);
    assert_eq!(answer.total_count, answer.samples.len() as i64);
    for sample in &answer.samples {
        let Sample {
            signature_method,
            signature_key,
            device_name,
            total_length_ms,
            thumbnail_video,
            thumbnail_video_full,
            processing_job_id,
            processing_error_string,
            metadata,
            project_owner_name,
            project_name,
            project_labeling_method,
            structured_labels,
            structured_labels_list,
            created_by_synthetic_data_job_id,
            image_dimensions,
            ..
        } = sample;
        let set = [
            ("signatureMethod", signature_method.is_some()),
            ("signatureKey", signature_key.is_some()),
            ("deviceName", device_name.is_some()),
            ("totalLengthMs", total_length_ms.is_some()),
            ("thumbnailVideo", thumbnail_video.is_some()),
            ("thumbnailVideoFull", thumbnail_video_full.is_some()),
            ("processingJobId", processing_job_id.is_some()),
            ("processingErrorString", processing_error_string.is_some()),
            ("metadata", metadata.is_some()),
            ("projectOwnerName", project_owner_name.is_some()),
            ("projectName", project_name.is_some()),
            ("projectLabelingMethod", project_labeling_method.is_some()),
            ("structuredLabels", structured_labels.is_some()),
            ("structuredLabelsList", structured_labels_list.is_some()),
            ("createdBySyntheticDataJobId", created_by_synthetic_data_job_id.is_some()),
            ("imageDimensions", image_dimensions.is_some()),
        ];
        if let Some((name, _)) = set.iter().find(|(_, is_set)| !is_set) {
            panic!("sample {}: `{name}` was built but did not decode", sample.id);
        }
    }
    answer.samples.len()
}

/// A `listSamples` answer of at least `target` bytes, compact as the API sends it.
fn list_samples_answer(target: usize) -> Vec<u8> {
    let mut body = Vec::with_capacity(target + 8192);
    body.extend_from_slice(br#"{"success":true,"samples":["#);
    let mut count = 0u64;
    while body.len() < target {
        if count > 0 {
            body.push(b',');
        }
        serde_json::to_writer(&mut body, &sample(count)).expect("serializes");
        count += 1;
    }
    body.extend_from_slice(format!(r#"],"totalCount":{count}}}"#).as_bytes());
    body
}

/// Deterministic pseudo-random numbers (SplitMix64), so every run builds the same answer.
struct Numbers(u64);

impl Numbers {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn hex(&mut self, len: usize) -> String {
        let mut out = String::with_capacity(len);
        while out.len() < len {
            out.push_str(&format!("{:016x}", self.next()));
        }
        out.truncate(len);
        out
    }
}

const LABELS: &[&str] = &["idle", "wave", "snake", "updown", "circle", "noise", "faucet", "coffee-machine"];

/// One sample as the API lists it. A quarter are images with bounding boxes, the rest
/// accelerometer recordings; every field of the schema is present, optional ones included.
fn sample(index: u64) -> serde_json::Value {
    let mut n = Numbers(index);
    let id = 180_000_000 + index as i64 * 7;
    let is_image = index % 4 == 0;
    let label = n.pick(LABELS);
    let created = timestamp(1_690_000_000 + index as i64 * 97, n.below(1000) as u32);
    let modified = timestamp(1_700_000_000 + index as i64 * 13, n.below(1000) as u32);
    let added = timestamp(1_690_000_100 + index as i64 * 97, n.below(1000) as u32);
    let hash = n.hex(64);
    let (interval_ms, frequency, sensors, values_count, length_ms) = if is_image {
        (0.0, 0.0, json!([{ "name": "image", "units": "rgba" }]), 1, 0.0)
    } else {
        let frequency = [62.5, 100.0, 16000.0][n.below(3) as usize];
        let values = 100 + n.below(900) as i64;
        let sensors = json!([
            { "name": "accX", "units": "m/s2" },
            { "name": "accY", "units": "m/s2" },
            { "name": "accZ", "units": "m/s2" },
        ]);
        (1000.0 / frequency, frequency, sensors, values, values as f64 * 1000.0 / frequency)
    };
    let boxes: Vec<serde_json::Value> = match is_image {
        true => (0..1 + n.below(4))
            .map(|_| {
                json!({
                    "label": n.pick(LABELS),
                    "x": n.below(280), "y": n.below(200),
                    "width": 8 + n.below(120), "height": 8 + n.below(120),
                })
            })
            .collect(),
        false => Vec::new(),
    };
    let segments = 1 + n.below(3) as i64;
    let segment_len = values_count.max(segments) / segments;
    let structured: Vec<serde_json::Value> = (0..segments)
        .map(|s| {
            json!({
                "startIndex": s * segment_len,
                "endIndex": (s + 1) * segment_len - 1,
                "label": n.pick(LABELS),
            })
        })
        .collect();
    let mut label_list: Vec<&str> = structured.iter().filter_map(|s| s["label"].as_str()).collect();
    label_list.sort_unstable();
    label_list.dedup();
    json!({
        "id": id,
        "filename": format!("{label}.{}.{}", &hash[..12], if is_image { "jpg" } else { "json" }),
        "signatureValidate": index % 5 != 0,
        "signatureMethod": "HS256",
        "signatureKey": n.hex(32),
        "created": created,
        "lastModified": modified,
        "category": n.pick(&["training", "training", "training", "testing"]),
        "coldstorageFilename": format!("ingestion/{PROJECT_ID}/{}/{}.cbor", &created[..10], n.hex(24)),
        "label": label,
        "intervalMs": interval_ms,
        "frequency": frequency,
        "originalIntervalMs": interval_ms,
        "originalFrequency": frequency,
        "deviceName": format!("{}:{}", n.pick(&["nano33", "thingy53", "rpi4", "phone"]), n.hex(12)),
        "deviceType": n.pick(&["ARDUINO_NANO33BLE", "NORDIC_THINGY53", "RASPBERRY_PI", "MOBILE_CLIENT"]),
        "sensors": sensors,
        "valuesCount": values_count,
        "totalLengthMs": length_ms,
        "added": added,
        "boundingBoxes": boxes,
        "boundingBoxesType": n.pick(&["object_detection", "constrained_object_detection"]),
        "chartType": if is_image { "image" } else { n.pick(&["chart", "chart", "table", "video"]) },
        "thumbnailVideo": format!("/api/{PROJECT_ID}/raw-data/{id}/video-thumbnail"),
        "thumbnailVideoFull": format!("/api/{PROJECT_ID}/raw-data/{id}/video-thumbnail-full"),
        "isDisabled": index % 17 == 0,
        "isProcessing": false,
        "processingJobId": 9_000_000 + index as i64,
        "processingError": index % 23 == 0,
        "processingErrorString": "Failed to decode \"frame 3\": unexpected end of stream\n(ffmpeg exited with code 1)",
        "isCropped": index % 3 == 0,
        "metadata": {
            "site": n.pick(&["Amsterdam", "São Paulo", "Zürich", "東京"]),
            "collected_by": format!("user-{}", n.below(40)),
            "session": n.hex(8),
            "firmware": format!("v{}.{}.{}", n.below(3), n.below(10), n.below(20)),
        },
        "projectId": PROJECT_ID,
        "projectOwnerName": "Edge Impulse Benchmarks",
        "projectName": "Gesture & object detection (béta)",
        "projectLabelingMethod": if is_image { "object_detection" } else { "single_label" },
        "sha256Hash": hash,
        "structuredLabels": structured,
        "structuredLabelsList": label_list,
        "createdBySyntheticDataJobId": 7_000_000 + index as i64 / 10,
        "imageDimensions": { "width": 320, "height": 240 },
    })
}

/// RFC 3339 in UTC with milliseconds, as the API writes dates.
fn timestamp(seconds: i64, millis: u32) -> String {
    chrono::DateTime::from_timestamp(seconds, millis * 1_000_000)
        .expect("a valid timestamp")
        .to_rfc3339_opts(SecondsFormat::Millis, true)
}
