//! Redaction, in one place. Every call ends in [`Client::finish`], which decodes the answer
//! or passes the call's error through [`Client::redact_call`]: there, and only there, the
//! values no error may show are replaced by `<redacted>` in every text of the error, and only
//! then are body excerpts cut to their length, so that a cut never leaves part of a secret.
//!
//! The values are every credential the client holds or ever held (API key, JWT, bearer token,
//! basic password and its encoding, the password and code a login sent), and the values of
//! secret properties (`apiKey`, `token`, `password`, ...) in the answer and in the JSON body
//! the call sent, each also as JSON text and percent-encoded.

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::transport::client::Client;
use crate::transport::request::{FromResponse, RawResponse};

/// The longest body excerpt an error shows ([`Error::Status`], [`Error::Decode`]), in bytes
/// of the body (a secret that begins before the cut is replaced whole, which may add a few).
pub(crate) const EXCERPT_LEN: usize = 2048;

/// How much of a body an error holds until the redaction step cuts it to [`EXCERPT_LEN`]:
/// far more than the excerpt, so that nothing the excerpt shows was cut before.
pub(crate) const BODY_KEPT: usize = 64 * 1024;

const REDACTED: &str = "<redacted>";

impl Client {
    /// Where every call ends, generated operation, [`Client::request`] or a page of a list:
    /// the answer decoded into `T`, or the call's error after the redaction step. `sent` is
    /// the JSON body the call sent (empty if none), whose secret values the server may echo.
    pub(crate) fn finish<T: FromResponse>(&self, result: Result<RawResponse>, sent: &[u8]) -> Result<T> {
        let (error, answer) = match result {
            Ok(raw) => {
                // A reference count, not a copy: kept in case the decode fails.
                let answer = raw.buffered_body();
                match T::from_response(raw) {
                    Ok(value) => return Ok(value),
                    Err(error) => (error, answer),
                }
            }
            Err(error) => (error, Bytes::new()),
        };
        Err(self.redact_call(error, &answer, sent))
    }

    /// The redaction step for an error with no body of its own (a job's failure).
    // Used by the job waits, which need an API group.
    #[cfg_attr(not(any(feature = "jobs", feature = "organization-jobs")), allow(dead_code))]
    pub(crate) fn redact(&self, error: Error) -> Error {
        self.redact_call(error, &[], &[])
    }

    /// The redaction step for a server's text that is not an error of the call: a per-file
    /// failure inside a successful upload answer.
    #[cfg(feature = "upload")]
    pub(crate) fn redact_text(&self, text: &str) -> String {
        self.secrets().apply(text.to_owned(), usize::MAX)
    }

    /// The redaction step: the client's secrets, and those of the answer and of the body
    /// sent, taken out of every text of `error`.
    fn redact_call(&self, error: Error, answer: &[u8], sent: &[u8]) -> Error {
        let mut secrets = self.secrets().clone();
        secrets.add_secrets_in_json(answer);
        secrets.add_secrets_in_json(sent);
        // An error body read by the transport is the answer of a failed status.
        if let Error::Status { body, .. } = &error {
            secrets.add_secrets_in_json(body.as_bytes());
        }
        error.redact(&secrets)
    }
}

impl Error {
    /// Every text of the error with each of `secrets` replaced by `<redacted>`, body excerpts
    /// then cut to [`EXCERPT_LEN`]. The match names every variant, so that a new variant does
    /// not compile until it says which of its fields can hold text from the server.
    pub(crate) fn redact(self, secrets: &Secrets) -> Error {
        let clean = |text: String| secrets.apply(text, usize::MAX);
        let excerpt = |text: String| secrets.apply(text, EXCERPT_LEN);
        match self {
            Error::Api { operation, status, message } => Error::Api { operation, status, message: clean(message) },
            Error::TotpRequired { operation, message } => Error::TotpRequired { operation, message: clean(message) },
            Error::Status { operation, status, messages, body } => {
                Error::Status { operation, status, messages: messages.into_iter().map(clean).collect(), body: excerpt(body) }
            }
            Error::Decode { operation, path, message, body } => {
                Error::Decode { operation, path: clean(path), message: clean(message), body: excerpt(body) }
            }
            Error::InvalidRequest { operation, message } => Error::InvalidRequest { operation, message: clean(message) },
            Error::LiveLogs { operation, message } => Error::LiveLogs { operation, message: clean(message) },
            // Names and a number only: nothing from the server.
            error @ Error::PageRepeated { .. } => error,
            Error::Io { operation, context, source } => Error::Io { operation, context: clean(context), source },
            Error::JobFailed { operation, job_id, mut job, mut logs } => {
                job.category = clean(std::mem::take(&mut job.category));
                job.key = clean(std::mem::take(&mut job.key));
                job.additional_info = job.additional_info.take().map(clean);
                for line in &mut logs {
                    line.data = clean(std::mem::take(&mut line.data));
                }
                Error::JobFailed { operation, job_id, job, logs }
            }
            Error::JobTimeout { operation, job_id, timeout, cancelled, cancel_error } => Error::JobTimeout {
                operation,
                job_id,
                timeout,
                cancelled,
                cancel_error: cancel_error.map(|error| Box::new(error.redact(secrets))),
            },
            Error::Config(message) => Error::Config(clean(message)),
            // No text from the server: the URL is taken off transport errors when they are
            // made, and the others hold numbers.
            error @ (Error::Timeout { .. } | Error::BodyTooLarge { .. } | Error::Transport { .. }) => error,
        }
    }
}

/// Values that must not appear in an error, each in every spelling it takes (as it is, inside
/// JSON text, percent-encoded), longest first.
#[derive(Clone, Default)]
pub(crate) struct Secrets {
    values: Vec<String>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secrets({} values)", self.values.len())
    }
}

fn is_secret_property(key: &str) -> bool {
    crate::generated::services::ALL.iter().any(|service| service.secret_properties.contains(&key))
}

impl Secrets {
    /// Shorter values are left alone: replacing every `abc` would garble messages and hide
    /// nothing worth hiding.
    const MIN_LEN: usize = 4;

    /// Adds a secret, with the spellings it takes inside JSON text and in a URL.
    pub(crate) fn add(&mut self, value: &str) {
        if value.len() < Self::MIN_LEN {
            return;
        }
        let json = serde_json::to_string(value).unwrap_or_default();
        let url: String = percent_encoding::utf8_percent_encode(value, percent_encoding::NON_ALPHANUMERIC).collect();
        for spelling in [value, json.trim_matches('"'), &url] {
            if !self.values.iter().any(|known| known == spelling) {
                // Longest first, so that a secret containing another is replaced whole.
                let at = self.values.iter().position(|known| known.len() < spelling.len()).unwrap_or(self.values.len());
                self.values.insert(at, spelling.to_owned());
            }
        }
    }

    /// Adds the value of every secret property in a JSON value: one that any service's
    /// overrides name secret, whichever host answered.
    fn add_secrets_in(&mut self, body: &serde_json::Value) {
        match body {
            serde_json::Value::Object(map) => {
                for (key, child) in map {
                    match child {
                        serde_json::Value::String(text) if is_secret_property(key) => self.add(text),
                        _ => self.add_secrets_in(child),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|item| self.add_secrets_in(item)),
            _ => {}
        }
    }

    /// Adds the secret properties of a body, if it is JSON.
    fn add_secrets_in_json(&mut self, body: &[u8]) {
        if let Ok(value) = serde_json::from_slice::<serde_json::Value>(body) {
            self.add_secrets_in(&value);
        }
    }

    /// `text` with every secret replaced by `<redacted>`, then cut after `max` of its bytes
    /// (at a character boundary, marked with `…`). The cut is measured in the original text:
    /// a secret that begins before it is replaced whole; one that begins after it is dropped
    /// with the rest; so no cut leaves part of a secret.
    fn apply(&self, text: String, max: usize) -> String {
        let has_secret = self.values.iter().any(|value| text.contains(value.as_str()));
        if !has_secret && text.len() <= max {
            return text;
        }
        let mut clean = String::with_capacity(text.len().min(max).saturating_add(16));
        let mut rest = text.as_str();
        let mut read = 0usize;
        while read < max {
            if let Some(secret) = self.values.iter().find(|value| has_secret && rest.starts_with(value.as_str())) {
                clean.push_str(REDACTED);
                rest = &rest[secret.len()..];
                read = read.saturating_add(secret.len());
                continue;
            }
            let Some(character) = rest.chars().next() else { break };
            if read.saturating_add(character.len_utf8()) > max {
                break;
            }
            clean.push(character);
            rest = &rest[character.len_utf8()..];
            read += character.len_utf8();
        }
        if !rest.is_empty() {
            clean.push('…');
        }
        clean
    }
}

#[cfg(test)]
mod tests {
    use super::Secrets;

    fn secrets(values: &[&str]) -> Secrets {
        let mut secrets = Secrets::default();
        values.iter().for_each(|value| secrets.add(value));
        secrets
    }

    #[test]
    fn a_secret_across_the_cut_is_replaced_whole() {
        let secrets = secrets(&["ei_0123456789abcdef"]);
        let text = format!("{}ei_0123456789abcdef and more", "x".repeat(10));
        assert_eq!(secrets.apply(text.clone(), 12), format!("{}<redacted>…", "x".repeat(10)));
        // Starting at the cut: dropped with the rest.
        assert_eq!(secrets.apply(text, 10), format!("{}…", "x".repeat(10)));
    }

    #[test]
    fn every_spelling_is_replaced_and_the_longest_first() {
        let secrets = secrets(&["pa ss\"word", "pa ss"]);
        let text = r#"{"password":"pa ss\"word"} url ?p=pa%20ss%22word plain pa ss"word"#.to_owned();
        assert_eq!(secrets.apply(text, usize::MAX), r#"{"password":"<redacted>"} url ?p=<redacted> plain <redacted>"#);
    }

    #[test]
    fn a_cut_falls_on_a_character_boundary_and_short_values_are_kept() {
        let secrets = secrets(&["abc"]);
        assert_eq!(secrets.apply("ééé abc".to_owned(), 3), "é…");
        assert_eq!(secrets.apply("abc".to_owned(), usize::MAX), "abc");
    }
}
