//! Builds a deployment of the project's impulse (a C++ library by default), waits for the
//! build job, and downloads the zip with a progress bar.
//!
//! ```sh
//! EI_API_KEY=ei_... cargo run -p edge-impulse-api --example download_deployment -- [type] [engine] [output.zip]
//! ```
//!
//! `type` is a deployment target format (`zip` is the C++ library; see
//! `client.deployment().list_deployment_targets_for_project(project_id)` for all), `engine`
//! one of `tflite`, `tflite-eon`, ... The project needs a trained impulse.

mod support;

use std::process::ExitCode;
use std::time::Duration;

use edge_impulse_api::{models, Client};
use indicatif::{ProgressBar, ProgressStyle};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            // The causes (for a connection failure: what the OS said) are the error's sources.
            let mut cause = error.source();
            while let Some(reason) = cause {
                eprintln!("  caused by: {reason}");
                cause = reason.source();
            }
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let target = args.next().unwrap_or_else(|| "zip".to_owned());
    let engine = models::DeploymentTargetEngine::from(args.next().as_deref().unwrap_or("tflite"));
    let output = args.next().unwrap_or_else(|| format!("deployment-{target}.zip"));

    let client = Client::from_env()?;
    let project_id = support::project_id(&client).await?;

    let request = models::BuildOnDeviceModelRequest::new(engine);
    let job = client.jobs().build_on_device_model_job(project_id, &target, &request).await?;
    let spinner = ProgressBar::new_spinner().with_style(ProgressStyle::with_template("{spinner} {elapsed_precise} building {msg}")?);
    spinner.set_message(target.clone());
    spinner.enable_steady_tick(Duration::from_millis(120));
    let built = client.wait_for_job(project_id, job.id).timeout(Duration::from_secs(30 * 60)).cancel_on_timeout(true).await;
    spinner.finish_and_clear();
    built?;

    let download = client.deployment().download_build(project_id, &target).await?;
    let bar = match download.content_length() {
        Some(total) => ProgressBar::new(total)
            .with_style(ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {bytes_per_sec} eta {eta}")?),
        None => ProgressBar::new_spinner().with_style(ProgressStyle::with_template("{spinner} {bytes} {bytes_per_sec}")?),
    };
    let written = download.save_with_progress(&output, |progress| bar.set_position(progress.bytes)).await?;
    bar.finish_and_clear();
    println!("saved {written} bytes to {output}");
    Ok(())
}
