//! Path and query parameters as they reach the server.

mod common;

use chrono::{NaiveDate, TimeZone, Utc};
use common::*;
use edge_impulse_api::models::{FiltersDisabled, FiltersSignature, RawDataCategoryQuery};
use edge_impulse_api::{Error, Method};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn query_of(request: &wiremock::Request) -> Vec<(String, String)> {
    request.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect()
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
}

fn ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": true}))
}

#[tokio::test]
async fn string_path_parameter_is_encoded_as_one_segment() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/2/device/dev%20ice%2F01%3Fx%23%C3%A9%25%2B~._-"))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, true, false);
    let answer = client.devices().get_device(2, "dev ice/01?x#é%+~._-").await.unwrap();
    assert!(answer.device.is_none());
    let request = single_request(&server).await;
    assert_eq!(request.url.query(), None, "`?` and `#` in the value stay in the path");
}

#[tokio::test]
async fn several_path_parameters_fill_their_own_segments() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/admin/emails/ada%2Bci%40example.com/verification-code"))
        .respond_with(ok())
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/-5/raw-data/9000000000/raw"))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(b"x".to_vec()))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, true, false);
    client.admin().admin_get_email_verification_code("ada+ci@example.com").await.unwrap();
    let bytes = client.raw_data().get_sample_as_raw(-5, 9_000_000_000).await.unwrap().bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), b"x");
}

#[tokio::test]
async fn path_parameters_that_would_change_the_route_are_refused() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).respond_with(ok()).mount(&server).await;
    let client = client(&server, true, false);
    // URL parsing drops `.` and `..` segments (encoded or not), and an empty value leaves an
    // empty segment: each would reach another endpoint than `getDevice`.
    for value in ["..", ".", ""] {
        let error = expect_err(client.devices().get_device(2, value).await);
        match &error {
            Error::InvalidRequest { operation, message } => {
                assert_eq!(*operation, "getDevice");
                assert!(message.contains("deviceId"), "{message}");
            }
            other => panic!("{value:?}: expected Error::InvalidRequest, got {other:?}"),
        }
    }
    assert!(server.received_requests().await.unwrap().is_empty(), "nothing was sent");

    // Values that merely contain dots or look encoded are ordinary segments.
    client.devices().get_device(2, "...").await.unwrap();
    client.devices().get_device(2, "%2e%2E").await.unwrap();
    let paths: Vec<String> = server.received_requests().await.unwrap().iter().map(|r| r.url.path().to_owned()).collect();
    assert_eq!(paths, ["/api/2/device/...", "/api/2/device/%252e%252E"]);
}

#[tokio::test]
async fn required_and_optional_query_parameters() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/1/raw-data"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": true, "samples": [], "totalCount": 0})))
        .expect(2)
        .mount(&server)
        .await;
    let client = client(&server, true, false);

    // Only the required parameter when no setter is called.
    let answer = client.raw_data().list_samples(1, RawDataCategoryQuery::Training).await.unwrap();
    assert_eq!(answer.total_count, 0);

    client
        .raw_data()
        .list_samples(1, RawDataCategoryQuery::Anomaly)
        .limit(1)
        .limit(50) // a second call replaces the first
        .offset(0)
        .exclude_sensors(false)
        .labels(r#"["idle","wave & run"]"#)
        .min_frequency(62.5)
        .max_label(-0.25)
        .signature_validity(FiltersSignature::Both)
        .include_disabled(FiltersDisabled::Unknown("only-new".into()))
        .search("a=b&c d")
        .await
        .unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(query_of(&requests[0]), pairs(&[("category", "training")]));
    assert_eq!(
        query_of(&requests[1]),
        pairs(&[
            ("category", "anomaly"),
            ("limit", "50"),
            ("offset", "0"),
            ("excludeSensors", "false"),
            ("labels", r#"["idle","wave & run"]"#),
            ("minFrequency", "62.5"),
            ("maxLabel", "-0.25"),
            ("signatureValidity", "both"),
            ("includeDisabled", "only-new"),
            ("search", "a=b&c d"),
        ])
    );
    // Reserved characters are escaped on the wire, not sent raw.
    let raw = requests[1].url.query().unwrap();
    assert!(!raw.contains("a=b&c"), "{raw}");
}

#[tokio::test]
async fn date_time_query_parameters_are_rfc3339_utc() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/4/jobs/summary"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": true, "summary": []})))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/4/jobs/history"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": true, "jobs": [], "totalJobCount": 0})))
        .mount(&server)
        .await;
    let client = client(&server, true, false);

    let start = Utc.with_ymd_and_hms(2024, 1, 2, 3, 4, 5).unwrap();
    let end = Utc.with_ymd_and_hms(2024, 2, 29, 23, 59, 59).unwrap() + chrono::Duration::milliseconds(123);
    let summary = client.jobs().get_jobs_summary(4, start, end).await.unwrap();
    assert!(summary.summary.is_empty());
    client.jobs().list_finished_jobs(4).start_date(start).root_only(true).await.unwrap();

    let requests = server.received_requests().await.unwrap();
    assert_eq!(
        query_of(&requests[0]),
        pairs(&[("startDate", "2024-01-02T03:04:05Z"), ("endDate", "2024-02-29T23:59:59.123Z")])
    );
    assert_eq!(query_of(&requests[1]), pairs(&[("startDate", "2024-01-02T03:04:05Z"), ("rootOnly", "true")]));
}

#[tokio::test]
async fn custom_request_lists_dates_and_credentials() {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path("/api/9/new-endpoint")).respond_with(ok()).expect(1).mount(&server).await;
    let client = client(&server, true, false);

    let mut request = client.request::<serde_json::Value>(Method::Get, "/api/9/new-endpoint");
    request.query_each("ids", &[3, 1, 2]);
    request.query("day", &NaiveDate::from_ymd_opt(2024, 3, 9).unwrap());
    request.query("ids", &4); // `query` appends
    let answer = request.await.unwrap();
    assert_eq!(answer, serde_json::json!({"success": true}));

    let request = single_request(&server).await;
    assert_eq!(header(&request, "x-api-key"), Some(API_KEY), "the default security applies");
    assert_eq!(query_of(&request), pairs(&[("ids", "3"), ("ids", "1"), ("ids", "2"), ("day", "2024-03-09"), ("ids", "4")]));
}

#[tokio::test]
async fn custom_request_reports_the_failure_envelope() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/9/new-endpoint"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": false, "error": "nope"})))
        .mount(&server)
        .await;
    let client = client(&server, true, false);
    let mut request = client.request::<serde_json::Value>(Method::Post, "/api/9/new-endpoint");
    request.json(&serde_json::json!({"a": 1}));
    let error = expect_err(request.await);
    assert!(matches!(&error, Error::Api { operation: "custom", message, .. } if message == "nope"), "{error:?}");
}
