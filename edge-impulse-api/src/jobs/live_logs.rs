//! Live job logs: a job's output as Studio pushes it over its Socket.IO connection, with
//! catch-up requests to the log endpoint around every (re)connection so that the lines
//! the socket did not carry are not lost.
//!
//! A background task owns the socket. It sends what it finds to the waiting side through a
//! channel, and records every line it hands over in the shared [`LogCursor`] in the same
//! step (no `.await` in between), so that the waiting side can stop it at any time and
//! take over by polling without losing or repeating a line.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::mpsc;
use tokio::time::Instant;

use crate::error::{Error, TimeLimit};
use crate::jobs::job_log::JobLogLine;
use crate::jobs::wait::{fetch_log_window, LogCursor, NewLines, Scope};
use crate::jobs::socket::{Connection, SocketError, SocketEvent, SocketUrl, Timings};
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
        }
    }
}

/// The longest wait between two reconnection attempts.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(5);

/// How long socket lines that may repeat the end of a catch-up window are held back before
/// they are judged with what has arrived.
const OVERLAP_HOLD: Duration = Duration::from_millis(500);

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

    /// Time between two pings sent to the socket (5 s by default).
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

/// What the live task reports.
#[derive(Debug)]
pub(crate) enum Feed {
    /// Lines not delivered before, oldest first.
    Lines(NewLines),
    /// The socket said the job finished; the status poll says how.
    Finished,
    /// The socket could not be kept up; the log must be polled from now on.
    GaveUp(Error),
}

/// The running live task; stopping or dropping it ends the connection.
#[derive(Debug)]
pub(crate) struct LiveFeed {
    receiver: mpsc::UnboundedReceiver<Feed>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Drop for LiveFeed {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

impl LiveFeed {
    /// Starts following the job's socket; `cursor` is shared with the polling side.
    pub(crate) fn start(client: &Client, scope: Scope, job_id: i64, options: LiveLogOptions, cursor: Arc<Mutex<LogCursor>>) -> LiveFeed {
        let (sender, receiver) = mpsc::unbounded_channel();
        let live = Live { client: client.clone(), scope, job_id, options, cursor, sender };
        LiveFeed { receiver, task: Some(tokio::spawn(live.run())) }
    }

    /// The next report; `None` once the task is over and everything was received.
    pub(crate) async fn recv(&mut self) -> Option<Feed> {
        self.receiver.recv().await
    }

    /// Reports already waiting, without waiting for more.
    pub(crate) fn ready(&mut self) -> Vec<Feed> {
        std::iter::from_fn(|| self.receiver.try_recv().ok()).collect()
    }

    /// Stops the task and returns what it reported before it stopped; every line recorded
    /// in the cursor is in there.
    pub(crate) async fn stop(mut self) -> Vec<Feed> {
        if let Some(task) = self.task.take() {
            task.abort();
            // Wait for it to be really over (it may be running on another thread).
            let _ = task.await;
        }
        self.ready()
    }
}

fn lock(cursor: &Mutex<LogCursor>) -> std::sync::MutexGuard<'_, LogCursor> {
    // Nothing panics while holding it; a poisoned cursor is still consistent.
    cursor.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The live task's state.
struct Live {
    client: Client,
    scope: Scope,
    job_id: i64,
    options: LiveLogOptions,
    cursor: Arc<Mutex<LogCursor>>,
    sender: mpsc::UnboundedSender<Feed>,
}

/// How a connection ended.
enum Ended {
    JobFinished,
    /// Failed; `worked` when it carried a line of the job or stayed up a ping interval (a
    /// server that says hello and fails at once does not renew the reconnection budget).
    Failed { error: SocketError, worked: bool },
}

impl Live {
    async fn run(self) {
        let mut down_since = Instant::now();
        let mut delay = self.options.reconnect_delay;
        loop {
            let failure = match self.connect().await {
                Ok(connection) => match self.follow(connection).await {
                    Ended::JobFinished => {
                        let _ = self.sender.send(Feed::Finished);
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
            if failure.permanent || down_since.elapsed() + delay > self.options.reconnect_budget {
                let message = match failure.permanent {
                    true => failure.message,
                    false => format!("{} (gave up after {:?} without a working connection)", failure.message, down_since.elapsed()),
                };
                let _ = self.sender.send(Feed::GaveUp(Error::LiveLogs { operation: self.token_operation(), message }));
                return;
            }
            let jitter = delay.mul_f64(fastrand::f64() * 0.25);
            tokio::time::sleep(delay + jitter).await;
            delay = (delay * 2).min(MAX_RECONNECT_DELAY);
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
        let answer = tokio::time::timeout(self.options.hello_timeout, request)
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

    /// Catches up with the log endpoint, then relays the job's lines until the job finishes
    /// or the connection fails.
    async fn follow(&self, mut connection: Connection) -> Ended {
        let opened = Instant::now();
        let mut carried_lines = false;
        let mut overlap = self.catch_up().await;
        loop {
            let next = match &overlap {
                Some(held) => tokio::time::timeout_at(held.until, connection.next_event()).await.ok(),
                None => Some(connection.next_event().await),
            };
            let lines = match next {
                // Held long enough: judge with what arrived.
                None => overlap.take().map(|held| held.settle()).unwrap_or_default(),
                Some(Ok(SocketEvent::JobData { job_id, data })) if job_id == self.job_id => {
                    carried_lines = true;
                    let line = JobLogLine::new(chrono::Utc::now(), data);
                    match &mut overlap {
                        Some(held) => match held.push(line) {
                            Some(lines) => {
                                overlap = None;
                                lines
                            }
                            None => continue,
                        },
                        None => vec![line],
                    }
                }
                Some(Ok(SocketEvent::JobFinished { job_id, .. })) if job_id == self.job_id => {
                    self.deliver(overlap.take().map(|held| held.settle()).unwrap_or_default());
                    connection.close().await;
                    return Ended::JobFinished;
                }
                Some(Ok(_)) => continue,
                Some(Err(error)) => {
                    self.deliver(overlap.take().map(|held| held.settle()).unwrap_or_default());
                    let worked = carried_lines || opened.elapsed() >= self.options.ping_interval;
                    return Ended::Failed { error, worked };
                }
            };
            self.deliver(lines);
        }
    }

    /// Hands lines over and records them, in one step.
    fn deliver(&self, lines: Vec<JobLogLine>) {
        if lines.is_empty() {
            return;
        }
        let mut cursor = lock(&self.cursor);
        cursor.delivered_elsewhere(&lines);
        let _ = self.sender.send(Feed::Lines(NewLines { lines, skipped: 0 }));
    }

    /// The lines written while no socket carried them (before the first connection, or
    /// while it was down); `Some` with the window's last lines when socket lines may repeat
    /// them.
    async fn catch_up(&self) -> Option<HeldLines> {
        let window = match tokio::time::timeout(self.options.hello_timeout, fetch_log_window(&self.client, self.scope, self.job_id)).await {
            Ok(Ok(window)) => window,
            Ok(Err(error)) => {
                tracing::warn!(job_id = self.job_id, %error, "could not catch up with the job's log; lines written while the socket was down may be missing");
                return None;
            }
            Err(_) => {
                tracing::warn!(job_id = self.job_id, "catching up with the job's log timed out; lines written while the socket was down may be missing");
                return None;
            }
        };
        let tail: Vec<String> = window.lines.iter().rev().take(crate::jobs::REMEMBERED_LINES).rev().map(|l| l.data.clone()).collect();
        {
            let mut cursor = lock(&self.cursor);
            let new = cursor.advance(window);
            if !new.lines.is_empty() || new.skipped > 0 {
                let _ = self.sender.send(Feed::Lines(new));
            }
        }
        (!tail.is_empty()).then(|| HeldLines { window_tail: tail, held: Vec::new(), until: Instant::now() + OVERLAP_HOLD })
    }
}

/// Socket lines that arrived after a catch-up, held while they may be the window's last
/// lines arriving a second time.
struct HeldLines {
    window_tail: Vec<String>,
    held: Vec<JobLogLine>,
    until: Instant,
}

impl HeldLines {
    /// Adds a line; returns the lines to deliver once it is decided.
    fn push(&mut self, line: JobLogLine) -> Option<Vec<JobLogLine>> {
        self.held.push(line);
        let (held, tail) = (self.held.len(), self.window_tail.len());
        if held <= tail && self.occurs_at(tail - held, held) {
            // They are the window's end: all seen. The next ones are new.
            self.held.clear();
            return Some(Vec::new());
        }
        if (0..tail.saturating_sub(held)).any(|start| self.occurs_at(start, held)) {
            return None; // They may still end up being the window's end.
        }
        Some(std::mem::take(self).settle())
    }

    /// Whether the first `count` held lines are the window's lines from `start` on.
    fn occurs_at(&self, start: usize, count: usize) -> bool {
        start + count <= self.window_tail.len()
            && self.held[..count].iter().zip(&self.window_tail[start..]).all(|(line, text)| same_text(&line.data, text))
    }

    /// The held lines minus the longest first run of them found in the window: the socket
    /// repeats lines the window already had (usually its end, but the socket may have missed
    /// some of the window's last lines).
    fn settle(mut self) -> Vec<JobLogLine> {
        let tail = self.window_tail.len();
        let repeated = (1..=self.held.len().min(tail)).rev().find(|&k| (0..=tail - k).any(|start| self.occurs_at(start, k))).unwrap_or(0);
        self.held.split_off(repeated)
    }
}

impl Default for HeldLines {
    fn default() -> Self {
        HeldLines { window_tail: Vec::new(), held: Vec::new(), until: Instant::now() }
    }
}

/// Whether two log entries say the same (a trailing newline or spaces aside).
pub(crate) fn same_text(a: &str, b: &str) -> bool {
    a.trim_end() == b.trim_end()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str) -> JobLogLine {
        JobLogLine::new(chrono::Utc::now(), text)
    }

    fn held(tail: &[&str]) -> HeldLines {
        HeldLines { window_tail: tail.iter().map(|t| t.to_string()).collect(), held: Vec::new(), until: Instant::now() }
    }

    fn texts(lines: Option<Vec<JobLogLine>>) -> Option<Vec<String>> {
        lines.map(|lines| lines.into_iter().map(|l| l.data).collect())
    }

    #[test]
    fn socket_lines_that_repeat_the_window_end_are_dropped() {
        let mut overlap = held(&["a", "b", "c"]);
        assert_eq!(texts(overlap.push(line("b"))), None, "b may start the window's end");
        assert_eq!(texts(overlap.push(line("c\n"))), Some(vec![]), "b, c end the window");

        let mut overlap = held(&["a", "b", "c"]);
        assert_eq!(texts(overlap.push(line("d"))), Some(vec!["d".to_owned()]), "not in the window: new");

        let mut overlap = held(&["a", "b", "c"]);
        assert_eq!(texts(overlap.push(line("a"))), None);
        assert_eq!(texts(overlap.push(line("x"))), Some(vec!["x".to_owned()]), "a was in the window, x is new");

        let mut overlap = held(&["a", "b", "c"]);
        assert_eq!(overlap.push(line("b")).map(|l| l.len()), None);
        assert_eq!(texts(Some(overlap.settle())), Some(vec![]), "b is in the window: the socket missed c");
    }
}
