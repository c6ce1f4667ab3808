//! What a user of `edge-impulse-api` writes: it builds requests with `new` and setters, matches
//! enums with a wildcard arm, reads answer fields and calls methods with optional parameters.
//! Nothing here may break when upstream adds operations, optional properties or parameters,
//! enum values or security schemes.

use edge_impulse_api::models::{BuildOnDeviceModelRequest, DeploymentTargetEngine, KerasModelTypeEnum, RawDataCategoryQuery};
use edge_impulse_api::{Client, Result};

/// The request of the README's "train, wait, download" example.
pub fn int8_tflite_build() -> BuildOnDeviceModelRequest {
    BuildOnDeviceModelRequest::new(DeploymentTargetEngine::Tflite).model_type(KerasModelTypeEnum::Int8)
}

/// A match that keeps compiling when upstream adds engines.
pub fn engine_label(engine: &DeploymentTargetEngine) -> String {
    match engine {
        DeploymentTargetEngine::Tflite => "TensorFlow Lite".to_string(),
        DeploymentTargetEngine::TfliteEon => "EON Compiler".to_string(),
        DeploymentTargetEngine::Unknown(raw) => format!("new engine `{raw}`"),
        other => format!("{other:?}"),
    }
}

/// Reads fields of an answer's items.
pub async fn project_names(client: &Client) -> Result<Vec<(i64, String)>> {
    let answer = client.projects().list_projects().await?;
    Ok(answer.projects.iter().map(|p| (p.id, p.name.clone())).collect())
}

/// Calls a method with a required enum argument and an optional parameter.
pub async fn first_training_files(client: &Client, project_id: i64) -> Result<Vec<String>> {
    let answer = client.raw_data().list_samples(project_id, RawDataCategoryQuery::Training).limit(20).await?;
    Ok(answer.samples.into_iter().map(|s| s.filename).collect())
}

/// Starts a build and waits for it, as the README shows.
pub async fn build_and_wait(client: &Client, project_id: i64) -> Result<()> {
    let job = client.jobs().build_on_device_model_job(project_id, "zip", &int8_tflite_build()).await?;
    client.wait_for_job(project_id, job.id).await?;
    Ok(())
}
