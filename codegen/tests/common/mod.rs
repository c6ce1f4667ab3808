//! Fixture loading shared by the integration tests of this crate.

// Each test file compiles this module on its own and uses only part of it.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use edge_impulse_codegen::Overrides;

pub fn tests_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests")
}

/// `(name without extension, bytes)` of every spec under `tests/fixtures/`, sorted by name.
pub fn fixtures() -> Vec<(String, Vec<u8>)> {
    let dir = tests_dir().join("fixtures");
    let mut found = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("readable fixtures directory").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let name = path.file_stem().expect("a file name").to_string_lossy().into_owned();
            let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            found.push((name, bytes));
        }
    }
    found.sort();
    assert!(!found.is_empty(), "no fixtures in {}", dir.display());
    found
}

pub fn fixture(name: &str) -> Vec<u8> {
    let path = tests_dir().join("fixtures").join(format!("{name}.yaml"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The overrides every fixture is generated with.
pub fn overrides() -> Overrides {
    let path = tests_dir().join("fixture-overrides.yaml");
    let text = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    Overrides::parse("fixture-overrides.yaml", &text).unwrap_or_else(|e| panic!("{e}"))
}
