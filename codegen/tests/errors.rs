//! A spec the generator cannot use is an `Err` that says where; nothing panics; the same
//! input always gives the same bytes.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};

use edge_impulse_codegen::{generate, Error, Output, Overrides};

fn run(spec: &str) -> Result<Output, Error> {
    generate("spec.yaml", spec.as_bytes(), &common::overrides())
}

fn error_of(spec: &str) -> Error {
    match run(spec) {
        Ok(_) => panic!("expected an error for:\n{spec}"),
        Err(e) => e,
    }
}

/// A small valid document; tests splice a broken part into it.
fn spec_with(components: &str, paths: &str) -> String {
    format!(
        "openapi: 3.0.0\ninfo: {{title: t, version: '1'}}\nservers: [{{url: 'https://example.test'}}]\n\
         paths:{paths}\ncomponents:\n  schemas:\n{components}"
    )
}

const OK_PATH: &str = "
  /a:
    get:
      operationId: getA
      responses:
        '204': {description: ok}
";

#[test]
fn the_valid_base_document_generates() {
    let output = run(&spec_with("    A: {type: string}\n", OK_PATH)).expect("a valid spec");
    assert_eq!(output.operation_count, 1);
}

#[test]
fn invalid_yaml_names_file_line_and_column() {
    let spec = "openapi: 3.0.0\ninfo:\n  title: t\n  version: [unclosed\npaths: {}\n";
    let error = error_of(spec);
    let (line, column) = line_column(&error.location, "spec.yaml:");
    assert!((4..=5).contains(&line), "line {line} should point at the unclosed list: {error}");
    assert!(column >= 1, "{error}");
    assert!(error.message.contains("YAML"), "{error}");
}

#[test]
fn tabs_used_as_indentation_are_a_yaml_error_with_a_position() {
    let error = error_of("openapi: 3.0.0\ninfo:\n\ttitle: t\n");
    let (line, _) = line_column(&error.location, "spec.yaml:");
    assert_eq!(line, 3, "{error}");
}

#[test]
fn invalid_utf8_names_line_and_column() {
    let mut bytes = b"openapi: 3.0.0\ninfo:\n  title: ab".to_vec();
    bytes.push(0xff);
    bytes.extend_from_slice(b"\n  version: '1'\npaths: {}\n");
    let error = generate("spec.yaml", &bytes, &common::overrides()).expect_err("invalid UTF-8");
    assert_eq!(error.location, "spec.yaml:3:12", "{error}");
    assert!(error.message.contains("UTF-8"), "{error}");
}

#[test]
fn dangling_schema_ref_names_the_pointer_of_the_reference() {
    let components = "    A:\n      type: object\n      properties:\n        b: {$ref: '#/components/schemas/Missing'}\n";
    let error = error_of(&spec_with(components, OK_PATH));
    assert_eq!(error.location, "#/components/schemas/A/properties/b", "{error}");
    assert!(error.message.contains("#/components/schemas/Missing"), "{error}");
}

#[test]
fn dangling_refs_in_unions_arrays_and_all_of_name_their_pointer() {
    let cases = [
        ("    A:\n      oneOf:\n        - {type: string}\n        - {$ref: '#/components/schemas/Nope'}\n", "#/components/schemas/A/oneOf/1"),
        ("    A:\n      type: array\n      items: {$ref: '#/components/schemas/Nope'}\n", "#/components/schemas/A/items"),
        (
            "    A:\n      allOf:\n        - {$ref: '#/components/schemas/Nope'}\n        - {type: object, properties: {x: {type: string}}}\n",
            "#/components/schemas/A/allOf/0",
        ),
        ("    A: {$ref: '#/components/schemas/Nope'}\n", "#/components/schemas/A"),
        // Not a local component reference at all.
        ("    A: {$ref: 'other.yaml#/components/schemas/A'}\n", "#/components/schemas/A"),
    ];
    for (components, pointer) in cases {
        let error = error_of(&spec_with(components, OK_PATH));
        assert_eq!(error.location, pointer, "{error}");
        assert!(error.message.contains("$ref"), "{error}");
    }
}

#[test]
fn dangling_refs_in_operations_name_their_pointer() {
    let cases = [
        (
            "\n  /a:\n    get:\n      operationId: getA\n      parameters:\n        - {$ref: '#/components/parameters/Nope'}\n      responses:\n        '204': {description: ok}\n",
            "#/paths/~1a/get/parameters/0",
        ),
        (
            "\n  /a:\n    post:\n      operationId: postA\n      requestBody: {$ref: '#/components/requestBodies/Nope'}\n      responses:\n        '204': {description: ok}\n",
            "#/paths/~1a/post/requestBody",
        ),
        (
            "\n  /a:\n    get:\n      operationId: getA\n      responses:\n        '200': {$ref: '#/components/responses/Nope'}\n",
            "#/paths/~1a/get/responses/200",
        ),
        (
            "\n  /a:\n    get:\n      operationId: getA\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: '#/components/schemas/Nope'}\n",
            "#/paths/~1a/get/responses/200/content/application~1json/schema",
        ),
    ];
    for (paths, pointer) in cases {
        let error = error_of(&spec_with("    A: {type: string}\n", paths));
        assert_eq!(error.location, pointer, "{error}");
        assert!(error.message.contains("Nope"), "{error}");
    }
}

#[test]
fn a_document_that_is_not_openapi_names_the_pointer() {
    let cases = [
        ("openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths: [a, b]\n", "spec.yaml#/paths"),
        ("openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths: {}\ncomponents: {schemas: [1]}\n", "spec.yaml#/components/schemas"),
        ("openapi: 3.0.0\ninfo: {title: t}\npaths: {}\n", "spec.yaml#/info"),
        // openapiv3 reads `$ref`-or-item places through untagged enums, which hide the path
        // below them: the pointer stops at the map holding the bad entry.
        ("openapi: 3.0.0\ninfo: {title: t, version: '1'}\npaths:\n  /a:\n    get:\n      responses: {'200': 7}\n", "spec.yaml#/paths"),
    ];
    for (spec, pointer) in cases {
        let error = error_of(spec);
        assert_eq!(error.location, pointer, "{error}");
        assert!(error.message.contains("OpenAPI"), "{error}");
    }
    assert!(error_of(cases[2].0).message.contains("version"), "the message names the missing field");
    assert!(error_of(cases[3].0).message.contains("Response"), "the message names what was expected");
    // Not even a mapping: a YAML list or a scalar.
    for spec in ["- a\n- b\n", "just text\n", ""] {
        let error = error_of(spec);
        assert!(error.location.starts_with("spec.yaml"), "{error}");
    }
}

#[test]
fn an_override_patch_that_no_longer_fits_is_skipped_and_reported() {
    let spec = spec_with("    A: {type: string}\n", OK_PATH);
    let patches = [
        ("pointer: /components/schemas/Missing/type\n    op: replace\n    expect: object\n    value: string", "target gone"),
        ("pointer: /components/schemas/Missing\n    op: remove\n    expect: {}", "redundant"),
        ("pointer: /components/nope/x\n    op: add\n    expect_absent: true\n    value: 1", "no `/components/nope`"),
        ("pointer: /components/schemas/A/type\n    op: merge\n    expect: {}\n    value: {a: 1}", "conflict"),
        ("pointer: /servers/7\n    op: remove\n    expect: {}", "redundant"),
        ("pointer: /servers/x\n    op: add\n    expect_absent: true\n    value: {}", "array index"),
    ];
    for (patch, expected) in patches {
        let text = format!("patches:\n  - {patch}\n    reason: test\n");
        let overrides = Overrides::parse("overrides.yaml", text.as_bytes()).expect("valid overrides");
        let output = generate("spec.yaml", spec.as_bytes(), &overrides).unwrap_or_else(|e| panic!("{patch}: {e}"));
        let stale: Vec<_> = output.diagnostics.iter().filter(|d| d.severity == edge_impulse_codegen::Severity::StaleOverride).collect();
        assert_eq!(stale.len(), 1, "{patch}: {stale:?}");
        assert!(stale[0].location.starts_with("overrides.yaml:2 (patch at #/"), "{}", stale[0]);
        assert!(stale[0].message.contains(expected), "`{expected}` not in: {}", stale[0]);
    }
}

#[test]
fn a_path_without_its_leading_slash_keeps_its_operations_and_is_reported() {
    let paths = "
  api/items:
    get:
      operationId: listItems
      responses: {'204': {description: ok}}
  a:
    get:
      operationId: shadowed
      responses: {'204': {description: ok}}
  /a:
    get:
      operationId: getA
      responses: {'204': {description: ok}}
";
    let output = run(&spec_with("    A: {type: string}\n", paths)).expect("generates");
    assert_eq!(output.operation_count, 2, "`api/items` is read as `/api/items`; `a` duplicates `/a`");
    let said = |pointer: &str| output.diagnostics.iter().find(|d| d.location == pointer).map(|d| d.message.clone()).unwrap_or_default();
    assert!(said("#/paths/api~1items").contains("read as `/api/items`"), "{:?}", output.diagnostics);
    assert!(said("#/paths/a").contains("`/a` is defined as well"), "{:?}", output.diagnostics);
    let code: String = output.files.iter().map(|f| f.contents.as_str()).collect();
    assert!(code.contains("\"/api/items\""), "the operation keeps its path, anchored");
}

#[test]
fn duplicate_operation_ids_are_an_error_naming_both() {
    let paths = "
  /a:
    get:
      operationId: same
      responses: {'204': {description: ok}}
  /b:
    post:
      operationId: same
      responses: {'204': {description: ok}}
";
    let error = error_of(&spec_with("    A: {type: string}\n", paths));
    assert_eq!(error.location, "#/paths/~1b/post", "{error}");
    assert!(error.message.contains("`same`") && error.message.contains("#/paths/~1a/get"), "{error}");
}

#[test]
fn malformed_overrides_name_line_and_column() {
    let error = Overrides::parse("overrides.yaml", b"credentials:\n  A: password\n").expect_err("unknown credential kind");
    assert_eq!(line_column(&error.location, "overrides.yaml:").0, 2, "{error}");
    let error = Overrides::parse("overrides.yaml", b"patches:\n  - pointer: /a\n    op: remove\n").expect_err("no reason");
    assert!(error.to_string().contains("reason"), "{error}");
    let error = Overrides::parse("overrides.yaml", b"unknown_key: 1\n").expect_err("unknown key");
    assert!(error.to_string().contains("unknown_key"), "{error}");
}

/// Specs that are valid YAML and mostly valid OpenAPI but odd: each must give `Ok` or an
/// `Err` with a location, never a panic or endless recursion.
#[test]
fn odd_specs_give_a_result_not_a_panic() {
    let components = [
        "    A: {allOf: []}\n",
        "    A: {oneOf: []}\n",
        "    A: {anyOf: []}\n",
        "    A: {type: string, enum: []}\n",
        "    A: {$ref: '#/components/schemas/A'}\n",
        "    A: {$ref: '#/components/schemas/B'}\n    B: {$ref: '#/components/schemas/A'}\n",
        "    A: {allOf: [{$ref: '#/components/schemas/A'}]}\n",
        "    A: {allOf: [{$ref: '#/components/schemas/B'}, {type: object}]}\n    B: {allOf: [{$ref: '#/components/schemas/A'}]}\n",
        "    A: {oneOf: [{$ref: '#/components/schemas/A'}], discriminator: {propertyName: t}}\n",
        "    A: {type: array, items: {$ref: '#/components/schemas/A'}}\n",
        "    A: {type: object, additionalProperties: {$ref: '#/components/schemas/A'}}\n",
        "    A: {not: {type: string}}\n",
        "    A: {type: object, required: [a, a], properties: {a: {type: string}}}\n",
        "    A: {type: integer, format: int32, enum: [1, 2]}\n",
        "    A: {type: object, properties: {'': {type: string}, ' ': {type: string}, '_': {type: string}}}\n",
        "    '': {type: object, properties: {x: {type: string}}}\n    '-': {type: string, enum: ['']}\n",
        "    A: {type: string, nullable: true, enum: [null]}\n",
        "    A: {oneOf: [{type: string}, {type: string}], discriminator: {propertyName: t, mapping: {x: '#/components/schemas/Nope'}}}\n",
    ];
    let paths = [
        OK_PATH,
        "\n  /a/{id}:\n    get:\n      operationId: getA\n      parameters:\n        - {name: id, in: path, schema: {$ref: '#/components/schemas/A'}}\n      responses:\n        '204': {description: ok}\n",
        "\n  /a:\n    get:\n      operationId: getA\n      parameters:\n        - {name: q, in: query, required: true, schema: {$ref: '#/components/schemas/A'}}\n      responses:\n        '200':\n          description: ok\n          content:\n            application/json:\n              schema: {$ref: '#/components/schemas/A'}\n",
        "\n  /a:\n    post:\n      operationId: postA\n      requestBody:\n        content:\n          multipart/form-data:\n            schema: {$ref: '#/components/schemas/A'}\n      responses:\n        default: {description: ok}\n",
        "\n  /a:\n    get:\n      responses: {}\n  /a/:\n    get:\n      responses: {}\n",
    ];
    for component in components {
        for path in paths {
            let spec = spec_with(component, path);
            match catch_unwind(AssertUnwindSafe(|| run(&spec))) {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => assert!(!error.location.is_empty(), "an error without a location for:\n{spec}"),
                Err(_) => panic!("the generator panicked on:\n{spec}"),
            }
        }
    }
}

/// Malformed specs of the kinds the mutation test (tests/mutations.rs) makes, each with the
/// error it must give.
#[test]
fn corpus_of_malformed_specs_gives_the_expected_errors() {
    let huge_name = format!("    {}: {{type: string}}\n", "N".repeat(20_000));
    let corpus: [(String, &str, &str); 4] = [
        // YAML keeps keys under 1024 characters: a huge name is a YAML error at its line.
        (spec_with(&huge_name, OK_PATH), "spec.yaml:13:", "not valid YAML"),
        (spec_with("    A: {$ref: '#/info'}\n", OK_PATH), "#/components/schemas/A", "does not point at a schema"),
        (spec_with("    A: {type: [1, 2]}\n", OK_PATH), "spec.yaml#/components/schemas/A", "invalid type: sequence, expected a string"),
        (spec_with("    A: {type: object, properties: 7}\n", OK_PATH), "spec.yaml#/components/schemas/A", "invalid type: integer `7`, expected a map"),
    ];
    for (spec, location, message) in corpus {
        let error = error_of(&spec);
        assert!(error.location.starts_with(location), "location `{}` should start with `{location}`", error.location);
        assert!(error.message.contains(message), "message `{}` should contain `{message}`", error.message);
    }
}

/// Every fixture cut short or with a byte changed: `Ok` or `Err`, never a panic.
#[test]
fn truncated_and_garbled_fixtures_never_panic() {
    let overrides = common::overrides();
    let mut runs = 0;
    for (name, bytes) in common::fixtures() {
        let step = (bytes.len() / 40).max(1);
        let mut variants: Vec<(String, Vec<u8>)> = Vec::new();
        for cut in (0..bytes.len()).step_by(step) {
            variants.push((format!("cut at byte {cut}"), bytes[..cut].to_vec()));
        }
        for (i, at) in (step / 2..bytes.len()).step_by(step).enumerate() {
            let mut garbled = bytes.clone();
            garbled[at] = b"{}[]:-'\"#&*!|>\t\x00\xff"[i % 16];
            variants.push((format!("byte {at} replaced"), garbled));
        }
        for (what, variant) in variants {
            runs += 1;
            let result = catch_unwind(AssertUnwindSafe(|| generate("spec.yaml", &variant, &overrides)));
            match result {
                Ok(Ok(_)) => {}
                Ok(Err(error)) => assert!(!error.location.is_empty(), "{name}, {what}: an error without a location"),
                Err(_) => panic!("the generator panicked on fixture {name}, {what}"),
            }
        }
    }
    assert!(runs > 100, "only {runs} variants were tried");
}

#[test]
fn the_same_spec_gives_byte_identical_output() {
    let overrides = common::overrides();
    let mut fixtures = common::fixtures();
    fixtures.push(("the real spec layout".into(), spec_with("    A: {type: string}\n", OK_PATH).into_bytes()));
    for (name, bytes) in fixtures {
        let first = generate("spec.yaml", &bytes, &overrides).unwrap_or_else(|e| panic!("{name}: {e}"));
        let second = generate("spec.yaml", &bytes, &overrides).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(first.files, second.files, "{name}: files differ between two runs");
        assert_eq!(first.diagnostics, second.diagnostics, "{name}: diagnostics differ between two runs");
    }
}

/// `prefix` + `L:C` -> `(L, C)`.
fn line_column(location: &str, prefix: &str) -> (usize, usize) {
    let rest = location.strip_prefix(prefix).unwrap_or_else(|| panic!("`{location}` does not start with `{prefix}`"));
    let (line, column) = rest.split_once(':').unwrap_or_else(|| panic!("`{location}` has no line:column"));
    (
        line.parse().unwrap_or_else(|_| panic!("bad line in `{location}`")),
        column.parse().unwrap_or_else(|_| panic!("bad column in `{location}`")),
    )
}
