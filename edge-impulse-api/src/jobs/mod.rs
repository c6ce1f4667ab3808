//! Jobs: waiting for one to finish ([`wait`]), its log lines ([`job_log`]), and following
//! them live over Studio's socket ([`live_logs`] over [`socket`]).
//!
//! Waiting uses the status, log and cancel operations of the `jobs` group (project jobs) or
//! `organization-jobs` (organization jobs); a project job's live logs also need the socket
//! token of `projects` (see `Scope::has_live_logs`). The log line type is always there:
//! [`Error::JobFailed`](crate::Error::JobFailed) carries lines.

pub(crate) mod job_log;
#[cfg(any(feature = "jobs", feature = "organization-jobs"))]
pub(crate) mod live_logs;
#[cfg(any(feature = "jobs", feature = "organization-jobs"))]
pub(crate) mod socket;
#[cfg(any(feature = "jobs", feature = "organization-jobs"))]
pub(crate) mod wait;
