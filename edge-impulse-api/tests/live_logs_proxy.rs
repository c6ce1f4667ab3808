//! Live job logs when the environment names a proxy: the socket cannot use it, so the wait
//! polls from the start and says why, instead of failing to connect for the reconnection
//! budget. A test binary of its own, because it sets process-wide environment variables.

#[path = "common/socketio.rs"]
mod socketio;

use std::sync::atomic::Ordering;
use std::time::Duration;

use edge_impulse_api::{Client, LiveLogOptions, RetryPolicy};
use socketio::{flag, Behaviour, FakeSocketServer, Step};
use wiremock::MockServer;

const JOB: i64 = 42;

#[tokio::test]
async fn a_proxy_in_the_environment_makes_the_wait_poll_at_once_and_say_why() {
    // Requests to 127.0.0.1 go direct; the socket's host, `localhost`, would go through the
    // proxy (a closed port: nothing must try it).
    std::env::set_var("HTTP_PROXY", "http://proxy-user:proxy-pass@127.0.0.1:9");
    std::env::set_var("NO_PROXY", "127.0.0.1");

    let socket = FakeSocketServer::start(JOB, vec![Behaviour::Script(vec![Step::Line("never sent".into())])]).await;
    socket.write_log(&["a", "b"]);
    let finished = flag();
    let server = MockServer::start().await;
    socketio::mount_job_api(&server, &socket, JOB, finished.clone(), Duration::ZERO).await;

    let client = Client::builder().base_url(server.uri()).api_key("ei_live_test_key").retry(RetryPolicy::disabled()).build().unwrap();
    let endpoint = socket.url.replace("127.0.0.1", "localhost");
    // A budget far longer than the test: the fallback must not wait for it.
    let options = LiveLogOptions::default().endpoint(endpoint).reconnect_budget(Duration::from_secs(3600)).status_interval(Duration::from_millis(20));
    let mut reports = Vec::new();
    let wait = client.wait_for_job(7, JOB).poll_interval(Duration::from_millis(20)).follow_logs(true).live_logs(options).on_progress(|p| {
        reports.push(p.clone());
        finished.store(true, Ordering::SeqCst);
    });
    tokio::time::timeout(Duration::from_secs(60), wait).await.expect("the wait hung").unwrap();

    let lines: Vec<&str> = reports.iter().flat_map(|p| p.new_log_lines.iter().map(|l| l.data.as_str())).collect();
    assert_eq!(lines, ["a", "b"]);
    let error = reports[0].live_logs_error.as_deref().expect("the first report says why");
    let shown = error.to_string();
    assert!(shown.contains("through the proxy http://127.0.0.1:9"), "{shown}");
    assert!(!shown.contains("proxy-pass") && !format!("{error:?}").contains("proxy-pass"), "the proxy's password leaked: {shown}");
    assert_eq!(socket.connections(), 0, "the socket did not try to connect");
}
