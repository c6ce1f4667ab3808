//! How failures surface: the success:false envelope, HTTP statuses, decode errors, timeouts.

mod common;

use std::time::Duration;

use common::*;
use edge_impulse_api::models::RawDataCategoryQuery;
use edge_impulse_api::{Client, Error, TimeLimit};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn answering(body: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path("/api/1/raw-data/count")).respond_with(body).mount(&server).await;
    server
}

async fn count_samples(server: &MockServer) -> Result<i64, Error> {
    let client = client(server, true, false);
    client.raw_data().count_samples(1, RawDataCategoryQuery::Training).await.map(|a| a.count)
}

#[tokio::test]
async fn failure_envelope_lacking_required_fields_is_an_api_error() {
    // CountSamplesResponse requires `count`, which the failure body does not have.
    let server = answering(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": false, "error": "boom"}))).await;
    let error = expect_err(count_samples(&server).await);
    match &error {
        Error::Api { operation, status, message } => {
            assert_eq!((*operation, *status, message.as_str()), ("countSamples", 200, "boom"));
        }
        other => panic!("expected Error::Api, got {other:?}"),
    }
    assert_eq!(error.status(), Some(200));
    assert_eq!(error.operation(), Some("countSamples"));
    assert_eq!(error.to_string(), "countSamples: the API reported a failure (HTTP 200): boom");
}

#[tokio::test]
async fn failure_envelope_that_decodes_is_still_an_api_error() {
    // GenericApiResponse has only `success` and `error`: the failure body decodes into it.
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/5/raw-data/clear-all-object-detection-labels"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": false, "error": "boom"})))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, true, false);
    let error = expect_err(client.raw_data().clear_all_object_detection_labels(5).await);
    assert!(
        matches!(&error, Error::Api { operation: "clearAllObjectDetectionLabels", status: 200, message } if message == "boom"),
        "{error:?}"
    );
}

#[tokio::test]
async fn failure_envelope_without_a_message_is_still_a_failure() {
    let server = answering(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": false}))).await;
    let error = expect_err(count_samples(&server).await);
    assert!(matches!(&error, Error::Api { operation: "countSamples", message, .. } if message.is_empty()), "{error:?}");
}

#[tokio::test]
async fn status_error_extracts_the_error_field() {
    let server = answering(ResponseTemplate::new(500).set_body_json(serde_json::json!({"success": false, "error": "database is down"})),
    )
    .await;
    let error = expect_err(count_samples(&server).await);
    match &error {
        Error::Status { operation, status, messages, body } => {
            assert_eq!(*operation, "countSamples");
            assert_eq!(*status, 500);
            assert_eq!(messages, &["database is down"]);
            assert!(body.contains("database is down"), "{body}");
        }
        other => panic!("expected Error::Status, got {other:?}"),
    }
    assert_eq!(error.status(), Some(500));
    let text = error.to_string();
    assert!(text.starts_with("countSamples: HTTP 500 (database is down)"), "{text}");
}

#[tokio::test]
async fn status_error_extracts_problem_json_detail() {
    let problem = serde_json::json!({
        "type": "https://example.com/probs/out-of-credit",
        "title": "Not Found",
        "status": 404,
        "detail": "Project 1 does not exist"
    });
    let server = answering(ResponseTemplate::new(404).set_body_raw(serde_json::to_vec(&problem).unwrap(), "application/problem+json"),
    )
    .await;
    let error = expect_err(count_samples(&server).await);
    let Error::Status { status: 404, messages, .. } = &error else { panic!("expected a 404 Error::Status, got {error:?}") };
    assert!(messages.iter().any(|m| m == "Project 1 does not exist"), "{messages:?}");
    assert!(error.to_string().contains("Project 1 does not exist"));
}

#[tokio::test]
async fn status_error_extracts_validation_messages_with_locations() {
    let body = serde_json::json!({
        "type": "https://stoplight.io/prism/errors#UNPROCESSABLE_ENTITY",
        "title": "Invalid request",
        "status": 422,
        "detail": "Your request is not valid and no HTTP validation response was found in the spec",
        "validation": [
            {"location": ["query", "category"], "severity": "Error", "code": "enum", "message": "must be equal to one of the allowed values"},
            {"location": ["body", "items", 2, "name"], "severity": "Error", "code": "required", "message": "must have required property 'name'"},
            {"message": "no location"}
        ]
    });
    let server = answering(ResponseTemplate::new(422).set_body_json(body)).await;
    let error = expect_err(count_samples(&server).await);
    let Error::Status { status: 422, messages, .. } = &error else { panic!("expected a 422 Error::Status, got {error:?}") };
    assert!(messages.contains(&"query.category: must be equal to one of the allowed values".to_owned()), "{messages:?}");
    assert!(messages.contains(&"body.items.2.name: must have required property 'name'".to_owned()), "{messages:?}");
    assert!(messages.contains(&"no location".to_owned()), "{messages:?}");
    assert!(messages.iter().any(|m| m.starts_with("Your request is not valid")), "{messages:?}");
}

#[tokio::test]
async fn status_error_with_a_non_json_body_keeps_the_text() {
    let html = "<html><body><h1>500 Internal Server Error</h1></body></html>";
    let server = answering(ResponseTemplate::new(500).set_body_raw(html, "text/html")).await;
    let error = expect_err(count_samples(&server).await);
    let Error::Status { status: 500, messages, body, .. } = &error else { panic!("{error:?}") };
    assert!(messages.is_empty(), "{messages:?}");
    assert_eq!(body, html);
}

#[tokio::test]
async fn status_error_body_snippet_is_bounded() {
    // 200 KiB of JSON whose message sits past the first 64 KiB: neither is kept whole.
    let filler = "x".repeat(200 * 1024);
    let body = format!(r#"{{"padding":"{filler}","error":"too late to see"}}"#);
    let server = answering(ResponseTemplate::new(500).set_body_raw(body.clone(), "application/json")).await;
    let error = expect_err(count_samples(&server).await);
    let Error::Status { status: 500, messages, body: snippet, .. } = &error else { panic!("{error:?}") };
    assert!(snippet.len() <= 2048 + '…'.len_utf8(), "snippet is {} bytes", snippet.len());
    assert!(snippet.ends_with('…'), "a cut snippet says so");
    assert!(body.starts_with(snippet.trim_end_matches('…')));
    // Only the first 64 KiB are read, so the body is not valid JSON and has no message.
    assert!(messages.is_empty(), "{messages:?}");
    assert!(error.to_string().len() < 4096, "the message stays short");
}

#[tokio::test]
async fn status_error_snippet_cuts_at_a_character_boundary() {
    // 'é' is two bytes; 1500 of them put a character across the 2048-byte cut.
    let body = "é".repeat(1500);
    let server = answering(ResponseTemplate::new(500).set_body_raw(body.clone(), "text/plain; charset=utf-8")).await;
    let error = expect_err(count_samples(&server).await);
    let Error::Status { body: snippet, .. } = &error else { panic!("{error:?}") };
    let kept = snippet.trim_end_matches('…');
    assert!(!kept.contains('\u{fffd}'), "no replacement character at the cut");
    assert_eq!(kept.chars().count(), 1024);
    assert!(body.starts_with(kept));
}

#[tokio::test]
async fn decode_error_names_the_operation_and_the_json_path() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/3/apikeys"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "success": true,
            "apiKeys": [
                {"id": 1, "apiKey": "ei_other_1", "isDevelopmentKey": true, "name": "dev", "created": "2024-05-01T10:00:00Z", "role": "admin"},
                {"id": 2, "apiKey": "ei_other_2", "isDevelopmentKey": false, "name": "ci", "created": 1714557600, "role": "readonly"}
            ]
        })))
        .mount(&server)
        .await;
    let client = client(&server, true, false);
    let error = expect_err(client.projects().list_project_api_keys(3).await);
    match &error {
        Error::Decode { operation, path, message, body } => {
            assert_eq!(*operation, "listProjectApiKeys");
            assert_eq!(path, "apiKeys[1].created");
            assert!(message.contains("invalid type"), "{message}");
            assert!(body.contains("\"created\":1714557600"), "the body is kept for inspection: {body}");
        }
        other => panic!("expected Error::Decode, got {other:?}"),
    }
    let text = error.to_string();
    assert!(text.contains("listProjectApiKeys") && text.contains("apiKeys[1].created"), "{text}");
}

#[tokio::test]
async fn decode_error_for_a_missing_field_names_its_parent() {
    let server = answering(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": true}))).await;
    let error = expect_err(count_samples(&server).await);
    let Error::Decode { operation: "countSamples", message, .. } = &error else { panic!("{error:?}") };
    assert!(message.contains("missing field `count`"), "{message}");
}

#[tokio::test]
async fn decode_error_for_a_body_that_is_not_json() {
    let server = answering(ResponseTemplate::new(200).set_body_raw("<html>login</html>", "text/html")).await;
    let error = expect_err(count_samples(&server).await);
    let Error::Decode { operation: "countSamples", path, body, .. } = &error else { panic!("{error:?}") };
    assert_eq!(path, ".");
    assert_eq!(body, "<html>login</html>");
}

#[tokio::test]
async fn slow_answer_times_out_naming_the_operation() {
    let server = answering(ResponseTemplate::new(200).set_body_json(count_body(1)).set_delay(Duration::from_secs(5))).await;
    let client = Client::builder().base_url(server.uri()).api_key(API_KEY).timeout(Duration::from_millis(200)).build().unwrap();
    let error = expect_err(client.raw_data().count_samples(1, RawDataCategoryQuery::Training).await);
    assert!(matches!(error, Error::Timeout { operation: "countSamples", limit: TimeLimit::Answer(limit) } if limit == Duration::from_millis(200)), "{error:?}");
    assert_eq!(error.to_string(), "countSamples: timed out: no complete answer within 200ms (the request timeout, ClientBuilder::timeout)");
}

#[tokio::test]
async fn per_request_timeout_overrides_the_client() {
    let server = answering(ResponseTemplate::new(200).set_body_json(count_body(1)).set_delay(Duration::from_secs(5))).await;
    let client = client(&server, true, false); // no client-wide timeout
    let mut request = client.raw_data().count_samples(1, RawDataCategoryQuery::Training).into_request();
    request.timeout(Duration::from_millis(200));
    let error = expect_err(request.await);
    assert!(matches!(error, Error::Timeout { operation: "countSamples", .. }), "{error:?}");
}

#[tokio::test]
async fn refused_connection_is_a_transport_error() {
    // Bind a port, then free it, so nothing listens there.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let client = Client::builder().base_url(format!("http://127.0.0.1:{port}")).api_key(API_KEY).build().unwrap();
    // A POST, which is not retried, so the failure comes at once.
    let error = expect_err(client.raw_data().clear_all_object_detection_labels(1).await);
    assert!(matches!(error, Error::Transport { operation: "clearAllObjectDetectionLabels", .. }), "{error:?}");
    assert!(error.to_string().starts_with("clearAllObjectDetectionLabels: "));
}

#[tokio::test]
async fn configuration_errors_are_clear() {
    let error = expect_err(Client::builder().base_url("not a url").build());
    assert!(matches!(&error, Error::Config(message) if message.contains("not a url")), "{error:?}");
    let error = expect_err(Client::builder().base_url("ftp://example.com").build());
    assert!(matches!(&error, Error::Config(message) if message.contains("http")), "{error:?}");
    let error = expect_err(Client::builder().header("bad header", "x").build());
    assert!(matches!(&error, Error::Config(_)), "{error:?}");
    assert_eq!(error.operation(), None);
}

#[tokio::test]
async fn a_credential_that_is_not_a_header_value_is_rejected_without_echoing_it() {
    let server = MockServer::start().await;
    let secret = "ei_bad\nkey_123";
    // Refused by `build()`, not on the first call.
    let error = Client::builder().base_url(server.uri()).api_key(secret).build().unwrap_err();
    assert!(matches!(&error, Error::Config(message) if message.contains("API key")), "{error:?}");
    assert!(!format!("{error} {error:?}").contains("key_123"));
    assert!(server.received_requests().await.unwrap().is_empty(), "nothing was sent");
}

#[tokio::test]
async fn secrets_in_an_undecodable_answer_are_redacted_from_the_error() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/3/apikeys"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "success": true,
            "apiKeys": [{"id": 1, "apiKey": "ei_leaked_key_91b2", "isDevelopmentKey": true, "name": "dev", "created": 5, "role": "admin"}]
        })))
        .mount(&server)
        .await;
    let error = expect_err(client(&server, true, false).projects().list_project_api_keys(3).await);
    let Error::Decode { body, .. } = &error else { panic!("expected Error::Decode, got {error:?}") };
    assert!(body.contains("\"apiKey\":\"<redacted>\""), "the secret property is blanked: {body}");
    for shown in [error.to_string(), format!("{error:?}")] {
        assert!(!shown.contains("ei_leaked_key_91b2"), "{shown}");
    }
}

#[tokio::test]
async fn the_clients_own_credentials_are_redacted_from_status_errors() {
    // A server that echoes what it got must not put the credentials into our error.
    let echo = format!("{{\"error\": \"bad key {API_KEY}\", \"seen\": \"{JWT}\"}}");
    let server = answering(ResponseTemplate::new(401).set_body_raw(echo, "application/json")).await;
    let client = Client::builder().base_url(server.uri()).api_key(API_KEY).jwt(JWT).no_retries().build().unwrap();
    let error = expect_err(client.raw_data().count_samples(1, RawDataCategoryQuery::Training).await);
    match &error {
        Error::Status { status: 401, messages, body, .. } => {
            assert_eq!(messages, &vec!["bad key <redacted>".to_string()]);
            assert!(body.contains("<redacted>"), "{body}");
        }
        other => panic!("expected Error::Status, got {other:?}"),
    }
}
