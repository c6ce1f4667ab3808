//! Observability: one span per call with operationId, method, path template, status,
//! latency and retry count; no credentials, filled-in paths or query values anywhere in what
//! the crate emits.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Debug;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use edge_impulse_api::models::RawDataCategoryQuery;
use edge_impulse_api::{Client, Method, RetryPolicy};
use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const API_KEY: &str = "ei_tracing_key_c0ffee42";
const JWT: &str = "eyJtracing.jwt.secret913";
const QUERY_SECRET: &str = "query-token-5551212";

/// A span or event as recorded: its name and every field, as text.
#[derive(Debug, Clone, Default)]
struct Recorded {
    name: String,
    fields: BTreeMap<String, String>,
}

/// Records the crate's spans (with their later `record`s) and events.
#[derive(Clone, Default)]
struct Capture {
    spans: Arc<Mutex<HashMap<u64, Recorded>>>,
    events: Arc<Mutex<Vec<Recorded>>>,
    next_id: Arc<AtomicU64>,
}

struct Fields<'a>(&'a mut BTreeMap<String, String>);

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.to_owned());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn Debug) {
        self.0.insert(field.name().to_owned(), format!("{value:?}"));
    }
}

impl Subscriber for Capture {
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.target().starts_with("edge_impulse_api")
    }
    fn new_span(&self, attributes: &Attributes<'_>) -> Id {
        let id = self.next_id.fetch_add(1, Ordering::SeqCst) + 1;
        let mut recorded = Recorded { name: attributes.metadata().name().to_owned(), fields: BTreeMap::new() };
        attributes.record(&mut Fields(&mut recorded.fields));
        self.spans.lock().unwrap().insert(id, recorded);
        Id::from_u64(id)
    }
    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Some(recorded) = self.spans.lock().unwrap().get_mut(&span.into_u64()) {
            values.record(&mut Fields(&mut recorded.fields));
        }
    }
    fn record_follows_from(&self, _: &Id, _: &Id) {}
    fn event(&self, event: &Event<'_>) {
        let mut recorded = Recorded { name: event.metadata().name().to_owned(), fields: BTreeMap::new() };
        event.record(&mut Fields(&mut recorded.fields));
        self.events.lock().unwrap().push(recorded);
    }
    fn enter(&self, _: &Id) {}
    fn exit(&self, _: &Id) {}
}

impl Capture {
    fn spans(&self) -> Vec<Recorded> {
        let spans = self.spans.lock().unwrap();
        let mut ids: Vec<_> = spans.keys().copied().collect();
        ids.sort();
        ids.iter().map(|id| spans[id].clone()).collect()
    }

    /// Everything recorded, as one text to search for leaks.
    fn all_text(&self) -> String {
        format!("{:?} {:?}", self.spans(), self.events.lock().unwrap())
    }

    fn assert_no_secrets(&self, also: &[&str]) {
        let text = self.all_text();
        for secret in [API_KEY, JWT, QUERY_SECRET].iter().chain(also) {
            assert!(!text.contains(secret), "`{secret}` shows in the traces: {text}");
        }
    }
}

fn client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(server.uri())
        .api_key(API_KEY)
        .jwt(JWT)
        .retry(RetryPolicy::new().initial_backoff(Duration::from_millis(1)).jitter(false))
        .build()
        .unwrap()
}

fn field<'r>(span: &'r Recorded, name: &str) -> Option<&'r str> {
    span.fields.get(name).map(String::as_str)
}

#[tokio::test]
async fn one_span_per_call_with_the_path_template() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/918273/raw-data/count"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": true, "count": 4})))
        .mount(&server)
        .await;

    client(&server).raw_data().count_samples(918273, RawDataCategoryQuery::Testing).await.unwrap();

    let spans = capture.spans();
    assert_eq!(spans.len(), 1, "{spans:?}");
    let span = &spans[0];
    assert_eq!(span.name, "edge_impulse_api.request");
    assert_eq!(field(span, "operation_id"), Some("countSamples"));
    assert_eq!(field(span, "method"), Some("GET"));
    assert_eq!(field(span, "path"), Some("/api/{projectId}/raw-data/count"));
    assert_eq!(field(span, "status"), Some("200"));
    assert_eq!(field(span, "retries"), Some("0"));
    assert!(field(span, "latency_ms").is_some_and(|ms| ms.parse::<u64>().is_ok()), "{span:?}");
    assert_eq!(field(span, "error"), None);
    // Neither the filled-in id nor the query value.
    capture.assert_no_secrets(&["918273", "testing"]);
}

#[tokio::test]
async fn retries_and_failures_are_recorded() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/5/raw-data/count"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/5/raw-data/count"))
        .respond_with(ResponseTemplate::new(404).set_body_json(serde_json::json!({"error": "gone"})))
        .mount(&server)
        .await;

    let error = client(&server).raw_data().count_samples(5, RawDataCategoryQuery::Training).await.unwrap_err();
    assert_eq!(error.status(), Some(404));

    let spans = capture.spans();
    assert_eq!(spans.len(), 1, "one span for the call, whatever the attempts: {spans:?}");
    assert_eq!(field(&spans[0], "retries"), Some("2"));
    assert_eq!(field(&spans[0], "status"), Some("404"));
    assert_eq!(field(&spans[0], "error"), Some("status"));
    let retry_events: Vec<_> = capture.events.lock().unwrap().iter().filter(|e| e.fields.get("status").map(String::as_str) == Some("503")).cloned().collect();
    assert_eq!(retry_events.len(), 2, "one event per retry");
    capture.assert_no_secrets(&[]);
}

#[tokio::test]
async fn connection_failures_are_recorded_without_the_url() {
    let capture = Capture::default();
    let _guard = tracing::subscriber::set_default(capture.clone());
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = Client::builder()
        .base_url(format!("http://127.0.0.1:{port}"))
        .api_key(API_KEY)
        .retry(RetryPolicy::new().max_attempts(3).initial_backoff(Duration::from_millis(1)).jitter(false))
        .build()
        .unwrap();
    let mut request = client.request::<serde_json::Value>(Method::Get, format!("/api/1/thing?token={QUERY_SECRET}"));
    request.query("code", &QUERY_SECRET);
    request.await.unwrap_err();

    let spans = capture.spans();
    assert_eq!(field(&spans[0], "path"), Some("/api/1/thing"), "the escape hatch's path, without its query");
    assert_eq!(field(&spans[0], "operation_id"), Some("custom"));
    assert_eq!(field(&spans[0], "retries"), Some("2"), "refused connections are retried");
    assert_eq!(field(&spans[0], "error"), Some("transport"));
    assert_eq!(field(&spans[0], "status"), None);
    capture.assert_no_secrets(&[]);
}
