//! Following a job's log. [`LogFollower`] is the one owner of log delivery: every line a
//! wait or a log stream hands out comes from it. The live socket ([`LiveSocket`], a
//! background task on Studio's Socket.IO connection) carries no line to the caller: it only
//! tells the follower when the log has grown (and when the job finished), so that lines are
//! fetched at once instead of at the next status poll.
//!
//! Why the socket's own text is not delivered: its events carry the text alone, with no
//! position in the log, so around every (re)connection the lines it repeats from the
//! catch-up could only be told apart from new lines with the same text by guessing. Taking
//! every line from the log endpoint by the log's running count leaves nothing to guess.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::error::{Error, Result, TimeLimit};
use crate::jobs::job_log::{JobLogLevel, JobLogLine};
use crate::jobs::socket::{later, Connection, SocketError, SocketEvent, SocketUrl, Timings};
use crate::jobs::wait::Scope;
use crate::Client;

/// Settings of live job logs, for [`WaitForJob::live_logs`](crate::WaitForJob::live_logs).
/// The defaults follow the official SDKs: a ping every 5 s, 10 s for the server's `hello`,
/// a status poll every 5 s as the safety net, and 60 s without a working connection before
/// falling back to polling the log endpoint.
#[derive(Debug, Clone)]
pub struct LiveLogOptions {
    enabled: bool,
    endpoint: Option<String>,
    ping_interval: Duration,
    pong_timeout: Duration,
    hello_timeout: Duration,
    status_interval: Duration,
    reconnect_delay: Duration,
    reconnect_budget: Duration,
    connect_directly: bool,
}

impl Default for LiveLogOptions {
    fn default() -> Self {
        LiveLogOptions {
            enabled: true,
            endpoint: None,
            ping_interval: Duration::from_secs(5),
            pong_timeout: Duration::from_secs(10),
            hello_timeout: Duration::from_secs(10),
            status_interval: Duration::from_secs(5),
            reconnect_delay: Duration::from_millis(500),
            reconnect_budget: Duration::from_secs(60),
            connect_directly: false,
        }
    }
}

/// The longest wait between two reconnection attempts.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(5);

impl LiveLogOptions {
    /// Live logs off: following a log polls the log endpoint with every status poll.
    pub fn disabled() -> Self {
        LiveLogOptions { enabled: false, ..LiveLogOptions::default() }
    }

    /// The Socket.IO host (`https://host`, `wss://host:port`; the path is ignored). By
    /// default the client's base URL host: `https` becomes `wss`, `http` becomes `ws`.
    pub fn endpoint(mut self, endpoint: impl Into<String>) -> Self {
        self.endpoint = Some(endpoint.into());
        self
    }

    /// Time between two pings sent to the socket (5 s by default). Every duration of these
    /// options may be as long as [`Duration::MAX`], which means "never".
    pub fn ping_interval(mut self, interval: Duration) -> Self {
        self.ping_interval = interval;
        self
    }

    /// How long the socket may stay silent after a ping is due before the connection counts
    /// as stalled and is replaced (10 s by default).
    pub fn pong_timeout(mut self, timeout: Duration) -> Self {
        self.pong_timeout = timeout;
        self
    }

    /// The longest time from opening a connection to the server's `hello` (10 s by
    /// default); a connection that does not get there is replaced.
    pub fn hello_timeout(mut self, timeout: Duration) -> Self {
        self.hello_timeout = timeout;
        self
    }

    /// Time between two status polls while the socket delivers the log (5 s by default).
    /// The poll decides the outcome, also when the socket misses the finish event.
    pub fn status_interval(mut self, interval: Duration) -> Self {
        self.status_interval = interval;
        self
    }

    /// The wait before the first reconnection attempt (500 ms by default); it doubles with
    /// each failed attempt, up to 5 s, with jitter.
    pub fn reconnect_delay(mut self, delay: Duration) -> Self {
        self.reconnect_delay = delay;
        self
    }

    /// How long the socket may go without a working connection before the log is followed
    /// by polling instead (60 s by default).
    pub fn reconnect_budget(mut self, budget: Duration) -> Self {
        self.reconnect_budget = budget;
        self
    }

    /// Opens the socket directly (no proxy, the webpki root certificates) even when the
    /// HTTP client's requests may go another way: through a proxy (`HTTPS_PROXY`,
    /// `HTTP_PROXY`, `ALL_PROXY` or the system's settings, minus `NO_PROXY`), or with the
    /// caller's own `reqwest::Client` ([`ClientBuilder::http_client`](crate::ClientBuilder::http_client)),
    /// whose settings cannot be read back. Off by default: in those cases the wait does not
    /// try the socket and follows the log by polling from the start, saying why in
    /// [`JobProgress::live_logs_error`](crate::JobProgress::live_logs_error).
    pub fn connect_directly(mut self, direct: bool) -> Self {
        self.connect_directly = direct;
        self
    }

    pub(crate) fn is_enabled(&self) -> bool {
        self.enabled
    }

    pub(crate) fn status_poll_interval(&self) -> Duration {
        self.status_interval
    }

    fn timings(&self) -> Timings {
        Timings { ping_interval: self.ping_interval, pong_timeout: self.pong_timeout, hello_timeout: self.hello_timeout }
    }
}

/// The number of lines the log endpoint returns at most: all it keeps.
pub(crate) const LOG_WINDOW: i64 = 1000;

/// The fewest lines asked for after a signal from the socket; more when it announced more.
const MIN_LIVE_WINDOW: i64 = 32;

/// The last lines of a job's log, oldest first, and the log's running count.
#[derive(Debug)]
pub(crate) struct LogWindow {
    pub(crate) total: i64,
    pub(crate) lines: Vec<JobLogLine>,
}

/// Fetches the last `limit` lines of a job's log. The endpoint answers newest first; lines
/// printed in the same instant share a timestamp, so the order is not judged from timestamps.
pub(crate) async fn fetch_log_window(client: &Client, scope: Scope, job_id: i64, limit: i64) -> Result<LogWindow> {
    let answer = scope.log_request(client, job_id, limit).await?;
    // Field by field into the runtime's own line type (see `job_log`), oldest first.
    let lines = answer
        .stdout
        .into_iter()
        .rev()
        .map(|line| JobLogLine { created: line.created, data: line.data, log_level: line.log_level.map(|level| JobLogLevel::from(level.as_str())) })
        .collect();
    Ok(LogWindow { total: answer.total_count, lines })
}

/// New lines found by [`LogFollower::fetch`].
#[derive(Debug, Default)]
pub(crate) struct NewLines {
    pub(crate) lines: Vec<JobLogLine>,
    /// Lines known to be missing before `lines`: they scrolled out of the endpoint's window
    /// before any fetch saw them.
    pub(crate) skipped: u64,
}

impl NewLines {
    pub(crate) fn is_empty(&self) -> bool {
        self.lines.is_empty() && self.skipped == 0
    }
}

/// What the live socket tells the follower.
#[derive(Debug)]
pub(crate) enum Signal {
    /// The log has grown (a line came over the socket, or a connection was (re)opened and
    /// lines may have been written while none was up): fetch.
    More,
    /// The socket said the job finished; the status poll says how.
    Finished,
    /// The socket could not be kept up; the log is followed by the status polls alone.
    GaveUp(Error),
}

/// The one owner of a followed log's delivery.
///
/// Invariant: the lines it hands out are the server's log in the server's order, each once,
/// because every line comes from the log endpoint at the position the log's running count
/// (`totalCount`) gives it, and the follower's count of lines handed out only moves past a
/// line when it hands that line out. The only exceptions are stated where they happen: more
/// than 1000 lines (the endpoint's window) written between two fetches are counted in
/// `skipped` rather than handed out, and a count that goes backwards (a log the server
/// rewrote) is resumed after the last lines handed out, found by their text.
///
/// The live socket only decides *when* to fetch; the status polls fetch too, so a line the
/// socket missed comes with the next poll at the latest.
pub(crate) struct LogFollower<'c> {
    client: &'c Client,
    scope: Scope,
    job_id: i64,
    /// The log's running count up to which lines were handed out.
    count: i64,
    /// The text of the last lines handed out, to resume after a count that went backwards.
    recent: VecDeque<String>,
    live: Option<LiveSocket>,
}

/// How many lines handed out are remembered by their text.
const REMEMBERED_LINES: usize = 64;

impl std::fmt::Debug for LogFollower<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogFollower").field("job_id", &self.job_id).field("count", &self.count).field("live", &self.live.is_some()).finish_non_exhaustive()
    }
}

impl<'c> LogFollower<'c> {
    pub(crate) fn new(client: &'c Client, scope: Scope, job_id: i64) -> Self {
        LogFollower { client, scope, job_id, count: 0, recent: VecDeque::new(), live: None }
    }

    /// Whether the live socket runs.
    pub(crate) fn is_live(&self) -> bool {
        self.live.is_some()
    }

    /// Starts the live socket, or says at once why it cannot work: the crate lacks the token
    /// operation, or the HTTP client would reach the host another way than a direct
    /// connection (a proxy, the caller's own `reqwest::Client`).
    pub(crate) fn start_live(&mut self, options: &LiveLogOptions) -> Result<()> {
        let Some(request) = self.scope.socket_token_request(self.client) else { return Ok(()) };
        let operation = request.operation().id;
        let endpoint = options.endpoint.as_deref().unwrap_or(self.client.base_url());
        let refused = |message: String| Error::LiveLogs { operation, message };
        if !options.connect_directly {
            if self.client.has_own_http_client() {
                return Err(refused(
                    "the client was given its own reqwest::Client, whose proxy and root certificates the socket cannot use; \
                     following the log by polling (LiveLogOptions::connect_directly(true) opens the socket anyway)"
                        .into(),
                ));
            }
            // The address only: the token comes later.
            let url = SocketUrl::new(endpoint, crate::transport::auth::Secret::new("")).map_err(|e| refused(e.message))?;
            if let Some(proxy) = url.proxy() {
                return Err(refused(format!(
                    "requests to this host go through the proxy {proxy}, which the socket does not use; \
                     following the log by polling (LiveLogOptions::connect_directly(true) opens the socket anyway)"
                )));
            }
        }
        self.live = Some(LiveSocket::start(self.client, self.scope, self.job_id, options.clone()));
        Ok(())
    }

    /// Stops the live socket (the job is over: the last fetch brings the rest).
    pub(crate) async fn stop_live(&mut self) {
        if let Some(live) = self.live.take() {
            live.stop().await;
        }
    }

    /// Waits for the socket's next signal until `until`; `None` at `until` (at once without
    /// a socket). A socket that finished or gave up is over afterwards.
    pub(crate) async fn next_signal(&mut self, until: Instant) -> Option<Signal> {
        let Some(live) = &mut self.live else {
            tokio::time::sleep_until(until).await;
            return None;
        };
        // Due is due: signals that keep coming must not hold the status poll up.
        if Instant::now() >= until {
            return None;
        }
        match tokio::time::timeout_at(until, live.receiver.recv()).await {
            Err(_) => None,
            Ok(Some(Signal::More)) => Some(Signal::More),
            Ok(Some(signal)) => {
                self.live = None;
                Some(signal)
            }
            Ok(None) => {
                // Over without a word (it always says why): the polls go on.
                self.live = None;
                None
            }
        }
    }

    /// Fetches the log and hands out the lines not handed out yet. With the socket up, asks
    /// for about as many lines as it announced, and for the whole window when they do not
    /// reach back to the last line handed out.
    pub(crate) async fn fetch(&mut self) -> Result<NewLines> {
        let limit = match &self.live {
            Some(live) => {
                let announced = i64::try_from(live.announced.swap(0, Ordering::SeqCst)).unwrap_or(LOG_WINDOW);
                announced.saturating_add(MIN_LIVE_WINDOW).min(LOG_WINDOW)
            }
            None => LOG_WINDOW,
        };
        let mut window = fetch_log_window(self.client, self.scope, self.job_id, limit).await?;
        if limit < LOG_WINDOW && !self.reaches_back(&window) {
            window = fetch_log_window(self.client, self.scope, self.job_id, LOG_WINDOW).await?;
        }
        Ok(self.advance(window))
    }

    /// Whether `window` holds every line after the last one handed out (or the whole log).
    fn reaches_back(&self, window: &LogWindow) -> bool {
        let first = window.total.saturating_sub(window.lines.len() as i64);
        window.total >= self.count && (first <= self.count || first <= 0)
    }

    /// The lines of `window` not handed out yet, by the running count while it only grows;
    /// when it goes backwards, after the last lines handed out, found by their text.
    fn advance(&mut self, window: LogWindow) -> NewLines {
        let LogWindow { total, mut lines } = window;
        let available = lines.len() as u64;
        let new = if total >= self.count {
            let added = u64::try_from(total - self.count).unwrap_or(0);
            let skipped = added.saturating_sub(available);
            NewLines { lines: lines.split_off(lines.len() - added.min(available) as usize), skipped }
        } else {
            match resume_point(&self.recent, &lines) {
                Some(after) => NewLines { lines: lines.split_off(after), skipped: 0 },
                None => {
                    // Nothing handed out is in the window: all of it is new, and more may
                    // have scrolled out of it.
                    let before = u64::try_from(total).unwrap_or(0).saturating_sub(available);
                    NewLines { lines, skipped: if self.recent.is_empty() { 0 } else { before } }
                }
            }
        };
        self.count = total;
        for line in new.lines.iter().skip(new.lines.len().saturating_sub(REMEMBERED_LINES)) {
            if self.recent.len() == REMEMBERED_LINES {
                self.recent.pop_front();
            }
            self.recent.push_back(line.data.clone());
        }
        new
    }
}

/// Where `window` continues after the `delivered` lines: the position after the longest run
/// of the latest delivered lines found in it; the latest such position when several fit
/// equally (repeated lines), so that nothing is delivered twice. `None`: not found.
fn resume_point(delivered: &VecDeque<String>, window: &[JobLogLine]) -> Option<usize> {
    let mut best: Option<(usize, usize)> = None; // (matched lines, position)
    for end in (1..=window.len()).rev() {
        let matched = window[..end].iter().rev().zip(delivered.iter().rev()).take_while(|(line, text)| line.data.trim_end() == text.trim_end()).count();
        if matched > best.map_or(0, |(most, _)| most) {
            best = Some((matched, end));
        }
    }
    best.map(|(_, end)| end)
}

/// The running live socket; stopping or dropping it ends the connection.
///
/// Its channel holds at most [`SIGNALS`] signals and never a line: a `More` that finds the
/// channel full is not needed (one waiting already makes the follower fetch everything), so
/// a stalled consumer costs no memory and loses nothing.
struct LiveSocket {
    receiver: mpsc::Receiver<Signal>,
    /// Job lines the socket carried since the last fetch, to size the next one.
    announced: Arc<AtomicU64>,
    task: Option<tokio::task::JoinHandle<()>>,
}

/// The capacity of the live socket's channel.
const SIGNALS: usize = 2;

impl Drop for LiveSocket {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl LiveSocket {
    fn start(client: &Client, scope: Scope, job_id: i64, options: LiveLogOptions) -> LiveSocket {
        let (sender, receiver) = mpsc::channel(SIGNALS);
        let announced = Arc::new(AtomicU64::new(0));
        let task = SocketTask { client: client.clone(), scope, job_id, options, sender, announced: announced.clone() };
        LiveSocket { receiver, announced, task: Some(tokio::spawn(task.run())) }
    }

    async fn stop(mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            // Wait for it to be really over (it may be running on another thread).
            let _ = task.await;
        }
    }
}

/// The live socket's task.
struct SocketTask {
    client: Client,
    scope: Scope,
    job_id: i64,
    options: LiveLogOptions,
    sender: mpsc::Sender<Signal>,
    announced: Arc<AtomicU64>,
}

/// How a connection ended.
enum Ended {
    JobFinished,
    /// Failed; `worked` when it carried a line of the job or stayed up a ping interval (a
    /// server that says hello and fails at once does not renew the reconnection budget).
    Failed { error: SocketError, worked: bool },
}

impl SocketTask {
    async fn run(self) {
        let mut down_since = Instant::now();
        let mut delay = self.options.reconnect_delay;
        loop {
            let failure = match self.connect().await {
                Ok(connection) => match self.follow(connection).await {
                    Ended::JobFinished => {
                        let _ = self.sender.send(Signal::Finished).await;
                        return;
                    }
                    Ended::Failed { error, worked } => {
                        if worked {
                            // The budget starts again from here.
                            down_since = Instant::now();
                            delay = self.options.reconnect_delay;
                        }
                        error
                    }
                },
                Err(error) => error,
            };
            tracing::debug!(job_id = self.job_id, error = %failure, "live job log socket failed");
            if failure.permanent || down_since.elapsed().saturating_add(delay) > self.options.reconnect_budget {
                let message = match failure.permanent {
                    true => failure.message,
                    false => format!("{} (gave up after {:?} without a working connection)", failure.message, down_since.elapsed()),
                };
                let _ = self.sender.send(Signal::GaveUp(Error::LiveLogs { operation: self.token_operation(), message })).await;
                return;
            }
            // Up to a quarter more, at random, so that clients do not reconnect in step.
            let quarter = u64::try_from(delay.as_nanos() / 4).unwrap_or(u64::MAX);
            let jitter = Duration::from_nanos(fastrand::u64(0..=quarter));
            tokio::time::sleep_until(later(Instant::now(), delay.saturating_add(jitter))).await;
            delay = delay.saturating_mul(2).min(MAX_RECONNECT_DELAY.max(self.options.reconnect_delay));
        }
    }

    fn token_operation(&self) -> &'static str {
        // Never `None` here: a wait only goes live when the crate has the token operation.
        self.scope.socket_token_request(&self.client).map_or("socket token", |request| request.operation().id)
    }

    /// A fresh token (they expire), then the connection up to `hello`.
    async fn connect(&self) -> Result<Connection, SocketError> {
        let request = async {
            match self.scope.socket_token_request(&self.client) {
                Some(request) => request.await,
                None => Err(Error::InvalidRequest {
                    operation: self.token_operation(),
                    message: "live logs of a project job need the crate's `projects` feature".into(),
                }),
            }
        };
        // A stalled token request must not hold the reconnection budget up.
        let answer = tokio::time::timeout_at(later(Instant::now(), self.options.hello_timeout), request)
            .await
            .unwrap_or_else(|_| Err(Error::Timeout { operation: self.token_operation(), limit: TimeLimit::Call(self.options.hello_timeout) }));
        let token = match answer {
            Ok(answer) => answer.token.socket_token,
            // The client already retried what is worth retrying; a refusal stays one.
            Err(error) => {
                let transient = matches!(error, Error::Transport { .. } | Error::Timeout { .. }) || error.status().is_some_and(|s| s >= 500 || s == 429);
                let error = format!("no socket token: {error}");
                return Err(if transient { SocketError::dropped(error) } else { SocketError::refused(error) });
            }
        };
        let endpoint = self.options.endpoint.as_deref().unwrap_or(self.client.base_url());
        let url = SocketUrl::new(endpoint, token)?;
        tracing::debug!(job_id = self.job_id, ?url, "opening the live job log socket");
        Connection::open(url, self.options.timings()).await
    }

    /// Tells the follower to fetch; a signal already waiting does the same.
    fn more(&self) {
        let _ = self.sender.try_send(Signal::More);
    }

    /// Signals the lines written while no socket was up, then one signal per batch of the
    /// job's lines until the job finishes or the connection fails.
    async fn follow(&self, mut connection: Connection) -> Ended {
        let opened = Instant::now();
        let mut carried_lines = false;
        // Lines may have been written while no connection was up: the whole window.
        self.announced.store(LOG_WINDOW as u64, Ordering::SeqCst);
        self.more();
        loop {
            match connection.next_event().await {
                Ok(SocketEvent::JobData { job_id, .. }) if job_id == self.job_id => {
                    carried_lines = true;
                    self.announced.fetch_add(1, Ordering::SeqCst);
                    self.more();
                }
                Ok(SocketEvent::JobFinished { job_id, .. }) if job_id == self.job_id => {
                    connection.close().await;
                    return Ended::JobFinished;
                }
                Ok(_) => {}
                Err(error) => {
                    let worked = carried_lines || opened.elapsed() >= self.options.ping_interval;
                    return Ended::Failed { error, worked };
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(total: i64, texts: &[&str]) -> LogWindow {
        LogWindow { total, lines: texts.iter().map(|t| JobLogLine::new(chrono::Utc::now(), *t)).collect() }
    }

    fn texts(new: &NewLines) -> Vec<&str> {
        new.lines.iter().map(|l| l.data.as_str()).collect()
    }

    #[test]
    fn lines_are_found_by_the_running_count_whatever_their_text() {
        let client = Client::builder().base_url("http://127.0.0.1:9").build().unwrap();
        #[cfg(feature = "jobs")]
        let scope = Scope::Project(1);
        #[cfg(not(feature = "jobs"))]
        let scope = Scope::Organization(1);
        let mut follower = LogFollower::new(&client, scope, 1);
        assert_eq!(texts(&follower.advance(window(2, &["x", "x"]))), ["x", "x"]);
        assert_eq!(texts(&follower.advance(window(3, &["x", "x", "x"]))), ["x"], "a repeated text is a new line");
        assert!(follower.advance(window(3, &["x", "x", "x"])).is_empty());
        let new = follower.advance(window(1005, &["y"; 1000]));
        assert_eq!((new.lines.len(), new.skipped), (1000, 2));
        assert!(!follower.reaches_back(&window(1010, &["z"; 4])), "lines 1005 to 1006 are not in it");
        assert!(follower.reaches_back(&window(1010, &["z"; 5])));
        // A count that goes backwards: resumed after the last lines by their text.
        let mut follower = LogFollower::new(&client, scope, 1);
        follower.advance(window(2, &["a", "b"]));
        assert_eq!(texts(&follower.advance(window(1, &["a", "b", "c"]))), ["c"]);
    }

}
