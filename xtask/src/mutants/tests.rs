//! The mutations on a small spec: each finds its target, and no generated name that a
//! mutation does not touch changes under it.

use serde_json::Value;

use super::mutations::{all, Touched};
use super::{names, names_of, BaseSpec};

const SPEC: &str = include_str!("../../tests/fixtures/mini-spec.yaml");

fn base() -> BaseSpec {
    let overrides = edge_impulse_codegen::Overrides::parse("overrides", b"credentials:\n  ApiKeyAuthentication: api_key\n").expect("overrides");
    BaseSpec { name: "mini-spec.yaml".into(), document: serde_yaml::from_str(SPEC).expect("fixture parses"), overrides }
}

#[test]
fn every_mutation_finds_its_target_and_changes_the_document() {
    let base = base();
    for mutation in all() {
        let mut document: Value = base.document.clone();
        let touched: Touched = (mutation.apply)(&mut document).unwrap_or_else(|e| panic!("{}: {e}", mutation.name));
        assert_ne!(document, base.document, "{} changed nothing", mutation.name);
        assert!(!touched.0.is_empty(), "{} reports no location", mutation.name);
        for pointer in &touched.0 {
            let removed = mutation.name.starts_with("remove") || mutation.name == "ref-to-inline-schema";
            assert!(removed || document.pointer(pointer).is_some(), "{}: nothing at {pointer}", mutation.name);
        }
    }
}

#[test]
fn mutation_names_are_unique_and_kebab_case() {
    let all = all();
    for (i, mutation) in all.iter().enumerate() {
        assert!(mutation.name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'), "{}", mutation.name);
        assert!(all[..i].iter().all(|m| m.name != mutation.name), "{} twice", mutation.name);
    }
}

#[test]
fn no_mutation_renames_what_it_does_not_touch() {
    let base = base();
    let before = names_of(&base.name, &base.bytes().expect("serializes"), &base.overrides).expect("the fixture lowers");
    let mut report = Vec::new();
    for mutation in all() {
        let (bytes, touched) = base.mutated(&[&mutation]).expect("applies");
        match names_of(mutation.name, &bytes, &base.overrides) {
            Ok(after) => report.extend(names::changed_names(&before, &after, &touched).into_iter().map(|c| format!("{}: {c}", mutation.name))),
            Err(e) => report.push(format!("{}: the generator rejects the mutated spec: {e}", mutation.name)),
        }
    }
    assert!(report.is_empty(), "\n{}", report.join("\n"));
}
