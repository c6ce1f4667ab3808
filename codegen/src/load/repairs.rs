//! Rules for the mechanical warts of real-world specs. Each rule repairs a whole class of
//! mistake wherever it occurs and reports every repair with its JSON pointer, so that a new
//! upstream version with the same kind of slip needs no new override. Pointer patches in
//! `spec/overrides.yaml` are kept for judgement calls.
//!
//! The rules edit the document itself, which is also what a mock server is given: a wrong
//! example or an impossible `required` list would otherwise be served or enforced as it is.

use std::collections::{BTreeSet, HashMap};

use serde_json::{Map, Value};

use crate::diagnostics::{pointer_join, Diagnostic, Rule};
use crate::ir::examples::Synthesizer;
use crate::load::patches::show;

/// Deeper than this, nested inline schemas are not looked into.
const MAX_DEPTH: usize = 64;

/// Runs every rule, in an order where each sees the previous one's result.
pub fn repair_document(document: &mut Value, diagnostics: &mut Vec<Diagnostic>) {
    anchor_relative_paths(document, diagnostics);
    // The next rules edit `required`, `example` and 3xx headers only: the schemas found once
    // stay where they are for all of them.
    let sites = schema_sites(document);
    drop_undefined_required(document, &sites, diagnostics);
    add_missing_redirect_locations(document, diagnostics);
    repair_examples(document, &sites, diagnostics);
}

/// A schema the rules look at (one with `required` or an `example`), with the property names
/// its enclosing compositions define.
struct SchemaSite {
    /// JSON pointer without the leading `#`.
    pointer: String,
    /// Properties defined around this schema: by the `allOf`/`oneOf`/`anyOf` it is part of, and
    /// by the schemas that include it (as a `$ref`) in theirs.
    inherited: BTreeSet<String>,
}

/// One step of a JSON pointer; pointers are only spelled out for the places a rule reports.
#[derive(Clone, Copy)]
enum Step<'a> {
    Key(&'a str),
    Index(usize),
}

fn pointer_of(path: &[Step<'_>]) -> String {
    path.iter().fold(String::new(), |pointer, step| match step {
        Step::Key(key) => pointer_join(&pointer, key),
        Step::Index(i) => format!("{pointer}/{i}"),
    })
}

/// The schemas with `required` or an `example` anywhere in the document: under
/// `components/schemas`, every `schema` of a parameter, header or media type, and nested.
fn schema_sites(document: &Value) -> Vec<SchemaSite> {
    let context = component_contexts(document);
    let mut sites = Vec::new();
    walk_document(document, &mut Vec::new(), &mut |path, schema| {
        let inherited = match path {
            [Step::Key("components"), Step::Key("schemas"), Step::Key(name)] => context.get(*name).cloned().unwrap_or_default(),
            _ => BTreeSet::new(),
        };
        walk_schema(document, schema, &mut path.to_vec(), inherited, &mut sites);
    });
    sites
}

/// Finds schema roots outside schemas, skipping values that are data (examples, defaults).
fn walk_document<'a>(value: &'a Value, path: &mut Vec<Step<'a>>, visit: &mut dyn FnMut(&[Step<'a>], &'a Value)) {
    match value {
        Value::Object(map) => {
            let in_components = matches!(path.as_slice(), [Step::Key("components")]);
            for (key, child) in map.iter().filter(|(key, _)| !is_data_key(key)) {
                path.push(Step::Key(key));
                match child {
                    Value::Object(schemas) if in_components && key == "schemas" => {
                        for (name, schema) in schemas {
                            path.push(Step::Key(name));
                            visit(path, schema);
                            path.pop();
                        }
                    }
                    Value::Object(_) if key == "schema" => visit(path, child),
                    _ => walk_document(child, path, visit),
                }
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Index(i));
                walk_document(item, path, visit);
                path.pop();
            }
        }
        _ => {}
    }
}

fn is_data_key(key: &str) -> bool {
    matches!(key, "example" | "examples" | "default" | "enum") || key.starts_with("x-")
}

fn walk_schema<'a>(document: &Value, schema: &'a Value, path: &mut Vec<Step<'a>>, inherited: BTreeSet<String>, sites: &mut Vec<SchemaSite>) {
    let Value::Object(map) = schema else { return };
    if path.len() > MAX_DEPTH {
        return;
    }
    // What a composition part inherits: only worked out where there are parts.
    let composed = ["allOf", "oneOf", "anyOf"].iter().any(|k| map.get(*k).is_some_and(Value::is_array));
    let mut visible = inherited.clone();
    if composed {
        own_properties_deep(document, schema, &mut visible, &mut Vec::new());
    }
    for (key, child) in map {
        path.push(Step::Key(key));
        match (key.as_str(), child) {
            ("properties", Value::Object(properties)) => {
                for (name, property) in properties {
                    path.push(Step::Key(name));
                    walk_schema(document, property, path, BTreeSet::new(), sites);
                    path.pop();
                }
            }
            ("items" | "additionalProperties" | "not", Value::Object(_)) => {
                walk_schema(document, child, path, BTreeSet::new(), sites);
            }
            ("allOf" | "oneOf" | "anyOf", Value::Array(parts)) => {
                for (i, part) in parts.iter().enumerate() {
                    path.push(Step::Index(i));
                    walk_schema(document, part, path, visible.clone(), sites);
                    path.pop();
                }
            }
            _ => {}
        }
        path.pop();
    }
    if map.contains_key("required") || map.contains_key("example") {
        sites.push(SchemaSite { pointer: pointer_of(path), inherited });
    }
}

/// Property names a schema defines itself or through its `allOf`/`oneOf`/`anyOf` parts,
/// following `$ref`s (`seen` stops cycles).
fn own_properties_deep<'a>(document: &'a Value, schema: &'a Value, into: &mut BTreeSet<String>, seen: &mut Vec<&'a str>) {
    let schema = match schema.get("$ref").and_then(Value::as_str) {
        Some(reference) => {
            if seen.contains(&reference) || seen.len() > MAX_DEPTH {
                return;
            }
            seen.push(reference);
            match reference.strip_prefix('#').and_then(|p| document.pointer(p)) {
                Some(target) => target,
                None => return,
            }
        }
        None => schema,
    };
    if let Some(Value::Object(properties)) = schema.get("properties") {
        into.extend(properties.keys().cloned());
    }
    for key in ["allOf", "oneOf", "anyOf"] {
        for part in schema.get(key).and_then(Value::as_array).into_iter().flatten() {
            own_properties_deep(document, part, into, seen);
        }
    }
}

/// For each component, the properties defined by the schemas that include it through a
/// composition: `Base: {required: [id]}` is fine when every `allOf` using it defines `id`.
fn component_contexts(document: &Value) -> HashMap<String, BTreeSet<String>> {
    let mut contexts: HashMap<String, BTreeSet<String>> = HashMap::new();
    fn walk(document: &Value, value: &Value, contexts: &mut HashMap<String, BTreeSet<String>>, depth: usize) {
        if depth > MAX_DEPTH {
            return;
        }
        match value {
            Value::Object(map) => {
                let parts = ["allOf", "oneOf", "anyOf"].iter().filter_map(|k| map.get(*k)?.as_array()).flatten();
                let referenced: Vec<&str> = parts
                    .filter_map(|part| part.get("$ref")?.as_str()?.strip_prefix("#/components/schemas/"))
                    .collect();
                if !referenced.is_empty() {
                    let mut defined = BTreeSet::new();
                    own_properties_deep(document, value, &mut defined, &mut Vec::new());
                    for name in referenced {
                        contexts.entry(unescape(name)).or_default().extend(defined.iter().cloned());
                    }
                }
                for (key, child) in map {
                    if !is_data_key(key) {
                        walk(document, child, contexts, depth + 1);
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| walk(document, item, contexts, depth + 1)),
            _ => {}
        }
    }
    walk(document, document, &mut contexts, 0);
    contexts
}

fn unescape(token: &str) -> String {
    token.replace("~1", "/").replace("~0", "~")
}

/// `required` names that no property defines, anywhere around the schema, are dropped: the
/// generated type has no field for them, and a mock server would demand a value nobody sends.
fn drop_undefined_required(document: &mut Value, sites: &[SchemaSite], diagnostics: &mut Vec<Diagnostic>) {
    let mut edits = Vec::new();
    for site in sites {
        let Some(schema) = document.pointer(&site.pointer) else { continue };
        let Some(Value::Array(required)) = schema.get("required") else { continue };
        let mut visible = site.inherited.clone();
        own_properties_deep(document, schema, &mut visible, &mut Vec::new());
        let (kept, dropped): (Vec<&Value>, Vec<&Value>) =
            required.iter().partition(|name| name.as_str().is_some_and(|n| visible.contains(n)));
        if dropped.is_empty() {
            continue;
        }
        let names: Vec<String> = dropped.iter().map(|n| format!("`{}`", n.as_str().unwrap_or(&n.to_string()))).collect();
        diagnostics.push(Diagnostic::new(Rule::RequiredUndefined, 
            format!("#{}/required", site.pointer),
            format!("lists {} in `required` but defines no such propert{}; dropped from `required`", names.join(", "), if names.len() == 1 { "y" } else { "ies" }),
        ));
        edits.push((site.pointer.clone(), kept.into_iter().cloned().collect::<Vec<_>>()));
    }
    for (pointer, kept) in edits {
        if let Some(Value::Object(schema)) = document.pointer_mut(&pointer) {
            if kept.is_empty() {
                schema.shift_remove("required");
            } else {
                schema.insert("required".into(), Value::Array(kept));
            }
        }
    }
}

/// A path is relative to the server URL and starts with `/`; the OpenAPI reader skips any
/// key of `paths` that does not (with every operation under it), so `api/x` is read as
/// `/api/x`, in its place. When `/api/x` is there as well, the copy without `/` is left out,
/// and both are reported.
fn anchor_relative_paths(document: &mut Value, diagnostics: &mut Vec<Diagnostic>) {
    let Some(Value::Object(paths)) = document.get_mut("paths") else { return };
    let is_relative = |key: &str| !key.starts_with('/') && !key.starts_with("x-");
    if !paths.keys().any(|key| is_relative(key)) {
        return;
    }
    let keys: BTreeSet<String> = paths.keys().cloned().collect();
    for (key, item) in std::mem::take(paths) {
        if !is_relative(&key) {
            paths.insert(key, item);
            continue;
        }
        let anchored = format!("/{key}");
        let pointer = pointer_join("#/paths", &key);
        if keys.contains(&anchored) {
            let message = format!("a path must start with `/`, and `{anchored}` is defined as well: this copy is left out");
            diagnostics.push(Diagnostic::new(Rule::RelativePath, pointer, message));
            continue;
        }
        diagnostics.push(Diagnostic::new(Rule::RelativePath, pointer, format!("a path must start with `/`: read as `{anchored}`")));
        paths.insert(anchored, item);
    }
}

/// A redirect's target is its `Location`; a 3xx answer that declares no such header gets one,
/// so that the client (and a mock server) know where it leads.
fn add_missing_redirect_locations(document: &mut Value, diagnostics: &mut Vec<Diagnostic>) {
    let mut targets = Vec::new();
    for (path, item) in document.get("paths").and_then(Value::as_object).into_iter().flatten() {
        for (method, operation) in item.as_object().into_iter().flatten() {
            for (status, response) in operation.get("responses").and_then(Value::as_object).into_iter().flatten() {
                if !matches!(status.as_str(), "301" | "302" | "303" | "307" | "308" | "3XX") {
                    continue;
                }
                let mut pointer = pointer_join(&pointer_join(&pointer_join("/paths", path), method), "responses");
                pointer = pointer_join(&pointer, status);
                // A shared response is repaired once, where it is defined.
                if let Some(reference) = response.get("$ref").and_then(Value::as_str) {
                    pointer = reference.trim_start_matches('#').to_string();
                }
                if !targets.contains(&pointer) {
                    targets.push(pointer);
                }
            }
        }
    }
    for pointer in targets {
        let Some(Value::Object(response)) = document.pointer_mut(&pointer) else { continue };
        let headers = response.entry("headers").or_insert_with(|| Value::Object(Map::new()));
        let Value::Object(headers) = headers else { continue };
        if headers.keys().any(|name| name.eq_ignore_ascii_case("location")) {
            continue;
        }
        let header = serde_json::json!({
            "description": "Where the redirect leads.",
            "schema": { "type": "string", "format": "uri" }
        });
        headers.insert("Location".into(), header);
        diagnostics.push(Diagnostic::new(Rule::RedirectWithoutLocation, 
            format!("#{pointer}"),
            "a redirect answer declares no `Location` header, but its target is its Location; header added",
        ));
    }
}

/// An `example` that does not validate against its own schema is re-typed when it is the
/// right value written the wrong way (a JSON or YAML text in a string, a number as a string,
/// a list around a single value or a single value for a list), else dropped: mock servers
/// serve examples as they are, and tests that send them would send invalid requests.
fn repair_examples(document: &mut Value, sites: &[SchemaSite], diagnostics: &mut Vec<Diagnostic>) {
    let mut edits: Vec<(String, Option<Value>)> = Vec::new();
    {
        let checker = Synthesizer::new(document);
        let mut check = |owner: &str, schema: &Value, example: &Value| {
            if checker.fits(schema, example, 0) {
                return;
            }
            let pointer = format!("{owner}/example");
            let retyped = retyped_candidates(example).into_iter().find(|candidate| checker.fits(schema, candidate, 0));
            let what = match &retyped {
                Some(value) => format!("re-typed to {}", show(Some(value))),
                None => "dropped".to_string(),
            };
            diagnostics.push(Diagnostic::new(Rule::InvalidExample, 
                format!("#{pointer}"),
                format!("example {} does not validate against its schema; {what}", show(Some(example))),
            ));
            edits.push((pointer, retyped));
        };
        for site in sites {
            let Some(schema) = document.pointer(&site.pointer) else { continue };
            if let Some(example) = schema.get("example") {
                check(&site.pointer, schema, example);
            }
        }
        // Parameters, headers and media types carry an example next to their schema.
        walk_objects(document, &mut Vec::new(), &mut |path, object| {
            let container = match path {
                [.., Step::Key(container), _] => container,
                _ => "",
            };
            let beside_schema = object.get("in").is_some_and(Value::is_string) || matches!(container, "content" | "headers");
            if let (true, Some(schema), Some(example)) = (beside_schema, object.get("schema"), object.get("example")) {
                check(&pointer_of(path), schema, example);
            }
        });
    }
    for (pointer, replacement) in edits {
        let (parent, _) = pointer.rsplit_once('/').unwrap_or(("", ""));
        let Some(Value::Object(owner)) = document.pointer_mut(parent) else { continue };
        match replacement {
            Some(value) => owner.insert("example".into(), value),
            None => owner.shift_remove("example"),
        };
    }
}

/// What [`walk_objects`] calls for each object: its path and its entries.
type ObjectVisitor<'v, 'a> = dyn FnMut(&[Step<'a>], &Map<String, Value>) + 'v;

/// Every object outside data values, with its path.
fn walk_objects<'a>(value: &'a Value, path: &mut Vec<Step<'a>>, visit: &mut ObjectVisitor<'_, 'a>) {
    match value {
        Value::Object(map) => {
            visit(path, map);
            for (key, child) in map.iter().filter(|(key, _)| !is_data_key(key)) {
                path.push(Step::Key(key));
                walk_objects(child, path, visit);
                path.pop();
            }
        }
        Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                path.push(Step::Index(i));
                walk_objects(item, path, visit);
                path.pop();
            }
        }
        _ => {}
    }
}

/// Readings of a wrong example that may be what its author meant, most likely first.
fn retyped_candidates(example: &Value) -> Vec<Value> {
    let mut candidates = Vec::new();
    match example {
        Value::String(text) => {
            let text = strip_code_fence(text);
            if let Ok(value) = serde_json::from_str::<Value>(text) {
                candidates.push(value);
            }
            if let Ok(value) = serde_yaml::from_str::<serde_yaml::Value>(text) {
                if let Some(value) = yaml_to_json(value, 0) {
                    candidates.push(value);
                }
            }
            // `{9.81, 0.32}`: a list written in braces.
            if let Some(inner) = text.strip_prefix('{').and_then(|t| t.strip_suffix('}')) {
                if let Ok(value) = serde_json::from_str::<Value>(&format!("[{inner}]")) {
                    candidates.push(value);
                }
            }
        }
        Value::Array(items) if !items.is_empty() => candidates.push(items[0].clone()),
        _ => {}
    }
    candidates.push(Value::Array(vec![example.clone()]));
    // A list or object for a string parameter: the JSON text of it is what such APIs take.
    if !example.is_string() {
        candidates.push(Value::String(example.to_string()));
    }
    candidates
}

/// The text inside Markdown code (```` ```json ... ``` ```` or `` `...` ``), else the text
/// trimmed.
fn strip_code_fence(text: &str) -> &str {
    let trimmed = text.trim();
    if let Some(rest) = trimmed.strip_prefix("```") {
        let body = rest.split_once('\n').map_or("", |(_, body)| body);
        return body.trim_end().strip_suffix("```").unwrap_or(body).trim();
    }
    match trimmed.strip_prefix('`').and_then(|t| t.strip_suffix('`')) {
        Some(inner) if !inner.contains('`') => inner.trim(),
        _ => trimmed,
    }
}

/// YAML values as JSON, with scalar mapping keys turned into strings (`{0: 9.81}`).
fn yaml_to_json(value: serde_yaml::Value, depth: usize) -> Option<Value> {
    use serde_yaml::Value as Y;
    if depth > MAX_DEPTH {
        return None;
    }
    Some(match value {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(n).ok()?,
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(items.into_iter().map(|v| yaml_to_json(v, depth + 1)).collect::<Option<_>>()?),
        Y::Mapping(map) => {
            let mut object = Map::new();
            for (key, value) in map {
                let key = match key {
                    Y::String(s) => s,
                    Y::Number(n) => n.to_string(),
                    Y::Bool(b) => b.to_string(),
                    _ => return None,
                };
                object.insert(key, yaml_to_json(value, depth + 1)?);
            }
            Value::Object(object)
        }
        Y::Tagged(tagged) => yaml_to_json(tagged.value, depth + 1)?,
    })
}
