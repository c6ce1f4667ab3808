//! The ingestion service's generated calls (`client.ingestion()`): they go to the ingestion
//! host with the same API key, send their header parameters and every file part, and read its
//! text answers; Studio calls still go to the Studio host.

#![cfg(feature = "ingestion")]

mod common;

use common::multipart::parse_multipart;
use common::*;
use edge_impulse_api::ingestion::models::{Category, UploadFilesForm, UploadFilesResponse};
use edge_impulse_api::{Client, Error, FilePart, TypedBody};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A client whose Studio and ingestion hosts are two loopback servers.
fn two_host_client(studio: &MockServer, ingestion: &MockServer) -> Client {
    Client::builder().base_url(studio.uri()).ingestion_endpoint(ingestion.uri()).api_key(API_KEY).build().expect("client")
}

fn files_answer(names: &[&str]) -> serde_json::Value {
    let files: Vec<serde_json::Value> = names
        .iter()
        .enumerate()
        .map(|(i, name)| serde_json::json!({ "success": true, "fileName": name, "sampleId": 100 + i }))
        .collect();
    serde_json::json!({ "success": true, "files": files })
}

/// A multipart part as the tests compare it: field name, file name, content type, bytes.
type SeenPart<'a> = (&'a str, Option<&'a str>, Option<&'a str>, &'a [u8]);

#[tokio::test]
async fn a_multi_file_upload_goes_to_the_ingestion_host_with_every_part_and_header() {
    let (studio, ingestion) = (MockServer::start().await, MockServer::start().await);
    Mock::given(method("POST"))
        .and(path("/api/split/files"))
        .respond_with(ResponseTemplate::new(200).set_body_json(files_answer(&["idle.01.json", "wave.02.wav", "bounding_boxes.labels"])))
        .expect(1)
        .mount(&ingestion)
        .await;
    let client = two_host_client(&studio, &ingestion);
    assert_eq!(client.service_url("ingestion"), Some(ingestion.uri().as_str()));

    let files = vec![
        FilePart::from_bytes(&b"{\"payload\":{}}"[..]).file_name("idle.01.json").content_type("application/json"),
        FilePart::from_bytes(vec![0u8, 1, 2, 255]).file_name("wave.02.wav").content_type("audio/wav"),
        FilePart::from_bytes(&b"{\"version\":1}"[..]).file_name("bounding_boxes.labels"),
    ];
    let answer: UploadFilesResponse = client
        .ingestion()
        .upload_files(Category::Split, UploadFilesForm::new(files))
        .x_label("idle ü/2")
        .x_disallow_duplicates(1)
        .x_add_date_id(1)
        .x_metadata(r#"{"site":"lab"}"#)
        .x_bounding_boxes("[]")
        .x_upload_source("EDGE_IMPULSE_RUST")
        .await
        .expect("the upload succeeds");
    let stored: Vec<(Option<&str>, Option<i64>)> =
        answer.files.as_deref().unwrap_or_default().iter().map(|f| (f.file_name.as_deref(), f.sample_id)).collect();
    assert_eq!(stored, [(Some("idle.01.json"), Some(100)), (Some("wave.02.wav"), Some(101)), (Some("bounding_boxes.labels"), Some(102))]);

    let request = single_request(&ingestion).await;
    assert!(studio.received_requests().await.unwrap().is_empty(), "nothing went to the Studio host");
    assert_eq!(header(&request, "x-api-key"), Some(API_KEY), "the same API key as Studio's");
    // As the CLI's encodeIngestionHeader (encodeURIComponent) sends it.
    assert_eq!(header(&request, "x-label"), Some("idle%20%C3%BC%2F2"));
    assert_eq!(header(&request, "x-disallow-duplicates"), Some("1"));
    assert_eq!(header(&request, "x-add-date-id"), Some("1"));
    assert_eq!(header(&request, "x-metadata"), Some(r#"{"site":"lab"}"#));
    assert_eq!(header(&request, "x-bounding-boxes"), Some("[]"));
    assert_eq!(header(&request, "x-upload-source"), Some("EDGE_IMPULSE_RUST"));
    assert_eq!(header(&request, "x-no-label"), None, "an unset header is not sent");
    let parts = parse_multipart(&request);
    let seen: Vec<SeenPart<'_>> =
        parts.iter().map(|p| (p.name.as_str(), p.file_name.as_deref(), p.content_type.as_deref(), p.data.as_slice())).collect();
    assert_eq!(
        seen,
        [
            ("data", Some("idle.01.json"), Some("application/json"), &b"{\"payload\":{}}"[..]),
            ("data", Some("wave.02.wav"), Some("audio/wav"), &[0u8, 1, 2, 255][..]),
            ("data", Some("bounding_boxes.labels"), Some("application/octet-stream"), &b"{\"version\":1}"[..]),
        ]
    );
}

#[tokio::test]
async fn a_text_error_of_the_ingestion_service_is_a_status_error_with_its_text() {
    let (studio, ingestion) = (MockServer::start().await, MockServer::start().await);
    let text = format!("Invalid API key {API_KEY}, or no API key given");
    Mock::given(method("POST"))
        .and(path("/api/training/files"))
        .respond_with(ResponseTemplate::new(401).set_body_raw(text.clone(), "text/plain"))
        .expect(1)
        .mount(&ingestion)
        .await;
    let client = two_host_client(&studio, &ingestion);
    let form = UploadFilesForm::new(vec![FilePart::from_bytes(&b"a,b\n1,2\n"[..]).file_name("x.csv")]);
    let error = expect_err(client.ingestion().upload_files(Category::Training, form).await);
    match &error {
        Error::Status { operation, status, body, .. } => {
            assert_eq!((*operation, *status), ("uploadFiles", 401));
            assert_eq!(body, "Invalid API key <redacted>, or no API key given", "the text, the key taken out");
        }
        other => panic!("expected Error::Status, got {other:?}"),
    }
    assert!(checked(&error).contains("Invalid API key <redacted>"), "{error}");
}

#[tokio::test]
async fn the_legacy_data_call_sends_cbor_with_its_file_name_and_reads_the_text_answer() {
    let (studio, ingestion) = (MockServer::start().await, MockServer::start().await);
    Mock::given(method("POST"))
        .and(path("/api/testing/data"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("wave.01.cbor.4f2a", "text/plain"))
        .expect(1)
        .mount(&ingestion)
        .await;
    let client = two_host_client(&studio, &ingestion);
    let cbor = vec![0xa3u8, 0x69, 0x70, 0x72];
    let answer = client
        .ingestion()
        .upload_data(Category::Testing, "wave 01.cbor", TypedBody::cbor(cbor.clone()))
        .x_label("wave")
        .await
        .expect("stored");
    assert_eq!(&answer.bytes().await.expect("the text")[..], b"wave.01.cbor.4f2a");
    let request = single_request(&ingestion).await;
    assert_eq!(header(&request, "content-type"), Some("application/cbor"));
    assert_eq!(header(&request, "x-file-name"), Some("wave%2001.cbor"));
    assert_eq!(header(&request, "x-api-key"), Some(API_KEY));
    assert_eq!(request.body, cbor);

    // A type the operation does not take is refused before anything is sent.
    let error = expect_err(client.ingestion().upload_data(Category::Testing, "x.csv", TypedBody::new("text/csv", "a,b")).await);
    assert!(matches!(&error, Error::InvalidRequest { operation: "uploadData", message } if message.contains("text/csv")), "{error:?}");
    assert_eq!(ingestion.received_requests().await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_studio_call_still_goes_to_the_studio_host() {
    let (studio, ingestion) = (MockServer::start().await, MockServer::start().await);
    Mock::given(method("GET"))
        .and(path("/api/7/raw-data/count"))
        .respond_with(ResponseTemplate::new(200).set_body_json(count_body(3)))
        .expect(1)
        .mount(&studio)
        .await;
    let client = two_host_client(&studio, &ingestion);
    let count = client
        .raw_data()
        .count_samples(7, edge_impulse_api::models::RawDataCategoryQuery::Training)
        .await
        .expect("the Studio call");
    assert_eq!(count.count, 3);
    assert!(ingestion.received_requests().await.unwrap().is_empty());
    assert_eq!(header(&single_request(&studio).await, "x-api-key"), Some(API_KEY));
}

#[test]
fn the_ingestion_host_defaults_to_the_public_one_and_an_unknown_service_is_refused() {
    let client = Client::builder().api_key(API_KEY).build().unwrap();
    assert_eq!(client.service_url("ingestion"), Some("https://ingestion.edgeimpulse.com"));
    let error = expect_err(Client::builder().service_url("ingest", "http://127.0.0.1:1").build());
    assert!(error.to_string().contains("no service named `ingest`"), "{error}");
    let error = expect_err(Client::builder().ingestion_endpoint("ftp://127.0.0.1").build());
    assert!(error.to_string().contains("`ingestion` URL"), "{error}");
}
