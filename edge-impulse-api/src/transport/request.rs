//! A request being built, and the future that sends it and decodes the answer.
//!
//! Everything that does not depend on the response type lives in [`Prepared`] and
//! [`Client::execute`](crate::Client), compiled once; per operation there is only a small
//! function filling a `Prepared`, and per response type one decode call.

use std::borrow::Cow;
use std::future::{Future, IntoFuture};
use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use serde::de::DeserializeOwned;

use crate::error::{envelope_message, Error, Result};
use crate::transport::redact::BODY_KEPT;
use crate::data::multipart::{MultipartForm, ToMultipart};
use crate::data::params::{fill_path, ToParam};
use crate::transport::retry::RetryPolicy;
use crate::Client;

/// HTTP methods used by the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// `GET`
    Get,
    /// `POST`
    Post,
    /// `PUT`
    Put,
    /// `DELETE`
    Delete,
    /// `PATCH`
    Patch,
    /// `HEAD`
    Head,
    /// `OPTIONS`
    Options,
    /// `TRACE`
    Trace,
}

impl Method {
    /// The method's name as sent on the wire (`GET`).
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Delete => "DELETE",
            Method::Patch => "PATCH",
            Method::Head => "HEAD",
            Method::Options => "OPTIONS",
            Method::Trace => "TRACE",
        }
    }

    pub(crate) fn to_reqwest(self) -> reqwest::Method {
        match self {
            Method::Get => reqwest::Method::GET,
            Method::Post => reqwest::Method::POST,
            Method::Put => reqwest::Method::PUT,
            Method::Delete => reqwest::Method::DELETE,
            Method::Patch => reqwest::Method::PATCH,
            Method::Head => reqwest::Method::HEAD,
            Method::Options => reqwest::Method::OPTIONS,
            Method::Trace => reqwest::Method::TRACE,
        }
    }

    /// Whether repeating the request is harmless (RFC 9110 idempotent methods).
    pub fn is_idempotent(self) -> bool {
        !matches!(self, Method::Post | Method::Patch)
    }
}

/// How an operation's success response is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseKind {
    /// Buffered and decoded as JSON.
    Json,
    /// No body expected (one that says `success: false` still fails).
    Empty,
    /// Streamed to the caller as a [`Download`](crate::Download).
    Binary,
    /// A 3xx whose `Location` is returned, not followed.
    Redirect,
}

/// What the generated code knows about one operation; one `static` each.
#[derive(Debug)]
pub struct Operation {
    /// The spec's `operationId`.
    pub id: &'static str,
    /// The HTTP method.
    pub method: Method,
    /// Path template relative to the base URL (`/api/{projectId}/jobs`).
    pub path: &'static str,
    /// Alternatives of security scheme indices; empty: no credentials.
    pub security: &'static [&'static [usize]],
    /// How a success answer is read.
    pub response: ResponseKind,
    /// The service (host) the operation belongs to.
    pub service: &'static Service,
}

/// One HTTP service the client talks to (the Studio API, the ingestion service): where it
/// is, and how its credentials travel. Generated from `spec/services.toml` and each spec.
#[derive(Debug)]
pub struct Service {
    /// Its short name (`studio`, `ingestion`), as [`ClientBuilder::service_url`](crate::ClientBuilder::service_url) takes it.
    pub name: &'static str,
    /// Its position among the crate's services.
    #[doc(hidden)]
    pub index: usize,
    /// The URL requests go to unless the client is told another one.
    pub default_base_url: &'static str,
    /// The environment variable [`Client::from_env`](crate::Client::from_env) reads its URL from.
    pub endpoint_env: Option<&'static str>,
    /// The host's first label under `EI_HOST` (`ingestion` -> `ingestion.edgeimpulse.com`).
    #[doc(hidden)]
    pub subdomain: &'static str,
    /// The port of a local deployment (`EI_HOST=localhost`).
    #[doc(hidden)]
    pub local_port: u16,
    /// The API's path below the host (`/v1`), empty for none.
    #[doc(hidden)]
    pub base_path: &'static str,
    /// Its security schemes; operations refer to them by index.
    #[doc(hidden)]
    pub schemes: &'static [crate::auth::SecurityScheme],
    /// What an operation without its own `security` accepts.
    #[doc(hidden)]
    pub default_security: &'static [&'static [usize]],
    /// Answer properties whose values are secrets.
    #[doc(hidden)]
    pub secret_properties: &'static [&'static str],
}

/// A request body in one of the content types an operation accepts (the data acquisition
/// format as JSON or CBOR): the bytes as they are sent, and what they are.
#[derive(Debug, Clone)]
pub struct TypedBody {
    content_type: Cow<'static, str>,
    data: Bytes,
}

impl TypedBody {
    /// `data` sent with the `Content-Type` `content_type` (`application/cbor`).
    pub fn new(content_type: impl Into<Cow<'static, str>>, data: impl Into<Bytes>) -> Self {
        TypedBody { content_type: content_type.into(), data: data.into() }
    }

    /// JSON text (`application/json`).
    pub fn json(data: impl Into<Bytes>) -> Self {
        Self::new("application/json", data)
    }

    /// CBOR (`application/cbor`).
    pub fn cbor(data: impl Into<Bytes>) -> Self {
        Self::new("application/cbor", data)
    }
}

/// The body of a request, kept so that it can be sent again on a retry.
#[derive(Debug, Clone)]
pub(crate) enum Payload {
    None,
    Json(Bytes),
    Multipart(MultipartForm),
    Raw { content_type: Cow<'static, str>, data: Bytes },
}

/// The type-independent part of a request.
#[derive(Debug)]
pub(crate) struct Prepared {
    pub operation: &'static Operation,
    pub method: Method,
    pub path: String,
    pub query: Vec<(Cow<'static, str>, String)>,
    pub headers: Vec<(Cow<'static, str>, String)>,
    pub cookies: Vec<(Cow<'static, str>, String)>,
    pub payload: Payload,
    /// Replaces the client's [`ClientBuilder::timeout`](crate::ClientBuilder::timeout)
    /// (`Some(None)`: no limit for this request).
    pub timeout: Option<Option<Duration>>,
    /// Replaces the client's retry policy for this request.
    pub retry: Option<RetryPolicy>,
    /// Retry even though the method is not idempotent (the caller knows repeating is safe).
    pub retry_non_idempotent: bool,
    /// A problem found while building; reported when the request is sent.
    pub error: Option<Error>,
}

impl Prepared {
    /// A copy to send once more with other query values (the next page). A problem found
    /// while building stays with the original, which is sent first and reports it.
    pub(crate) fn resend_copy(&self) -> Prepared {
        Prepared {
            operation: self.operation,
            method: self.method,
            path: self.path.clone(),
            query: self.query.clone(),
            headers: self.headers.clone(),
            cookies: self.cookies.clone(),
            payload: self.payload.clone(),
            timeout: self.timeout,
            retry: self.retry.clone(),
            retry_non_idempotent: self.retry_non_idempotent,
            error: None,
        }
    }

    /// The JSON body this request sends (empty for none): the redaction step looks for
    /// secret values in it (a login's password), which a server may echo.
    pub(crate) fn sent_json(&self) -> &[u8] {
        match &self.payload {
            Payload::Json(bytes) => bytes,
            _ => &[],
        }
    }
}

/// Everything about a request except what its answer decodes into: the builder methods
/// live here, compiled once rather than once per response type.
///
/// A [`Request`] dereferences to it, so `request.header(..)` works on either.
pub struct RequestParts<'c> {
    client: &'c Client,
    /// Boxed from the start: the request moves from the generated call to its future, and
    /// a pointer moves for free where the request itself is over 300 bytes.
    pub(crate) prepared: Box<Prepared>,
}

impl std::fmt::Debug for RequestParts<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Request")
            .field("operation", &self.prepared.operation.id)
            .field("method", &self.prepared.method)
            .field("path", &self.prepared.path)
            .finish_non_exhaustive()
    }
}

impl<'c> RequestParts<'c> {
    /// A request to `operation`, its path template filled with `path_args` in order.
    #[doc(hidden)]
    pub fn new(client: &'c Client, operation: &'static Operation, path_args: &[&dyn ToParam]) -> Self {
        match fill_path(operation.path, path_args) {
            Ok(path) => Self::with_path(client, operation, operation.method, path),
            Err(message) => {
                let mut request = Self::with_path(client, operation, operation.method, operation.path.to_owned());
                request.prepared.error = Some(Error::InvalidRequest { operation: operation.id, message });
                request
            }
        }
    }

    pub(crate) fn with_path(client: &'c Client, operation: &'static Operation, method: Method, path: String) -> Self {
        RequestParts {
            client,
            prepared: Box::new(Prepared {
                operation,
                method,
                path,
                query: Vec::new(),
                headers: Vec::new(),
                cookies: Vec::new(),
                payload: Payload::None,
                timeout: None,
                retry: None,
                retry_non_idempotent: false,
                error: None,
            }),
        }
    }

    /// Appends a query parameter (repeated names are allowed).
    pub fn query(&mut self, name: impl Into<Cow<'static, str>>, value: &dyn ToParam) -> &mut Self {
        self.prepared.query.push((name.into(), value.to_param()));
        self
    }

    /// Sets a query parameter, replacing earlier values of the same name.
    pub fn set_query(&mut self, name: &'static str, value: &dyn ToParam) -> &mut Self {
        self.prepared.query.retain(|(n, _)| n != name);
        self.query(name, value)
    }

    /// Sets a list-valued query parameter as repeated `name=value` pairs.
    pub fn query_each<V: ToParam>(&mut self, name: &'static str, values: &[V]) -> &mut Self {
        self.prepared.query.retain(|(n, _)| n != name);
        for value in values {
            self.query(name, value);
        }
        self
    }

    /// Adds a header to this request only.
    pub fn header(&mut self, name: impl Into<Cow<'static, str>>, value: impl Into<String>) -> &mut Self {
        self.prepared.headers.push((name.into(), value.into()));
        self
    }

    /// Adds a header parameter of the operation (generated code).
    #[doc(hidden)]
    pub fn header_param(&mut self, name: &'static str, value: &dyn ToParam) -> &mut Self {
        self.header(name, value.to_param())
    }

    /// Adds a header parameter of the operation, percent-encoded as JavaScript's
    /// `encodeURIComponent` does: the convention of the services whose spec marks it
    /// `x-url-encode` (the ingestion service's `x-label`), which lets it carry any text.
    #[doc(hidden)]
    pub fn header_param_encoded(&mut self, name: &'static str, value: &dyn ToParam) -> &mut Self {
        // encodeURIComponent keeps ASCII letters, digits and `-_.!~*'()`.
        const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
            .remove(b'-')
            .remove(b'_')
            .remove(b'.')
            .remove(b'!')
            .remove(b'~')
            .remove(b'*')
            .remove(b'\'')
            .remove(b'(')
            .remove(b')');
        let encoded = percent_encoding::utf8_percent_encode(&value.to_param(), KEEP).to_string();
        self.header(name, encoded)
    }

    /// Adds a cookie parameter of the operation (generated code).
    #[doc(hidden)]
    pub fn cookie_param(&mut self, name: &'static str, value: &dyn ToParam) -> &mut Self {
        self.prepared.cookies.push((name.into(), value.to_param()));
        self
    }

    /// Replaces the client's [`timeout`](crate::ClientBuilder::timeout) for this request: the
    /// limit for each attempt's answer (`None`: no limit).
    pub fn timeout(&mut self, timeout: impl Into<Option<Duration>>) -> &mut Self {
        self.prepared.timeout = Some(timeout.into());
        self
    }

    /// Makes the request fail with [`Error::InvalidRequest`] when it is sent.
    pub(crate) fn fail(&mut self, message: String) {
        self.prepared.error = Some(Error::InvalidRequest { operation: self.prepared.operation.id, message });
    }

    /// Replaces the client's [`RetryPolicy`] for this request (`RetryPolicy::disabled()` to
    /// send it exactly once).
    pub fn retry(&mut self, policy: RetryPolicy) -> &mut Self {
        self.prepared.retry = Some(policy);
        self
    }

    /// Allows retrying this request although its method (`POST`, `PATCH`) is not idempotent.
    /// Only for requests you know are safe to repeat: a retried `POST` that had reached the
    /// server before the connection broke may run twice (two jobs, two samples).
    pub fn retry_non_idempotent(&mut self, allow: bool) -> &mut Self {
        self.prepared.retry_non_idempotent = allow;
        self
    }

    /// Sets a JSON body.
    pub fn json<B: serde::Serialize + ?Sized>(&mut self, body: &B) -> &mut Self {
        self.json_bytes(serde_json::to_vec(body))
    }

    /// The body-type-independent half of [`RequestParts::json`].
    fn json_bytes(&mut self, bytes: serde_json::Result<Vec<u8>>) -> &mut Self {
        match bytes {
            Ok(bytes) => self.prepared.payload = Payload::Json(bytes.into()),
            Err(e) => {
                let operation = self.prepared.operation.id;
                self.prepared.error = Some(Error::InvalidRequest { operation, message: format!("body does not serialize: {e}") });
            }
        }
        self
    }

    /// Sets a `multipart/form-data` body.
    pub fn multipart(&mut self, body: &dyn ToMultipart) -> &mut Self {
        let mut form = MultipartForm::default();
        body.to_multipart(&mut form);
        self.prepared.payload = Payload::Multipart(form);
        self
    }

    /// Sets a body sent as it is.
    pub fn raw_body(&mut self, content_type: impl Into<Cow<'static, str>>, data: Bytes) -> &mut Self {
        self.prepared.payload = Payload::Raw { content_type: content_type.into(), data };
        self
    }

    /// Sets a body in one of the content types the operation accepts (generated code); any
    /// other fails the request when it is sent.
    #[doc(hidden)]
    pub fn typed_body(&mut self, accepted: &[&str], body: TypedBody) -> &mut Self {
        let essence = body.content_type.split(';').next().unwrap_or("").trim();
        if accepted.iter().any(|a| a.eq_ignore_ascii_case(essence)) {
            return self.raw_body(body.content_type, body.data);
        }
        let message = format!("content type `{}` is not one this operation accepts ({})", body.content_type, accepted.join(", "));
        self.fail(message);
        self
    }

    /// The operation this request calls.
    pub fn operation(&self) -> &'static Operation {
        self.prepared.operation
    }
}

/// A request to one operation, ready to be sent with `.await`.
///
/// `T` is what a success decodes into. The builder methods come from [`RequestParts`].
#[must_use = "a request does nothing until it is awaited"]
pub struct Request<'c, T> {
    parts: RequestParts<'c>,
    output: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for Request<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.parts.fmt(f)
    }
}

impl<'c, T> From<RequestParts<'c>> for Request<'c, T> {
    fn from(parts: RequestParts<'c>) -> Self {
        Request { parts, output: PhantomData }
    }
}

impl<'c, T> std::ops::Deref for Request<'c, T> {
    type Target = RequestParts<'c>;
    fn deref(&self) -> &RequestParts<'c> {
        &self.parts
    }
}

impl<'c, T> std::ops::DerefMut for Request<'c, T> {
    fn deref_mut(&mut self) -> &mut RequestParts<'c> {
        &mut self.parts
    }
}

impl<'c, T> Request<'c, T> {
    /// The client and the type-independent request, for drivers that send it several times.
    #[allow(dead_code)] // used by paging, which no compiled API group may need
    pub(crate) fn into_prepared(self) -> (&'c Client, Prepared) {
        (self.parts.client, *self.parts.prepared)
    }

    pub(crate) fn with_path(client: &'c Client, operation: &'static Operation, method: Method, path: String) -> Self {
        RequestParts::with_path(client, operation, method, path).into()
    }
}

impl<'c, T: FromResponse> Request<'c, T> {
    /// Sends the request (same as `.await`).
    pub fn send(self) -> ResponseFuture<'c, T> {
        self.into_future()
    }
}

impl<'c, T: FromResponse> IntoFuture for Request<'c, T> {
    type Output = Result<T>;
    type IntoFuture = ResponseFuture<'c, T>;

    fn into_future(self) -> Self::IntoFuture {
        let client = self.parts.client;
        // A reference count, not a copy.
        let sent = match &self.parts.prepared.payload {
            Payload::Json(bytes) => bytes.clone(),
            _ => Bytes::new(),
        };
        ResponseFuture { inner: client.execute(self.parts.prepared), client, sent, output: PhantomData }
    }
}

/// A request on its way: resolves to the decoded answer.
#[must_use = "futures do nothing unless awaited"]
pub struct ResponseFuture<'c, T> {
    inner: Pin<Box<dyn Future<Output = Result<RawResponse>> + Send + 'c>>,
    /// For the redaction step every error of the call goes through ([`Client::finish`]).
    client: &'c Client,
    /// The JSON body sent, whose secret values the redaction step takes out too.
    sent: Bytes,
    output: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for ResponseFuture<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponseFuture")
    }
}

impl<T: FromResponse> Future for ResponseFuture<'_, T> {
    type Output = Result<T>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        this.inner.as_mut().poll(cx).map(|raw| this.client.finish(raw, &this.sent))
    }
}

/// A success answer, before it becomes the operation's result type.
#[doc(hidden)]
#[derive(Debug)]
pub struct RawResponse {
    pub(crate) operation: &'static Operation,
    pub(crate) status: u16,
    pub(crate) body: RawBody,
}

#[derive(Debug)]
pub(crate) enum RawBody {
    Bytes(Bytes),
    /// Boxed: a download holds the whole response, and every call's result has room for it.
    Download(Box<crate::Download>),
    Redirect(String),
}

impl RawResponse {
    /// A buffered success answer, as the client hands it to [`FromResponse`]: for measuring
    /// and testing the decode without a server.
    #[doc(hidden)]
    pub fn buffered(operation: &'static Operation, status: u16, body: Bytes) -> Self {
        RawResponse { operation, status, body: RawBody::Bytes(body) }
    }

    /// The body, when it was read into memory (a reference count, not a copy).
    pub(crate) fn buffered_body(&self) -> Bytes {
        match &self.body {
            RawBody::Bytes(bytes) => bytes.clone(),
            RawBody::Download(_) | RawBody::Redirect(_) => Bytes::new(),
        }
    }

    fn into_bytes(self) -> Result<(&'static str, u16, Bytes)> {
        match self.body {
            RawBody::Bytes(bytes) => Ok((self.operation.id, self.status, bytes)),
            _ => Err(Error::InvalidRequest {
                operation: self.operation.id,
                message: "the response type does not fit this operation's response kind".into(),
            }),
        }
    }
}

/// Lets a type say that a decoded body is the API's failure envelope
/// (`{"success": false, "error": "..."}`). Generated types implement it.
pub trait Envelope {
    /// The API's failure message, if this value reports a failure.
    fn api_error(&self) -> Option<&str> {
        None
    }
}

macro_rules! no_envelope {
    ($($t:ty),*) => { $(impl Envelope for $t {})* };
}

no_envelope!(bool, i32, i64, f64, String, crate::DateTime, crate::Date, serde_json::Map<String, serde_json::Value>);

impl<T> Envelope for Vec<T> {}
impl<T> Envelope for std::collections::BTreeMap<String, T> {}
impl<T> Envelope for std::collections::HashMap<String, T> {}

impl<T: Envelope> Envelope for Box<T> {
    fn api_error(&self) -> Option<&str> {
        (**self).api_error()
    }
}

impl Envelope for serde_json::Value {
    fn api_error(&self) -> Option<&str> {
        (self.get("success")? == &serde_json::Value::Bool(false))
            .then(|| self.get("error").and_then(|e| e.as_str()).unwrap_or(""))
    }
}

/// Turns a success answer into an operation's result type.
pub trait FromResponse: Sized {
    /// How a request whose operation is not known in advance ([`Client::request`]) reads
    /// the answer when it decodes into this type.
    #[doc(hidden)]
    const RESPONSE_KIND: ResponseKind = ResponseKind::Json;

    /// Reads a success answer into this type; fails as the operation's call fails.
    #[doc(hidden)]
    fn from_response(raw: RawResponse) -> Result<Self>;
}

impl<T: DeserializeOwned + Envelope> FromResponse for T {
    fn from_response(raw: RawResponse) -> Result<Self> {
        let (operation, status, bytes) = raw.into_bytes()?;
        match decode_json::<T>(&bytes) {
            Ok(value) => match value.api_error() {
                // An empty message may be an `error` the type could not hold as text (an
                // object): the body says more.
                Some("") => Err(envelope_failure(operation, status, &bytes).unwrap_or(Error::Api { operation, status, message: String::new() })),
                Some(message) => Err(Error::Api { operation, status, message: message.to_owned() }),
                None => Ok(value),
            },
            Err(error) => Err(decode_failure::<T>(operation, status, &bytes, error)),
        }
    }
}

/// `serde_json::from_slice`, faster. Reading bytes, serde_json checks the UTF-8 of every
/// string on its own, which costs a list answer of many short strings about a fifth of its
/// decode time; one check of the whole body, then reading it as `&str`, gives the same
/// result. A body that is not UTF-8 goes through `from_slice`, which reports where (or
/// accepts it, when the bad bytes are in a value the type skips).
fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> serde_json::Result<T> {
    match std::str::from_utf8(bytes) {
        Ok(text) => serde_json::from_str(text),
        Err(_) => serde_json::from_slice(bytes),
    }
}

/// A body that does not decode is either the failure envelope (which lacks the fields of
/// the success type) or a real mismatch, reported with the JSON path that failed.
#[cold]
fn decode_failure<T: DeserializeOwned>(operation: &'static str, status: u16, bytes: &[u8], error: serde_json::Error) -> Error {
    let value = serde_json::from_slice::<serde_json::Value>(bytes).ok();
    if let Some(message) = value.as_ref().and_then(envelope_message) {
        return Error::Api { operation, status, message };
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let (path, found) = match serde_path_to_error::deserialize::<_, T>(&mut deserializer) {
        Err(e) => (e.path().to_string(), value.as_ref().and_then(|v| value_at(v, e.path()))),
        Ok(_) => (".".to_string(), value.as_ref()),
    };
    let message = in_plain_words(bytes, found, &error.to_string()).unwrap_or_else(|| error.to_string());
    Error::Decode { operation, path, message, body: body_text(bytes) }
}

/// The start of a body as text, for an error: the redaction step cuts it to an excerpt once
/// the secrets are out.
pub(crate) fn body_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(&bytes[..bytes.len().min(BODY_KEPT)]).into_owned()
}

/// The value a decode failed at, following the path serde_path_to_error recorded.
fn value_at<'v>(root: &'v serde_json::Value, path: &serde_path_to_error::Path) -> Option<&'v serde_json::Value> {
    use serde_path_to_error::Segment;
    path.iter().try_fold(root, |value, segment| match segment {
        Segment::Seq { index } => value.get(index),
        Segment::Map { key } => value.get(key),
        Segment::Enum { .. } | Segment::Unknown => Some(value),
    })
}

/// Serde's wording for an empty body, `null`, or an array where an object belongs ("invalid
/// length 0, expected struct X with 3 elements") puts people on the wrong track: say what
/// was found instead. `None` where serde's message is clear.
fn in_plain_words(bytes: &[u8], found: Option<&serde_json::Value>, serde_message: &str) -> Option<String> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Some("the answer is empty, where a JSON value was expected".to_owned());
    }
    // "invalid type: null, expected struct Job at line 1 column 4" -> "struct Job".
    let expected = serde_message.split_once("expected ").map(|(_, rest)| {
        let rest = rest.split(" at line ").next().unwrap_or(rest);
        rest.split(" with ").next().unwrap_or(rest).to_owned()
    });
    let expected = expected.as_deref().unwrap_or("another value");
    // The generated models say "a JSON object (`X`)"; serde's derives say "struct X".
    let object = expected.starts_with("a JSON object");
    let wants_object = object || expected.starts_with("struct ") || expected.contains("map");
    match found? {
        serde_json::Value::Null => Some(format!("found `null` where {expected} was expected")),
        serde_json::Value::Array(items) if object => {
            Some(format!("found a JSON array ({} items) where {expected} was expected", items.len()))
        }
        serde_json::Value::Array(items) if wants_object => {
            Some(format!("found a JSON array ({} items) where a JSON object ({expected}) was expected", items.len()))
        }
        _ => None,
    }
}

/// The failure envelope in a body, as an error; `None` when the body is not one.
fn envelope_failure(operation: &'static str, status: u16, bytes: &[u8]) -> Option<Error> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    envelope_message(&value).map(|message| Error::Api { operation, status, message })
}

/// The failure envelope in a JSON answer to a download, which may be the user's own file:
/// only a body that is nothing but the envelope (`success`, `error`) counts as one.
pub(crate) fn download_envelope_failure(operation: &'static str, status: u16, bytes: &[u8]) -> Option<Error> {
    let value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    let only_envelope = value.as_object()?.keys().all(|key| key == "success" || key == "error");
    only_envelope.then(|| envelope_failure(operation, status, bytes)).flatten()
}

impl FromResponse for () {
    const RESPONSE_KIND: ResponseKind = ResponseKind::Empty;

    fn from_response(raw: RawResponse) -> Result<Self> {
        let (operation, status, bytes) = raw.into_bytes()?;
        match envelope_failure(operation, status, &bytes) {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

impl FromResponse for crate::Download {
    const RESPONSE_KIND: ResponseKind = ResponseKind::Binary;

    fn from_response(raw: RawResponse) -> Result<Self> {
        match raw.body {
            RawBody::Download(download) => Ok(*download),
            RawBody::Bytes(_) | RawBody::Redirect(_) => Err(Error::InvalidRequest {
                operation: raw.operation.id,
                message: "a download was asked for, but the operation's answer is not read as one".into(),
            }),
        }
    }
}

impl FromResponse for crate::Redirect {
    const RESPONSE_KIND: ResponseKind = ResponseKind::Redirect;

    fn from_response(raw: RawResponse) -> Result<Self> {
        let (operation, status) = (raw.operation.id, raw.status);
        match raw.body {
            RawBody::Redirect(location) => Ok(crate::Redirect { status, location }),
            // A success instead of a redirect: the API's failure envelope, or a mistake.
            RawBody::Bytes(bytes) => Err(envelope_failure(operation, status, &bytes).unwrap_or_else(|| Error::Status {
                operation,
                status,
                messages: vec![format!("expected a redirect, got HTTP {status}")],
                body: body_text(&bytes),
            })),
            RawBody::Download(_) => Err(Error::Status { operation, status, messages: vec!["expected a redirect".into()], body: String::new() }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::decode_json;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Named {
        name: String,
    }

    #[test]
    fn decodes_like_from_slice() {
        let body = r#"{"name":"Zürich \"東京\" \ud83d\ude00","extra":[1,{"a":null}]}"#.as_bytes();
        let decoded: Named = decode_json(body).unwrap();
        assert_eq!(decoded, serde_json::from_slice::<Named>(body).unwrap());
        assert_eq!(decoded.name, "Zürich \"東京\" \u{1f600}");
    }

    #[test]
    fn invalid_utf8_in_a_field_fails_where_from_slice_fails() {
        let body = b"{\"name\":\"bad \xff byte\"}";
        let ours = decode_json::<Named>(body).unwrap_err().to_string();
        let theirs = serde_json::from_slice::<Named>(body).unwrap_err().to_string();
        assert_eq!(ours, theirs);
        assert!(ours.contains("line 1"), "{ours}");
    }

    #[test]
    fn invalid_utf8_in_a_skipped_value_is_accepted_as_before() {
        let body = b"{\"name\":\"ok\",\"unknown\":\"bad \xff byte\"}";
        assert!(serde_json::from_slice::<Named>(body).is_ok(), "serde_json skips the value unchecked");
        assert_eq!(decode_json::<Named>(body).unwrap(), Named { name: "ok".into() });
    }
}
