//! Live job logs against a fake Socket.IO server on 127.0.0.1 (tests/common/socketio.rs)
//! and a wiremock server for the REST side (socket token, job status, job log), whose log
//! answers list what the fake server wrote so far.

#[path = "common/socketio.rs"]
mod socketio;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use edge_impulse_api::{Client, Error, JobProgress, LiveLogOptions, RetryPolicy};
use futures_util::StreamExt;
use serde_json::{json, Value};
use socketio::{flag, Behaviour, FakeSocketServer, Step};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const PROJECT: i64 = 7;
const JOB: i64 = 42;
const TOKEN: &str = "sock-tok-5be1c0ffee";

fn job(finished: Option<bool>) -> Value {
    let mut job = json!({
        "id": JOB, "category": "Training model", "key": "keras-3",
        "created": "2024-05-01T10:00:00Z", "started": "2024-05-01T10:00:05Z", "jobNotificationUids": [],
    });
    if let Some(success) = finished {
        job["finished"] = json!("2024-05-01T10:09:00Z");
        job["finishedSuccessful"] = json!(success);
    }
    json!({ "success": true, "job": job })
}

/// The REST side of a job whose status turns finished (`success`) once `finished` is set,
/// and whose log is the fake server's.
async fn rest(socket: &FakeSocketServer, prefix: &str, finished: Arc<AtomicBool>, success: bool) -> MockServer {
    let token = json!({ "success": true, "token": { "socketToken": TOKEN, "expires": "2030-01-01T00:00:00Z" } });
    rest_with_token(socket, prefix, finished, success, ResponseTemplate::new(200).set_body_json(token)).await
}

/// [`rest`] with another answer to the socket token request.
async fn rest_with_token(socket: &FakeSocketServer, prefix: &str, finished: Arc<AtomicBool>, success: bool, token: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET")).and(path(format!("{prefix}/socket-token"))).respond_with(token).mount(&server).await;
    let status = move |_: &Request| {
        let done = finished.load(Ordering::SeqCst);
        ResponseTemplate::new(200).set_body_json(job(done.then_some(success)))
    };
    Mock::given(method("GET")).and(path(format!("{prefix}/jobs/{JOB}/status"))).respond_with(status).mount(&server).await;
    let log = socket.log_handle();
    Mock::given(method("GET"))
        .and(path(format!("{prefix}/jobs/{JOB}/stdout")))
        .respond_with(move |_: &Request| ResponseTemplate::new(200).set_body_json(log.page()))
        .mount(&server)
        .await;
    server
}

fn client(server: &MockServer) -> Client {
    Client::builder().base_url(server.uri()).api_key("ei_live_test_key").retry(RetryPolicy::disabled()).build().unwrap()
}

/// Short intervals so that tests run fast; nothing is asserted about time.
fn options(socket: &FakeSocketServer) -> LiveLogOptions {
    LiveLogOptions::default()
        .endpoint(&socket.url)
        .ping_interval(Duration::from_millis(50))
        .pong_timeout(Duration::from_millis(200))
        .hello_timeout(Duration::from_millis(500))
        .status_interval(Duration::from_millis(30))
        .reconnect_delay(Duration::from_millis(10))
        .reconnect_budget(Duration::from_secs(2))
}

fn lines(text: &[&str]) -> Vec<Step> {
    text.iter().map(|t| Step::Line(t.to_string())).collect()
}

/// Every line of every report, and the reports.
fn all_lines(reports: &[JobProgress]) -> Vec<String> {
    reports.iter().flat_map(|p| p.new_log_lines.iter().map(|l| l.data.clone())).collect()
}

/// Follows the log of a job that finishes once the wait reports that it fell back to
/// polling; returns the reports.
async fn wait_until_fallback(server: &MockServer, options: LiveLogOptions, finished: &AtomicBool) -> Result<Vec<JobProgress>, Error> {
    let mut reports = Vec::new();
    let client = client(server);
    let wait = client.wait_for_job(PROJECT, JOB).poll_interval(Duration::from_millis(20)).follow_logs(true).live_logs(options).on_progress(|p| {
        reports.push(p.clone());
        if p.live_logs_error.is_some() {
            finished.store(true, Ordering::SeqCst);
        }
    });
    ends(wait).await?;
    Ok(reports)
}

/// Guards against a hang: a wait that does not end fails the test (a ceiling, not a
/// measurement).
async fn ends<T>(wait: impl std::future::IntoFuture<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(60), wait).await.expect("the wait hung")
}

#[tokio::test]
async fn lines_arrive_in_order_and_the_finish_event_ends_the_wait() {
    for success in [true, false] {
        let finished = flag();
        let mut steps = lines(&["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]);
        steps.extend([Step::Finish(finished.clone()), Step::FinishedEvent(success)]);
        let socket = FakeSocketServer::start(JOB, vec![Behaviour::Script(steps)]).await;
        // A long status interval: the finish event, not the safety net, ends the wait.
        let server = rest(&socket, "/api/7", finished, success).await;
        let options = options(&socket).status_interval(Duration::from_secs(3600));

        let mut reports = Vec::new();
        let client = client(&server);
        let wait = client.wait_for_job(PROJECT, JOB).follow_logs(true).live_logs(options).on_progress(|p| reports.push(p.clone()));
        let result = ends(wait).await;
        match success {
            true => assert!(result.is_ok(), "{result:?}"),
            false => assert!(matches!(result, Err(Error::JobFailed { job_id: JOB, .. })), "{result:?}"),
        }
        assert_eq!(all_lines(&reports), ["Epoch 1/3", "Epoch 2/3", "Epoch 3/3"]);
        assert!(reports.iter().all(|p| p.live_logs_error.is_none() && p.log_error.is_none()));
        assert_eq!(socket.connections(), 1);
        let targets = socket.request_targets();
        assert_eq!(targets, [format!("/socket.io/?token={TOKEN}&EIO=3&transport=websocket")]);
    }
}

#[tokio::test]
async fn unknown_events_other_jobs_and_engine_noise_are_ignored() {
    let finished = flag();
    let steps = vec![
        Step::Frame("6".into()),
        Step::Frame(r#"42["job-data-99",{"data":"another job"}]"#.into()),
        Step::Frame(r#"42["notification",{"message":"hi"}]"#.into()),
        Step::Frame(r#"42["job-data-42",{"unexpected":true}]"#.into()),
        Step::Frame(r#"42/admin,["job-data-42",{"data":"other namespace"}]"#.into()),
        Step::Frame("3".into()),
        Step::Line("only line".into()),
        Step::Finish(finished.clone()),
        Step::FinishedEvent(true),
    ];
    let socket = FakeSocketServer::start(JOB, vec![Behaviour::Script(steps)]).await;
    let server = rest(&socket, "/api/7", finished, true).await;
    let mut reports = Vec::new();
    ends(client(&server).wait_for_job(PROJECT, JOB).follow_logs(true).live_logs(options(&socket)).on_progress(|p| reports.push(p.clone()))).await.unwrap();
    assert_eq!(all_lines(&reports), ["only line"]);
    assert_eq!(socket.connections(), 1, "nothing there was worth a reconnect");
}

#[tokio::test]
async fn a_missed_finish_event_is_caught_by_the_status_poll() {
    let finished = flag();
    let mut steps = lines(&["a", "b"]);
    steps.push(Step::Finish(finished.clone())); // no finish event
    let socket = FakeSocketServer::start(JOB, vec![Behaviour::Script(steps)]).await;
    let server = rest(&socket, "/api/7", finished, true).await;
    let mut reports = Vec::new();
    let outcome = ends(client(&server).wait_for_job(PROJECT, JOB).follow_logs(true).live_logs(options(&socket)).on_progress(|p| reports.push(p.clone()))).await;
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(all_lines(&reports), ["a", "b"], "each line once, whether it came from the socket or the final catch-up");
}

#[tokio::test]
async fn a_dropped_socket_reconnects_and_catches_up_with_the_lines_it_missed() {
    let finished = flag();
    let mut first = lines(&["a", "b"]);
    first.push(Step::Close);
    // The line is written before the second connection says hello: no socket carried it.
    let second = vec![
        Step::LogOnly("c (written while no socket listened)".into()),
        Step::Hello,
        Step::Line("d".into()),
        Step::Finish(finished.clone()),
        Step::FinishedEvent(true),
    ];
    let socket = FakeSocketServer::start(JOB, vec![Behaviour::Script(first), Behaviour::Raw(second)]).await;
    let server = rest(&socket, "/api/7", finished, true).await;

    let mut reports = Vec::new();
    ends(client(&server).wait_for_job(PROJECT, JOB).follow_logs(true).live_logs(options(&socket)).on_progress(|p| reports.push(p.clone()))).await.unwrap();
    assert_eq!(all_lines(&reports), ["a", "b", "c (written while no socket listened)", "d"]);
    assert_eq!(socket.connections(), 2);
    assert!(reports.iter().all(|p| p.live_logs_error.is_none()));
}

#[tokio::test]
async fn a_stalled_socket_is_replaced() {
    let finished = flag();
    let mut first = lines(&["a"]);
    first.push(Step::StopAnswering);
    let mut second = lines(&["b"]);
    second.extend([Step::Finish(finished.clone()), Step::FinishedEvent(true)]);
    let socket = FakeSocketServer::start(JOB, vec![Behaviour::Script(first), Behaviour::Script(second)]).await;
    let server = rest(&socket, "/api/7", finished, true).await;
    let mut reports = Vec::new();
    ends(client(&server).wait_for_job(PROJECT, JOB).follow_logs(true).live_logs(options(&socket)).on_progress(|p| reports.push(p.clone()))).await.unwrap();
    assert_eq!(all_lines(&reports), ["a", "b"]);
    assert_eq!(socket.connections(), 2);
}

#[tokio::test]
async fn a_socket_that_never_works_falls_back_to_polling_without_losing_lines() {
    let hostile = [
        ("never answers", Behaviour::Silent, "hello"),
        ("never says hello", Behaviour::Raw(vec![]), "hello"),
        ("malformed frames", Behaviour::Raw(vec![Step::Frame("garbage".into())]), "malformed"),
        ("malformed events", Behaviour::Raw(vec![Step::Hello, Step::Frame("42{oops".into())]), "malformed"),
        ("wrong hello", Behaviour::Raw(vec![Step::Frame(r#"42["hello",{"hello":{"version":9}}]"#.into())]), "version 9"),
        ("refused upgrade", Behaviour::Refuse(403), "HTTP 403"),
        ("refused token", Behaviour::Raw(vec![Step::Frame(format!(r#"44{{"message":"invalid token {TOKEN}"}}"#))]), "invalid token <redacted>"),
    ];
    for (case, behaviour, reason) in hostile {
        let finished = Arc::new(AtomicBool::new(false));
        let socket = FakeSocketServer::start(JOB, vec![behaviour]).await;
        socket.write_log(&["a", "b"]);
        let server = rest(&socket, "/api/7", finished.clone(), true).await;
        let options = options(&socket).hello_timeout(Duration::from_millis(100)).reconnect_budget(Duration::from_millis(300));
        let reports = wait_until_fallback(&server, options, &finished).await.unwrap_or_else(|e| panic!("{case}: {e}"));
        assert_eq!(all_lines(&reports), ["a", "b"], "{case}: each line once, from a catch-up or the polls");
        let errors: Vec<&Error> = reports.iter().filter_map(|p| p.live_logs_error.as_deref()).collect();
        assert_eq!(errors.len(), 1, "{case}: the fallback is reported once");
        let (shown, debug) = (errors[0].to_string(), format!("{:?}", errors[0]));
        assert!(shown.starts_with("getSocketToken: live job logs unavailable: "), "{case}: {shown}");
        assert!(shown.contains(reason), "{case}: {shown}");
        assert!(!shown.contains(TOKEN) && !debug.contains(TOKEN), "{case}: the token leaked: {debug}");
    }
}

#[tokio::test]
async fn a_refused_or_stalled_socket_token_falls_back_to_polling() {
    let cases = [
        ("refused", ResponseTemplate::new(403), Duration::from_secs(3600), "HTTP 403"),
        // Stalled: bounded by the hello timeout, then the (short) budget runs out.
        ("stalled", ResponseTemplate::new(200).set_delay(Duration::from_secs(3600)), Duration::from_millis(300), "timed out"),
    ];
    for (case, token_answer, budget, reason) in cases {
        let socket = FakeSocketServer::start(JOB, vec![Behaviour::Silent]).await;
        socket.write_log(&["a"]);
        let finished = flag();
        let server = rest_with_token(&socket, "/api/7", finished.clone(), true, token_answer).await;
        // A refusal must not wait for the budget (far longer than the test).
        let options = options(&socket).hello_timeout(Duration::from_millis(100)).reconnect_budget(budget);
        let reports = wait_until_fallback(&server, options, &finished).await.unwrap();
        assert_eq!(all_lines(&reports), ["a"], "{case}");
        assert_eq!(socket.connections(), 0, "{case}: no connection without a token");
        let error = reports.iter().find_map(|p| p.live_logs_error.clone()).expect("the fallback is reported");
        assert!(matches!(*error, Error::LiveLogs { operation: "getSocketToken", .. }), "{case}: {error:?}");
        assert!(error.to_string().contains(reason), "{case}: {error}");
    }
}

#[tokio::test]
async fn the_wait_timeout_holds_in_live_mode_and_closes_the_socket() {
    let socket = FakeSocketServer::start(JOB, vec![Behaviour::Script(lines(&["still running"]))]).await;
    let server = rest(&socket, "/api/7", flag(), true).await;
    let client = client(&server);
    let wait = client.wait_for_job(PROJECT, JOB).timeout(Duration::from_millis(300)).follow_logs(true).live_logs(options(&socket));
    let error = ends(wait).await.unwrap_err();
    assert!(matches!(error, Error::JobTimeout { job_id: JOB, .. }), "{error:?}");
    ends(socket.closed(1)).await;
}

#[tokio::test]
async fn the_log_stream_yields_lines_and_closes_the_socket_when_dropped() {
    let socket = FakeSocketServer::start(JOB, vec![Behaviour::Script(lines(&["one", "two"]))]).await;
    let server = rest(&socket, "/api/7", flag(), true).await;
    let client = client(&server);
    let mut stream = Box::pin(client.wait_for_job(PROJECT, JOB).live_logs(options(&socket)).into_log_stream());
    let mut received = Vec::new();
    while received.len() < 2 {
        received.push(ends(stream.next()).await.expect("a line").unwrap().data);
    }
    assert_eq!(received, ["one", "two"]);
    drop(stream);
    ends(socket.closed(1)).await;
}

#[tokio::test]
async fn the_log_stream_ends_with_the_job_and_organization_jobs_use_their_token() {
    let finished = flag();
    let mut steps = lines(&["org line"]);
    steps.extend([Step::Finish(finished.clone()), Step::FinishedEvent(false)]);
    let socket = FakeSocketServer::start(JOB, vec![Behaviour::Script(steps)]).await;
    let server = rest(&socket, "/api/organizations/3", finished, false).await;
    let client = client(&server);
    let stream = client.wait_for_organization_job(3, JOB).live_logs(options(&socket)).into_log_stream();
    let items: Vec<_> = ends(stream.collect::<Vec<_>>()).await;
    let text: Vec<String> = items.into_iter().map(|item| item.unwrap().data).collect();
    assert_eq!(text, ["org line"], "a failed job ends the stream of its lines");
}
