//! Downloading 1 GiB with `deployment().download_build(..)` and `Download::save` /
//! `Download::save_with_progress` to a temporary file. Target: under 32 MB of memory.
//!
//! The server (on 127.0.0.1, in this process) generates the body on the fly from one 64 KiB
//! chunk. The client runs in a child process (this binary, started again), so its peak
//! resident set (`VmHWM`) is the client's alone; the child reports it along with its resident
//! set before the download, and the time taken (including the final `fsync`).
//!
//! Run: `cargo bench -p edge-impulse-api --bench download`

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use edge_impulse_api::Client;

use common::{mib, proc_status_kib, BenchBody, LoopbackServer, MB};

const BODY_BYTES: u64 = 1 << 30;
const CHUNK_BYTES: usize = 64 * 1024;
const PROJECT_ID: i64 = 4242;
const CHILD_FLAG: &str = "--download-child";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(at) = args.iter().position(|a| a == CHILD_FLAG) {
        let [base_url, path, mode] = &args[at + 1..] else {
            panic!("usage: {CHILD_FLAG} BASE_URL PATH save|progress");
        };
        child(base_url, Path::new(path), mode);
        return;
    }

    // Not zeros, in case anything on the way would treat a run of zeros specially.
    let chunk: bytes::Bytes = (0..CHUNK_BYTES).map(|i| (i.wrapping_mul(31) ^ (i >> 8)) as u8).collect();
    let path = format!("/api/{PROJECT_ID}/deployment/download");
    let server = LoopbackServer::start(move |request| match request.uri().path() == path {
        true => {
            let mut response = common::ok("application/zip", BenchBody::repeated(BODY_BYTES, chunk.clone()));
            response.headers_mut().insert(
                hyper::header::CONTENT_DISPOSITION,
                hyper::header::HeaderValue::from_static("attachment; filename=\"bench-arduino-v1.zip\""),
            );
            response
        }
        false => common::not_found(request),
    });

    let directory = tempfile::tempdir().expect("temporary directory");
    let exe = std::env::current_exe().expect("own executable");
    for mode in ["save", "progress"] {
        let target = directory.path().join(format!("deployment-{mode}.zip"));
        let output = Command::new(&exe)
            .args([CHILD_FLAG, &server.base_url, target.to_str().expect("UTF-8 temp path"), mode])
            .output()
            .expect("child process");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(output.status.success(), "download child failed: {stdout}{}", String::from_utf8_lossy(&output.stderr));
        let size = std::fs::metadata(&target).expect("downloaded file").len();
        assert_eq!(size, BODY_BYTES, "the file has the whole body");
        std::fs::remove_file(&target).expect("remove the downloaded file");
        print!("{stdout}");
    }
}

/// Downloads once and prints the figures.
fn child(base_url: &str, path: &Path, mode: &str) {
    // The runtime most applications use (`#[tokio::main]`).
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let client = Client::builder().base_url(base_url).api_key("ei_bench_0123456789abcdef").build().expect("client");
    let before_kib = proc_status_kib("VmHWM").expect("VmHWM in /proc/self/status");
    let mut progress_calls = 0u64;
    let started = Instant::now();
    let written = runtime.block_on(async {
        let download = client.deployment().download_build(PROJECT_ID, "arduino").await.expect("download_build");
        assert_eq!(download.content_length(), Some(BODY_BYTES));
        match mode {
            "save" => download.save(path).await,
            "progress" => download.save_with_progress(path, |_| progress_calls += 1).await,
            other => panic!("unknown mode {other}"),
        }
        .expect("save")
    });
    let elapsed = started.elapsed();
    let peak_kib = proc_status_kib("VmHWM").expect("VmHWM in /proc/self/status");
    assert_eq!(written, BODY_BYTES);
    let calls = match mode {
        "progress" => format!(", {progress_calls} progress calls"),
        _ => String::new(),
    };
    println!(
        "bench download ({mode}): {:.2} GiB to a file, {:.0} MB/s ({:.2} s incl. fsync), peak RSS {:.1} MiB (before the download {:.1} MiB){calls}",
        written as f64 / (1u64 << 30) as f64,
        written as f64 / MB / elapsed.as_secs_f64(),
        elapsed.as_secs_f64(),
        mib(peak_kib),
        mib(before_kib),
    );
}
