//! The uploader against a fake ingestion service on 127.0.0.1 (tests/common/ingestion.rs):
//! every header and part it sends, and an outcome for every file whatever the server does.
#![cfg(feature = "upload")]

mod common;
#[path = "common/ingestion.rs"]
mod ingestion;

use std::future::IntoFuture;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use edge_impulse_api::upload::{
    BoundingBox, Category, DataAcquisition, DocumentFormat, FileOutcome, Label, Sample, StructuredLabel, UploadError, UploadProgress,
};
use edge_impulse_api::{Client, RetryPolicy, Secret};
use hmac::Mac;
use ingestion::{accept_all, FakeIngestion, Reply};

use common::{assert_redacted, API_KEY};

/// A client whose ingestion host is the fake server; Studio's host is a closed port, so a
/// request that went there would fail.
fn client(server: &FakeIngestion) -> Client {
    Client::builder().base_url(closed_port_url()).ingestion_endpoint(&server.url).api_key(API_KEY).build().unwrap()
}

fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    format!("http://{}", listener.local_addr().unwrap())
}

/// Retries without waiting, so failing servers do not slow the tests.
fn quick_retries(attempts: u32) -> RetryPolicy {
    RetryPolicy::new().max_attempts(attempts).initial_backoff(Duration::from_millis(1)).jitter(false)
}

fn write(dir: &Path, relative: &str, data: &[u8]) -> std::path::PathBuf {
    let path = dir.join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(&path, data).unwrap();
    path
}

fn uploaded_id(outcome: &FileOutcome) -> i64 {
    match outcome {
        FileOutcome::Uploaded { sample_id: Some(id) } => *id,
        other => panic!("expected an upload with a sample id, got {other:?}"),
    }
}

fn failed(outcome: &FileOutcome) -> (&str, Option<u16>, bool) {
    match outcome {
        FileOutcome::Failed { message, status, may_be_stored } => {
            assert_redacted("a failed file's message", message);
            (message.as_str(), *status, *may_be_stored)
        }
        other => panic!("expected a failure, got {other:?}"),
    }
}

#[tokio::test]
async fn files_share_one_request_with_their_labels_files_metadata_and_encoded_label() {
    let server = FakeIngestion::start(accept_all).await;
    let dir = tempfile::tempdir().unwrap();
    let a = write(dir.path(), "a.jpg", b"jpeg-a");
    let report = client(&server)
        .upload()
        .category(Category::Training)
        .label("café au lait/2")
        .metadata("site", "Zürich")
        .sample(Sample::from_path(&a).bounding_box(BoundingBox::new("cup", 1, 2, 30, 40)).metadata("camera", "front"))
        .sample(Sample::from_bytes("b.png", &b"png-b"[..]).bounding_box(BoundingBox::new("saucer", 5, 6, 7, 8)).metadata("camera", "front"))
        .sample(Sample::from_reader("c.json", &b"{\"json\":1}"[..]).structured_label(StructuredLabel::new("up", 0, 9)).metadata("camera", "front"))
        .await
        .unwrap();

    let received = server.received();
    assert_eq!(received.len(), 1, "the three files share category, label and metadata: one request");
    let request = &received[0];
    assert_eq!((request.method.as_str(), request.path.as_str()), ("POST", "/api/training/files"));
    assert_eq!(request.header("x-api-key"), Some(API_KEY));
    assert_eq!(request.header("x-label"), Some("caf%C3%A9%20au%20lait%2F2"), "percent-encoded as encodeURIComponent");
    assert_eq!(request.header("x-no-label"), None);
    assert_eq!(request.header("x-disallow-duplicates"), Some("1"));
    assert_eq!(request.header("x-add-date-id"), None);
    assert_eq!(request.header("x-upload-source"), Some("EDGE_IMPULSE_RUST_CLIENT"));
    let metadata: serde_json::Value = serde_json::from_str(request.header("x-metadata").unwrap()).unwrap();
    assert_eq!(metadata, serde_json::json!({ "site": "Zürich", "camera": "front" }));
    assert!(request.header("x-metadata").unwrap().is_ascii());

    assert!(request.parts.iter().all(|p| p.name == "data"), "every file is a `data` part: {:?}", request.parts);
    assert_eq!(request.sample_names(), ["a.jpg", "b.png", "c.json"]);
    assert_eq!(request.part("a.jpg").data, b"jpeg-a");
    assert_eq!(request.part("a.jpg").content_type.as_deref(), Some("image/jpeg"));
    assert_eq!(request.part("b.png").data, b"png-b");
    assert_eq!(request.part("c.json").data, b"{\"json\":1}");
    assert_eq!(
        request.part("bounding_boxes.labels").json(),
        serde_json::json!({ "version": 1, "type": "bounding-box-labels", "boundingBoxes": {
            "a.jpg": [{ "label": "cup", "x": 1, "y": 2, "width": 30, "height": 40 }],
            "b.png": [{ "label": "saucer", "x": 5, "y": 6, "width": 7, "height": 8 }],
        }})
    );
    assert_eq!(
        request.part("structured_labels.labels").json(),
        serde_json::json!({ "version": 1, "type": "structured-labels", "structuredLabels": {
            "c.json": [{ "label": "up", "startIndex": 0, "endIndex": 9 }],
        }})
    );

    let ids: Vec<i64> = report.files.iter().map(|f| uploaded_id(&f.outcome)).collect();
    assert_eq!(ids, [1000, 1001, 1002]);
    assert_eq!(report.files[0].path.as_deref(), Some(a.as_path()));
    assert_eq!((report.requests, report.retries, report.bytes), (1, 0, 6 + 5 + 10));
    assert!(report.all_uploaded());
}

#[tokio::test]
async fn labels_and_categories_split_requests_and_use_their_headers() {
    let server = FakeIngestion::start(accept_all).await;
    let report = client(&server)
        .upload()
        .add_date_id(true)
        .allow_duplicates(true)
        .sample(Sample::from_bytes("idle.1.csv", &b"t,x\n0,1\n"[..]))
        .sample(Sample::from_bytes("x.csv", &b"t,x\n0,2\n"[..]).no_label().category(Category::Anomaly))
        .sample(Sample::from_bytes("y.csv", &b"t,x\n0,3\n"[..]).label("wave"))
        .await
        .unwrap();
    let mut received = server.received();
    received.sort_by(|a, b| a.path.cmp(&b.path).then(a.header("x-label").cmp(&b.header("x-label"))));
    assert_eq!(received.len(), 3);
    let anomaly = &received[0];
    assert_eq!(anomaly.path, "/api/anomaly/files");
    assert_eq!((anomaly.header("x-no-label"), anomaly.header("x-label")), (Some("1"), None));
    let inferred = &received[1];
    assert_eq!(inferred.path, "/api/split/files", "split is the default category");
    assert_eq!((inferred.header("x-no-label"), inferred.header("x-label")), (None, None), "no header: the server infers the label");
    assert_eq!(received[2].header("x-label"), Some("wave"));
    for request in &received {
        assert_eq!(request.header("x-add-date-id"), Some("1"));
        assert_eq!(request.header("x-disallow-duplicates"), None);
        assert_eq!(request.header("x-metadata"), None);
    }
    assert_eq!(report.files.iter().map(|f| f.category).collect::<Vec<_>>(), [Category::Split, Category::Anomaly, Category::Split]);
    assert!(report.all_uploaded());
}

#[tokio::test]
async fn a_directory_takes_categories_from_folders_and_labels_from_its_labels_files() {
    let server = FakeIngestion::start(accept_all).await;
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("export");
    write(&root, "training/idle.01.json", b"{\"a\":1}");
    write(&root, "testing/wave.01.json", b"{\"b\":2}");
    write(&root, "testing/unlabelled.cbor", b"\xa0");
    write(&root, "misc/walk.csv", b"t,x\n");
    write(&root, "images/cat.jpg", b"cat");
    write(&root, "images/dog.jpg", b"dog");
    write(&root, ".DS_Store", b"x");
    write(
        &root,
        "info.labels",
        br#"{"version": 1, "files": [
            {"path": "training/idle.01.json", "category": "training", "label": {"type": "label", "label": "idle"},
             "metadata": {"source": "export"}, "boundingBoxes": []},
            {"path": "testing/wave.01.json", "category": "testing", "label": {"type": "multi-label",
             "labels": [{"label": "wave", "startIndex": 0, "endIndex": 4}]}},
            {"path": "testing/unlabelled.cbor", "category": "testing", "label": {"type": "unlabeled"}}
        ]}"#,
    );
    write(
        &root,
        "images/bounding_boxes.labels",
        br#"{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {
            "cat.jpg": [{"label": "cat", "x": 1, "y": 2, "width": 3.0, "height": 4}], "dog.jpg": []}}"#,
    );

    let report = client(&server).upload().directory(&root).await.unwrap();
    let received = server.received();
    let find = |path: &str, name: &str| {
        received
            .iter()
            .find(|r| r.path == path && r.sample_names().iter().any(|n| n == name))
            .unwrap_or_else(|| panic!("no request to {path} with {name}: {received:?}"))
    };
    let idle = find("/api/training/files", "idle.01.json");
    assert_eq!(idle.header("x-label"), Some("idle"));
    assert_eq!(idle.header("x-metadata"), Some(r#"{"source":"export"}"#));
    let wave = find("/api/testing/files", "wave.01.json");
    assert_eq!(wave.header("x-label"), None);
    assert_eq!(wave.part("structured_labels.labels").json()["structuredLabels"]["wave.01.json"][0]["label"], "wave");
    let unlabelled = find("/api/testing/files", "unlabelled.cbor");
    assert_eq!(unlabelled.header("x-no-label"), Some("1"));
    let walk = find("/api/split/files", "walk.csv");
    assert_eq!(walk.header("x-label"), None);
    let images = find("/api/split/files", "cat.jpg");
    assert_eq!(images.sample_names(), ["cat.jpg", "dog.jpg", "walk.csv"], "files of one category, label and metadata share a request");
    let boxes = images.part("bounding_boxes.labels").json();
    assert_eq!(boxes["boundingBoxes"]["cat.jpg"], serde_json::json!([{ "label": "cat", "x": 1, "y": 2, "width": 3, "height": 4 }]));
    assert_eq!(boxes["boundingBoxes"]["dog.jpg"], serde_json::json!([]));
    assert!(received.iter().all(|r| r.sample_names().iter().all(|n| !n.ends_with(".labels") && n != ".DS_Store")));

    assert_eq!(report.files.len(), 6, "{report:?}");
    assert!(report.all_uploaded(), "{report}");
    assert_eq!(report.skipped.len(), 1);
    assert!(report.skipped[0].path.ends_with(".DS_Store"));
    let categories: Vec<_> = report.files.iter().map(|f| (f.file_name.as_str(), f.category)).collect();
    assert!(categories.contains(&("idle.01.json", Category::Training)));
    assert!(categories.contains(&("wave.01.json", Category::Testing)));
    assert!(categories.contains(&("walk.csv", Category::Split)));
}

#[tokio::test]
async fn each_file_gets_the_servers_own_outcome() {
    let server = FakeIngestion::start(|_, request| {
        let names = request.sample_names();
        Reply::Files(vec![
            serde_json::json!({ "success": true, "fileName": names[0], "sampleId": 11 }),
            serde_json::json!({ "success": false, "fileName": names[1], "error": "An item with this hash already exists (ids: 11)" }),
            serde_json::json!({ "success": false, "fileName": names[2], "error": format!("Failed to parse CSV file: no header row (key {API_KEY})") }),
            // Entries out of order are matched by name.
            serde_json::json!({ "success": true, "fileName": names[4], "sampleId": 15 }),
            serde_json::json!({ "success": true, "fileName": names[3] }),
        ])
    })
    .await;
    let report = client(&server)
        .upload()
        .samples((0..5).map(|i| Sample::from_bytes(format!("s{i}.csv"), format!("t,x\n0,{i}\n"))))
        .await
        .unwrap();
    let outcomes: Vec<_> = report.files.iter().map(|f| &f.outcome).collect();
    assert_eq!(*outcomes[0], FileOutcome::Uploaded { sample_id: Some(11) });
    assert_eq!(*outcomes[1], FileOutcome::Duplicate { message: "An item with this hash already exists (ids: 11)".into(), after_retry: false });
    let (message, status, may_be_stored) = failed(outcomes[2]);
    assert_eq!(message, "Failed to parse CSV file: no header row (key <redacted>)");
    assert_eq!((status, may_be_stored), (None, false));
    assert_eq!(*outcomes[3], FileOutcome::Uploaded { sample_id: None });
    assert_eq!(*outcomes[4], FileOutcome::Uploaded { sample_id: Some(15) });
    assert_eq!((report.uploaded().count(), report.duplicates().count(), report.failed().count()), (3, 1, 1));
    let summary = report.to_string();
    assert_redacted("the report", &summary);
    assert!(summary.starts_with("5 files: 3 uploaded, 1 duplicates, 1 failed, 0 skipped"), "{summary}");
    assert!(summary.contains("s2.csv: Failed to parse CSV file"), "{summary}");
}

#[tokio::test]
async fn a_short_or_missing_list_leaves_no_file_without_an_outcome() {
    let server = FakeIngestion::start(|number, request| match number {
        0 => Reply::Files(vec![serde_json::json!({ "success": true, "fileName": request.sample_names()[0], "sampleId": 1 })]),
        1 => Reply::Json(200, serde_json::json!({ "success": true })),
        _ => Reply::Json(200, serde_json::json!({ "success": false, "error": "Project is full" })),
    })
    .await;
    let report = client(&server)
        .upload()
        .concurrency(1)
        .max_files_per_request(3)
        .samples((0..9).map(|i| Sample::from_bytes(format!("s{i}.json"), format!("{{\"v\":{i}}}"))))
        .await
        .unwrap();
    assert_eq!(report.files.len(), 9);
    assert_eq!(report.files[0].outcome, FileOutcome::Uploaded { sample_id: Some(1) });
    for file in &report.files[1..3] {
        let (message, status, may_be_stored) = failed(&file.outcome);
        assert_eq!(message, "the server's answer lists 1 results for 3 files and none for this one");
        assert_eq!((status, may_be_stored), (Some(200), true));
    }
    for file in &report.files[3..6] {
        let (message, _, may_be_stored) = failed(&file.outcome);
        assert_eq!(message, "the server answered 200 without the per-file list (`files`)");
        assert!(may_be_stored);
    }
    for file in &report.files[6..9] {
        assert_eq!(failed(&file.outcome).0, "the server answered without a per-file list: Project is full");
    }
    assert_eq!(report.requests, 3, "a 200 is not retried");
}

#[tokio::test]
async fn text_statuses_fail_every_file_with_the_servers_words_and_only_5xx_is_retried() {
    for (status, text, attempts) in [
        (401, format!("Invalid API key: {API_KEY}"), 1),
        (421, "Missing header x-api-key".to_owned(), 1),
        (400, "Invalid message".to_owned(), 1),
        (500, "Internal server error: disk full".to_owned(), 3),
    ] {
        let answer = text.clone();
        let server = FakeIngestion::start(move |_, _| Reply::Text(status, answer.clone())).await;
        let report = client(&server)
            .upload()
            .retry(quick_retries(3))
            .samples((0..2).map(|i| Sample::from_bytes(format!("s{i}.csv"), format!("t\n{i}\n"))))
            .await
            .unwrap();
        assert_eq!(server.received().len(), attempts, "HTTP {status}");
        assert_eq!(report.requests, attempts as u64);
        for file in &report.files {
            let (message, got_status, may_be_stored) = failed(&file.outcome);
            assert_eq!(got_status, Some(status));
            let expected = format!("uploadFiles: HTTP {status}: {}", text.replace(API_KEY, "<redacted>"));
            assert_eq!(message, expected);
            assert_eq!(may_be_stored, status >= 500, "HTTP {status}");
        }
    }
}

#[tokio::test]
async fn an_html_page_is_a_clear_failure_not_a_panic() {
    // 200 with a page: the request was processed, the answer is unreadable; not retried.
    let server = FakeIngestion::start(|_, _| Reply::Html(200)).await;
    let report = client(&server).upload().retry(quick_retries(3)).sample(Sample::from_bytes("a.wav", &b"RIFF"[..])).await.unwrap();
    let (message, status, may_be_stored) = failed(&report.files[0].outcome);
    assert!(message.contains("does not match the expected type"), "{message}");
    assert_eq!((status, may_be_stored, server.received().len()), (None, true, 1));

    // 502 with a page: a gateway; retried, then the status and the page's text.
    let server = FakeIngestion::start(|_, _| Reply::Html(502)).await;
    let report = client(&server).upload().retry(quick_retries(2)).sample(Sample::from_bytes("a.wav", &b"RIFF"[..])).await.unwrap();
    let (message, status, _) = failed(&report.files[0].outcome);
    assert!(message.ends_with("HTTP 502: 502 Bad Gateway nginx"), "the page's words, not its markup: {message}");
    assert_eq!((status, server.received().len()), (Some(502), 2));
}

#[tokio::test]
async fn a_cut_connection_is_retried_when_duplicates_are_refused() {
    let server = FakeIngestion::start_with_cuts(|number| number == 0, accept_all).await;
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<_> = (0..3).map(|i| write(dir.path(), &format!("f{i}.csv"), &vec![b'1'; 300_000])).collect();
    let report = client(&server).upload().retry(quick_retries(3)).files(&paths).await.unwrap();
    assert_eq!((server.started(), server.received().len()), (2, 1));
    assert_eq!((report.requests, report.retries), (2, 1));
    assert!(report.all_uploaded(), "{report}");
    assert_eq!(server.received()[0].part("f2.csv").data.len(), 300_000, "the retry sends the files in full again");

    // The server had stored them before the connection broke: the retry is refused as
    // duplicates, and the outcome says the copy may be the first attempt's.
    let server = FakeIngestion::start(|number, request| match number {
        0 => Reply::Cut,
        _ => Reply::Files(request.sample_names().iter().map(|n| serde_json::json!({ "success": false, "fileName": n, "error": "An item with this hash already exists" })).collect()),
    })
    .await;
    let report = client(&server).upload().retry(quick_retries(3)).files(&paths).await.unwrap();
    assert!(report.files.iter().all(|f| matches!(f.outcome, FileOutcome::Duplicate { after_retry: true, .. })), "{report:?}");
}

#[tokio::test]
async fn with_duplicates_allowed_only_what_provably_did_not_arrive_is_retried() {
    let server = FakeIngestion::start_with_cuts(|number| number == 0, accept_all).await;
    let report = client(&server)
        .upload()
        .allow_duplicates(true)
        .retry(quick_retries(3))
        .sample(Sample::from_bytes("a.csv", vec![b'1'; 500_000]))
        .await
        .unwrap();
    assert_eq!(server.started(), 1, "a cut upload may have arrived: not sent again");
    let (message, status, may_be_stored) = failed(&report.files[0].outcome);
    assert!(!message.is_empty());
    assert_eq!((status, may_be_stored), (None, true));

    // 429 means the server took nothing: sent again.
    let server = FakeIngestion::start(|number, request| if number == 0 { Reply::Text(429, "slow down".into()) } else { accept_all(number, request) }).await;
    let report = client(&server).upload().allow_duplicates(true).retry(quick_retries(3)).sample(Sample::from_bytes("a.csv", &b"1"[..])).await.unwrap();
    assert_eq!((server.received().len(), report.retries), (2, 1));
    assert!(report.all_uploaded());

    // No server at all: nothing arrived, every attempt is made, then the files fail.
    let client = Client::builder().ingestion_endpoint(closed_port_url()).api_key(API_KEY).build().unwrap();
    let report = client.upload().allow_duplicates(true).retry(quick_retries(3)).sample(Sample::from_bytes("a.csv", &b"1"[..])).await.unwrap();
    assert_eq!(report.requests, 3);
    let (message, _, may_be_stored) = failed(&report.files[0].outcome);
    assert!(message.contains("could not connect"), "{message}");
    assert!(!may_be_stored);
}

#[tokio::test]
async fn checks_name_every_file_before_anything_is_sent() {
    let server = FakeIngestion::start(accept_all).await;
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.wav");
    std::fs::File::create(&big).unwrap().set_len(100 * 1024 * 1024 + 1).unwrap();
    let text = write(dir.path(), "notes.txt", b"hello");
    let missing = dir.path().join("missing.jpg");
    let malformed = write(dir.path(), "bounding_boxes.labels", br#"{"version": 1, "type": "bounding-box-labels", "boundingBoxes": {"a.jpg": [{"label": "x", "x": "1"}]}}"#);
    let good = write(dir.path(), "a.jpg", b"jpg");

    let error = client(&server).upload().files([&good, &big, &text, &missing, &malformed]).await.unwrap_err();
    let UploadError::Checks(failures) = &error else { panic!("{error:?}") };
    let found: Vec<_> = failures.iter().map(|f| (f.path.file_name().unwrap().to_str().unwrap(), f.problem.as_str())).collect();
    assert_eq!(found.len(), 4, "{found:?}");
    assert_eq!(found[0].0, "bounding_boxes.labels");
    assert!(found[0].1.starts_with("malformed labels file: at `boundingBoxes.a.jpg[0].x`"), "{}", found[0].1);
    assert_eq!(found[1].0, "big.wav");
    assert!(found[1].1.contains("over the ingestion service's limit"), "{}", found[1].1);
    assert_eq!(found[2].0, "notes.txt");
    assert!(found[2].1.starts_with("unsupported extension `.txt`"), "{}", found[2].1);
    assert_eq!(found[3].0, "missing.jpg");
    assert!(found[3].1.starts_with("unreadable:"), "{}", found[3].1);
    let message = error.to_string();
    assert!(message.starts_with("4 files cannot be uploaded: "), "{message}");
    assert!(message.contains("notes.txt: unsupported extension"), "{message}");

    let empty = dir.path().join("empty");
    std::fs::create_dir_all(empty.join("training")).unwrap();
    let error = client(&server).upload().directory(&empty).await.unwrap_err();
    assert_eq!(error, UploadError::EmptyDirectory(empty.clone()));
    assert!(error.to_string().contains("the directory has no file to upload"));

    let error = client(&server).upload().await.unwrap_err();
    assert_eq!(error, UploadError::Nothing);
    assert_eq!(server.started(), 0, "nothing is sent when a check fails");

    // A directory's unsupported file fails the checks, or is skipped and listed on request.
    let mixed = dir.path().join("mixed");
    write(&mixed, "a.csv", b"t\n1\n");
    write(&mixed, "README.md", b"# data");
    let error = client(&server).upload().directory(&mixed).await.unwrap_err();
    assert!(error.to_string().contains("README.md: unsupported extension `.md`"), "{error}");
    let report = client(&server).upload().directory(&mixed).skip_unsupported(true).await.unwrap();
    assert_eq!((report.files.len(), report.skipped.len()), (1, 1));
    assert!(report.skipped[0].reason.starts_with("unsupported extension `.md`"));
}

#[tokio::test]
async fn requests_hold_at_most_the_files_and_bytes_allowed_and_progress_adds_up() {
    let server = FakeIngestion::start(accept_all).await;
    let seen = Arc::new(Mutex::new(Vec::<UploadProgress>::new()));
    let record = seen.clone();
    let report = client(&server)
        .upload()
        .max_files_per_request(10)
        .max_request_bytes(2500)
        .concurrency(3)
        .samples((0..25).map(|i| Sample::from_bytes(format!("s{i:02}.csv"), vec![b'x'; 100])))
        .sample(Sample::from_bytes("big.csv", vec![b'y'; 6000]))
        // The same name twice goes in two requests (answers and labels name files).
        .sample(Sample::from_bytes("s00.csv", vec![b'z'; 10]))
        .on_progress(move |p| record.lock().unwrap().push(*p))
        .await
        .unwrap();
    let received = server.received();
    let mut sizes: Vec<usize> = received.iter().map(|r| r.sample_names().len()).collect();
    sizes.sort();
    assert_eq!(sizes.iter().sum::<usize>(), 27);
    assert!(received.iter().all(|r| r.sample_names().len() <= 10));
    assert!(received.iter().any(|r| r.sample_names() == ["big.csv"]), "a file over the budget goes alone");
    assert!(received.iter().all(|r| r.sample_names().iter().filter(|n| *n == "s00.csv").count() <= 1));
    assert!(report.all_uploaded());

    let seen = seen.lock().unwrap();
    assert_eq!(seen.first().unwrap().files_done, 0);
    let last = seen.last().unwrap();
    assert_eq!((last.files_done, last.files_total, last.uploaded), (27, 27, 27));
    assert_eq!((last.bytes_done, last.bytes_total), (25 * 100 + 6000 + 10, 8510));
    assert_eq!(seen.len(), received.len() + 1);
    assert!(seen.windows(2).all(|w| w[0].files_done < w[1].files_done && w[0].bytes_done < w[1].bytes_done));
}

#[tokio::test]
async fn dropping_the_upload_stops_it() {
    let server = FakeIngestion::start(|_, _| Reply::Hang).await;
    let client = client(&server);
    let upload = client.upload().concurrency(1).max_files_per_request(1).samples((0..5).map(|i| Sample::from_bytes(format!("s{i}.csv"), vec![b'x'; 10])));
    let result = tokio::time::timeout(Duration::from_millis(500), upload.into_future()).await;
    assert!(result.is_err(), "the server never answers");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(server.started(), 1, "no request after the upload was dropped");
}

#[tokio::test]
async fn a_signed_data_acquisition_document_goes_to_the_data_endpoint() {
    let key = Secret::new("a-development-hmac-key");
    let document = DataAcquisition::new("TEST_DEVICE", 16.0)
        .device_name("ac:87:a3:0a:2d:1b")
        .sensor("accX", "m/s2")
        .sensor("accY", "m/s2")
        .rows([[-9.81, 0.03], [-9.83, 0.04]])
        .issued_at(1_700_000_000);
    let json = document.encode(DocumentFormat::Json, Some(&key)).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(value["protected"], serde_json::json!({ "ver": "v1", "alg": "HS256", "iat": 1_700_000_000 }));
    assert_eq!(value["payload"]["sensors"][1], serde_json::json!({ "name": "accY", "units": "m/s2" }));
    assert_eq!(value["payload"]["values"], serde_json::json!([[-9.81, 0.03], [-9.83, 0.04]]));
    assert_eq!(value["payload"]["interval_ms"], 16.0);
    // The signature is the HMAC of the same bytes with 64 zeros in its place.
    let signature = value["signature"].as_str().unwrap().to_owned();
    assert_eq!(signature.len(), 64);
    let zeroed = String::from_utf8(json.clone()).unwrap().replace(&signature, &"0".repeat(64));
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"a-development-hmac-key").unwrap();
    mac.update(zeroed.as_bytes());
    let expected: String = mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(signature, expected);

    let unsigned = document.encode(DocumentFormat::Json, None).unwrap();
    let value: serde_json::Value = serde_json::from_slice(&unsigned).unwrap();
    assert_eq!((value["protected"]["alg"].as_str(), value["signature"].as_str()), (Some("none"), Some("0".repeat(64).as_str())));

    // CBOR: the same document; the signature covers the CBOR bytes.
    let cbor = document.encode(DocumentFormat::Cbor, Some(&key)).unwrap();
    let decoded: serde_json::Value = ciborium::from_reader(&cbor[..]).unwrap();
    assert_eq!(decoded["payload"]["device_type"], "TEST_DEVICE");
    let signature = decoded["signature"].as_str().unwrap().to_owned();
    let at = cbor.windows(64).position(|w| w == signature.as_bytes()).unwrap();
    let mut zeroed = cbor.clone();
    zeroed[at..at + 64].copy_from_slice(&[b'0'; 64]);
    let mut mac = hmac::Hmac::<sha2::Sha256>::new_from_slice(b"a-development-hmac-key").unwrap();
    mac.update(&zeroed);
    assert_eq!(signature, mac.finalize().into_bytes().iter().map(|b| format!("{b:02x}")).collect::<String>());

    let error = DataAcquisition::new("D", 10.0).sensor("a", "u").row([1.0, 2.0]).encode(DocumentFormat::Json, None).unwrap_err();
    assert_eq!(error.to_string(), "data acquisition document: row 0 has 2 values for 1 sensors");

    let server = FakeIngestion::start(|_, _| Reply::Text(200, "OK".into())).await;
    let answer = client(&server)
        .upload_data_acquisition(Category::Testing, "walk 1.cbor", &Label::Named("walk".into()), DocumentFormat::Cbor, cbor.clone())
        .await
        .unwrap();
    assert_eq!(answer, "OK");
    let request = &server.received()[0];
    assert_eq!(request.path, "/api/testing/data");
    assert_eq!(request.header("x-file-name"), Some("walk%201.cbor"));
    assert_eq!(request.header("x-label"), Some("walk"));
    assert_eq!(request.header("content-type"), Some("application/cbor"));
    assert_eq!(request.header("x-api-key"), Some(API_KEY));
    assert_eq!(request.body, cbor);
    assert!(!format!("{key:?}").contains("a-development-hmac-key"));
}

#[tokio::test]
async fn a_file_gone_after_the_checks_fails_alone() {
    let server = FakeIngestion::start(accept_all).await;
    let dir = tempfile::tempdir().unwrap();
    let keep = write(dir.path(), "keep.csv", b"t\n1\n");
    let gone = write(dir.path(), "gone.csv", b"t\n2\n");
    let remove = gone.clone();
    let report = client(&server)
        .upload()
        .files([&keep, &gone])
        // The first report comes after the checks, before any request.
        .on_progress(move |p| {
            if p.files_done == 0 {
                let _ = std::fs::remove_file(&remove);
            }
        })
        .await
        .unwrap();
    assert_eq!(report.files[0].outcome, FileOutcome::Uploaded { sample_id: Some(1000) });
    let (message, status, may_be_stored) = failed(&report.files[1].outcome);
    assert!(message.starts_with(&format!("reading {}: ", gone.display())), "{message}");
    assert_eq!((status, may_be_stored), (None, false));
    assert_eq!(server.received()[0].sample_names(), ["keep.csv"]);
}
