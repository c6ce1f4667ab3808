//! Overrides that age well: every patch says what it expects, and on a newer spec each one
//! applies, or is reported (target gone, redundant, conflict) in the same run and skipped.
//! Also the rules that replaced per-pointer patches for mechanical mistakes.

use edge_impulse_codegen::load::{load, patches::PatchOutcome};
use edge_impulse_codegen::{Diagnostic, Overrides, Severity};
use serde_json::{json, Value};

const SPEC: &str = "openapi: 3.0.0
info: {title: t, version: '1'}
paths: {}
components:
  securitySchemes:
    Key: {type: apiKey, in: header, name: x-api-key}
  schemas:
    Thing:
      type: object
      required: [id, name]
      properties:
        id: {type: integer}
        name: {type: string}
        secret: {type: string}
";

fn overrides(text: &str) -> Overrides {
    Overrides::parse("overrides.yaml", text.as_bytes()).unwrap_or_else(|e| panic!("{e}"))
}

fn run(spec: &str, overrides: &Overrides) -> (Value, Vec<Diagnostic>) {
    let mut diagnostics = Vec::new();
    let loaded = load("spec.yaml", spec.as_bytes(), overrides, &mut diagnostics).unwrap_or_else(|e| panic!("{e}"));
    (loaded.document, diagnostics)
}

fn stale(diagnostics: &[Diagnostic]) -> Vec<&Diagnostic> {
    diagnostics.iter().filter(|d| d.severity == Severity::StaleOverride).collect()
}

#[test]
fn every_stale_patch_is_reported_in_one_run_with_line_reason_and_finding() {
    let overrides = overrides(
        "patches:
- pointer: /components/schemas/Thing/properties/id/format
  op: add
  expect_absent: true
  value: int64
  reason: applies
- pointer: /components/schemas/Gone/type
  op: replace
  expect: object
  value: string
  reason: the schema was removed upstream
- pointer: /components/schemas/Thing/properties/name/type
  op: replace
  expect: integer
  value: string
  reason: upstream fixed this itself
- pointer: /components/schemas/Thing/required
  op: replace
  expect: [id]
  value: [id, extra]
  reason: upstream changed the list since
",
    );
    let (document, diagnostics) = run(SPEC, &overrides);
    let stale = stale(&diagnostics);
    assert_eq!(stale.len(), 3, "{stale:#?}");
    assert_eq!(document.pointer("/components/schemas/Thing/properties/id/format"), Some(&json!("int64")));
    let [gone, redundant, conflict] = [stale[0], stale[1], stale[2]];
    assert!(gone.location.starts_with("overrides.yaml:7 "), "{gone}");
    assert!(gone.message.contains("target gone") && gone.message.contains("removed upstream"), "{gone}");
    assert!(redundant.location.starts_with("overrides.yaml:12 "), "{redundant}");
    assert!(redundant.message.contains("redundant"), "{redundant}");
    assert!(conflict.location.starts_with("overrides.yaml:17 "), "{conflict}");
    assert!(conflict.message.contains("conflict") && conflict.message.contains(r#"["id","name"]"#), "{conflict}");
    // Never overwritten: upstream's newer `required` list stays.
    assert_eq!(document.pointer("/components/schemas/Thing/required"), Some(&json!(["id", "name"])));
}

#[test]
fn classify_tells_each_outcome_apart() {
    use edge_impulse_codegen::load::patches::classify;
    let document = json!({"a": {"b": 1, "list": [1, 2]}});
    let patch = |text: &str| overrides(&format!("patches:\n- {text}\n  reason: test\n")).patches.remove(0);
    let cases = [
        ("pointer: /a/b\n  op: replace\n  expect: 1\n  value: 2", PatchOutcome::Applied),
        ("pointer: /a/b\n  op: replace\n  expect: 0\n  value: 1", PatchOutcome::Redundant),
        ("pointer: /a/b\n  op: remove\n  expect: 1", PatchOutcome::Applied),
        ("pointer: /a/c\n  op: remove\n  expect: 1", PatchOutcome::Redundant),
        ("pointer: /a/c\n  op: add\n  expect_absent: true\n  value: 3", PatchOutcome::Applied),
        ("pointer: /a/list/-\n  op: add\n  expect_absent: true\n  value: 2", PatchOutcome::Redundant),
        ("pointer: /a/list/-\n  op: add\n  expect_absent: true\n  value: 3", PatchOutcome::Applied),
        ("pointer: /a\n  op: merge\n  expect: {b: 1, list: [1, 2]}\n  value: {b: 1}", PatchOutcome::Redundant),
        ("pointer: /a\n  op: merge\n  expect: {b: 1, list: [1, 2]}\n  value: {c: 1}", PatchOutcome::Applied),
        ("pointer: /x/y\n  op: add\n  expect_absent: true\n  value: 1", PatchOutcome::TargetGone("no `/x`".into())),
        ("pointer: /a/z\n  op: replace\n  expect: 1\n  value: 2", PatchOutcome::TargetGone("nothing at `/a/z`".into())),
        ("pointer: /a/b\n  op: add\n  expect_absent: true\n  value: 5", PatchOutcome::Conflict { expected: None, found: Some(json!(1)) }),
    ];
    for (text, expected) in cases {
        assert_eq!(classify(&document, &patch(text)), expected, "{text}");
    }
}

#[test]
fn a_patch_must_say_what_it_expects() {
    let error = Overrides::parse("overrides.yaml", b"patches:\n- pointer: /a\n  op: replace\n  value: 1\n  reason: r\n").expect_err("no expect");
    assert!(error.location.starts_with("overrides.yaml:2"), "{error}");
    assert!(error.message.contains("expect"), "{error}");
    for (text, expected) in [
        ("pointer: a\n  op: remove\n  expect: 1", "must start with"),
        ("pointer: /a\n  op: replace\n  expect: 1", "needs a `value`"),
        ("pointer: /a\n  op: remove\n  expect_absent: true", "expect_absent"),
        ("pointer: /a\n  op: merge\n  expect: {}\n  value: 1", "object"),
        ("pointer: /a\n  op: add\n  expect: 1\n  expect_absent: true\n  value: 1", "not both"),
    ] {
        let text = format!("patches:\n- {text}\n  reason: r\n");
        let error = Overrides::parse("overrides.yaml", text.as_bytes()).expect_err(&text);
        assert!(error.message.contains(expected), "`{expected}` not in {error}");
    }
    // An explicit `null` is an expectation too.
    let parsed = overrides("patches:\n- pointer: /a\n  op: replace\n  expect: null\n  value: 1\n  reason: r\n");
    assert_eq!(parsed.patches[0].expect, Some(Value::Null));
}

#[test]
fn settings_that_match_nothing_are_stale() {
    let overrides = overrides(
        "credentials:\n  Key: api_key\n  Renamed: jwt\nsecret_properties: [secret, password]\nenvelope: {success: ok, error: name}\n",
    );
    let (_, diagnostics) = run(SPEC, &overrides);
    let locations: Vec<&str> = stale(&diagnostics).iter().map(|d| d.location.as_str()).collect();
    assert_eq!(
        locations,
        ["overrides.yaml credentials.Renamed", "overrides.yaml secret_properties.password", "overrides.yaml envelope.success"]
    );
}

#[test]
fn rules_repair_mechanical_mistakes_and_say_so() {
    let spec = std::fs::read(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/spec_warts.yaml")).expect("fixture");
    let mut diagnostics = Vec::new();
    let document = load("spec_warts.yaml", &spec, &Overrides::default(), &mut diagnostics).expect("loads").document;
    let at = |pointer: &str| document.pointer(pointer).cloned();
    let summary = "/components/schemas/Summary";
    assert_eq!(at(&format!("{summary}/example")), Some(json!({"count": 3, "labels": ["a"]})));
    assert_eq!(at(&format!("{summary}/properties/count/example")), Some(json!(726336)));
    assert_eq!(at(&format!("{summary}/properties/labels/example")), Some(json!(["x", "y"])));
    assert_eq!(at(&format!("{summary}/properties/domain/example")), Some(json!("domain.org")));
    assert_eq!(at(&format!("{summary}/properties/axes/example")), Some(json!([0, 11, 22])));
    assert_eq!(at(&format!("{summary}/properties/note/example")), None);
    assert_eq!(at("/paths/~1summary/get/parameters/0/example"), Some(json!("[3,7]")));
    assert_eq!(at(&format!("{summary}/required")), Some(json!(["count", "labels"])));
    // Defined by the schemas around them: kept.
    assert_eq!(at("/components/schemas/Base/required"), Some(json!(["id"])));
    assert_eq!(at("/components/schemas/Derived/allOf/1/required"), Some(json!(["id", "name"])));
    assert_eq!(at("/paths/~1portal/get/responses/302/headers/Location/schema/type"), Some(json!("string")));
    let warned = |pointer: &str| diagnostics.iter().any(|d| d.severity == Severity::Warning && d.location.starts_with(pointer));
    for pointer in [
        "#/components/schemas/Summary/required",
        "#/components/schemas/Summary/example",
        "#/components/schemas/Summary/properties/note/example",
        "#/components/schemas/Derived/allOf/1/required",
        "#/paths/~1portal/get/responses/302",
    ] {
        assert!(warned(pointer), "no warning at {pointer}: {diagnostics:#?}");
    }
    // A second pass finds nothing left to repair.
    let text = serde_json::to_string(&document).expect("serialises");
    let mut again = Vec::new();
    load("repaired.json", text.as_bytes(), &Overrides::default(), &mut again).expect("loads");
    assert!(again.is_empty(), "{again:#?}");
}
