//! Waiting for jobs. Training, deployment builds, exports and many other operations start a
//! job and answer with its id at once; [`Client::wait_for_job`] polls the job's status until it
//! finishes, reporting progress on the way.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::models::{Job, LogStdoutResponse, LogStdoutResponseStdoutItem};
use crate::Client;

/// One log line of a job, as the API returns it (`created`, `data`, `log_level`).
pub type JobLogLine = LogStdoutResponseStdoutItem;

/// Where a job belongs: its status, logs and cancel operations differ.
#[derive(Debug, Clone, Copy)]
/// Each scope needs its group's operations, so it exists with that group's cargo feature.
enum Scope {
    #[cfg(feature = "jobs")]
    Project(i64),
    #[cfg(feature = "organization-jobs")]
    Organization(i64),
}

/// Where a job is, as seen by the last poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JobPhase {
    /// Created, not started yet.
    Queued,
    /// Started, not finished.
    Running,
    /// Finished successfully (or finished without saying whether it succeeded).
    Succeeded,
    /// Finished without success.
    Failed,
}

impl JobPhase {
    fn of(job: &Job) -> JobPhase {
        match (&job.finished, job.finished_successful) {
            (Some(_), Some(false)) => JobPhase::Failed,
            (Some(_), _) => JobPhase::Succeeded,
            (None, _) if job.started.is_some() => JobPhase::Running,
            (None, _) => JobPhase::Queued,
        }
    }

    /// Whether the job is over, successfully or not.
    pub fn is_finished(self) -> bool {
        matches!(self, JobPhase::Succeeded | JobPhase::Failed)
    }
}

/// A progress report: one per status poll.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JobProgress {
    pub job_id: i64,
    pub phase: JobPhase,
    /// The job's status as of this poll.
    pub job: Job,
    /// Time since the wait started.
    pub elapsed: Duration,
    /// Status polls made so far, this one included.
    pub polls: u32,
    /// Log lines that appeared since the previous report, oldest first; only with
    /// [`WaitForJob::follow_logs`].
    pub new_log_lines: Vec<JobLogLine>,
}

/// A job that finished successfully.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JobOutcome {
    /// The job's final status.
    pub job: Job,
    /// The job's log (at most the last 1000 lines, which is what the API keeps), oldest
    /// first; only with [`WaitForJob::fetch_logs`], otherwise empty.
    pub logs: Vec<JobLogLine>,
    /// Time the wait took.
    pub elapsed: Duration,
    /// Status polls made.
    pub polls: u32,
}

type ProgressCallback<'c> = Box<dyn FnMut(&JobProgress) + Send + 'c>;

/// Waits for a job to finish: configure it, then `.await` it (or turn it into a stream of
/// progress reports with [`WaitForJob::into_stream`]).
///
/// Resolves to a [`JobOutcome`] when the job succeeds, to [`Error::JobFailed`] (with the last
/// log lines) when it fails, and to [`Error::JobTimeout`] when it takes longer than
/// [`WaitForJob::timeout`]. A status request that fails is retried as the client's
/// [`RetryPolicy`](crate::RetryPolicy) says; if it still fails, the wait ends with its error.
#[must_use = "waiting does nothing until it is awaited"]
pub struct WaitForJob<'c> {
    poller: Poller<'c>,
    on_progress: Option<ProgressCallback<'c>>,
}

impl std::fmt::Debug for WaitForJob<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WaitForJob")
            .field("scope", &self.poller.scope)
            .field("job_id", &self.poller.job_id)
            .field("poll_interval", &self.poller.poll_interval)
            .field("timeout", &self.poller.timeout)
            .field("cancel_on_timeout", &self.poller.cancel_on_timeout)
            .field("fetch_logs", &self.poller.fetch_logs)
            .field("follow_logs", &self.poller.follow_logs)
            .finish_non_exhaustive()
    }
}

/// The default time between two status polls.
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(2);

impl Client {
    /// Waits for a project job (one that an operation such as
    /// [`JobsApi::train_keras_job`](crate::apis::jobs::JobsApi::train_keras_job) started) to
    /// finish, polling its status every 2 seconds by default.
    ///
    /// ```no_run
    /// # async fn run(client: &edge_impulse_api::Client, project_id: i64, job_id: i64) -> edge_impulse_api::Result<()> {
    /// use std::time::Duration;
    ///
    /// let outcome = client
    ///     .wait_for_job(project_id, job_id)
    ///     .timeout(Duration::from_secs(30 * 60))
    ///     .cancel_on_timeout(true)
    ///     .fetch_logs(true)
    ///     .on_progress(|p| println!("{:?} after {:?}", p.phase, p.elapsed))
    ///     .await?;
    /// for line in &outcome.logs {
    ///     println!("{}", line.data);
    /// }
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "jobs")]
    pub fn wait_for_job(&self, project_id: i64, job_id: i64) -> WaitForJob<'_> {
        WaitForJob::new(self, Scope::Project(project_id), job_id)
    }

    /// Waits for an organization job (data transformation, pipelines, ...) to finish; the
    /// same as [`Client::wait_for_job`] otherwise.
    #[cfg(feature = "organization-jobs")]
    pub fn wait_for_organization_job(&self, organization_id: i64, job_id: i64) -> WaitForJob<'_> {
        WaitForJob::new(self, Scope::Organization(organization_id), job_id)
    }
}

impl<'c> WaitForJob<'c> {
    fn new(client: &'c Client, scope: Scope, job_id: i64) -> Self {
        WaitForJob {
            poller: Poller {
                client,
                scope,
                job_id,
                poll_interval: DEFAULT_POLL_INTERVAL,
                timeout: None,
                cancel_on_timeout: false,
                fetch_logs: false,
                follow_logs: false,
                started: None,
                polls: 0,
                log_lines_seen: 0,
                state: State::Polling,
            },
            on_progress: None,
        }
    }

    /// Time between two status polls (2 seconds by default).
    pub fn poll_interval(mut self, interval: Duration) -> Self {
        self.poller.poll_interval = interval;
        self
    }

    /// The longest the wait may take, from the first poll; unlimited by default.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.poller.timeout = Some(timeout);
        self
    }

    /// Cancels the job when the wait times out (off by default: the job goes on running and
    /// you can wait for it again).
    pub fn cancel_on_timeout(mut self, cancel: bool) -> Self {
        self.poller.cancel_on_timeout = cancel;
        self
    }

    /// Fetches the job's log when it succeeds, into [`JobOutcome::logs`]; if that request
    /// fails, the wait ends with its error (which names the log operation, not the job). A
    /// failed job's log is always fetched, into [`Error::JobFailed`].
    pub fn fetch_logs(mut self, fetch: bool) -> Self {
        self.poller.fetch_logs = fetch;
        self
    }

    /// Fetches new log lines with every poll, into [`JobProgress::new_log_lines`]: one more
    /// request per poll. Lines are found by the log's running count, so none is reported
    /// twice; if more lines than the API returns at once appear between two polls, the
    /// oldest of them are skipped.
    pub fn follow_logs(mut self, follow: bool) -> Self {
        self.poller.follow_logs = follow;
        self
    }

    /// Called with every progress report, the last one (finished) included.
    pub fn on_progress(mut self, callback: impl FnMut(&JobProgress) + Send + 'c) -> Self {
        self.on_progress = Some(Box::new(callback));
        self
    }

    /// The progress reports as a stream: one item per poll. It ends after the report of a
    /// successful job; for a failed job, the report is followed by an
    /// [`Error::JobFailed`] item; a timeout or a failed status request is an error item.
    /// The [`on_progress`](WaitForJob::on_progress) callback is not called.
    pub fn into_stream(self) -> impl futures_util::Stream<Item = Result<JobProgress>> + Send + 'c {
        futures_util::stream::unfold(self.poller, |mut poller| async move { poller.next().await.map(|item| (item, poller)) })
    }

    async fn run(mut self) -> Result<JobOutcome> {
        while let Some(item) = self.poller.next().await {
            let progress = item?;
            if let Some(callback) = &mut self.on_progress {
                callback(&progress);
            }
            if progress.phase == JobPhase::Succeeded {
                let logs = match self.poller.fetch_logs {
                    true => self.poller.logs().await?.1,
                    false => Vec::new(),
                };
                return Ok(JobOutcome { job: progress.job, logs, elapsed: progress.elapsed, polls: progress.polls });
            }
        }
        // The poller ends only after a success (returned above) or an error item.
        Err(Error::InvalidRequest { operation: "wait_for_job", message: format!("waiting for job {} ended without a result", self.poller.job_id) })
    }
}

impl<'c> IntoFuture for WaitForJob<'c> {
    type Output = Result<JobOutcome>;
    type IntoFuture = Pin<Box<dyn Future<Output = Result<JobOutcome>> + Send + 'c>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(self.run())
    }
}

#[derive(Debug)]
enum State {
    Polling,
    /// The job failed: the next item is the error.
    Failed(Box<Job>),
    Done,
}

/// The polling loop, one report per call, shared by the future and the stream.
struct Poller<'c> {
    client: &'c Client,
    scope: Scope,
    job_id: i64,
    poll_interval: Duration,
    timeout: Option<Duration>,
    cancel_on_timeout: bool,
    fetch_logs: bool,
    follow_logs: bool,
    started: Option<Instant>,
    polls: u32,
    /// The log's running count at the last report (`totalCount`).
    log_lines_seen: i64,
    state: State,
}

impl Poller<'_> {
    /// The next report, waiting the poll interval first (except before the first poll).
    async fn next(&mut self) -> Option<Result<JobProgress>> {
        match std::mem::replace(&mut self.state, State::Done) {
            State::Done => None,
            State::Failed(job) => Some(Err(self.failure(job).await)),
            State::Polling => {
                let item = self.poll().await;
                if let Ok(progress) = &item {
                    self.state = match progress.phase {
                        JobPhase::Succeeded => State::Done,
                        JobPhase::Failed => State::Failed(Box::new(progress.job.clone())),
                        JobPhase::Queued | JobPhase::Running => State::Polling,
                    };
                }
                Some(item)
            }
        }
    }

    async fn poll(&mut self) -> Result<JobProgress> {
        let started = *self.started.get_or_insert_with(Instant::now);
        if self.polls > 0 {
            let wait = match self.remaining(started) {
                Some(remaining) => self.poll_interval.min(remaining),
                None => self.poll_interval,
            };
            tokio::time::sleep(wait).await;
        }
        let job = match self.remaining(started) {
            Some(remaining) if remaining.is_zero() => return Err(self.timed_out().await),
            Some(remaining) => match tokio::time::timeout(remaining, self.status()).await {
                Ok(job) => job?,
                Err(_) => return Err(self.timed_out().await),
            },
            None => self.status().await?,
        };
        self.polls += 1;
        let new_log_lines = match self.follow_logs {
            true => self.new_log_lines().await,
            false => Vec::new(),
        };
        Ok(JobProgress { job_id: self.job_id, phase: JobPhase::of(&job), job, elapsed: started.elapsed(), polls: self.polls, new_log_lines })
    }

    /// Time left before the timeout, `None` without one.
    fn remaining(&self, started: Instant) -> Option<Duration> {
        self.timeout.map(|limit| limit.saturating_sub(started.elapsed()))
    }

    async fn status(&self) -> Result<Job> {
        let answer = match self.scope {
            #[cfg(feature = "jobs")]
            Scope::Project(project_id) => self.client.jobs().get_job_status(project_id, self.job_id).await?,
            #[cfg(feature = "organization-jobs")]
            Scope::Organization(organization_id) => {
                self.client.organization_jobs().get_organization_job_status(organization_id, self.job_id).await?
            }
        };
        Ok(answer.job)
    }

    /// The name of the status operation, which job errors carry.
    fn status_operation(&self) -> &'static str {
        match self.scope {
            #[cfg(feature = "jobs")]
            Scope::Project(project_id) => self.client.jobs().get_job_status(project_id, self.job_id).operation().id,
            #[cfg(feature = "organization-jobs")]
            Scope::Organization(organization_id) => {
                self.client.organization_jobs().get_organization_job_status(organization_id, self.job_id).operation().id
            }
        }
    }

    /// The log's running count and its lines, oldest first.
    async fn logs(&self) -> Result<(i64, Vec<JobLogLine>)> {
        let answer: LogStdoutResponse = match self.scope {
            #[cfg(feature = "jobs")]
            Scope::Project(project_id) => self.client.jobs().get_jobs_logs(project_id, self.job_id).await?,
            #[cfg(feature = "organization-jobs")]
            Scope::Organization(organization_id) => {
                self.client.organization_jobs().get_organization_jobs_logs(organization_id, self.job_id).await?
            }
        };
        Ok((answer.total_count, oldest_first(answer.stdout)))
    }

    /// Lines added since the last call. Following is a convenience: a failed log request
    /// does not end the wait, the lines come with a later poll.
    async fn new_log_lines(&mut self) -> Vec<JobLogLine> {
        match self.logs().await {
            Ok((total, mut lines)) => {
                let new = usize::try_from(total.saturating_sub(self.log_lines_seen)).unwrap_or(0).min(lines.len());
                self.log_lines_seen = self.log_lines_seen.max(total);
                lines.split_off(lines.len() - new)
            }
            Err(error) => {
                tracing::debug!(job_id = self.job_id, %error, "could not fetch the job's new log lines");
                Vec::new()
            }
        }
    }

    async fn failure(&self, job: Box<Job>) -> Error {
        // The log says why; without it the error is still clear about what failed.
        let logs = match self.logs().await {
            Ok((_, lines)) => lines,
            Err(error) => {
                tracing::debug!(job_id = self.job_id, %error, "could not fetch the failed job's log");
                Vec::new()
            }
        };
        Error::JobFailed { operation: self.status_operation(), job_id: self.job_id, job, logs }
    }

    async fn timed_out(&self) -> Error {
        let (mut cancelled, mut cancel_error) = (false, None);
        if self.cancel_on_timeout {
            let result = match self.scope {
                #[cfg(feature = "jobs")]
                Scope::Project(project_id) => self.client.jobs().cancel_job(project_id, self.job_id).await,
                #[cfg(feature = "organization-jobs")]
                Scope::Organization(organization_id) => {
                    self.client.organization_jobs().cancel_organization_job(organization_id, self.job_id).await
                }
            };
            match result {
                Ok(_) => cancelled = true,
                Err(error) => cancel_error = Some(Box::new(error)),
            }
        }
        Error::JobTimeout {
            operation: self.status_operation(),
            job_id: self.job_id,
            timeout: self.timeout.unwrap_or_default(),
            cancelled,
            cancel_error,
        }
    }
}

/// The API does not document the order of log lines: put them oldest first, judging by the
/// timestamps at both ends.
fn oldest_first(mut lines: Vec<JobLogLine>) -> Vec<JobLogLine> {
    if let (Some(first), Some(last)) = (lines.first(), lines.last()) {
        if first.created > last.created {
            lines.reverse();
        }
    }
    lines
}
