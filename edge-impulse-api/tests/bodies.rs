//! Request bodies: multipart uploads (from memory and from disk) and JSON bodies.

mod common;

use common::multipart::*;
use common::*;
use edge_impulse_api::models::{self, RawDataCategoryQuery, UploadPretrainedModelRequestModelFileType};
use edge_impulse_api::{Error, FilePart};
use wiremock::matchers::{header as header_is, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// Binary content with CR, LF, NUL and dashes in it.
fn binary(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(7).wrapping_add(seed)).chain(*b"\r\n--\0\r\n").collect()
}

fn generic_ok() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": true}))
}

#[tokio::test]
async fn multipart_file_from_bytes() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/6/raw-data/data-explorer/screenshot"))
        .and(header_is("x-api-key", API_KEY))
        .respond_with(generic_ok())
        .expect(1)
        .mount(&server)
        .await;

    let image = binary(5000, 1);
    let body = models::UploadImageRequest::new(FilePart::from_bytes(image.clone()).file_name("explorer.png").content_type("image/png"));
    let client = client(&server, true, false);
    let answer = client.raw_data().upload_data_explorer_screenshot(6, body).await.unwrap();
    assert!(answer.success);

    let request = single_request(&server).await;
    let parts = parse_multipart(&request);
    assert_eq!(parts.len(), 1, "{parts:?}");
    assert_eq!(parts[0].name, "image");
    assert_eq!(parts[0].file_name.as_deref(), Some("explorer.png"));
    assert_eq!(parts[0].content_type.as_deref(), Some("image/png"));
    assert_eq!(parts[0].data, image);
}

#[tokio::test]
async fn multipart_files_from_disk_with_text_fields() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/6/pretrained-model/upload"))
        .and(query_param("impulseId", "2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": true, "id": 4242})))
        .expect(1)
        .mount(&server)
        .await;

    let dir = tempfile::tempdir().unwrap();
    let model_path = dir.path().join("model.tflite");
    let model = binary(200 * 1024, 3);
    std::fs::write(&model_path, &model).unwrap();
    let mut features_file = tempfile::NamedTempFile::new_in(dir.path()).unwrap();
    let features = binary(3000, 9);
    std::io::Write::write_all(&mut features_file, &features).unwrap();

    let mut body = models::UploadPretrainedModelRequest::new(
        FilePart::from_path(&model_path),
        "model.tflite".into(),
        UploadPretrainedModelRequestModelFileType::Tflite,
    );
    body.representative_features =
        Some(FilePart::from_path(features_file.path()).file_name("features.npy").content_type("application/x-npy"));
    body.device = Some("cortex-m4f-80mhz".into());

    let client = client(&server, false, true);
    let job = client.learn().upload_pretrained_model(6, body).impulse_id(2).await.unwrap();
    assert_eq!(job.id, 4242);

    let request = single_request(&server).await;
    assert_eq!(header(&request, "x-jwt-token"), Some(JWT));
    let parts = parse_multipart(&request);
    let names: Vec<&str> = parts.iter().map(|p| p.name.as_str()).collect();
    assert_eq!(names, ["modelFile", "modelFileName", "modelFileType", "representativeFeatures", "device"]);

    // A path is named after its last component; the default content type is octet-stream.
    assert_eq!(parts[0].file_name.as_deref(), Some("model.tflite"));
    assert_eq!(parts[0].content_type.as_deref(), Some("application/octet-stream"));
    assert_eq!(parts[0].data, model);

    assert_eq!((parts[1].file_name.as_deref(), parts[1].data.as_slice()), (None, b"model.tflite".as_slice()));
    assert_eq!(parts[2].data, b"tflite", "enums are sent as their wire value");
    assert_eq!(parts[2].file_name, None);

    assert_eq!(parts[3].file_name.as_deref(), Some("features.npy"));
    assert_eq!(parts[3].content_type.as_deref(), Some("application/x-npy"));
    assert_eq!(parts[3].data, features);

    assert_eq!(parts[4].data, b"cortex-m4f-80mhz");
}

#[tokio::test]
async fn multipart_list_of_files_repeats_the_field() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/organizations/31/data/add"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"success": true, "id": 55})))
        .expect(1)
        .mount(&server)
        .await;

    let files = vec![
        FilePart::from_bytes(&b"a,b\n1,2\n"[..]).file_name("one.csv").content_type("text/csv"),
        FilePart::from_bytes(binary(100, 5)).file_name("två.bin"),
    ];
    let mut body = models::OrganizationAddDataItemRequest::new("item-1".into(), "Dataset A".into(), r#"{"site":"north"}"#.into(), files);
    body.bucket_id = Some(12);
    let client = client(&server, true, false);
    let created = client.organization_data().add_organization_data_item(31, body).await.unwrap();
    assert_eq!(created.id, 55);

    let parts = parse_multipart(&single_request(&server).await);
    let summary: Vec<(&str, Option<&str>, &[u8])> =
        parts.iter().map(|p| (p.name.as_str(), p.file_name.as_deref(), p.data.as_slice())).collect();
    assert_eq!(
        summary[..5],
        [
            ("name", None, b"item-1".as_slice()),
            ("bucketId", None, b"12".as_slice()),
            ("dataset", None, b"Dataset A".as_slice()),
            ("metadata", None, br#"{"site":"north"}"#.as_slice()),
            ("files[]", Some("one.csv"), b"a,b\n1,2\n".as_slice()),
        ]
    );
    assert_eq!(parts.len(), 6);
    assert_eq!(parts[4].content_type.as_deref(), Some("text/csv"));
    assert_eq!(parts[5].name, "files[]");
    assert_eq!(parts[5].file_name.as_deref(), Some("två.bin"));
    assert_eq!(parts[5].data, binary(100, 5));
}

#[tokio::test]
async fn multipart_file_that_does_not_exist_fails_before_sending() {
    let server = MockServer::start().await;
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.png");
    let body = models::UploadImageRequest::new(FilePart::from_path(&missing));
    let client = client(&server, true, false);
    let error = expect_err(client.raw_data().upload_data_explorer_screenshot(6, body).await);
    match &error {
        Error::Io { operation, context, source } => {
            assert_eq!(*operation, "uploadDataExplorerScreenshot");
            assert!(context.contains("missing.png"), "{context}");
            assert_eq!(source.kind(), std::io::ErrorKind::NotFound);
        }
        other => panic!("expected Error::Io, got {other:?}"),
    }
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn multipart_invalid_content_type_is_an_invalid_request() {
    let server = MockServer::start().await;
    let body = models::UploadImageRequest::new(FilePart::from_bytes(vec![1, 2, 3]).content_type("not a mime type"));
    let client = client(&server, true, false);
    let error = expect_err(client.raw_data().upload_data_explorer_screenshot(6, body).await);
    assert!(
        matches!(&error, Error::InvalidRequest { operation: "uploadDataExplorerScreenshot", message } if message.contains("not a mime type")),
        "{error:?}"
    );
    assert!(server.received_requests().await.unwrap().is_empty());
}

#[tokio::test]
async fn json_body_with_required_query_and_optional_filters() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/8/raw-data/batch/add-metadata"))
        .and(header_is("content-type", "application/json"))
        .respond_with(generic_ok())
        .expect(1)
        .mount(&server)
        .await;

    let body = models::BatchAddMetadataRequest::new("site".into(), "north \"A\"".into());
    let client = client(&server, true, false);
    client.raw_data().batch_add_metadata(8, RawDataCategoryQuery::Testing, &body).labels(r#"["idle","wave"]"#).await.unwrap();

    let request = single_request(&server).await;
    let sent: serde_json::Value = request.body_json().unwrap();
    assert_eq!(sent, serde_json::json!({"metadataKey": "site", "metadataValue": "north \"A\""}));
    let query: Vec<(String, String)> = request.url.query_pairs().map(|(k, v)| (k.into(), v.into())).collect();
    assert_eq!(query, [("category".to_owned(), "testing".to_owned()), ("labels".to_owned(), r#"["idle","wave"]"#.to_owned())]);
}

#[tokio::test]
async fn json_body_keeps_absent_and_null_apart() {
    let server = MockServer::start().await;
    Mock::given(method("PUT")).and(path("/api/whitelabel/3")).respond_with(generic_ok()).expect(3).mount(&server).await;
    let client = client(&server, true, false);

    let mut body = models::UpdateWhitelabelInternalRequest::new();
    client.whitelabels().update_whitelabel(3, &body).await.unwrap();
    body.organizations_limit = Some(None);
    client.whitelabels().update_whitelabel(3, &body).await.unwrap();
    body.organizations_limit = Some(Some(25));
    client.whitelabels().update_whitelabel(3, &body).await.unwrap();

    let bodies: Vec<String> =
        server.received_requests().await.unwrap().iter().map(|r| String::from_utf8(r.body.clone()).unwrap()).collect();
    assert_eq!(bodies, ["{}", r#"{"organizationsLimit":null}"#, r#"{"organizationsLimit":25}"#]);
}
