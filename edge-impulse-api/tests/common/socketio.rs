//! A fake Studio Socket.IO server on 127.0.0.1 (Engine.IO 3 over tokio-tungstenite, the
//! crate the client uses), playing one scripted behaviour per connection, and the job log it
//! writes to, which a loopback HTTP server can serve as `getJobsLogs` answers.

#![allow(dead_code)] // the tests and the benchmark use different parts
// tungstenite's handshake callback returns its own (large) error type.
#![allow(clippy::result_large_err)]

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, Notify};
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tokio_tungstenite::tungstenite::Message;

/// What the server does with one connection.
#[derive(Clone, Debug)]
pub enum Behaviour {
    /// Accepts the TCP connection and never answers.
    Silent,
    /// Answers the upgrade with this HTTP status.
    Refuse(u16),
    /// Upgrades and opens the Engine.IO session, then plays the frames; `hello` is not sent
    /// unless a frame sends it ([`Step::Hello`]).
    Raw(Vec<Step>),
    /// Upgrades, opens, says hello, plays the steps, then keeps the connection (answering
    /// pings, sending what [`FakeSocketServer::push`] gives) until the client leaves.
    Script(Vec<Step>),
}

/// One step of a script.
#[derive(Clone, Debug)]
pub enum Step {
    /// Sends a text frame as is.
    Frame(String),
    /// Sends `hello`.
    Hello,
    /// Writes a line to the job's log and sends it as `job-data-<job>`.
    Line(String),
    /// Writes a line to the job's log without sending it (written while no socket listens).
    LogOnly(String),
    /// Sets the flag (the job's status turns finished).
    Finish(Arc<AtomicBool>),
    /// Sends `job-finished-<job>`.
    FinishedEvent(bool),
    /// Stops answering pings from here on.
    StopAnswering,
    /// Closes the connection.
    Close,
    /// Waits this long before the next step (lets the client's requests interleave).
    Pause(std::time::Duration),
}

/// The fake server and what it saw.
pub struct FakeSocketServer {
    /// `http://127.0.0.1:port`, for `LiveLogOptions::endpoint`.
    pub url: String,
    shared: Arc<Shared>,
}

struct Shared {
    job_id: i64,
    behaviours: Mutex<VecDeque<Behaviour>>,
    log: Mutex<Vec<String>>,
    connections: AtomicUsize,
    closed: AtomicUsize,
    closed_notify: Notify,
    request_targets: Mutex<Vec<String>>,
    push: Mutex<Option<mpsc::UnboundedReceiver<String>>>,
    push_sender: mpsc::UnboundedSender<String>,
    /// When the server sent the last pushed line.
    pushed_at: Mutex<Vec<Instant>>,
}

impl FakeSocketServer {
    /// Starts the server for `job_id`; connection n plays `behaviours[n]` (the last one
    /// for all later connections).
    pub async fn start(job_id: i64, behaviours: Vec<Behaviour>) -> FakeSocketServer {
        FakeSocketServer::start_on("127.0.0.1:0", job_id, behaviours).await.expect("bind 127.0.0.1")
    }

    /// The same on another loopback address (`[::1]:0`); an error when it cannot bind there.
    pub async fn start_on(address: &str, job_id: i64, behaviours: Vec<Behaviour>) -> std::io::Result<FakeSocketServer> {
        let listener = TcpListener::bind(address).await?;
        // A `SocketAddr` shows an IPv6 address in brackets, as a URL needs it.
        let url = format!("http://{}", listener.local_addr()?);
        let (push_sender, push) = mpsc::unbounded_channel();
        let shared = Arc::new(Shared {
            job_id,
            behaviours: Mutex::new(behaviours.into()),
            log: Mutex::new(Vec::new()),
            connections: AtomicUsize::new(0),
            closed: AtomicUsize::new(0),
            closed_notify: Notify::new(),
            request_targets: Mutex::new(Vec::new()),
            push: Mutex::new(Some(push)),
            push_sender,
            pushed_at: Mutex::new(Vec::new()),
        });
        let accepting = shared.clone();
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let shared = accepting.clone();
                tokio::spawn(async move { shared.serve(stream).await });
            }
        });
        Ok(FakeSocketServer { url, shared })
    }

    /// The job's log so far (what `getJobsLogs` would list), oldest first.
    pub fn log(&self) -> Vec<String> {
        self.shared.log.lock().unwrap().clone()
    }

    /// Writes lines to the job's log without sending them.
    pub fn write_log(&self, lines: &[&str]) {
        self.shared.log.lock().unwrap().extend(lines.iter().map(|l| l.to_string()));
    }

    /// A handle on the log for a responder of the HTTP server.
    pub fn log_handle(&self) -> LogHandle {
        LogHandle(self.shared.clone())
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    /// The request targets (path and query) of the upgrades, tokens included.
    pub fn request_targets(&self) -> Vec<String> {
        self.shared.request_targets.lock().unwrap().clone()
    }

    /// Waits until `count` connections were closed by the client.
    pub async fn closed(&self, count: usize) {
        loop {
            let notified = self.shared.closed_notify.notified();
            if self.shared.closed.load(Ordering::SeqCst) >= count {
                return;
            }
            notified.await;
        }
    }

    /// Sends a line (and writes it to the log) on the connection that finished its script.
    pub fn push(&self, line: &str) {
        self.shared.push_sender.send(line.to_owned()).expect("the server runs");
    }

    /// A function that pushes like [`FakeSocketServer::push`], for another task.
    pub fn pusher(&self) -> impl Fn(&str) + Send + 'static {
        let sender = self.shared.push_sender.clone();
        move |line: &str| {
            let _ = sender.send(line.to_owned());
        }
    }

    /// When each pushed line was handed to the WebSocket.
    pub fn pushed_at(&self) -> Vec<Instant> {
        self.shared.pushed_at.lock().unwrap().clone()
    }
}

/// The fake job's log, shared with an HTTP responder.
#[derive(Clone)]
pub struct LogHandle(Arc<Shared>);

impl LogHandle {
    /// A `LogStdoutResponse` of the log so far, newest first as the endpoint answers.
    pub fn page(&self) -> Value {
        self.last(usize::MAX)
    }

    /// Writes lines to the job's log without sending them.
    pub fn write(&self, lines: &[&str]) {
        self.0.log.lock().unwrap().extend(lines.iter().map(|l| l.to_string()));
    }

    /// The answer to a `getJobsLogs` request with this query: the last `limit` lines.
    pub fn answer(&self, query: Option<&str>) -> Value {
        let limit = query.unwrap_or_default().split('&').find_map(|pair| pair.strip_prefix("limit=")).and_then(|n| n.parse().ok());
        self.last(limit.unwrap_or(usize::MAX))
    }

    /// The last `limit` lines, newest first, and the whole log's count.
    pub fn last(&self, limit: usize) -> Value {
        let log = self.0.log.lock().unwrap();
        let stdout: Vec<Value> = log.iter().rev().take(limit).map(|line| json!({ "created": "2024-05-01T10:00:10Z", "data": line, "logLevel": "info" })).collect();
        json!({ "success": true, "stdout": stdout, "totalCount": log.len() })
    }
}

fn event(name: &str, payload: Value) -> String {
    format!("42{}", json!([name, payload]))
}

impl Shared {
    async fn serve(self: Arc<Self>, stream: TcpStream) {
        self.connections.fetch_add(1, Ordering::SeqCst);
        let behaviour = {
            let mut behaviours = self.behaviours.lock().unwrap();
            match behaviours.len() {
                0 => Behaviour::Silent,
                1 => behaviours[0].clone(),
                _ => behaviours.pop_front().unwrap(),
            }
        };
        match behaviour {
            Behaviour::Silent => {
                // Hold the connection, read nothing back: a stalled server.
                let mut stream = stream;
                let _ = tokio::io::AsyncReadExt::read_to_end(&mut stream, &mut Vec::new()).await;
            }
            Behaviour::Refuse(status) => {
                let _ = tokio_tungstenite::accept_hdr_async(stream, move |_: &Request, _: Response| -> Result<Response, ErrorResponse> {
                    let mut refusal = ErrorResponse::new(Some("refused".into()));
                    *refusal.status_mut() = status.try_into().unwrap();
                    Err(refusal)
                })
                .await;
            }
            Behaviour::Raw(steps) => self.play(stream, steps, false).await,
            Behaviour::Script(steps) => self.play(stream, steps, true).await,
        }
        self.closed.fetch_add(1, Ordering::SeqCst);
        self.closed_notify.notify_waiters();
    }

    async fn play(&self, stream: TcpStream, steps: Vec<Step>, scripted: bool) {
        let targets = &self.request_targets;
        let record = |request: &Request, response: Response| -> Result<Response, ErrorResponse> {
            targets.lock().unwrap().push(request.uri().to_string());
            Ok(response)
        };
        let Ok(mut ws) = tokio_tungstenite::accept_hdr_async(stream, record).await else { return };
        let open = json!({ "sid": "fake", "upgrades": [], "pingInterval": 25000, "pingTimeout": 60000 });
        let mut frames: VecDeque<Step> = steps.into();
        if scripted {
            frames.push_front(Step::Hello);
        }
        frames.push_front(Step::Frame("40".into()));
        frames.push_front(Step::Frame(format!("0{open}")));
        let mut answering = true;
        while let Some(step) = frames.pop_front() {
            let text = match step {
                Step::Frame(text) => text,
                Step::Hello => event("hello", json!({ "hello": { "version": 1 } })),
                Step::Line(line) => {
                    self.log.lock().unwrap().push(line.clone());
                    event(&format!("job-data-{}", self.job_id), json!({ "data": line }))
                }
                Step::LogOnly(line) => {
                    self.log.lock().unwrap().push(line);
                    continue;
                }
                Step::Finish(flag) => {
                    flag.store(true, Ordering::SeqCst);
                    continue;
                }
                Step::FinishedEvent(success) => event(&format!("job-finished-{}", self.job_id), json!({ "success": success })),
                Step::StopAnswering => {
                    answering = false;
                    continue;
                }
                Step::Close => {
                    let _ = ws.close(None).await;
                    return;
                }
                Step::Pause(pause) => {
                    tokio::time::sleep(pause).await;
                    continue;
                }
            };
            if ws.send(Message::text(text)).await.is_err() {
                return;
            }
        }
        if !scripted {
            // Raw: read until the client leaves, answering nothing.
            while let Some(Ok(_)) = ws.next().await {}
            return;
        }
        let mut push = self.push.lock().unwrap().take();
        loop {
            tokio::select! {
                frame = ws.next() => match frame {
                    Some(Ok(Message::Text(text))) if text.as_str() == "2" && answering => {
                        if ws.send(Message::text("3")).await.is_err() { break }
                    }
                    Some(Ok(_)) => {}
                    _ => break,
                },
                line = async { match push.as_mut() { Some(push) => push.recv().await, None => std::future::pending().await } } => {
                    let Some(line) = line else { break };
                    self.log.lock().unwrap().push(line.clone());
                    let text = event(&format!("job-data-{}", self.job_id), json!({ "data": line }));
                    self.pushed_at.lock().unwrap().push(Instant::now());
                    if ws.send(Message::text(text)).await.is_err() { break }
                }
            }
        }
        // Give the push channel back for the next connection.
        if let Some(push) = push {
            *self.push.lock().unwrap() = Some(push);
        }
    }
}

/// A marker that a step sets; share it with a status responder.
pub fn flag() -> Arc<AtomicBool> {
    Arc::new(AtomicBool::new(false))
}

/// Mounts the REST side of project 7's job `job` on `server`, as the live-log tests and the
/// benchmark need it: the socket token, a status that reports the job finished once
/// `finished` is set, and the log endpoint answering from `socket`'s log (the last `limit`
/// lines asked for), each answer `log_delay` late.
pub async fn mount_job_api(server: &wiremock::MockServer, socket: &FakeSocketServer, job: i64, finished: Arc<AtomicBool>, log_delay: std::time::Duration) {
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, ResponseTemplate};
    let token = json!({ "success": true, "token": { "socketToken": "tok", "expires": "2030-01-01T00:00:00Z" } });
    Mock::given(method("GET")).and(path("/api/7/socket-token")).respond_with(ResponseTemplate::new(200).set_body_json(token)).mount(server).await;
    let status = move |_: &wiremock::Request| {
        let mut body = json!({ "id": job, "category": "Training model", "key": "k", "created": "2024-05-01T10:00:00Z", "started": "2024-05-01T10:00:05Z", "jobNotificationUids": [] });
        if finished.load(Ordering::SeqCst) {
            body["finished"] = json!("2024-05-01T10:09:00Z");
            body["finishedSuccessful"] = json!(true);
        }
        ResponseTemplate::new(200).set_body_json(json!({ "success": true, "job": body }))
    };
    Mock::given(method("GET")).and(path(format!("/api/7/jobs/{job}/status"))).respond_with(status).mount(server).await;
    let log = socket.log_handle();
    Mock::given(method("GET"))
        .and(path(format!("/api/7/jobs/{job}/stdout")))
        .respond_with(move |request: &wiremock::Request| ResponseTemplate::new(200).set_body_json(log.answer(request.url.query())).set_delay(log_delay))
        .mount(server)
        .await;
}
