//! Conformance suite: every operation of the spec, called through the generated client
//! against Stoplight Prism, a validating mock server of the same spec.
//!
//! Prism checks each request against the spec (path, query, headers, cookies, bodies,
//! credentials) and answers with what the spec describes; the client must decode that answer
//! into the operation's typed result. Both run twice: Prism in static mode and in dynamic mode
//! with a fixed seed, and each time the client authenticates with an API key and then with a
//! JWT. A recording proxy in between lets the suite see what Prism saw.
//!
//! Run it with `cargo xtask test`, which installs Prism, writes the spec as the generator read
//! it, and sets:
//! - `EI_CONFORMANCE_SPEC`: the normalised spec (required);
//! - `EI_CONFORMANCE_PRISM`: the Prism executable (default `conformance/node_modules/.bin/prism`);
//! - `EI_CONFORMANCE_SEED`: the dynamic mode's seed (default 2, under which most random
//!   answers report success, so the typed results rather than the failure envelope get decoded);
//! - `UPDATE_CONFORMANCE_REPORT=1`: rewrite `conformance/REPORT.md` from this run.
//!
//! The last line is `conformance: N passed, M failed` (and `, K inconclusive` when Prism could
//! not make some answer: see [`Check::prism_failed`]); the process fails when M > 0.

mod generated;
mod prism;
mod proxy;
mod report;
mod support;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use edge_impulse_api::{Client, Error};
use generated::{CASES, SCHEMES};
use prism::{Mode, Prism};
use proxy::{Exchange, Proxy};
use support::{Case, Credential, Done, Expect, Failure, SchemeLocation};

/// Stand-ins for real credentials; Prism only checks that they are present.
const TEST_API_KEY: &str = "ei_conformance_0123456789abcdef0123456789abcdef";
const TEST_JWT: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJjb25mb3JtYW5jZSJ9.c2lnbmF0dXJl";

/// Dynamic mode's seed. Prism re-seeds for every answer, so the seed fixes each operation's
/// answer; under this one most answers have `success: true`.
const DEFAULT_SEED: u64 = 2;

/// Per request; Prism answers in milliseconds, so this only stops a hung run.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The message Prism puts in a rejection must name the part that was made invalid.
const REJECTION_STATUS: u16 = 422;

fn main() -> ExitCode {
    let config = match Config::from_env() {
        Ok(config) => config,
        Err(message) => {
            eprintln!("conformance: {message}");
            println!("conformance: 0 passed, 1 failed");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("conformance: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let outcome = runtime.block_on(run(&config));
    let runs = match outcome {
        Ok(runs) => runs,
        Err(message) => {
            eprintln!("conformance: {message}");
            println!("conformance: 0 passed, 1 failed");
            return ExitCode::FAILURE;
        }
    };
    let report = report::Report::new(&runs, config.seed);
    let text = report.markdown();
    let report_path = config.workspace.join("conformance/REPORT.md");
    if config.update_report {
        match std::fs::write(&report_path, &text) {
            Ok(()) => println!("wrote {}", report_path.display()),
            Err(e) => eprintln!("conformance: {}: {e}", report_path.display()),
        }
    } else if std::fs::read_to_string(&report_path).ok().as_deref() != Some(text.as_str()) {
        println!(
            "note: {} does not match this run; rerun with UPDATE_CONFORMANCE_REPORT=1 and review the diff",
            report_path.display()
        );
    }
    let (passed, failed) = runs.iter().fold((0, 0), |(p, f), run| (p + run.passed(), f + run.failed()));
    let inconclusive: usize = runs.iter().map(Run::inconclusive).sum();
    // An operation Prism could not answer in one run counts only if another run (mode or
    // credential) got an answer for it and the call passed; otherwise it was never checked.
    let unchecked: Vec<&str> = runs
        .iter()
        .flat_map(|run| run.checks.iter().filter(|c| c.prism_failed.is_some()))
        .filter(|check| !runs.iter().flat_map(|run| &run.checks).any(|c| c.case.id == check.case.id && c.kind == check.kind && c.passed()))
        .map(|check| check.case.id)
        .collect();
    for id in &unchecked {
        println!("FAIL {id}: Prism could not make an answer in any run, so the call was never checked");
    }
    let failed = failed + unchecked.len();
    println!("time: {:.1} s", started.elapsed().as_secs_f64());
    match inconclusive {
        0 => println!("conformance: {passed} passed, {failed} failed"),
        _ => println!("conformance: {passed} passed, {failed} failed, {inconclusive} inconclusive (Prism could not make the answer)"),
    }
    if failed > 0 {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

struct Config {
    workspace: PathBuf,
    prism: PathBuf,
    spec: PathBuf,
    seed: u64,
    update_report: bool,
    /// Only the operations whose id contains this text (for working on one operation).
    only: Option<String>,
}

impl Config {
    fn from_env() -> Result<Config, String> {
        let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().ok_or("no workspace above the crate")?.to_path_buf();
        let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let spec = var("EI_CONFORMANCE_SPEC").map(PathBuf::from).ok_or(
            "EI_CONFORMANCE_SPEC is not set: run the suite with `cargo xtask test`, which writes the normalised spec and sets it",
        )?;
        if !spec.is_file() {
            return Err(format!("EI_CONFORMANCE_SPEC: no file at {}", spec.display()));
        }
        let prism = var("EI_CONFORMANCE_PRISM")
            .map(PathBuf::from)
            .unwrap_or_else(|| workspace.join("conformance/node_modules/.bin/prism"));
        if !prism.is_file() {
            return Err(format!("no Prism at {}: run `npm ci` in conformance/ (cargo xtask test does)", prism.display()));
        }
        let seed = match var("EI_CONFORMANCE_SEED") {
            Some(text) => text.trim().parse().map_err(|_| format!("EI_CONFORMANCE_SEED `{text}` is not a number"))?,
            None => DEFAULT_SEED,
        };
        Ok(Config {
            workspace,
            prism,
            spec,
            seed,
            update_report: var("UPDATE_CONFORMANCE_REPORT").as_deref() == Some("1"),
            only: var("EI_CONFORMANCE_ONLY"),
        })
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    ApiKey,
    Jwt,
}

impl Auth {
    pub fn label(self) -> &'static str {
        match self {
            Auth::ApiKey => "API key",
            Auth::Jwt => "JWT",
        }
    }

    fn credential(self) -> Credential {
        match self {
            Auth::ApiKey => Credential::ApiKey,
            Auth::Jwt => Credential::Jwt,
        }
    }
}

/// All checks of one mode and one credential.
pub struct Run {
    pub mode: Mode,
    pub auth: Auth,
    pub checks: Vec<Check>,
    pub elapsed: Duration,
}

impl Run {
    fn passed(&self) -> usize {
        self.checks.iter().filter(|c| c.passed()).count()
    }

    fn failed(&self) -> usize {
        self.checks.iter().filter(|c| c.failure.is_some()).count()
    }

    fn inconclusive(&self) -> usize {
        self.checks.iter().filter(|c| c.prism_failed.is_some()).count()
    }
}

/// The verdict on one call.
pub struct Check {
    pub case: &'static Case,
    pub kind: CheckKind,
    /// Why it failed; `None`: passed.
    pub failure: Option<String>,
    /// What Prism found wrong with its own answer (`sl-violations`, response side).
    pub response_violations: Vec<String>,
    /// Passed because the spec gives this credential no way in, and the client refused to
    /// send the call saying which credential it needs.
    pub refused_credential: bool,
    /// Prism's answer was the API's failure envelope (`success: false`, which dynamic mode
    /// picks at random): the client reported it as `Error::Api` and the body still decoded.
    pub envelope_failure: bool,
    /// Prism failed while making its answer (HTTP 500 with its own `errors#UNKNOWN` problem,
    /// a crash of its fake-data generator) and the client reported that status: the call is
    /// neither passed nor failed. What Prism said.
    pub prism_failed: Option<String>,
}

impl Check {
    pub fn passed(&self) -> bool {
        self.failure.is_none() && self.prism_failed.is_none()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckKind {
    /// The operation called with valid arguments.
    Call,
    /// The same call with one part made invalid, which must be refused.
    Rejection,
}

async fn run(config: &Config) -> Result<Vec<Run>, String> {
    let cases: Vec<&'static Case> = CASES.iter().filter(|c| config.only.as_deref().map_or(true, |only| c.id.contains(only))).collect();
    if cases.len() != CASES.len() {
        println!("only operations matching `{}`: {} of {}", config.only.as_deref().unwrap_or(""), cases.len(), CASES.len());
    }
    let work_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("conformance");
    let spec = prism::spec_for_prism(&config.spec, &work_dir)?;
    let mut runs = Vec::new();
    for mode in [Mode::Static, Mode::Dynamic { seed: config.seed }] {
        let prism = Prism::start(&config.prism, &spec, mode, &work_dir)?;
        let proxy = Proxy::start(prism.address).await?;
        for auth in [Auth::ApiKey, Auth::Jwt] {
            let started = Instant::now();
            let builder = Client::builder().base_url(proxy.url()).timeout(REQUEST_TIMEOUT);
            let client = match auth {
                Auth::ApiKey => builder.api_key(TEST_API_KEY),
                Auth::Jwt => builder.jwt(TEST_JWT),
            }
            .build()
            .map_err(|e| e.to_string())?;
            let mut checks = Vec::new();
            for case in &cases {
                checks.extend(check_case(case, &client, &proxy, auth).await);
            }
            let run = Run { mode, auth, checks, elapsed: started.elapsed() };
            print_run(&run);
            runs.push(run);
        }
        println!("Prism log ({}): {}", mode.label(), prism.log.display());
    }
    Ok(runs)
}

fn print_run(run: &Run) {
    for check in run.checks.iter().filter(|c| !c.passed()) {
        let what = match check.kind {
            CheckKind::Call => "",
            CheckKind::Rejection => " (rejection)",
        };
        match (&check.failure, &check.prism_failed) {
            (Some(failure), _) => println!("FAIL {} {}{what}: {failure}", run.mode.label(), check.case.id),
            (None, Some(problem)) => println!("INCONCLUSIVE {} {}{what}: Prism could not make its answer: {problem}", run.mode.label(), check.case.id),
            (None, None) => {}
        }
    }
    let count = |kind: CheckKind| {
        let of_kind: Vec<&Check> = run.checks.iter().filter(|c| c.kind == kind).collect();
        (of_kind.len(), of_kind.iter().filter(|c| c.passed()).count())
    };
    let (calls, calls_passed) = count(CheckKind::Call);
    let (rejections, rejections_passed) = count(CheckKind::Rejection);
    let flagged = run.checks.iter().filter(|c| !c.response_violations.is_empty()).count();
    let envelopes = run.checks.iter().filter(|c| c.envelope_failure).count();
    let unanswered = match run.inconclusive() {
        0 => String::new(),
        n => format!(", {n} answers Prism could not make"),
    };
    println!(
        "{} / {}: {calls_passed} of {calls} operations passed ({envelopes} answered with the failure envelope), \
         {rejections_passed} of {rejections} rejections passed, {flagged} answers flagged by Prism{unanswered}, {:.1} s",
        run.mode.label(),
        run.auth.label(),
        run.elapsed.as_secs_f64()
    );
}

async fn check_case(case: &'static Case, client: &Client, proxy: &Proxy, auth: Auth) -> Vec<Check> {
    proxy.take();
    let result = (case.call)(client).await;
    let exchanges = proxy.take();
    let mut checks = vec![judge_call(case, auth, result, &exchanges)];
    let admitted = admissible(case, auth).is_some();
    if let (Some(rejection), true) = (&case.rejection, admitted) {
        let result = (rejection.call)(client).await;
        let exchanges = proxy.take();
        let failure = judge_rejection(rejection.field, result, &exchanges);
        checks.push(Check {
            case,
            kind: CheckKind::Rejection,
            failure,
            response_violations: Vec::new(),
            refused_credential: false,
            envelope_failure: false,
            prism_failed: None,
        });
    }
    checks
}

/// The alternatives of the operation's `security` this credential satisfies; `None` when
/// the operation requires credentials and none of its alternatives can be met.
fn admissible(case: &Case, auth: Auth) -> Option<Vec<&'static [usize]>> {
    if case.security.is_empty() {
        return Some(Vec::new());
    }
    let fitting: Vec<&'static [usize]> = case
        .security
        .iter()
        .copied()
        .filter(|alternative| alternative.iter().all(|&i| SCHEMES[i].credential == auth.credential()))
        .collect();
    (!fitting.is_empty()).then_some(fitting)
}

/// The security schemes whose credential the request carried.
fn credentials_sent(exchange: &Exchange) -> Vec<usize> {
    let mut sent: Vec<usize> = SCHEMES
        .iter()
        .enumerate()
        .filter(|(_, scheme)| match scheme.location {
            SchemeLocation::Header => exchange.request_header(scheme.param).is_some(),
            SchemeLocation::Cookie => exchange.has_cookie(scheme.param),
            SchemeLocation::Query => exchange.has_query_param(scheme.param),
        })
        .map(|(i, _)| i)
        .collect();
    sent.sort_unstable();
    sent
}

fn scheme_names(indices: &[usize]) -> String {
    if indices.is_empty() {
        return "none".into();
    }
    indices.iter().map(|&i| SCHEMES[i].name).collect::<Vec<_>>().join(" + ")
}

/// Response-side entries of Prism's `sl-violations` header, and request-side ones.
fn violations(exchange: &Exchange) -> (Vec<String>, Vec<String>) {
    let Some(raw) = &exchange.violations else { return (Vec::new(), Vec::new()) };
    let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(raw) else {
        return (vec![raw.clone()], Vec::new());
    };
    let (mut response, mut request) = (Vec::new(), Vec::new());
    for item in items {
        let location: Vec<String> = item
            .get("location")
            .and_then(|l| l.as_array())
            .map(|parts| parts.iter().map(|p| p.as_str().map_or_else(|| p.to_string(), str::to_owned)).collect())
            .unwrap_or_default();
        let message = item.get("message").and_then(|m| m.as_str()).unwrap_or("");
        let text = format!("{}: {message}", location.join("."));
        if location.first().map(String::as_str) == Some("request") {
            request.push(text);
        } else {
            response.push(text);
        }
    }
    (response, request)
}

fn judge_call(case: &'static Case, auth: Auth, result: Result<Done, Failure>, exchanges: &[Exchange]) -> Check {
    let mut check = Check {
        case,
        kind: CheckKind::Call,
        failure: None,
        response_violations: Vec::new(),
        refused_credential: false,
        envelope_failure: false,
        prism_failed: None,
    };
    // A credential the spec gives no way in is refused by the client before anything is
    // sent, with an error naming the credential the operation needs.
    if let (None, [], Err(Failure::Call(Error::InvalidRequest { message, .. }))) = (admissible(case, auth), exchanges, &result) {
        match message.contains("this operation needs") {
            true => check.refused_credential = true,
            false => check.failure = Some(format!("refused without a request, but not for its credential: {message}")),
        }
        return check;
    }
    let exchange = match (exchanges, &result) {
        ([one], _) => one,
        ([], Err(failure)) => {
            check.failure = Some(failure.to_string());
            return check;
        }
        (many, _) => {
            check.failure = Some(format!("expected one request, the client sent {}", many.len()));
            return check;
        }
    };
    if let (Some(problem), Err(Failure::Call(Error::Status { status: 500, .. }))) = (prism_crash(exchange), &result) {
        check.prism_failed = Some(problem);
        return check;
    }
    let (response_violations, request_violations) = violations(exchange);
    check.response_violations = response_violations;
    let sent = credentials_sent(exchange);
    let admissible = admissible(case, auth);
    let mut problems = Vec::new();
    if exchange.method != case.method {
        problems.push(format!("sent {} instead of {}", exchange.method, case.method));
    }
    match &admissible {
        Some(alternatives) if alternatives.is_empty() => {
            if !sent.is_empty() {
                problems.push(format!("takes no credentials but the request carried {}", scheme_names(&sent)));
            }
        }
        Some(alternatives) => {
            let fits = alternatives.iter().any(|alternative| {
                let mut wanted = alternative.to_vec();
                wanted.sort_unstable();
                wanted == sent
            });
            if !fits {
                problems.push(format!("sent credentials {} instead of one of the spec's alternatives for {}", scheme_names(&sent), auth.label()));
            }
        }
        None => {
            if !sent.is_empty() {
                problems.push(format!("accepts no {} but the request carried {}", auth.label(), scheme_names(&sent)));
            }
        }
    }
    if !request_violations.is_empty() {
        problems.push(format!("Prism found the request off-spec: {}", request_violations.join("; ")));
    }
    match (&admissible, result) {
        (None, other) => problems.push(format!("accepts no {} and the client should have refused it; got {}", auth.label(), describe(&other))),
        (Some(_), Ok(done)) => {
            if exchange.status >= 400 {
                problems.push(format!("HTTP {} from Prism: {}", exchange.status, exchange.body_start()));
            }
            match (case.expect, done) {
                (Expect::Redirect, Done::Redirected(redirect)) => match &exchange.location {
                    Some(location) if same_target(location, &redirect.location) => {}
                    Some(location) => problems.push(format!("redirect to `{location}` returned as `{}`", redirect.location)),
                    None => problems.push(format!("HTTP {} without a Location header (returned as `{}`)", redirect.status, redirect.location)),
                },
                (Expect::Binary, Done::Downloaded(_)) | (Expect::Json | Expect::Empty, Done::Decoded) => {}
                (_, other) => problems.push(format!("unexpected outcome {other:?}")),
            }
        }
        (Some(_), Err(Failure::Call(Error::Api { message, .. }))) => match envelope_problem(case, exchange, &message) {
            None => check.envelope_failure = true,
            Some(problem) => problems.push(problem),
        },
        (Some(_), Err(failure)) => {
            let mut message = failure.to_string();
            if let Failure::Call(Error::Status { .. }) = &failure {
                message = format!("{message} [Prism: HTTP {}]", exchange.status);
            }
            problems.push(message);
        }
    }
    if !problems.is_empty() {
        if !check.response_violations.is_empty() {
            problems.push(format!("Prism flags its own answer: {}", check.response_violations.join("; ")));
        }
        check.failure = Some(problems.join("; "));
    }
    check
}

/// What Prism said when it failed to make its answer: an HTTP 500 carrying its own problem
/// document of type `errors#UNKNOWN` (its other problem types are verdicts on the request).
fn prism_crash(exchange: &Exchange) -> Option<String> {
    if exchange.status != 500 {
        return None;
    }
    let problem: serde_json::Value = serde_json::from_slice(&exchange.body).ok()?;
    if problem.get("type").and_then(|t| t.as_str()) != Some("https://stoplight.io/prism/errors#UNKNOWN") {
        return None;
    }
    let title = problem.get("title").and_then(|t| t.as_str()).unwrap_or("");
    Some(title.lines().next().unwrap_or("").to_owned())
}

/// Checks an `Error::Api` against the answer it came from: a failure envelope whose message
/// the error carries, and which decodes into the operation's result type (the mock's
/// envelope has every field of the type, a real server's failure need not).
fn envelope_problem(case: &Case, exchange: &Exchange, message: &str) -> Option<String> {
    let body: serde_json::Value = match serde_json::from_slice(&exchange.body) {
        Ok(body) => body,
        Err(e) => return Some(format!("reported an API failure `{message}` for an answer that is not JSON ({e})")),
    };
    if body.get("success") != Some(&serde_json::Value::Bool(false)) {
        return Some(format!("reported an API failure `{message}` for an answer without `success: false`"));
    }
    let expected = body.get("error").and_then(|e| e.as_str()).unwrap_or("");
    if expected != message {
        return Some(format!("reported the API failure as `{message}`, the answer says `{expected}`"));
    }
    let decode = case.decode?;
    decode(&exchange.body).err().map(|e| format!("the failure envelope does not decode into the result type {e}"))
}

/// Whether the client's redirect target is the `Location` Prism sent (as a URL: the client
/// resolves and normalises it).
fn same_target(sent: &str, returned: &str) -> bool {
    let Ok(returned) = reqwest::Url::parse(returned) else { return false };
    match reqwest::Url::parse(sent) {
        Ok(absolute) => absolute == returned,
        // Relative: resolved against the request URL, whose origin the returned URL shares.
        Err(_) => returned.join(sent).is_ok_and(|resolved| resolved == returned),
    }
}

fn describe(result: &Result<Done, Failure>) -> String {
    match result {
        Ok(done) => format!("{done:?}"),
        Err(failure) => failure.to_string(),
    }
}

fn judge_rejection(field: &str, result: Result<Done, Failure>, exchanges: &[Exchange]) -> Option<String> {
    if exchanges.len() != 1 {
        return Some(format!("expected one request, the client sent {}", exchanges.len()));
    }
    match result {
        Ok(Done::Rejected { status: REJECTION_STATUS, messages }) => {
            // Prism names a body property `'field'` and a query parameter in lower case.
            let field = field.to_ascii_lowercase();
            let quoted = format!("'{field}'");
            let named = messages.iter().map(|m| m.to_ascii_lowercase()).any(|m| m.contains(&quoted) || m.split(['.', ':', ' ']).any(|word| word == field));
            (!named).then(|| format!("HTTP {REJECTION_STATUS}, but no validation message names `{field}`: {messages:?}"))
        }
        Ok(Done::Rejected { status, messages }) => Some(format!("expected HTTP {REJECTION_STATUS}, got {status}: {messages:?}")),
        other => Some(format!("expected HTTP {REJECTION_STATUS}, got {}", describe(&other))),
    }
}
