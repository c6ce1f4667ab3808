//! `regen --check` must notice every way the committed generated code can drift from the
//! generator, and must not write while checking.

use std::path::{Path, PathBuf};

use edge_impulse_codegen::emit::HEADER;
use edge_impulse_codegen::GeneratedFile;

use super::{write_or_check, GENERATED_DIR};

/// A fresh directory under the system temp dir, removed on drop.
pub(crate) struct TempDir(pub(crate) PathBuf);

impl TempDir {
    pub(crate) fn new(test: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!("xtask-{test}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("temp dir");
        TempDir(dir)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn generated(path: &str, body: &str) -> GeneratedFile {
    GeneratedFile { path: path.to_string(), contents: format!("{HEADER}{body}\n") }
}

fn put(root: &Path, path: &str, contents: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("create dirs");
    std::fs::write(path, contents).expect("write");
}

fn read(root: &Path, path: &str) -> Option<String> {
    std::fs::read_to_string(root.join(path)).ok()
}

/// What the generator produces now.
fn output() -> Vec<GeneratedFile> {
    vec![
        generated("src/generated/mod.rs", "pub mod models;"),
        generated("src/generated/models.rs", "pub struct A;"),
        generated("src/generated/apis/new_tag.rs", "pub struct NewTagApi;"),
        generated("tests/conformance/generated.rs", "#[test] fn t() {}"),
    ]
}

/// A crate as an older generator left it, plus hand-written files that must stay untouched.
fn outdated_crate(root: &Path) {
    put(root, "src/generated/mod.rs", &output()[0].contents); // fresh
    put(root, "src/generated/models.rs", &format!("{HEADER}pub struct Old;\n")); // stale
    // src/generated/apis/new_tag.rs: missing
    put(root, "src/generated/apis/old_tag.rs", "pub struct OldTagApi;\n"); // no longer generated
    put(root, "tests/conformance/generated.rs", &output()[3].contents); // fresh
    put(root, "tests/conformance/old_generated.rs", &format!("{HEADER}#[test] fn old() {{}}\n")); // no longer generated
    put(root, "tests/hand_written.rs", "#[test] fn mine() {}\n");
    put(root, "src/lib.rs", "mod generated;\n");
}

fn expected_stale() -> Vec<String> {
    let mut stale = vec![
        format!("{GENERATED_DIR}/src/generated/models.rs"),
        format!("{GENERATED_DIR}/src/generated/apis/new_tag.rs (missing)"),
        format!("{GENERATED_DIR}/src/generated/apis/old_tag.rs (no longer generated)"),
        format!("{GENERATED_DIR}/tests/conformance/old_generated.rs (no longer generated)"),
    ];
    stale.sort();
    stale
}

fn snapshot(root: &Path) -> Vec<(String, Option<String>)> {
    let paths = [
        "src/generated/mod.rs",
        "src/generated/models.rs",
        "src/generated/apis/new_tag.rs",
        "src/generated/apis/old_tag.rs",
        "tests/conformance/generated.rs",
        "tests/conformance/old_generated.rs",
        "tests/hand_written.rs",
        "src/lib.rs",
    ];
    paths.iter().map(|p| (p.to_string(), read(root, p))).collect()
}

#[test]
fn check_reports_stale_missing_and_extra_files_and_writes_nothing() {
    let dir = TempDir::new("check");
    outdated_crate(&dir.0);
    let before = snapshot(&dir.0);
    let mut stale = write_or_check(&dir.0, &output(), true).expect("check runs");
    stale.sort();
    assert_eq!(stale, expected_stale());
    assert_eq!(snapshot(&dir.0), before, "check mode changed files");
}

#[test]
fn check_of_an_up_to_date_crate_reports_nothing() {
    let dir = TempDir::new("fresh");
    for file in output() {
        put(&dir.0, &file.path, &file.contents);
    }
    put(&dir.0, "tests/hand_written.rs", "#[test] fn mine() {}\n");
    assert_eq!(write_or_check(&dir.0, &output(), true).expect("check runs"), Vec::<String>::new());
}

#[test]
fn check_of_an_empty_crate_reports_every_file_missing() {
    let dir = TempDir::new("empty");
    let stale = write_or_check(&dir.0, &output(), true).expect("check runs");
    assert_eq!(stale.len(), output().len(), "{stale:?}");
    assert!(stale.iter().all(|s| s.ends_with(" (missing)")), "{stale:?}");
    assert!(!dir.0.join("src").exists(), "check mode created folders");
}

#[test]
fn write_updates_creates_and_deletes_then_check_is_clean() {
    let dir = TempDir::new("write");
    outdated_crate(&dir.0);
    write_or_check(&dir.0, &output(), false).expect("write runs");
    for file in output() {
        assert_eq!(read(&dir.0, &file.path).as_deref(), Some(file.contents.as_str()), "{}", file.path);
    }
    assert_eq!(read(&dir.0, "src/generated/apis/old_tag.rs"), None, "a file no longer generated was kept");
    assert_eq!(read(&dir.0, "tests/conformance/old_generated.rs"), None, "a file no longer generated was kept");
    assert_eq!(read(&dir.0, "tests/hand_written.rs").as_deref(), Some("#[test] fn mine() {}\n"));
    assert_eq!(read(&dir.0, "src/lib.rs").as_deref(), Some("mod generated;\n"));
    assert_eq!(write_or_check(&dir.0, &output(), true).expect("check runs"), Vec::<String>::new());
}

#[test]
fn the_features_table_is_spliced_between_its_markers_only() {
    use edge_impulse_codegen::emit::{FEATURES_BEGIN, FEATURES_END};
    let manifest = format!("[features]\nserde-all = []\n{FEATURES_BEGIN}\nold = []\n{FEATURES_END}\n\n[dev-dependencies]\n");
    let spliced = super::splice_features(&manifest, "new = []\n").expect("markers present");
    assert_eq!(spliced, format!("[features]\nserde-all = []\n{FEATURES_BEGIN}\nnew = []\n{FEATURES_END}\n\n[dev-dependencies]\n"));
    let error = super::splice_features("[features]\n", "new = []\n").unwrap_err();
    assert!(error.contains(FEATURES_BEGIN), "{error}");
}

#[test]
fn a_stale_features_table_is_reported_as_cargo_toml_and_not_written_when_checking() {
    use edge_impulse_codegen::emit::{FEATURES_BEGIN, FEATURES_END, FEATURES_FRAGMENT};
    let dir = TempDir::new("features-table");
    let manifest = format!("[features]\n{FEATURES_BEGIN}\nold = []\n{FEATURES_END}\n");
    put(&dir.0, "Cargo.toml", &manifest);
    let files = [GeneratedFile { path: FEATURES_FRAGMENT.to_string(), contents: "new = []\n".to_string() }];
    let stale = write_or_check(&dir.0, &files, true).expect("check runs");
    assert_eq!(stale, vec![format!("{GENERATED_DIR}/Cargo.toml")]);
    assert_eq!(read(&dir.0, "Cargo.toml").as_deref(), Some(manifest.as_str()));
    write_or_check(&dir.0, &files, false).expect("regen runs");
    assert!(read(&dir.0, "Cargo.toml").expect("written").contains("\nnew = []\n"));
    assert!(write_or_check(&dir.0, &files, true).expect("check runs").is_empty());
}
