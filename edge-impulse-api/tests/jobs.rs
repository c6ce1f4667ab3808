//! Waiting for jobs against a server on 127.0.0.1 that plays a job's life: queued, running,
//! finished (or failed, or never finishing), with its log growing on the way.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use edge_impulse_api::JobLogLevel as Level;
use edge_impulse_api::{Client, Error, JobPhase, JobProgress, LiveLogOptions, RetryPolicy};
use futures_util::StreamExt;
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const PROJECT: i64 = 7;
const JOB: i64 = 42;
const STATUS: &str = "/api/7/jobs/42/status";
const LOGS: &str = "/api/7/jobs/42/stdout";
const CANCEL: &str = "/api/7/jobs/42/cancel";
const FAST: Duration = Duration::from_millis(5);

#[derive(Clone, Copy)]
enum Stage {
    Queued,
    Running,
    Succeeded,
    Failed,
}

fn status(stage: Stage) -> Value {
    let mut job = json!({
        "id": JOB,
        "category": "Training model",
        "key": "keras-3",
        "created": "2024-05-01T10:00:00Z",
        "jobNotificationUids": [],
    });
    if !matches!(stage, Stage::Queued) {
        job["started"] = json!("2024-05-01T10:00:05Z");
    }
    if let Stage::Succeeded | Stage::Failed = stage {
        job["finished"] = json!("2024-05-01T10:09:00Z");
        job["finishedSuccessful"] = json!(matches!(stage, Stage::Succeeded));
    }
    json!({ "success": true, "job": job })
}

/// Answers the next body of `bodies` on each request, repeating the last one.
struct Sequence {
    bodies: Vec<Value>,
    served: AtomicUsize,
}

impl Respond for Sequence {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.served.fetch_add(1, Ordering::SeqCst).min(self.bodies.len() - 1);
        ResponseTemplate::new(200).set_body_json(&self.bodies[n])
    }
}

fn sequence(bodies: Vec<Value>) -> Sequence {
    Sequence { bodies, served: AtomicUsize::new(0) }
}

async fn mount_get(server: &MockServer, at: &str, responder: impl Respond + 'static) {
    Mock::given(method("GET")).and(path(at)).respond_with(responder).mount(server).await;
}

/// A `LogStdoutResponse` of `lines` (text, level), newest first as the server may send them,
/// with `total` lines in the whole log.
fn log_page(lines: &[(&str, &str)], total: usize) -> Value {
    let stdout: Vec<Value> = lines
        .iter()
        .enumerate()
        .rev()
        .map(|(i, (data, level))| json!({ "created": format!("2024-05-01T10:00:{:02}Z", 10 + i), "data": data, "logLevel": level }))
        .collect();
    json!({ "success": true, "stdout": stdout, "totalCount": total })
}

fn client(server: &MockServer) -> Client {
    Client::builder().base_url(server.uri()).api_key("ei_jobs_test_key").retry(RetryPolicy::disabled()).build().unwrap()
}

async fn requests_to(server: &MockServer, at: &str) -> usize {
    server.received_requests().await.unwrap().iter().filter(|r| r.url.path() == at).count()
}

#[tokio::test]
async fn waits_until_the_job_succeeds_and_reports_every_poll() {
    let server = MockServer::start().await;
    let stages = [Stage::Queued, Stage::Running, Stage::Running, Stage::Succeeded];
    mount_get(&server, STATUS, sequence(stages.iter().map(|s| status(*s)).collect())).await;
    let client = client(&server);

    let mut reports: Vec<JobProgress> = Vec::new();
    let outcome = client.wait_for_job(PROJECT, JOB).poll_interval(FAST).on_progress(|p| reports.push(p.clone())).await.unwrap();

    let phases: Vec<JobPhase> = reports.iter().map(|p| p.phase).collect();
    assert_eq!(phases, [JobPhase::Queued, JobPhase::Running, JobPhase::Running, JobPhase::Succeeded]);
    assert_eq!(reports.iter().map(|p| p.polls).collect::<Vec<_>>(), [1, 2, 3, 4]);
    assert!(reports.iter().all(|p| p.job_id == JOB && p.new_log_lines.is_empty()));
    assert_eq!(outcome.polls, 4);
    assert_eq!(outcome.job.finished_successful, Some(true));
    assert!(outcome.logs.is_empty(), "logs only on request");
    assert_eq!(requests_to(&server, STATUS).await, 4);
    assert_eq!(requests_to(&server, LOGS).await, 0, "no log request unless asked");
}

#[tokio::test]
async fn logs_are_fetched_on_request_oldest_first() {
    let server = MockServer::start().await;
    mount_get(&server, STATUS, sequence(vec![status(Stage::Running), status(Stage::Succeeded)])).await;
    let lines = [("Loading data", "info"), ("Epoch 1/2", "info"), ("Epoch 2/2", "info"), ("Done", "info")];
    mount_get(&server, LOGS, ResponseTemplate::new(200).set_body_json(log_page(&lines, 4))).await;

    let outcome = client(&server).wait_for_job(PROJECT, JOB).poll_interval(FAST).fetch_logs(true).await.unwrap();
    let text: Vec<&str> = outcome.logs.iter().map(|l| l.data.as_str()).collect();
    assert_eq!(text, ["Loading data", "Epoch 1/2", "Epoch 2/2", "Done"]);
    assert_eq!(requests_to(&server, LOGS).await, 1);
}

#[tokio::test]
async fn a_failed_job_is_an_error_that_says_why() {
    let server = MockServer::start().await;
    mount_get(&server, STATUS, sequence(vec![status(Stage::Running), status(Stage::Failed)])).await;
    let lines = [("Training", "info"), ("Out of memory while training", "error"), ("Job failed (see above)", "info")];
    mount_get(&server, LOGS, ResponseTemplate::new(200).set_body_json(log_page(&lines, 3))).await;

    let mut last_phase = None;
    let error = client(&server).wait_for_job(PROJECT, JOB).poll_interval(FAST).on_progress(|p| last_phase = Some(p.phase)).await.unwrap_err();

    assert_eq!(last_phase, Some(JobPhase::Failed), "the final report is delivered before the error");
    let Error::JobFailed { operation, job_id, job, logs } = &error else { panic!("{error:?}") };
    assert_eq!((*operation, *job_id), ("getJobStatus", JOB));
    assert_eq!(job.finished_successful, Some(false));
    assert_eq!(logs.len(), 3);
    assert_eq!(logs[1].log_level, Some(Level::Error));
    // The error-level line says more than the last one.
    assert_eq!(error.to_string(), "getJobStatus: job 42 (Training model) failed: Out of memory while training");
    assert_eq!(error.operation(), Some("getJobStatus"));
}

#[tokio::test]
async fn a_failed_job_without_a_log_is_still_a_clear_error() {
    let server = MockServer::start().await;
    mount_get(&server, STATUS, sequence(vec![status(Stage::Failed)])).await;
    Mock::given(method("GET")).and(path(LOGS)).respond_with(ResponseTemplate::new(500)).mount(&server).await;
    let error = client(&server).wait_for_job(PROJECT, JOB).poll_interval(FAST).await.unwrap_err();
    assert!(matches!(&error, Error::JobFailed { logs, .. } if logs.is_empty()), "{error:?}");
    assert_eq!(error.to_string(), "getJobStatus: job 42 (Training model) failed");
}

#[tokio::test]
async fn times_out_and_leaves_the_job_running_by_default() {
    let server = MockServer::start().await;
    mount_get(&server, STATUS, sequence(vec![status(Stage::Running)])).await;
    Mock::given(method("POST")).and(path(CANCEL)).respond_with(ResponseTemplate::new(200)).expect(0).mount(&server).await;

    let error = client(&server).wait_for_job(PROJECT, JOB).poll_interval(Duration::from_millis(20)).timeout(Duration::from_millis(150)).await.unwrap_err();
    let Error::JobTimeout { job_id, timeout, cancelled, cancel_error, .. } = &error else { panic!("{error:?}") };
    assert_eq!((*job_id, *timeout, *cancelled), (JOB, Duration::from_millis(150), false));
    assert!(cancel_error.is_none());
    assert!(error.to_string().ends_with("did not finish within 150ms; it may still be running"), "{error}");
    assert!(requests_to(&server, STATUS).await >= 2, "it polled until the deadline");
}

#[tokio::test]
async fn cancels_the_job_on_timeout_when_asked() {
    let server = MockServer::start().await;
    mount_get(&server, STATUS, sequence(vec![status(Stage::Queued)])).await;
    Mock::given(method("POST"))
        .and(path(CANCEL))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(1)
        .mount(&server)
        .await;

    let error = client(&server)
        .wait_for_job(PROJECT, JOB)
        .poll_interval(Duration::from_millis(20))
        .timeout(Duration::from_millis(100))
        .cancel_on_timeout(true)
        .await
        .unwrap_err();
    assert!(matches!(error, Error::JobTimeout { cancelled: true, cancel_error: None, .. }), "{error:?}");
    assert!(error.to_string().ends_with("; it was cancelled"), "{error}");
}

#[tokio::test]
async fn a_refused_cancellation_is_reported_with_the_timeout() {
    let server = MockServer::start().await;
    mount_get(&server, STATUS, sequence(vec![status(Stage::Running)])).await;
    Mock::given(method("POST"))
        .and(path(CANCEL))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": false, "error": "Job cannot be cancelled"})))
        .expect(1)
        .mount(&server)
        .await;

    let error =
        client(&server).wait_for_job(PROJECT, JOB).poll_interval(FAST).timeout(Duration::from_millis(50)).cancel_on_timeout(true).await.unwrap_err();
    let Error::JobTimeout { cancelled: false, cancel_error: Some(cause), .. } = &error else { panic!("{error:?}") };
    assert!(matches!(**cause, Error::Api { operation: "cancelJob", .. }), "{cause:?}");
    assert!(error.to_string().ends_with("cancelling it failed, it may still be running"), "{error}");
    // Why is the error's source, so that a printed chain shows it once.
    let source = std::error::Error::source(&error).expect("the cancel error is the source").to_string();
    assert_eq!(source, "cancelJob: the API reported a failure (HTTP 200): Job cannot be cancelled");
    assert!(!error.to_string().contains("Job cannot be cancelled"));
}

#[tokio::test]
async fn the_timeout_also_bounds_a_status_request_that_hangs() {
    let server = MockServer::start().await;
    mount_get(&server, STATUS, ResponseTemplate::new(200).set_body_json(status(Stage::Running)).set_delay(Duration::from_secs(20))).await;
    let started = Instant::now();
    let error = client(&server).wait_for_job(PROJECT, JOB).timeout(Duration::from_millis(200)).await.unwrap_err();
    assert!(matches!(error, Error::JobTimeout { .. }), "{error:?}");
    // Far below the server's 20 s delay: the wait did not sit on the hanging request.
    assert!(started.elapsed() < Duration::from_secs(10), "{:?}", started.elapsed());
}

#[tokio::test]
async fn a_failing_status_request_ends_the_wait_with_its_error() {
    let server = MockServer::start().await;
    mount_get(&server, STATUS, ResponseTemplate::new(200).set_body_json(json!({"success": false, "error": "Job not found"}))).await;
    let error = client(&server).wait_for_job(PROJECT, JOB).poll_interval(FAST).await.unwrap_err();
    let Error::Api { operation: "getJobStatus", message, .. } = &error else { panic!("{error:?}") };
    assert_eq!(message, "Job not found");

    let server = MockServer::start().await;
    mount_get(&server, STATUS, ResponseTemplate::new(404)).await;
    let error = client(&server).wait_for_job(PROJECT, JOB).poll_interval(FAST).await.unwrap_err();
    assert_eq!((error.operation(), error.status()), (Some("getJobStatus"), Some(404)));
}

#[tokio::test]
async fn following_the_log_reports_each_new_line_once() {
    let server = MockServer::start().await;
    let stages = [Stage::Queued, Stage::Running, Stage::Running, Stage::Running, Stage::Succeeded];
    mount_get(&server, STATUS, sequence(stages.iter().map(|s| status(*s)).collect())).await;
    let all = [("a", "info"), ("b", "info"), ("c", "warn"), ("d", "info"), ("e", "info")];
    // The log as each poll sees it: empty, 2 lines, 4, still 4, then 5 of which the API
    // returns only the last 3 (it returns a window of the log, not all of it).
    let pages = vec![log_page(&[], 0), log_page(&all[..2], 2), log_page(&all[..4], 4), log_page(&all[..4], 4), log_page(&all[2..], 5)];
    mount_get(&server, LOGS, sequence(pages)).await;

    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    client(&server)
        .wait_for_job(PROJECT, JOB)
        .poll_interval(FAST)
        .follow_logs(true).live_logs(LiveLogOptions::disabled())
        .on_progress(move |p| record.lock().unwrap().push(p.new_log_lines.iter().map(|l| l.data.clone()).collect::<Vec<_>>()))
        .await
        .unwrap();
    let seen = seen.lock().unwrap().clone();
    assert_eq!(seen, [vec![], vec!["a", "b"], vec!["c", "d"], vec![], vec!["e"]]);
}

#[cfg(feature = "organization-jobs")]
#[tokio::test]
async fn organization_jobs_use_the_organization_operations() {
    let server = MockServer::start().await;
    let status_path = "/api/organizations/3/jobs/42/status";
    mount_get(&server, status_path, sequence(vec![status(Stage::Running)])).await;
    Mock::given(method("POST"))
        .and(path("/api/organizations/3/jobs/42/cancel"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"success": true})))
        .expect(1)
        .mount(&server)
        .await;
    let error =
        client(&server).wait_for_organization_job(3, JOB).poll_interval(FAST).timeout(Duration::from_millis(50)).cancel_on_timeout(true).await.unwrap_err();
    assert!(matches!(error, Error::JobTimeout { operation: "getOrganizationJobStatus", cancelled: true, .. }), "{error:?}");

    let server = MockServer::start().await;
    mount_get(&server, status_path, sequence(vec![status(Stage::Running), status(Stage::Failed)])).await;
    mount_get(&server, "/api/organizations/3/jobs/42/stdout", ResponseTemplate::new(200).set_body_json(log_page(&[("disk full", "error")], 1))).await;
    let error = client(&server).wait_for_organization_job(3, JOB).poll_interval(FAST).await.unwrap_err();
    assert_eq!(error.to_string(), "getOrganizationJobStatus: job 42 (Training model) failed: disk full");
}

/// Built with `jobs` but not `projects` (`cargo xtask test` runs this file so), a project
/// job's logs cannot go live (the socket token is a `projects` operation): following them
/// polls from the start, asks for no token, and reports no live-log failure.
#[cfg(not(feature = "projects"))]
#[tokio::test]
async fn without_the_projects_feature_followed_logs_are_polled() {
    let server = MockServer::start().await;
    let stages = [Stage::Running, Stage::Running, Stage::Succeeded];
    mount_get(&server, STATUS, sequence(stages.iter().map(|s| status(*s)).collect())).await;
    let all = [("a", "info"), ("b", "info"), ("c", "info")];
    mount_get(&server, LOGS, sequence(vec![log_page(&all[..1], 1), log_page(&all[..2], 2), log_page(&all, 3)])).await;

    let mut reports: Vec<JobProgress> = Vec::new();
    let outcome = client(&server).wait_for_job(PROJECT, JOB).poll_interval(FAST).follow_logs(true).on_progress(|p| reports.push(p.clone())).await.unwrap();
    let lines: Vec<String> = reports.iter().flat_map(|p| p.new_log_lines.iter().map(|l| l.data.clone())).collect();
    assert_eq!(lines, ["a", "b", "c"]);
    assert!(reports.iter().all(|p| p.live_logs_error.is_none()), "no live attempt to fail");
    assert_eq!(outcome.job.finished_successful, Some(true));
    assert_eq!(requests_to(&server, "/api/7/socket-token").await, 0);
}

#[tokio::test]
async fn progress_as_a_stream() {
    let server = MockServer::start().await;
    mount_get(&server, STATUS, sequence(vec![status(Stage::Queued), status(Stage::Running), status(Stage::Succeeded)])).await;
    let client = client(&server);
    let items: Vec<_> = client.wait_for_job(PROJECT, JOB).poll_interval(FAST).into_stream().collect().await;
    let phases: Vec<JobPhase> = items.into_iter().map(|item| item.unwrap().phase).collect();
    assert_eq!(phases, [JobPhase::Queued, JobPhase::Running, JobPhase::Succeeded]);

    let server = MockServer::start().await;
    mount_get(&server, STATUS, sequence(vec![status(Stage::Running), status(Stage::Failed)])).await;
    let client = self::client(&server);
    let items: Vec<_> = client.wait_for_job(PROJECT, JOB).poll_interval(FAST).into_stream().collect().await;
    assert_eq!(items.len(), 3, "two reports, then the error: {items:?}");
    assert_eq!(items[1].as_ref().unwrap().phase, JobPhase::Failed);
    assert!(matches!(items[2], Err(Error::JobFailed { job_id: JOB, .. })), "{:?}", items[2]);
}

/// A `LogStdoutResponse` whose lines (oldest first in `lines`) were all printed in the same
/// second, newest first as the endpoint sends them.
fn same_second_page(lines: &[&str], total: usize) -> Value {
    let stdout: Vec<Value> = lines.iter().rev().map(|data| json!({ "created": "2024-05-01T10:00:10Z", "data": data })).collect();
    json!({ "success": true, "stdout": stdout, "totalCount": total })
}

/// Follows the log of a job that polls `stages`, the log endpoint answering `pages` in turn;
/// returns each report's new lines and skipped count.
async fn followed(stages: &[Stage], pages: Vec<Value>) -> Vec<(Vec<String>, u64)> {
    let server = MockServer::start().await;
    mount_get(&server, STATUS, sequence(stages.iter().map(|s| status(*s)).collect())).await;
    mount_get(&server, LOGS, sequence(pages)).await;
    let mut seen = Vec::new();
    client(&server)
        .wait_for_job(PROJECT, JOB)
        .poll_interval(FAST)
        .follow_logs(true).live_logs(LiveLogOptions::disabled())
        .on_progress(|p| seen.push((p.new_log_lines.iter().map(|l| l.data.clone()).collect(), p.skipped_log_lines)))
        .await
        .unwrap();
    seen
}

#[tokio::test]
async fn lines_printed_in_the_same_second_are_put_oldest_first() {
    let pages = vec![same_second_page(&["a"], 1), same_second_page(&["a", "b", "c"], 3)];
    let seen = followed(&[Stage::Running, Stage::Succeeded], pages).await;
    assert_eq!(seen, [(vec!["a".to_owned()], 0), (vec!["b".to_owned(), "c".to_owned()], 0)]);

    // A traceback printed at once: the error quotes its last line, not its first.
    let server = MockServer::start().await;
    mount_get(&server, STATUS, sequence(vec![status(Stage::Failed)])).await;
    let traceback = ["Traceback (most recent call last):", "  File \"train.py\", line 3", "ValueError: bad input shape"];
    mount_get(&server, LOGS, ResponseTemplate::new(200).set_body_json(same_second_page(&traceback, 3))).await;
    let error = client(&server).wait_for_job(PROJECT, JOB).poll_interval(FAST).await.unwrap_err();
    assert_eq!(error.to_string(), "getJobStatus: job 42 (Training model) failed: ValueError: bad input shape");
}

#[tokio::test]
async fn a_log_count_that_goes_backwards_does_not_hide_new_lines() {
    let pages = vec![same_second_page(&["a", "b"], 2), same_second_page(&["a", "b", "c"], 1), same_second_page(&["a", "b", "c", "d"], 2)];
    let seen = followed(&[Stage::Running, Stage::Running, Stage::Succeeded], pages).await;
    let lines: Vec<Vec<String>> = seen.into_iter().map(|(lines, _)| lines).collect();
    assert_eq!(lines, [vec!["a", "b"], vec!["c"], vec!["d"]]);
}

#[tokio::test]
async fn lines_beyond_the_window_are_counted_as_skipped_and_the_window_is_asked_for() {
    let pages = vec![same_second_page(&["a", "b"], 2), same_second_page(&["x", "y", "z"], 10)];
    let seen = followed(&[Stage::Running, Stage::Succeeded], pages).await;
    assert_eq!(seen, [(vec!["a".to_owned(), "b".to_owned()], 0), (vec!["x".to_owned(), "y".to_owned(), "z".to_owned()], 5)]);

    let server = MockServer::start().await;
    mount_get(&server, STATUS, sequence(vec![status(Stage::Succeeded)])).await;
    Mock::given(method("GET"))
        .and(path(LOGS))
        .and(wiremock::matchers::query_param("limit", "1000"))
        .respond_with(ResponseTemplate::new(200).set_body_json(same_second_page(&["a"], 1)))
        .expect(1)
        .mount(&server)
        .await;
    client(&server).wait_for_job(PROJECT, JOB).follow_logs(true).live_logs(LiveLogOptions::disabled()).await.unwrap();
}

#[tokio::test]
async fn a_failed_log_request_is_reported_and_does_not_fail_a_succeeded_job() {
    let server = MockServer::start().await;
    mount_get(&server, STATUS, sequence(vec![status(Stage::Running), status(Stage::Succeeded)])).await;
    let answers = Arc::new(AtomicUsize::new(0));
    let counter = answers.clone();
    // The first log request answers, every later one fails.
    let respond = move |_: &Request| match counter.fetch_add(1, Ordering::SeqCst) {
        0 => ResponseTemplate::new(200).set_body_json(same_second_page(&["a"], 1)),
        _ => ResponseTemplate::new(500).set_body_json(json!({"success": false, "error": "log store down"})),
    };
    mount_get(&server, LOGS, respond).await;

    let mut reports = Vec::new();
    let outcome = client(&server)
        .wait_for_job(PROJECT, JOB)
        .poll_interval(FAST)
        .follow_logs(true).live_logs(LiveLogOptions::disabled())
        .fetch_logs(true)
        .on_progress(|p| reports.push(p.clone()))
        .await
        .expect("the job succeeded although its log could not be read");
    assert_eq!(reports.len(), 2);
    assert!(reports[0].log_error.is_none());
    let last = &reports[1];
    assert_eq!(last.phase, JobPhase::Succeeded);
    let error = last.log_error.as_deref().expect("the final report says why it has no lines");
    assert_eq!((error.operation(), error.status()), (Some("getJobsLogs"), Some(500)));
    assert!(outcome.logs.is_empty());
    let error = outcome.log_error.as_deref().expect("the outcome says why it has no log");
    assert_eq!(error.operation(), Some("getJobsLogs"));
}

/// Guards a wait that must end well before `limit`: a hang fails the test instead of
/// blocking it (the figure is a ceiling, not a measurement).
async fn ends_within<T>(limit: Duration, wait: impl std::future::IntoFuture<Output = T>) -> T {
    tokio::time::timeout(limit, wait).await.expect("the wait hung on a stalled request")
}

#[tokio::test]
async fn the_timeout_bounds_log_requests_and_the_cancel() {
    let stall = Duration::from_secs(3600);
    let server = MockServer::start().await;
    mount_get(&server, STATUS, sequence(vec![status(Stage::Running)])).await;
    mount_get(&server, LOGS, ResponseTemplate::new(200).set_body_json(same_second_page(&[], 0)).set_delay(stall)).await;
    Mock::given(method("POST")).and(path(CANCEL)).respond_with(ResponseTemplate::new(200).set_delay(stall)).mount(&server).await;
    let client = client(&server);

    let following = client.wait_for_job(PROJECT, JOB).poll_interval(FAST).timeout(Duration::from_millis(300)).follow_logs(true).live_logs(LiveLogOptions::disabled());
    let error = ends_within(Duration::from_secs(60), following).await.unwrap_err();
    assert!(matches!(error, Error::JobTimeout { cancelled: false, cancel_error: None, .. }), "{error:?}");

    let cancelling = client.wait_for_job(PROJECT, JOB).poll_interval(FAST).timeout(Duration::from_millis(300)).cancel_on_timeout(true);
    let error = ends_within(Duration::from_secs(60), cancelling).await.unwrap_err();
    let Error::JobTimeout { cancelled: false, cancel_error: Some(cause), .. } = &error else { panic!("{error:?}") };
    assert!(matches!(**cause, Error::Timeout { operation: "cancelJob", .. }), "{cause:?}");

    // The log fetched for a succeeded or failed job is bounded too.
    let server = MockServer::start().await;
    mount_get(&server, STATUS, sequence(vec![status(Stage::Running), status(Stage::Succeeded)])).await;
    mount_get(&server, LOGS, ResponseTemplate::new(200).set_body_json(same_second_page(&[], 0)).set_delay(stall)).await;
    let client = self::client(&server);
    let fetching = client.wait_for_job(PROJECT, JOB).poll_interval(FAST).timeout(Duration::from_millis(300)).fetch_logs(true);
    let outcome = ends_within(Duration::from_secs(60), fetching).await.unwrap();
    assert!(matches!(outcome.log_error.as_deref(), Some(Error::Timeout { operation: "getJobsLogs", .. })), "{:?}", outcome.log_error);
}
