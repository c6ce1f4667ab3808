//! Live job logs against a fake Socket.IO server on 127.0.0.1 (tests/common/socketio.rs)
//! and a wiremock server for the REST side (socket token, job status, job log), whose log
//! answers list what the fake server wrote so far.

#[path = "common/socketio.rs"]
mod socketio;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use edge_impulse_api::{Client, Error, JobPhase, JobProgress, LiveLogOptions, RetryPolicy};
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
    rest_with(socket, prefix, finished, success, token, Duration::ZERO).await
}

/// [`rest_with_token`] whose log answers take `log_delay` (a slow catch-up).
async fn rest_with(socket: &FakeSocketServer, prefix: &str, finished: Arc<AtomicBool>, success: bool, token: ResponseTemplate, log_delay: Duration) -> MockServer {
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
        .respond_with(move |request: &Request| ResponseTemplate::new(200).set_body_json(log.answer(request.url.query())).set_delay(log_delay))
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

/// Follows the log of `socket`'s job to its end with [`options`]; returns the reports.
async fn follow(server: &MockServer, options: LiveLogOptions) -> Vec<JobProgress> {
    let mut reports = Vec::new();
    let client = client(server);
    let outcome = ends(client.wait_for_job(PROJECT, JOB).follow_logs(true).live_logs(options).on_progress(|p| reports.push(p.clone()))).await;
    assert!(outcome.is_ok(), "{outcome:?}");
    reports
}

fn token_answer() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(json!({ "success": true, "token": { "socketToken": TOKEN, "expires": "2030-01-01T00:00:00Z" } }))
}

#[tokio::test]
async fn the_status_poll_runs_on_its_schedule_while_lines_keep_coming() {
    // No finish event: only the status poll can end the wait, and lines never stop.
    let socket = FakeSocketServer::start(JOB, vec![Behaviour::Script(vec![])]).await;
    let finished = flag();
    let server = rest(&socket, "/api/7", finished.clone(), true).await;
    let stop = flag();
    let chatter = {
        let (stop, push) = (stop.clone(), socket.pusher());
        tokio::spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::SeqCst) {
                push(&format!("step {n}"));
                n += 1;
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        })
    };
    // A line every millisecond, the status due every 300 ms; the job finishes once lines
    // flow (50 delivered), and only a status poll can tell.
    let mut reports = Vec::new();
    let mut delivered = 0;
    let client = client(&server);
    let options = options(&socket).status_interval(Duration::from_millis(300));
    let wait = client.wait_for_job(PROJECT, JOB).follow_logs(true).live_logs(options).on_progress(|p| {
        delivered += p.new_log_lines.len();
        if delivered >= 50 {
            finished.store(true, Ordering::SeqCst);
        }
        reports.push(p.clone());
    });
    let outcome = ends(wait).await;
    stop.store(true, Ordering::SeqCst);
    chatter.await.unwrap();
    assert!(outcome.is_ok(), "{outcome:?}");
    assert_eq!(reports.last().unwrap().phase, JobPhase::Succeeded, "the poll saw the job finish although lines kept coming");
    let delivered = all_lines(&reports);
    assert!(delivered.len() >= 50 && socket.log().starts_with(&delivered), "a prefix of the log, in order: {delivered:?}");
}

#[tokio::test]
async fn repeated_texts_around_a_reconnect_are_all_delivered() {
    let finished = flag();
    let mut first = lines(&["Still running...", "", "Still running..."]);
    first.push(Step::Close);
    let second = vec![
        Step::LogOnly("Still running...".into()),
        Step::LogOnly("".into()),
        Step::Hello,
        Step::Line("Still running...".into()),
        Step::Line("".into()),
        Step::Line("Still running...".into()),
        Step::Finish(finished.clone()),
        Step::FinishedEvent(true),
    ];
    let socket = FakeSocketServer::start(JOB, vec![Behaviour::Script(first), Behaviour::Raw(second)]).await;
    let server = rest(&socket, "/api/7", finished, true).await;
    let reports = follow(&server, options(&socket)).await;
    assert_eq!(all_lines(&reports), socket.log(), "every line once, blank and repeated ones included");
    assert_eq!(socket.log().len(), 8);
}

#[tokio::test]
async fn many_lines_between_hello_and_a_slow_catch_up_come_once() {
    let finished = flag();
    let texts: Vec<String> = (0..150).map(|n| format!("epoch {n}")).collect();
    let mut steps: Vec<Step> = texts.iter().map(|t| Step::Line(t.clone())).collect();
    // The job goes on after them: the socket's lines are read, not only the final fetch.
    steps.extend([Step::Pause(Duration::from_millis(800)), Step::Finish(finished.clone()), Step::FinishedEvent(true)]);
    let socket = FakeSocketServer::start(JOB, vec![Behaviour::Script(steps)]).await;
    // Every log answer takes 300 ms: all 150 lines are on the socket before the catch-up.
    let server = rest_with(&socket, "/api/7", finished, true, token_answer(), Duration::from_millis(300)).await;
    // The fake answers no ping while it plays its steps: a pause must not look like a stall.
    let reports = follow(&server, options(&socket).pong_timeout(Duration::from_secs(5))).await;
    assert_eq!(all_lines(&reports), texts);
    assert_eq!(reports.iter().map(|p| p.skipped_log_lines).sum::<u64>(), 0);
}

#[tokio::test]
async fn nothing_is_counted_as_skipped_after_socket_lines() {
    let finished = flag();
    let mut first = lines(&["a", "b", "c"]);
    first.push(Step::Close);
    // The socket then refuses: the wait polls the log, which has grown meanwhile.
    let socket = FakeSocketServer::start(JOB, vec![Behaviour::Script(first), Behaviour::Refuse(403)]).await;
    let server = rest(&socket, "/api/7", finished.clone(), true).await;
    let mut reports = Vec::new();
    let client = client(&server);
    let log = socket.log_handle();
    let wait = client.wait_for_job(PROJECT, JOB).poll_interval(Duration::from_millis(20)).follow_logs(true).live_logs(options(&socket)).on_progress(|p| {
        reports.push(p.clone());
        if p.live_logs_error.is_some() {
            log.write(&["d", "e"]);
            finished.store(true, Ordering::SeqCst);
        }
    });
    ends(wait).await.unwrap();
    assert_eq!(all_lines(&reports), ["a", "b", "c", "d", "e"]);
    assert_eq!(reports.iter().map(|p| p.skipped_log_lines).sum::<u64>(), 0, "no line was missing");
}

#[tokio::test]
async fn every_duration_may_be_duration_max() {
    let finished = flag();
    let mut steps = lines(&["a", "b"]);
    steps.extend([Step::Finish(finished.clone()), Step::FinishedEvent(true)]);
    let socket = FakeSocketServer::start(JOB, vec![Behaviour::Script(steps)]).await;
    let server = rest(&socket, "/api/7", finished, true).await;
    let never = Duration::MAX;
    let all_never = LiveLogOptions::default()
        .endpoint(&socket.url)
        .ping_interval(never)
        .pong_timeout(never)
        .hello_timeout(never)
        .status_interval(never)
        .reconnect_delay(never)
        .reconnect_budget(never);
    let mut reports = Vec::new();
    let client = client(&server);
    // The finish event, not the (never due) status poll, ends the wait.
    let wait = client.wait_for_job(PROJECT, JOB).timeout(never).poll_interval(never).follow_logs(true).live_logs(all_never).on_progress(|p| reports.push(p.clone()));
    ends(wait).await.unwrap();
    assert_eq!(all_lines(&reports), ["a", "b"]);

    // A reconnection delay of `Duration::MAX` does not fit in the budget: the wait falls back.
    let socket = FakeSocketServer::start(JOB, vec![Behaviour::Script(vec![Step::Close])]).await;
    socket.write_log(&["x"]);
    let finished = flag();
    let server = rest(&socket, "/api/7", finished.clone(), true).await;
    let options = options(&socket).reconnect_delay(never).ping_interval(never).pong_timeout(never);
    let reports = wait_until_fallback(&server, options, &finished).await.unwrap();
    assert_eq!(all_lines(&reports), ["x"]);
}

#[tokio::test]
async fn a_stalled_consumer_holds_no_lines_and_loses_none() {
    let finished = flag();
    let socket = FakeSocketServer::start(JOB, vec![Behaviour::Script(vec![])]).await;
    let server = rest(&socket, "/api/7", finished.clone(), true).await;
    let client = client(&server);
    let mut stream = Box::pin(client.wait_for_job(PROJECT, JOB).live_logs(options(&socket)).into_log_stream());
    socket.push("first");
    assert_eq!(ends(stream.next()).await.unwrap().unwrap().data, "first");
    // The consumer stops reading while 500 lines arrive, then reads on.
    for n in 0..500 {
        socket.push(&format!("line {n}"));
    }
    while socket.log().len() < 501 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    finished.store(true, Ordering::SeqCst);
    let mut received = vec!["first".to_owned()];
    while let Some(line) = ends(stream.next()).await {
        received.push(line.unwrap().data);
    }
    assert_eq!(received, socket.log());
}

#[tokio::test]
async fn more_job_events_before_hello_than_the_buffer_holds_replace_the_connection() {
    let finished = flag();
    let mut first: Vec<Step> = (0..300).map(|n| Step::Line(format!("early {n}"))).collect();
    first.push(Step::Hello);
    let mut second = lines(&["late"]);
    second.extend([Step::Finish(finished.clone()), Step::FinishedEvent(true)]);
    let socket = FakeSocketServer::start(JOB, vec![Behaviour::Raw(first), Behaviour::Script(second)]).await;
    let server = rest(&socket, "/api/7", finished, true).await;
    let reports = follow(&server, options(&socket)).await;
    assert_eq!(all_lines(&reports), socket.log(), "nothing lost: the lines come from the log");
    assert_eq!(socket.connections(), 2, "the first connection stopped at its buffer's bound");
}

#[tokio::test]
async fn an_ipv6_literal_host_connects() {
    let finished = flag();
    let mut steps = lines(&["over IPv6"]);
    steps.extend([Step::Finish(finished.clone()), Step::FinishedEvent(true)]);
    let socket = match FakeSocketServer::start_on("[::1]:0", JOB, vec![Behaviour::Script(steps)]).await {
        Ok(socket) => socket,
        Err(error) => {
            eprintln!("skipped: this machine has no IPv6 loopback ([::1]): {error}");
            return;
        }
    };
    assert!(socket.url.starts_with("http://[::1]:"), "{}", socket.url);
    let server = rest(&socket, "/api/7", finished, true).await;
    let reports = follow(&server, options(&socket).status_interval(Duration::from_secs(3600))).await;
    assert_eq!(all_lines(&reports), ["over IPv6"]);
    assert!(reports.iter().all(|p| p.live_logs_error.is_none()), "{:?}", reports.iter().find_map(|p| p.live_logs_error.clone()));
    assert_eq!(socket.connections(), 1);
}

#[tokio::test]
async fn a_client_with_its_own_reqwest_client_polls_at_once_and_says_why() {
    let socket = FakeSocketServer::start(JOB, vec![Behaviour::Script(lines(&["never sent"]))]).await;
    socket.write_log(&["a"]);
    let finished = flag();
    let server = rest(&socket, "/api/7", finished.clone(), true).await;
    let client = Client::builder().base_url(server.uri()).api_key("ei_live_test_key").http_client(reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()).build().unwrap();
    let mut reports = Vec::new();
    // A budget far longer than the test: the fallback must not wait for it.
    let options = options(&socket).reconnect_budget(Duration::from_secs(3600));
    let wait = client.wait_for_job(PROJECT, JOB).poll_interval(Duration::from_millis(20)).follow_logs(true).live_logs(options.clone()).on_progress(|p| {
        reports.push(p.clone());
        finished.store(true, Ordering::SeqCst);
    });
    ends(wait).await.unwrap();
    assert_eq!(all_lines(&reports), ["a"]);
    let error = reports[0].live_logs_error.as_deref().expect("the first report says why");
    assert!(error.to_string().contains("its own reqwest::Client"), "{error}");
    assert_eq!(socket.connections(), 0);

    // Asked to, it connects all the same.
    let finished = flag();
    let mut steps = lines(&["b"]);
    steps.extend([Step::Finish(finished.clone()), Step::FinishedEvent(true)]);
    let socket = FakeSocketServer::start(JOB, vec![Behaviour::Script(steps)]).await;
    let server = rest(&socket, "/api/7", finished, true).await;
    let client = Client::builder().base_url(server.uri()).api_key("ei_live_test_key").http_client(reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap()).build().unwrap();
    let mut reports = Vec::new();
    let wait = client.wait_for_job(PROJECT, JOB).follow_logs(true).live_logs(self::options(&socket).connect_directly(true)).on_progress(|p| reports.push(p.clone()));
    ends(wait).await.unwrap();
    assert_eq!(all_lines(&reports), ["b"]);
    assert_eq!(socket.connections(), 1);
}
