//! The client: configuration, credentials, and the one function that sends every request.

use std::borrow::Cow;
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tracing::Instrument;

use crate::auth::{choose, BasicAuth, Credential, Location, Secret, SecurityScheme};
use crate::error::{messages_from_body, redacted_snippet, BodySize, Error, Redaction, Result, TimeLimit};
use crate::generated::services;
use crate::generated::DEFAULT_SECURITY;
use crate::request::{download_envelope_failure, FromResponse, Method, Operation, Payload, Prepared, RawBody, RawResponse, Request, ResponseKind, Service};
use crate::retry::{retry_after, RetryPolicy, RETRY_STATUSES};

/// How much of an error body (or of a small JSON answer to a download) is read; the rest is
/// dropped.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// The default [`ClientBuilder::connect_timeout`]: a TCP and TLS handshake takes well under a
/// second on a working network; 10 s leaves room for slow links and a lost SYN or two.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The default [`ClientBuilder::timeout`]: two minutes for one attempt's complete answer. The
/// API's slowest synchronous operations answer within about a minute; past two, the server or
/// the path to it is stuck.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
/// The default [`ClientBuilder::download_idle_timeout`]: a download that receives nothing for
/// a minute is stalled, however large it is.
pub const DEFAULT_DOWNLOAD_IDLE_TIMEOUT: Duration = Duration::from_secs(60);
/// The default [`ClientBuilder::max_body_size`], 256 MiB: several times the largest JSON
/// answers the API gives (paged lists are a few MB), small enough that a broken or hostile
/// server cannot take all of a machine's memory.
pub const DEFAULT_MAX_BODY_SIZE: u64 = 256 * 1024 * 1024;

/// A client for the Edge Impulse Studio API. Cheap to clone; clones share connections.
///
/// Operations are grouped by tag: `client.raw_data().list_samples(project_id, category)`.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    /// Each service's URL and credential headers, at its [`Service::index`]: the same client,
    /// credentials, limits and retries serve every host.
    services: Vec<ServiceState>,
    credentials: crate::auth::Credentials,
    prefer_jwt: bool,
    limits: Limits,
    headers: HeaderMap,
    retry: RetryPolicy,
}

/// What a client knows about one service.
struct ServiceState {
    /// As given, without a trailing `/`: what [`Client::base_url`] shows.
    base_url: String,
    /// The same, parsed once: a call's URL is a copy with its path and query set, so the
    /// host is not parsed again on every call (it was 7% of a small call's client-side
    /// instructions, measured with callgrind).
    base: reqwest::Url,
    /// For each of the service's security schemes sent in a header, its value with this
    /// client's credential, made once: checking and copying the secret into a header on every
    /// call was a few hundred instructions of a small call.
    credential_headers: Vec<Option<HeaderValue>>,
}

/// The time and size limits of a client; `None` is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Limits {
    connect: Option<Duration>,
    answer: Option<Duration>,
    call: Option<Duration>,
    download_idle: Option<Duration>,
    max_body: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            connect: Some(DEFAULT_CONNECT_TIMEOUT),
            answer: Some(DEFAULT_TIMEOUT),
            call: None,
            download_idle: Some(DEFAULT_DOWNLOAD_IDLE_TIMEOUT),
            max_body: Some(DEFAULT_MAX_BODY_SIZE),
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let urls: Vec<(&str, &str)> = services::ALL.iter().zip(&self.inner.services).map(|(s, state)| (s.name, state.base_url.as_str())).collect();
        f.debug_struct("Client")
            .field("base_urls", &urls)
            .field("credentials", &self.inner.credentials)
            .field("limits", &self.inner.limits)
            .field("retry", &self.inner.retry)
            .finish_non_exhaustive()
    }
}

/// Configures a [`Client`].
///
/// Every client is bounded in time and memory unless told otherwise: see
/// [`connect_timeout`](ClientBuilder::connect_timeout), [`timeout`](ClientBuilder::timeout),
/// [`call_timeout`](ClientBuilder::call_timeout),
/// [`download_idle_timeout`](ClientBuilder::download_idle_timeout) and
/// [`max_body_size`](ClientBuilder::max_body_size). Each takes a value, or `None` to switch
/// the limit off.
#[derive(Default)]
pub struct ClientBuilder {
    /// Service name and URL, as set; the last one set for a service wins.
    urls: Vec<(String, String)>,
    credentials: crate::auth::Credentials,
    prefer_jwt: bool,
    limits: Limits,
    user_agent: Option<String>,
    headers: Vec<(String, String)>,
    http: Option<reqwest::Client>,
    retry: RetryPolicy,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("urls", &self.urls)
            .field("credentials", &self.credentials)
            .field("limits", &self.limits)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The API root, `https://studio.edgeimpulse.com/v1` by default; for enterprise hosts.
    pub fn base_url(self, url: impl Into<String>) -> Self {
        self.service_url(services::PRIMARY.name, url)
    }

    /// The URL of one of the services the crate calls, by name (`studio`, `ingestion`; see
    /// [`Service`]). [`build`](ClientBuilder::build) refuses a name the crate does not know.
    pub fn service_url(mut self, service: &str, url: impl Into<String>) -> Self {
        self.urls.push((service.to_owned(), url.into()));
        self
    }

    /// The ingestion service's URL (`client.ingestion()`), `https://ingestion.edgeimpulse.com`
    /// by default; [`Client::from_env`] reads it from `EI_INGESTION_ENDPOINT` or `EI_HOST`.
    pub fn ingestion_endpoint(self, url: impl Into<String>) -> Self {
        self.service_url("ingestion", url)
    }

    /// Authenticates with a project or organization API key (`x-api-key`).
    pub fn api_key(mut self, key: impl Into<Secret>) -> Self {
        self.credentials.api_key = Some(key.into());
        self
    }

    /// Authenticates with a user's JWT (`x-jwt-token`, or the `jwt` cookie where an operation
    /// accepts only that).
    pub fn jwt(mut self, token: impl Into<Secret>) -> Self {
        self.credentials.jwt = Some(token.into());
        self
    }

    /// Authenticates with a bearer token (`Authorization: Bearer ...`): an OAuth 2 or OpenID
    /// Connect access token, for operations whose security schemes take one.
    pub fn bearer_token(mut self, token: impl Into<Secret>) -> Self {
        self.credentials.bearer = Some(token.into());
        self
    }

    /// Authenticates with a user name and password (`Authorization: Basic ...`), for
    /// operations whose security schemes are HTTP basic authentication.
    pub fn basic_auth(mut self, user: &str, password: impl Into<Secret>) -> Self {
        self.credentials.basic = Some(BasicAuth::new(user, password.into()));
        self
    }

    /// With both an API key and a JWT: whether an operation that accepts either gets the JWT
    /// (`true`) or the API key (`false`, the default, which is the spec's order).
    pub fn prefer_jwt(mut self, prefer: bool) -> Self {
        self.prefer_jwt = prefer;
        self
    }

    /// Time limit for one attempt of a request: from sending it to the last byte of its
    /// answer for JSON answers, to the response head for downloads (whose body has
    /// [`download_idle_timeout`](ClientBuilder::download_idle_timeout) instead). Each retry
    /// gets it anew; [`call_timeout`](ClientBuilder::call_timeout) bounds them all.
    /// [`DEFAULT_TIMEOUT`] (2 minutes) unless set; `None` waits as long as the server takes.
    pub fn timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.limits.answer = timeout.into();
        self
    }

    /// Time limit for a whole call: every attempt, and the waits between them, up to the
    /// decoded answer (or a download's response head). None by default: the retry policy's
    /// [`max_elapsed`](RetryPolicy::max_elapsed) plus one [`timeout`](ClientBuilder::timeout)
    /// already bound a call (3 minutes with the defaults).
    pub fn call_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.limits.call = timeout.into();
        self
    }

    /// Time limit for establishing a connection, TLS included (ignored with
    /// [`ClientBuilder::http_client`]). [`DEFAULT_CONNECT_TIMEOUT`] (10 s) unless set.
    pub fn connect_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.limits.connect = timeout.into();
        self
    }

    /// Longest time a [`Download`](crate::Download) may go without receiving a byte. A
    /// download may take hours; it fails only when it stalls.
    /// [`DEFAULT_DOWNLOAD_IDLE_TIMEOUT`] (1 minute) unless set.
    pub fn download_idle_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.limits.download_idle = timeout.into();
        self
    }

    /// Largest answer held in memory, in bytes: a JSON answer larger than this fails with
    /// [`Error::BodyTooLarge`] instead of taking the memory. Downloads are streamed and not
    /// limited. [`DEFAULT_MAX_BODY_SIZE`] (256 MiB) unless set.
    pub fn max_body_size(mut self, bytes: impl Into<Option<u64>>) -> Self {
        self.limits.max_body = bytes.into();
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
    /// return its target, which a following client would hide. Its own timeouts apply on top
    /// of this builder's; [`connect_timeout`](ClientBuilder::connect_timeout) is then yours to set.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The client. Fails with [`Error::Config`] for a base URL that is not http(s), a header
    /// that is not valid, or a credential that cannot be sent in a header (a line break or
    /// another control character in it): such mistakes show here, not on the first call.
    pub fn build(self) -> Result<Client> {
        let mut redaction = Redaction::default();
        for secret in self.credentials.secrets() {
            redaction.add(secret.expose().to_owned());
        }
        self.build_checked().map_err(|error| error.redact(&redaction))
    }

    fn build_checked(self) -> Result<Client> {
        if let Some((name, _)) = self.urls.iter().find(|(name, _)| !services::ALL.iter().any(|s| s.name == name)) {
            let known: Vec<&str> = services::ALL.iter().map(|s| s.name).collect();
            return Err(Error::Config(format!("no service named `{name}`; the crate calls {}", known.join(", "))));
        }
        let mut service_urls = Vec::with_capacity(services::ALL.len());
        for service in services::ALL {
            let given = self.urls.iter().rev().find(|(name, _)| name == service.name).map(|(_, url)| url.clone());
            let base_url = given.unwrap_or_else(|| service.default_base_url.to_owned());
            let what = match service.index {
                0 => "base URL".to_owned(),
                _ => format!("`{}` URL", service.name),
            };
            let parsed = reqwest::Url::parse(&base_url).map_err(|e| Error::Config(format!("{what} `{base_url}`: {e}")))?;
            if !matches!(parsed.scheme(), "http" | "https") {
                return Err(Error::Config(format!("{what} `{base_url}` must be http or https")));
            }
            if parsed.query().is_some() || parsed.fragment().is_some() {
                return Err(Error::Config(format!("{what} `{base_url}` must not have a query or a fragment: paths are appended to it")));
            }
            service_urls.push((base_url, parsed));
        }
        let credentials = &self.credentials;
        for (what, secret) in [("API key", &credentials.api_key), ("JWT", &credentials.jwt), ("bearer token", &credentials.bearer)] {
            if secret.as_ref().is_some_and(|s| HeaderValue::from_str(s.expose()).is_err()) {
                // Not echoed: it is a secret.
                return Err(Error::Config(format!("the {what} contains a line break or another character a header cannot hold")));
            }
        }
        let mut headers = HeaderMap::new();
        for (name, value) in &self.headers {
            let name = HeaderName::from_bytes(name.as_bytes()).map_err(|e| Error::Config(format!("header name `{name}`: {e}")))?;
            let value = HeaderValue::from_str(value).map_err(|e| Error::Config(format!("header `{name}` value: {e}")))?;
            headers.append(name, value);
        }
        let mut limits = self.limits;
        let http = match self.http {
            Some(http) => {
                // The caller's client enforces (or not) its own connect timeout.
                limits.connect = None;
                http
            }
            None => {
                let user_agent = self.user_agent.unwrap_or_else(|| concat!("edge-impulse-api-rust/", env!("CARGO_PKG_VERSION")).to_owned());
                let mut builder = reqwest::Client::builder().user_agent(user_agent).redirect(reqwest::redirect::Policy::none());
                if let Some(timeout) = limits.connect {
                    builder = builder.connect_timeout(timeout);
                }
                builder.build().map_err(|e| Error::Config(format!("HTTP client: {e}")))?
            }
        };
        let services = services::ALL
            .iter()
            .zip(service_urls)
            .map(|(service, (base_url, base))| ServiceState {
                base_url: base_url.trim_end_matches('/').to_owned(),
                base,
                credential_headers: service.schemes.iter().map(|scheme| credential_header(scheme, &self.credentials)).collect(),
            })
            .collect();
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                services,
                credentials: self.credentials,
                prefer_jwt: self.prefer_jwt,
                limits,
                headers,
                retry: self.retry,
            }),
        })
    }

    /// Logs in with a username (or e-mail) and password and returns a client that uses the
    /// JWT it got. Everything else configured on the builder is kept.
    pub async fn login(self, username: &str, password: &str) -> Result<Client> {
        let anonymous = ClientBuilder { credentials: crate::auth::Credentials::default(), http: self.http.clone(), ..self.clone_settings() }.build()?;
        #[derive(serde::Serialize)]
        struct Credentials<'a> {
            username: &'a str,
            password: &'a str,
        }
        #[derive(serde::Deserialize)]
        struct Answer {
            token: Option<Secret>,
        }
        static LOGIN: Operation = Operation {
            id: "login",
            method: Method::Post,
            path: "/api-login",
            security: &[],
            response: ResponseKind::Json,
            service: &services::PRIMARY,
        };
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
        ClientBuilder { credentials: crate::auth::Credentials { api_key: None, ..self.credentials.clone() }, ..self }.jwt(token).build()
    }

    fn clone_settings(&self) -> ClientBuilder {
        ClientBuilder {
            urls: self.urls.clone(),
            credentials: self.credentials.clone(),
            prefer_jwt: self.prefer_jwt,
            limits: self.limits,
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

    /// A client configured from the environment, the way the Edge Impulse CLI reads it, so
    /// that one environment serves both:
    ///
    /// - `EI_API_KEY` and/or `EI_JWT_TOKEN`: the credentials (surrounding whitespace and line
    ///   breaks, as a copied value or a Windows file may carry, are dropped);
    /// - `EI_HOST`: the base domain, `edgeimpulse.com` by default, whose API is
    ///   `https://studio.{EI_HOST}`; `localhost` and `host.docker.internal` mean a local
    ///   Studio at `http://{EI_HOST}:4800`; a value with `://` is taken as the API root itself;
    /// - `EI_CLI_STUDIO_ENDPOINT`: the Studio URL itself (`https://studio.example.com`),
    ///   which wins over `EI_HOST`;
    /// - `EI_INGESTION_ENDPOINT`: the ingestion service's URL (the Python SDK's variable);
    ///   without it the CLI's convention applies: `https://ingestion.{EI_HOST}`, and
    ///   `http://{EI_HOST}:4810` for a local one. An `EI_HOST` with `://` names Studio's API
    ///   only; the ingestion service then keeps its default.
    ///
    /// The base URL is the Studio URL with `/v1`.
    pub fn from_env() -> Result<Client> {
        let var = |name: &str| std::env::var(name).ok().map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
        let mut builder = Client::builder();
        if let Some(key) = var("EI_API_KEY") {
            builder = builder.api_key(key);
        }
        if let Some(token) = var("EI_JWT_TOKEN") {
            builder = builder.jwt(token);
        }
        if let Some(token) = var("EI_BEARER_TOKEN") {
            builder = builder.bearer_token(token);
        }
        if builder.credentials.is_empty() {
            return Err(Error::Config(
                "set EI_API_KEY (an API key from your project's dashboard), EI_JWT_TOKEN or EI_BEARER_TOKEN (an OAuth 2 / \
                 OpenID Connect access token)"
                    .into(),
            ));
        }
        for service in services::ALL {
            let endpoint = service.endpoint_env.and_then(|name| var(name));
            if let Some(url) = endpoint_from(service, endpoint, var("EI_HOST")) {
                builder = builder.service_url(service.name, url);
            }
        }
        builder.build()
    }

    /// The values the redaction step takes out of this client's errors: its credentials.
    pub(crate) fn redaction(&self) -> Redaction<'_> {
        let mut redaction = Redaction::default();
        for secret in self.inner.credentials.secrets() {
            redaction.add(secret.expose());
        }
        redaction
    }

    /// The redaction step for an error of one of this client's calls.
    pub(crate) fn redact(&self, error: Error) -> Error {
        error.redact(&self.redaction())
    }

    /// The client's retry policy (the uploader retries whole requests with it).
    #[allow(dead_code)] // only the `ingestion` feature uses it
    pub(crate) fn retry_policy(&self) -> &RetryPolicy {
        &self.inner.retry
    }

    /// The API root requests go to.
    pub fn base_url(&self) -> &str {
        self.inner.services.first().map_or("", |s| s.base_url.as_str())
    }

    /// The URL of a service's requests, by its name (`"ingestion"`); `None` for a name the
    /// crate does not know.
    pub fn service_url(&self, service: &str) -> Option<&str> {
        let index = services::ALL.iter().position(|s| s.name == service)?;
        self.inner.services.get(index).map(|s| s.base_url.as_str())
    }

    /// What the client knows about `service`; an error for a service that is not the crate's
    /// own (an `Operation` built by hand).
    fn service_state(&self, operation: &Operation) -> Result<&ServiceState> {
        let service = operation.service;
        self.inner.services.get(service.index).filter(|_| services::ALL.get(service.index).is_some_and(|s| s.name == service.name)).ok_or_else(|| {
            Error::InvalidRequest { operation: operation.id, message: format!("the client does not know the service `{}`", service.name) }
        })
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
    ///
    /// A path that does not start with `/`, or a full URL, is refused with
    /// [`Error::InvalidRequest`] when the request is sent: it would go to a wrong address.
    pub fn request<T: FromResponse>(&self, method: Method, path: impl Into<String>) -> Request<'_, T> {
        let path = path.into();
        let problem = match (path.starts_with('/'), path.starts_with("//")) {
            (true, false) => None,
            _ if path.contains("://") || path.starts_with("//") => {
                Some(format!("`{path}` is a URL; give the path relative to the base URL ({}), such as `/api/projects`", self.base_url()))
            }
            _ => Some(format!("path `{path}` must start with `/` (relative to the base URL, such as `/api/projects`)")),
        };
        let mut request = Request::with_path(self, custom_operation(T::RESPONSE_KIND), method, path);
        if let Some(message) = problem {
            request.fail(message);
        }
        request
    }

    /// Sends a prepared request; the one place every call goes through.
    // Boxed on purpose: one non-generic future type shared by every operation.
    #[allow(clippy::manual_async_fn)]
    pub(crate) fn execute(&self, prepared: Prepared) -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<RawResponse>> + Send + '_>> {
        // This future is allocated, and moved into its box, on every call. The prepared
        // request, each attempt, a multipart body's reading and a call timeout get boxes of
        // their own, which keeps it at about 500 bytes: glibc serves blocks up to 1 KiB from a
        // per-thread cache, larger ones take a slower path, and every byte is copied
        // (measured with benches/small_call.rs under callgrind; a unit test below keeps both
        // per-call futures under that limit).
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
        }
        result
    }

    /// Sends, and sends again while the retry policy allows it and the failure is passing.
    async fn send_with_retries(&self, prepared: &Prepared, started: Instant, retries: &mut u32) -> Result<RawResponse> {
        let operation = prepared.operation;
        let policy = prepared.retry.as_ref().unwrap_or(&self.inner.retry);
        let repeatable = prepared.method.is_idempotent() || prepared.retry_non_idempotent;
        let answer_limit = prepared.timeout.unwrap_or(self.inner.limits.answer);
        loop {
            let attempts_made = *retries + 1;
            let request = match &prepared.payload {
                // Only a multipart body is read (its files) before sending; boxed, so the
                // other calls' futures do not have room for it.
                Payload::Multipart(form) => {
                    let form = Box::pin(form.to_reqwest(operation.id)).await?;
                    self.assemble_request(prepared, Some(form))?
                }
                _ => self.assemble_request(prepared, None)?,
            };
            let retry_wait = |status: u16, headers: &HeaderMap| {
                if !RETRY_STATUSES.contains(&status) {
                    return None;
                }
                let retry_after = retry_after(headers);
                // A 429 with `Retry-After` was refused before it did anything: safe to repeat
                // whatever the method.
                let allowed = repeatable || (status == 429 && retry_after.is_some());
                allowed.then(|| policy.next_delay(attempts_made, started.elapsed(), retry_after)).flatten()
            };
            // Boxed to keep the call's future small (see `execute`).
            let deadline = answer_limit.map(|limit| tokio::time::Instant::now() + limit);
            let attempt = Box::pin(self.attempt(prepared, request, retry_wait, deadline));
            let outcome = match (answer_limit, deadline) {
                (Some(limit), Some(deadline)) => match tokio::time::timeout_at(deadline, attempt).await {
                    Ok(outcome) => outcome,
                    Err(_) => return Err(Error::Timeout { operation: operation.id, limit: TimeLimit::Answer(limit) }),
                },
                _ => attempt.await,
            };
            let delay = match outcome {
                Attempt::Done(result) => return result,
                Attempt::RetryStatus { status, delay } => {
                    tracing::debug!(attempt = attempts_made, status, delay_ms = delay.as_millis() as u64, "retrying after a passing failure");
                    delay
                }
                Attempt::Failed(error) => {
                    let delay = match may_retry_after(&error, repeatable) {
                        true => policy.next_delay(attempts_made, started.elapsed(), None),
                        false => None,
                    };
                    let Some(delay) = delay else {
                        return Err(Error::transport(operation.id, error, self.inner.limits.connect));
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

    /// What to send for the operation's `security`, or why the client cannot call it.
    fn credentials_for(&self, prepared: &Prepared) -> Result<impl Iterator<Item = (usize, &'static SecurityScheme)>> {
        let has = |credential| self.inner.credentials.get(credential).is_some();
        let prefer = self.inner.prefer_jwt.then_some(Credential::Jwt);
        let security = prepared.operation.security;
        let all: &'static [SecurityScheme] = prepared.operation.service.schemes;
        let schemes = move |chosen: &'static [usize]| chosen.iter().filter_map(move |&i| Some((i, all.get(i)?)));
        if let Some(chosen) = choose(security, all, has, prefer) {
            return Ok(schemes(chosen));
        }
        // A client without credentials sends none (a header set by hand may carry them); one
        // with the wrong credential is told which the operation needs, instead of a bare 401.
        if security.is_empty() || self.inner.credentials.is_empty() {
            return Ok(schemes(&[]));
        }
        let has = self.inner.credentials.describe();
        Err(Error::InvalidRequest {
            operation: prepared.operation.id,
            message: format!("this operation needs {}, and the client has only {has}", needed_credentials(security, all)),
        })
    }

    /// The base URL with `path` (which may carry a query) appended: the URL that parsing the
    /// two joined would give, without parsing the base again.
    fn url_for(service: &ServiceState, path: &str) -> reqwest::Url {
        let (path, fragment) = path.split_once('#').map_or((path, None), |(p, f)| (p, Some(f)));
        let (path, query) = path.split_once('?').map_or((path, None), |(p, q)| (p, Some(q)));
        let mut url = service.base.clone();
        match service.base.path().trim_end_matches('/') {
            "" => url.set_path(path),
            prefix => url.set_path(&format!("{prefix}{path}")),
        }
        url.set_query(query);
        url.set_fragment(fragment);
        url
    }

    fn assemble_request(&self, prepared: &Prepared, multipart: Option<reqwest::multipart::Form>) -> Result<reqwest::Request> {
        let operation = prepared.operation.id;
        let invalid = |message: String| Error::InvalidRequest { operation, message };
        let service = self.service_state(prepared.operation)?;
        let mut url = Self::url_for(service, &prepared.path);
        let mut cookies: Vec<(Cow<'static, str>, &str)> = prepared.cookies.iter().map(|(n, v)| (n.clone(), v.as_str())).collect();
        let mut headers = self.inner.headers.clone();
        let mut query_credentials = Vec::new();
        for (index, scheme) in self.credentials_for(prepared)? {
            let Some(secret) = self.inner.credentials.get(scheme.credential) else { continue };
            match scheme.location {
                Location::Header => {
                    // Made at build for every credential the client holds; none there means
                    // the credential cannot be a header value.
                    let Some(value) = service.credential_headers.get(index).cloned().flatten() else {
                        return Err(invalid(format!("the credential for `{}` is not a valid header value", scheme.name)));
                    };
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
            let ours = cookies.iter().map(|(n, v)| format!("{n}={v}")).collect::<Vec<_>>().join("; ");
            // Cookies set by hand (a `Cookie` header on the client or the request) are kept.
            let line = match headers.get(reqwest::header::COOKIE).and_then(|v| v.to_str().ok()) {
                Some(theirs) if !theirs.trim().is_empty() => format!("{}; {ours}", theirs.trim().trim_end_matches(';')),
                _ => ours,
            };
            let mut value = HeaderValue::from_str(&line).map_err(|_| invalid("a cookie value is not valid in a header".into()))?;
            value.set_sensitive(true);
            headers.insert(reqwest::header::COOKIE, value);
        }
        let mut request = reqwest::Request::new(prepared.method.to_reqwest(), url);
        // Handed over whole: `RequestBuilder::headers` would copy them into a second map.
        *request.headers_mut() = headers;
        if matches!(prepared.payload, Payload::None) {
            // Nothing for a builder to add.
            return Ok(request);
        }
        let mut builder = reqwest::RequestBuilder::from_parts(self.inner.http.clone(), request);
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

    /// Reads an answer as the operation's kind says. A block rather than an async fn, which
    /// would hold `response` twice (see `execute`).
    #[allow(clippy::manual_async_fn)]
    fn read_response<'a>(
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

/// How one attempt ended.
enum Attempt {
    /// With the call's result (an answer, or an error no retry would mend).
    Done(Result<RawResponse>),
    /// With a status that is retried after `delay`.
    RetryStatus { status: u16, delay: Duration },
    /// With a failure of the connection, before or while the answer came.
    Failed(reqwest::Error),
}

/// Why reading an answer failed: its connection (which a retry may mend), or its content.
enum ReadFailure {
    Body(reqwest::Error),
    Error(Error),
}

/// Whether a failed exchange may be repeated: one that never reached the server (no
/// connection was made) always; a broken connection only for requests safe to repeat.
/// Timeouts are not retried: they already took the time allowed.
fn may_retry_after(error: &reqwest::Error, repeatable: bool) -> bool {
    if error.is_timeout() {
        return false;
    }
    error.is_connect() || (repeatable && (error.is_request() || error.is_body() || error.is_decode()))
}

/// The credentials a `security` list accepts, in words: "an API key or a JWT".
fn needed_credentials(security: &[&[usize]], schemes: &[SecurityScheme]) -> String {
    let mut alternatives: Vec<String> = security
        .iter()
        .map(|alternative| {
            let mut names: Vec<&str> = alternative
                .iter()
                .filter_map(|&i| schemes.get(i))
                .map(|scheme| match scheme.credential {
                    Credential::ApiKey => "an API key",
                    Credential::Jwt => "a JWT (ClientBuilder::jwt or ClientBuilder::login)",
                    Credential::Bearer => "a bearer token (ClientBuilder::bearer_token)",
                    Credential::Basic => "a user name and password (ClientBuilder::basic_auth)",
                })
                .collect();
            names.dedup();
            names.join(" and ")
        })
        .collect();
    alternatives.sort();
    alternatives.dedup();
    alternatives.join(" or ")
}

/// A service's URL from the CLI's environment variables (see [`Client::from_env`]): its own
/// variable's value (with the API's path added), else one derived from `EI_HOST`.
fn endpoint_from(service: &Service, endpoint: Option<String>, host: Option<String>) -> Option<String> {
    if let Some(endpoint) = endpoint {
        let endpoint = endpoint.trim_end_matches('/');
        return Some(match endpoint.ends_with(service.base_path) {
            true => endpoint.to_owned(),
            false => format!("{endpoint}{}", service.base_path),
        });
    }
    let host = host?;
    let host = host.trim_end_matches('/');
    Some(if host.contains("://") {
        // A URL names one API, the primary one's; the others cannot be derived from it.
        return (service.index == 0).then(|| host.to_owned());
    } else if matches!(host, "localhost" | "host.docker.internal") || host.starts_with("127.") {
        format!("http://{host}:{}{}", service.local_port, service.base_path)
    } else {
        format!("https://{}.{host}{}", service.subdomain, service.base_path)
    })
}

fn is_json(response: &reqwest::Response) -> bool {
    let content_type = response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let essence = content_type.split(';').next().unwrap_or("").trim();
    essence == "application/json" || essence.ends_with("+json")
}

/// The operation of [`Client::request`] for answers read the way `kind` says.
fn custom_operation(kind: ResponseKind) -> &'static Operation {
    const fn custom(response: ResponseKind) -> Operation {
        Operation { id: "custom", method: Method::Get, path: "", security: DEFAULT_SECURITY, response, service: &services::PRIMARY }
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

/// A short, secret-free name of what went wrong, for traces.
fn error_kind(error: &Error) -> &'static str {
    match error {
        Error::Api { .. } => "api",
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

/// The header value a scheme sends with the client's credential: its prefix and the secret,
/// marked sensitive. `None` for a scheme not sent in a header, a credential the client does
/// not hold, or one a header cannot carry.
fn credential_header(scheme: &SecurityScheme, credentials: &crate::auth::Credentials) -> Option<HeaderValue> {
    let secret = credentials.get(scheme.credential).filter(|_| scheme.location == Location::Header)?;
    let mut value = HeaderValue::from_str(&format!("{}{}", scheme.prefix, secret.expose())).ok()?;
    value.set_sensitive(true);
    Some(value)
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

#[cfg(test)]
mod tests {
    use super::{endpoint_from, may_retry_after, services, Client};

    /// glibc serves blocks of up to 1032 bytes from a per-thread cache; a larger one takes the
    /// allocator's slower path, which also sorts its free lists. Every call allocates these two
    /// futures, and what an async fn keeps alive grows them unnoticed (`attempt` was 1136 bytes).
    #[tokio::test]
    async fn the_futures_every_call_allocates_fit_the_allocators_thread_cache() {
        use crate::request::{Method, Operation, RequestParts, ResponseKind};
        static COUNT: Operation = Operation {
            id: "countSamples",
            method: Method::Get,
            path: "/api/{projectId}/raw-data/count",
            security: &[&[0]],
            response: ResponseKind::Json,
            service: &services::PRIMARY,
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

    #[tokio::test]
    async fn a_request_that_never_reached_the_server_may_be_repeated_whatever_its_method() {
        // Nothing listens on a port that was just freed: the connection is refused.
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let refused = reqwest::Client::new().post(format!("http://127.0.0.1:{port}/")).send().await.unwrap_err();
        assert!(refused.is_connect());
        assert!(may_retry_after(&refused, false), "a POST that was never sent is safe to repeat");
        assert!(may_retry_after(&refused, true));
    }

    #[test]
    fn the_base_url_follows_the_cli_convention() {
        let url = |endpoint: Option<&str>, host: Option<&str>| endpoint_from(&services::PRIMARY, endpoint.map(Into::into), host.map(Into::into));
        assert_eq!(url(None, None), None);
        assert_eq!(url(None, Some("edgeimpulse.com")).as_deref(), Some("https://studio.edgeimpulse.com/v1"));
        assert_eq!(url(None, Some("127.0.0.1")).as_deref(), Some("http://127.0.0.1:4800/v1"));
        assert_eq!(url(None, Some("http://10.0.0.5:4800/v1/")).as_deref(), Some("http://10.0.0.5:4800/v1"));
        assert_eq!(url(Some("https://studio.acme.example/v1"), Some("x")).as_deref(), Some("https://studio.acme.example/v1"));
    }

    #[test]
    fn a_call_url_is_the_one_parsing_base_and_path_together_gives() {
        let bases = ["http://127.0.0.1:4800", "https://studio.example.com/v1/", "http://[::1]:80/a%20b/v1"];
        let paths = [
            "/api/1/raw-data/count",
            "/api/x?category=training&q=a%20b",
            "/a b/ü?x=ü#frag",
            "/api/../v2/./x",
            "/",
            "/api?",
            "/api#",
            // Never another host, though each of these, read as a reference of its own, names one.
            "//evil.example/x",
            "/\\evil.example/x",
            "/\t/evil.example/x",
            "/\n\\evil.example",
            "/api/%2e%2e/x",
            "/api/x?a=1#f?g",
        ];
        for base in bases {
            let client = Client::builder().base_url(base).build().unwrap();
            for path in paths {
                let parsed = reqwest::Url::parse(&format!("{}{path}", base.trim_end_matches('/'))).unwrap();
                let service = &client.inner.services[0];
                let url = Client::url_for(service, path);
                assert_eq!(url, parsed, "base {base}, path {path:?}");
                assert_eq!(url.host(), service.base.host(), "base {base}, path {path:?}");
            }
        }
    }

    #[test]
    fn a_base_url_with_a_query_or_fragment_is_refused() {
        for base in ["http://127.0.0.1:4800/v1?key=1", "http://127.0.0.1:4800/v1#top"] {
            let error = Client::builder().base_url(base).build().unwrap_err().to_string();
            assert!(error.contains("must not have a query or a fragment"), "{error}");
        }
    }
}
