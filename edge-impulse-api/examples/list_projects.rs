//! Lists the projects the credentials can see.
//!
//! ```sh
//! EI_API_KEY=ei_... cargo run -p edge-impulse-api --example list_projects
//! ```
//!
//! A project API key sees its own project; a JWT (`EI_JWT_TOKEN`) sees all of the user's.

use std::process::ExitCode;

use edge_impulse_api::Client;

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
    // Reads EI_API_KEY (or EI_JWT_TOKEN) and, for other hosts, EI_HOST; says which to set.
    let client = Client::from_env()?;
    let answer = client.projects().list_projects().await?;
    if answer.projects.is_empty() {
        println!("no projects");
    }
    for project in &answer.projects {
        println!("{:>8}  {}  (owner: {})", project.id, project.name, project.owner);
    }
    Ok(())
}
