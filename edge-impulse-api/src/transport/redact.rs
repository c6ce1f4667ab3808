//! Redaction: the values no error may show (the client's credentials, the answer's secret
//! properties), and the step that takes them out of an error's texts.

use std::borrow::Cow;

use crate::error::{snippet, Error};

impl Error {
    /// The redaction step: every text of the error with each of `secrets` replaced by
    /// `<redacted>`. The match names every variant, so that a new variant does not compile
    /// until it says which of its fields can hold text from the server.
    pub(crate) fn redact(self, secrets: &Redaction<'_>) -> Error {
        if secrets.is_empty() {
            return self;
        }
        let clean = |text: String| secrets.apply(text);
        match self {
            Error::Api { operation, status, message } => Error::Api { operation, status, message: clean(message) },
            Error::Status { operation, status, messages, body } => {
                Error::Status { operation, status, messages: messages.into_iter().map(clean).collect(), body: clean(body) }
            }
            Error::Decode { operation, path, message, body } => {
                Error::Decode { operation, path: clean(path), message: clean(message), body: clean(body) }
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

/// Values that must not appear in an error: the client's credentials, and the values of
/// secret properties found in the answer the error comes from.
#[derive(Default)]
pub(crate) struct Redaction<'a> {
    values: Vec<Cow<'a, str>>,
}

impl<'a> Redaction<'a> {
    /// Shorter values are left alone: replacing every `abc` would garble messages and hide
    /// nothing worth hiding.
    const MIN_LEN: usize = 4;

    /// Adds a secret, with the spellings it takes inside JSON text and in a URL.
    pub(crate) fn add(&mut self, value: impl Into<Cow<'a, str>>) {
        let value = value.into();
        if value.len() < Self::MIN_LEN || self.values.contains(&value) {
            return;
        }
        let json = serde_json::to_string(value.as_ref()).unwrap_or_default();
        let json = json.trim_matches('"');
        if json != value {
            self.values.push(Cow::Owned(json.to_owned()));
        }
        let url: String = percent_encoding::utf8_percent_encode(&value, percent_encoding::NON_ALPHANUMERIC).collect();
        if url != value {
            self.values.push(Cow::Owned(url));
        }
        self.values.push(value);
    }

    /// Adds the value of every secret property (the overrides' list) found in a JSON body.
    pub(crate) fn add_secrets_in(&mut self, body: &serde_json::Value) {
        match body {
            serde_json::Value::Object(map) => {
                for (key, child) in map {
                    match child {
                        serde_json::Value::String(text) if crate::generated::SECRET_PROPERTIES.contains(&key.as_str()) => {
                            self.add(text.clone());
                        }
                        _ => self.add_secrets_in(child),
                    }
                }
            }
            serde_json::Value::Array(items) => items.iter().for_each(|item| self.add_secrets_in(item)),
            _ => {}
        }
    }

    fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// `text` with every secret replaced; longer secrets first, so that a secret containing
    /// another is replaced whole.
    pub(crate) fn apply(&self, mut text: String) -> String {
        let mut values: Vec<&str> = self.values.iter().map(AsRef::as_ref).collect();
        values.sort_by_key(|value| std::cmp::Reverse(value.len()));
        for value in values {
            if text.contains(value) {
                text = text.replace(value, "<redacted>");
            }
        }
        text
    }
}

/// A body excerpt fit for an error: JSON values of secret properties are replaced by
/// `<redacted>` before the excerpt is cut to `max` bytes (so that a cut cannot leave half a
/// secret behind). The client's credentials are taken out by [`Error::redact`].
pub(crate) fn redacted_snippet(body: &[u8], max: usize) -> String {
    let text = match serde_json::from_slice::<serde_json::Value>(body) {
        Ok(mut value) => {
            redact_secret_properties(&mut value);
            serde_json::to_string(&value).unwrap_or_default()
        }
        Err(_) => String::from_utf8_lossy(body).into_owned(),
    };
    snippet(text.as_bytes(), max)
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
