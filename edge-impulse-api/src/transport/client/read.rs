//! Reading an answer the way its operation says: a redirect's target, an error body (bounded),
//! a JSON body (capped), or the head of a download.

use bytes::Bytes;

use super::Client;
use crate::transport::download::Download;
use crate::error::{messages_from_body, BodySize, Error};
use crate::transport::redact::BODY_KEPT;
use crate::transport::request::{body_text, download_envelope_failure, Prepared, RawBody, RawResponse, ResponseKind};

/// How much of an error body (or of a small JSON answer to a download) is read; the rest is
/// dropped.
const ERROR_BODY_LIMIT: usize = BODY_KEPT;

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
            if status.is_redirection() && operation.response == ResponseKind::Redirect {
                let location = redirect_target(operation.id, &response).map_err(ReadFailure::Error)?;
                return Ok(RawResponse { operation, status: status.as_u16(), body: RawBody::Redirect(location) });
            }
            if !status.is_success() {
                return Err(ReadFailure::Error(status_failure(operation.id, &mut response, deadline).await));
            }
            let body = match operation.response {
                ResponseKind::Binary if is_json(&response) && response.content_length().is_some_and(|n| n <= ERROR_BODY_LIMIT as u64) => {
                    // A small JSON answer may be the API's failure envelope: read it (it is
                    // small), and hand it over as a download unless it is one.
                    let bytes = read_capped(&mut response, operation.id, Some(ERROR_BODY_LIMIT as u64)).await?;
                    if let Some(error) = download_envelope_failure(operation.id, status.as_u16(), &bytes) {
                        return Err(ReadFailure::Error(error));
                    }
                    RawBody::Download(Box::new(Download::buffered(operation.id, response.headers(), bytes)))
                }
                ResponseKind::Binary => RawBody::Download(Box::new(Download::new(operation.id, response, self.inner.limits.download_idle))),
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

/// The `Location` of a redirect, resolved against the URL that answered it.
fn redirect_target(operation: &'static str, response: &reqwest::Response) -> Result<String, Error> {
    let Some(location) = location(response) else {
        let messages = vec!["redirect without a Location header".into()];
        return Err(Error::Status { operation, status: response.status().as_u16(), messages, body: String::new() });
    };
    Ok(response.url().join(&location).map(String::from).unwrap_or(location))
}

/// The error for an answer that is not a success: what a redirect pointed at, the messages
/// found in the body, and its start.
async fn status_failure(operation: &'static str, response: &mut reqwest::Response, deadline: Option<tokio::time::Instant>) -> Error {
    let status = response.status();
    let mut messages = match (status.is_redirection(), location(response)) {
        (true, Some(location)) => vec![format!("redirected to {location}, which this operation does not follow")],
        (true, None) => vec!["redirect without a Location header".to_owned()],
        (false, _) => Vec::new(),
    };
    // An error body that stalls is left out at the attempt's deadline: the status says more
    // than a timeout would.
    let reading = read_bounded(response, ERROR_BODY_LIMIT);
    let body = match deadline {
        Some(deadline) => tokio::time::timeout_at(deadline, reading).await.unwrap_or_default(),
        None => reading.await,
    };
    messages.extend(messages_from_body(&body));
    // Whole: the redaction step (`Client::finish`) takes the secrets out, then cuts it.
    Error::Status { operation, status: status.as_u16(), messages, body: body_text(&body) }
}

fn location(response: &reqwest::Response) -> Option<String> {
    response.headers().get(reqwest::header::LOCATION).map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned())
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

/// The whole body of a success answer, refused once it is larger than `limit`. Memory grows
/// with the bytes that arrive, never past `Content-Length` for an honest body (so a body ends
/// in a buffer of its size); an announced size alone allocates nothing. A body that comes in
/// one chunk is handed over without a copy.
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
    let announced = announced.and_then(|length| usize::try_from(length).ok());
    let mut body = Vec::new();
    let mut chunk = Some(first);
    let mut next = Some(second);
    while let Some(current) = chunk {
        if (body.len() as u64).saturating_add(current.len() as u64) > limit {
            return Err(too_large(BodySize::AtLeast(limit)));
        }
        grow_for(&mut body, current.len(), announced);
        body.extend_from_slice(&current);
        drop(current);
        chunk = match next.take() {
            Some(second) => Some(second),
            None => response.chunk().await.map_err(ReadFailure::Body)?,
        };
    }
    Ok(body.into())
}

/// Makes room for `incoming` more bytes: doubling, as `Vec` does, but never past the
/// announced size while the body fits in it.
fn grow_for(body: &mut Vec<u8>, incoming: usize, announced: Option<usize>) {
    let needed = body.len().saturating_add(incoming);
    if needed <= body.capacity() {
        return;
    }
    let doubled = needed.max(body.capacity().saturating_mul(2));
    let target = match announced {
        Some(announced) if announced >= needed => doubled.min(announced),
        _ => doubled,
    };
    body.reserve_exact(target - body.len());
}
