//! `cargo xtask fetch-spec` and the auto-fetch of `cargo xtask regen`, run as a maintainer
//! would: the xtask binary in a scratch checkout, fetching from a server on 127.0.0.1.
//!
//! Every refusal must name the URL and the offline alternative and leave nothing in `spec/`.
//! The scratch checkout also proves that xtask works on the checkout it runs in, not on the one
//! it was built from.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use sha2::{Digest, Sha256};

const SPEC: &[u8] = include_bytes!("fixtures/mini-spec.yaml");

/// The same document one version later (a new optional property).
fn newer_spec() -> Vec<u8> {
    let text = std::str::from_utf8(SPEC).expect("UTF-8 fixture");
    text.replace("        filename: {type: string}\n", "        filename: {type: string}\n        label: {type: string}\n").into_bytes()
}

fn sha256(bytes: &[u8]) -> String {
    format!("{:x}", Sha256::digest(bytes))
}

/// A server on 127.0.0.1 answering each path with a canned (possibly broken) HTTP answer.
struct Server {
    port: u16,
}

impl Server {
    fn start() -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
        let port = listener.local_addr().expect("local address").port();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                std::thread::spawn(move || answer(stream));
            }
        });
        Server { port }
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

fn answer(mut stream: TcpStream) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone stream"));
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/").to_string();
    let at = |commit: &str| format!("/raw/owner/repo/{commit}/spec.yml");
    let ok = |body: &[u8], content_type: &str| {
        let mut bytes = format!("HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).into_bytes();
        bytes.extend_from_slice(body);
        bytes
    };
    let response = match path.as_str() {
        "/spec.yml" => ok(SPEC, "text/plain; charset=utf-8"),
        "/newer.yml" => ok(&newer_spec(), "text/plain; charset=utf-8"),
        "/tampered.yml" => {
            let mut body = SPEC.to_vec();
            let at = body.iter().position(|&b| b == b'm').expect("an m to change");
            body[at] = b'n';
            ok(&body, "text/plain")
        }
        "/short.yml" => ok(&SPEC[..SPEC.len() - 10], "text/plain"),
        "/truncated.yml" => {
            let mut bytes = ok(SPEC, "text/plain");
            bytes.truncate(bytes.len() - SPEC.len() / 2);
            bytes
        }
        "/page.html" => ok(b"<!DOCTYPE html>\n<html><body>Sign in to continue</body></html>\n", "text/html; charset=utf-8"),
        "/not-openapi.yml" => ok(b"title: just some YAML\nitems: [1, 2]\n", "text/plain"),
        // A GitHub stand-in: the branch `main` moved from OLD_COMMIT to NEW_COMMIT; the API
        // answers which commit a branch is at (`gone` is no branch: 404).
        "/api/repos/owner/repo/commits/main" => ok(format!("{NEW_COMMIT}\n").as_bytes(), "application/vnd.github.sha"),
        p if p == at(OLD_COMMIT) => ok(SPEC, "text/plain"),
        p if p == at(NEW_COMMIT) || p == at("main") => ok(&newer_spec(), "text/plain"),
        _ => b"HTTP/1.1 404 Not Found\r\nContent-Length: 9\r\nConnection: close\r\n\r\nnot found".to_vec(),
    };
    let _ = stream.write_all(&response);
}

/// The commit the pinned file is at, and the one the branch has moved to since.
const OLD_COMMIT: &str = "a1176ce6eaf44dbfb853f4952e6bb3ce71fd77cc";
const NEW_COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// A port nothing listens on: bound, then released.
fn closed_port_url() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = listener.local_addr().expect("local address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/spec.yml")
}

/// A scratch checkout: workspace manifest, pin (with comments), overrides, an empty crate
/// whose manifest has the markers regen writes the generated features between.
struct Checkout {
    root: PathBuf,
}

const PIN_COMMENTS: &str = "# The upstream spec the committed generated code was produced from.\n";

impl Checkout {
    fn new(test: &str, pinned_url: &str) -> Checkout {
        let root = std::env::temp_dir().join(format!("xtask-fetch-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("spec")).expect("spec dir");
        std::fs::create_dir_all(root.join("edge-impulse-api")).expect("crate dir");
        std::fs::write(root.join("Cargo.toml"), "[workspace]\nmembers = [\"codegen\", \"xtask\", \"edge-impulse-api\"]\n").expect("manifest");
        let features = format!("[features]\n{}\n{}\n", edge_impulse_codegen::emit::FEATURES_BEGIN, edge_impulse_codegen::emit::FEATURES_END);
        std::fs::write(root.join("edge-impulse-api/Cargo.toml"), features).expect("crate manifest");
        let pin = format!(
            "{PIN_COMMENTS}url = \"{pinned_url}\"\n# Formerly elsewhere.\nsha256 = \"{}\"\nsize = {} # bytes\n",
            sha256(SPEC),
            SPEC.len()
        );
        std::fs::write(root.join("spec/upstream.toml"), pin).expect("pin");
        std::fs::write(root.join("spec/overrides.yaml"), "credentials:\n  ApiKeyAuthentication: api_key\n").expect("overrides");
        Checkout { root }
    }

    /// Adds `latest_url` (the branch `--latest` follows) to the pin.
    fn following(self, latest_url: &str) -> Checkout {
        let pin = format!("{}latest_url = \"{latest_url}\" # the branch\n", self.pin());
        std::fs::write(self.root.join("spec/upstream.toml"), pin).expect("pin");
        self
    }

    /// Runs the xtask binary from `dir` (relative to the checkout) without `$EDGE_IMPULSE_SPEC`.
    fn xtask_in(&self, dir: &str, args: &[&str]) -> Output {
        self.command_in(dir, args).output().expect("run xtask")
    }

    fn command_in(&self, dir: &str, args: &[&str]) -> Command {
        let mut command = Command::new(env!("CARGO_BIN_EXE_xtask"));
        command
            .current_dir(self.root.join(dir))
            .args(args)
            .env_remove("EDGE_IMPULSE_SPEC")
            .env_remove("XTASK_GITHUB_RAW_URL")
            .env_remove("XTASK_GITHUB_API_URL");
        command
    }

    /// Runs xtask with `server` standing in for GitHub (raw files and API).
    fn xtask_with_github(&self, server: &Server, args: &[&str]) -> Output {
        let mut command = self.command_in("", args);
        command.env("XTASK_GITHUB_RAW_URL", server.url("/raw")).env("XTASK_GITHUB_API_URL", server.url("/api"));
        command.output().expect("run xtask")
    }

    fn xtask(&self, args: &[&str]) -> Output {
        self.xtask_in("", args)
    }

    fn spec_dir_listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.root.join("spec"))
            .expect("spec dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    fn pin(&self) -> String {
        std::fs::read_to_string(self.root.join("spec/upstream.toml")).expect("pin")
    }

    fn saved_spec(&self) -> Option<Vec<u8>> {
        std::fs::read(self.root.join("spec/edge-impulse-openapi.yml")).ok()
    }
}

impl Drop for Checkout {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A refused fetch: fails, names the URL, the offline alternative and `reason`; writes nothing.
fn assert_refused(checkout: &Checkout, output: &Output, url: &str, reason: &str) {
    let message = stderr(output);
    assert!(!output.status.success(), "succeeded: {message}");
    assert!(message.contains(url), "does not name {url}: {message}");
    assert!(message.contains("--spec PATH"), "does not name the offline alternative: {message}");
    assert!(message.contains(reason), "does not say `{reason}`: {message}");
    assert_eq!(checkout.spec_dir_listing(), ["overrides.yaml", "upstream.toml"], "something was written");
}

#[test]
fn fetch_spec_saves_the_pinned_file() {
    let server = Server::start();
    let checkout = Checkout::new("pinned", &server.url("/spec.yml"));
    let output = checkout.xtask(&["fetch-spec"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(checkout.saved_spec().as_deref(), Some(SPEC));
    assert_eq!(checkout.spec_dir_listing(), ["edge-impulse-openapi.yml", "overrides.yaml", "upstream.toml"]);
}

/// `fetch-spec --url` of a path the server answers wrongly is refused.
fn assert_fetch_refused(test: &str, path: &str, reason: &str) {
    let server = Server::start();
    let checkout = Checkout::new(test, &server.url("/spec.yml"));
    let url = server.url(path);
    let output = checkout.xtask(&["fetch-spec", "--url", &url]);
    assert_refused(&checkout, &output, &url, reason);
}

#[test]
fn a_tampered_file_of_the_right_size_is_refused() {
    assert_fetch_refused("tampered", "/tampered.yml", "the file was altered");
}

#[test]
fn a_file_of_another_size_is_refused() {
    assert_fetch_refused("size", "/short.yml", &format!("got {} bytes", SPEC.len() - 10));
}

#[test]
fn a_truncated_answer_is_refused() {
    assert_fetch_refused("truncated", "/truncated.yml", "broke off");
}

#[test]
fn a_404_is_refused() {
    assert_fetch_refused("404", "/gone.yml", "404");
}

#[test]
fn an_html_page_is_refused() {
    assert_fetch_refused("html", "/page.html", "HTML page");
}

#[test]
fn no_network_is_a_clear_error() {
    let checkout = Checkout::new("offline", "http://127.0.0.1:9/spec.yml");
    let url = closed_port_url();
    let output = checkout.xtask(&["fetch-spec", "--url", &url]);
    assert_refused(&checkout, &output, &url, "no connection");
}

#[test]
fn regen_without_a_spec_fetches_the_pin_and_writes_into_the_checkout_it_runs_in() {
    let server = Server::start();
    let checkout = Checkout::new("regen", &server.url("/spec.yml"));
    let this_checkout = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace").to_path_buf();
    let own_generated = std::fs::read_to_string(this_checkout.join("edge-impulse-api/src/generated/mod.rs")).ok();
    // From a subfolder: the root is found by walking up.
    let output = checkout.xtask_in("edge-impulse-api", &["regen"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stdout(&output).contains("regen: 4 operations"), "{}", stdout(&output));
    assert_eq!(checkout.saved_spec().as_deref(), Some(SPEC));
    let generated = std::fs::read_to_string(checkout.root.join("edge-impulse-api/src/generated/mod.rs")).expect("generated into the scratch checkout");
    assert!(generated.starts_with("// This file is generated"), "{generated}");
    let own_after = std::fs::read_to_string(this_checkout.join("edge-impulse-api/src/generated/mod.rs")).ok();
    assert_eq!(own_after, own_generated, "the checkout xtask was built from was written to");
}

#[test]
fn regen_without_a_spec_and_without_network_says_what_to_do_and_writes_nothing() {
    let url = closed_port_url();
    let checkout = Checkout::new("regen-offline", &url);
    let output = checkout.xtask(&["regen"]);
    assert_refused(&checkout, &output, &url, "no connection");
    assert!(!checkout.root.join("edge-impulse-api/src").exists(), "regen went on without a spec");
}

#[test]
fn latest_re_pins_keeping_the_comments_and_names_both_pins() {
    let server = Server::start();
    let checkout = Checkout::new("latest", &server.url("/spec.yml"));
    let newer_url = server.url("/newer.yml");
    let newer = newer_spec();
    let output = checkout.xtask(&["fetch-spec", "--latest", "--url", &newer_url]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(checkout.saved_spec(), Some(newer.clone()));
    let pin = checkout.pin();
    assert!(pin.starts_with(PIN_COMMENTS) && pin.contains("# Formerly elsewhere.\n") && pin.contains("# bytes"), "comments lost:\n{pin}");
    assert!(pin.contains(&format!("url = \"{newer_url}\"")), "{pin}");
    assert!(pin.contains(&format!("sha256 = \"{}\"", sha256(&newer))), "{pin}");
    assert!(pin.contains(&format!("size = {}", newer.len())), "{pin}");
    // A mirror's address names no commit: pinned as given, with a warning that it may move.
    assert!(stderr(&output).contains("names no commit, so the new pin may move"), "{}", stderr(&output));
    assert!(!pin.contains("latest_url"), "{pin}");
    let date = pin.lines().find_map(|l| l.strip_prefix("date = \"")).expect("a date in the pin");
    assert!(date.len() == "2026-01-31\"".len() && date.as_bytes()[4] == b'-', "{pin}");
    assert!(stdout(&output).contains(&format!("{} -> {}", sha256(SPEC), sha256(&newer))), "{}", stdout(&output));
    // The new pin is what a plain fetch now checks against.
    std::fs::remove_file(checkout.root.join("spec/edge-impulse-openapi.yml")).expect("remove");
    let again = checkout.xtask(&["fetch-spec"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(checkout.saved_spec(), Some(newer));
}

#[test]
fn latest_refuses_what_is_not_an_openapi_document_and_keeps_the_pin() {
    let server = Server::start();
    let checkout = Checkout::new("latest-bad", &server.url("/spec.yml"));
    let pin = checkout.pin();
    for (path, reason) in [("/page.html", "HTML page"), ("/not-openapi.yml", "not an OpenAPI document")] {
        let url = server.url(path);
        let output = checkout.xtask(&["fetch-spec", "--latest", "--url", &url]);
        assert_refused(&checkout, &output, &url, reason);
        assert_eq!(checkout.pin(), pin);
    }
}

#[test]
fn a_plain_fetch_takes_the_pinned_commit_not_the_branch_that_moved() {
    let server = Server::start();
    let checkout = Checkout::new("commit", &server.url(&format!("/raw/owner/repo/{OLD_COMMIT}/spec.yml")))
        .following(&server.url("/raw/owner/repo/main/spec.yml"));
    let output = checkout.xtask_with_github(&server, &["fetch-spec"]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(checkout.saved_spec().as_deref(), Some(SPEC));
}

#[test]
fn latest_follows_the_branch_and_pins_the_file_at_the_commit_it_is_at() {
    let server = Server::start();
    let old_url = server.url(&format!("/raw/owner/repo/{OLD_COMMIT}/spec.yml"));
    let branch_url = server.url("/raw/owner/repo/main/spec.yml");
    let checkout = Checkout::new("follow", &old_url).following(&branch_url);
    let output = checkout.xtask_with_github(&server, &["fetch-spec", "--latest"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let newer = newer_spec();
    assert_eq!(checkout.saved_spec(), Some(newer.clone()));
    let pin = checkout.pin();
    let new_url = server.url(&format!("/raw/owner/repo/{NEW_COMMIT}/spec.yml"));
    assert!(pin.contains(&format!("url = \"{new_url}\"")), "the pin does not name the commit:\n{pin}");
    assert!(pin.contains(&format!("latest_url = \"{branch_url}\" # the branch")), "the branch is no longer followed:\n{pin}");
    assert!(pin.contains(&format!("sha256 = \"{}\"", sha256(&newer))) && pin.contains("# Formerly elsewhere.\n"), "{pin}");
    assert!(stderr(&output).contains(&format!("is at commit {NEW_COMMIT}")), "{}", stderr(&output));
    assert!(!stderr(&output).contains("may move"), "{}", stderr(&output));
    // The new pin is fetched from the commit, whatever the branch serves later.
    std::fs::remove_file(checkout.root.join("spec/edge-impulse-openapi.yml")).expect("remove");
    let again = checkout.xtask_with_github(&server, &["fetch-spec"]);
    assert!(again.status.success(), "{}", stderr(&again));
    assert_eq!(checkout.saved_spec(), Some(newer));
}

#[test]
fn latest_writes_nothing_when_github_cannot_say_which_commit_the_branch_is_at() {
    let server = Server::start();
    let checkout = Checkout::new("no-commit", &server.url(&format!("/raw/owner/repo/{OLD_COMMIT}/spec.yml")))
        .following(&server.url("/raw/owner/repo/gone/spec.yml"));
    let pin = checkout.pin();
    let output = checkout.xtask_with_github(&server, &["fetch-spec", "--latest"]);
    assert_refused(&checkout, &output, &server.url("/api/repos/owner/repo/commits/gone"), "which commit `gone`");
    assert!(stderr(&output).contains("404"), "{}", stderr(&output));
    assert_eq!(checkout.pin(), pin);
}
