//! What several examples share (not an example of its own: Cargo only builds `examples/*.rs`
//! and `examples/*/main.rs`).

use edge_impulse_api::Client;

/// `EI_PROJECT_ID`, or the first project the credentials see (an API key sees one).
pub async fn project_id(client: &Client) -> Result<i64, Box<dyn std::error::Error>> {
    if let Ok(id) = std::env::var("EI_PROJECT_ID") {
        return Ok(id.trim().parse().map_err(|_| format!("EI_PROJECT_ID `{id}` is not a number"))?);
    }
    let projects = client.projects().list_projects().await?.projects;
    Ok(projects.first().ok_or("these credentials see no project")?.id)
}
