//! The invariant of log delivery, checked on generated interleavings: whatever the socket
//! carries, drops or repeats, and however slow the catch-up answers are, the lines a wait
//! delivers are the server's log exactly (nothing lost, nothing doubled, in its order).
//!
//! Each case plays a generated script on the fake Socket.IO server of tests/common/socketio.rs
//! (lines sent on the socket, lines written while no socket carries them, bursts of one
//! repeated text, pauses, reconnects) with a wiremock REST side whose log answers take a
//! generated delay. Cases are few and short so that the test runs in seconds on 2 cores.

#[path = "common/socketio.rs"]
mod socketio;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;
use std::time::Duration;

use edge_impulse_api::{Client, JobProgress, LiveLogOptions, RetryPolicy};
use proptest::prelude::*;
use socketio::{flag, Behaviour, FakeSocketServer, Step};
use wiremock::MockServer;

const JOB: i64 = 42;

/// Texts that repeat: blank lines, progress lines, one with a trailing newline.
const TEXTS: [&str; 5] = ["Still running...", "", "Epoch 1/3", "Epoch 1/3\n", "done"];

#[derive(Debug, Clone)]
enum Action {
    /// A line written to the log and sent on the socket.
    Line(usize),
    /// A line written to the log that the socket never carries.
    Missed(usize),
    /// Many lines of one text at once.
    Burst(usize, usize),
    /// The server waits before its next step.
    Pause(u64),
    /// The server closes the connection; the lines before the next `hello` are not sent.
    Reconnect(Vec<usize>),
}

fn action() -> impl Strategy<Value = Action> {
    let text = 0..TEXTS.len();
    prop_oneof![
        6 => text.clone().prop_map(Action::Line),
        1 => text.clone().prop_map(Action::Missed),
        1 => (1usize..120, text.clone()).prop_map(|(n, t)| Action::Burst(n, t)),
        2 => (0u64..25).prop_map(Action::Pause),
        1 => proptest::collection::vec(text, 0..4).prop_map(Action::Reconnect),
    ]
}

/// The connections' behaviours for a script; the job finishes at its end.
fn behaviours(script: &[Action], finished: &Arc<AtomicBool>, finish_event: bool) -> Vec<Behaviour> {
    let mut connections: Vec<(Vec<usize>, Vec<Step>)> = vec![(Vec::new(), Vec::new())];
    for action in script {
        let steps = &mut connections.last_mut().unwrap().1;
        match action {
            Action::Line(t) => steps.push(Step::Line(TEXTS[*t].into())),
            Action::Missed(t) => steps.push(Step::LogOnly(TEXTS[*t].into())),
            Action::Burst(n, t) => steps.extend((0..*n).map(|_| Step::Line(TEXTS[*t].into()))),
            Action::Pause(ms) => steps.push(Step::Pause(Duration::from_millis(*ms))),
            Action::Reconnect(written) => connections.push((written.clone(), Vec::new())),
        }
    }
    let last = connections.len() - 1;
    let mut behaviours = Vec::new();
    for (n, (written, mut steps)) in connections.into_iter().enumerate() {
        if n == last {
            steps.push(Step::Finish(finished.clone()));
            if finish_event {
                steps.push(Step::FinishedEvent(true));
            }
        } else {
            steps.push(Step::Close);
        }
        let mut frames: Vec<Step> = written.iter().map(|t| Step::LogOnly(TEXTS[*t].into())).collect();
        // The lines written before `hello` went out on no socket.
        frames.push(Step::Hello);
        frames.extend(steps);
        behaviours.push(Behaviour::Raw(frames));
    }
    // Any later connection (a ping that came too late on a loaded machine) says hello and
    // carries nothing new.
    behaviours.push(Behaviour::Script(Vec::new()));
    behaviours
}

async fn run(script: Vec<Action>, log_delay: Duration, finish_event: bool) -> (Vec<String>, Vec<String>, u64) {
    let finished = flag();
    let socket = FakeSocketServer::start(JOB, behaviours(&script, &finished, finish_event)).await;
    let server = MockServer::start().await;
    socketio::mount_job_api(&server, &socket, JOB, finished.clone(), log_delay).await;

    let client = Client::builder().base_url(server.uri()).api_key("ei_property_key").retry(RetryPolicy::disabled()).build().unwrap();
    let options = LiveLogOptions::default()
        .endpoint(&socket.url)
        .ping_interval(Duration::from_millis(200))
        .pong_timeout(Duration::from_millis(800))
        .hello_timeout(Duration::from_secs(2))
        .status_interval(Duration::from_millis(40))
        .reconnect_delay(Duration::from_millis(5))
        .reconnect_budget(Duration::from_secs(10));
    let mut reports: Vec<JobProgress> = Vec::new();
    let wait = client.wait_for_job(7, JOB).poll_interval(Duration::from_millis(20)).follow_logs(true).live_logs(options).on_progress(|p| reports.push(p.clone()));
    // A ceiling against a hang, not a measurement.
    tokio::time::timeout(Duration::from_secs(60), wait).await.expect("the wait hung").expect("the job succeeded");
    let delivered = reports.iter().flat_map(|p| p.new_log_lines.iter().map(|l| l.data.clone())).collect();
    let skipped = reports.iter().map(|p| p.skipped_log_lines).sum();
    (delivered, socket.log(), skipped)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, max_shrink_iters: 40, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_delivered_lines_are_the_servers_log(
        script in proptest::collection::vec(action(), 0..24),
        log_delay in 0u64..60,
        finish_event in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let (delivered, log, skipped) = runtime.block_on(run(script, Duration::from_millis(log_delay), finish_event));
        prop_assert_eq!(delivered, log);
        prop_assert_eq!(skipped, 0);
    }
}
