//! The one error type of the crate (its redaction is `transport::redact`).

use std::time::Duration;

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a call can fail with. Each variant names the operation (its `operationId`, or
/// `custom` for [`Client::request`](crate::Client::request)).
///
/// No variant shows a secret: every error a call returns has gone through one redaction step
/// that replaces the client's API key and JWT, and every value of a secret property of the
/// answer (`apiKey`, `token`, `password`, ...), by `<redacted>` in each of its texts.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered `{"success": false, "error": "..."}` (usually with HTTP 200). An
    /// `error` that is an object gives its `message` (or its JSON).
    #[error("{operation}: the API reported a failure (HTTP {status}){}", api_message_suffix(.message))]
    Api {
        /// The `operationId` of the call that failed (`custom` for [`Client::request`](crate::Client::request)).
        operation: &'static str,
        /// The HTTP status of the answer (usually 200).
        status: u16,
        /// The API's `error` text (empty when the answer gave no reason).
        message: String,
    },

    /// The API answered with a status that is not a success.
    #[error("{operation}: HTTP {status}{}", status_details(.messages, .body))]
    Status {
        /// The `operationId` of the call that failed (`custom` for [`Client::request`](crate::Client::request)).
        operation: &'static str,
        /// The HTTP status (4xx, 5xx, or a 3xx where no redirect was expected), after the
        /// retries the policy allows.
        status: u16,
        /// Messages found in the body (`error`, `detail`, or a validation list), or the target
        /// of an unexpected redirect; empty if there were none.
        messages: Vec<String>,
        /// The start of the body, at most 2 KiB (the message shows at most one line of it).
        body: String,
    },

    /// A success response whose body does not fit the operation's response type.
    #[error("{operation}: the response does not match the expected type at `{path}`: {message}")]
    Decode {
        /// The `operationId` of the call that failed (`custom` for [`Client::request`](crate::Client::request)).
        operation: &'static str,

        /// JSON path of the value that failed (`projects[3].id`), `.` for the whole body.
        path: String,
        /// What serde_json reported (expected type, line and column).
        message: String,
        /// The start of the body, at most 2 KiB.
        body: String,
    },

    /// A time limit ran out; [`TimeLimit`] says which one, and how it is set.
    #[error("{operation}: {limit}")]
    Timeout {
        /// The `operationId` of the call that timed out.
        operation: &'static str,
        /// Which limit ran out, and its length.
        limit: TimeLimit,
    },

    /// A success answer larger than [`ClientBuilder::max_body_size`](crate::ClientBuilder::max_body_size)
    /// allows in memory. Downloads are streamed and have no such limit.
    #[error("{operation}: the answer is {} and the limit for an answer held in memory is {} bytes (set it with ClientBuilder::max_body_size)", size_text(*.size), .limit)]
    BodyTooLarge {
        /// The `operationId` of the call whose answer was too large.
        operation: &'static str,
        /// The size announced by `Content-Length`, or the bytes received before stopping.
        size: BodySize,
        /// The limit in bytes.
        limit: u64,
    },

    /// Connecting, sending or receiving failed. The message says what failed in words; the
    /// full cause chain (which `reqwest`, `hyper` and the OS reported) is the error's
    /// [`source`](std::error::Error::source).
    #[error("{operation}: {}", transport_reason(.source))]
    Transport {
        /// The `operationId` of the call that failed (`custom` for [`Client::request`](crate::Client::request)).
        operation: &'static str,
        /// The HTTP client's error, without the URL (which may carry query values).
        #[source]
        source: reqwest::Error,
    },

    /// Reading an upload or writing a download failed; the OS error is the
    /// [`source`](std::error::Error::source).
    #[error("{operation}: {context} ({})", .source.kind())]
    Io {
        /// The `operationId` of the call that failed (`custom` for [`Client::request`](crate::Client::request)).
        operation: &'static str,
        /// What was being done (`opening model.tflite`, `writing the download`).
        context: String,
        /// The I/O error itself.
        #[source]
        source: std::io::Error,
    },

    /// The request could not be built (an invalid header value, a body that does not serialize,
    /// a credential the operation needs and the client lacks).
    #[error("{operation}: invalid request: {message}")]
    InvalidRequest {
        /// The `operationId` of the call that failed (`custom` for [`Client::request`](crate::Client::request)).
        operation: &'static str,
        /// What is wrong with the request.
        message: String,
    },

    /// A job waited for with [`Client::wait_for_job`](crate::Client::wait_for_job) finished
    /// without success. `operation` is the job status operation.
    #[error("{operation}: job {job_id} ({}) failed{}", .job.category, last_log_line_suffix(.logs))]
    JobFailed {
        /// The job status operation that saw the failure.
        operation: &'static str,
        /// The job that failed.
        job_id: i64,
        /// The job's last status.
        job: Box<crate::models::Job>,
        /// The job's last log lines, oldest first (empty if they could not be fetched).
        logs: Vec<crate::JobLogLine>,
    },

    /// A job waited for did not finish within the time allowed.
    #[error("{operation}: job {job_id} did not finish within {timeout:?}{}", cancel_suffix(*.cancelled, .cancel_error.is_some()))]
    JobTimeout {
        /// The job status operation that was polled.
        operation: &'static str,
        /// The job waited for.
        job_id: i64,
        /// The time allowed for the wait.
        timeout: std::time::Duration,
        /// Whether the job was cancelled (when asked to cancel it on timeout).
        cancelled: bool,
        /// Why cancelling failed, if it was tried and failed (also the error's `source`).
        #[source]
        cancel_error: Option<Box<Error>>,
    },

    /// Live job logs could not be followed over the socket (no token, refused, dropped past
    /// the reconnection budget, a server that does not speak the protocol). Waits report it
    /// and go on polling the log.
    #[error("{operation}: live job logs unavailable: {message}")]
    LiveLogs {
        /// The socket token operation (`getSocketToken` or `getOrganizationSocketToken`).
        operation: &'static str,
        /// What went wrong, in words.
        message: String,
    },

    /// While paging through a list, the server answered the next position with the same page
    /// as the previous one: it ignores the position parameter, and paging would never end.
    #[error("{operation}: the page at {offset_param}={offset} repeats the previous page; the server seems to ignore `{offset_param}`")]
    PageRepeated {
        /// The `operationId` of the call that failed (`custom` for [`Client::request`](crate::Client::request)).
        operation: &'static str,

        /// The position parameter's name (`offset`).
        offset_param: &'static str,
        /// The position that answered the repeated page.
        offset: u64,
    },

    /// The client could not be configured (bad base URL, missing environment variables).
    #[error("client configuration: {0}")]
    Config(String),
}

/// Which time limit ran out, with the limit that was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum TimeLimit {
    /// No connection within [`ClientBuilder::connect_timeout`](crate::ClientBuilder::connect_timeout).
    Connect(Duration),
    /// One attempt got no complete answer (head and, for JSON, body) within
    /// [`ClientBuilder::timeout`](crate::ClientBuilder::timeout) (or the request's own).
    Answer(Duration),
    /// The whole call, retries and waits included, took longer than
    /// [`ClientBuilder::call_timeout`](crate::ClientBuilder::call_timeout).
    Call(Duration),
    /// A download received nothing for
    /// [`ClientBuilder::download_idle_timeout`](crate::ClientBuilder::download_idle_timeout).
    DownloadIdle(Duration),
}

impl std::fmt::Display for TimeLimit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TimeLimit::Connect(limit) => write!(f, "timed out: no connection within {limit:?} (ClientBuilder::connect_timeout)"),
            TimeLimit::Answer(limit) => write!(f, "timed out: no complete answer within {limit:?} (the request timeout, ClientBuilder::timeout)"),
            TimeLimit::Call(limit) => write!(f, "timed out: the call with its retries took longer than {limit:?} (ClientBuilder::call_timeout)"),
            TimeLimit::DownloadIdle(limit) => write!(f, "timed out: the download received nothing for {limit:?} (ClientBuilder::download_idle_timeout)"),
        }
    }
}

/// How large an answer that was refused for its size is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BodySize {
    /// The server announced this many bytes (`Content-Length`); none were read.
    Announced(u64),
    /// The server announced no size; reading stopped after this many bytes.
    AtLeast(u64),
}

fn size_text(size: BodySize) -> String {
    match size {
        BodySize::Announced(bytes) => format!("{bytes} bytes (Content-Length)"),
        BodySize::AtLeast(bytes) => format!("more than {bytes} bytes"),
    }
}

fn api_message_suffix(message: &str) -> String {
    match message.trim() {
        "" => " without giving a reason (its `error` field is missing or empty)".to_owned(),
        text => format!(": {text}"),
    }
}

/// The messages of a status error, else one line of its body: a page of HTML stays in
/// `body`, not in the message.
fn status_details(messages: &[String], body: &str) -> String {
    if !messages.is_empty() {
        return format!(" ({})", messages.join("; "));
    }
    let line = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match line.is_empty() {
        true => " (empty body)".to_owned(),
        false => format!(": {}", snippet(line.as_bytes(), 160)),
    }
}

/// What failed, in words, with the root cause's kind: "could not connect (connection
/// refused)". The cause chain itself is the error's `source`, so that printing the chain does
/// not show it twice.
fn transport_reason(error: &reqwest::Error) -> String {
    let what = if error.is_connect() {
        "could not connect to the server"
    } else if error.is_body() || error.is_decode() {
        "the connection failed while the answer was read"
    } else if error.is_request() {
        "sending the request failed"
    } else if error.is_redirect() {
        "following a redirect failed"
    } else if error.is_builder() {
        "the request could not be built"
    } else {
        "the HTTP exchange failed"
    };
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(error);
    let mut io_kind = None;
    let mut innermost = None;
    while let Some(current) = cause {
        if let Some(io) = current.downcast_ref::<std::io::Error>() {
            io_kind = Some(io.kind());
        }
        innermost = Some(current);
        cause = current.source();
    }
    match (io_kind, innermost) {
        (Some(kind), _) if kind != std::io::ErrorKind::Other => format!("{what} ({kind})"),
        // Not an OS error (a TLS or protocol failure): its own words are the reason.
        (_, Some(root)) => format!("{what} ({})", snippet(root.to_string().as_bytes(), 200)),
        (_, None) => what.to_owned(),
    }
}

/// The line that most likely says why a job failed: the last error-level line, else the last.
fn last_log_line_suffix(logs: &[crate::JobLogLine]) -> String {
    let text = |line: &crate::JobLogLine| line.data.trim().to_owned();
    let meaningful = || logs.iter().rev().filter(|line| !line.data.trim().is_empty());
    let chosen = meaningful().find(|line| line.log_level == Some(crate::JobLogLevel::Error)).or_else(|| meaningful().next());
    match chosen {
        Some(line) => format!(": {}", snippet(text(line).as_bytes(), 500)),
        None => String::new(),
    }
}

fn cancel_suffix(cancelled: bool, cancel_failed: bool) -> &'static str {
    match (cancelled, cancel_failed) {
        (true, _) => "; it was cancelled",
        // Why is the error's `source`.
        (false, true) => "; cancelling it failed, it may still be running",
        (false, false) => "; it may still be running",
    }
}

impl Error {
    /// The HTTP status, for errors that got an answer.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Api { status, .. } | Error::Status { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The operation the error belongs to.
    pub fn operation(&self) -> Option<&'static str> {
        match self {
            Error::Api { operation, .. }
            | Error::Status { operation, .. }
            | Error::Decode { operation, .. }
            | Error::Timeout { operation, .. }
            | Error::BodyTooLarge { operation, .. }
            | Error::Transport { operation, .. }
            | Error::Io { operation, .. }
            | Error::InvalidRequest { operation, .. }
            | Error::JobFailed { operation, .. }
            | Error::JobTimeout { operation, .. }
            | Error::LiveLogs { operation, .. } => Some(operation),
            | Error::PageRepeated { operation, .. } => Some(operation),
            Error::Config(_) => None,
        }
    }

    /// A failure of the HTTP exchange. `connect_timeout` is the client's connect limit, which
    /// reqwest enforces: its timeouts become [`TimeLimit::Connect`].
    pub(crate) fn transport(operation: &'static str, source: reqwest::Error, connect_timeout: Option<Duration>) -> Error {
        if let (true, Some(limit)) = (source.is_timeout(), connect_timeout) {
            return Error::Timeout { operation, limit: TimeLimit::Connect(limit) };
        }
        // The URL may carry query parameters; the operation already says where we were.
        Error::Transport { operation, source: source.without_url() }
    }
}

/// At most `max` bytes of `body` as text, cut at a character boundary.
pub(crate) fn snippet(body: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(max)]).into_owned();
    if body.len() > max {
        format!("{}…", text.trim_end_matches('\u{fffd}'))
    } else {
        text
    }
}

/// Human-readable messages from an error body: `{"error": ...}`, problem+json `detail`, and
/// validation lists (`validation: [{message}]`, as validating proxies and mock servers send).
pub(crate) fn messages_from_body(body: &[u8]) -> Vec<String> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body) else {
        return Vec::new();
    };
    let mut messages = Vec::new();
    for key in ["error", "message", "title", "detail"] {
        if let Some(text) = map.get(key).and_then(message_text) {
            messages.push(text);
        }
    }
    if let Some(list) = map.get("validation").and_then(|v| v.as_array()) {
        for item in list {
            let message = item.get("message").and_then(|m| m.as_str()).unwrap_or_default();
            let location = item.get("location").and_then(|l| l.as_array()).map(|parts| {
                parts.iter().map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned)).collect::<Vec<_>>().join(".")
            });
            messages.push(match location {
                Some(location) if !location.is_empty() => format!("{location}: {message}"),
                _ => message.to_owned(),
            });
        }
    }
    messages
}

/// The text of an `error` (or `message`) value: a string as it is; an object by its own
/// `message` (or `error`) field, else as JSON; an array as JSON. `None` for null and blanks.
pub(crate) fn message_text(value: &serde_json::Value) -> Option<String> {
    let text = match value {
        serde_json::Value::Null => return None,
        serde_json::Value::String(text) => text.clone(),
        serde_json::Value::Object(map) => match ["message", "error"].iter().find_map(|key| map.get(*key).and_then(message_text)) {
            Some(text) => text,
            None => value.to_string(),
        },
        other => other.to_string(),
    };
    (!text.trim().is_empty()).then_some(text)
}

/// The API's failure message if `value` is its failure envelope (`"success": false`): the
/// `error`'s text, or an empty string when it gave none.
pub(crate) fn envelope_message(value: &serde_json::Value) -> Option<String> {
    (value.get("success")? == &serde_json::Value::Bool(false)).then(|| value.get("error").and_then(message_text).unwrap_or_default())
}
