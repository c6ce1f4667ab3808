//! Uploads a data file (WAV, JPG, PNG, CSV, JSON in the data acquisition format, ...) as a
//! sample into the project of the API key.
//!
//! ```sh
//! EI_API_KEY=ei_... cargo run -p edge-impulse-api --example upload_sample -- path/to/file.wav [label] [training|testing]
//! ```
//!
//! Samples go to the ingestion service, which is not part of the Studio API the crate is
//! generated from: this example calls it through the escape hatch (`Client::request`) on a
//! client whose base URL is the ingestion host (`EI_INGESTION_HOST` to use another one).

use std::process::ExitCode;

use edge_impulse_api::multipart::MultipartForm;
use edge_impulse_api::{Client, FilePart, Method};

const INGESTION_HOST: &str = "https://ingestion.edgeimpulse.com";

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
    let file = args.next().ok_or("usage: upload_sample FILE [LABEL] [training|testing]")?;
    let label = args.next();
    let category = args.next().unwrap_or_else(|| "training".to_owned());
    if !matches!(category.as_str(), "training" | "testing") {
        return Err(format!("the category is `training` or `testing`, not `{category}`").into());
    }
    let api_key = std::env::var("EI_API_KEY").map_err(|_| "set EI_API_KEY to an API key from your project's dashboard")?;
    let host = std::env::var("EI_INGESTION_HOST").unwrap_or_else(|_| INGESTION_HOST.to_owned());
    let client = Client::builder().base_url(host).api_key(api_key).build()?;

    let mut form = MultipartForm::default();
    // Streamed from disk when the request is sent, and again if it is retried.
    form.file("data", &FilePart::from_path(&file));
    let mut request = client.request::<serde_json::Value>(Method::Post, format!("/api/{category}/files"));
    request.multipart(&form);
    if let Some(label) = &label {
        request.header("x-label", label.clone());
    }
    // With duplicates refused, sending the upload twice cannot add the sample twice, so a
    // POST may be retried after a connection failure or a 503.
    request.header("x-disallow-duplicates", "1").retry_non_idempotent(true);
    let answer = request.await?;
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(())
}
