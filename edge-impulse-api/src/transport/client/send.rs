//! Sending a call: one span around all its attempts, the retries the policy allows, and the
//! time limits of an attempt and of the whole call.

use std::time::{Duration, Instant};

use reqwest::header::HeaderMap;
use tracing::Instrument;

use super::read::ReadFailure;
use super::Client;
use crate::error::{Error, Result, TimeLimit};
use crate::transport::deadline::with_deadline;
use crate::transport::request::{Payload, Prepared, RawResponse};
use crate::transport::retry::{retry_after, RetryPolicy, RETRY_STATUSES};

impl Client {
    /// Sends a prepared request; the one place every call goes through.
    // Boxed on purpose: one non-generic future type shared by every operation.
    #[allow(clippy::manual_async_fn)]
    pub(crate) fn execute(&self, mut prepared: Box<Prepared>) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<RawResponse>> + Send + '_>> {
        // This future is allocated, and moved into its box, on every call. The prepared
        // request (boxed since the generated call made it), each attempt, the retry loop, a
        // multipart body's reading and a call timeout get boxes of their own, which keeps it
        // at about 420 bytes: glibc serves blocks up to 1 KiB from a per-thread cache, larger
        // ones take a slower path, and every byte is copied (measured with
        // benches/small_call.rs under callgrind; a unit test below keeps both per-call futures
        // under that limit).
        // `prepared` is lent to `send` from the block's capture: an async fn taking it by
        // value would hold it twice.
        Box::pin(async move { self.send(&mut prepared).await })
    }

    /// One span per call, around all its attempts. The path is the operation's template, never
    /// the filled-in path or the query, so ids and query credentials stay out of traces.
    async fn send(&self, prepared: &mut Prepared) -> Result<RawResponse> {
        if let Some(error) = prepared.error.take() {
            return Err(error);
        }
        let operation = prepared.operation;
        let path = if operation.path.is_empty() {
            // Only `Client::request` has no template: record what the caller wrote.
            prepared.path.split(['?', '#']).next().unwrap_or_default()
        } else {
            operation.path
        };
        let span = tracing::info_span!(
            "edge_impulse_api.request",
            operation_id = operation.id,
            method = prepared.method.as_str(),
            path,
            status = tracing::field::Empty,
            latency_ms = tracing::field::Empty,
            retries = tracing::field::Empty,
            error = tracing::field::Empty,
        );
        let started = Instant::now();
        let mut retries = 0u32;
        let calling = self.send_with_retries(prepared, started, &mut retries);
        let result = match (self.inner.limits.call, span.is_disabled()) {
            // Boxed: a call limit is opt-in, and its timer would make every call's future larger.
            (Some(limit), _) => Box::pin(tokio::time::timeout(limit, calling.instrument(span.clone())))
                .await
                .unwrap_or_else(|_| Err(Error::Timeout { operation: operation.id, limit: TimeLimit::Call(limit) })),
            // With no subscriber for the span, entering it at every poll does nothing.
            (None, true) => calling.await,
            (None, false) => calling.instrument(span.clone()).await,
        };
        if !span.is_disabled() {
            record_outcome(&span, started, retries, &result);
        }
        result
    }

    /// Sends, and sends again while the retry policy allows it and the failure is passing.
    ///
    /// The first attempt is all most calls make: the retry loop, with its sleeps and
    /// bookkeeping, is a future of its own, boxed when a retry is due, so that every call's
    /// future and the code its polls run stay small (measured with benches/small_call.rs).
    async fn send_with_retries(&self, prepared: &Prepared, started: Instant, retries: &mut u32) -> Result<RawResponse> {
        let retrying = Retrying {
            policy: prepared.retry.as_ref().unwrap_or(&self.inner.retry),
            repeatable: prepared.method.is_idempotent() || prepared.retry_non_idempotent,
            started,
            attempts_made: 1,
        };
        match self.attempt_in_time(prepared, &retrying).await? {
            Attempt::Done(result) => result,
            outcome => Box::pin(self.retry(prepared, retrying, outcome, retries)).await,
        }
    }

    /// Waits as the policy says after an attempt that asked for a retry, and attempts again,
    /// until an attempt ends the call or the policy ends the retries.
    async fn retry(&self, prepared: &Prepared, mut retrying: Retrying<'_>, mut outcome: Attempt, retries: &mut u32) -> Result<RawResponse> {
        let operation = prepared.operation.id;
        loop {
            let delay = match outcome {
                Attempt::Done(result) => return result,
                Attempt::RetryStatus { status, delay } => {
                    tracing::debug!(attempt = retrying.attempts_made, status, delay_ms = delay.as_millis() as u64, "retrying after a passing failure");
                    delay
                }
                Attempt::Failed(error) => {
                    retrying.wait_after_failure(error).map_err(|error| Error::transport(operation, error, self.inner.limits.connect))?
                }
            };
            tokio::time::sleep(delay).await;
            *retries += 1;
            retrying.attempts_made += 1;
            outcome = self.attempt_in_time(prepared, &retrying).await?;
        }
    }

    /// One attempt, within the answer limit.
    async fn attempt_in_time(&self, prepared: &Prepared, retrying: &Retrying<'_>) -> Result<Attempt> {
        let answer_limit = prepared.timeout.unwrap_or(self.inner.limits.answer);
        // Made anew for each attempt: a multipart body's files are read again. Only they are
        // waited for, in a future of their own (boxed, so that other calls' futures do not
        // have room for it), and nothing else is held across that wait: an async fn or a
        // `match` around both kept room for the request in every call's future.
        let request = if let Payload::Multipart(form) = &prepared.payload {
            let form = Box::pin(form.to_reqwest(prepared.operation.id)).await?;
            self.assemble_request(prepared, Some(form))?
        } else {
            self.assemble_request(prepared, None)?
        };
        // A limit too far to be a point in time (`Duration::MAX`) is no limit.
        let deadline = answer_limit.and_then(|limit| tokio::time::Instant::now().checked_add(limit));
        // Boxed to keep the call's future small (see `execute`).
        let attempt = Box::pin(self.attempt(prepared, request, |status, headers| retrying.wait_for_status(status, headers), deadline));
        match (answer_limit, deadline) {
            (Some(limit), Some(deadline)) => with_deadline(deadline, attempt)
                .await
                .map_err(|_| Error::Timeout { operation: prepared.operation.id, limit: TimeLimit::Answer(limit) }),
            _ => Ok(attempt.await),
        }
    }

    /// One attempt: send, and read the answer as far as the call returns it (all of it for
    /// JSON, the head for a download), so that a connection that breaks while the body comes
    /// is retried like one that broke before. `retry_wait` says whether a status is retried.
    ///
    /// A block rather than an async fn, and the answer's head in a block of its own: an
    /// async fn keeps its arguments (the request) and a block keeps its locals (the response)
    /// for its whole life, and with them this future was over the 1 KiB that glibc serves
    /// from its per-thread cache (see `execute`).
    #[allow(clippy::manual_async_fn)]
    fn attempt<'a>(
        &'a self,
        prepared: &'a Prepared,
        request: reqwest::Request,
        retry_wait: impl Fn(u16, &HeaderMap) -> Option<Duration> + 'a,
        deadline: Option<tokio::time::Instant>,
    ) -> impl std::future::Future<Output = Attempt> + 'a {
        let sending = self.inner.http.execute(request);
        async move {
            let reading = {
                let response = match sending.await {
                    Ok(response) => response,
                    Err(error) => return Attempt::Failed(error),
                };
                let status = response.status().as_u16();
                if let Some(delay) = retry_wait(status, response.headers()) {
                    return Attempt::RetryStatus { status, delay };
                }
                self.read_response(prepared, response, deadline)
            };
            match reading.await {
                Ok(raw) => Attempt::Done(Ok(raw)),
                Err(ReadFailure::Body(error)) => Attempt::Failed(error),
                Err(ReadFailure::Error(error)) => Attempt::Done(Err(error)),
            }
        }
    }
}

/// How one attempt ended.
enum Attempt {
    /// With the call's result (an answer, or an error no retry would mend).
    Done(Result<RawResponse>),
    /// With a status that is retried after `delay`.
    RetryStatus { status: u16, delay: Duration },
    /// With a failure of the connection, before or while the answer came.
    Failed(reqwest::Error),
}

/// Where a call stands with its retry policy, and whether a failure gets another attempt.
struct Retrying<'p> {
    policy: &'p RetryPolicy,
    /// Whether the request is safe to repeat once it may have reached the server.
    repeatable: bool,
    started: Instant,
    attempts_made: u32,
}

impl Retrying<'_> {
    /// The wait before retrying an answer with this status, or `None` when it is the call's
    /// answer. `Retry-After` is looked for only on a status that may be retried.
    fn wait_for_status(&self, status: u16, headers: &HeaderMap) -> Option<Duration> {
        if !RETRY_STATUSES.contains(&status) {
            return None;
        }
        let retry_after = retry_after(headers);
        // A 429 with `Retry-After` was refused before it did anything: safe to repeat whatever
        // the method.
        let allowed = self.repeatable || (status == 429 && retry_after.is_some());
        allowed.then(|| self.policy.next_delay(self.attempts_made, self.started.elapsed(), retry_after)).flatten()
    }

    /// The wait before retrying after a failed exchange, or the failure when it is final.
    fn wait_after_failure(&self, error: reqwest::Error) -> std::result::Result<Duration, reqwest::Error> {
        let delay = match may_retry_after(&error, self.repeatable) {
            true => self.policy.next_delay(self.attempts_made, self.started.elapsed(), None),
            false => None,
        };
        let Some(delay) = delay else { return Err(error) };
        let error = error.without_url();
        tracing::debug!(attempt = self.attempts_made, %error, delay_ms = delay.as_millis() as u64, "retrying after a connection failure");
        Ok(delay)
    }
}

/// Whether a failed exchange may be repeated: one the server never processed (no connection
/// was made, or an HTTP/2 server refused it) always; a broken connection only for requests
/// safe to repeat. Timeouts are not retried: they already took the time allowed.
fn may_retry_after(error: &reqwest::Error, repeatable: bool) -> bool {
    if error.is_timeout() {
        return false;
    }
    error.is_connect() || refused_unprocessed(error) || (repeatable && (error.is_request() || error.is_body() || error.is_decode()))
}

/// Whether an HTTP/2 server said it did not process the request: it reset the stream with
/// `REFUSED_STREAM` (RFC 9113, 8.7), or went away gracefully before the stream's turn.
fn refused_unprocessed(error: &reqwest::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(error);
    while let Some(current) = source {
        if let Some(h2) = current.downcast_ref::<h2::Error>() {
            let refused = h2.is_reset() && h2.reason() == Some(h2::Reason::REFUSED_STREAM);
            let went_away = h2.is_go_away() && h2.reason() == Some(h2::Reason::NO_ERROR);
            return h2.is_remote() && (refused || went_away);
        }
        source = current.source();
    }
    false
}

/// What the call's span records when it ends. Out of line: without a subscriber, which is the
/// common case, no call runs it.
#[cold]
fn record_outcome(span: &tracing::Span, started: Instant, retries: u32, result: &Result<RawResponse>) {
    span.record("latency_ms", u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
    span.record("retries", retries);
    match result {
        Ok(response) => {
            span.record("status", response.status);
        }
        Err(error) => {
            if let Some(status) = error.status() {
                span.record("status", status);
            }
            span.record("error", error_kind(error));
        }
    }
}

/// A short, secret-free name of what went wrong, for traces.
fn error_kind(error: &Error) -> &'static str {
    match error {
        Error::Api { .. } => "api",
        Error::TotpRequired { .. } => "totp_required",
        Error::Status { .. } => "status",
        Error::Decode { .. } => "decode",
        Error::Timeout { .. } => "timeout",
        Error::BodyTooLarge { .. } => "body_too_large",
        Error::Transport { .. } => "transport",
        Error::Io { .. } => "io",
        Error::InvalidRequest { .. } => "invalid_request",
        Error::Config(_) => "config",
        #[allow(unreachable_patterns)]
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    use super::may_retry_after;
    use crate::Client;

    /// glibc serves blocks of up to 1032 bytes from a per-thread cache; a larger one takes the
    /// allocator's slower path, which also sorts its free lists. Every call allocates these two
    /// futures, and what an async fn keeps alive grows them unnoticed (`attempt` was 1136 bytes).
    #[tokio::test]
    async fn the_futures_every_call_allocates_fit_the_allocators_thread_cache() {
        use crate::transport::request::{Method, Operation, RequestParts, ResponseKind};
        static COUNT: Operation = Operation {
            id: "countSamples",
            method: Method::Get,
            path: "/api/{projectId}/raw-data/count",
            security: &[&[0]],
            response: ResponseKind::Json,
            service: &crate::generated::services::PRIMARY,
        };
        const THREAD_CACHE_LIMIT: usize = 1032;
        let client = Client::builder().base_url("http://127.0.0.1:9").api_key("ei_0123").build().unwrap();
        let call = client.execute(RequestParts::new(&client, &COUNT, &[&42i64]).prepared);
        let size = std::mem::size_of_val(&*call);
        assert!(size <= THREAD_CACHE_LIMIT, "a call's future is {size} bytes");
        let prepared = RequestParts::new(&client, &COUNT, &[&42i64]).prepared;
        let request = client.assemble_request(&prepared, None).unwrap();
        let attempt = client.attempt(&prepared, request, |_, _| None, None);
        let size = std::mem::size_of_val(&attempt);
        assert!(size <= THREAD_CACHE_LIMIT, "an attempt's future is {size} bytes");
    }

    /// An HTTP/2 server on 127.0.0.1 (prior knowledge, no TLS) that resets the first
    /// `resets` streams with `reason` and answers the others `{"success":true}`; counts them.
    async fn h2_server(resets: usize, reason: h2::Reason) -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let seen = std::sync::Arc::new(AtomicUsize::new(0));
        let counter = seen.clone();
        tokio::spawn(async move {
            loop {
                let (socket, _) = listener.accept().await.unwrap();
                let counter = counter.clone();
                tokio::spawn(async move {
                    let mut connection = h2::server::handshake(socket).await.unwrap();
                    while let Some(Ok((_request, mut respond))) = connection.accept().await {
                        if counter.fetch_add(1, Ordering::SeqCst) < resets {
                            respond.send_reset(reason);
                            continue;
                        }
                        let answer = http::Response::builder().header("content-type", "application/json").body(()).unwrap();
                        let mut body = respond.send_response(answer, false).unwrap();
                        body.send_data(bytes::Bytes::from_static(br#"{"success":true}"#), true).unwrap();
                    }
                });
            }
        });
        (url, seen)
    }

    async fn post_over_h2(url: &str) -> crate::Result<()> {
        let no_retries = reqwest::retry::never().max_retries_per_request(0);
        let http = reqwest::Client::builder().http2_prior_knowledge().redirect(reqwest::redirect::Policy::none()).retry(no_retries).build().unwrap();
        let fast = crate::RetryPolicy::new().initial_backoff(std::time::Duration::from_millis(1)).jitter(false);
        let client = Client::builder().base_url(url).api_key("ei_0123").http_client(http).retry(fast).build().unwrap();
        client.request::<()>(crate::Method::Post, "/api/1/jobs/train").await
    }

    #[tokio::test]
    async fn a_post_an_http2_server_refused_is_sent_again() {
        let (url, seen) = h2_server(1, h2::Reason::REFUSED_STREAM).await;
        post_over_h2(&url).await.expect("sent again after REFUSED_STREAM");
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_post_whose_stream_failed_otherwise_is_not_repeated() {
        let (url, seen) = h2_server(1, h2::Reason::INTERNAL_ERROR).await;
        let error = post_over_h2(&url).await.expect_err("an INTERNAL_ERROR reset is the call's failure");
        assert!(matches!(error, crate::Error::Transport { .. }), "{error:?}");
        assert_eq!(seen.load(std::sync::atomic::Ordering::SeqCst), 1, "a POST the server may have processed is sent once");
    }

    #[tokio::test]
    async fn a_request_that_never_reached_the_server_may_be_repeated_whatever_its_method() {
        // Nothing listens on a port that was just freed: the connection is refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let refused = reqwest::Client::new().post(format!("http://127.0.0.1:{port}/")).send().await.unwrap_err();
        assert!(refused.is_connect());
        assert!(may_retry_after(&refused, false), "a POST that was never sent is safe to repeat");
        assert!(may_retry_after(&refused, true));
    }
}
