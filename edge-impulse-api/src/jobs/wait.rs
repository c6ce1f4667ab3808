//! Waiting for jobs. Training, deployment builds, exports and many other operations start a
//! job and answer with its id at once; [`Client::wait_for_job`] polls the job's status until it
//! finishes, reporting progress on the way.

use std::future::{Future, IntoFuture};
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result, TimeLimit};
use crate::jobs::job_log::JobLogLine;
use crate::jobs::live_logs::{fetch_log_window, LiveLogOptions, LogFollower, LogWindow, NewLines, Signal, LOG_WINDOW};
use crate::models::{GenericApiResponse, GetJobResponse, Job, LogStdoutResponse, SocketTokenResponse};
use crate::jobs::socket::later;
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
    fn status_request(self, client: &Client, job_id: i64) -> Request<'_, GetJobResponse> {
        match self {
            #[cfg(feature = "jobs")]
            Scope::Project(project_id) => client.jobs().get_job_status(project_id, job_id),
            #[cfg(feature = "organization-jobs")]
            Scope::Organization(organization_id) => client.organization_jobs().get_organization_job_status(organization_id, job_id),
        }
    }

    /// The last `limit` lines of the log (at most [`LOG_WINDOW`]).
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

    fn cancel_request(self, client: &Client, job_id: i64) -> Request<'_, GenericApiResponse> {
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

/// A progress report: one per status poll, and one per batch of live log lines between
/// polls (same status and poll count as the last poll).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct JobProgress {
    /// The job waited for.
    pub job_id: i64,
    /// Where the job is, as of this poll.
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
    /// Lines known to be missing before [`new_log_lines`](JobProgress::new_log_lines): more
    /// lines appeared since the previous report than the log endpoint returns at once (1000).
    pub skipped_log_lines: u64,
    /// Why this report may lack log lines: the log request failed. The lines come with a
    /// later report when the next request succeeds; on the final report there is none.
    pub log_error: Option<Arc<Error>>,
    /// Set on the first report after live logs gave up ([`Error::LiveLogs`]): why. The log
    /// is polled from then on, starting after the last line delivered.
    pub live_logs_error: Option<Arc<Error>>,
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
    /// Why [`logs`](JobOutcome::logs) is empty although [`WaitForJob::fetch_logs`] asked for
    /// it, or why the final report missed lines with [`WaitForJob::follow_logs`]: the log
    /// request failed. The job succeeded all the same.
    pub log_error: Option<Arc<Error>>,
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
            .field("live_logs", &self.poller.live)
            .finish_non_exhaustive()
    }
}

/// The default time between two status polls.
const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(2);

/// The longest a cancel request sent on timeout may take (less when the timeout is shorter).
const CANCEL_TIMEOUT: Duration = Duration::from_secs(10);

impl Client {
    /// Waits for a project job (one that an operation such as
    /// [`JobsApi::train_keras_job`](crate::apis::jobs::JobsApi::train_keras_job) started) to
    /// finish, polling its status every 2 seconds by default.
    ///
    /// Needs the `jobs` feature; following the logs live also needs `projects` (the socket
    /// token comes from there), without which the logs are polled.
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
    /// same as [`Client::wait_for_job`] otherwise. Needs the `organization-jobs` feature.
    #[cfg(feature = "organization-jobs")]
    pub fn wait_for_organization_job(&self, organization_id: i64, job_id: i64) -> WaitForJob<'_> {
        WaitForJob::new(self, Scope::Organization(organization_id), job_id)
    }

    /// A project job's log lines as they are written, live over Studio's socket (polling
    /// the log endpoint when the socket is unavailable), starting with the lines written so
    /// far. The stream ends when the job ends; see [`WaitForJob::follow_logs`] for what is
    /// guaranteed, and [`WaitForJob::into_log_stream`] to configure it.
    ///
    /// ```no_run
    /// # async fn run(client: &edge_impulse_api::Client, project_id: i64, job_id: i64) -> edge_impulse_api::Result<()> {
    /// use futures_util::StreamExt;
    ///
    /// let mut lines = std::pin::pin!(client.job_logs(project_id, job_id));
    /// while let Some(line) = lines.next().await {
    ///     print!("{}", line?.data);
    /// }
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "jobs")]
    pub fn job_logs(&self, project_id: i64, job_id: i64) -> impl futures_util::Stream<Item = Result<JobLogLine>> + Send + '_ {
        self.wait_for_job(project_id, job_id).into_log_stream()
    }

    /// An organization job's log lines as they are written; the same as
    /// [`Client::job_logs`] otherwise.
    #[cfg(feature = "organization-jobs")]
    pub fn organization_job_logs(&self, organization_id: i64, job_id: i64) -> impl futures_util::Stream<Item = Result<JobLogLine>> + Send + '_ {
        self.wait_for_organization_job(organization_id, job_id).into_log_stream()
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
                last_status_at: None,
                follower: LogFollower::new(client, scope, job_id),
                live: LiveLogOptions::default(),
                live_started: false,
                finish_signalled: false,
                signal_fetch_failed: false,
                last_job: None,
                live_logs_error: None,
                state: State::Polling,
            },
            on_progress: None,
        }
    }

    /// Time between two status polls (2 seconds by default). While the log is followed
    /// live, the status is polled every [`LiveLogOptions::status_interval`] instead.
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
    /// fails, the job's success still stands and the error is in [`JobOutcome::log_error`].
    /// A failed job's log is always fetched, into [`Error::JobFailed`]. Both fetches count
    /// against the [`timeout`](WaitForJob::timeout).
    pub fn fetch_logs(mut self, fetch: bool) -> Self {
        self.poller.fetch_logs = fetch;
        self
    }

    /// Follows the job's log, into [`JobProgress::new_log_lines`].
    ///
    /// Every line comes from the log endpoint, found by the log's running count
    /// (`totalCount`): lines come in the server's order, each once, whatever their text
    /// (blank lines and repeated lines included), with the time and level the server gave
    /// them. Each status poll fetches the new lines.
    ///
    /// **Live** (the default, see [`live_logs`](WaitForJob::live_logs)): after the first
    /// status poll, the wait also opens Studio's Socket.IO connection for the job. Each line
    /// the server pushes there makes the wait fetch the new lines at once, reported between
    /// the status polls (which go on every 5 s on their own schedule, however many lines
    /// arrive, and decide the outcome); each (re)connection fetches the lines written while
    /// none was up. When no connection works for the reconnection budget (60 s), or the
    /// server refuses it, the wait follows the log with the status polls alone and says why
    /// in [`JobProgress::live_logs_error`]; it does so from the start when the socket could
    /// not go the way the HTTP client's requests go (a proxy, your own `reqwest::Client`; see
    /// [`LiveLogOptions::connect_directly`]).
    ///
    /// **Polling** ([`LiveLogOptions::disabled`]): one log request per status poll.
    ///
    /// What is guaranteed: no line is delivered twice or out of order. Lines are lost only
    /// when more than 1000 (the endpoint's window) are written between two fetches; they are
    /// counted in [`JobProgress::skipped_log_lines`]. A failed log request is reported in
    /// [`JobProgress::log_error`], and its lines come with the next fetch. Should the log's
    /// count ever go backwards (a log the server rewrote), the wait resumes after the last
    /// lines delivered, found by their text in the window.
    pub fn follow_logs(mut self, follow: bool) -> Self {
        self.poller.follow_logs = follow;
        self
    }

    /// How live logs work for [`follow_logs`](WaitForJob::follow_logs): intervals,
    /// timeouts, the reconnection budget, or [`LiveLogOptions::disabled`] to poll instead.
    pub fn live_logs(mut self, options: LiveLogOptions) -> Self {
        self.poller.live = options;
        self
    }

    /// Called with every progress report, the last one (finished) included.
    pub fn on_progress(mut self, callback: impl FnMut(&JobProgress) + Send + 'c) -> Self {
        self.on_progress = Some(Box::new(callback));
        self
    }

    /// The progress reports as a stream: one item per poll (and per batch of live log
    /// lines). It ends after the report of a successful job; for a failed job, the report
    /// is followed by an [`Error::JobFailed`] item; a timeout or a failed status request is
    /// an error item. The [`on_progress`](WaitForJob::on_progress) callback is not called.
    /// Dropping the stream closes the live log connection.
    pub fn into_stream(self) -> impl futures_util::Stream<Item = Result<JobProgress>> + Send + 'c {
        futures_util::stream::unfold(self.poller, |mut poller| async move { poller.next().await.map(|item| (item, poller)) })
    }

    /// The job's log lines as a stream, followed as [`follow_logs`](WaitForJob::follow_logs)
    /// says (it is turned on). The stream ends when the job ends, successfully or not (the
    /// wait itself tells which); a timeout or a failed status request is an error item.
    /// Lines are fetched while the stream is read: a consumer that stops reading while more
    /// than 1000 lines are written misses the oldest of them (the endpoint keeps no more);
    /// [`into_stream`](WaitForJob::into_stream) counts them in
    /// [`JobProgress::skipped_log_lines`].
    pub fn into_log_stream(mut self) -> impl futures_util::Stream<Item = Result<JobLogLine>> + Send + 'c {
        self.poller.follow_logs = true;
        let pending = std::collections::VecDeque::new();
        futures_util::stream::unfold((Some(self.poller), pending), |(mut poller, mut pending)| async move {
            loop {
                if let Some(line) = pending.pop_front() {
                    return Some((Ok(line), (poller, pending)));
                }
                let current = poller.as_mut()?;
                match current.next().await? {
                    Ok(progress) => pending.extend(progress.new_log_lines),
                    Err(Error::JobFailed { .. }) => poller = None,
                    Err(error) => return Some((Err(error), (None, pending))),
                }
            }
        })
    }

    async fn run(mut self) -> Result<JobOutcome> {
        while let Some(item) = self.poller.next().await {
            let progress = item?;
            if let Some(callback) = &mut self.on_progress {
                callback(&progress);
            }
            if progress.phase == JobPhase::Succeeded {
                let mut log_error = progress.log_error;
                let logs = match self.poller.fetch_logs {
                    true => match self.poller.logs_within_timeout().await {
                        Ok(window) => window.lines,
                        Err(error) => {
                            tracing::warn!(job_id = self.poller.job_id, %error, "could not fetch the job's log");
                            log_error = Some(Arc::new(error));
                            Vec::new()
                        }
                    },
                    false => Vec::new(),
                };
                return Ok(JobOutcome { job: progress.job, logs, elapsed: progress.elapsed, polls: progress.polls, log_error });
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
    /// When the last status poll was made: the next is due an interval later, whatever the
    /// log does in between.
    last_status_at: Option<tokio::time::Instant>,
    /// The one owner of the followed log's lines, and of the live socket.
    follower: LogFollower<'c>,
    live: LiveLogOptions,
    live_started: bool,
    /// The socket said the job finished: poll the status without the live interval.
    finish_signalled: bool,
    /// A fetch the socket asked for failed: the next one waits for the status poll.
    signal_fetch_failed: bool,
    /// The status of the last poll, for reports of live lines between polls.
    last_job: Option<Job>,
    /// Why live logs stopped, for the next report.
    live_logs_error: Option<Arc<Error>>,
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
        if let Some(last) = self.last_status_at {
            let interval = match self.follower.is_live() && !self.finish_signalled {
                true => self.live.status_poll_interval(),
                false => self.poll_interval,
            };
            let mut due = later(last, interval);
            if let Some(remaining) = self.remaining(started) {
                due = due.min(later(tokio::time::Instant::now(), remaining));
            }
            // Lines the socket announces are reported as they come; the status poll stays due
            // when it was.
            while let Some(signal) = self.follower.next_signal(due).await {
                match signal {
                    Signal::More if !self.signal_fetch_failed => {
                        let mut progress = match self.last_job.clone() {
                            Some(job) => self.report(job, started, NewLines::default()),
                            None => continue,
                        };
                        match bounded(self.time_left(), self.follower.fetch()).await {
                            None => return Err(self.timed_out().await),
                            Some(Ok(new)) if new.is_empty() && progress.live_logs_error.is_none() => continue,
                            Some(result) => {
                                self.signal_fetch_failed = result.is_err();
                                self.add_lines(result, &mut progress);
                                return Ok(progress);
                            }
                        }
                    }
                    Signal::More => {}
                    Signal::Finished => {
                        self.finish_signalled = true;
                        break;
                    }
                    Signal::GaveUp(error) => self.fall_back_to_polling(error),
                }
            }
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
        self.last_status_at = Some(tokio::time::Instant::now());
        self.last_job = Some(job.clone());
        self.signal_fetch_failed = false;
        let finished = JobPhase::of(&job).is_finished();
        if !self.follow_logs {
            return Ok(self.report(job, started, NewLines::default()));
        }
        if finished {
            // The last lines are in the log: the fetch below brings them.
            self.follower.stop_live().await;
        } else if self.live.is_enabled() && !self.live_started {
            self.live_started = true;
            if let Err(error) = self.follower.start_live(&self.live) {
                self.fall_back_to_polling(error);
            }
        }
        let mut progress = self.report(job, started, NewLines::default());
        match bounded(self.time_left(), self.follower.fetch()).await {
            Some(result) => self.add_lines(result, &mut progress),
            None => return Err(self.timed_out().await),
        }
        Ok(progress)
    }

    /// A report with the given status and lines (and the live error not reported yet).
    fn report(&mut self, job: Job, started: Instant, lines: NewLines) -> JobProgress {
        JobProgress {
            job_id: self.job_id,
            phase: JobPhase::of(&job),
            job,
            elapsed: started.elapsed(),
            polls: self.polls,
            new_log_lines: lines.lines,
            skipped_log_lines: lines.skipped,
            log_error: None,
            live_logs_error: self.live_logs_error.take(),
        }
    }

    /// Adds what a fetch found to `progress`, or why it found nothing.
    fn add_lines(&self, fetched: Result<NewLines>, progress: &mut JobProgress) {
        match fetched {
            Ok(new) => {
                progress.new_log_lines.extend(new.lines);
                progress.skipped_log_lines += new.skipped;
            }
            Err(error) => {
                tracing::warn!(job_id = self.job_id, %error, "could not fetch the job's new log lines");
                progress.log_error = Some(Arc::new(error));
            }
        }
    }

    fn fall_back_to_polling(&mut self, error: Error) {
        tracing::warn!(job_id = self.job_id, %error, "following the job's log by polling");
        self.live_logs_error = Some(Arc::new(error));
    }

    /// Runs `call` within the time left before the wait's timeout; `None` past it.
    async fn within_timeout<T>(&self, call: impl Future<Output = T>) -> Option<T> {
        bounded(self.time_left(), call).await
    }

    /// Time left before the wait's timeout, `None` without one (or before the first poll).
    fn time_left(&self) -> Option<Duration> {
        self.started.and_then(|started| self.remaining(started))
    }

    /// Time left before the timeout, `None` without one.
    fn remaining(&self, started: Instant) -> Option<Duration> {
        self.timeout.map(|limit| limit.saturating_sub(started.elapsed()))
    }

    async fn status(&self) -> Result<Job> {
        Ok(self.scope.status_request(self.client, self.job_id).await?.job)
    }

    /// The name of the status operation, which job errors carry.
    fn status_operation(&self) -> &'static str {
        self.scope.status_request(self.client, self.job_id).operation().id
    }

    /// The last lines of the log (the most the endpoint returns).
    async fn logs(&self) -> Result<LogWindow> {
        fetch_log_window(self.client, self.scope, self.job_id, LOG_WINDOW).await
    }

    /// The log window, or [`Error::Timeout`] of the log operation past the wait's timeout.
    async fn logs_within_timeout(&self) -> Result<LogWindow> {
        let operation = self.scope.log_request(self.client, self.job_id, LOG_WINDOW).operation().id;
        // Only a wait with a timeout can run out of time.
        let limit = TimeLimit::Call(self.timeout.unwrap_or_default());
        self.within_timeout(self.logs()).await.unwrap_or(Err(Error::Timeout { operation, limit }))
    }

    async fn failure(&self, job: Box<Job>) -> Error {
        // The log says why; without it the error is still clear about what failed.
        let logs = match self.logs_within_timeout().await {
            Ok(window) => window.lines,
            Err(error) => {
                tracing::warn!(job_id = self.job_id, %error, "could not fetch the failed job's log");
                Vec::new()
            }
        };
        // Log lines are server text that may echo a credential: the redaction step applies.
        self.client.redact(Error::JobFailed { operation: self.status_operation(), job_id: self.job_id, job, logs })
    }

    async fn timed_out(&self) -> Error {
        let (mut cancelled, mut cancel_error) = (false, None);
        if self.cancel_on_timeout {
            let request = self.scope.cancel_request(self.client, self.job_id);
            let operation = request.operation().id;
            let cancel = async { request.await.map(drop) };
            // The wait is already over time: the cancel gets a bounded grace of its own.
            let grace = self.timeout.unwrap_or(CANCEL_TIMEOUT).min(CANCEL_TIMEOUT);
            match tokio::time::timeout(grace, cancel).await {
                Ok(Ok(())) => cancelled = true,
                Ok(Err(error)) => cancel_error = Some(Box::new(error)),
                Err(_) => cancel_error = Some(Box::new(Error::Timeout { operation, limit: TimeLimit::Call(grace) })),
            }
        }
        self.timeout_error(cancelled, cancel_error)
    }

    fn timeout_error(&self, cancelled: bool, cancel_error: Option<Box<Error>>) -> Error {
        Error::JobTimeout {
            operation: self.status_operation(),
            job_id: self.job_id,
            timeout: self.timeout.unwrap_or_default(),
            cancelled,
            cancel_error,
        }
    }
}

/// Runs `call` for at most `limit` (no limit: `None`); `None` when it took longer.
async fn bounded<T>(limit: Option<Duration>, call: impl Future<Output = T>) -> Option<T> {
    match limit {
        Some(limit) => tokio::time::timeout(limit, call).await.ok(),
        None => Some(call.await),
    }
}
