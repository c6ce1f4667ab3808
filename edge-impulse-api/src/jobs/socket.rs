//! A small Socket.IO client over Engine.IO protocol 3 (the framing Studio's live job output
//! uses), enough to follow jobs: connect, handshake, `hello`, ping, typed job events, close.
//!
//! Engine.IO 3 text frames start with a packet type: `0` open (JSON with `pingInterval` and
//! `pingTimeout`), `1` close, `2` ping (sent by the client in v3), `3` pong, `4` message,
//! `5` upgrade, `6` noop. Socket.IO packets ride in messages: `40` connect, `41` disconnect,
//! `42["event", payload]` event, `44{...}` error.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

use crate::transport::auth::Secret;

/// The Engine.IO protocol version spoken (`EIO=3`).
pub(crate) const ENGINE_IO_VERSION: u8 = 3;

/// The `hello` version the client understands.
const HELLO_VERSION: i64 = 1;

/// The longest answer head to the WebSocket upgrade that is read.
const MAX_UPGRADE_ANSWER: usize = 16 * 1024;

/// The largest frame accepted: log chunks are small; anything this big is not one.
const MAX_FRAME: usize = 4 * 1024 * 1024;

/// The most job events kept while waiting for `hello`. A server that sends more fails the
/// connection (which is then replaced, and the lines fetched from the log endpoint): the
/// buffer never grows past this, and nothing in it is dropped silently.
pub(crate) const MAX_EARLY_EVENTS: usize = 256;

/// `at + duration`, or a point decades away when that does not fit: every configurable
/// duration may be [`Duration::MAX`] ("never") without a panic.
pub(crate) fn later(at: Instant, duration: Duration) -> Instant {
    // tokio's own timers use 30 years for "never".
    const FAR: Duration = Duration::from_secs(86_400 * 365 * 30);
    at.checked_add(duration.min(FAR)).or_else(|| at.checked_add(Duration::from_secs(86_400))).unwrap_or(at)
}

/// Where the socket lives and the token that opens it. `Debug` shows the URL with the token
/// replaced, so that it can be traced.
#[derive(Clone)]
pub(crate) struct SocketUrl {
    secure: bool,
    host: String,
    port: u16,
    token: Secret,
}

impl SocketUrl {
    /// The socket of `endpoint` (`http(s)://` or `ws(s)://`, path ignored: Socket.IO lives
    /// at `/socket.io/` of the host).
    pub(crate) fn new(endpoint: &str, token: Secret) -> Result<SocketUrl, SocketError> {
        let url = reqwest::Url::parse(endpoint).map_err(|e| SocketError::refused(format!("socket endpoint `{endpoint}`: {e}")))?;
        let secure = match url.scheme() {
            "https" | "wss" => true,
            "http" | "ws" => false,
            other => return Err(SocketError::refused(format!("socket endpoint `{endpoint}`: scheme `{other}` is not http(s) or ws(s)"))),
        };
        // An IPv6 literal without its brackets: they belong in the `Host` header, not in
        // the address connected to (`host_str` keeps them).
        let host = url.host_str().ok_or_else(|| SocketError::refused(format!("socket endpoint `{endpoint}` has no host")))?;
        let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host).to_owned();
        let port = url.port().unwrap_or(if secure { 443 } else { 80 });
        Ok(SocketUrl { secure, host, port, token })
    }

    fn path_and_query(&self, token: &str) -> String {
        // A query value: all but the unreserved characters escaped.
        const QUERY_VALUE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'.').remove(b'_').remove(b'~');
        let token = percent_encoding::utf8_percent_encode(token, QUERY_VALUE);
        format!("/socket.io/?token={token}&EIO={ENGINE_IO_VERSION}&transport=websocket")
    }

    /// The `Host` header value: the port only when it is not the scheme's default.
    fn host_header(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        match (self.secure, self.port) {
            (true, 443) | (false, 80) => host,
            (_, port) => format!("{host}:{port}"),
        }
    }

    /// The proxy the HTTP client would use for this host (from `HTTPS_PROXY`, `HTTP_PROXY`,
    /// `ALL_PROXY` and `NO_PROXY`, or the system's settings, read as reqwest reads them),
    /// shown without its credentials; `None` when the connection goes direct.
    pub(crate) fn proxy(&self) -> Option<String> {
        let scheme = if self.secure { "https" } else { "http" };
        let uri: http::Uri = format!("{scheme}://{}/", self.host_header()).parse().ok()?;
        let intercept = hyper_util::client::proxy::matcher::Matcher::from_system().intercept(&uri)?;
        let proxy = intercept.uri();
        Some(format!("{}://{}", proxy.scheme_str().unwrap_or("http"), proxy.host().unwrap_or_default()) + &proxy.port_u16().map(|p| format!(":{p}")).unwrap_or_default())
    }

    /// Removes the token from a text that may quote it (a server's error message).
    fn redact(&self, text: &str) -> String {
        match self.token.expose() {
            "" => text.to_owned(),
            token => text.replace(token, "<redacted>"),
        }
    }
}

impl fmt::Debug for SocketUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.secure { "wss" } else { "ws" };
        write!(f, "{scheme}://{}{}", self.host_header(), self.path_and_query("<redacted>").replace("%3Credacted%3E", "<redacted>"))
    }
}

/// Why the socket failed. `permanent` failures (the server refused the token, does not speak
/// the protocol) are not worth a reconnect; the others (network, stalls, closes, malformed
/// frames) are.
#[derive(Debug, Clone)]
pub(crate) struct SocketError {
    pub(crate) permanent: bool,
    pub(crate) message: String,
}

impl SocketError {
    pub(crate) fn refused(message: impl Into<String>) -> SocketError {
        SocketError { permanent: true, message: message.into() }
    }

    pub(crate) fn dropped(message: impl Into<String>) -> SocketError {
        SocketError { permanent: false, message: message.into() }
    }
}

impl fmt::Display for SocketError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// The events the client understands; everything else is [`SocketEvent::Other`].
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SocketEvent {
    /// `hello` with the server's protocol version.
    Hello { version: i64 },
    /// `job-data-<id>`: output of a job.
    JobData { job_id: i64, data: String },
    /// `job-finished-<id>`, with `success` when the payload says it.
    JobFinished { job_id: i64, success: Option<bool> },
    /// An event of another name (other jobs' progress, notifications).
    Other,
}

/// Timings of a connection.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Timings {
    /// Time between two pings from the client.
    pub(crate) ping_interval: Duration,
    /// The longest silence (no frame at all) tolerated after a ping.
    pub(crate) pong_timeout: Duration,
    /// The longest time from the first byte of the connection to the `hello` event.
    pub(crate) hello_timeout: Duration,
}

trait Transport: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Transport for T {}

/// An open Socket.IO connection that said `hello`.
pub(crate) struct Connection {
    ws: WebSocketStream<Box<dyn Transport>>,
    url: SocketUrl,
    timings: Timings,
    next_ping: Instant,
    last_heard: Instant,
    /// Events that arrived before `hello`, handed out first.
    early: std::collections::VecDeque<SocketEvent>,
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection").field("url", &self.url).field("timings", &self.timings).finish_non_exhaustive()
    }
}

impl Connection {
    /// Connects, upgrades to WebSocket, and waits for Engine.IO's open packet and the
    /// server's `hello`, all within `timings.hello_timeout`.
    pub(crate) async fn open(url: SocketUrl, timings: Timings) -> Result<Connection, SocketError> {
        let deadline = later(Instant::now(), timings.hello_timeout);
        match tokio::time::timeout_at(deadline, Connection::handshake(url, timings)).await {
            Ok(result) => result,
            Err(_) => Err(SocketError::dropped(format!("the socket did not say hello within {:?}", timings.hello_timeout))),
        }
    }

    async fn handshake(url: SocketUrl, timings: Timings) -> Result<Connection, SocketError> {
        let tcp = TcpStream::connect((url.host.as_str(), url.port))
            .await
            .map_err(|e| SocketError::dropped(format!("connecting to {}:{}: {e}", url.host, url.port)))?;
        let _ = tcp.set_nodelay(true);
        let mut stream: Box<dyn Transport> = match url.secure {
            true => Box::new(tls(tcp, &url.host).await?),
            false => Box::new(tcp),
        };
        let leftover = upgrade(&mut stream, &url).await?;
        let config = WebSocketConfig::default().max_message_size(Some(MAX_FRAME)).max_frame_size(Some(MAX_FRAME));
        let ws = WebSocketStream::from_partially_read(stream, leftover, Role::Client, Some(config)).await;
        let now = Instant::now();
        let mut connection = Connection { ws, url, timings, next_ping: later(now, timings.ping_interval), last_heard: now, early: Default::default() };
        connection.await_hello().await?;
        Ok(connection)
    }

    /// Reads until `hello`; the open packet's own ping settings are not needed (v3 clients
    /// ping on their own schedule), job events that come first are kept.
    async fn await_hello(&mut self) -> Result<(), SocketError> {
        loop {
            match self.read_event().await? {
                SocketEvent::Hello { version: HELLO_VERSION } => return Ok(()),
                SocketEvent::Hello { version } => {
                    return Err(SocketError::refused(format!("the socket speaks hello version {version}, this client version {HELLO_VERSION}")))
                }
                SocketEvent::Other => {}
                _ if self.early.len() == MAX_EARLY_EVENTS => {
                    return Err(SocketError::dropped(format!("the socket sent more than {MAX_EARLY_EVENTS} job events before hello")))
                }
                event => self.early.push_back(event),
            }
        }
    }

    /// The next event, pinging on the way. Ends with an error when the server closes, goes
    /// silent past the pong timeout, or sends what is not Engine.IO 3.
    pub(crate) async fn next_event(&mut self) -> Result<SocketEvent, SocketError> {
        if let Some(event) = self.early.pop_front() {
            return Ok(event);
        }
        self.read_event().await
    }

    /// Closes the connection politely (Engine.IO close, then WebSocket close), best effort.
    pub(crate) async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(1), async {
            let _ = self.ws.send(Message::text("1")).await;
            let _ = self.ws.close(None).await;
        })
        .await;
    }

    async fn read_event(&mut self) -> Result<SocketEvent, SocketError> {
        loop {
            let silent_until = later(later(self.last_heard, self.timings.ping_interval), self.timings.pong_timeout);
            let wake = self.next_ping.min(silent_until);
            let frame = match tokio::time::timeout_at(wake, self.ws.next()).await {
                Ok(frame) => frame,
                Err(_) if Instant::now() >= silent_until => {
                    return Err(SocketError::dropped(format!("the socket went silent (no answer to ping within {:?})", self.timings.pong_timeout)))
                }
                Err(_) => {
                    self.send("2").await?;
                    self.next_ping = later(Instant::now(), self.timings.ping_interval);
                    continue;
                }
            };
            self.last_heard = Instant::now();
            let text = match frame {
                None => return Err(SocketError::dropped("the server closed the connection")),
                Some(Err(error)) => return Err(SocketError::dropped(format!("the connection failed: {}", self.url.redact(&error.to_string())))),
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(_))) => return Err(SocketError::dropped("the server closed the connection")),
                // Binary attachments, WebSocket pings (answered by tungstenite): not events.
                Some(Ok(_)) => continue,
            };
            match parse_engine_packet(text.as_str()).map_err(|e| SocketError::dropped(self.url.redact(&e)))? {
                EnginePacket::Ping => self.send("3").await?,
                EnginePacket::Close => return Err(SocketError::dropped("the server closed the Engine.IO session")),
                EnginePacket::Quiet => {}
                EnginePacket::Message(message) => match parse_socket_packet(message).map_err(|e| SocketError::dropped(self.url.redact(&e)))? {
                    SocketPacket::Event(event) => return Ok(event),
                    SocketPacket::Quiet => {}
                    SocketPacket::Disconnect => return Err(SocketError::dropped("the server disconnected the socket")),
                    SocketPacket::Error(message) => return Err(SocketError::refused(format!("the socket refused the connection: {}", self.url.redact(&message)))),
                },
            }
        }
    }

    async fn send(&mut self, text: &'static str) -> Result<(), SocketError> {
        self.ws.send(Message::text(text)).await.map_err(|e| SocketError::dropped(format!("sending to the socket failed: {}", self.url.redact(&e.to_string()))))
    }
}

/// TLS with the same stack and roots as the HTTP client (rustls with ring, webpki roots).
async fn tls(tcp: TcpStream, host: &str) -> Result<tokio_rustls::client::TlsStream<TcpStream>, SocketError> {
    static CONFIG: std::sync::OnceLock<Result<Arc<rustls::ClientConfig>, String>> = std::sync::OnceLock::new();
    let config = CONFIG
        .get_or_init(|| {
            let roots = rustls::RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
            rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
                .with_safe_default_protocol_versions()
                .map(|builder| Arc::new(builder.with_root_certificates(roots).with_no_client_auth()))
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| SocketError::refused(format!("TLS configuration: {e}")))?;
    let name = rustls::pki_types::ServerName::try_from(host.to_owned()).map_err(|e| SocketError::refused(format!("TLS server name `{host}`: {e}")))?;
    tokio_rustls::TlsConnector::from(config).connect(name, tcp).await.map_err(|e| SocketError::dropped(format!("TLS with {host}: {e}")))
}

/// Sends the WebSocket upgrade request and checks the answer; returns the bytes read past
/// the answer's head (the first frames). Written here rather than by tungstenite's client
/// handshake, which traces the request line, and with it the token, at TRACE level.
async fn upgrade(stream: &mut Box<dyn Transport>, url: &SocketUrl) -> Result<Vec<u8>, SocketError> {
    use tokio_tungstenite::tungstenite::handshake::{client::generate_key, derive_accept_key};
    let key = generate_key();
    let request = format!(
        "GET {} HTTP/1.1\r\nHost: {}\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\nUser-Agent: edge-impulse-api/{}\r\n\r\n",
        url.path_and_query(url.token.expose()),
        url.host_header(),
        env!("CARGO_PKG_VERSION"),
    );
    let failed = |e: std::io::Error| SocketError::dropped(format!("WebSocket upgrade: {e}"));
    stream.write_all(request.as_bytes()).await.map_err(failed)?;
    stream.flush().await.map_err(failed)?;

    let mut buffer = Vec::with_capacity(1024);
    loop {
        let mut chunk = [0u8; 1024];
        let read = stream.read(&mut chunk).await.map_err(failed)?;
        if read == 0 {
            return Err(SocketError::dropped("WebSocket upgrade: the server closed the connection before answering"));
        }
        buffer.extend_from_slice(&chunk[..read]);
        let mut headers = [httparse::EMPTY_HEADER; 32];
        let mut answer = httparse::Response::new(&mut headers);
        match answer.parse(&buffer) {
            Ok(httparse::Status::Complete(head)) => {
                let status = answer.code.unwrap_or(0);
                if status != 101 {
                    let reason = answer.reason.unwrap_or_default();
                    let message = format!("WebSocket upgrade: the server answered HTTP {status} {reason}");
                    // A server error or a busy server may pass; a refusal will not.
                    return Err(match status {
                        408 | 429 | 500..=599 => SocketError::dropped(message),
                        _ => SocketError::refused(message),
                    });
                }
                let accept = answer.headers.iter().find(|h| h.name.eq_ignore_ascii_case("sec-websocket-accept")).map(|h| h.value);
                if accept != Some(derive_accept_key(key.as_bytes()).as_bytes()) {
                    return Err(SocketError::refused("WebSocket upgrade: the server's Sec-WebSocket-Accept does not match the key"));
                }
                return Ok(buffer.split_off(head));
            }
            Ok(httparse::Status::Partial) if buffer.len() < MAX_UPGRADE_ANSWER => {}
            Ok(httparse::Status::Partial) => return Err(SocketError::refused("WebSocket upgrade: the answer's head is too long")),
            Err(error) => return Err(SocketError::refused(format!("WebSocket upgrade: the answer is not HTTP: {error}"))),
        }
    }
}

#[derive(Debug, PartialEq)]
enum EnginePacket<'a> {
    Ping,
    Close,
    Message(&'a str),
    /// Open, pong, upgrade, noop: nothing to act on.
    Quiet,
}

fn parse_engine_packet(text: &str) -> Result<EnginePacket<'_>, String> {
    let mut chars = text.chars();
    let packet = match chars.next() {
        Some('0' | '3' | '5' | '6') => EnginePacket::Quiet,
        Some('1') => EnginePacket::Close,
        Some('2') => EnginePacket::Ping,
        Some('4') => EnginePacket::Message(chars.as_str()),
        _ => return Err(format!("malformed Engine.IO frame `{}`", crate::error::snippet(text.as_bytes(), 80))),
    };
    Ok(packet)
}

#[derive(Debug, PartialEq)]
enum SocketPacket {
    Event(SocketEvent),
    Disconnect,
    Error(String),
    /// Connect, acks, binary packets, events of other namespaces.
    Quiet,
}

fn parse_socket_packet(text: &str) -> Result<SocketPacket, String> {
    let malformed = || format!("malformed Socket.IO packet `{}`", crate::error::snippet(text.as_bytes(), 80));
    let (kind, rest) = text.split_at_checked(1).ok_or_else(malformed)?;
    // `/namespace,` before the data; only the default namespace carries job events.
    let (namespace, rest) = match rest.strip_prefix('/') {
        Some(named) => match named.split_once(',') {
            Some((name, rest)) => (Some(name), rest),
            None => (Some(named), ""),
        },
        None => (None, rest),
    };
    let in_default_namespace = namespace.map_or(true, str::is_empty);
    match kind {
        "0" | "3" | "5" | "6" => Ok(SocketPacket::Quiet),
        "1" if in_default_namespace => Ok(SocketPacket::Disconnect),
        "4" if in_default_namespace => {
            let message = match serde_json::from_str::<serde_json::Value>(rest) {
                Ok(serde_json::Value::String(message)) => message,
                Ok(value) => value.get("message").and_then(|m| m.as_str()).map_or_else(|| value.to_string(), str::to_owned),
                Err(_) => rest.to_owned(),
            };
            Ok(SocketPacket::Error(crate::error::snippet(message.as_bytes(), 300)))
        }
        "2" if in_default_namespace => {
            // An ack id (digits) may precede the JSON array.
            let json = rest.trim_start_matches(|c: char| c.is_ascii_digit());
            let items: Vec<serde_json::Value> = serde_json::from_str(json).map_err(|_| malformed())?;
            let name = items.first().and_then(|name| name.as_str()).ok_or_else(malformed)?;
            Ok(SocketPacket::Event(event(name, items.get(1))))
        }
        "1" | "2" | "4" => Ok(SocketPacket::Quiet),
        _ => Err(malformed()),
    }
}

/// A typed event from its name and first argument; what does not fit is `Other`.
fn event(name: &str, payload: Option<&serde_json::Value>) -> SocketEvent {
    let job_id = |prefix: &str| name.strip_prefix(prefix).and_then(|id| id.parse::<i64>().ok());
    if name == "hello" {
        let version = payload.and_then(|p| p.pointer("/hello/version")).and_then(|v| v.as_i64());
        return version.map_or(SocketEvent::Other, |version| SocketEvent::Hello { version });
    }
    if let Some(job_id) = job_id("job-data-") {
        return match payload.and_then(|p| p.get("data")).and_then(|d| d.as_str()) {
            Some(data) => SocketEvent::JobData { job_id, data: data.to_owned() },
            None => SocketEvent::Other,
        };
    }
    if let Some(job_id) = job_id("job-finished-") {
        let success = payload.and_then(|p| p.get("success")).and_then(|s| s.as_bool());
        return SocketEvent::JobFinished { job_id, success };
    }
    SocketEvent::Other
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_and_socket_packets() {
        assert_eq!(parse_engine_packet("3"), Ok(EnginePacket::Quiet));
        assert_eq!(parse_engine_packet("2"), Ok(EnginePacket::Ping));
        assert_eq!(parse_engine_packet("42[\"x\"]"), Ok(EnginePacket::Message("2[\"x\"]")));
        assert!(parse_engine_packet("").is_err());
        assert!(parse_engine_packet("x").is_err());

        let data = parse_socket_packet(r#"2["job-data-42",{"data":"Epoch 1/3\n"}]"#).unwrap();
        assert_eq!(data, SocketPacket::Event(SocketEvent::JobData { job_id: 42, data: "Epoch 1/3\n".into() }));
        let finished = parse_socket_packet(r#"27["job-finished-42",{"success":false}]"#).unwrap();
        assert_eq!(finished, SocketPacket::Event(SocketEvent::JobFinished { job_id: 42, success: Some(false) }));
        let hello = parse_socket_packet(r#"2["hello",{"hello":{"version":1}}]"#).unwrap();
        assert_eq!(hello, SocketPacket::Event(SocketEvent::Hello { version: 1 }));
        assert_eq!(parse_socket_packet(r#"2/admin,["job-data-42",{"data":"x"}]"#), Ok(SocketPacket::Quiet));
        assert_eq!(parse_socket_packet(r#"2["job-data-x",{"data":"x"}]"#), Ok(SocketPacket::Event(SocketEvent::Other)));
        assert_eq!(parse_socket_packet(r#"4{"message":"bad token"}"#), Ok(SocketPacket::Error("bad token".into())));
        assert!(parse_socket_packet("2{not json").is_err());
        assert!(parse_socket_packet("2[3]").is_err());
        assert!(parse_socket_packet("9").is_err());
        assert!(parse_socket_packet("").is_err());
    }

    #[test]
    fn deadlines_saturate() {
        let now = Instant::now();
        assert!(later(now, Duration::MAX) > later(now, Duration::from_secs(86_400 * 365)));
        assert_eq!(later(now, Duration::from_millis(5)), now + Duration::from_millis(5));
    }

    #[test]
    fn the_url_shows_no_token() {
        let url = SocketUrl::new("https://studio.edgeimpulse.com/v1", Secret::new("tok-secret-123")).unwrap();
        assert_eq!(format!("{url:?}"), "wss://studio.edgeimpulse.com/socket.io/?token=<redacted>&EIO=3&transport=websocket");
        assert_eq!(url.redact("bad token tok-secret-123"), "bad token <redacted>");
        let v6 = SocketUrl::new("http://[::1]:4000/v1", Secret::new("t")).unwrap();
        assert_eq!((v6.host.as_str(), v6.host_header().as_str()), ("::1", "[::1]:4000"), "brackets only in the Host header");
        assert_eq!(format!("{v6:?}"), "ws://[::1]:4000/socket.io/?token=<redacted>&EIO=3&transport=websocket");
        let local = SocketUrl::new("http://127.0.0.1:4000", Secret::new("t")).unwrap();
        assert_eq!(format!("{local:?}"), "ws://127.0.0.1:4000/socket.io/?token=<redacted>&EIO=3&transport=websocket");
        assert!(SocketUrl::new("ftp://x", Secret::new("t")).unwrap_err().permanent);
    }
}
