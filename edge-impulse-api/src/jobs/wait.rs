//! Waiting for jobs. Training, deployment builds, exports and many other operations start a
//! job and answer with its id at once; [`Client::wait_for_job`] polls the job's status until it
//! finishes, reporting progress on the way.

use std::future::{Future, IntoFuture};
use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::error::{Error, Result, TimeLimit};
use crate::jobs::live_logs::{same_text, Feed, LiveFeed, LiveLogOptions};
use crate::jobs::job_log::{JobLogLevel, JobLogLine};
use crate::models::{GenericApiResponse, GetJobResponse, Job, LogStdoutResponse, SocketTokenResponse};
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

    /// The last [`LOG_WINDOW`] lines of the log.
    fn log_request(self, client: &Client, job_id: i64) -> Request<'_, LogStdoutResponse> {
        match self {
            #[cfg(feature = "jobs")]
            Scope::Project(project_id) => client.jobs().get_jobs_logs(project_id, job_id).limit(LOG_WINDOW).into_request(),
            #[cfg(feature = "organization-jobs")]
            Scope::Organization(organization_id) => {
                client.organization_jobs().get_organization_jobs_logs(organization_id, job_id).limit(LOG_WINDOW).into_request()
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

/// The number of lines asked of the log endpoint at once: all it keeps.
const LOG_WINDOW: i64 = 1000;

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
                log_cursor: Arc::default(),
                live: LiveLogOptions::default(),
                feed: None,
                live_started: false,
                finish_signalled: false,
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
    /// **Live** (the default, see [`live_logs`](WaitForJob::live_logs)): after the first
    /// status poll, the wait opens Studio's Socket.IO connection for the job and reports
    /// lines as the server pushes them, one report per batch between status polls (which
    /// continue every 5 s as the safety net and decide the outcome). The lines written
    /// before the connection, or while it was down, are fetched from the log endpoint when
    /// it (re)connects. When no connection works for the reconnection budget (60 s), or the
    /// server refuses it, the wait goes on **polling** as below, starting after the last
    /// line delivered, and says why in [`JobProgress::live_logs_error`].
    ///
    /// **Polling**: one log request per status poll. Lines are found by the log's running
    /// count, so none is reported twice; if more lines than the API returns at once (1000)
    /// appear between two polls, the oldest of them are skipped and counted in
    /// [`JobProgress::skipped_log_lines`]. A failed log request is reported in
    /// [`JobProgress::log_error`].
    ///
    /// What is guaranteed: lines come oldest first, and a line delivered is never delivered
    /// again by the same wait, as long as the last lines delivered can be found by their
    /// text in the last 1000 lines of the log (where the log's running count cannot be used:
    /// after socket lines, and when the count goes backwards). Lines are not lost except
    /// when more than 1000 lines are written while neither the socket nor a poll carries
    /// them (counted in `skipped_log_lines` when polling), or when a catch-up request fails
    /// (a WARN event says so). Socket lines that arrive just after a catch-up and repeat its
    /// last lines are recognised by their text and dropped; identical consecutive lines at
    /// that seam may be merged. Socket lines carry the time they were received as `created`
    /// and no `log_level`.
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
    /// Where the followed log stands; shared with the live task.
    log_cursor: Arc<std::sync::Mutex<LogCursor>>,
    live: LiveLogOptions,
    /// The live task, while it runs.
    feed: Option<LiveFeed>,
    live_started: bool,
    /// The socket said the job finished: poll the status without the live interval.
    finish_signalled: bool,
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
        if self.polls > 0 {
            let interval = match self.feed.is_some() && !self.finish_signalled {
                true => self.live.status_poll_interval(),
                false => self.poll_interval,
            };
            let wait = match self.remaining(started) {
                Some(remaining) => interval.min(remaining),
                None => interval,
            };
            // Live lines only come after the first poll, which set `last_job`.
            if let (Some(lines), Some(job)) = (self.wait_for_live_lines(wait).await, self.last_job.clone()) {
                return Ok(self.report(job, started, lines));
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
        self.last_job = Some(job.clone());
        let finished = JobPhase::of(&job).is_finished();
        let mut progress = self.report(job, started, NewLines::default());
        if !self.follow_logs {
            return Ok(progress);
        }
        if self.live.is_enabled() && self.scope.socket_token_request(self.client).is_some() && !self.live_started && !finished {
            // Its first catch-up brings the lines written so far.
            self.live_started = true;
            self.feed = Some(LiveFeed::start(self.client, self.scope, self.job_id, self.live.clone(), self.log_cursor.clone()));
            return Ok(progress);
        }
        if let Some(feed) = self.feed.take() {
            let reports = match finished {
                // The last lines may still be on their way: stop the socket, poll once more.
                true => feed.stop().await,
                false => {
                    self.feed = Some(feed);
                    self.feed.as_mut().map(LiveFeed::ready).unwrap_or_default()
                }
            };
            for report in reports {
                self.take_feed_report(report, &mut progress);
            }
            if !finished && self.feed.is_some() {
                return Ok(progress);
            }
        }
        match self.within_timeout(self.logs()).await {
            Some(Ok(window)) => {
                let new = self.log_cursor.lock().unwrap_or_else(std::sync::PoisonError::into_inner).advance(window);
                progress.new_log_lines.extend(new.lines);
                progress.skipped_log_lines += new.skipped;
            }
            None => return Err(self.timed_out().await),
            Some(Err(error)) => {
                tracing::warn!(job_id = self.job_id, %error, "could not fetch the job's new log lines");
                progress.log_error = Some(Arc::new(error));
            }
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

    /// Adds what the live task reported to `progress`; notes a finish or a fallback.
    fn take_feed_report(&mut self, report: Feed, progress: &mut JobProgress) {
        match report {
            Feed::Lines(new) => {
                progress.new_log_lines.extend(new.lines);
                progress.skipped_log_lines += new.skipped;
            }
            Feed::Finished => self.finish_signalled = true,
            Feed::GaveUp(error) => {
                self.fall_back_to_polling(error);
                progress.live_logs_error = self.live_logs_error.take();
            }
        }
    }

    fn fall_back_to_polling(&mut self, error: Error) {
        tracing::warn!(job_id = self.job_id, %error, "following the job's log by polling");
        self.feed = None;
        self.live_logs_error = Some(Arc::new(error));
    }

    /// Waits `wait`, or less when the live task reports lines (returned, to be reported at
    /// once), the job's end (the status is polled at once), or that it gave up.
    async fn wait_for_live_lines(&mut self, wait: Duration) -> Option<NewLines> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let Some(feed) = &mut self.feed else {
                tokio::time::sleep_until(deadline).await;
                return None;
            };
            match tokio::time::timeout_at(deadline, feed.recv()).await {
                Err(_) => return None,
                Ok(Some(Feed::Lines(new))) if new.lines.is_empty() && new.skipped == 0 => {}
                Ok(Some(Feed::Lines(new))) => return Some(new),
                Ok(Some(Feed::Finished)) => {
                    self.finish_signalled = true;
                    return None;
                }
                Ok(Some(Feed::GaveUp(error))) => {
                    self.fall_back_to_polling(error);
                    return None;
                }
                Ok(None) => {
                    // Over without a word (it always says why): poll from now on.
                    self.feed = None;
                    return None;
                }
            }
        }
    }

    /// Runs `call` within the time left before the wait's timeout; `None` past it.
    async fn within_timeout<T>(&self, call: impl Future<Output = T>) -> Option<T> {
        match self.started.and_then(|started| self.remaining(started)) {
            Some(remaining) => tokio::time::timeout(remaining, call).await.ok(),
            None => Some(call.await),
        }
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
        fetch_log_window(self.client, self.scope, self.job_id).await
    }

    /// The log window, or [`Error::Timeout`] of the log operation past the wait's timeout.
    async fn logs_within_timeout(&self) -> Result<LogWindow> {
        let operation = self.scope.log_request(self.client, self.job_id).operation().id;
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

/// The last lines of a job's log, oldest first, and the log's running count.
#[derive(Debug)]
pub(crate) struct LogWindow {
    pub(crate) total: i64,
    pub(crate) lines: Vec<JobLogLine>,
}

/// Fetches the log window of a job. The endpoint answers newest first; lines printed in the
/// same instant share a timestamp, so the order is not judged from timestamps.
pub(crate) async fn fetch_log_window(client: &Client, scope: Scope, job_id: i64) -> Result<LogWindow> {
    let answer = scope.log_request(client, job_id).await?;
    // Field by field into the runtime's own line type (see `job_log`), oldest first.
    let lines = answer
        .stdout
        .into_iter()
        .rev()
        .map(|line| JobLogLine { created: line.created, data: line.data, log_level: line.log_level.map(|level| JobLogLevel::from(level.as_str())) })
        .collect();
    Ok(LogWindow { total: answer.total_count, lines })
}

/// New lines found by [`LogCursor::advance`].
#[derive(Debug, Default)]
pub(crate) struct NewLines {
    pub(crate) lines: Vec<JobLogLine>,
    /// Lines known to be missing before `lines`.
    pub(crate) skipped: u64,
}

/// How many delivered lines are remembered by their text, to find the place in a window.
pub(crate) const REMEMBERED_LINES: usize = 64;

/// What a follower has delivered of a log: the running count as of the last window (`None`
/// when lines came from elsewhere, the live socket) and the text of the last lines.
#[derive(Debug)]
pub(crate) struct LogCursor {
    count: Option<i64>,
    recent: VecDeque<String>,
}

impl Default for LogCursor {
    fn default() -> Self {
        LogCursor { count: Some(0), recent: VecDeque::new() }
    }
}

impl LogCursor {
    /// The lines of `window` not delivered yet. By the running count while it only grows;
    /// when it goes backwards, or after lines that came without a count, by finding the last
    /// delivered lines in the window by their text.
    pub(crate) fn advance(&mut self, window: LogWindow) -> NewLines {
        let LogWindow { total, mut lines } = window;
        let available = lines.len() as u64;
        let new = match self.count {
            Some(seen) if total >= seen => {
                let added = u64::try_from(total - seen).unwrap_or(0);
                let skipped = added.saturating_sub(available);
                NewLines { lines: lines.split_off(lines.len() - added.min(available) as usize), skipped }
            }
            _ => match resume_point(&self.recent, &lines) {
                Some(after) => NewLines { lines: lines.split_off(after), skipped: 0 },
                None => {
                    // Nothing delivered is in the window: all of it is new, and more may
                    // have scrolled out of it.
                    let before = u64::try_from(total).unwrap_or(0).saturating_sub(available);
                    NewLines { lines, skipped: if self.recent.is_empty() { 0 } else { before } }
                }
            },
        };
        self.count = Some(total);
        self.remember(&new.lines);
        new
    }

    /// Records lines delivered from elsewhere (the live socket): the count no longer holds.
    pub(crate) fn delivered_elsewhere(&mut self, lines: &[JobLogLine]) {
        if !lines.is_empty() {
            self.count = None;
            self.remember(lines);
        }
    }

    fn remember(&mut self, lines: &[JobLogLine]) {
        for line in lines.iter().skip(lines.len().saturating_sub(REMEMBERED_LINES)) {
            if self.recent.len() == REMEMBERED_LINES {
                self.recent.pop_front();
            }
            self.recent.push_back(line.data.clone());
        }
    }
}

/// Where `window` continues after the `delivered` lines: the position after the longest run
/// of the latest delivered lines found in it; the latest such position when several fit
/// equally (repeated lines), so that nothing is delivered twice. `None`: not found.
fn resume_point(delivered: &VecDeque<String>, window: &[JobLogLine]) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None; // (matched lines, position)
    for end in (1..=window.len()).rev() {
        let matched = window[..end].iter().rev().zip(delivered.iter().rev()).take_while(|(line, text)| same_text(&line.data, text)).count();
        if matched > best.map_or(0, |(most, _)| most) {
            best = Some((matched, end));
        }
    }
    best.map(|(_, end)| end)
}
