//! Lists every sample of a category of the project, page after page, with a progress bar,
//! and prints how many samples each label has.
//!
//! ```sh
//! EI_API_KEY=ei_... cargo run -p edge-impulse-api --example list_samples -- [training|testing|anomaly]
//! ```
//!
//! `.items()` reads the list a page at a time (`limit`/`offset`) until the answer's total
//! count; the bar's length is that total, known once the first page has arrived.

mod support;

use std::collections::BTreeMap;
use std::process::ExitCode;

use edge_impulse_api::models::RawDataCategoryQuery;
use edge_impulse_api::Client;
use indicatif::{ProgressBar, ProgressStyle};

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let category = RawDataCategoryQuery::from(std::env::args().nth(1).as_deref().unwrap_or("training"));
    let client = Client::from_env()?;
    let project_id = support::project_id(&client).await?;

    let bar = ProgressBar::new(0).with_style(ProgressStyle::with_template("{bar:40} {pos}/{len} samples, {per_sec}")?);
    let mut samples = client.raw_data().list_samples(project_id, category).items().page_size(200);
    let mut per_label: BTreeMap<String, u64> = BTreeMap::new();
    while let Some(sample) = samples.next().await {
        let sample = sample?;
        *per_label.entry(sample.label).or_default() += 1;
        // The total may change while paging (samples added or removed meanwhile).
        if let Some(total) = samples.total() {
            bar.set_length(total);
        }
        bar.inc(1);
    }
    bar.finish_and_clear();

    let count: u64 = per_label.values().sum();
    println!("{count} samples");
    for (label, n) in &per_label {
        println!("{n:>8}  {label}");
    }
    Ok(())
}
