//! `Client::request`: any method and path with the client's base URL, credentials, retries
//! and error handling, answering JSON values, own types, nothing, files or redirects.

use std::time::Duration;

use edge_impulse_api::{Client, Download, Envelope, Error, Method, Redirect, RetryPolicy};
use serde_json::{json, Value};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const API_KEY: &str = "ei_escape_hatch_key_93ab";
const JWT: &str = "eyJescape.hatch.jwt77";

fn client(server: &MockServer) -> Client {
    Client::builder()
        .base_url(format!("{}/v1", server.uri()))
        .api_key(API_KEY)
        .retry(RetryPolicy::new().initial_backoff(Duration::from_millis(1)).jitter(false))
        .build()
        .unwrap()
}

#[tokio::test]
async fn get_with_query_into_a_json_value() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/api/12/new-feature/items"))
        .and(query_param("limit", "5"))
        .and(query_param("tag", "a b"))
        .and(query_param("existing", "1"))
        .and(header("x-api-key", API_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true, "items": [1, 2, 3]})))
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&server);
    let mut request = client.request::<Value>(Method::Get, "/api/12/new-feature/items?existing=1");
    request.query("limit", &5).query("tag", &"a b");
    let answer = request.await.unwrap();
    assert_eq!(answer["items"], json!([1, 2, 3]));
}

#[derive(Debug, serde::Deserialize)]
struct Created {
    id: i64,
    name: String,
}

// Own types say whether a body is the API's failure envelope; this one never is.
impl Envelope for Created {}

#[tokio::test]
async fn post_a_json_body_into_an_own_type() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/api/12/widgets"))
        .and(header("content-type", "application/json"))
        .and(body_json(json!({"name": "sensor", "size": 3})))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"id": 99, "name": "sensor"})))
        .expect(1)
        .mount(&server)
        .await;

    let client = client(&server);
    let mut request = client.request::<Created>(Method::Post, "/api/12/widgets");
    request.json(&json!({"name": "sensor", "size": 3}));
    let created = request.await.unwrap();
    assert_eq!((created.id, created.name.as_str()), (99, "sensor"));
}

#[tokio::test]
async fn failures_surface_like_generated_operations() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/api/12/envelope"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": false, "error": "Project not found"})))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/api/12/missing"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": "No such thing"})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/api/12/not-json"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>", "text/html"))
        .mount(&server)
        .await;
    let client = client(&server);

    let error = client.request::<Value>(Method::Get, "/api/12/envelope").await.unwrap_err();
    assert_eq!(error.to_string(), "custom: the API reported a failure (HTTP 200): Project not found");

    let error = client.request::<()>(Method::Delete, "/api/12/missing").await.unwrap_err();
    let Error::Status { operation: "custom", status: 404, messages, .. } = &error else { panic!("{error:?}") };
    assert_eq!(messages, &["No such thing"]);

    let error = client.request::<Value>(Method::Get, "/api/12/not-json").await.unwrap_err();
    assert!(matches!(error, Error::Decode { operation: "custom", .. }), "{error:?}");
    assert!(!format!("{error} {error:?}").contains(API_KEY));
}

#[tokio::test]
async fn retries_apply() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/api/12/flaky"))
        .respond_with(ResponseTemplate::new(503))
        .up_to_n_times(2)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET")).and(path("/v1/api/12/flaky")).respond_with(ResponseTemplate::new(200).set_body_json(json!({"ok": 1}))).mount(&server).await;
    let answer = client(&server).request::<Value>(Method::Get, "/api/12/flaky").await.unwrap();
    assert_eq!(answer["ok"], 1);
    assert_eq!(server.received_requests().await.unwrap().len(), 3);
}

#[tokio::test]
async fn files_are_streamed_as_downloads() {
    let server = MockServer::start().await;
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 256) as u8).collect();
    Mock::given(method("GET"))
        .and(path("/v1/api/12/export.zip"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(body.clone(), "application/zip")
                .insert_header("content-disposition", "attachment; filename=\"export.zip\""),
        )
        .mount(&server)
        .await;
    let download = client(&server).request::<Download>(Method::Get, "/api/12/export.zip").await.unwrap();
    assert_eq!(download.content_length(), Some(body.len() as u64));
    assert_eq!(download.content_type(), Some("application/zip"));
    assert_eq!(download.file_name().as_deref(), Some("export.zip"));
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("export.zip");
    assert_eq!(download.save(&target).await.unwrap(), body.len() as u64);
    assert_eq!(std::fs::read(&target).unwrap(), body);
}

#[tokio::test]
async fn redirects_and_empty_answers() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/api/12/go"))
        .respond_with(ResponseTemplate::new(302).insert_header("location", "/elsewhere/file"))
        .mount(&server)
        .await;
    Mock::given(method("PUT")).and(path("/v1/api/12/settings")).respond_with(ResponseTemplate::new(204)).mount(&server).await;
    let client = client(&server);

    let redirect = client.request::<Redirect>(Method::Get, "/api/12/go").await.unwrap();
    assert_eq!(redirect.status, 302);
    assert_eq!(redirect.location, format!("{}/elsewhere/file", server.uri()));

    let mut request = client.request::<()>(Method::Put, "/api/12/settings");
    request.json(&json!({"enabled": true}));
    request.await.unwrap();
}

#[tokio::test]
async fn a_jwt_client_sends_the_jwt_header() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1/api/user/new"))
        .and(header("x-jwt-token", JWT))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(1)
        .mount(&server)
        .await;
    let client = Client::builder().base_url(format!("{}/v1", server.uri())).jwt(JWT).build().unwrap();
    client.request::<Value>(Method::Get, "/api/user/new").await.unwrap();
    let request = &server.received_requests().await.unwrap()[0];
    assert!(request.headers.get("x-api-key").is_none());
    assert!(request.headers.get("cookie").is_none(), "the header is preferred to the cookie");
}
