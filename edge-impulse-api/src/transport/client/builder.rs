//! Configuring a client: the builder, the environment the CLI reads, and the login.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};

use super::credentials::credential_header;
use super::{Client, Inner, Limits, ServiceState};
use crate::error::{Error, Result};
use crate::generated::services;
use crate::transport::auth::{BasicAuth, Credentials, Secret};
use crate::transport::redact::Redaction;
use crate::transport::request::{Method, Operation, Request, ResponseKind, Service};
use crate::transport::retry::RetryPolicy;
#[allow(unused_imports)] // doc links
use super::{DEFAULT_CONNECT_TIMEOUT, DEFAULT_DOWNLOAD_IDLE_TIMEOUT, DEFAULT_MAX_BODY_SIZE, DEFAULT_TIMEOUT};

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
    credentials: Credentials,
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
        let own_http = self.http.is_some();
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
                own_http,
            }),
        })
    }

    /// Logs in with a username (or e-mail) and password and returns a client that uses the
    /// JWT it got. Everything else configured on the builder is kept.
    pub async fn login(self, username: &str, password: &str) -> Result<Client> {
        let anonymous = ClientBuilder { credentials: Credentials::default(), http: self.http.clone(), ..self.clone_settings() }.build()?;
        #[derive(serde::Serialize)]
        struct LoginBody<'a> {
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
        request.json(&LoginBody { username, password });
        let answer = request.await?;
        let token = serde_json::from_value::<Answer>(answer).ok().and_then(|a| a.token).ok_or_else(|| Error::Decode {
            operation: "login",
            path: "token".into(),
            message: "the login answer has no token".into(),
            body: String::new(),
        })?;
        // The login was for a JWT client: an API key would win over the JWT on most operations.
        ClientBuilder { credentials: Credentials { api_key: None, ..self.credentials.clone() }, ..self }.jwt(token).build()
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

#[cfg(test)]
mod tests {
    use super::{endpoint_from, services};
    use crate::Client;

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
    fn a_base_url_with_a_query_or_fragment_is_refused() {
        for base in ["http://127.0.0.1:4800/v1?key=1", "http://127.0.0.1:4800/v1#top"] {
            let error = Client::builder().base_url(base).build().unwrap_err().to_string();
            assert!(error.contains("must not have a query or a fragment"), "{error}");
        }
    }
}
