//! The client: configuration, credentials, and the one function that sends every request.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tracing::Instrument;

use crate::auth::{choose, Credential, Location, Secret};
use crate::error::{messages_from_body, redact_credentials, redacted_snippet, Error, Result};
use crate::generated::{DEFAULT_BASE_URL, DEFAULT_SECURITY, SECURITY_SCHEMES};
use crate::request::{FromResponse, Method, Operation, Payload, Prepared, RawBody, RawResponse, Request, ResponseKind};
use crate::retry::{retry_after, RetryPolicy, RETRY_STATUSES};

/// How much of an error body is read; the rest is dropped.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// A client for the Edge Impulse Studio API. Cheap to clone; clones share connections.
///
/// Operations are grouped by tag: `client.raw_data().list_samples(project_id, category)`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base_url: String,
    api_key: Option<Secret>,
    jwt: Option<Secret>,
    timeout: Option<Duration>,
    headers: HeaderMap,
    retry: RetryPolicy,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.inner.base_url)
            .field("api_key", &self.inner.api_key)
            .field("jwt", &self.inner.jwt)
            .field("timeout", &self.inner.timeout)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`].
#[derive(Default)]
pub struct ClientBuilder {
    base_url: Option<String>,
    api_key: Option<Secret>,
    jwt: Option<Secret>,
    timeout: Option<Duration>,
    connect_timeout: Option<Duration>,
    user_agent: Option<String>,
    headers: Vec<(String, String)>,
    http: Option<reqwest::Client>,
    retry: RetryPolicy,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key)
            .field("jwt", &self.jwt)
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The API root, `https://studio.edgeimpulse.com/v1` by default; for enterprise hosts.
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = Some(url.into());
        self
    }

    /// Authenticates with a project or organization API key (`x-api-key`).
    pub fn api_key(mut self, key: impl Into<Secret>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Authenticates with a user's JWT (`x-jwt-token`, or the `jwt` cookie where an operation
    /// accepts only that).
    pub fn jwt(mut self, token: impl Into<Secret>) -> Self {
        self.jwt = Some(token.into());
        self
    }

    /// Limit for a whole request, from connecting to the last byte of a buffered body.
    /// Downloads are streamed and not limited by it once the headers arrived.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Limit for establishing a connection (ignored with [`ClientBuilder::http_client`]).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The `User-Agent` header (ignored with [`ClientBuilder::http_client`]).
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = Some(user_agent.into());
        self
    }

    /// A header sent with every request.
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// How failed requests are retried; [`RetryPolicy::default`] unless set.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Sends every request once (same as `.retry(RetryPolicy::disabled())`).
    pub fn no_retries(self) -> Self {
        self.retry(RetryPolicy::disabled())
    }

    /// Uses your own `reqwest::Client` (proxies, certificates, ...). Build it with
    /// `redirect(reqwest::redirect::Policy::none())`: operations that answer with a redirect
    /// return its target, which a following client would hide.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Builds the client. Fails with [`Error::Config`] when the base URL is not an http(s)
    /// URL, a header or credential is not a valid header value, or the HTTP client cannot
    /// be created.
    pub fn build(self) -> Result<Client> {
        let base_url = self.base_url.unwrap_or_else(|| DEFAULT_BASE_URL.to_owned());
        let parsed = reqwest::Url::parse(&base_url).map_err(|e| Error::Config(format!("base URL `{base_url}`: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Config(format!("base URL `{base_url}` must be http or https")));
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| Error::Config(format!("header name `{name}`: {e}")))?;
            let value = HeaderValue::from_str(value).map_err(|e| Error::Config(format!("header `{name}` value: {e}")))?;
            headers.append(name, value);
        }
        let http = match self.http {
            Some(http) => http,
            None => {
                let user_agent = self.user_agent.unwrap_or_else(|| concat!("edge-impulse-api-rust/", env!("CARGO_PKG_VERSION")).to_owned());
                let mut builder = reqwest::Client::builder().user_agent(user_agent).redirect(reqwest::redirect::Policy::none());
                if let Some(timeout) = self.connect_timeout {
                    builder = builder.connect_timeout(timeout);
                }
                builder.build().map_err(|e| Error::Config(format!("HTTP client: {e}")))?
            }
        };
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base_url: base_url.trim_end_matches('/').to_owned(),
                api_key: self.api_key,
                jwt: self.jwt,
                timeout: self.timeout,
                headers,
                retry: self.retry,
            }),
        })
    }

    /// Logs in with a username (or e-mail) and password and returns a client that uses the
    /// JWT it got. Everything else configured on the builder is kept.
    pub async fn login(self, username: &str, password: &str) -> Result<Client> {
        let anonymous = ClientBuilder { api_key: None, jwt: None, http: self.http.clone(), ..self.clone_settings() }.build()?;
        #[derive(serde::Serialize)]
        struct Credentials<'a> {
            username: &'a str,
            password: &'a str,
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            token: Option<Secret>,
        }
        static LOGIN: Operation =
            Operation { id: "login", method: Method::Post, path: "/api-login", security: &[], response: ResponseKind::Json };
        let mut request: Request<'_, serde_json::Value> = Request::with_path(&anonymous, &LOGIN, Method::Post, LOGIN.path.to_owned());
        request.json(&Credentials { username, password });
        let answer = request.await?;
        let token = serde_json::from_value::<Answer>(answer).ok().and_then(|a| a.token).ok_or_else(|| Error::Decode {
            operation: "login",
            path: "token".into(),
            message: "the login answer has no token".into(),
            body: String::new(),
        })?;
        // The login was for a JWT client: an API key would win over the JWT on most operations.
        ClientBuilder { api_key: None, ..self }.jwt(token).build()
    }

    fn clone_settings(&self) -> ClientBuilder {
        ClientBuilder {
            base_url: self.base_url.clone(),
            api_key: self.api_key.clone(),
            jwt: self.jwt.clone(),
            timeout: self.timeout,
            connect_timeout: self.connect_timeout,
            user_agent: self.user_agent.clone(),
            headers: self.headers.clone(),
            http: self.http.clone(),
            retry: self.retry.clone(),
        }
    }
}

impl Client {
    /// A builder: set credentials, base URL, timeouts and retries, then
    /// [`build`](ClientBuilder::build).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client configured from the environment: `EI_API_KEY` and/or `EI_JWT_TOKEN` for
    /// credentials, `EI_HOST` for the server (a host name such as `studio.edgeimpulse.com`,
    /// which means `https://{host}/v1`, or a full base URL).
    pub fn from_env() -> Result<Client> {
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let mut builder = Client::builder();
        if let Some(key) = var("EI_API_KEY") {
            builder = builder.api_key(key);
        }
        if let Some(token) = var("EI_JWT_TOKEN") {
            builder = builder.jwt(token);
        }
        if builder.api_key.is_none() && builder.jwt.is_none() {
            return Err(Error::Config("set EI_API_KEY (an API key from your project's dashboard) or EI_JWT_TOKEN".into()));
        }
        if let Some(host) = var("EI_HOST") {
            let host = host.trim().trim_end_matches('/');
            builder = builder.base_url(if host.contains("://") { host.to_owned() } else { format!("https://{host}/v1") });
        }
        builder.build()
    }

    /// The client's credentials, to keep them out of error messages.
    fn credentials(&self) -> Vec<&str> {
        [&self.inner.api_key, &self.inner.jwt].into_iter().flatten().map(Secret::expose).collect()
    }

    /// The API root requests go to.
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// A request to any path, for endpoints newer than this crate: same base URL,
    /// credentials (any of the API key or JWT the client has), retries, tracing and error
    /// handling as generated operations; errors name the operation `custom`.
    ///
    /// `path` is relative to the base URL (`/api/projects`); fill in path segments yourself
    /// and add query parameters, headers and a body on the request. The answer decodes into
    /// any `T`: a `serde_json::Value` or your own type, `()` for an empty answer, a
    /// [`Download`](crate::Download) to stream a file, a [`Redirect`](crate::Redirect) to get
    /// a redirect's target. Traces record `path` as given here (without its query), so keep
    /// secrets out of it.
    ///
    /// ```no_run
    /// # async fn run(client: &edge_impulse_api::Client) -> edge_impulse_api::Result<()> {
    /// use edge_impulse_api::Method;
    ///
    /// let mut request = client.request::<serde_json::Value>(Method::Post, "/api/12345/new-feature");
    /// request.query("dryRun", &true).json(&serde_json::json!({ "name": "test" }));
    /// let answer = request.await?;
    /// println!("{}", answer["id"]);
    /// # Ok(()) }
    /// ```
    pub fn request<T: FromResponse>(&self, method: Method, path: impl Into<String>) -> Request<'_, T> {
        Request::with_path(self, custom_operation(T::RESPONSE_KIND), method, path.into())
    }

    /// Sends a prepared request; the one place every call goes through.
    // Boxed on purpose: one non-generic future type shared by every operation.
    #[allow(clippy::manual_async_fn)]
    pub(crate) fn execute(&self, prepared: Prepared) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<RawResponse>> + Send + '_>> {
        // This future is allocated on every call. The prepared request (and, in
        // `send_with_retries`, the reading of the answer) get boxes of their own, which keeps it
        // under 1 KiB: glibc serves blocks up to that size from a per-thread cache, larger
        // ones take a slower path (about 1% of a small call's instructions, measured with
        // benches/small_call.rs under callgrind).
        // `prepared` is lent to `send` from the block's capture: an async fn taking it by
        // value would hold it twice.
        let mut prepared = Box::new(prepared);
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
        let result = self.send_with_retries(prepared, started, &mut retries).instrument(span.clone()).await;
        span.record("latency_ms", u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
        span.record("retries", retries);
        match &result {
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
        result
    }

    /// Sends, and sends again while the retry policy allows it and the failure is passing.
    async fn send_with_retries(&self, prepared: &Prepared, started: Instant, retries: &mut u32) -> Result<RawResponse> {
        let operation = prepared.operation;
        let policy = prepared.retry.as_ref().unwrap_or(&self.inner.retry);
        let may_retry = prepared.method.is_idempotent() || prepared.retry_non_idempotent;
        loop {
            let attempts_made = *retries + 1;
            let request = self.build_request(prepared).await?;
            // A statement of its own, so that its temporaries do not stay in the future
            // while the answer is read.
            let outcome = self.execute_once(prepared, request).await?;
            let delay = match outcome {
                Ok(response) => {
                    let status = response.status().as_u16();
                    let delay = match may_retry && RETRY_STATUSES.contains(&status) {
                        true => policy.next_delay(attempts_made, started.elapsed(), retry_after(response.headers())),
                        false => None,
                    };
                    let Some(delay) = delay else {
                        // Boxed to keep the call's future small (see `execute`).
                        return Box::pin(self.read_response(prepared, response)).await;
                    };
                    tracing::debug!(attempt = attempts_made, status, delay_ms = delay.as_millis() as u64, "retrying after a passing failure");
                    delay
                }
                Err(error) => {
                    let delay = match may_retry && is_passing(&error) {
                        true => policy.next_delay(attempts_made, started.elapsed(), None),
                        false => None,
                    };
                    let Some(delay) = delay else {
                        return Err(Error::transport(operation.id, error));
                    };
                    let error = error.without_url();
                    tracing::debug!(attempt = attempts_made, %error, delay_ms = delay.as_millis() as u64, "retrying after a connection failure");
                    delay
                }
            };
            tokio::time::sleep(delay).await;
            *retries += 1;
        }
    }

    /// The timeout of a binary request. Its answer is streamed after the call returns, so the
    /// limit covers the wait for the response head (and an error body), not the download;
    /// other requests use reqwest's whole-request timeout.
    fn head_timeout(&self, prepared: &Prepared) -> Option<Duration> {
        prepared.timeout.or(self.inner.timeout).filter(|_| prepared.operation.response == ResponseKind::Binary)
    }

    /// Sends one attempt.
    async fn execute_once(&self, prepared: &Prepared, request: reqwest::Request) -> Result<reqwest::Result<reqwest::Response>> {
        let sending = self.inner.http.execute(request);
        match self.head_timeout(prepared) {
            Some(limit) => tokio::time::timeout(limit, sending).await.map_err(|_| Error::Timeout { operation: prepared.operation.id }),
            None => Ok(sending.await),
        }
    }

    async fn build_request(&self, prepared: &Prepared) -> Result<reqwest::Request> {
        // The one await comes first, while nothing else is held, which keeps this future (and
        // so every call's) small.
        let multipart = match &prepared.payload {
            Payload::Multipart(form) => Some(form.to_reqwest(prepared.operation.id).await?),
            _ => None,
        };
        self.assemble_request(prepared, multipart)
    }

    fn assemble_request(&self, prepared: &Prepared, multipart: Option<reqwest::multipart::Form>) -> Result<reqwest::Request> {
        let operation = prepared.operation.id;
        let invalid = |message: String| Error::InvalidRequest { operation, message };
        let mut url = reqwest::Url::parse(&format!("{}{}", self.inner.base_url, prepared.path))
            .map_err(|e| invalid(format!("URL for path `{}`: {e}", prepared.path)))?;
        let mut cookies: Vec<(Cow<'static, str>, &str)> = prepared.cookies.iter().map(|(n, v)| (n.clone(), v.as_str())).collect();
        let mut headers = self.inner.headers.clone();
        let has = |credential| match credential {
            Credential::ApiKey => self.inner.api_key.is_some(),
            Credential::Jwt => self.inner.jwt.is_some(),
        };
        let mut query_credentials = Vec::new();
        for scheme in choose(prepared.operation.security, &SECURITY_SCHEMES, has).unwrap_or_default() {
            let secret = match scheme.credential {
                Credential::ApiKey => self.inner.api_key.as_ref(),
                Credential::Jwt => self.inner.jwt.as_ref(),
            };
            let Some(secret) = secret else { continue };
            match scheme.location {
                Location::Header => {
                    let mut value = HeaderValue::from_str(secret.expose()).map_err(|_| invalid(format!("the credential for `{}` is not a valid header value", scheme.name)))?;
                    value.set_sensitive(true);
                    headers.insert(HeaderName::from_static(scheme.param), value);
                }
                Location::Cookie => cookies.push((Cow::Borrowed(scheme.param), secret.expose())),
                Location::Query => query_credentials.push((scheme.param, secret.expose())),
            }
        }
        if !prepared.query.is_empty() || !query_credentials.is_empty() {
            let mut pairs = url.query_pairs_mut();
            for (name, value) in &prepared.query {
                pairs.append_pair(name, value);
            }
            for (name, value) in query_credentials {
                pairs.append_pair(name, value);
            }
        }
        for (name, value) in &prepared.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| invalid(format!("header name `{name}`: {e}")))?;
            let value = HeaderValue::from_str(value).map_err(|e| invalid(format!("header `{name}` value: {e}")))?;
            headers.insert(name, value);
        }
        if !cookies.is_empty() {
            let line = cookies.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ");
            let mut value = HeaderValue::from_str(&line).map_err(|_| invalid("a cookie value is not valid in a header".into()))?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::COOKIE, value);
        }
        let mut request = reqwest::Request::new(prepared.method.to_reqwest(), url);
        // Handed over whole: `RequestBuilder::headers` would copy them into a second map.
        *request.headers_mut() = headers;
        let mut builder = reqwest::RequestBuilder::from_parts(self.inner.http.clone(), request);
        // reqwest's timeout would also cut a streamed download's body: see `head_timeout`.
        if let Some(timeout) = prepared.timeout.or(self.inner.timeout).filter(|_| self.head_timeout(prepared).is_none()) {
            builder = builder.timeout(timeout);
        }
        builder = match &prepared.payload {
            Payload::None | Payload::Multipart(_) => builder,
            Payload::Json(bytes) => builder.header(reqwest::header::CONTENT_TYPE, "application/json").body(bytes.clone()),
            Payload::Raw { content_type, data } => builder.header(reqwest::header::CONTENT_TYPE, content_type.as_ref()).body(data.clone()),
        };
        if let Some(form) = multipart {
            builder = builder.multipart(form);
        }
        builder.build().map_err(|e| invalid(e.without_url().to_string()))
    }

    /// A block rather than an async fn, which would hold `response` twice (see `execute`).
    #[allow(clippy::manual_async_fn)]
    fn read_response<'a>(&'a self, prepared: &'a Prepared, mut response: reqwest::Response) -> impl std::future::Future<Output = Result<RawResponse>> + 'a {
        async move {
            let operation = prepared.operation;
            let status = response.status();
            if status.is_redirection() && operation.response == ResponseKind::Redirect {
                let Some(location) = response.headers().get(reqwest::header::LOCATION).and_then(|v| v.to_str().ok()) else {
                    return Err(Error::Status {
                        operation: operation.id,
                        status: status.as_u16(),
                        messages: vec!["redirect without a Location header".into()],
                        body: String::new(),
                    });
                };
                let location = response.url().join(location).map(String::from).unwrap_or_else(|_| location.to_owned());
                return Ok(RawResponse { operation, status: status.as_u16(), body: RawBody::Redirect(location) });
            }
            if !status.is_success() {
                let reading = read_bounded(&mut response, ERROR_BODY_LIMIT);
                let body = match self.head_timeout(prepared) {
                    // A body that stalls past the limit is left out, like a broken one.
                    Some(limit) => tokio::time::timeout(limit, reading).await.unwrap_or_default(),
                    None => reading.await,
                };
                let credentials = self.credentials();
                return Err(Error::Status {
                    operation: operation.id,
                    status: status.as_u16(),
                    messages: messages_from_body(&body).into_iter().map(|m| redact_credentials(m, &credentials)).collect(),
                    body: redacted_snippet(&body, 2048, &credentials),
                });
            }
            if operation.response == ResponseKind::Binary && !is_json(&response) {
                return Ok(RawResponse { operation, status: status.as_u16(), body: RawBody::Stream(response) });
            }
            // A JSON answer to a download request is how the API reports a failure
            // (`{"success": false}`); it is buffered and checked like any JSON answer.
            let bytes = response.bytes().await.map_err(|e| Error::transport(operation.id, e))?;
            Ok(RawResponse { operation, status: status.as_u16(), body: RawBody::Bytes(bytes) })
        }
    }
}

fn is_json(response: &reqwest::Response) -> bool {
    let content_type = response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence == "application/json" || essence.ends_with("+json")
}

/// The operation of [`Client::request`] for answers read the way `kind` says.
fn custom_operation(kind: ResponseKind) -> &'static Operation {
    const fn custom(response: ResponseKind) -> Operation {
        Operation { id: "custom", method: Method::Get, path: "", security: DEFAULT_SECURITY, response }
    }
    static JSON: Operation = custom(ResponseKind::Json);
    static EMPTY: Operation = custom(ResponseKind::Empty);
    static BINARY: Operation = custom(ResponseKind::Binary);
    static REDIRECT: Operation = custom(ResponseKind::Redirect);
    match kind {
        ResponseKind::Json => &JSON,
        ResponseKind::Empty => &EMPTY,
        ResponseKind::Binary => &BINARY,
        ResponseKind::Redirect => &REDIRECT,
    }
}

/// A connection failure that may not happen again: could not connect, or the connection
/// broke before an answer came. Timeouts are not: they already took the time allowed.
fn is_passing(error: &reqwest::Error) -> bool {
    !error.is_timeout() && (error.is_connect() || error.is_request())
}

/// A short, secret-free name of what went wrong, for traces.
fn error_kind(error: &Error) -> &'static str {
    match error {
        Error::Api { .. } => "api",
        Error::Status { .. } => "status",
        Error::Decode { .. } => "decode",
        Error::Timeout { .. } => "timeout",
        Error::Transport { .. } => "transport",
        Error::Io { .. } => "io",
        Error::InvalidRequest { .. } => "invalid_request",
        Error::Config(_) => "config",
        #[allow(unreachable_patterns)]
        _ => "other",
    }
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
