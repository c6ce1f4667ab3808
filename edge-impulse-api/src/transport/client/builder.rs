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
use crate::transport::redact::Secrets;
use crate::transport::request::Service;
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
    /// Secrets the client does not send but must keep out of its errors: what a login sent,
    /// and an API key the login's JWT replaced.
    former_secrets: Vec<Secret>,
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
    /// `redirect(reqwest::redirect::Policy::none())`: a client that follows redirects would
    /// send the `x-api-key` or `x-jwt-token` header on to whatever host a redirect names
    /// (reqwest drops only `Authorization` and cookies on the way), so
    /// [`build`](ClientBuilder::build) refuses one for a client with credentials. Operations
    /// that answer with a redirect return its target. Its own timeouts apply on top of this
    /// builder's; [`connect_timeout`](ClientBuilder::connect_timeout) is then yours to set.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// The client. Fails with [`Error::Config`] for a base URL that is not http(s), a header
    /// that is not valid, a credential that cannot be sent in a header (a line break or
    /// another control character in it), or credentials with an
    /// [`http_client`](ClientBuilder::http_client) that may follow redirects: such mistakes
    /// show here, not on the first call.
    pub fn build(self) -> Result<Client> {
        let secrets = self.secrets();
        self.build_checked(secrets.clone()).map_err(|error| error.redact(&secrets))
    }

    /// Every value the client's errors must not show.
    fn secrets(&self) -> Secrets {
        let mut secrets = Secrets::default();
        for secret in self.credentials.secrets().chain(&self.former_secrets) {
            secrets.add(secret.expose());
        }
        secrets
    }

    fn build_checked(self, secrets: Secrets) -> Result<Client> {
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
            Some(http) if !(self.credentials.is_empty() && self.former_secrets.is_empty()) && may_follow_redirects(&http) => {
                return Err(Error::Config(
                    "the reqwest::Client given to ClientBuilder::http_client may follow redirects, which would send this \
                     client's credentials (x-api-key, x-jwt-token, a login's password) on to whatever host a redirect names; build it with \
                     .redirect(reqwest::redirect::Policy::none())"
                        .into(),
                ));
            }
            Some(http) => {
                // The caller's client enforces (or not) its own connect timeout.
                limits.connect = None;
                http
            }
            None => {
                let user_agent = self.user_agent.unwrap_or_else(|| concat!("edge-impulse-api-rust/", env!("CARGO_PKG_VERSION")).to_owned());
                // Retries have one owner, `RetryPolicy`: reqwest's own would clone every
                // request in case an HTTP/2 server refuses it (`may_retry_after` covers that).
                let no_retries = reqwest::retry::never().max_retries_per_request(0);
                let mut builder = reqwest::Client::builder().user_agent(user_agent).redirect(reqwest::redirect::Policy::none()).retry(no_retries);
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
                prefix: base.as_str().trim_end_matches('/').to_owned(),
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
                secrets,
            }),
        })
    }

    /// Logs in with a username (or e-mail) and password and returns a client that uses the
    /// JWT it got, through the generated [`login`](crate::apis::login::LoginApi::login)
    /// operation. Everything else configured on the builder is kept; an API key set on it is
    /// dropped (it would win over the JWT on most operations), and never shows in errors.
    ///
    /// An account with multi-factor authentication fails with [`Error::TotpRequired`]: ask
    /// for the code of the user's authenticator app and call
    /// [`login_with_totp`](ClientBuilder::login_with_totp). Needs the `login` feature (on by
    /// default).
    #[cfg(feature = "login")]
    pub async fn login(self, username: &str, password: &str) -> Result<Client> {
        self.login_with(crate::apis::login::LoginBody::new(username.to_owned(), password.into())).await
    }

    /// [`login`](ClientBuilder::login) with the one-time code (TOTP) of a user with
    /// multi-factor authentication, after [`Error::TotpRequired`].
    #[cfg(feature = "login")]
    pub async fn login_with_totp(self, username: &str, password: &str, totp_token: &str) -> Result<Client> {
        self.login_with(crate::apis::login::LoginBody::new(username.to_owned(), password.into()).totp_token(totp_token)).await
    }

    /// [`login`](ClientBuilder::login) with every field of the spec's login request
    /// (single sign-on type, session, evaluation user, TOTP code).
    #[cfg(feature = "login")]
    pub async fn login_with(mut self, request: crate::apis::login::LoginBody) -> Result<Client> {
        // What the login sends stays secret in this builder's errors and in the new client's.
        self.former_secrets.extend([Some(request.password.clone()), request.totp_token.clone()].into_iter().flatten());
        let anonymous = ClientBuilder { credentials: Credentials::default(), ..self.clone_settings() }.build()?;
        let answer = anonymous.login().login(&request).await.map_err(totp_required)?;
        let token = answer.token.ok_or_else(|| Error::Decode {
            operation: "login",
            path: "token".into(),
            message: "the login answer has no token".into(),
            body: String::new(),
        })?;
        self.former_secrets.extend(self.credentials.api_key.take());
        self.jwt(token).build()
    }

    #[cfg(feature = "login")]
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
            former_secrets: self.former_secrets.clone(),
        }
    }
}

/// The login's answer that the account needs a one-time code (`ERR_TOTP_TOKEN ...`, as a
/// failure envelope or an error status), as its own error; any other error as it is.
#[cfg(feature = "login")]
fn totp_required(error: Error) -> Error {
    const CODE: &str = "ERR_TOTP_TOKEN";
    let message = match &error {
        Error::Api { message, .. } => Some(message),
        Error::Status { messages, .. } => messages.first(),
        _ => None,
    };
    match message {
        Some(message) if message.trim_start().starts_with(CODE) => Error::TotpRequired { operation: "login", message: message.clone() },
        _ => error,
    }
}

/// Whether a client given to [`ClientBuilder::http_client`] may follow redirects. reqwest
/// has no accessor for its policy; its `Debug` names the policy when it is not the default
/// (which follows up to 10): only `Policy::none()` is known not to follow. Should that text
/// ever change, every given client counts as following, which is the safe side.
fn may_follow_redirects(http: &reqwest::Client) -> bool {
    !format!("{http:?}").contains("redirect_policy: \"Policy(None)\"")
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
            let endpoint = service.endpoint_env.and_then(&var);
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
