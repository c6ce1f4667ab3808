//! Reading an answer the way its operation says: a redirect's target, an error body (bounded),
//! a JSON body (capped), or the head of a download.

use bytes::Bytes;

use super::Client;
use crate::error::{messages_from_body, BodySize, Error};
use crate::transport::redact::{redacted_snippet, Redaction};
use crate::transport::request::{download_envelope_failure, Prepared, RawBody, RawResponse, ResponseKind};

/// How much of an error body (or of a small JSON answer to a download) is read; the rest is
/// dropped.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

impl Client {
    /// Reads an answer as the operation's kind says. A block rather than an async fn, which
    /// would hold `response` twice (see `execute`).
    #[allow(clippy::manual_async_fn)]
    pub(super) fn read_response<'a>(
        &'a self,
        prepared: &'a Prepared,
        mut response: reqwest::Response,
        deadline: Option<tokio::time::Instant>,
    ) -> impl std::future::Future<Output = std::result::Result<RawResponse, ReadFailure>> + 'a {
        async move {
            let operation = prepared.operation;
            let status = response.status();
            let location = || response.headers().get(reqwest::header::LOCATION).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
            if status.is_redirection() && operation.response == ResponseKind::Redirect {
                let Some(location) = location() else {
                    return Err(ReadFailure::Error(Error::Status {
                        operation: operation.id,
                        status: status.as_u16(),
                        messages: vec!["redirect without a Location header".into()],
                        body: String::new(),
                    }));
                };
                let location = response.url().join(&location).map(String::from).unwrap_or(location);
                return Ok(RawResponse { operation, status: status.as_u16(), body: RawBody::Redirect(location) });
            }
            if !status.is_success() {
                let mut messages = match (status.is_redirection(), location()) {
                    (true, Some(location)) => vec![format!("redirected to {location}, which this operation does not follow")],
                    (true, None) => vec!["redirect without a Location header".to_owned()],
                    (false, _) => Vec::new(),
                };
                // An error body that stalls is left out at the attempt's deadline: the status
                // says more than a timeout would.
                let reading = read_bounded(&mut response, ERROR_BODY_LIMIT);
                let body = match deadline {
                    Some(deadline) => tokio::time::timeout_at(deadline, reading).await.unwrap_or_default(),
                    None => reading.await,
                };
                messages.extend(messages_from_body(&body));
                // The body's own secret values join the client's credentials in the error's
                // redaction (see `Client::redact`).
                let mut redaction = Redaction::default();
                if let Ok(value) = serde_json::from_slice::<serde_json::Value>(&body) {
                    redaction.add_secrets_in(&value);
                }
                let error = Error::Status { operation: operation.id, status: status.as_u16(), messages, body: redacted_snippet(&body, 2048) };
                return Err(ReadFailure::Error(error.redact(&redaction)));
            }
            let body = match operation.response {
                ResponseKind::Binary if is_json(&response) && response.content_length().is_some_and(|n| n <= ERROR_BODY_LIMIT as u64) => {
                    // A small JSON answer may be the API's failure envelope: read it (it is
                    // small), and hand it over as a download unless it is one.
                    let bytes = read_capped(&mut response, operation.id, Some(ERROR_BODY_LIMIT as u64)).await?;
                    if let Some(error) = download_envelope_failure(operation.id, status.as_u16(), &bytes) {
                        return Err(ReadFailure::Error(error));
                    }
                    RawBody::Download(Box::new(crate::Download::buffered(operation.id, response.headers(), bytes)))
                }
                ResponseKind::Binary => RawBody::Download(Box::new(crate::Download::new(operation.id, response, self.inner.limits.download_idle))),
                // A success answer to a redirect operation is read as far as an error body is:
                // it can only be the failure envelope or a mistake.
                ResponseKind::Redirect => RawBody::Bytes(read_bounded(&mut response, ERROR_BODY_LIMIT).await),
                ResponseKind::Json | ResponseKind::Empty => {
                    RawBody::Bytes(read_capped(&mut response, operation.id, self.inner.limits.max_body).await?)
                }
            };
            Ok(RawResponse { operation, status: status.as_u16(), body })
        }
    }
}

/// Why reading an answer failed: its connection (which a retry may mend), or its content.
pub(super) enum ReadFailure {
    Body(reqwest::Error),
    Error(Error),
}

fn is_json(response: &reqwest::Response) -> bool {
    let content_type = response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence == "application/json" || essence.ends_with("+json")
}

/// The start of a body, at most `limit` bytes; a broken body just ends early.
async fn read_bounded(response: &mut reqwest::Response, limit: usize) -> Bytes {
    let mut body = Vec::new();
    while body.len() < limit {
        match response.chunk().await {
            Ok(Some(chunk)) => body.extend_from_slice(&chunk[..chunk.len().min(limit - body.len())]),
            _ => break,
        }
    }
    body.into()
}

/// The whole body of a success answer, refused once it is larger than `limit`. Memory is the
/// body's size (the buffer is sized from `Content-Length` when there is one); a body that
/// comes in one chunk is handed over without a copy.
async fn read_capped(response: &mut reqwest::Response, operation: &'static str, limit: Option<u64>) -> std::result::Result<Bytes, ReadFailure> {
    let limit = limit.unwrap_or(u64::MAX);
    let too_large = |size| ReadFailure::Error(Error::BodyTooLarge { operation, size, limit });
    let announced = response.content_length();
    if let Some(length) = announced.filter(|&length| length > limit) {
        return Err(too_large(BodySize::Announced(length)));
    }
    let Some(first) = response.chunk().await.map_err(ReadFailure::Body)? else { return Ok(Bytes::new()) };
    if first.len() as u64 > limit {
        return Err(too_large(BodySize::AtLeast(limit)));
    }
    let Some(second) = response.chunk().await.map_err(ReadFailure::Body)? else { return Ok(first) };
    let expected = announced.unwrap_or(0).max((first.len() + second.len()) as u64).min(limit);
    let mut body = Vec::with_capacity(usize::try_from(expected).unwrap_or(usize::MAX));
    body.extend_from_slice(&first);
    drop(first);
    let mut chunk = Some(second);
    while let Some(current) = chunk {
        if (body.len() + current.len()) as u64 > limit {
            return Err(too_large(BodySize::AtLeast(limit)));
        }
        body.extend_from_slice(&current);
        chunk = response.chunk().await.map_err(ReadFailure::Body)?;
    }
    Ok(body.into())
}
