//! Uploads a dataset folder to the project of the API key, with a progress bar, and prints
//! what became of each file that was not stored.
//!
//! ```sh
//! EI_API_KEY=ei_... cargo run -p edge-impulse-api --example upload_dataset -- path/to/dataset [training|testing|anomaly|split] [label]
//! ```
//!
//! Files under a `training`, `testing` or `anomaly` folder go there, the others to the
//! category given (`split` by default: the server keeps the project's train/test split).
//! An Edge Impulse export (`info.labels`) keeps its labels, metadata and boxes. Without a
//! label, the server takes it from each file name (`idle.01.wav` is `idle`). Duplicates
//! are refused, so running it again uploads only what is missing. The ingestion host is
//! `ingestion.<EI_HOST>`, or `EI_INGESTION_ENDPOINT`.

use std::process::ExitCode;

use edge_impulse_api::upload::{Category, FileOutcome};
use edge_impulse_api::Client;
use indicatif::{ProgressBar, ProgressStyle};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

/// `Ok(false)` when some files were not stored.
async fn run() -> Result<bool, Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let directory = args.next().ok_or("usage: upload_dataset DIRECTORY [training|testing|anomaly|split] [LABEL]")?;
    let category = match args.next() {
        None => Category::Split,
        Some(name) => Category::from_name(&name).ok_or_else(|| format!("the category is training, testing, anomaly or split, not `{name}`"))?,
    };
    let label = args.next();
    let client = Client::from_env()?;

    let bar = ProgressBar::new(0);
    bar.set_style(ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg} ({eta} left)")?);
    let progress_bar = bar.clone();
    let mut upload = client.upload().directory(&directory).category(category).on_progress(move |p| {
        progress_bar.set_length(p.bytes_total);
        progress_bar.set_position(p.bytes_done);
        progress_bar.set_message(format!("{}/{} files, {} duplicates, {} failed", p.files_done, p.files_total, p.duplicates, p.failed));
    });
    if let Some(label) = label {
        upload = upload.label(label);
    }
    // The upload runs in this future: dropping it (or ending the program) stops it.
    let report = upload.await?;
    bar.finish();

    for file in &report.files {
        match &file.outcome {
            FileOutcome::Uploaded { .. } => {}
            FileOutcome::Duplicate { .. } => println!("{}: already in the project", file.file_name),
            FileOutcome::Failed { message, may_be_stored, .. } => {
                let note = if *may_be_stored { " (it may have been stored anyway)" } else { "" };
                println!("{}: {message}{note}", file.file_name);
            }
            other => println!("{}: {other:?}", file.file_name),
        }
    }
    for skipped in &report.skipped {
        println!("{}: skipped ({})", skipped.path.display(), skipped.reason);
    }
    println!("{}", report.to_string().lines().next().unwrap_or_default());
    let all_stored = report.failed().next().is_none();
    Ok(all_stored)
}
