//! Uploads one data file (WAV, JPG, PNG, CSV, JSON or CBOR in the data acquisition format, ...)
//! as a sample into the project of the API key, and prints what became of it.
//!
//! ```sh
//! EI_API_KEY=ei_... cargo run -p edge-impulse-api --example upload_sample -- path/to/file.wav [label] [training|testing|anomaly|split]
//! ```
//!
//! Samples go to the ingestion service (`ingestion.<EI_HOST>`, or `EI_INGESTION_ENDPOINT`),
//! through `client.upload()`: checked before sending, sent again after a connection failure
//! or a 5xx (duplicates are refused, so a retry cannot store it twice).

use std::process::ExitCode;

use edge_impulse_api::upload::{Category, FileOutcome};
use edge_impulse_api::Client;

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
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

/// `Ok(false)` when the file was not stored.
async fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let file = args.next().ok_or("usage: upload_sample FILE [LABEL] [training|testing|anomaly|split]")?;
    let label = args.next();
    let category = match args.next() {
        None => Category::Training,
        Some(name) => Category::from_name(&name).ok_or_else(|| format!("the category is training, testing, anomaly or split, not `{name}`"))?,
    };
    let client = Client::from_env()?;

    let mut upload = client.upload().files([file]).category(category);
    if let Some(label) = label {
        upload = upload.label(label);
    }
    let report = upload.await?;
    let mut stored = true;
    for file in &report.files {
        match &file.outcome {
            FileOutcome::Uploaded { sample_id } => println!("{}: uploaded, sample {sample_id:?}", file.file_name),
            other => {
                stored = false;
                println!("{}: {other:?}", file.file_name);
            }
        }
    }
    Ok(stored)
}
