//! spec-diff: one fixture pair per rule under `tests/diff_fixtures/<rule id>/{old,new}.yaml`,
//! each with its reviewed changelog in `expected.md`; and the pinned spec against itself.
//!
//! After an intended change: `UPDATE_SNAPSHOTS=1 cargo test -p edge-impulse-codegen --test
//! spec_diff`, then review the diff of `tests/diff_fixtures/` before committing it.

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use edge_impulse_codegen::diff::{diff, SpecDiff, RULES};
use edge_impulse_codegen::{lower_spec, Lowered, Overrides};

const EXPECTED_FILE: &str = "expected.md";

fn fixtures_dir() -> PathBuf {
    common::tests_dir().join("diff_fixtures")
}

fn lower(path: &Path, overrides: &Overrides) -> Lowered {
    let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    lower_spec(&path.display().to_string(), &bytes, overrides).unwrap_or_else(|e| panic!("{e}"))
}

/// `(rule id, old, new)` of every fixture pair, sorted by rule id.
fn fixture_pairs(overrides: &Overrides) -> Vec<(String, Lowered, Lowered)> {
    let dir = fixtures_dir();
    let mut pairs = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.expect("readable fixtures directory").path();
        let rule = path.file_name().expect("a directory name").to_string_lossy().into_owned();
        pairs.push((rule, lower(&path.join("old.yaml"), overrides), lower(&path.join("new.yaml"), overrides)));
    }
    pairs.sort_by(|a, b| a.0.cmp(&b.0));
    pairs
}

#[test]
fn every_rule_has_a_fixture_that_triggers_it_with_the_reviewed_changelog() {
    let update = std::env::var("UPDATE_SNAPSHOTS").is_ok_and(|v| v == "1");
    let overrides = common::overrides();
    let pairs = fixture_pairs(&overrides);
    let mut failures = Vec::new();
    for rule in RULES {
        if !pairs.iter().any(|(id, _, _)| id == rule.id) {
            failures.push(format!("rule `{}` has no fixture directory tests/diff_fixtures/{}/", rule.id, rule.id));
        }
    }
    for (id, old, new) in &pairs {
        let Some(rule) = RULES.iter().find(|r| r.id == id) else {
            failures.push(format!("tests/diff_fixtures/{id}/ is named after no rule"));
            continue;
        };
        let result = diff(old, new);
        if !result.changes.iter().any(|c| c.rule == *rule) {
            failures.push(format!("fixture `{id}` does not trigger its rule; it gives:\n{}", result.markdown()));
        }
        let class_line = result.counts();
        let markdown = result.markdown();
        assert!(markdown.ends_with(&format!("{class_line}\n")), "the changelog ends with the counts line:\n{markdown}");
        let expected_path = fixtures_dir().join(id).join(EXPECTED_FILE);
        if update {
            std::fs::write(&expected_path, &markdown).unwrap_or_else(|e| panic!("{}: {e}", expected_path.display()));
            continue;
        }
        match std::fs::read_to_string(&expected_path) {
            Ok(expected) if expected == markdown => {}
            Ok(expected) => failures.push(format!("fixture `{id}`: changelog differs\n--- expected\n{expected}--- actual\n{markdown}")),
            Err(e) => failures.push(format!("{}: {e}", expected_path.display())),
        }
    }
    assert!(
        failures.is_empty(),
        "{} spec-diff fixture failure(s); if the new output is right, rerun with UPDATE_SNAPSHOTS=1 and review the diff\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

#[test]
fn breaking_fixtures_exit_as_breaking_and_the_others_do_not() {
    for (id, old, new) in fixture_pairs(&common::overrides()) {
        let rule = RULES.iter().find(|r| r.id == id).expect("checked by the snapshot test");
        let result = diff(&old, &new);
        let breaking = rule.class == edge_impulse_codegen::diff::Class::Breaking;
        // A breaking rule's fixture may show neutral changes too (a reordered path is also a
        // route change), but a non-breaking rule's fixture shows no breaking change at all.
        if breaking {
            assert!(result.is_breaking(), "fixture `{id}`:\n{}", result.markdown());
        } else {
            assert!(!result.is_breaking(), "fixture `{id}` should not be breaking:\n{}", result.markdown());
        }
    }
}

#[test]
fn every_fixture_spec_diffed_against_itself_has_no_changes() {
    for (id, old, new) in fixture_pairs(&common::overrides()) {
        for (side, spec) in [("old", &old), ("new", &new)] {
            let result = diff(spec, spec);
            assert!(result.changes.is_empty(), "fixture `{id}` {side}.yaml against itself:\n{}", result.markdown());
        }
    }
}

/// The spec this repository is pinned to: `$EDGE_IMPULSE_SPEC`, else where CI keeps it,
/// `../shared/spec/edge-impulse-openapi.yml` next to the repository.
fn pinned_spec_path() -> PathBuf {
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("codegen lives in the workspace");
    std::env::var_os("EDGE_IMPULSE_SPEC")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace.join("../shared/spec/edge-impulse-openapi.yml"))
}

#[test]
fn the_pinned_spec_diffed_against_itself_has_no_changes() {
    let path = pinned_spec_path();
    assert!(
        path.is_file(),
        "the pinned spec is not at {}: set $EDGE_IMPULSE_SPEC to a copy of it (see spec/upstream.toml)",
        path.display()
    );
    let workspace = Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("codegen lives in the workspace");
    let overrides_path = workspace.join("spec/overrides.yaml");
    let overrides_text = std::fs::read(&overrides_path).unwrap_or_else(|e| panic!("{}: {e}", overrides_path.display()));
    let overrides = Overrides::parse("spec/overrides.yaml", &overrides_text).unwrap_or_else(|e| panic!("{e}"));
    let started = Instant::now();
    let (old, new) = (lower(&path, &overrides), lower(&path, &overrides));
    let lowered = started.elapsed();
    let started = Instant::now();
    let result: SpecDiff = diff(&old, &new);
    // A figure to watch, not an assertion.
    eprintln!("spec-diff of the pinned spec against itself: lowering both {lowered:.2?}, comparing {:.2?}", started.elapsed());
    assert_eq!(result.markdown(), "spec-diff: 0 breaking, 0 additive, 0 neutral\n");
}

#[test]
fn the_readme_rule_table_matches_the_rules() {
    let readme_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../README.md");
    let readme = std::fs::read_to_string(&readme_path).unwrap_or_else(|e| panic!("{}: {e}", readme_path.display()));
    let rows: Vec<&str> = readme.lines().filter(|l| l.starts_with("| `")).collect();
    let expected: Vec<String> =
        RULES.iter().map(|r| format!("| `{}` | {} | {} |", r.id, r.class.word(), r.meaning)).collect();
    assert_eq!(rows, expected, "the rule table of README.md (Maintaining) must list RULES in order");
}

/// The common base of the fixtures, with `edit` applied to its text.
fn base_with(edit: impl Fn(String) -> String) -> Lowered {
    let path = fixtures_dir().join("op-added/old.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let edited = edit(text.clone());
    assert_ne!(edited, text, "the edit must change the base");
    lower_spec("edited.yaml", edited.as_bytes(), &common::overrides()).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn required_and_nullable_versus_optional_counts_only_where_a_constructor_tells_them_apart() {
    let base = lower(&fixtures_dir().join("op-added/old.yaml"), &common::overrides());
    // `Sample` is only read: `Option<String>` either way, nothing to report.
    let answer = base_with(|t| {
        t.replace("required: [id, category]", "required: [id, category, label]")
            .replace("label: {type: string, description:", "label: {type: string, nullable: true, description:")
    });
    let result = diff(&base, &answer);
    assert!(result.changes.is_empty(), "{}", result.markdown());
    // `AddSampleRequest` is built by callers: an optional `label` that becomes required but
    // nullable stays `Option<String>` and becomes a constructor argument.
    let optional = base_with(|t| t.replace("required: [label]", "required: []"));
    let request = base_with(|t| t.replace("        label: {type: string}\n", "        label: {type: string, nullable: true}\n"));
    let markdown = diff(&optional, &request).markdown();
    assert!(
        markdown.contains("`AddSampleRequest`: field `label: Option<String>` becomes a constructor argument (`property-required`)"),
        "{markdown}"
    );
}
