//! Generated models on the wire: anyOf and tagged oneOf, open enums, optional vs nullable.

mod common;

use common::*;
use edge_impulse_api::models::{
    self, BatchAddMetadataResponse, DeployPretrainedModelInputAudio, DeployPretrainedModelInputImage,
    DeployPretrainedModelInputTimeSeries, DeployPretrainedModelModelClassification,
    DeployPretrainedModelModelObjectDetection, DeployPretrainedModelRequestModelInfo as ModelInfo,
    DeployPretrainedModelRequestModelInfoInput as Input, DeployPretrainedModelRequestModelInfoModel as Model,
    ListApiKeysResponseApiKeysItemRole as Role, ObjectDetectionLastLayer, RawDataCategoryQuery,
};
use edge_impulse_api::Error;
use serde_json::json;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

async fn batch_add_metadata(answer: serde_json::Value) -> Result<BatchAddMetadataResponse, Error> {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2/raw-data/batch/add-metadata"))
        .respond_with(ResponseTemplate::new(200).set_body_json(answer))
        .expect(1)
        .mount(&server)
        .await;
    let client = client(&server, true, false);
    let body = models::BatchAddMetadataRequest::new("k".into(), "v".into());
    client.raw_data().batch_add_metadata(2, RawDataCategoryQuery::Training, &body).await
}

#[tokio::test]
async fn any_of_with_a_job_id_is_the_job_variant() {
    match batch_add_metadata(json!({"success": true, "id": 123})).await.unwrap() {
        BatchAddMetadataResponse::StartJobResponse(job) => {
            assert_eq!(job.id, 123);
            assert!(job.success);
        }
        other => panic!("expected the StartJobResponse variant, got {other:?}"),
    }
}

#[tokio::test]
async fn any_of_without_a_job_id_is_the_generic_variant() {
    let answer = batch_add_metadata(json!({"success": true})).await.unwrap();
    assert!(
        matches!(&answer, BatchAddMetadataResponse::GenericApiResponse(generic) if generic.success && generic.error.is_none()),
        "{answer:?}"
    );
}

#[tokio::test]
async fn any_of_failure_is_an_api_error() {
    let error = expect_err(batch_add_metadata(json!({"success": false, "error": "no samples match"})).await);
    assert!(
        matches!(&error, Error::Api { operation: "batchAddMetadata", message, .. } if message == "no samples match"),
        "{error:?}"
    );
    // A failure that carries an id too is still a failure.
    let error = expect_err(batch_add_metadata(json!({"success": false, "error": "late", "id": 5})).await);
    assert!(matches!(&error, Error::Api { message, .. } if message == "late"), "{error:?}");
}

fn count(haystack: &str, needle: &str) -> usize {
    haystack.matches(needle).count()
}

/// Every variant of the `inputType` union in `DeployPretrainedModelRequest`, with its JSON.
fn tagged_inputs() -> Vec<(serde_json::Value, Input)> {
    vec![
        (
            json!({"inputType": "time-series", "frequencyHz": 100.0, "windowLengthMs": 2000}),
            Input::TimeSeries(DeployPretrainedModelInputTimeSeries::new(100.0, 2000)),
        ),
        (json!({"inputType": "audio", "frequencyHz": 16000.0}), Input::Audio(DeployPretrainedModelInputAudio::new(16000.0))),
        (json!({"inputType": "image"}), Input::Image(DeployPretrainedModelInputImage::new())),
        (json!({"inputType": "other"}), Input::Other(models::DeployPretrainedModelInputOther::new())),
    ]
}

/// Every variant of the `modelType` union, with its JSON.
fn tagged_models() -> Vec<(serde_json::Value, Model)> {
    vec![
        (
            json!({"modelType": "classification", "labels": ["idle", "wave"]}),
            Model::Classification(DeployPretrainedModelModelClassification::new(vec!["idle".into(), "wave".into()])),
        ),
        (json!({"modelType": "regression"}), Model::Regression(models::DeployPretrainedModelModelRegression::new())),
        (
            json!({"modelType": "object-detection", "labels": ["car"], "lastLayer": "yolov5", "minimumConfidence": 0.3}),
            Model::ObjectDetection(DeployPretrainedModelModelObjectDetection::new(
                vec!["car".into()],
                ObjectDetectionLastLayer::Yolov5,
                0.3,
            )),
        ),
    ]
}

#[test]
fn tagged_one_of_serializes_each_variant_with_its_tag_once() {
    for (wire, value) in tagged_inputs() {
        let text = serde_json::to_string(&value).unwrap();
        assert_eq!(count(&text, "\"inputType\""), 1, "{text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), wire);
    }
    for (wire, value) in tagged_models() {
        let text = serde_json::to_string(&value).unwrap();
        assert_eq!(count(&text, "\"modelType\""), 1, "{text}");
        assert_eq!(serde_json::from_str::<serde_json::Value>(&text).unwrap(), wire);
    }
}

#[tokio::test]
async fn tagged_one_of_in_a_request_body_has_each_tag_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/api/2/jobs/deploy-pretrained-model"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true, "id": 77})))
        .expect(1)
        .mount(&server)
        .await;
    let info = ModelInfo::new(
        Input::Audio(DeployPretrainedModelInputAudio::new(16000.0)),
        Model::ObjectDetection(DeployPretrainedModelModelObjectDetection::new(vec!["car".into()], ObjectDetectionLastLayer::Fomo, 0.5)),
    );
    let body = models::DeployPretrainedModelRequest::new(
        "AAAA".into(),
        models::DeployPretrainedModelRequestModelFileType::Onnx,
        "zip".into(),
        info,
    );
    let client = client(&server, true, false);
    let job = client.jobs().start_deploy_pretrained_model_job(2, &body).await.unwrap();
    assert_eq!(job.id, 77);

    let request = single_request(&server).await;
    let text = String::from_utf8(request.body.clone()).unwrap();
    assert_eq!(count(&text, "\"inputType\""), 1, "{text}");
    assert_eq!(count(&text, "\"modelType\""), 1, "{text}");
    let sent: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(
        sent,
        json!({
            "modelFileBase64": "AAAA",
            "modelFileType": "onnx",
            "deploymentType": "zip",
            "modelInfo": {
                "input": {"inputType": "audio", "frequencyHz": 16000.0},
                "model": {"modelType": "object-detection", "labels": ["car"], "lastLayer": "fomo", "minimumConfidence": 0.5}
            }
        })
    );
}

#[tokio::test]
async fn unknown_enum_values_are_kept_and_sent_back_unchanged() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/3/apikeys"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "success": true,
            "apiKeys": [
                {"id": 1, "apiKey": "k1", "isDevelopmentKey": false, "name": "a", "created": "2024-05-01T10:00:00Z", "role": "admin"},
                {"id": 2, "apiKey": "k2", "isDevelopmentKey": false, "name": "b", "created": "2024-05-01T10:00:00Z", "role": "billing-only"}
            ]
        })))
        .mount(&server)
        .await;
    let client = client(&server, true, false);
    let keys = client.projects().list_project_api_keys(3).await.unwrap();
    assert_eq!(keys.api_keys[0].role, Role::Admin);
    assert_eq!(keys.api_keys[1].role, Role::Unknown("billing-only".into()));
    assert_eq!(keys.api_keys[1].role.as_str(), "billing-only");
    assert_eq!(keys.api_keys[1].role.to_string(), "billing-only");

    // Enums serialize whichever way their model goes: an unknown value goes back unchanged.
    assert_eq!(serde_json::to_value(&keys.api_keys[1].role).unwrap(), json!("billing-only"));
    assert_eq!(serde_json::to_value(&keys.api_keys[0].role).unwrap(), json!("admin"));
    assert_eq!("billing-only".parse::<Role>().unwrap(), Role::Unknown("billing-only".into()));
    assert_eq!("wladmin".parse::<Role>().unwrap(), Role::Wladmin);
    assert_eq!(serde_json::from_value::<Role>(json!("readonly")).unwrap(), Role::Readonly);
    assert!(serde_json::from_value::<Role>(json!(3)).is_err(), "a non-string is not an enum value");
}

#[tokio::test]
async fn optional_nullable_fields_tell_absent_from_null_when_decoding() {
    let server = MockServer::start().await;
    for (email, body) in [
        ("absent%40x.io", json!({"success": true})),
        ("null%40x.io", json!({"success": true, "code": null})),
        ("set%40x.io", json!({"success": true, "code": "482913"})),
    ] {
        Mock::given(method("GET"))
            .and(path(format!("/api/admin/emails/{email}/verification-code")))
            .respond_with(ResponseTemplate::new(200).set_body_json(body))
            .mount(&server)
            .await;
    }
    let client = client(&server, true, false);
    let admin = client.admin();
    let absent = admin.admin_get_email_verification_code("absent@x.io").await.unwrap();
    let null = admin.admin_get_email_verification_code("null@x.io").await.unwrap();
    let set = admin.admin_get_email_verification_code("set@x.io").await.unwrap();
    assert_eq!(absent.code, None);
    assert_eq!(null.code, Some(None));
    assert_eq!(set.code, Some(Some("482913".into())));
    // Sending absent vs null: `json_body_keeps_absent_and_null_apart` in tests/bodies.rs.
}

#[test]
fn optional_fields_are_skipped_and_a_wrong_null_is_an_error() {
    // `token` is optional but not nullable: absent and null both mean "not there".
    let response: models::GetJwtResponse = serde_json::from_value(json!({"success": true, "token": null})).unwrap();
    assert!(response.token.is_none());
    // Unset optional fields of a request body are left out.
    let request = models::GetJwtRequest::new("ada".into(), "pw".into());
    assert_eq!(serde_json::to_value(&request).unwrap(), json!({"username": "ada", "password": "pw"}));
    // A required field may not be null.
    assert!(serde_json::from_value::<models::CountSamplesResponse>(json!({"success": true, "count": null})).is_err());
}

/// Round trips that need both directions on one model: by default a request model only
/// serializes and an answer only deserializes; the `serde-all` feature (on in CI) adds the rest.
#[cfg(feature = "serde-all")]
mod both_directions {
    use super::*;

    #[test]
    fn tagged_one_of_decodes_every_variant_by_its_tag_and_back() {
        for (wire, expected) in tagged_inputs() {
            let decoded: Input = serde_json::from_value(wire.clone()).unwrap();
            assert_eq!(decoded, expected);
            assert_eq!(serde_json::to_value(&decoded).unwrap(), wire);
        }
        for (wire, expected) in tagged_models() {
            let decoded: Model = serde_json::from_value(wire.clone()).unwrap();
            assert_eq!(decoded, expected);
            assert_eq!(serde_json::to_value(&decoded).unwrap(), wire);
        }
        let error = serde_json::from_value::<Input>(json!({"inputType": "lidar"})).unwrap_err();
        assert!(error.to_string().contains("lidar"), "{error}");
    }

    #[test]
    fn answers_serialize_back_as_they_came() {
        let wire = json!({
            "success": true,
            "apiKeys": [{"id": 2, "apiKey": "k2", "isDevelopmentKey": false, "name": "b",
                         "created": "2024-05-01T10:00:00Z", "role": "billing-only"}]
        });
        let keys: models::ListApiKeysResponse = serde_json::from_value(wire.clone()).unwrap();
        assert_eq!(serde_json::to_value(&keys).unwrap(), wire);

        for wire in [json!({"success": true}), json!({"success": true, "code": null}), json!({"success": true, "code": "1"})] {
            let decoded: models::GetEmailVerificationCodeResponse = serde_json::from_value(wire.clone()).unwrap();
            assert_eq!(serde_json::to_value(&decoded).unwrap(), wire, "absent stays absent, null stays null");
        }
    }
}

#[test]
fn a_struct_decodes_only_from_a_json_object() {
    // serde's derived impls also took a struct from a sequence of its fields in order.
    let error = serde_json::from_value::<models::ListProjectsResponse>(json!([true, null, []])).unwrap_err();
    assert!(error.to_string().contains("a JSON object (`ListProjectsResponse`)"), "{error}");
    let decoded = serde_json::from_value::<models::ListProjectsResponse>(json!({"success": true, "projects": []})).unwrap();
    assert!(decoded.success && decoded.error.is_none() && decoded.projects.is_empty(), "{decoded:?}");
}

#[test]
fn unknown_fields_are_skipped_whatever_their_shape() {
    let decoded = serde_json::from_value::<models::GenericApiResponse>(json!({
        "newField": {"nested": [1, {"deep": null}]},
        "success": false,
        "alsoNew": "text",
        "error": "quota"
    }))
    .unwrap();
    assert!(!decoded.success && decoded.error.as_deref() == Some("quota"), "{decoded:?}");
}

#[test]
fn a_missing_required_field_is_named_and_null_optional_fields_are_none() {
    let error = serde_json::from_value::<models::GenericApiResponse>(json!({"error": "x"})).unwrap_err();
    assert!(error.to_string().contains("missing field `success`"), "{error}");
    let decoded = serde_json::from_value::<models::GenericApiResponse>(json!({"success": true, "error": null})).unwrap();
    assert_eq!(decoded.error, None);
}

#[test]
fn optional_fields_left_out_and_required_fields_written_when_serializing() {
    let mut body = models::BuildOnDeviceModelRequest::new(models::DeploymentTargetEngine::Tflite);
    assert_eq!(serde_json::to_value(&body).unwrap(), json!({"engine": "tflite"}));
    body.model_type = Some(models::KerasModelTypeEnum::Int8);
    assert_eq!(serde_json::to_value(&body).unwrap(), json!({"engine": "tflite", "modelType": "int8"}));
}

#[test]
fn date_time_fields_decode_every_rfc3339_form_and_keep_null_apart_from_absent() {
    use chrono::TimeZone;
    let at = |h, m, s, ms| chrono::Utc.with_ymd_and_hms(2024, 5, 1, h, m, s).unwrap() + chrono::Duration::milliseconds(ms);
    // `created` is a date-time, `expirationDate` an alias of one, the others nullable ones.
    let trial = serde_json::from_value::<models::EnterpriseTrial>(json!({
        "id": 1, "userId": 2, "organizationId": 3,
        "created": "2024-05-01T10:00:00Z",
        "expirationDate": "2024-05-01T12:30:00.250+02:00",
        "expiredDate": "2024-05-01 11:00:00Z",
        "deletedDate": null,
    }))
    .unwrap();
    assert_eq!(trial.created, at(10, 0, 0, 0));
    assert_eq!(trial.expiration_date, at(10, 30, 0, 250));
    assert_eq!(trial.expired_date, Some(at(11, 0, 0, 0)), "the relaxed form chrono accepts (a space for the `T`)");
    assert_eq!((trial.deleted_date, trial.upgraded_date), (None, None));

    let error = serde_json::from_value::<models::EnterpriseTrial>(json!({
        "id": 1, "userId": 2, "organizationId": 3, "created": "2024-05-01", "expirationDate": "2024-05-01T10:00:00Z",
    }))
    .unwrap_err();
    assert!(error.to_string().contains("premature end of input"), "{error}");

    let status = |since: Option<serde_json::Value>| {
        let mut wire = json!({"success": true, "connectionStatus": "connected"});
        if let Some(since) = since {
            wire["connectionStatusSince"] = since;
        }
        serde_json::from_value::<models::VerifyOrganizationBucketResponse>(wire).unwrap().connection_status_since
    };
    assert_eq!(status(None), None);
    assert_eq!(status(Some(json!(null))), Some(None));
    assert_eq!(status(Some(json!("2024-05-01T10:00:00.000Z"))), Some(Some(at(10, 0, 0, 0))));
}

/// A field's key twice in one object: serde's derive refuses it, and so do the generated
/// visitors. Last-one-wins would read this failure as a success.
#[tokio::test]
async fn a_field_given_twice_is_a_decode_error_naming_its_path() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/7/raw-data/count"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            r#"{"success": false, "error": "quota exceeded", "count": 0, "success": true}"#,
            "application/json",
        ))
        .mount(&server)
        .await;
    // The second `created` of the second job: a date-time field (its own codec) in a list.
    let job = |id: u32, created: &str| {
        format!(r#"{{"id": {id}, "key": "job-{id}", {created}, "category": "training", "jobNotificationUids": []}}"#)
    };
    let jobs = format!(
        r#"{{"success": true, "jobs": [{}, {}], "totalJobCount": 2}}"#,
        job(1, r#""created": "2024-01-02T03:04:05Z""#),
        job(2, r#""created": "2024-01-02T03:04:05Z", "created": "2024-01-02T03:04:06Z""#)
    );
    Mock::given(method("GET"))
        .and(path("/api/7/jobs/all"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(jobs, "application/json"))
        .mount(&server)
        .await;
    let client = client(&server, true, false);

    let error = expect_err(client.raw_data().count_samples(7, RawDataCategoryQuery::Training).await);
    match &error {
        Error::Decode { operation, path, message, .. } => {
            assert_eq!((*operation, path.as_str()), ("countSamples", "success"));
            assert!(message.contains("duplicate field `success`"), "{message}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
    let error = expect_err(client.jobs().list_all_jobs(7).await);
    match &error {
        Error::Decode { operation, path, message, .. } => {
            assert_eq!((*operation, path.as_str()), ("listAllJobs", "jobs[1].created"));
            assert!(message.contains("duplicate field `created`"), "{message}");
        }
        other => panic!("expected a decode error, got {other:?}"),
    }
}

#[test]
fn every_kind_of_field_given_twice_is_refused_and_unknown_keys_may_repeat() {
    let decode = |text: &str| serde_json::from_str::<models::GetEmailVerificationCodeResponse>(text);
    // `success` required, `error` optional, `code` optional and nullable: null counts as given.
    for (text, field) in [
        (r#"{"success": true, "success": true}"#, "success"),
        (r#"{"success": true, "error": null, "error": "x"}"#, "error"),
        (r#"{"success": true, "code": null, "code": null}"#, "code"),
        (r#"{"code": "1", "success": true, "code": "2"}"#, "code"),
    ] {
        let error = decode(text).unwrap_err();
        assert!(error.to_string().contains(&format!("duplicate field `{field}`")), "{text}: {error}");
    }
    // A date-time field, read by its own codec: `null`, then a date.
    let error = serde_json::from_str::<models::VerifyOrganizationBucketResponse>(
        r#"{"success": true, "connectionStatus": "connected", "connectionStatusSince": null, "connectionStatusSince": "2024-05-01T10:00:00Z"}"#,
    )
    .unwrap_err();
    assert!(error.to_string().contains("duplicate field `connectionStatusSince`"), "{error}");

    let decoded = decode(r#"{"newField": 1, "success": true, "newField": [2], "code": "7"}"#).unwrap();
    assert!(decoded.success && decoded.code == Some(Some("7".into())), "{decoded:?}");
}
