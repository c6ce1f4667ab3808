//! A job's log line, as the runtime hands it out (job waits, log streams, [`Error::JobFailed`]).
//!
//! The runtime's own type, not the generated one: the log answer's line is an inline schema
//! upstream may name (it became `JobLogItem` in a later spec) or give more fields, and either
//! would change the generated type's name or constructor. Lines are copied over field by
//! field from the generated answer (see `live_logs::fetch_log_window`), which needs only the
//! JSON's own names (`created`, `data`, `logLevel`).
//!
//! [`Error::JobFailed`]: crate::Error::JobFailed

/// One line of a job's log.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct JobLogLine {
    /// When the job printed the line (for a line that came over the live socket, which
    /// carries no time: when it arrived).
    pub created: crate::DateTime,
    /// The text of the line.
    pub data: String,
    /// The level the job gave the line, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_level: Option<JobLogLevel>,
}

impl JobLogLine {
    /// A line with no level.
    pub fn new(created: crate::DateTime, data: impl Into<String>) -> Self {
        JobLogLine { created, data: data.into(), log_level: None }
    }

    /// The same line with a level.
    pub fn log_level(mut self, level: JobLogLevel) -> Self {
        self.log_level = Some(level);
        self
    }
}

/// The level of a [`JobLogLine`]; a level the API adds later is kept as `Unknown`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum JobLogLevel {
    /// `error`
    Error,
    /// `warn`
    Warn,
    /// `info`
    Info,
    /// `debug`
    Debug,
    /// Any other level, as the API wrote it.
    Unknown(String),
}

impl JobLogLevel {
    /// The level as the API writes it.
    pub fn as_str(&self) -> &str {
        match self {
            JobLogLevel::Error => "error",
            JobLogLevel::Warn => "warn",
            JobLogLevel::Info => "info",
            JobLogLevel::Debug => "debug",
            JobLogLevel::Unknown(other) => other,
        }
    }
}

impl From<&str> for JobLogLevel {
    fn from(value: &str) -> Self {
        match value {
            "error" => JobLogLevel::Error,
            "warn" => JobLogLevel::Warn,
            "info" => JobLogLevel::Info,
            "debug" => JobLogLevel::Debug,
            other => JobLogLevel::Unknown(other.to_owned()),
        }
    }
}

crate::enums::string_enum_impls!(JobLogLevel);

#[cfg(test)]
mod tests {
    use super::{JobLogLevel, JobLogLine};

    #[test]
    fn a_line_reads_and_writes_the_apis_json() {
        let json = r#"{"created":"2024-05-01T10:00:00Z","data":"Epoch 3/30","logLevel":"warn","extra":1}"#;
        let line: JobLogLine = serde_json::from_str(json).unwrap();
        assert_eq!(line.data, "Epoch 3/30");
        assert_eq!(line.log_level, Some(JobLogLevel::Warn));
        assert_eq!(serde_json::to_string(&line).unwrap(), r#"{"created":"2024-05-01T10:00:00Z","data":"Epoch 3/30","logLevel":"warn"}"#);

        let bare: JobLogLine = serde_json::from_str(r#"{"created":"2024-05-01T10:00:00Z","data":"x"}"#).unwrap();
        assert_eq!(bare.log_level, None);
        assert_eq!(serde_json::to_string(&bare).unwrap(), r#"{"created":"2024-05-01T10:00:00Z","data":"x"}"#);
    }

    #[test]
    fn levels_keep_what_they_do_not_know() {
        for known in ["error", "warn", "info", "debug"] {
            assert_eq!(JobLogLevel::from(known).as_str(), known);
            assert!(!matches!(JobLogLevel::from(known), JobLogLevel::Unknown(_)));
        }
        assert_eq!(JobLogLevel::from("trace"), JobLogLevel::Unknown("trace".into()));
        assert_eq!(JobLogLevel::from("trace").as_str(), "trace");
    }
}
