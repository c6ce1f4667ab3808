//! The one error type of the crate.

/// `Result` with this crate's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything a call can fail with. Each variant names the operation (its `operationId`, or
/// `custom` for [`Client::request`](crate::Client::request)). No variant carries credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The API answered `{"success": false, "error": "..."}` (usually with HTTP 200).
    #[error("{operation}: the API reported a failure (HTTP {status}): {message}")]
    Api {
        /// The `operationId` of the call that failed (`custom` for [`Client::request`](crate::Client::request)).
        operation: &'static str,
        /// The HTTP status of the answer (usually 200).
        status: u16,
        /// The API's `error` text (empty when the answer had none).
        message: String,
    },

    /// The API answered with a status that is not a success.
    #[error("{operation}: HTTP {status}{}: {body}", details_suffix(.messages))]
    Status {
        /// The `operationId` of the call that failed (`custom` for [`Client::request`](crate::Client::request)).
        operation: &'static str,
        /// The HTTP status (4xx, 5xx, or a 3xx where no redirect was expected), after the
        /// retries the policy allows.
        status: u16,
        /// Messages found in the body (`error`, `detail`, or a validation list), if any.
        messages: Vec<String>,
        /// The start of the body, at most 2 KiB.
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

    /// The request or the whole call took longer than the configured timeout.
    #[error("{operation}: timed out")]
    Timeout {
        /// The `operationId` of the call that timed out.
        operation: &'static str,
    },

    /// Connecting, sending or receiving failed.
    #[error("{operation}: {source}")]
    Transport {
        /// The `operationId` of the call that failed (`custom` for [`Client::request`](crate::Client::request)).
        operation: &'static str,
        /// The HTTP client's error, without the URL (which may carry query values).
        #[source]
        source: reqwest::Error,
    },

    /// Reading an upload or writing a download failed.
    #[error("{operation}: {context}: {source}")]
    Io {
        /// The `operationId` of the call that failed (`custom` for [`Client::request`](crate::Client::request)).
        operation: &'static str,
        /// What was being done (`opening model.tflite`, `writing the download`).
        context: String,
        /// The I/O error itself.
        #[source]
        source: std::io::Error,
    },

    /// The request could not be built (an invalid header value, a body that does not serialize).
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
        logs: Vec<crate::models::LogStdoutResponseStdoutItem>,
    },

    /// A job waited for did not finish within the time allowed.
    #[error("{operation}: job {job_id} did not finish within {timeout:?}{}", cancel_suffix(*.cancelled, .cancel_error.as_deref()))]
    JobTimeout {
        /// The job status operation that was polled.
        operation: &'static str,
        /// The job waited for.
        job_id: i64,
        /// The time allowed for the wait.
        timeout: std::time::Duration,
        /// Whether the job was cancelled (when asked to cancel it on timeout).
        cancelled: bool,
        /// Why cancelling failed, if it was tried and failed.
        cancel_error: Option<Box<Error>>,
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

/// The line that most likely says why a job failed: the last error-level line, else the last.
fn last_log_line_suffix(logs: &[crate::models::LogStdoutResponseStdoutItem]) -> String {
    use crate::models::LogStdoutResponseStdoutItemLogLevel as Level;
    let text = |line: &crate::models::LogStdoutResponseStdoutItem| line.data.trim().to_owned();
    let meaningful = || logs.iter().rev().filter(|line| !line.data.trim().is_empty());
    let chosen = meaningful().find(|line| line.log_level == Some(Level::Error)).or_else(|| meaningful().next());
    match chosen {
        Some(line) => format!(": {}", snippet(text(line).as_bytes(), 500)),
        None => String::new(),
    }
}

fn cancel_suffix(cancelled: bool, cancel_error: Option<&Error>) -> String {
    match (cancelled, cancel_error) {
        (true, _) => "; it was cancelled".to_owned(),
        (false, Some(error)) => format!("; cancelling it failed: {error}"),
        (false, None) => "; it may still be running".to_owned(),
    }
}

fn details_suffix(messages: &[String]) -> String {
    if messages.is_empty() {
        String::new()
    } else {
        format!(" ({})", messages.join("; "))
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
            | Error::Timeout { operation }
            | Error::Transport { operation, .. }
            | Error::Io { operation, .. }
            | Error::InvalidRequest { operation, .. }
            | Error::JobFailed { operation, .. }
            | Error::JobTimeout { operation, .. }
            | Error::PageRepeated { operation, .. } => Some(operation),
            Error::Config(_) => None,
        }
    }

    pub(crate) fn transport(operation: &'static str, source: reqwest::Error) -> Error {
        if source.is_timeout() {
            return Error::Timeout { operation };
        }
        // The URL may carry query parameters; the operation already says where we were.
        Error::Transport { operation, source: source.without_url() }
    }
}

/// A body excerpt fit for an error: JSON values of secret properties (API keys, tokens,
/// passwords: the overrides' list) and the client's own credentials are replaced by
/// `<redacted>` before the excerpt is cut to `max` bytes.
pub(crate) fn redacted_snippet(body: &[u8], max: usize, credentials: &[&str]) -> String {
    let mut text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut value) => {
            redact_secret_properties(&mut value);
            serde_json::to_string(&value).unwrap_or_default()
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    for credential in credentials.iter().filter(|c| c.len() >= 4) {
        text = text.replace(credential, "<redacted>");
    }
    snippet(text.as_bytes(), max)
}

/// Replaces the client's credentials in a message taken from a body.
pub(crate) fn redact_credentials(mut text: String, credentials: &[&str]) -> String {
    for credential in credentials.iter().filter(|c| c.len() >= 4) {
        if text.contains(credential) {
            text = text.replace(credential, "<redacted>");
        }
    }
    text
}

fn redact_secret_properties(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if crate::generated::SECRET_PROPERTIES.contains(&key.as_str()) && child.is_string() {
                    *child = serde_json::Value::String("<redacted>".into());
                } else {
                    redact_secret_properties(child);
                }
            }
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(redact_secret_properties),
        _ => {}
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
        if let Some(text) = map.get(key).and_then(|v| v.as_str()) {
            messages.push(text.to_owned());
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
