//! Where a job belongs (a project or an organization), and the status, log, cancel and
//! socket-token operations of each: chosen here once, so that waiting and following the log
//! never match on the scope themselves.

use crate::models::{GenericApiResponse, GetJobResponse, LogStdoutResponse, SocketTokenResponse};
use crate::{Client, Request};

/// Where a job belongs: its status, logs and cancel operations differ.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Scope {
    #[cfg(feature = "jobs")]
    Project(i64),
    #[cfg(feature = "organization-jobs")]
    Organization(i64),
}

/// The operations of a scope, each chosen in one place; a request is built to be sent, or
/// only to name its operation in an error.
impl Scope {
    pub(crate) fn status_request(self, client: &Client, job_id: i64) -> Request<'_, GetJobResponse> {
        match self {
            #[cfg(feature = "jobs")]
            Scope::Project(project_id) => client.jobs().get_job_status(project_id, job_id),
            #[cfg(feature = "organization-jobs")]
            Scope::Organization(organization_id) => client.organization_jobs().get_organization_job_status(organization_id, job_id),
        }
    }

    /// The last `limit` lines of the log (at most [`LOG_WINDOW`](crate::jobs::live_logs::LOG_WINDOW)).
    pub(crate) fn log_request(self, client: &Client, job_id: i64, limit: i64) -> Request<'_, LogStdoutResponse> {
        match self {
            #[cfg(feature = "jobs")]
            Scope::Project(project_id) => client.jobs().get_jobs_logs(project_id, job_id).limit(limit).into_request(),
            #[cfg(feature = "organization-jobs")]
            Scope::Organization(organization_id) => {
                client.organization_jobs().get_organization_jobs_logs(organization_id, job_id).limit(limit).into_request()
            }
        }
    }

    pub(crate) fn cancel_request(self, client: &Client, job_id: i64) -> Request<'_, GenericApiResponse> {
        match self {
            #[cfg(feature = "jobs")]
            Scope::Project(project_id) => client.jobs().cancel_job(project_id, job_id).into_request(),
            #[cfg(feature = "organization-jobs")]
            Scope::Organization(organization_id) => client.organization_jobs().cancel_organization_job(organization_id, job_id).into_request(),
        }
    }

    /// The socket token to follow the logs live, when the crate has its operation: a project
    /// job's comes from the `projects` group, an organization job's from `organization-jobs`.
    pub(crate) fn socket_token_request(self, client: &Client) -> Option<Request<'_, SocketTokenResponse>> {
        // Unused when the only scope compiled is a project's without `projects`.
        let _ = client;
        match self {
            #[cfg(all(feature = "jobs", feature = "projects"))]
            Scope::Project(project_id) => Some(client.projects().get_socket_token(project_id)),
            #[cfg(all(feature = "jobs", not(feature = "projects")))]
            Scope::Project(_) => None,
            #[cfg(feature = "organization-jobs")]
            Scope::Organization(organization_id) => Some(client.organization_jobs().get_organization_socket_token(organization_id)),
        }
    }
}
