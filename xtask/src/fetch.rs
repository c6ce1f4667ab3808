//! `cargo xtask fetch-spec [--url URL] [--latest]`: downloads the upstream spec.
//!
//! Without `--latest` the file must be the pinned one (size and sha256 of `spec/upstream.toml`),
//! fetched from the pin's `url`; with it, whatever `latest_url` (a branch) serves now becomes
//! the new pin. Either way the file is written to a temporary file beside
//! `spec/edge-impulse-openapi.yml` and renamed only once every check passed, so a failed fetch
//! leaves nothing behind.
//!
//! The pin's `url` must not move: a file on a branch changes under its pin, and a fresh
//! machine could then never fetch the pinned bytes. So `--latest`, given a GitHub raw address
//! on a branch (`https://raw.githubusercontent.com/OWNER/REPO/BRANCH/PATH`), first asks the
//! GitHub API which commit the branch is at, then fetches and pins the file at that commit.
//! When GitHub cannot answer, nothing is written. Any other address (a mirror) cannot be
//! resolved to a commit: it is pinned as given, with a warning that it may move.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::spec::{read_pin, Pin, DEFAULT_SPEC, PIN_FILE};

/// A spec larger than this is not a spec (the pinned one is about 1 MB).
const MAX_SPEC_BYTES: u64 = 64 * 1024 * 1024;

/// What the caller asks the fetched file to be.
pub enum Expect<'a> {
    /// The pinned file: same size and sha256.
    Pinned(&'a Pin),
    /// Whatever the URL serves, as long as it is a YAML document.
    Latest,
}

/// A spec downloaded, checked and saved.
pub struct Fetched {
    /// Hex sha256 of the saved file.
    pub sha256: String,
    /// Its size in bytes.
    pub size: u64,
}

/// Downloads `url`, checks it and saves it as `dest` (atomically). Errors name the URL and the
/// offline alternative.
pub fn fetch_to(url: &str, expect: Expect<'_>, dest: &Path) -> Result<Fetched, String> {
    let fail = |reason: String| {
        format!(
            "could not fetch the spec from {url}: {reason}\nnothing was written; to work offline, pass a local copy \
             with --spec PATH (or $EDGE_IMPULSE_SPEC)"
        )
    };
    let bytes = download(url).map_err(fail)?;
    let sha256 = format!("{:x}", Sha256::digest(&bytes));
    let size = bytes.len() as u64;
    match expect {
        Expect::Pinned(pin) => {
            if size != pin.size {
                return Err(fail(format!(
                    "got {size} bytes, the pin in {PIN_FILE} says {} (sha256 {}); the file changed upstream: \
                     `cargo xtask fetch-spec --latest` adopts it",
                    pin.size, pin.sha256
                )));
            }
            if sha256 != pin.sha256 {
                return Err(fail(format!(
                    "sha256 {sha256} is not the pinned {} although the size matches: the file was altered",
                    pin.sha256
                )));
            }
        }
        Expect::Latest => check_is_yaml_document(url, &bytes).map_err(fail)?,
    }
    save_atomically(dest, &bytes).map_err(fail)?;
    Ok(Fetched { sha256, size })
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_global(Some(Duration::from_secs(300)))
        .http_status_as_error(false)
        .build()
        .into()
}

fn connection_error(error: ureq::Error) -> String {
    match error {
        ureq::Error::Io(io) => format!("no connection ({io})"),
        ureq::Error::ConnectionFailed => "no connection".into(),
        other => other.to_string(),
    }
}

/// One GET; the body read in full, refused when it is cut short, too big or an HTML page.
fn download(url: &str) -> Result<Vec<u8>, String> {
    let mut response = agent().get(url).call().map_err(connection_error)?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("the server answered {status}"));
    }
    let content_type = header(&response, "content-type");
    let declared_length: Option<u64> = header(&response, "content-length").and_then(|v| v.trim().parse().ok());
    let mut bytes = Vec::new();
    let read = response
        .body_mut()
        .as_reader()
        .take(MAX_SPEC_BYTES + 1)
        .read_to_end(&mut bytes);
    if let Err(e) = read {
        return Err(format!("the answer broke off after {} bytes ({e})", bytes.len()));
    }
    if bytes.len() as u64 > MAX_SPEC_BYTES {
        return Err(format!("the answer is larger than {MAX_SPEC_BYTES} bytes, which no spec is"));
    }
    if let Some(declared) = declared_length.filter(|&d| d != bytes.len() as u64) {
        return Err(format!("the answer broke off: {} of {declared} bytes arrived", bytes.len()));
    }
    if content_type.as_deref().is_some_and(|t| t.to_ascii_lowercase().contains("html")) || looks_like_html(&bytes) {
        return Err(format!(
            "the server sent an HTML page ({}), not the YAML spec: the URL probably points at a web view or an error page",
            content_type.as_deref().unwrap_or("no content type")
        ));
    }
    Ok(bytes)
}

fn header(response: &ureq::http::Response<ureq::Body>, name: &str) -> Option<String> {
    response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
}

fn looks_like_html(bytes: &[u8]) -> bool {
    let start: Vec<u8> = bytes.iter().copied().skip_while(|b| b.is_ascii_whitespace()).take(15).collect();
    let start = String::from_utf8_lossy(&start).to_ascii_lowercase();
    start.starts_with("<!doctype") || start.starts_with("<html") || start.starts_with("<?xml") || start.starts_with("<head")
}

/// A new pin must at least be an OpenAPI document in YAML (or JSON, which YAML reads too).
fn check_is_yaml_document(url: &str, bytes: &[u8]) -> Result<(), String> {
    let mut ignored = Vec::new();
    let text = edge_impulse_codegen::load::repair_control_characters(url, bytes, &mut ignored).map_err(|e| e.to_string())?;
    let document: serde_yaml::Value =
        serde_yaml::from_str(&text).map_err(|e| format!("the answer is not a YAML document: {e}"))?;
    if document.get("openapi").is_none() {
        return Err("the answer is YAML but not an OpenAPI document (no top-level `openapi` key)".into());
    }
    Ok(())
}

/// Writes `bytes` to a temporary file in `dest`'s folder and renames it to `dest`.
pub fn save_atomically(dest: &Path, bytes: &[u8]) -> Result<(), String> {
    use std::io::Write;
    let dir = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut temp = tempfile::Builder::new()
        .prefix(".fetch-")
        .tempfile_in(dir)
        .map_err(|e| format!("a temporary file in {}: {e}", dir.display()))?;
    temp.write_all(bytes).and_then(|()| temp.as_file().sync_all()).map_err(|e| format!("{}: {e}", temp.path().display()))?;
    temp.persist(dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    Ok(())
}

/// Where GitHub serves raw files, and its REST API. `XTASK_GITHUB_RAW_URL` and
/// `XTASK_GITHUB_API_URL` replace them (a GitHub Enterprise host, or a test's loopback server).
const GITHUB_RAW: (&str, &str) = ("XTASK_GITHUB_RAW_URL", "https://raw.githubusercontent.com");
const GITHUB_API: (&str, &str) = ("XTASK_GITHUB_API_URL", "https://api.github.com");

fn github_base((variable, default): (&str, &str)) -> String {
    let base = std::env::var(variable).ok().filter(|v| !v.is_empty()).unwrap_or_else(|| default.to_string());
    base.trim_end_matches('/').to_string()
}

/// A file on GitHub at a git reference: `{raw}/OWNER/REPO/REFERENCE/PATH`. A branch whose
/// name has a `/` cannot be told from the path; such an address is read with the branch's
/// first segment and the GitHub API then refuses it.
#[derive(Debug, PartialEq, Eq)]
pub struct RawFile<'a> {
    pub owner: &'a str,
    pub repo: &'a str,
    pub reference: &'a str,
    pub path: &'a str,
}

/// `url` as a raw GitHub file under `raw_base`, if it is one.
pub fn parse_raw_file<'a>(url: &'a str, raw_base: &str) -> Option<RawFile<'a>> {
    let rest = url.strip_prefix(raw_base)?.strip_prefix('/')?;
    if rest.contains(['?', '#']) {
        return None;
    }
    let mut parts = rest.splitn(4, '/');
    let file = RawFile { owner: parts.next()?, repo: parts.next()?, reference: parts.next()?, path: parts.next()? };
    let parts = [file.owner, file.repo, file.reference, file.path];
    (!parts.iter().any(|part| part.is_empty())).then_some(file)
}

/// A full commit id (a short one could become ambiguous, and a tag can be moved).
pub fn is_commit(reference: &str) -> bool {
    reference.len() == 40 && reference.bytes().all(|b| b.is_ascii_hexdigit())
}

/// The address to fetch and pin for what `source` serves now.
struct Address {
    url: String,
    /// It names a commit: what it serves can never change.
    immutable: bool,
}

/// On GitHub, the file at the commit `source`'s branch is at now; elsewhere `source` itself.
fn immutable_address(source: &str) -> Result<Address, String> {
    let raw = github_base(GITHUB_RAW);
    let Some(file) = parse_raw_file(source, &raw) else {
        return Ok(Address { url: source.to_string(), immutable: false });
    };
    if is_commit(file.reference) {
        return Ok(Address { url: source.to_string(), immutable: true });
    }
    let api = github_base(GITHUB_API);
    let commit = resolve_commit(&api, &file).map_err(|why| {
        format!(
            "could not learn which commit `{}` of {}/{} is at from {api}: {why}\nnothing was written: the pin must name \
             a commit, not a branch; to work offline, pass a local copy with --spec PATH (or $EDGE_IMPULSE_SPEC)",
            file.reference, file.owner, file.repo
        )
    })?;
    eprintln!("fetch-spec: {source} is at commit {commit}");
    Ok(Address { url: format!("{raw}/{}/{}/{commit}/{}", file.owner, file.repo, file.path), immutable: true })
}

/// The commit `file.reference` names now: `GET /repos/OWNER/REPO/commits/REF` with the media
/// type that answers with the bare commit id.
fn resolve_commit(api: &str, file: &RawFile<'_>) -> Result<String, String> {
    let url = format!("{api}/repos/{}/{}/commits/{}", file.owner, file.repo, file.reference);
    let mut response = agent()
        .get(&url)
        .header("Accept", "application/vnd.github.sha")
        .call()
        .map_err(connection_error)?;
    let status = response.status();
    if !status.is_success() {
        return Err(format!("{url} answered {status}"));
    }
    let mut body = String::new();
    response.body_mut().as_reader().take(1024).read_to_string(&mut body).map_err(|e| format!("{url}: {e}"))?;
    let commit = body.trim();
    if !is_commit(commit) {
        return Err(format!("{url} answered {:?}, not a commit id", commit.chars().take(80).collect::<String>()));
    }
    Ok(commit.to_ascii_lowercase())
}

/// `cargo xtask fetch-spec`: the pinned file (or, with `latest`, the current one, re-pinned).
pub fn fetch_spec(root: &Path, url: Option<String>, latest: bool) -> Result<(), String> {
    let pin = read_pin(root)?;
    let dest = root.join(DEFAULT_SPEC);
    if !latest {
        let url = url.unwrap_or_else(|| pin.url.clone());
        let fetched = fetch_to(&url, Expect::Pinned(&pin), &dest)?;
        println!("fetch-spec: saved {} ({} bytes, sha256 {}, as pinned)", DEFAULT_SPEC, fetched.size, fetched.sha256);
        return Ok(());
    }
    // Without --url, the branch the pin follows (older pins have only `url`).
    let source = match (url, &pin.latest_url) {
        (Some(given), _) => given,
        (None, Some(latest)) => latest.clone(),
        (None, None) => pin.url.clone(),
    };
    let address = immutable_address(&source)?;
    // The old pinned file, when it is at hand, for the changelog: read before it is replaced.
    let old_spec = std::fs::read(&dest).ok().filter(|bytes| format!("{:x}", Sha256::digest(bytes)) == pin.sha256);
    let fetched = fetch_to(&address.url, Expect::Latest, &dest)?;
    if fetched.sha256 == pin.sha256 && address.url == pin.url {
        println!("fetch-spec: {source} still serves the pinned spec ({} bytes, sha256 {})", fetched.size, fetched.sha256);
        return Ok(());
    }
    if !address.immutable {
        eprintln!(
            "warning: {source} names no commit, so the new pin may move: once the file there changes, \
             `cargo xtask fetch-spec` stops on a size or sha256 mismatch; pin the file's address at a commit by hand"
        );
    }
    // A branch that was resolved is what the next `--latest` follows, unless the pin follows one already.
    let latest_url = pin.latest_url.clone().or_else(|| (address.url != source).then(|| source.clone()));
    let new_pin = Pin { url: address.url, latest_url, sha256: fetched.sha256.clone(), size: fetched.size, date: Some(today()) };
    write_pin(root, &new_pin)?;
    println!("fetch-spec: saved {DEFAULT_SPEC} and re-pinned it in {PIN_FILE} at {}", new_pin.url);
    let new_spec = std::fs::read(&dest).map_err(|e| format!("{}: {e}", dest.display()))?;
    print_changes_since_pin(root, &pin, old_spec.as_deref(), &new_pin, &new_spec);
    Ok(())
}

/// What changed between the old pin and the new one, printed after `fetch-spec --latest`: the
/// `spec-diff` changelog of the two documents, ready for CHANGELOG.md. `old_spec` is `None`
/// when the old pinned file was not at hand (the URL now serves the new one, so it cannot be
/// fetched again): then only the two pins are named.
pub fn print_changes_since_pin(root: &Path, old: &Pin, old_spec: Option<&[u8]>, new: &Pin, new_spec: &[u8]) {
    println!("spec: {} -> {}, {} bytes (was {})", old.sha256, new.sha256, new.size, old.size);
    let Some(old_spec) = old_spec else {
        println!(
            "no changelog: the old pinned file was not in {DEFAULT_SPEC}; keep it there (`cargo xtask fetch-spec` \
             before re-pinning) and run `cargo xtask spec-diff OLD {DEFAULT_SPEC}`"
        );
        return;
    };
    match crate::spec_diff::changelog(root, ("old pin", old_spec), ("new pin", new_spec)) {
        Ok(report) => print!("{}", report.diff.markdown()),
        Err(e) => println!("no changelog: {e}"),
    }
}

fn today() -> String {
    chrono::Utc::now().format("%Y-%m-%d").to_string()
}

/// Rewrites url, latest_url, sha256, size and date in `spec/upstream.toml`, keeping its comments.
fn write_pin(root: &Path, pin: &Pin) -> Result<(), String> {
    let path = root.join(PIN_FILE);
    let text = std::fs::read_to_string(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let mut document: toml_edit::DocumentMut = text.parse().map_err(|e| format!("{}: {e}", path.display()))?;
    let mut set = |key: &str, value: toml_edit::Value| match document.get_mut(key).and_then(|item| item.as_value_mut()) {
        // Keeps the comments and spacing around the old value.
        Some(existing) => {
            let decor = existing.decor().clone();
            *existing = value;
            *existing.decor_mut() = decor;
        }
        None => {
            document.insert(key, toml_edit::Item::Value(value));
        }
    };
    set("url", pin.url.as_str().into());
    if let Some(latest) = &pin.latest_url {
        set("latest_url", latest.as_str().into());
    }
    set("sha256", pin.sha256.as_str().into());
    set("size", i64::try_from(pin.size).map_err(|_| "the spec is too large to pin".to_string())?.into());
    if let Some(date) = &pin.date {
        set("date", date.as_str().into());
    }
    save_atomically(&path, document.to_string().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const RAW: &str = "https://raw.githubusercontent.com";

    #[test]
    fn a_raw_github_address_is_read_as_owner_repo_reference_and_path() {
        let file = parse_raw_file("https://raw.githubusercontent.com/o/r/main/openapi/_original/x.yml", RAW);
        assert_eq!(file, Some(RawFile { owner: "o", repo: "r", reference: "main", path: "openapi/_original/x.yml" }));
        for other in ["https://example.com/o/r/main/x.yml", "https://raw.githubusercontent.com/o/r/main", "https://raw.githubusercontent.com/o/r/main/x.yml?token=1"] {
            assert_eq!(parse_raw_file(other, RAW), None, "{other}");
        }
        assert!(is_commit("a1176ce6eaf44dbfb853f4952e6bb3ce71fd77cc"));
        assert!(!is_commit("main") && !is_commit("a1176ce"));
    }

    /// The repository's own pin: a file at a commit (which cannot change under its sha256),
    /// and the branch that `--latest` follows.
    #[test]
    fn the_repository_pin_names_a_commit_and_follows_a_branch() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("workspace root");
        let pin = read_pin(root).expect("spec/upstream.toml");
        let pinned = parse_raw_file(&pin.url, RAW).expect("the pin is a raw GitHub address");
        assert!(is_commit(pinned.reference), "the pin names {}, not a commit", pinned.reference);
        let latest = pin.latest_url.as_deref().expect("a latest_url");
        let followed = parse_raw_file(latest, RAW).expect("latest_url is a raw GitHub address");
        assert!(!is_commit(followed.reference), "latest_url names a commit: it would never move");
        assert_eq!((followed.owner, followed.repo, followed.path), (pinned.owner, pinned.repo, pinned.path));
    }
}
