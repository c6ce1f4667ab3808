//! The client: its state, shared by clones, and the calls anyone can make on it. The work is
//! split by concern: [`builder`] (configuration, checked once), [`assemble`] and
//! [`credentials`] (what one attempt sends), [`send`] (the call, its retries and limits),
//! [`read`] (reading an answer as the operation says).

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use crate::error::{Error, Result};
use crate::generated::{services, DEFAULT_SECURITY};
use crate::transport::auth::Credentials;
use crate::transport::redact::Secrets;
use crate::transport::request::{FromResponse, Method, Operation, Request, ResponseKind};
#[allow(unused_imports)] // doc links
use crate::transport::request::Service;
use crate::transport::retry::RetryPolicy;

mod assemble;
mod builder;
mod credentials;
mod read;
mod send;

pub use builder::ClientBuilder;

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
    credentials: Credentials,
    prefer_jwt: bool,
    limits: Limits,
    headers: HeaderMap,
    retry: RetryPolicy,
    /// The caller gave its own `reqwest::Client` ([`ClientBuilder::http_client`]): its proxy
    /// and root certificates are unknown to the live log socket, which then stays off.
    // Read only by the live log socket, which needs an API group with jobs.
    #[cfg_attr(not(any(feature = "jobs", feature = "organization-jobs")), allow(dead_code))]
    own_http: bool,
    /// The credentials, and what the client sent or held before (a login's password), in
    /// every spelling the redaction step looks for; made once.
    secrets: Secrets,
}

/// What a client knows about one service.
struct ServiceState {
    /// As given, without a trailing `/`: what [`Client::base_url`] shows.
    base_url: String,
    /// The same, parsed and written out again (normalised, still without a trailing `/`):
    /// a call's URL is this with the path and query appended, parsed once.
    prefix: String,
    /// For each of the service's security schemes sent in a header, its name and its value
    /// with this client's credential, made once (see `credentials::credential_header`).
    credential_headers: Vec<Option<(HeaderName, HeaderValue)>>,
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

impl Client {
    /// A builder: set credentials, base URL, timeouts and retries, then
    /// [`build`](ClientBuilder::build).
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// The client's retry policy (the uploader retries whole requests with it).
    #[cfg(feature = "upload")]
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

    /// What the client knows about the operation's service; an error for a service that is
    /// not the crate's own (an `Operation` built by hand).
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
    /// [`Error::InvalidRequest`](crate::Error::InvalidRequest) when the request is sent: it would go to a wrong address.
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

    /// Whether the caller gave its own `reqwest::Client`, whose network settings (proxy,
    /// root certificates) cannot be read back.
    #[cfg_attr(not(any(feature = "jobs", feature = "organization-jobs")), allow(dead_code))]
    pub(crate) fn has_own_http_client(&self) -> bool {
        self.inner.own_http
    }

    /// Every value this client's errors must not show (see `transport::redact`).
    pub(crate) fn secrets(&self) -> &Secrets {
        &self.inner.secrets
    }
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
