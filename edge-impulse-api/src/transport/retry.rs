//! When a failed request is sent again, and how long the client waits before it does.

use std::time::Duration;

use reqwest::header::{HeaderMap, RETRY_AFTER};

/// Statuses that say "try again later": rate limited, or a gateway that lost the backend.
/// Anything else (400, 401, 404, 500, ...) would fail the same way again.
pub(crate) const RETRY_STATUSES: [u16; 4] = [429, 502, 503, 504];

/// How the client retries requests that failed for a passing reason.
///
/// A request is retried when the connection failed (could not connect, or was closed before
/// an answer arrived) or the server answered 429, 502, 503 or 504. Only requests that are
/// safe to repeat are retried: `GET`, `PUT`, `DELETE`, `HEAD` (and the other idempotent
/// methods). `POST` and `PATCH` are retried only when the request opts in with
/// [`RequestParts::retry_non_idempotent`](crate::RequestParts::retry_non_idempotent), or
/// when an HTTP/2 server said it did not process them (it refused the stream, or closed the
/// connection gracefully before the request's turn): those are retried whatever the method.
///
/// This policy is the only one: the HTTP client the crate builds has reqwest's own retries
/// off (they cloned every request in case an HTTP/2 server refused it, and retried at once).
/// A client you pass to [`ClientBuilder::http_client`](crate::ClientBuilder::http_client)
/// keeps whatever retries you gave it.
///
/// Waits grow exponentially from [`initial_backoff`](RetryPolicy::initial_backoff), capped at
/// [`max_backoff`](RetryPolicy::max_backoff), each shortened by a random part (jitter) so that
/// many clients do not come back at the same moment. A `Retry-After` header (seconds or an
/// HTTP date) replaces the computed wait. Retrying stops after
/// [`max_attempts`](RetryPolicy::max_attempts) attempts, or when the next wait would end past
/// [`max_elapsed`](RetryPolicy::max_elapsed) since the first attempt; the last failure is then
/// returned as it is. Request timeouts are not retried: they already took the time you allowed.
///
/// ```
/// use std::time::Duration;
/// use edge_impulse_api::{Client, RetryPolicy};
///
/// let client = Client::builder()
///     .api_key("ei_...")
///     .retry(RetryPolicy::new().max_attempts(6).max_elapsed(Duration::from_secs(120)))
///     .build()?;
/// # Ok::<(), edge_impulse_api::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    initial_backoff: Duration,
    max_backoff: Duration,
    max_elapsed: Duration,
    jitter: bool,
}

impl Default for RetryPolicy {
    /// 4 attempts, waits from 500 ms up to 30 s with jitter, no retry started after 60 s.
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            initial_backoff: Duration::from_millis(500),
            max_backoff: Duration::from_secs(30),
            max_elapsed: Duration::from_secs(60),
            jitter: true,
        }
    }
}

impl RetryPolicy {
    /// The default policy (see [`RetryPolicy::default`]).
    pub fn new() -> Self {
        Self::default()
    }

    /// Never retry: every request is sent once.
    pub fn disabled() -> Self {
        RetryPolicy { max_attempts: 1, ..Self::default() }
    }

    /// Attempts in all, the first one included (at least 1; 1 means no retries).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The wait before the first retry; each further wait doubles it.
    pub fn initial_backoff(mut self, wait: Duration) -> Self {
        self.initial_backoff = wait;
        self
    }

    /// The longest computed wait between two attempts (`Retry-After` is not capped by it).
    pub fn max_backoff(mut self, wait: Duration) -> Self {
        self.max_backoff = wait;
        self
    }

    /// Time from the first attempt after which no retry is started. The attempt running at
    /// that moment is not cut short (the request timeout bounds it).
    pub fn max_elapsed(mut self, limit: Duration) -> Self {
        self.max_elapsed = limit;
        self
    }

    /// Whether waits are randomised (on by default). Each wait is then between half and all
    /// of the computed one.
    pub fn jitter(mut self, on: bool) -> Self {
        self.jitter = on;
        self
    }

    /// Whether this policy ever sends a request more than once.
    pub fn is_enabled(&self) -> bool {
        self.max_attempts > 1
    }

    /// The wait before attempt `attempts_made + 1`, or `None` when the policy allows no more.
    pub(crate) fn next_delay(&self, attempts_made: u32, elapsed: Duration, retry_after: Option<Duration>) -> Option<Duration> {
        if attempts_made >= self.max_attempts {
            return None;
        }
        let delay = retry_after.unwrap_or_else(|| self.backoff(attempts_made));
        // A wait that ends past the budget would only delay the same failure.
        (elapsed.saturating_add(delay) <= self.max_elapsed).then_some(delay)
    }

    /// The computed wait after the `retry`-th failed attempt (1-based), jittered if enabled.
    fn backoff(&self, retry: u32) -> Duration {
        let factor = 2u32.saturating_pow(retry.saturating_sub(1));
        let full = self.initial_backoff.saturating_mul(factor).min(self.max_backoff);
        if !self.jitter || full.is_zero() {
            return full;
        }
        // "Equal jitter": keep half, randomise the other half.
        let half = full / 2;
        let random = Duration::from_nanos(fastrand::u64(0..=(full - half).as_nanos().min(u64::MAX as u128) as u64));
        half + random
    }
}

/// The `Retry-After` header as a wait: delay-seconds, or an HTTP date (IMF-fixdate) from now.
pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let date = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    // A date in the past means "now".
    Some((date.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_the_cap_without_jitter() {
        let policy = RetryPolicy::new()
            .jitter(false)
            .initial_backoff(Duration::from_millis(100))
            .max_backoff(Duration::from_millis(350))
            .max_attempts(10)
            .max_elapsed(Duration::from_secs(60));
        let waits: Vec<_> = (1..=4).map(|n| policy.next_delay(n, Duration::ZERO, None).unwrap().as_millis()).collect();
        assert_eq!(waits, [100, 200, 350, 350]);
    }

    #[test]
    fn jitter_stays_between_half_and_all_of_the_wait() {
        let policy = RetryPolicy::new().initial_backoff(Duration::from_millis(800)).max_attempts(10);
        for _ in 0..200 {
            let wait = policy.next_delay(1, Duration::ZERO, None).unwrap();
            assert!(wait >= Duration::from_millis(400) && wait <= Duration::from_millis(800), "{wait:?}");
        }
    }

    #[test]
    fn attempts_and_elapsed_time_are_bounded() {
        let policy = RetryPolicy::new().jitter(false).max_attempts(3).max_elapsed(Duration::from_secs(2));
        assert!(policy.next_delay(2, Duration::ZERO, None).is_some());
        assert_eq!(policy.next_delay(3, Duration::ZERO, None), None);
        // 1.8 s spent + 0.5 s wait would end past the 2 s budget.
        assert_eq!(policy.next_delay(1, Duration::from_millis(1800), None), None);
        assert_eq!(policy.next_delay(1, Duration::ZERO, Some(Duration::from_secs(5))), None);
        assert!(!RetryPolicy::disabled().is_enabled());
        assert_eq!(RetryPolicy::disabled().next_delay(1, Duration::ZERO, None), None);
    }

    #[test]
    fn retry_after_replaces_the_computed_wait() {
        let policy = RetryPolicy::new().jitter(false).max_attempts(5);
        assert_eq!(policy.next_delay(1, Duration::ZERO, Some(Duration::from_secs(3))), Some(Duration::from_secs(3)));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let mut headers = HeaderMap::new();
        headers.insert(RETRY_AFTER, "7".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_secs(7)));
        let later = chrono::Utc::now() + chrono::Duration::seconds(30);
        headers.insert(RETRY_AFTER, later.format("%a, %d %b %Y %H:%M:%S GMT").to_string().parse().unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(wait > Duration::from_secs(25) && wait <= Duration::from_secs(30), "{wait:?}");
        headers.insert(RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }
}
