//! Snapshot tests: every spec under `tests/fixtures/` is generated with
//! `tests/fixture-overrides.yaml`, and each output file plus the diagnostics must equal the
//! reviewed copy under `tests/snapshots/<fixture>/`.
//!
//! After an intended change to the generator:
//! `UPDATE_SNAPSHOTS=1 cargo test -p edge-impulse-codegen --test snapshots`, then review the
//! diff of `tests/snapshots/` like any other code before committing it.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Snapshot file holding the diagnostics, one per line, next to the generated files.
const DIAGNOSTICS_FILE: &str = "diagnostics.txt";

#[test]
fn generated_code_matches_snapshots() {
    let update = std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1");
    let overrides = common::overrides();
    let snapshots = common::tests_dir().join("snapshots");
    let fixtures = common::fixtures();
    let mut failures = Vec::new();
    for (name, bytes) in &fixtures {
        let output = match edge_impulse_codegen::generate(&format!("{name}.yaml"), bytes, &overrides) {
            Ok(output) => output,
            Err(e) => {
                failures.push(format!("fixture {name}: generation failed: {e}"));
                continue;
            }
        };
        let mut actual: BTreeMap<String, String> =
            output.files.into_iter().map(|f| (f.path, f.contents)).collect();
        // The fixtures share one overrides file, so most of its settings name nothing in any
        // one fixture; those stale-setting reports would only repeat in every snapshot.
        let shared_settings = |d: &&edge_impulse_codegen::Diagnostic| {
            d.severity == edge_impulse_codegen::Severity::StaleOverride && !d.location.contains("(patch at")
        };
        let diagnostics: String = output.diagnostics.iter().filter(|d| !shared_settings(d)).map(|d| format!("{d}\n")).collect();
        actual.insert(DIAGNOSTICS_FILE.to_string(), diagnostics);
        let dir = snapshots.join(name);
        if update {
            write_snapshot(&dir, &actual);
        } else {
            failures.extend(compare(&dir, &actual));
        }
    }
    // A snapshot whose fixture was removed or renamed would otherwise linger unreviewed.
    for dir in list_dir(&snapshots) {
        let name = dir.file_name().expect("a directory name").to_string_lossy().into_owned();
        if !fixtures.iter().any(|(fixture, _)| *fixture == name) && name != SERVICES_SNAPSHOT {
            if update {
                std::fs::remove_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            } else {
                failures.push(format!("{}: snapshot without a fixture", display(&dir)));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} snapshot mismatch(es); if the new output is right, rerun with UPDATE_SNAPSHOTS=1 and review the diff\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

/// The snapshot of a crate generated from two services (see [`two_services_match_their_snapshot`]).
const SERVICES_SNAPSHOT: &str = "services";

/// One crate from two specs: `security` at the root, `second_service` as a module with one
/// feature, operations pointing at their own service, the features of both in one table.
#[test]
fn two_services_match_their_snapshot() {
    use edge_impulse_codegen::{Endpoint, Service, ServiceSpec};
    let overrides = common::overrides();
    let (primary, second) = (common::fixture("security"), common::fixture("second_service"));
    let files = Service {
        name: "files".into(),
        module: Some("files".into()),
        feature: Some("files-service".into()),
        conformance: false,
        endpoint: Endpoint { env: Some("FILES_ENDPOINT".into()), subdomain: "files".into(), local_port: 4810, path: String::new() },
        runtime_types: Vec::new(),
    };
    let output = edge_impulse_codegen::generate_services(&[
        ServiceSpec { service: Service::single(), spec_name: "security.yaml", spec: &primary, overrides: &overrides },
        ServiceSpec { service: files, spec_name: "second_service.yaml", spec: &second, overrides: &overrides },
    ])
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(output.services.iter().map(|s| s.0.as_str()).collect::<Vec<_>>(), ["api", "files"]);
    let mut actual: BTreeMap<String, String> = output.files.into_iter().map(|f| (f.path, f.contents)).collect();
    actual.insert(DIAGNOSTICS_FILE.to_string(), output.diagnostics.iter().map(|d| format!("{d}\n")).collect());
    let dir = common::tests_dir().join("snapshots").join(SERVICES_SNAPSHOT);
    if std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1") {
        write_snapshot(&dir, &actual);
        return;
    }
    let failures = compare(&dir, &actual);
    assert!(failures.is_empty(), "{} snapshot mismatch(es)\n\n{}", failures.len(), failures.join("\n\n"));
}

/// Two services may not both take an accessor or a feature name.
#[test]
fn services_whose_names_collide_are_refused() {
    use edge_impulse_codegen::{Service, ServiceSpec};
    let overrides = common::overrides();
    let spec = common::fixture("second_service");
    let clash = Service { name: "other".into(), module: Some("other".into()), feature: None, ..Service::single() };
    let error = edge_impulse_codegen::generate_services(&[
        ServiceSpec { service: Service::single(), spec_name: "a.yaml", spec: &spec, overrides: &overrides },
        ServiceSpec { service: clash, spec_name: "b.yaml", spec: &spec, overrides: &overrides },
    ])
    .expect_err("the same tag in both services");
    assert!(error.to_string().contains("`Client::files`"), "{error}");
    let no_module = Service { name: "other".into(), ..Service::single() };
    let error = edge_impulse_codegen::generate_services(&[
        ServiceSpec { service: Service::single(), spec_name: "a.yaml", spec: &spec, overrides: &overrides },
        ServiceSpec { service: no_module, spec_name: "b.yaml", spec: &spec, overrides: &overrides },
    ])
    .expect_err("a second service without a module");
    assert!(error.to_string().contains("needs a `module`"), "{error}");
}

fn compare(dir: &Path, actual: &BTreeMap<String, String>) -> Vec<String> {
    let mut failures = Vec::new();
    let expected = read_tree(dir);
    for (path, contents) in actual {
        let file = display(&dir.join(path));
        match expected.get(path) {
            None => failures.push(format!("{file}: missing (the generator now produces it)")),
            Some(old) if old != contents => failures.push(format!("{file}: differs\n{}", line_diff(old, contents))),
            Some(_) => {}
        }
    }
    for path in expected.keys().filter(|p| !actual.contains_key(*p)) {
        failures.push(format!("{}: no longer produced by the generator", display(&dir.join(path))));
    }
    failures
}

fn write_snapshot(dir: &Path, actual: &BTreeMap<String, String>) {
    for (path, contents) in actual {
        let file = dir.join(path);
        std::fs::create_dir_all(file.parent().expect("a parent")).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        if std::fs::read_to_string(&file).ok().as_deref() != Some(contents) {
            std::fs::write(&file, contents).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        }
    }
    for path in read_tree(dir).keys().filter(|p| !actual.contains_key(*p)) {
        let file = dir.join(path);
        std::fs::remove_file(&file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    }
}

/// Files under `dir` keyed by their `/`-separated path relative to it.
fn read_tree(dir: &Path) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(current) = pending.pop() {
        for path in list_dir(&current) {
            pending.push(path);
        }
        for path in list_files(&current) {
            let relative = path.strip_prefix(dir).expect("under dir").to_string_lossy().replace('\\', "/");
            let contents = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            files.insert(relative, contents);
        }
    }
    files
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut paths: Vec<PathBuf> = entries.map(|e| e.expect("readable directory").path()).collect();
    paths.sort();
    paths
}

fn list_dir(dir: &Path) -> Vec<PathBuf> {
    entries(dir).into_iter().filter(|p| p.is_dir()).collect()
}

fn list_files(dir: &Path) -> Vec<PathBuf> {
    entries(dir).into_iter().filter(|p| p.is_file()).collect()
}

fn display(path: &Path) -> String {
    let crate_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    path.strip_prefix(crate_dir).unwrap_or(path).display().to_string()
}

/// The changed region between two texts: common leading and trailing lines are skipped and
/// the rest is shown as `-` (snapshot) and `+` (generated) lines with a little context.
fn line_diff(expected: &str, actual: &str) -> String {
    const CONTEXT: usize = 3;
    const MAX_LINES: usize = 40;
    let old: Vec<&str> = expected.lines().collect();
    let new: Vec<&str> = actual.lines().collect();
    let prefix = old.iter().zip(&new).take_while(|(a, b)| a == b).count();
    let suffix = old[prefix..].iter().rev().zip(new[prefix..].iter().rev()).take_while(|(a, b)| a == b).count();
    let (removed, added) = (&old[prefix..old.len() - suffix], &new[prefix..new.len() - suffix]);
    if removed.is_empty() && added.is_empty() {
        return "  (only line endings or the final newline differ)".to_string();
    }
    let mut out = format!("  @@ line {} @@\n", prefix + 1);
    let shown = |lines: &[&str], mark: char, out: &mut String| {
        for line in lines.iter().take(MAX_LINES) {
            out.push_str(&format!("  {mark}{line}\n"));
        }
        if lines.len() > MAX_LINES {
            out.push_str(&format!("  {mark}... {} more lines\n", lines.len() - MAX_LINES));
        }
    };
    shown(&old[prefix.saturating_sub(CONTEXT)..prefix], ' ', &mut out);
    shown(removed, '-', &mut out);
    shown(added, '+', &mut out);
    let after = old.len() - suffix;
    shown(&old[after..(after + CONTEXT).min(old.len())], ' ', &mut out);
    out
}

#[test]
fn line_diff_shows_only_the_changed_region_with_context() {
    let old = "a\nb\nc\nd\ne\nf\ng\n";
    let new = "a\nb\nc\nD\nE2\ne\nf\ng\n";
    assert_eq!(line_diff(old, new), "  @@ line 4 @@\n   a\n   b\n   c\n  -d\n  +D\n  +E2\n   e\n   f\n   g\n");
    assert_eq!(line_diff("a\n", "a"), "  (only line endings or the final newline differ)");
}
