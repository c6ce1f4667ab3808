//! Finding the pinned spec, and `spec-diff`'s exit status, on temporary repositories.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use sha2::{Digest, Sha256};

use crate::freshness_tests::TempDir;
use crate::spec::pinned_spec;
use crate::spec_diff::command;

const URL: &str = "https://example.test/edge-impulse-openapi.yml";

/// A repository whose pin names `pinned`, with the fixture overrides.
fn repository(test: &str, pinned: &[u8]) -> TempDir {
    let dir = TempDir::new(test);
    let spec = dir.0.join("spec");
    std::fs::create_dir_all(&spec).expect("spec dir");
    let pin = format!("url = \"{URL}\"\nsha256 = \"{:x}\"\nsize = {}\n", Sha256::digest(pinned), pinned.len());
    std::fs::write(spec.join("upstream.toml"), pin).expect("write pin");
    std::fs::copy(codegen_tests().join("fixture-overrides.yaml"), spec.join("overrides.yaml")).expect("copy overrides");
    dir
}

fn codegen_tests() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../codegen/tests")
}

fn fixture(rule: &str, side: &str) -> String {
    codegen_tests().join("diff_fixtures").join(rule).join(format!("{side}.yaml")).display().to_string()
}

#[test]
fn the_pinned_spec_is_found_in_spec_when_its_sha256_matches() {
    let bytes = std::fs::read(fixture("op-added", "old")).expect("fixture");
    let repo = repository("pinned-found", &bytes);
    std::fs::write(repo.0.join("spec/edge-impulse-openapi.yml"), &bytes).expect("write spec");
    let (_, found) = pinned_spec(&repo.0).expect("the local copy has the pinned sha256");
    assert_eq!(found, bytes);
}

#[test]
fn a_missing_or_different_pinned_spec_is_an_error_that_says_how_to_get_it() {
    let repo = repository("pinned-missing", b"the pinned bytes");
    let Err(missing) = pinned_spec(&repo.0) else { panic!("no spec file, yet found") };
    assert!(missing.contains("(absent)") && missing.contains("cargo xtask fetch-spec") && missing.contains(URL), "{missing}");
    std::fs::write(repo.0.join("spec/edge-impulse-openapi.yml"), b"other bytes").expect("write spec");
    let Err(different) = pinned_spec(&repo.0) else { panic!("a file with another sha256 was taken for the pin") };
    assert!(different.contains("(another sha256)"), "{different}");
}

#[test]
fn spec_diff_exits_1_when_something_breaks_0_when_not_and_2_when_it_cannot_compare() {
    let repo = repository("spec-diff-status", b"unused");
    let run = |rule: &str| command(&repo.0, &[fixture(rule, "old"), fixture(rule, "new")]);
    assert_eq!(run("op-removed"), ExitCode::from(1));
    assert_eq!(run("op-added"), ExitCode::SUCCESS);
    assert_eq!(run("docs-changed"), ExitCode::SUCCESS);
    // One argument compares against the pin, which this repository does not have.
    assert_eq!(command(&repo.0, &[fixture("op-added", "new")]), ExitCode::from(2));
    assert_eq!(command(&repo.0, &[]), ExitCode::from(2));
}
