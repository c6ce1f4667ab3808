//! The generator never panics or hangs, whatever the spec: a property test mutates the
//! fixture specs (and the pinned spec, when `$EDGE_IMPULSE_SPEC` names a copy) by deleting
//! keys, swapping types, breaking `$ref`s, adding cycles, huge and empty names, control
//! characters and bytes that are not UTF-8, and checks that `generate` returns output or an
//! error with a location.
//!
//! 48 cases per run by default; `PROPTEST_CASES=5000 cargo test -p edge-impulse-codegen --test
//! mutations` runs more.

mod common;

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::mpsc;
use std::time::Duration;

use edge_impulse_codegen::{generate, Overrides};
use proptest::prelude::*;
use serde_json::Value;

/// Far beyond what a fixture takes (milliseconds): a run still going then is a hang.
const HANG_GUARD: Duration = Duration::from_secs(60);

#[derive(Debug, Clone)]
enum Mutation {
    DeleteKey,
    SwapType(u8),
    BreakRef,
    Cycle,
    HugeName,
    EmptyName,
    ControlCharacters,
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::DeleteKey),
        (0u8..5).prop_map(Mutation::SwapType),
        Just(Mutation::BreakRef),
        Just(Mutation::Cycle),
        Just(Mutation::HugeName),
        Just(Mutation::EmptyName),
        Just(Mutation::ControlCharacters),
    ]
}

/// The objects of a document, in a fixed order, as paths of keys and indices.
fn object_paths(value: &Value, path: &mut Vec<Step>, found: &mut Vec<Vec<Step>>) {
    match value {
        Value::Object(map) => {
            found.push(path.clone());
            for (key, child) in map {
                path.push(Step::Key(key.clone()));
                object_paths(child, path, found);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (index, child) in items.iter().enumerate() {
                path.push(Step::Index(index));
                object_paths(child, path, found);
                path.pop();
            }
        }
        _ => {}
    }
}

#[derive(Debug, Clone)]
enum Step {
    Key(String),
    Index(usize),
}

fn object_at<'v>(value: &'v mut Value, path: &[Step]) -> Option<&'v mut serde_json::Map<String, Value>> {
    let mut current = value;
    for step in path {
        current = match step {
            Step::Key(key) => current.get_mut(key.as_str())?,
            Step::Index(index) => current.get_mut(*index)?,
        };
    }
    current.as_object_mut()
}

/// Applies `mutation` to the `target`-th object (modulo their number), at its `key`-th key.
fn mutate(document: &mut Value, target: usize, key: usize, mutation: &Mutation) {
    let mut paths = Vec::new();
    object_paths(document, &mut Vec::new(), &mut paths);
    let Some(path) = paths.get(target % paths.len().max(1)).cloned() else { return };
    let Some(object) = object_at(document, &path) else { return };
    let keys: Vec<String> = object.keys().cloned().collect();
    let chosen = keys.get(key % keys.len().max(1)).cloned();
    match (mutation, chosen) {
        (Mutation::DeleteKey, Some(name)) => {
            object.shift_remove(&name);
        }
        (Mutation::SwapType(kind), Some(name)) => {
            let replacement = match kind {
                0 => Value::Null,
                1 => Value::Bool(true),
                2 => Value::from(-7),
                3 => Value::from("swapped"),
                _ => Value::Array(vec![Value::from(1), Value::Null]),
            };
            object.insert(name, replacement);
        }
        (Mutation::BreakRef, _) => {
            object.insert("$ref".into(), Value::from("#/components/schemas/NoSuchSchema~1x"));
        }
        (Mutation::Cycle, _) => {
            // The object refers to itself, or to the first schema, which may contain it.
            let pointer = format!("#/{}", path.iter().map(step_text).collect::<Vec<_>>().join("/"));
            object.insert("allOf".into(), serde_json::json!([{ "$ref": pointer }, { "$ref": "#/components/schemas/A" }]));
        }
        (Mutation::HugeName, Some(name)) => {
            if let Some(value) = object.shift_remove(&name) {
                object.insert("N".repeat(20_000), value);
            }
        }
        (Mutation::EmptyName, Some(name)) => {
            if let Some(value) = object.shift_remove(&name) {
                object.insert(String::new(), value);
            }
        }
        (Mutation::ControlCharacters, Some(name)) => {
            if let Some(value) = object.shift_remove(&name) {
                object.insert(format!("{name}\u{0}\u{1b}\u{7f}\r\n"), value);
            }
        }
        _ => {}
    }
}

fn step_text(step: &Step) -> String {
    match step {
        Step::Key(key) => key.replace('~', "~0").replace('/', "~1"),
        Step::Index(index) => index.to_string(),
    }
}

/// The specs to mutate: every fixture, and the pinned spec if a copy is named.
fn originals() -> Vec<(String, Value)> {
    // A fixture that only the generator's repairs make YAML (raw control bytes) is not
    // mutated here: its own snapshot test covers it.
    let mut specs: Vec<(String, Value)> = common::fixtures()
        .into_iter()
        .filter_map(|(name, bytes)| Some((name, serde_yaml::from_slice(&bytes).ok()?)))
        .collect();
    if let Some(path) = std::env::var_os("EDGE_IMPULSE_SPEC") {
        if let Ok(mut bytes) = std::fs::read(&path) {
            // The pinned spec holds control bytes only the generator's repair accepts; as a
            // starting point for mutations, spaces do as well.
            bytes.iter_mut().filter(|b| b.is_ascii_control() && !b"\t\n\r".contains(b)).for_each(|b| *b = b' ');
            if let Ok(document) = serde_yaml::from_slice(&bytes) {
                specs.push(("pinned spec".into(), document));
            }
        }
    }
    specs
}

/// Runs the generator on another thread: a panic or a hang fails the case, an error must
/// say where.
fn check(name: &str, bytes: Vec<u8>, overrides: Overrides) -> Result<(), String> {
    let (sender, receiver) = mpsc::channel();
    std::thread::spawn(move || {
        let outcome = catch_unwind(AssertUnwindSafe(|| generate("mutated.yaml", &bytes, &overrides).map(|_| ())));
        let _ = sender.send(outcome);
    });
    match receiver.recv_timeout(HANG_GUARD) {
        Err(_) => Err(format!("{name}: no result within {HANG_GUARD:?}")),
        Ok(Err(panic)) => {
            let message = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
            Err(format!("{name}: the generator panicked: {}", message.unwrap_or_default()))
        }
        Ok(Ok(Err(error))) if error.location.is_empty() => Err(format!("{name}: an error without a location: {error}")),
        Ok(Ok(_)) => Ok(()),
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|v| v.parse().ok()).unwrap_or(48)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn mutated_specs_give_output_or_a_located_error(
        spec in any::<prop::sample::Index>(),
        edits in prop::collection::vec((any::<usize>(), any::<usize>(), mutation()), 1..6),
        raw_bytes in prop::option::of((any::<prop::sample::Index>(), prop::sample::select(vec![0xffu8, 0xc3, 0x00, 0x1c, 0x80]))),
    ) {
        let specs = originals();
        let (name, original) = &specs[spec.index(specs.len())];
        let mut document = original.clone();
        for (target, key, mutation) in &edits {
            mutate(&mut document, *target, *key, mutation);
        }
        let mut bytes = serde_yaml::to_string(&document).expect("a JSON value is YAML").into_bytes();
        if let Some((at, byte)) = raw_bytes {
            // A byte that is not UTF-8 (or a control byte) somewhere in the text.
            let at = at.index(bytes.len().max(1));
            bytes.insert(at.min(bytes.len()), byte);
        }
        let result = check(name, bytes, common::overrides());
        prop_assert!(result.is_ok(), "{}", result.unwrap_err());
    }
}
