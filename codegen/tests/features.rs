//! Where each model is compiled: a group's own module, the shared module under the features
//! of the groups that use it, or every build; and the types the runtime names
//! (`Service::runtime_types`).

mod common;

use edge_impulse_codegen::{RuntimeTypes, Service, ServiceSpec};

/// Three tags. `Shared` is used by `Alpha` and `Beta`, `Owned` by `Alpha` only, `BetaOnly` by
/// `Beta` only, `Unused` by no operation; each wraps a `*Part` type to show that what a type
/// contains follows it.
const SPEC: &str = r##"
openapi: 3.0.0
info: {title: features, version: "1"}
paths:
  /a:
    get:
      operationId: getA
      tags: [Alpha]
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  shared: {$ref: "#/components/schemas/Shared"}
                  owned: {$ref: "#/components/schemas/Owned"}
  /b:
    get:
      operationId: getB
      tags: [Beta]
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  shared: {$ref: "#/components/schemas/Shared"}
                  betaOnly: {$ref: "#/components/schemas/BetaOnly"}
  /c:
    get:
      operationId: getC
      tags: [Gamma]
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema: {type: object, properties: {n: {type: integer}}}
components:
  schemas:
    Shared:
      type: object
      properties: {part: {$ref: "#/components/schemas/SharedPart"}}
    SharedPart:
      type: object
      properties: {n: {type: integer}}
    Owned:
      type: object
      properties: {n: {type: integer}}
    BetaOnly:
      type: object
      properties: {part: {$ref: "#/components/schemas/BetaOnlyPart"}}
    BetaOnlyPart:
      type: object
      properties: {n: {type: integer}}
    Unused:
      type: object
      properties: {n: {type: integer}}
"##;

fn generate(runtime_types: Vec<RuntimeTypes>) -> Result<std::collections::BTreeMap<String, String>, String> {
    let overrides = common::overrides();
    let service = Service { runtime_types, ..Service::single() };
    let output = edge_impulse_codegen::generate_services(&[ServiceSpec { service, spec_name: "features.yaml", spec: SPEC.as_bytes(), overrides: &overrides }])
        .map_err(|e| e.to_string())?;
    Ok(output.files.into_iter().map(|f| (f.path, f.contents)).collect())
}

/// The `#[cfg(..)]` line right above `pub struct <name>` in `file`, or `None` when the struct
/// has none; panics when the struct is not in that file.
fn gate_of(files: &std::collections::BTreeMap<String, String>, file: &str, name: &str) -> Option<String> {
    let text = files.get(file).unwrap_or_else(|| panic!("no {file} among {:?}", files.keys().collect::<Vec<_>>()));
    let lines: Vec<&str> = text.lines().collect();
    let at = lines.iter().position(|l| *l == format!("pub struct {name} {{")).unwrap_or_else(|| panic!("no struct {name} in {file}:\n{text}"));
    lines[..at].iter().rev().take_while(|l| l.starts_with('#') || l.starts_with("///")).find(|l| l.starts_with("#[cfg(")).map(|l| l.to_string())
}

const COMMON: &str = "src/generated/models/common.rs";

#[test]
fn a_shared_type_is_compiled_with_the_features_of_the_groups_that_use_it() {
    let files = generate(Vec::new()).unwrap();
    let both = Some(r#"#[cfg(any(feature = "alpha", feature = "beta"))]"#.to_string());
    assert_eq!(gate_of(&files, COMMON, "Shared"), both);
    assert_eq!(gate_of(&files, COMMON, "SharedPart"), both, "what a shared type contains follows it");
    // Every item of the type carries the gate, not only the struct.
    let common = &files[COMMON];
    let gated_items = common.matches(both.as_deref().unwrap()).count();
    let shared_items = common.matches("impl crate::Envelope for Shared").count() + common.matches("pub struct Shared").count();
    assert!(gated_items >= shared_items + 2, "every item of Shared and SharedPart is gated:\n{common}");
    // One group's types live in its module, which its feature gates as a whole.
    assert_eq!(gate_of(&files, "src/generated/models/alpha.rs", "Owned"), None);
    assert_eq!(gate_of(&files, "src/generated/models/beta.rs", "BetaOnlyPart"), None);
    // A type no operation uses is in every build.
    assert_eq!(gate_of(&files, COMMON, "Unused"), None);
}

#[test]
fn a_type_the_runtime_names_is_compiled_whenever_the_runtime_needs_it() {
    let files = generate(vec![
        RuntimeTypes { features: vec![], types: vec!["Shared".into()] },
        RuntimeTypes { features: vec!["gamma".into()], types: vec!["BetaOnly".into()] },
    ])
    .unwrap();
    // Named with no feature: every build has it, and what it contains.
    assert_eq!(gate_of(&files, COMMON, "Shared"), None);
    assert_eq!(gate_of(&files, COMMON, "SharedPart"), None);
    // One group's type that the runtime names under another feature leaves the group's module
    // for the shared one, under both features.
    let beta_or_gamma = Some(r#"#[cfg(any(feature = "beta", feature = "gamma"))]"#.to_string());
    assert_eq!(gate_of(&files, COMMON, "BetaOnly"), beta_or_gamma);
    assert_eq!(gate_of(&files, COMMON, "BetaOnlyPart"), beta_or_gamma);
    assert!(!files["src/generated/models/beta.rs"].contains("pub struct BetaOnly"), "BetaOnly left beta's module");
    // Named under its own group's feature only: it stays in that group's module.
    let files = generate(vec![RuntimeTypes { features: vec!["beta".into()], types: vec!["BetaOnly".into()] }]).unwrap();
    assert_eq!(gate_of(&files, "src/generated/models/beta.rs", "BetaOnly"), None);
}

#[test]
fn a_runtime_type_the_spec_no_longer_has_stops_the_generator_with_its_name() {
    let error = generate(vec![RuntimeTypes { features: vec![], types: vec!["Job".into()] }]).unwrap_err();
    assert!(error.contains("schema `Job`") && error.contains("runtime_types"), "{error}");
    let error = generate(vec![RuntimeTypes { features: vec!["beta".into()], types: vec!["Job".into()] }]).unwrap_err();
    assert!(error.contains("schema `Job`"), "{error}");
}

#[test]
fn a_runtime_feature_the_spec_has_no_group_for_is_left_out() {
    // The runtime's code under a feature no group has is compiled out: what it names is not
    // needed, whether the spec has it or not.
    let files = generate(vec![RuntimeTypes { features: vec!["jobs".into()], types: vec!["Job".into(), "BetaOnly".into()] }]).unwrap();
    assert_eq!(gate_of(&files, "src/generated/models/beta.rs", "BetaOnly"), None);
    // A need under a known and an unknown feature counts for the known one only.
    let files = generate(vec![RuntimeTypes { features: vec!["jobs".into(), "alpha".into()], types: vec!["BetaOnly".into()] }]).unwrap();
    assert_eq!(gate_of(&files, COMMON, "BetaOnly"), Some(r#"#[cfg(any(feature = "alpha", feature = "beta"))]"#.to_string()));
}
