//! Starts training the project's first learning block, follows the job with a progress
//! spinner and its log live (Studio's socket pushes each line as the job prints it; the
//! example falls back to polling the log if the socket is unavailable), and prints the final
//! log lines.
//!
//! ```sh
//! EI_API_KEY=ei_... cargo run -p edge-impulse-api --example train_and_wait -- [training cycles]
//! ```
//!
//! The project needs an impulse with a Keras (neural network) learning block whose features
//! were generated. `EI_PROJECT_ID` picks the project for a JWT; an API key has one project.

mod support;

use std::process::ExitCode;
use std::time::Duration;

use edge_impulse_api::{models, Client, JobPhase, LiveLogOptions};
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
    let client = Client::from_env()?;
    let project_id = support::project_id(&client).await?;

    let impulse = client.impulse().get_impulse(project_id).await?.impulse.ok_or("the project has no impulse yet")?;
    let learn_block = impulse.learn_blocks.first().ok_or("the impulse has no learning block")?;
    println!("training `{}` (learn block {}) in project {project_id}", learn_block.title, learn_block.id);

    // Every field is optional: what stays `None` keeps its current setting.
    let mut settings = models::SetKerasParameterRequest::new();
    if let Some(cycles) = std::env::args().nth(1) {
        settings = settings.training_cycles(cycles.parse::<i64>().map_err(|_| format!("training cycles: `{cycles}` is not a number"))?);
    }
    let job = client.jobs().train_keras_job(project_id, learn_block.id, &settings).await?;

    let spinner = ProgressBar::new_spinner().with_style(ProgressStyle::with_template("{spinner} {elapsed_precise} {msg}")?);
    spinner.enable_steady_tick(Duration::from_millis(120));
    let bar = spinner.clone();
    let mut source = "live";
    let outcome = client
        .wait_for_job(project_id, job.id)
        .timeout(Duration::from_secs(2 * 60 * 60))
        // Live over the socket, with a status poll every 5 s as the safety net.
        .follow_logs(true)
        .live_logs(LiveLogOptions::default())
        .fetch_logs(true)
        .on_progress(move |progress| {
            if let Some(error) = &progress.live_logs_error {
                bar.println(format!("({error}; polling the log instead)"));
                source = "polled";
            }
            if progress.skipped_log_lines > 0 {
                bar.println(format!("({} log lines skipped)", progress.skipped_log_lines));
            }
            for line in &progress.new_log_lines {
                // Above the spinner on a terminal; plainly when the output is piped.
                match bar.is_hidden() {
                    true => println!("{}", line.data.trim_end()),
                    false => bar.println(line.data.trim_end()),
                }
            }
            bar.set_message(match progress.phase {
                JobPhase::Queued => "queued".to_owned(),
                JobPhase::Running => format!("job {} running, log {source}", progress.job_id),
                _ => "finished".to_owned(),
            });
        })
        .await;
    spinner.finish_and_clear();

    match outcome {
        Ok(outcome) => {
            println!("job {} succeeded after {:?}; last lines of its log:", outcome.job.id, outcome.elapsed);
            for line in outcome.logs.iter().rev().take(10).rev() {
                println!("  {}", line.data.trim_end());
            }
            Ok(())
        }
        Err(error) => Err(error.into()),
    }
}
